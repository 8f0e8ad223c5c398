"""The guide's figures computed once and shipped as package data, so that its pages need neither torch nor a
pass over thirty-odd networks to show them:

- ``comparison.json``: every builder's totals and its weights' metadata (the Compare tab, the home page's
  chart, the card's figures); a pass over every network takes about 10 s on 2 cores;
- ``profiles.json.gz``: every builder's layer table at its own input size (the card's diagram and table), so
  that the guide's first card is drawn while torch and torchvision (~4 s on 2 cores) are still being imported.

The figures depend on torch's and torchvision's model code only; each file records both versions and is
ignored (the figures are computed live) when the installed ones differ. Regenerate them with

    python -m tools.precompute_guide

``tests/test_precomputed.py`` checks the files against a live computation.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from importlib import resources
from importlib.metadata import version
from pathlib import Path

COMPARISON = Path(str(resources.files("cnnkit.guide") / "comparison.json"))
PROFILES = Path(str(resources.files("cnnkit.guide") / "profiles.json.gz"))


def versions() -> dict[str, str]:
    return {"torch": version("torch"), "torchvision": version("torchvision")}


@lru_cache(maxsize=2)
def stored(path: Path = COMPARISON) -> dict | None:
    """The shipped figures by builder, or None when the file is absent, unreadable or made with other versions."""
    try:
        raw = path.read_bytes()
        data = json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)
    except (OSError, ValueError, EOFError):
        return None
    return data["builders"] if isinstance(data, dict) and data.get("versions") == versions() else None
