"""When the answer should not be trusted, and why, in words.

A classifier always names one of its classes, even for noise. An input is flagged *unsure* when:

- ``low_confidence``: the calibrated top probability is below ``LOW_CONFIDENCE``;
- ``unfamiliar``: its penultimate-layer features lie farther from the class it is read as (Mahalanobis
  distance) than 97.5% of the held-back images did, *and* are relatively farther (that distance against the
  distance to all digits pooled) than 90% of them (``cnnkit.train.calibration``): far from every digit
  alike, as a clean drawn 7 is, is an unusually clean digit, not an unfamiliar picture;
- ``scattered``: the ink is in several separate strokes, each holding a real share of it, far apart;
- ``little_ink`` / ``much_ink``: the 28×28 input holds less or more ink than ~all training digits did.
"""

from __future__ import annotations

import numpy as np
import torch

from cnnkit.data.preprocess import INK, blobs
from cnnkit.i18n import DEFAULT_LANGUAGE, text
from cnnkit.nets.checkpoint_schema import DOUBT_TENSORS
from cnnkit.nets.checkpoints import Checkpoint
from cnnkit.train.calibration import distances, folded

LOW_CONFIDENCE = 0.7
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
    return any(_gap(labels, a, b) > GAP for i, a in enumerate(parts) for b in parts[i + 1 :])


def _statistics(ckpt: Checkpoint, width: int) -> dict | None:
    """The card's feature statistics if they fit features of ``width`` (folded) and its classes; else None
    (no statistics, an older card's, or tensors of the wrong shapes)."""
    facts = ckpt.calibration
    stats = {name: facts.get(name) for name in DOUBT_TENSORS}
    if not all(isinstance(t, torch.Tensor) for t in stats.values()) or not {"far", "relative"} <= facts.keys():
        return None
    shapes = [tuple(stats[name].shape) for name in DOUBT_TENSORS]
    return stats if shapes == [(len(ckpt.classes), width), (width, width), (width,), (width, width)] else None


def unfamiliar(ckpt: Checkpoint, feats: torch.Tensor, read_as: torch.Tensor) -> list[bool | None]:
    """For the penultimate features of N inputs (the input of the last layer) read as the classes ``read_as``:
    whether each is both farther from that class and relatively farther than the model's limits; None for each
    when the model's card has no usable statistics."""
    feats = folded(feats.flatten(1).float())
    stats = _statistics(ckpt, feats.shape[1])
    if stats is None:
        return [None] * len(feats)
    far, relative = distances(feats, read_as, stats)
    return ((far > ckpt.calibration["far"]) & (relative > ckpt.calibration["relative"])).tolist()


def confidence_reasons(probs: np.ndarray) -> list[str]:
    """``["low_confidence"]`` when the calibrated top probability of ``probs`` is below ``LOW_CONFIDENCE``; the
    one reason that any input of any model can have (a picture that is no digit has no ink to measure)."""
    return ["low_confidence"] if probs.max() < LOW_CONFIDENCE else []


def reasons(ckpt: Checkpoint, image28: np.ndarray, probs: np.ndarray, odd: bool | None) -> list[str]:
    """The reasons (codes of ``REASONS``) to doubt the answer ``probs`` for the prepared 28×28 input, whose
    features were found unfamiliar or not (``odd``, from ``unfamiliar``); [] when there are none."""
    found = confidence_reasons(probs)
    if odd:
        found.append("unfamiliar")
    if scattered(image28):
        found.append("scattered")
    low, high = ckpt.calibration.get("ink") or INK_RANGE
    ink = float(image28.mean())
    if ink < low:
        found.append("little_ink")
    elif ink > high:
        found.append("much_ink")
    return found


def reason_text(codes: list[str], lang: str = DEFAULT_LANGUAGE) -> str:
    """The reasons as one sentence per reason, in ``lang``; "" when there are none."""
    return " ".join(text(f"answers.reason.{code}", lang) for code in codes)


def confidence_text(probability: float, codes: list[str], lang: str = DEFAULT_LANGUAGE) -> str:
    """The confidence as the page states it. When the answer is doubted for other reasons than a low
    probability, the same sentence says why a high one does not vouch for the picture: it only shares the
    belief between the classes the network knows."""
    sure_looking = bool(codes) and "low_confidence" not in codes
    return text("answers.confidence_unusual" if sure_looking else "answers.confidence", lang, p=probability)
