"""Compute the guide's comparison figures and ship them as ``cnnkit/guide/comparison.json``
(``cnnkit.guide.precomputed`` reads them). Run from the repository root after torch or torchvision changes:

    python -m tools.precompute_comparison
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from cnnkit.files import write_atomic
from cnnkit.guide.meta import weights_info
from cnnkit.guide.precomputed import FILE, stored, versions
from cnnkit.guide.registry import builders
from cnnkit.guide.totals import totals


def compute() -> dict:
    """Every builder's totals at its own input size and its weights' metadata, computed now."""
    figures = {}
    for builder in builders():
        t, info = totals(builder), weights_info(builder)
        figures[builder] = {
            "input_size": t.input_size,
            "params": t.params,
            "macs": t.macs,
            "weights": info and asdict(info),
        }
    return {"versions": versions(), "builders": figures}


def write(path: Path = FILE) -> None:
    """Compute the figures and write them whole or not at all, readable by everyone as package data."""
    write_atomic(path, (json.dumps(compute(), indent=1, sort_keys=True) + "\n").encode("utf-8"))
    os.chmod(path, 0o644)
    stored.cache_clear()


if __name__ == "__main__":
    write()
    print(f"wrote {FILE}")
