"""The server's files: a path typed on a page is used only when it lies under an allowed root.

The roots are ``$CNNKIT_DATA_ROOTS`` (folders separated by ``os.pathsep``), by default the data directory
(``$CNNKIT_DATA_DIR`` or ``./data``) and the runs directory (``$CNNKIT_RUNS_DIR`` or ``./runs``). A typed path
is resolved (``..`` and symlinks followed, no ``~`` expansion) before it is compared with the roots, and an
absent path gets the same message as a path outside them, so a visitor learns nothing of the server's other
files. The CLI, run by the machine's own user, takes any path and does not use this module.
"""

from __future__ import annotations

import os
from pathlib import Path

from cnnkit.data.datasets import default_data_dir
from cnnkit.errors import CnnkitError

MAX_TYPED = 1000  # characters of a typed path


def runs_dir() -> Path:
    """The run store's folder: ``$CNNKIT_RUNS_DIR``, or ``./runs`` when it is unset or empty."""
    return Path(os.environ.get("CNNKIT_RUNS_DIR") or "runs")


def allowed_roots() -> list[Path]:
    """The folders whose files the pages may read, resolved."""
    configured = os.environ.get("CNNKIT_DATA_ROOTS")
    roots = (
        [Path(p) for p in configured.split(os.pathsep) if p.strip()] if configured else [default_data_dir(), runs_dir()]
    )
    return [root.resolve() for root in roots]


def allowed_path(typed: str, kind: str = "file") -> Path:
    """The resolved path of ``typed`` when it is an existing ``kind`` ("file" or "folder") under an allowed
    root; else one message for absent and not allowed alike, which names no folder of the server."""
    roots = allowed_roots()
    try:
        if not typed or len(typed) > MAX_TYPED or "\0" in typed:
            raise ValueError(typed)
        path = Path(typed)
        path = (path if path.is_absolute() else Path.cwd() / path).resolve()
        inside = any(path.is_relative_to(root) for root in roots)
        present = path.is_file() if kind == "file" else path.is_dir()
    except (OSError, ValueError, RuntimeError):  # a name too long, a loop of symlinks, a NUL byte
        inside = present = False
    if not (inside and present):
        raise CnnkitError(f"safety.path_{kind}", typed=typed[:100])
    return path
