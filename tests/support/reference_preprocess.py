"""The slow forms that ``cnnkit.data.preprocess`` replaced, kept for the tests that the fast ones agree: the
paper's light by PIL rank filters (a sort of the whole window at every pixel), blobs by a Python flood fill."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from cnnkit.data.preprocess import PAPER_GRID, PAPER_WINDOW, _resize


def paper_light(gray: np.ndarray) -> np.ndarray:
    h, w = gray.shape
    scale = min(1.0, PAPER_GRID / max(h, w))
    small = _resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))))
    k = max(3, int(PAPER_WINDOW * max(small.shape)) | 1)
    img = Image.fromarray(np.uint8(np.clip(np.pad(small, k, mode="edge"), 0, 1) * 255))
    closed = img.filter(ImageFilter.MaxFilter(k)).filter(ImageFilter.MinFilter(k)).filter(ImageFilter.BoxBlur(k // 2))
    closed = closed.crop((k, k, k + small.shape[1], k + small.shape[0]))
    light = np.asarray(closed.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float64) / 255
    return np.maximum(light, 1 / 255)


def blobs(mask: np.ndarray) -> np.ndarray:
    labels = np.zeros(mask.shape, dtype=np.int32)
    h, w = mask.shape
    count = 0
    for start in zip(*np.nonzero(mask)):
        if labels[start]:
            continue
        count += 1
        labels[start] = count
        stack = [start]
        while stack:
            y, x = stack.pop()
            for ny in range(max(y - 1, 0), min(y + 2, h)):
                for nx in range(max(x - 1, 0), min(x + 2, w)):
                    if mask[ny, nx] and not labels[ny, nx]:
                        labels[ny, nx] = count
                        stack.append((ny, nx))
    return labels
