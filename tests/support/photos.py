"""Photos and pictures the tests and benchmarks/trust.py make: digits in ink on paper under uneven light,
and pictures that are no digits (noise, shapes, letters, a red/green picture)."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from tests.support.drawing import BOXES, LETTERS, STROKES, VARIANTS, canvas_png, draw_digit, png

SIZE = 400


def place(stroke: float, fill: float, seed: int) -> tuple[int, tuple[float, float, float, float]]:
    """Brush width and (left, top, width, height) box of a digit ``fill`` of the frame high, a little off
    centre; ``stroke`` is the brush width as a share of the picture."""
    rng = np.random.default_rng(seed)
    width = max(2, round(stroke * SIZE))
    h = fill * SIZE - width
    w = 0.7 * h
    return width, (
        (SIZE - w) / 2 + rng.uniform(-0.05, 0.05) * SIZE,
        (SIZE - h) / 2 + rng.uniform(-0.04, 0.04) * SIZE,
        w,
        h,
    )


def paper_photo(
    digit: str,
    stroke: float,
    fill: float,
    seed: int = 0,
    light: float = 0.5,
    angle: float = 30.0,
    slant: float = 0.0,
    blur: float = 1.0,
    grain: float = 0.03,
) -> bytes:
    """A JPEG photo of ``digit`` in dark ink on light paper: the light falls from 1 to ``light`` across the
    page in direction ``angle`` (degrees), the lens blurs by ``blur`` px, the paper has grain."""
    rng = np.random.default_rng(seed)
    width, box = place(stroke, fill, seed)
    ink = (
        np.asarray(draw_digit(digit, box, width, SIZE, slant).filter(ImageFilter.GaussianBlur(blur)), dtype=np.float64)
        / 255
    )
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    ramp = np.cos(np.radians(angle)) * xx + np.sin(np.radians(angle)) * yy
    lit = light + (1 - light) * (ramp - ramp.min()) / np.ptp(ramp)
    gray = (0.9 - 0.78 * ink) * lit + rng.normal(0, grain, ink.shape)  # paper reflects 90%, ink 12%
    rgb = np.clip(np.stack([gray, gray * 0.97, gray * 0.9], -1), 0, 1)  # a warm lamp
    buffer = io.BytesIO()
    Image.fromarray(np.uint8(rgb * 255)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


# Brush widths from a fine liner (2% of the picture) to a thick marker (15%), digits from a third of the frame
# high to filling it; a marker's stroke is at most about a quarter of the digit's height, as people write.
CASES = [
    (stroke, fill)
    for stroke in (0.02, 0.04, 0.07, 0.10, 0.12, 0.15)
    for fill in (0.35, 0.6, 0.9)
    if stroke / fill <= 0.26
]


def photo_case(digit: str, stroke: float, fill: float) -> dict:
    """One photo's settings: light, its direction, slant and blur vary with the digit."""
    i = int(digit)
    return dict(
        digit=digit,
        stroke=stroke,
        fill=fill,
        seed=i,
        light=(0.3, 0.5, 0.7)[i % 3],
        angle=37.0 * i,
        slant=0.15 * (i % 2),
        blur=(0.6, 1.2, 1.8)[i % 3],
    )


ALL = [photo_case(d, s, f) for s, f in CASES for d in STROKES]


def noise(seed: int) -> bytes:
    return png(Image.fromarray(np.random.default_rng(seed).integers(0, 256, (280, 280), dtype=np.uint8)))


