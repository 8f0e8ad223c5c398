"""Using a trained model: the shipped default, cached loading, and predictions for images and tensors."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from cnnkit.data.datasets import DATASETS, class_names, recorded_title
from cnnkit.data.folders import FolderOptions, prepare_image
from cnnkit.data.preprocess import DigitSteps, normalize
from cnnkit.errors import CnnkitError
from cnnkit.i18n import DEFAULT_LANGUAGE, text
from cnnkit.infer import preparing
from cnnkit.infer.preparing import read_digit
from cnnkit.infer.unsure import confidence_reasons, reason_text, reasons, unfamiliar
from cnnkit.infer.uploads import SessionCache
from cnnkit.nets.builder import count_parameters
from cnnkit.nets.checkpoints import DEFAULT_CHECKPOINT, Checkpoint, from_bytes, load_checkpoint
from cnnkit.nets.layers import to_compact
from cnnkit.nets.transfer import TransferNet
from cnnkit.train.calibration import MIN_PICTURES, features_and_logits
from cnnkit.train.naming import network_summary


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime: float) -> Checkpoint:
    return load_checkpoint(path)


def load_model(path: str | Path | None = None) -> Checkpoint:
    """Load a checkpoint once per process (the shipped model when ``path`` is None)."""
    path = Path(path) if path else DEFAULT_CHECKPOINT
    if not path.is_file():
        raise CnnkitError(
            "errors.shipped_model_missing" if path == DEFAULT_CHECKPOINT else "errors.checkpoint_missing", path=path
        )
    return _load_cached(str(path), path.stat().st_mtime)


def load_upload(data: bytes, name: str, cache: SessionCache) -> Checkpoint:
    """An uploaded checkpoint (``.pt`` or safetensors, weights only), decoded once per content in ``cache``
    (the browser session's)."""
    return cache.get(data, name, from_bytes)


def model_card(ckpt: Checkpoint, lang: str = DEFAULT_LANGUAGE) -> dict:
    """What to show about a model: data, architecture, size, accuracy, training, fine-tuning."""
    tuned = ckpt.metrics.get("fine_tuned_on")
    layers = ckpt.model_config.layers  # a network of the user's own layers is shown with them
    return {
        "dataset": recorded_title(ckpt.dataset, lang),
        "model": network_summary(ckpt.model_config, lang) + ("" if layers is None else f" `{to_compact(layers)}`"),
        "parameters": count_parameters(ckpt.model),
        "test_accuracy": ckpt.metrics.get("test_accuracy"),
        "epochs": len(ckpt.history) or None,
        "fine_tuned_on": tuned,
        "classes": ", ".join(class_names(ckpt.classes, lang)),
        "calibrated": calibration_note(ckpt, lang),
    }


def calibration_note(ckpt: Checkpoint, lang: str = DEFAULT_LANGUAGE) -> str:
    """Whether the model's probabilities were calibrated (``cnnkit.train.calibration``): on how many held-back
    images, and its calibration error before and after."""
    facts = ckpt.calibration
    if "ece_after" not in facts:
        return text("draw.card.uncalibrated", lang, images=MIN_PICTURES)
    return text(
        "draw.card.calibrated_on",
        lang,
        count=facts["images"],
        before=facts["ece_before"],
        after=facts["ece_after"],
        temperature=ckpt.temperature,
    )


def subject(ckpt: Checkpoint) -> str:
    """What the model's pictures show: ``digit`` (MNIST), ``clothes`` (Fashion-MNIST) or ``picture`` (other data)."""
    info = DATASETS.get(ckpt.dataset)
    return info.subject if info else "picture"


@contextmanager
def one_thread():
    """Run small work (one digit) on the calling thread alone, without torch's intra-op threads (a context
    manager or a decorator).

    On a busy CPU, waiting for a second thread costs ~50 ms where the work itself takes ~1 ms. Torch's thread
    count belongs to each thread (OpenMP), so a training already running in another thread keeps its own;
    only a thread making its very first torch call during these few milliseconds would start with one.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@torch.inference_mode()
def probabilities(ckpt: Checkpoint, x: torch.Tensor) -> np.ndarray:
    """Class probabilities for a normalized N×C×H×W batch, calibrated by the checkpoint's temperature."""
    ckpt.model.eval()
    with one_thread():
        return (ckpt.model(x) / ckpt.temperature).softmax(1).numpy()


@dataclass
class Prediction:
    path: str
    label: str
    probability: float  # calibrated, as every probability here
    probabilities: list[float]
    steps: DigitSteps | None  # the digit preprocessing; None for a model trained on a class folder
    reasons: list[str] = field(default_factory=list)  # why the answer is doubtful (``cnnkit.infer.unsure``)

    @property
    def unsure(self) -> bool:
        return bool(self.reasons)

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "label": self.label,
            "probability": round(self.probability, 6),
            "probabilities": [round(p, 6) for p in self.probabilities],
            "unsure": self.unsure,
            "reason": reason_text(self.reasons),
        }


def takes_digits(ckpt: Checkpoint) -> bool:
    """Whether ``ckpt`` reads 1×28×28 digits prepared as MNIST's (a drawing, the digit steps); otherwise it
    reads its own kind of images (``read_image``)."""
    config = ckpt.model_config
    return ckpt.folder is None and (config.in_channels, config.image_size) == (1, 28)


