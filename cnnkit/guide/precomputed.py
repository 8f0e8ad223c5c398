"""The comparison's figures computed once and shipped as package data (``comparison.json``), so that the
guide's Compare tab needs no pass over thirty-odd networks (about 10 s on 2 cores) the first time.

The figures depend on torch's and torchvision's model code only; the file records both versions and is
ignored (the figures are computed live) when the installed ones differ. Regenerate it with

    python -m tools.precompute_comparison

``tests/test_precomputed.py`` checks the file against a live computation.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from importlib.metadata import version
from pathlib import Path

FILE = Path(str(resources.files("cnnkit.guide") / "comparison.json"))


def versions() -> dict[str, str]:
    return {"torch": version("torch"), "torchvision": version("torchvision")}


@lru_cache(maxsize=1)
def stored(path: Path = FILE) -> dict | None:
    """The shipped figures by builder, or None when the file is absent or made with other versions."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data["builders"] if data.get("versions") == versions() else None
