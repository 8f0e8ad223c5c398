"""Letters drawn as a person would put them on paper: A–E in the machine's fonts at varied size, slant, stroke
width and place, in coloured ink on paper of varied light, saved 28×28 grey in ``DIR/train|test/<letter>/``
(the layout ``--dataset folder`` reads). benchmarks/transfer_from_shipped.py trains on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

LETTERS = ("A", "B", "C", "D", "E")
FONT_FOLDERS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/TTF"))
CANVAS = 112  # drawn at 4× the saved side, then scaled down as a scanner would


def fonts() -> list[str]:
    """The machine's DejaVu fonts (Sans, Serif, Mono, their bold and slanted faces); none: Pillow's own font."""
    found = [str(p) for folder in FONT_FOLDERS for p in sorted(folder.glob("DejaVu*.ttf")) if "Math" not in p.name]
    return found or [""]


def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size)


def letter_image(letter: str, rng: np.random.Generator, side: int = 28, dark_paper: bool = False) -> Image.Image:
    """One letter, ``side``×``side`` grey: a random font, size, stroke, slant and place; ink and paper of random
    colour and light (light ink on a dark board when ``dark_paper``)."""
    paper = rng.integers(170, 256, 3) if not dark_paper else rng.integers(0, 80, 3)
    ink = rng.integers(0, 110, 3) if not dark_paper else rng.integers(180, 256, 3)
    img = Image.new("RGB", (CANVAS, CANVAS), tuple(int(v) for v in paper))
    font = _font(str(rng.choice(fonts())), int(rng.integers(48, 84)))
    draw = ImageDraw.Draw(img)
    left, top, right, bottom = draw.textbbox((0, 0), letter, font=font, stroke_width=0)
    slack_x, slack_y = max(CANVAS - (right - left), 2), max(CANVAS - (bottom - top), 2)
    x = rng.uniform(0.25, 0.75) * slack_x - left
    y = rng.uniform(0.25, 0.75) * slack_y - top
    colour = tuple(int(v) for v in ink)
    draw.text((x, y), letter, font=font, fill=colour, stroke_width=int(rng.integers(0, 4)), stroke_fill=colour)
    slant = rng.uniform(-0.3, 0.3)  # a shear about the centre: x' = x + slant·(y − centre)
    img = img.transform(
        img.size,
        Image.Transform.AFFINE,
        (1, slant, -slant * CANVAS / 2, 0, 1, 0),
        Image.Resampling.BILINEAR,
        fillcolor=tuple(int(v) for v in paper),
    )
    return img.convert("L").resize((side, side), Image.Resampling.LANCZOS)


def draw_letters(
    root: Path, train: int = 200, test: int = 100, seed: int = 0, letters=LETTERS, dark_paper: bool = False
) -> Path:
    """``root/train/<letter>/<n>.png`` (``train`` per letter) and ``root/test/<letter>/<n>.png`` (``test`` per
    letter), drawn from ``seed``: another seed, other letters and another split."""
    rng = np.random.default_rng(seed)
    for part, count in (("train", train), ("test", test)):
        for letter in letters:
            folder = root / part / letter
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                letter_image(letter, rng, dark_paper=dark_paper).save(folder / f"{i:04d}.png")
    return root
