"""Reading and writing MNIST-format IDX files (plain or gzipped), with clear errors for bad ones."""

from __future__ import annotations

import gzip
import hashlib
import struct
import zlib
from pathlib import Path

import numpy as np

from cnnkit.errors import CnnkitError

_UBYTE = 0x08


def read_idx(path: str | Path) -> np.ndarray:
    """Return the array stored in an IDX file of unsigned bytes (images: N×H×W, labels: N)."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, zlib.error) as exc:  # also gzip.BadGzipFile; zlib.error: damaged compressed data
        raise CnnkitError("errors.idx_unreadable", path=path, detail=exc) from None
    except EOFError:
        raise CnnkitError("errors.idx_truncated_gzip", path=path) from None
    if len(raw) < 4:
        raise CnnkitError("errors.idx_too_short", path=path, size=len(raw))
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != _UBYTE or ndim not in (1, 3):
        raise CnnkitError("errors.idx_magic", path=path, magic=raw[:4].hex())
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise CnnkitError("errors.idx_header", path=path)
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape))
    if len(raw) - header < expected:
        raise CnnkitError("errors.idx_truncated", path=path, items=shape[0], expected=expected, got=len(raw) - header)
    return np.frombuffer(raw, dtype=np.uint8, count=expected, offset=header).reshape(shape)


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
