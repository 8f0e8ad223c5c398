"""When the answer should not be trusted, and why, in words.

A classifier always names one of its classes, even for noise. An input is flagged *unsure* when:

- ``low_confidence``: the calibrated top probability is below ``LOW_CONFIDENCE``;
- ``unfamiliar``: its penultimate-layer features lie farther from every class (Mahalanobis distance) than
  97.5% of the held-back images did (``cnnkit.infer.calibration``);
- ``scattered``: the ink is in several separate strokes, each holding a real share of it, far apart;
- ``little_ink`` / ``much_ink``: the 28×28 input holds less or more ink than ~all training digits did.
"""
from __future__ import annotations

import numpy as np
import torch

from cnnkit.i18n import DEFAULT_LANGUAGE, text
from cnnkit.infer.calibration import mahalanobis
from cnnkit.infer.preprocess import INK, DigitSteps, blobs, normalize
from cnnkit.nets.checkpoints import Checkpoint

LOW_CONFIDENCE = 0.6
PART = 0.15  # a separate stroke holding at least this share of the ink counts as a part
GAP = 5  # … and parts farther apart than this many pixels (of 28) are scattered strokes
INK_RANGE = (0.03, 0.30)  # mean ink of a 28×28 input where a model's card has no measured range
REASONS = ("low_confidence", "unfamiliar", "scattered", "little_ink", "much_ink")


def _gap(labels: np.ndarray, a: int, b: int) -> float:
    pa, pb = np.argwhere(labels == a), np.argwhere(labels == b)
    return float(np.sqrt(((pa[:, None, :] - pb[None, :, :]) ** 2).sum(-1)).min())


def scattered(image28: np.ndarray) -> bool:
    """Whether the ink holds two or more parts (each ≥ ``PART`` of it) more than ``GAP`` pixels apart."""
    labels = blobs(image28 > INK)
    mass = np.bincount(labels.ravel(), weights=image28.ravel())[1:]
    parts = [i + 1 for i, m in enumerate(mass) if m >= PART * mass.sum()]
    return any(_gap(labels, a, b) > GAP for i, a in enumerate(parts) for b in parts[i + 1:])


def distance(ckpt: Checkpoint, image28: np.ndarray) -> float | None:
    """The input's Mahalanobis distance to the nearest class in the penultimate layer's features, in units of
    the model's ``far`` limit (above 1: unfamiliar); None when the model's card has no such facts."""
    facts = ckpt.calibration
    if not facts.get("precision"):
        return None
    with torch.inference_mode():
        feats = ckpt.model.eval()[:-1](normalize(image28, ckpt.mean, ckpt.std))
    centres, precision = (torch.tensor(facts[k], dtype=feats.dtype) for k in ("centres", "precision"))
    return float(mahalanobis(feats, centres, precision)[0]) / facts["far"]


def reasons(ckpt: Checkpoint, steps: DigitSteps, probs: np.ndarray) -> list[str]:
    """The reasons (codes of ``REASONS``) to doubt the answer ``probs`` for the prepared input; [] when none."""
    found = []
    best = int(np.argmax(probs))
    if probs[best] < LOW_CONFIDENCE:
        found.append("low_confidence")
    far = distance(ckpt, steps.centered)
    if far is not None and far > 1:
        found.append("unfamiliar")
    if scattered(steps.centered):
        found.append("scattered")
    low, high = ckpt.calibration.get("ink") or INK_RANGE
    ink = float(steps.centered.mean())
    if ink < low:
        found.append("little_ink")
    elif ink > high:
        found.append("much_ink")
    return found


def reason_text(codes: list[str], lang: str = DEFAULT_LANGUAGE) -> str:
    """The reasons as one sentence per reason, in ``lang``; "" when there are none."""
    return " ".join(text(f"answers.reason.{code}", lang) for code in codes)
