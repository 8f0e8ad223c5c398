"""Digits, letters and strokes the tests draw the way a person would, the shapes of a 28×28 result, and a
small learnable IDX dataset of drawn digits (``write_digit_idx``) for tests that train without the real data."""

from __future__ import annotations

import io
import math
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from cnnkit.data.images import LoadedImage
from cnnkit.data.preprocess import INK


def _arc(cx, cy, rx, ry, start, stop, n=24):
    return [
        (cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a))) for a in np.linspace(start, stop, n)
    ]


# Each digit as pen strokes in a unit box (y down, angles clockwise from +x), the way one writes it.
STROKES = {
    "0": [_arc(0.5, 0.5, 0.32, 0.46, 0, 360, 40)],
    "1": [[(0.35, 0.18), (0.55, 0.03), (0.55, 0.97)]],
    "2": [_arc(0.5, 0.3, 0.3, 0.26, 190, 370) + [(0.18, 0.95), (0.85, 0.95)]],
    "3": [_arc(0.48, 0.27, 0.3, 0.23, 200, 450) + _arc(0.48, 0.72, 0.33, 0.25, 270, 520)],
    "4": [[(0.68, 0.97), (0.68, 0.03), (0.12, 0.68), (0.9, 0.68)]],
    "5": [[(0.82, 0.04), (0.3, 0.04), (0.25, 0.45)] + _arc(0.48, 0.66, 0.33, 0.29, 235, 480)],
    "6": [_arc(0.62, 0.55, 0.42, 0.52, 265, 180, 16) + _arc(0.5, 0.7, 0.3, 0.26, 180, 540, 36)],
    "7": [[(0.12, 0.05), (0.88, 0.05), (0.42, 0.97)]],
    "8": [_arc(0.5, 0.27, 0.26, 0.23, 90, 450, 36) + _arc(0.5, 0.72, 0.32, 0.25, -90, 270, 36)],
    "9": [_arc(0.48, 0.3, 0.3, 0.26, 0, 360, 36) + [(0.78, 0.3), (0.72, 0.97)]],
}


# The other ways people write some digits: a 7 with a crossbar, a 1 as a bare stroke or with a base, a 4 with
# an open top (two strokes). ``draw_digit`` takes these names as well as the digits of ``STROKES``.
VARIANTS = {
    "7 crossbar": STROKES["7"] + [[(0.42, 0.52), (0.86, 0.52)]],
    "1 bare": [[(0.5, 0.03), (0.5, 0.97)]],
    "1 base": STROKES["1"] + [[(0.25, 0.97), (0.85, 0.97)]],
    "4 open": [[(0.22, 0.03), (0.12, 0.62), (0.9, 0.62)], [(0.7, 0.3), (0.7, 0.97)]],
}


def draw_digit(
    digit: str,
    box: tuple[float, float, float, float],
    width: int = 22,
    size: int = 280,
    slant: float = 0.0,
    dark_on_light: bool = False,
) -> Image.Image:
    """``digit`` drawn with a round brush into ``box`` (left, top, width, height) of a size×size picture;
    ``slant`` leans it right (a fraction of the height)."""
    background, ink = (255, 0) if dark_on_light else (0, 255)
    img = Image.new("L", (size, size), background)
    pen = ImageDraw.Draw(img)
    left, top, w, h = box
    for stroke in {**STROKES, **VARIANTS}[digit]:
        points = [(left + (x + slant * (1 - y)) * w, top + y * h) for x, y in stroke]
        pen.line(points, fill=ink, width=width, joint="curve")
        for x, y in (points[0], points[-1]):  # round ends, as a brush leaves them
            pen.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=ink)
    return img


