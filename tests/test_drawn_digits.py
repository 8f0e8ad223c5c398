"""The shipped model reads digits drawn as a person would — thick strokes on a 280×280 canvas, in several
sizes, positions, slants and brush widths, and phone photos of digits on paper — through the page's code path."""

from __future__ import annotations

from cnnkit.infer.predict import predict_image
from tests.support.drawing import BOXES, STROKES, draw_digit, phone_photo, png


def test_drawn_digits_are_read_at_90_percent(shipped):
    cases = [
        (digit, box, width, slant)
        for digit in STROKES
        for box in BOXES
        for width, slant in ((max(8, box[3] // 10), 0.0), (max(12, box[3] // 7), 0.15))
    ]
    wrong = []
    for digit, box, width, slant in cases:
        canvas = draw_digit(digit, box, width, slant=slant).convert("RGBA")  # the canvas sends RGBA PNGs
        pred = predict_image(shipped, png(canvas), "canvas", invert=False)
        if pred.label != digit:
            wrong.append(f"{digit} at {box} (brush {width}, slant {slant}) read as {pred.label}")
    accuracy = 1 - len(wrong) / len(cases)
    assert len(cases) == 80 and accuracy >= 0.9, f"{accuracy:.0%}: " + "; ".join(wrong)


def test_phone_photos_of_digits_on_paper_are_read(shipped):
    preds = [
        predict_image(shipped, phone_photo(digit, seed), f"photo of {digit}") for seed, digit in enumerate(STROKES)
    ]
    assert all(p.steps.inverted for p in preds)
    assert sum(p.label == digit for p, digit in zip(preds, STROKES)) >= 9, [p.label for p in preds]
