"""Reading and writing the files users name.

Reads take regular files only, up to a byte limit: a device (``/dev/zero``), a pipe or a folder is refused before
anything is read, so that no read can grow without end or wait for ever. Writes go to a temporary file in the
same folder, flushed and synced, then renamed over the target (``os.replace`` is atomic), so that a failed write
never damages what was there.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

from cnnkit.errors import CnnkitError


def open_regular(path: str | Path, name: str | None = None) -> BinaryIO:
    """``path`` opened for reading when it is a regular file; anything else is refused before a byte is read.
    It is opened without blocking (a pipe with no writer would wait for ever) and checked once open, so that
    nothing can be swapped in between. ``OSError`` as ``open`` raises it (missing, not allowed)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise CnnkitError("files.errors.not_regular", name=name or str(path))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_limited(path: str | Path, limit: int, name: str | None = None) -> bytes:
    """The bytes of the regular file ``path``, refused when it holds more than ``limit`` bytes (checked before
    reading, and while reading: a file that grows stops at the limit). ``OSError`` as ``open`` raises it."""
    name = name or str(path)
    with open_regular(path, name) as file:
        if os.fstat(file.fileno()).st_size <= limit:
            data = file.read(limit + 1)
            if len(data) <= limit:
                return data
    raise CnnkitError("files.errors.too_large", name=name, mb=round(limit / 2**20, 1))


def _umask() -> int:
    """This process's umask: read where Linux shows it (setting it to read it back would race other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            return next(int(line.split()[1], 8) for line in status if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError):
        mask = os.umask(0o022)
        os.umask(mask)
        return mask


def _staged(path: Path, data: bytes) -> str:
    """``data`` written and synced to a new temporary file beside ``path``; its name."""
    if path.is_dir():
        raise CnnkitError("files.errors.is_folder", path=str(path))
    if path.exists() and not path.is_file():  # a device or a pipe: never replaced by a file
        raise CnnkitError("files.errors.not_a_file", path=str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise CnnkitError("files.errors.write", path=str(path), reason=exc.strerror or str(exc)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o666 & ~_umask())  # as any new file, not mkstemp's private 0600
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        _remove(tmp)
        raise CnnkitError("files.errors.write", path=str(path), reason=exc.strerror or str(exc)) from None
    return tmp


def _remove(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


def write_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; on failure the previous file is intact and the error says why."""
    return write_all_atomic({Path(path): data})[0]


def write_all_atomic(files: dict[Path, bytes]) -> list[Path]:
    """Write several files all or none: each to a temporary file first (where a full disk fails, leaving every
    file as it was), then each renamed over its target; the paths."""
    staged: list[tuple[str, Path]] = []
    try:
        for path, data in files.items():
            staged.append((_staged(Path(path), data), Path(path)))
        for tmp, path in staged:
            os.replace(tmp, path)
    except (OSError, CnnkitError) as exc:
        for tmp, _ in staged:
            _remove(tmp)
        if isinstance(exc, CnnkitError):
            raise
        raise CnnkitError("files.errors.write", path=str(path), reason=exc.strerror or str(exc)) from None
    return [path for _, path in staged]
