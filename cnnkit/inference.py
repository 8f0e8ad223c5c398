"""Using a trained model: the shipped default, cached loading, and predictions for images and tensors."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from .checkpoints import Checkpoint, load_checkpoint
from .errors import CnnkitError
from .images import open_image
from .preprocess import DigitSteps, normalize, prepare_digit

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "models" / "mnist_convnet.pt"


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime: float) -> Checkpoint:
    return load_checkpoint(path)


def load_model(path: str | Path | None = None) -> Checkpoint:
    """Load a checkpoint once per process (the shipped model when ``path`` is None)."""
    path = Path(path) if path else DEFAULT_CHECKPOINT
    if not path.is_file():
        hint = " (the shipped model is missing: reinstall or train one with `python -m cnnkit train --out`)" \
            if path == DEFAULT_CHECKPOINT else ""
        raise CnnkitError(f"Checkpoint {path} does not exist{hint}.")
    return _load_cached(str(path), path.stat().st_mtime)


@torch.inference_mode()
def probabilities(ckpt: Checkpoint, x: torch.Tensor) -> np.ndarray:
    """Class probabilities for a normalized N×1×28×28 batch."""
    ckpt.model.eval()
    return ckpt.model(x).softmax(1).numpy()


@dataclass
class Prediction:
    path: str
    label: str
    probability: float
    probabilities: list[float]
    steps: DigitSteps

    def to_json(self) -> dict:
        return {"path": self.path, "label": self.label, "probability": round(self.probability, 6),
                "probabilities": [round(p, 6) for p in self.probabilities]}


def predict_steps(ckpt: Checkpoint, steps: DigitSteps, name: str = "") -> Prediction:
    probs = probabilities(ckpt, normalize(steps.centered, ckpt.mean, ckpt.std))[0]
    best = int(probs.argmax())
    return Prediction(name, ckpt.classes[best], float(probs[best]), probs.tolist(), steps)


def predict_image(ckpt: Checkpoint, source: bytes | str | Path, name: str | None = None) -> Prediction:
    """Open an image file (or bytes), preprocess it as the drawing page does, and classify it."""
    name = name or str(source)
    steps = prepare_digit(open_image(source, name))
    if steps.empty:
        raise CnnkitError(f"{name}: no ink found (the image is blank or uniform); nothing to recognise.")
    return predict_steps(ckpt, steps, name)