def shape(kind: str) -> bytes:
    img = Image.new("L", (280, 280), 0)
    pen = ImageDraw.Draw(img)
    if kind == "filled square":
        pen.rectangle((70, 70, 210, 210), fill=255)
    elif kind == "filled disc":
        pen.ellipse((60, 60, 220, 220), fill=255)
    elif kind == "square":
        pen.rectangle((60, 60, 220, 220), outline=255, width=18)
    elif kind == "triangle":
        pen.polygon([(140, 40), (240, 230), (40, 230)], outline=255, width=18)
    elif kind == "star":
        points = [
            (140 + 110 * math.cos(math.radians(-90 + 144 * k)), 140 + 110 * math.sin(math.radians(-90 + 144 * k)))
            for k in range(6)
        ]
        pen.line(points, fill=255, width=16)
    elif kind == "two dots":
        pen.ellipse((30, 30, 70, 70), fill=255)
        pen.ellipse((200, 200, 240, 240), fill=255)
    elif kind == "scribble":
        rng = np.random.default_rng(3)
        pen.line([tuple(p) for p in rng.integers(20, 260, (12, 2))], fill=255, width=10)
    return png(img.convert("RGBA"))


def red_green() -> bytes:
    """A red/green picture that is no digit: red and green halves with a soft diagonal border."""
    yy, xx = np.mgrid[0:240, 0:320]
    red = (xx + 0.5 * yy) < 260
    rgb = np.where(red[..., None], [220, 30, 30], [40, 180, 60]).astype(np.uint8)
    return png(Image.fromarray(rgb), "JPEG")


SHAPES = ("filled square", "filled disc", "square", "triangle", "star", "two dots", "scribble")


def non_digits() -> dict[str, bytes]:
    """The non-digits: noise, shapes, letters (with the X), the red/green picture, named."""
    pictures = {f"noise {s}": noise(s) for s in range(3)}
    pictures |= {kind: shape(kind) for kind in SHAPES}
    pictures |= {f"letter {k}": canvas_png(v) for k, v in LETTERS.items()}
    pictures["red/green picture"] = red_green()
    return pictures


def canvas_digits() -> list[tuple[str, bytes]]:
    """Clean digits drawn on the canvas: each digit in the four boxes of tests/test_drawn_digits.py."""
    return [(d, png(draw_digit(d, box, max(10, box[3] // 8)).convert("RGBA"))) for d in STROKES for box in BOXES]


# What people draw on the canvas: every digit and its other forms (``VARIANTS``), in the four boxes and a tiny
# one, with the thinnest, the default and a bold pen (no thicker than a quarter of the digit's height), upright
# and leaning right or left.
TINY = (125, 120, 26, 38)
PENS = (6, 20, 34)
SLANTS = (0.0, 0.2, -0.1)


def drawn_variants(slants: tuple[float, ...] = SLANTS) -> list[tuple[str, str, bytes]]:
    """(digit, what was drawn, the canvas's PNG) for each form × box × pen × slant."""
    return [
        (
            kind[0],
            f"{kind} in {box}, pen {pen}, slant {slant}",
            png(draw_digit(kind, box, pen, slant=slant).convert("RGBA")),
        )
        for kind in [*STROKES, *VARIANTS]
        for box in [*BOXES, TINY]
        for pen in PENS
        if pen <= box[3] / 4
        for slant in slants
    ]


def scanned(digit: np.ndarray, size: int, seed: int = 0, light: float = 0.6, fmt: str = "JPEG") -> bytes:
    """A scan of a 28×28 digit (uint8, ink bright, as MNIST's) written in dark ink on paper: ``size`` pixels a
    side, the digit 35–80% of it high somewhere on the page, the light falling to ``light`` across it, grain."""
    rng = np.random.default_rng(seed)
    height = int(size * rng.uniform(0.35, 0.8))
    ink = np.asarray(Image.fromarray(digit).resize((height, height), Image.Resampling.BILINEAR), np.float64) / 255
    top, left = (int(rng.integers(0, size - height + 1)) for _ in range(2))
    page = np.zeros((size, size))
    page[top : top + height, left : left + height] = ink
    yy, xx = np.mgrid[0:size, 0:size] / size
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * xx + np.sin(angle) * yy
    lit = light + (1 - light) * (ramp - ramp.min()) / np.ptp(ramp)
    gray = (0.92 - 0.8 * page) * lit + rng.normal(0, 0.02, page.shape)
    return png(Image.fromarray(np.uint8(np.clip(gray, 0, 1) * 255)), fmt)
