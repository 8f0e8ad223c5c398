"""Turning a drawing or a photo of a digit into an MNIST-like 28×28 input, step by step.

MNIST's digits were cropped to their ink, scaled into a 20×20 box keeping the aspect ratio, and placed in
a 28×28 field with their centre of mass at the centre. Doing the same to the user's drawing is why it is
recognised; ``DigitSteps.naive`` (the whole picture squeezed to 28×28) shows what happens without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

from cnnkit.data.images import LoadedImage, Note, reduced_size

if TYPE_CHECKING:
    import torch

INK = 0.1  # a pixel with at least this much ink counts as ink
WORK_SIZE = 400  # large photos are reduced to this longer side before processing
MIN_STROKE = 1.6  # MNIST strokes are ~2 px wide in the 20×20 box; thinner strokes are thickened
SPECK = 0.05  # separate ink blobs holding less than this share of the ink are dust or noise, and dropped
PAPER_WINDOW = 0.3  # the paper's light is estimated over windows this share of the longer side (> any stroke)
PAPER_GRID = 96  # … on a copy this many pixels on its longer side
EMPTY, FULL = 0.0005, 0.6  # ink fractions below / above which there is nothing to recognise
EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)  # a pixel touches the 8 around it


@dataclass(kw_only=True)
class DigitSteps:
    """Every intermediate image (floats in [0, 1], ink bright) and the facts found on the way."""

    gray: np.ndarray  # the input as gray, ink bright (inverted and flattened if it was dark on light), specks dropped
    whole: np.ndarray  # the same with its specks: what the naive view squeezes
    cropped: np.ndarray  # cropped to the ink
    fitted: np.ndarray  # scaled into 20×20, aspect kept
    centered: np.ndarray  # 28×28, centre of mass at the centre: the model's input before normalization
    inverted: bool  # dark ink on light paper was inverted
    ink_fraction: float  # share of the picture that is ink
    notes: list[Note] = field(default_factory=list)

    @cached_property
    def naive(self) -> np.ndarray:
        """The whole input squeezed to 28×28, for comparison (made when shown: predicting a folder never needs it)."""
        return np.clip(_resize(self.whole, (28, 28)), 0, 1)

    @property
    def problem(self) -> str | None:
        """``"empty"`` (no ink), ``"full"`` (ink everywhere) or None when there is a digit to read."""
        if self.ink_fraction > FULL:
            return "full"
        return "empty" if self.ink_fraction < EMPTY or not self.cropped.size else None


def normalize(image28: np.ndarray, mean: float, std: float) -> torch.Tensor:
    """A 28×28 float image in [0, 1] → the model's 1×1×28×28 normalized input (torch is imported here, not with
    the module: ``cnnkit.infer.preparing`` prepares digits before torch is loaded)."""
    import torch

    return ((torch.from_numpy(np.ascontiguousarray(image28, dtype=np.float32)) - mean) / std).view(1, 1, 28, 28)


def _resize(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-averaging resize of a float image (size is width, height)."""
    img = Image.fromarray(arr.astype(np.float32), mode="F")
    shrink = min(size) < min(arr.shape)
    return np.asarray(img.resize(size, Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR))


def _otsu(values: np.ndarray) -> float:
    """The Otsu threshold of values in [0, 1], on 64 equal bins."""
    hist = np.bincount(np.minimum((values * 64).astype(np.intp), 63).ravel(), minlength=64)
    edges = np.arange(65) / 64
    w = np.cumsum(hist)
    m = np.cumsum(hist * edges[:-1])
    total, mean_all = w[-1], m[-1]
    between = (mean_all * w - m * total) ** 2 / np.maximum(w * (total - w), 1)
    return float(edges[int(np.argmax(between))])


def paper_light(gray: np.ndarray) -> np.ndarray:
    """The paper's brightness under uneven light, estimated as if there were no ink on it.

    A grey closing (a maximum then a minimum filter) removes every dark feature narrower than its window;
    the window is ``PAPER_WINDOW`` of the picture's longer side, wider than any pen's stroke, so ink of any
    boldness is taken away while a gradient of light, which is wider still, stays. It runs on a copy
    reduced to ~``PAPER_GRID`` pixels (averaging away the paper's grain) and is smoothed and brought back
    to full size. ``scipy.ndimage.grey_closing`` costs the same per pixel whatever the window (van Herk /
    Gil–Werman running extrema), where a rank filter sorted the whole window at every pixel.
    """
    h, w = gray.shape
    scale = min(1.0, PAPER_GRID / max(h, w))
    small = _resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))))
    k = max(3, int(PAPER_WINDOW * max(small.shape)) | 1)
    # Edges repeated outwards, so that light falling off towards a border is followed up to it.
    padded = np.uint8(np.clip(np.pad(small, k, mode="edge"), 0, 1) * 255)
    closed = Image.fromarray(ndimage.grey_closing(padded, size=k, mode="nearest")).filter(ImageFilter.BoxBlur(k // 2))
    closed = closed.crop((k, k, k + small.shape[1], k + small.shape[0]))
    light = np.asarray(closed.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32) / 255
    return np.maximum(light, 1 / 255)


def ink_image(loaded: LoadedImage, invert: bool | None = None) -> tuple[np.ndarray, bool]:
    """Gray image with ink bright and background ~0, and whether it was inverted.

    ``invert=None`` decides from the border: a light border means dark ink on paper, which is divided by the
    paper's light (``paper_light``) and inverted; a dark one has its level subtracted. A canvas passes ``False``: its
    ink is known to be light on black.
    """
    gray = loaded.gray
    if max(gray.shape) > WORK_SIZE:
        gray = _resize(gray, reduced_size(*gray.shape, WORK_SIZE))
    level = 0.0
    if loaded.alpha_ink:
        invert = False
    elif invert is None:
        level = float(np.median(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])))
        invert = level > 0.5
    if not invert:
        return np.clip((gray - level) / (1 - level), 0, 1), False
    ink = 1.0 - np.clip(gray / paper_light(gray), 0, 1)  # the share of the light each pixel's ink absorbs
    top = ink.max()
    if top > 0:
        floor = 0.5 * _otsu(ink / top) * top
        ink = np.clip((ink - floor) / max(top - floor, 1e-6), 0, 1)
    return ink, True


