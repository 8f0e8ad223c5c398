"""Reading and writing MNIST-format IDX files (plain or gzipped), with clear errors for bad ones."""

from __future__ import annotations

import gzip
import hashlib
import math
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from cnnkit.errors import CnnkitError
from cnnkit.files import open_regular

_UBYTE = 0x08
MAX_BYTES = 256 * 2**20  # the pixels (or labels) one file may declare: 342,000 images of 28×28, MNIST's 60,000 × 5.7
TRAILING = 2**20  # bytes read, and ignored, after the declared data


def read_idx(path: str | Path) -> np.ndarray:
    """Return the array stored in an IDX file of unsigned bytes (images: N×H×W, labels: N). The size its header
    declares is checked before the data is read (or decompressed), and no more than that is read."""
    path = Path(path)
    try:
        with open_regular(path) as file, gzip.GzipFile(fileobj=file) if path.suffix == ".gz" else file as stream:
            return _read_stream(stream, path)
    except (OSError, zlib.error) as exc:  # also gzip.BadGzipFile; zlib.error: damaged compressed data
        raise _bad("idx_unreadable", path, detail=exc) from None
    except EOFError:
        raise _bad("idx_truncated_gzip", path) from None


def _bad(key: str, path: Path, **values) -> CnnkitError:
    """An IDX file's error: its path for the CLI, its name alone for a page (the folder may be the server's)."""
    return CnnkitError(f"errors.{key}", path=path, file=path.name, **values)


def _read_stream(stream: BinaryIO, path: Path) -> np.ndarray:
    start = stream.read(4)
    if len(start) < 4:
        raise _bad("idx_too_short", path, size=len(start))
    zero, dtype, ndim = struct.unpack(">HBB", start)
    if zero != 0 or dtype != _UBYTE or ndim not in (1, 3):
        raise _bad("idx_magic", path, magic=start.hex())
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise _bad("idx_header", path)
    shape = struct.unpack(f">{ndim}I", dims)
    expected = math.prod(shape)
    if expected > MAX_BYTES:
        raise _bad("idx_too_large", path, items=shape[0], mb=round(expected / 2**20), limit=MAX_BYTES // 2**20)
    data = stream.read(expected)
    if len(data) < expected:
        raise _bad("idx_truncated", path, items=shape[0], expected=expected, got=len(data))
    stream.read(TRAILING)  # a gzip's checksum is checked at its end: reached unless more than this follows
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def _header(array: np.ndarray) -> bytes:
    return struct.pack(">HBB", 0, _UBYTE, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)


def idx_sha256(array: np.ndarray) -> str:
    """SHA-256 of ``array`` as a plain IDX file: the digest of a file's decompressed content (however it was
    gzipped), without writing it."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    digest = hashlib.sha256(_header(array))
    digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 array (1-D labels or 3-D images) as an IDX file, gzipped if the name ends in .gz."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    data = _header(array) + array.tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
