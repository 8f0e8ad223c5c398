"""The comparison's figures computed once and shipped as package data (``comparison.json``), so that the
guide's Compare tab needs no pass over thirty-odd networks (about 10 s on 2 cores) the first time.

The figures depend on torch's and torchvision's model code only; the file records both versions and is
ignored (the figures are computed live) when the installed ones differ. Regenerate it with

    python -m cnnkit.guide.precomputed

``tests/test_precomputed.py`` checks the file against a live computation.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict
from functools import lru_cache
from importlib import resources
from importlib.metadata import version
from pathlib import Path

FILE = Path(str(resources.files("cnnkit.guide") / "comparison.json"))


def versions() -> dict[str, str]:
    return {"torch": version("torch"), "torchvision": version("torchvision")}


def compute() -> dict:
    """Every builder's totals at its own input size and its weights' metadata, computed now."""
    from cnnkit.guide.meta import weights_info
    from cnnkit.guide.registry import builders
    from cnnkit.guide.totals import totals

    figures = {}
    for builder in builders():
        t, info = totals(builder), weights_info(builder)
        figures[builder] = {"input_size": t.input_size, "params": t.params, "macs": t.macs,
                            "weights": info and asdict(info)}
    return {"versions": versions(), "builders": figures}


@lru_cache(maxsize=1)
def stored(path: Path = FILE) -> dict | None:
    """The shipped figures by builder, or None when the file is absent or made with other versions."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data["builders"] if data.get("versions") == versions() else None


def write(path: Path = FILE) -> None:
    """Compute the figures and write them (a temp file in the same folder, then moved in place)."""
    body = json.dumps(compute(), indent=1, sort_keys=True) + "\n"
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp", encoding="utf-8") as tmp:
        tmp.write(body)
        tmp.flush()
        os.fsync(tmp.fileno())
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, path)
    stored.cache_clear()


if __name__ == "__main__":
    write()
    print(f"wrote {FILE}")
