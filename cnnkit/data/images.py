"""Opening user images safely: any common format and mode, with clear messages for bad files.

The size is checked from the header before any pixel is decoded (a decompression bomb guard); animations
give their first frame; phone photos are turned upright (EXIF). What was done is listed as ``notes``:
``(code, values)`` pairs that a page words in its language.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from cnnkit.errors import CnnkitError
from cnnkit.files import read_limited

MAX_PIXELS = 40_000_000  # refuse larger images before decoding them
MAX_FILE_BYTES = 30 * 2**20  # one image file, as the pages' uploads (cnnkit.infer.uploads.UPLOAD_MB)
HIGH_DEPTH = ("I;16", "I;16B", "I;16L", "I", "F")  # 16/32-bit gray and float modes
TRANSPARENT_LAYER = 0.2  # share of transparent pixels above which the opaque ones are the ink

Note = tuple[str, dict]


@dataclass
class LoadedImage:
    """An image as a float32 array in [0, 1] (H×W gray, bright = light) plus what was done to read it."""

    gray: np.ndarray
    notes: list[Note] = field(default_factory=list)
    alpha_ink: bool = False  # the ink was read from the alpha channel (a drawing on a transparent layer)


def canvas_png(drawn: object, size: int) -> bytes | None:
    """The PNG of the drawing that ``st_canvas(..., return_image_data=True)`` returned (its ``image_bytes``),
    None before the first stroke. Anything but a whole ``size``×``size`` PNG is refused; its size is read from
    the header, before any pixel is decoded."""
    try:
        data = drawn.image_bytes
        if data is None:
            return None
        image = Image.open(io.BytesIO(data), formats=["PNG"])
        if image.size != (size, size):
            raise ValueError(image.size)
        image.load()
    except (AttributeError, TypeError, ValueError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise CnnkitError("errors.canvas_unreadable") from exc  # binascii's and PIL's errors among them
    return data


def _too_large(name: str, pixels: int) -> CnnkitError:
    return CnnkitError(
        "errors.image_too_many_pixels", name=name, millions=round(pixels / 1e6), limit=round(MAX_PIXELS / 1e6)
    )


def declared_pixels(data: bytes) -> int:
    """The pixels that an image's header declares (nothing is decoded); 0 for what is no image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            width, height = Image.open(io.BytesIO(data)).size
    except (Image.DecompressionBombError, OSError, SyntaxError, ValueError, EOFError, struct.error):
        return 0  # UnidentifiedImageError is an OSError
    return width * height


def decode(
    source: bytes | str | Path, name: str | None = None, longest: int | None = None
) -> tuple[Image.Image, list[Note]]:
    """Decode PNG/JPEG/BMP/WebP/GIF/TIFF bytes or a file into a PIL image (first frame, upright). With
    ``longest``, a JPEG whose reduction to that longer side is wanted is decoded gray and as small as libjpeg
    allows while no side falls below the reduction's (``draft_jpeg``)."""
    name = name or (str(source) if not isinstance(source, bytes) else "the image")
    try:
        data = source if isinstance(source, bytes) else read_limited(source, MAX_FILE_BYTES, name)
    except OSError as exc:
        raise CnnkitError("errors.file_unreadable", name=name, reason=exc.strerror or exc) from None
    notes: list[Note] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))  # reads the header only
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise _too_large(name, w * h)
            frames = getattr(img, "n_frames", 1)
            if frames > 1:
                notes.append(("animated", {"frames": frames}))
                img.seek(0)
            if longest and max(w, h) > longest:
                draft_jpeg(img, reduced_size(h, w, longest))
            img.load()
            orientation = img.getexif().get(ExifTags.Base.Orientation, 1)
            upright = ImageOps.exif_transpose(img)
    except CnnkitError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise CnnkitError("errors.image_far_too_large", name=name, limit=round(MAX_PIXELS / 1e6)) from None
    except UnidentifiedImageError:
        raise CnnkitError("errors.image_unknown_format", name=name) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:  # struct: a truncated GIF header
        raise CnnkitError("errors.image_damaged", name=name, detail=exc) from None
    if orientation != 1:
        notes.append(("rotated", {}))
    if img.mode in HIGH_DEPTH:
        notes.append(("high_depth", {"mode": img.mode}))
    elif img.mode in ("CMYK", "P"):
        notes.append(("converted", {"mode": img.mode}))
    return upright, notes


def draft_jpeg(img: Image.Image, size: tuple[int, int]) -> None:
    """Have a JPEG not yet loaded decoded gray, at 1/2, 1/4 or 1/8 of its size where that still covers ``size``
    (width, height): libjpeg scales while it decodes (its DCT), the cost falling with the pixels made. Any
    other image is left as it is. EXIF orientation is applied afterwards as to a full-size decode."""
    if img.format == "JPEG":
        img.draft("L", size)


def open_image(source: bytes | str | Path, name: str | None = None, longest: int | None = None) -> LoadedImage:
    """Read an image file (or its bytes) into a gray array; one with a longer side over ``longest`` is reduced
    to it (area average) while still 8-bit, before a float array of the full picture is ever made; a JPEG is
    decoded at the smallest scale libjpeg offers that still holds that size (``draft_jpeg``)."""
    img, notes = decode(source, name, longest)
    return _to_gray(img, notes, longest)


def open_rgb(source: bytes | str | Path, name: str | None = None) -> tuple[Image.Image, list[Note]]:
    """Read an image file (or its bytes) as 8-bit RGB for photo classifiers; transparency becomes white."""
    img, notes = decode(source, name)
    if img.mode in HIGH_DEPTH:
        return Image.fromarray(np.uint8(_to_gray(img, []).gray * 255)).convert("RGB"), notes
    if img.mode == "P" or "A" in img.mode or img.mode == "RGBa":
        img = img.convert("RGBA")
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, img).convert("RGB"), notes
    return img.convert("RGB"), notes


def reduced_size(height: int, width: int, longest: int) -> tuple[int, int]:
    """(width, height) of a picture scaled down so that its longer side is ``longest``."""
    scale = longest / max(height, width)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_gray(img: Image.Image, notes: list[Note], longest: int | None = None) -> LoadedImage:
    if img.mode in HIGH_DEPTH:
        arr = np.asarray(img, dtype=np.float32)
        low, high = min(arr.min(), 0.0), arr.max()
        return LoadedImage((arr - low) / (high - low if high > low else 1.0), notes)
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("LA", "PA", "RGBa"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        alpha = np.asarray(img.getchannel("A"), dtype=np.float32) / 255
        if (alpha < 0.5).mean() > TRANSPARENT_LAYER:
            # A drawing on a transparent layer: opaque pixels are the ink, whatever their colour. (A few
            # transparent pixels, such as a screenshot's rounded corners, do not make a layer.)
            return LoadedImage(alpha, notes + [("alpha_ink", {})], True)
    gray = img.convert("L")
    if longest and max(gray.size) > longest:
        size = reduced_size(gray.height, gray.width, longest)
        return LoadedImage(np.asarray(gray.convert("F").resize(size, Image.Resampling.BOX), np.float32) / 255, notes)
    return LoadedImage(np.asarray(gray, dtype=np.float32) / 255, notes)