def png(img: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def phone_photo(digit: str, seed: int, specks: int = 10) -> bytes:
    """A JPEG "phone photo" of ``digit`` in dark ink on paper: light falling off to one side, sensor noise,
    a little blur, specks of dust."""
    rng = np.random.default_rng(seed)
    img = draw_digit(digit, (400, 500, 380, 560), width=32, size=1600, dark_on_light=True).crop((0, 0, 1200, 1600))
    pen = ImageDraw.Draw(img)
    for x, y, r in zip(rng.integers(0, 1200, specks), rng.integers(0, 1600, specks), rng.integers(2, 6, specks)):
        pen.ellipse([x - r, y - r, x + r, y + r], fill=0)
    yy, xx = np.mgrid[0:1600, 0:1200]
    light = 0.3 + 0.65 * (xx / 1200) ** 0.7 * (0.8 + 0.2 * np.cos(yy / 500))
    gray = np.where(np.asarray(img) < 128, 0.2, 0.92) * light + rng.normal(0, 0.04, light.shape)
    rgb = np.clip(np.stack([gray, gray * 0.97, gray * 0.88], -1), 0, 1)
    return png(Image.fromarray(np.uint8(rgb * 255)).filter(ImageFilter.GaussianBlur(1.5)), "JPEG", quality=80)


# (left, top, width, height) on the 280×280 canvas: centred, small in a corner, filling it, low right.
BOXES = [(75, 40, 130, 200), (20, 25, 60, 95), (15, 6, 250, 268), (150, 140, 100, 125)]


def strokes(box, width=20, size=280, dark_on_light=False, shape="seven"):
    """A "7"-like stroke (or a tall "1", or a wide bar) in ``box`` = (left, top, right, bottom)."""
    background, ink = (1.0, 0.0) if dark_on_light else (0.0, 1.0)
    img = Image.new("F", (size, size), background)
    x0, y0, x1, y1 = box
    points = {
        "seven": [(x0, y0), (x1, y0), ((x0 + x1) / 2, y1)],
        "one": [((x0 + x1) / 2, y0), ((x0 + x1) / 2, y1)],
        "bar": [(x0, (y0 + y1) / 2), (x1, (y0 + y1) / 2)],
    }[shape]
    ImageDraw.Draw(img).line(points, fill=ink, width=width, joint="curve")
    return LoadedImage(np.asarray(img, dtype=np.float64))


def centre_of_mass(image):
    total = image.sum()
    rows, cols = np.indices(image.shape)
    return (rows * image).sum() / total, (cols * image).sum() / total


def ink_box(image):
    rows, cols = np.flatnonzero((image > INK).any(1)), np.flatnonzero((image > INK).any(0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


# Letters as pen strokes in a unit box, as the digits above are.
LETTERS = {
    "A": [[(0.1, 0.97), (0.5, 0.03), (0.9, 0.97)], [(0.25, 0.6), (0.75, 0.6)]],
    "H": [[(0.15, 0.03), (0.15, 0.97)], [(0.85, 0.03), (0.85, 0.97)], [(0.15, 0.5), (0.85, 0.5)]],
    "K": [[(0.2, 0.03), (0.2, 0.97)], [(0.85, 0.03), (0.2, 0.55)], [(0.4, 0.4), (0.88, 0.97)]],
    "M": [[(0.08, 0.97), (0.15, 0.03), (0.5, 0.6), (0.85, 0.03), (0.92, 0.97)]],
    "W": [[(0.03, 0.03), (0.25, 0.97), (0.5, 0.35), (0.75, 0.97), (0.97, 0.03)]],
    "E": [[(0.85, 0.03), (0.2, 0.03), (0.2, 0.97), (0.85, 0.97)], [(0.2, 0.5), (0.7, 0.5)]],
    "X": [[(0.1, 0.05), (0.9, 0.95)], [(0.9, 0.05), (0.1, 0.95)]],
}


def canvas_png(strokes, box=(60, 40, 160, 200), width=20) -> bytes:
    """Strokes (lists of unit-box points) in white on the black 280×280 canvas, as the canvas sends them."""
    img = Image.new("L", (280, 280), 0)
    pen = ImageDraw.Draw(img)
    left, top, w, h = box
    for stroke in strokes:
        pen.line([(left + x * w, top + y * h) for x, y in stroke], fill=255, width=width, joint="curve")
    return png(img.convert("RGBA"))


NOISE = Image.fromarray(
    np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
)  # an RGB picture of noise


def png_header(width, height):
    """A PNG whose header claims width×height pixels, with almost no data behind it."""

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * 100))
        + chunk(b"IEND", b"")
    )


SEVEN = png(draw_digit("7", (150, 140, 90, 125), dark_on_light=True))  # small, low right, dark on light


def digit_images(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` 28×28 uint8 digits (white on black, as MNIST's) and their labels 0-9 in turn: each drawn with
    a round brush at a random size, place, slant and pen width, softened and speckled with noise."""
    rng = np.random.default_rng(seed)
    images = np.empty((count, 28, 28), np.uint8)
    labels = np.arange(count) % 10
    for i, label in enumerate(labels):
        h = rng.uniform(52, 60)
        w = h * rng.uniform(0.6, 0.75)
        box = (42 - w / 2 + rng.uniform(-4, 4), 42 - h / 2 + rng.uniform(-4, 4), w, h)
        img = draw_digit(str(label), box, width=int(rng.integers(7, 11)), size=84, slant=rng.uniform(-0.1, 0.15))
        small = np.asarray(img.resize((28, 28), Image.BILINEAR), np.float64)
        images[i] = np.clip(small + rng.normal(0, 8, small.shape) * (small > 0), 0, 255).astype(np.uint8)
    return images, labels.astype(np.uint8)


def write_digit_idx(folder: Path, train: int = 1200, test: int = 400, seed: int = 0) -> Path:
    """The four IDX files (gzipped) of ``train`` + ``test`` drawn digits in ``folder``: custom IDX data that a
    small network learns well above chance in one epoch."""
    from cnnkit.data.idx import write_idx

    folder.mkdir(parents=True, exist_ok=True)
    for prefix, count, offset in (("train", train, 0), ("t10k", test, 1)):
        images, labels = digit_images(count, seed * 2 + offset)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return folder
