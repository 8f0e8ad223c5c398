"""Helpers the tests share that are neither tests nor fixtures: the repo's root, the CLI as a user runs it,
digits and shapes the tests draw, page helpers. Fixtures live in ``tests/conftest.py``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, env=None, cwd=ROOT) -> subprocess.CompletedProcess:
    """``python -m cnnkit ARGS`` in the repo's root, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "cnnkit", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600, env=env
    )
