"""The shipped model reads digits drawn as a person would — thick strokes on a 280×280 canvas, in several
sizes, positions, slants and brush widths, and phone photos of digits on paper — through the page's code path."""
from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from cnnkit.infer.predict import DEFAULT_CHECKPOINT, load_model, predict_image


def _arc(cx, cy, rx, ry, start, stop, n=24):
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(start, stop, n)]


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


def draw_digit(digit: str, box: tuple[float, float, float, float], width: int = 22, size: int = 280,
               slant: float = 0.0, dark_on_light: bool = False) -> Image.Image:
    """``digit`` drawn with a round brush into ``box`` (left, top, width, height) of a size×size picture;
    ``slant`` leans it right (a fraction of the height)."""
    background, ink = (255, 0) if dark_on_light else (0, 255)
    img = Image.new("L", (size, size), background)
    pen = ImageDraw.Draw(img)
    left, top, w, h = box
    for stroke in STROKES[digit]:
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


@pytest.fixture(scope="module")
def shipped():
    if not DEFAULT_CHECKPOINT.is_file():
        pytest.skip(f"the shipped model {DEFAULT_CHECKPOINT} is absent")
    return load_model()


def test_drawn_digits_are_read_at_90_percent(shipped):
    cases = [(digit, box, width, slant) for digit in STROKES for box in BOXES
             for width, slant in ((max(8, box[3] // 10), 0.0), (max(12, box[3] // 7), 0.15))]
    wrong = []
    for digit, box, width, slant in cases:
        canvas = draw_digit(digit, box, width, slant=slant).convert("RGBA")  # the canvas sends RGBA PNGs
        pred = predict_image(shipped, png(canvas), "canvas", invert=False)
        if pred.label != digit:
            wrong.append(f"{digit} at {box} (brush {width}, slant {slant}) read as {pred.label}")
    accuracy = 1 - len(wrong) / len(cases)
    assert len(cases) == 80 and accuracy >= 0.9, f"{accuracy:.0%}: " + "; ".join(wrong)


def test_phone_photos_of_digits_on_paper_are_read(shipped):
    preds = [predict_image(shipped, phone_photo(digit, seed), f"photo of {digit}")
             for seed, digit in enumerate(STROKES)]
    assert all(p.steps.inverted for p in preds)
    assert sum(p.label == digit for p, digit in zip(preds, STROKES)) >= 9, [p.label for p in preds]
