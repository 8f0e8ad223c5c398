"""Class folders the tests draw themselves: circles, squares and triangles of random size, place and colour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle")


def shape_image(kind: str, rng: np.random.Generator, size: tuple[int, int], mode: str) -> Image.Image:
    """One shape, dark or coloured on a light background, at a random place and scale."""
    w, h = size
    background = tuple(int(v) for v in rng.integers(200, 256, 3))
    ink = tuple(int(v) for v in rng.integers(0, 120, 3))
    img = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(img)
    side = rng.uniform(0.35, 0.6) * min(w, h)
    cx, cy = rng.uniform(side / 2 + 1, w - side / 2 - 1), rng.uniform(side / 2 + 1, h - side / 2 - 1)
    box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    if kind == "circle":
        draw.ellipse(box, fill=ink)
    elif kind == "square":
        draw.rectangle(box, fill=ink)
    else:
        draw.polygon([(cx, box[1]), (box[2], box[3]), (box[0], box[3])], fill=ink)
    return img.convert(mode)


def draw_folder(
    root: Path, per_class: int = 40, mode: str = "RGB", sizes=((40, 40), (64, 48)), classes=SHAPES, seed: int = 0
) -> Path:
    """``root/<class>/<n>.png|jpg`` with ``per_class`` images per class, alternating the two sizes and formats."""
    rng = np.random.default_rng(seed)
    for kind in classes:
        folder = root / kind
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            img = shape_image(kind if kind in SHAPES else SHAPES[hash(kind) % 3], rng, sizes[i % len(sizes)], mode)
            img.save(folder / f"{i:03d}.{'png' if i % 2 or mode != 'RGB' else 'jpg'}")
    return root
