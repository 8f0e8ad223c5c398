"""Helpers the tests share that are neither tests nor fixtures: the repo's root, the CLI as a user runs it,
digits and shapes the tests draw, page helpers. Fixtures live in ``tests/conftest.py``."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, env=None, cwd=ROOT) -> subprocess.CompletedProcess:
    """``python -m cnnkit ARGS`` in the repo's root, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "cnnkit", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600, env=env
    )


@contextmanager
def fifo(path: Path, every: float = 5.0) -> Iterator[Path]:
    """A named pipe at ``path`` that never hangs a test: every ``every`` seconds its writing end is opened and
    closed, which releases a reader that wrongly waits on it (it then reads nothing)."""
    os.mkfifo(path)
    done = threading.Event()

    def release() -> None:
        while not done.wait(every):
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # no reader waiting
                pass

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        done.set()
        thread.join()