def read_image(ckpt: Checkpoint, source: bytes | str | Path, name: str | None = None) -> torch.Tensor:
    """An image for a model of other images than digits, made as its training images were (resized, padded
    or cropped, gray or colour): normalized 1×C×S×S."""
    config = ckpt.model_config
    options = ckpt.folder or FolderOptions(size=config.image_size, channels=config.in_channels)
    return prepare_image(source, options, config.in_channels, ckpt.mean, ckpt.std, name)


def seen_picture(ckpt: Checkpoint, x: torch.Tensor) -> np.ndarray:
    """A normalized 1×C×S×S input as a picture: S×S×3 in [0, 1] (gray repeated)."""
    rgb = (x[0] * ckpt.std + ckpt.mean).clamp(0, 1).expand(3, -1, -1)
    return rgb.permute(1, 2, 0).numpy()


def weights_preprocessing(ckpt: Checkpoint) -> dict | None:
    """What a transfer network does to its input before its backbone reads it, as its weights' transforms
    say (``model``, ``resize``, ``crop``: the sides in pixels); None for another network."""
    model = ckpt.model
    if not isinstance(model, TransferNet):
        return None
    return {"model": ckpt.model_config.backbone, "resize": model.prep.resize, "crop": model.prep.crop}


def predict_input(ckpt: Checkpoint, x: torch.Tensor, name: str = "") -> Prediction:
    """The answer for a normalized 1×C×S×S input (no digit steps), doubted when its probability is low."""
    probs = probabilities(ckpt, x)[0]
    best = int(probs.argmax())
    return Prediction(name, ckpt.classes[best], float(probs[best]), probs.tolist(), None, confidence_reasons(probs))


def classify(ckpt: Checkpoint, image28: np.ndarray) -> np.ndarray:
    """Class probabilities for one 28×28 image in [0, 1] (ink bright)."""
    return probabilities(ckpt, normalize(image28, ckpt.mean, ckpt.std))[0]


@torch.inference_mode()
def answers(ckpt: Checkpoint, images28: np.ndarray, names: list[str]) -> list[Prediction]:
    """The answers, with their doubts, for N prepared digits (N×28×28 in [0, 1], ink bright): one pass
    through the network, whose penultimate features the doubt check (``unfamiliar``) reads on the way."""
    x = ((torch.from_numpy(np.asarray(images28, dtype=np.float32)) - ckpt.mean) / ckpt.std).unsqueeze(1)
    feats, logits = features_and_logits(ckpt.model, x)
    probs = (logits / ckpt.temperature).softmax(1).numpy()
    best = probs.argmax(1)
    odd = unfamiliar(ckpt, feats, torch.from_numpy(best))
    return [
        Prediction(name, ckpt.classes[b], float(p[b]), p.tolist(), None, reasons(ckpt, image, p, o))
        for name, image, p, b, o in zip(names, images28, probs, best, odd)
    ]


@one_thread()
def predict_steps(ckpt: Checkpoint, steps: DigitSteps, name: str = "") -> Prediction:
    """The answer for one prepared digit, its steps kept."""
    return replace(answers(ckpt, steps.centered[None], [name])[0], steps=steps)


def predict_image(
    ckpt: Checkpoint, source: bytes | str | Path, name: str | None = None, invert: bool | None = None
) -> Prediction:
    """Open an image file (or bytes), preprocess it as the model's training images were (the drawing page's
    digit steps for MNIST-style models, ``read_image`` for others), and classify it."""
    name = name or ("the image" if isinstance(source, bytes) else str(source))
    if not takes_digits(ckpt):
        return predict_input(ckpt, read_image(ckpt, source, name), name)
    steps = read_digit(source, name, invert)
    if steps.problem:
        raise CnnkitError(f"errors.image_{steps.problem}", name=name)
    return predict_steps(ckpt, steps, name)


BATCH = 256  # prepared digits answered in one pass through the network


def predict_files(ckpt: Checkpoint, paths: list[str]) -> Iterator[Prediction | str]:
    """The answers for many image files, in their order; for a file with no answer, the message saying why.

    A digit model's files are prepared by a process per core (started before torch was imported, for the CLI:
    ``cnnkit.infer.preparing``), and answered ``BATCH`` at a time in one pass through the network each, on this
    thread alone: a folder of 1,000 scans takes seconds, not minutes."""
    if not takes_digits(ckpt):
        preparing.cancel()
        for path in paths:
            try:
                yield predict_image(ckpt, path)
            except CnnkitError as exc:
                yield str(exc)
        return
    files = preparing.take(paths)
    try:
        for start in range(0, len(paths), BATCH):
            batch = list(itertools.islice(files.digits, BATCH))
            digits = [(path, image) for path, image in zip(paths[start:], batch) if not isinstance(image, str)]
            with one_thread():  # the cores are the preparing processes'; torch's second thread would spin on one
                answered = iter(
                    answers(ckpt, np.array([d for _, d in digits]), [p for p, _ in digits]) if digits else []
                )
            yield from (image if isinstance(image, str) else next(answered) for image in batch)
    finally:
        files.stop()