def blobs(mask: np.ndarray) -> np.ndarray:
    """Labels (1, 2, … in the order their first pixel is met row by row; 0 = background) of the 8-connected
    blobs of a boolean grid."""
    return ndimage.label(mask, structure=EIGHT_CONNECTED)[0]


def drop_specks(ink: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Erase separate blobs holding under ``SPECK`` of the ink (dust, paper grain); return the count erased.

    Blobs are found on a grid of at most 64 cells a side, so that ink a few pixels apart counts as one blob.
    """
    step = -(-max(mask.shape) // 64)
    rows, cols = -(-mask.shape[0] // step), -(-mask.shape[1] // step)
    mass = np.zeros((rows * step, cols * step))
    mass[: mask.shape[0], : mask.shape[1]] = ink * mask
    mass = mass.reshape(rows, step, cols, step).sum((1, 3))
    labels = blobs(mass > 0)
    totals = np.bincount(labels.ravel(), weights=mass.ravel())
    keep = totals >= SPECK * totals[1:].sum()
    keep[0] = False
    keep_mask = np.repeat(np.repeat(keep[labels], step, 0), step, 1)[: mask.shape[0], : mask.shape[1]]
    return ink * keep_mask, int((~keep[1:]).sum())


def _stroke_width(mask: np.ndarray) -> float:
    """≈ 2·area / perimeter of the ink mask, in pixels."""
    inner = mask[1:-1, 1:-1] & mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
    perimeter = mask.sum() - inner.sum()
    return 2.0 * mask.sum() / max(perimeter, 1)


def center_of_mass_placement(fitted: np.ndarray) -> np.ndarray:
    """Place a ≤20×20 patch in 28×28 so that its centre of mass lands on the centre."""
    h, w = fitted.shape
    total = fitted.sum()
    if total <= 0:
        return np.zeros((28, 28))
    cy = (fitted.sum(1) * np.arange(h)).sum() / total
    cx = (fitted.sum(0) * np.arange(w)).sum() / total
    top = int(np.clip(round(13.5 - cy), 0, 28 - h))
    left = int(np.clip(round(13.5 - cx), 0, 28 - w))
    out = np.zeros((28, 28))
    out[top : top + h, left : left + w] = fitted
    return out


def _crop(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _fit(cropped: np.ndarray) -> np.ndarray:
    """Scale into a 20×20 box keeping the aspect ratio; thin strokes are thickened first to survive it."""
    h, w = cropped.shape
    scale = 20.0 / max(h, w)
    stroke = _stroke_width(cropped > INK) * scale
    if stroke < MIN_STROKE and max(h, w) > 20:
        grow = int(np.ceil((MIN_STROKE - stroke) / scale)) | 1
        thick = ndimage.maximum_filter((np.pad(cropped, grow) * 255).astype(np.uint8), grow, mode="constant") / 255
        cropped = _crop(thick, thick > INK)
        h, w = cropped.shape
        scale = 20.0 / max(h, w)
    fitted = np.clip(_resize(cropped, (max(1, round(w * scale)), max(1, round(h * scale)))), 0, 1)
    return fitted / fitted.max() if fitted.max() > 0 else fitted


def prepare_digit(loaded: LoadedImage, invert: bool | None = None) -> DigitSteps:
    """All steps from an opened image to the 28×28 MNIST-style digit (see ``ink_image`` for ``invert``)."""
    whole, inverted = ink_image(loaded, invert)
    notes = list(loaded.notes) + ([("inverted", {})] if inverted else [])
    mask = whole > INK
    ink_fraction = float(mask.mean()) if mask.size else 0.0
    readable = EMPTY <= ink_fraction <= FULL
    ink = whole
    if readable:
        ink, specks = drop_specks(whole, mask)
        mask = ink > INK
        notes += [("specks", {"count": specks})] if specks else []
    if readable and mask.any():
        cropped = _crop(ink, mask)
        fitted = _fit(cropped)
        centered = center_of_mass_placement(fitted)
    else:
        cropped = fitted = np.zeros((0, 0))
        centered = np.zeros((28, 28))
    return DigitSteps(
        gray=ink,
        whole=whole,
        cropped=cropped,
        fitted=fitted,
        centered=centered,
        inverted=inverted,
        ink_fraction=ink_fraction,
        notes=notes,
    )
