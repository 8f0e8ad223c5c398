"""Compute the guide's shipped figures (``cnnkit.guide.precomputed`` reads them): ``cnnkit/guide/comparison.json``
and ``cnnkit/guide/profiles.json.gz``. Run from the repository root after torch or torchvision changes:

    python -m tools.precompute_guide
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import asdict
from pathlib import Path

from cnnkit.files import write_atomic
from cnnkit.guide.layers import measure
from cnnkit.guide.meta import read_weights_info
from cnnkit.guide.precomputed import COMPARISON, PROFILES, stored, versions
from cnnkit.guide.registry import builders
from cnnkit.guide.totals import totals


def comparison() -> dict:
    """Every builder's totals at its own input size and its weights' metadata, computed now."""
    figures = {}
    for builder in builders():
        t, info = totals(builder), read_weights_info(builder)
        figures[builder] = {
            "input_size": t.input_size,
            "params": t.params,
            "macs": t.macs,
            "weights": info and asdict(info),
        }
    return {"versions": versions(), "builders": figures}


def profiles() -> dict:
    """Every builder's layer table at its own input size, measured now."""
    return {"versions": versions(), "builders": {builder: measure(builder).figures() for builder in builders()}}


def _write(path: Path, data: bytes) -> None:
    """Whole or not at all, readable by everyone as package data."""
    write_atomic(path, data)
    os.chmod(path, 0o644)


def write() -> None:
    _write(COMPARISON, (json.dumps(comparison(), indent=1, sort_keys=True) + "\n").encode("utf-8"))
    # mtime 0: the same figures give the same bytes, so git sees a change only when a figure changes
    _write(PROFILES, gzip.compress(json.dumps(profiles(), separators=(",", ":")).encode("utf-8"), mtime=0))
    stored.cache_clear()


if __name__ == "__main__":
    write()
    print(f"wrote {COMPARISON} and {PROFILES}")
