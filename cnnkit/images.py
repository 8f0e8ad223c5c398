"""Opening user images safely: any common format and mode, with clear messages for bad files."""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import CnnkitError

MAX_PIXELS = 40_000_000  # refuse larger images before decoding them (a decompression bomb guard)


@dataclass
class LoadedImage:
    """An image as a float array in [0, 1] (H×W gray, bright = light) plus what was done to read it."""

    gray: np.ndarray
    notes: list[str] = field(default_factory=list)
    alpha_ink: bool = False  # the ink was read from the alpha channel (a drawing on a transparent layer)


def open_image(source: bytes | str | Path, name: str | None = None) -> LoadedImage:
    """Read PNG/JPEG/BMP/WebP/GIF/… bytes or a path into a gray array, checking size before decoding."""
    name = name or (str(source) if not isinstance(source, bytes) else "the image")
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError as exc:
        raise CnnkitError(f"Cannot read {name}: {exc.strerror or exc}.") from None
    notes: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise CnnkitError(f"{name} is {w}×{h} pixels ({w * h / 1e6:.0f} MP), above the limit of "
                                  f"{MAX_PIXELS / 1e6:.0f} MP; scale it down first.")
            if getattr(img, "n_frames", 1) > 1:
                notes.append(f"{name} has {img.n_frames} frames (an animation); only the first frame is used.")
                img.seek(0)
            img.load()
            img = ImageOps.exif_transpose(img)
    except CnnkitError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise CnnkitError(f"{name} is not an image cnnkit can read (PNG, JPEG, BMP, WebP, GIF, TIFF), "
                          "or it is too large.") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise CnnkitError(f"{name} is damaged or truncated and cannot be decoded ({exc}).") from None
    return _to_gray(img, notes)


def _to_gray(img: Image.Image, notes: list[str]) -> LoadedImage:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = arr.max() if arr.max() > 0 else 1.0
        return LoadedImage((arr - min(arr.min(), 0)) / (top - min(arr.min(), 0)), notes)
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("LA", "PA", "RGBa"):
        img = img.convert("RGBA")
    if img.mode == "CMYK":
        img = img.convert("RGB")
    if img.mode == "RGBA":
        alpha = np.asarray(img.getchannel("A"), dtype=np.float64) / 255
        if alpha.min() < 0.5:
            # A drawing on a transparent layer: opaque pixels are the ink, whatever their colour.
            return LoadedImage(alpha, notes + ["transparent background: the opaque pixels are read as ink"], True)
        img = img.convert("RGB")
    return LoadedImage(np.asarray(img.convert("L"), dtype=np.float64) / 255, notes)
