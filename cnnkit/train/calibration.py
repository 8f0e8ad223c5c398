"""Probabilities that mean what they say, and what "usual" inputs look like to a model.

A network trained with cross-entropy is overconfident: it says 100% for noise. **Temperature scaling**
(Guo et al., 2017) divides the logits by one number T fitted to minimise the negative log-likelihood on
images the model was not trained on; the ranking of the classes, hence the accuracy, does not change. The
**expected calibration error** (ECE, 15 equal-width confidence bins) says how far the stated confidence is
from the accuracy actually reached. On the same held-back images the penultimate layer's features are
summarised, so that an input unlike the digits the network saw can be told apart (the doubt flag, ``infer/unsure.py``):
its Mahalanobis distance to the centre of the class it is read as, under the classes' shared covariance
(Lee et al., 2018), and that distance relative to its distance from all the digits pooled in one Gaussian
(the *relative* Mahalanobis distance, Ren et al., 2021). A clean drawn 7 is far from MNIST's 7s but no
nearer to any other digit: the relative distance says it is an unusually clean 7, not something else.
Whatever the width P of the layer, the features are first folded into at most ``FEATURES`` numbers by a fixed
count sketch (no stored projection), so that the statistics stay small tensors (~130 KB) and fast to fit.

A model of other pictures (a class folder, a collection of webcam shots, a transfer run) gets the temperature
alone, fitted on the pictures it did not train on when there are at least ``MIN_PICTURES`` of them. These are
few, and a network right on all of them would be fitted to say 100%: the fit aims at targets smoothed as if one
more picture had been answered at random (``label_smoothing = 1 / (n + 1)``, Laplace's rule of succession).
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnkit.data.datasets import Dataset, DatasetInfo, Split, subset, to_tensor
from cnnkit.data.images import LoadedImage
from cnnkit.data.preprocess import prepare_digit
from cnnkit.nets.checkpoint_schema import FEATURES
from cnnkit.nets.checkpoints import DEFAULT_CHECKPOINT, Checkpoint, load_checkpoint, save_checkpoint

HELD_BACK = 2000  # images used for calibration at most
BINS = 15
FAR_QUANTILE = 0.975  # farther from the class they are read as than this share of the held-back images …
RELATIVE_QUANTILE = 0.9  # … and relatively farther than this share of them: unfamiliar
MAX_STREAMED = 2**30  # penultimate values a calibration computes in all (2,000 images × 500,000 features)
MIN_IMAGES = 200  # … but never fewer images than this
MAX_HELD = 2**24  # penultimate features held at once, before folding: 64 MB of float32
SHRINK = 1e-3  # the covariance is shrunk towards a multiple of the identity, so that it can be inverted
MIN_PICTURES = 10  # held-back pictures a picture model's temperature is fitted on, at least …
MAX_PICTURES = 500  # … and at most (a pretrained backbone reads each at 224×224)
PICTURE_BATCH = 32


def folded(feats: torch.Tensor) -> torch.Tensor:
    """N×P features as N×min(P, ``FEATURES``): unchanged when P ≤ ``FEATURES``; otherwise a count sketch, each
    feature added with a sign to one of ``FEATURES`` sums, both fixed by a multiplicative hash of its index
    (Knuth's), so that the same P always folds the same way and nothing needs storing."""
    width = feats.shape[1]
    if width <= FEATURES:
        return feats
    bucket, sign = _fold_of(width)
    return torch.zeros(len(feats), FEATURES).index_add_(1, bucket, feats.float() * sign)


@lru_cache(maxsize=4)
def _fold_of(width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Where ``folded`` adds each of ``width`` features, and with which sign (made once per width)."""
    hashed = torch.arange(width, dtype=torch.int64) * 2654435761 % 2**32
    return (hashed >> 25) % FEATURES, 1 - 2 * ((hashed >> 24) & 1).float()


def _precision(spread: torch.Tensor) -> torch.Tensor:
    """The inverse of the covariance of ``spread`` (N×D), shrunk towards a multiple of the identity with a
    floor, so that dead units (zero variance) keep it invertible."""
    covariance = spread.T @ spread / len(spread)
    covariance += (SHRINK * torch.trace(covariance) / len(covariance) + 1e-6) * torch.eye(len(covariance))
    return torch.linalg.pinv(covariance)


def _squared(diff: torch.Tensor, precision: torch.Tensor) -> torch.Tensor:
    return torch.einsum("nd,de,ne->n", diff, precision, diff).clamp_min(0)


def doubt_statistics(feats: torch.Tensor, labels: torch.Tensor, classes: int) -> dict[str, torch.Tensor]:
    """What usual features look like (``DOUBT_TENSORS``), from the folded features of labelled images: each
    class's centre and the classes' shared precision; the centre and precision of all of them pooled."""
    centres = torch.stack(
        [feats[labels == c].mean(0) if (labels == c).any() else feats.mean(0) for c in range(classes)]
    )
    pooled = feats.mean(0)
    return {
        "centres": centres,
        "precision": _precision(feats - centres[labels]),
        "pooled_centre": pooled,
        "pooled_precision": _precision(feats - pooled),
    }


def distances(feats: torch.Tensor, read_as: torch.Tensor, stats: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """For folded features (N×D) read as the classes ``read_as``: the Mahalanobis distance to that class's
    centre, and the relative distance (its square less the squared distance to the pooled Gaussian)."""
    to_class = _squared(feats - stats["centres"][read_as], stats["precision"])
    return to_class.sqrt(), to_class - _squared(feats - stats["pooled_centre"], stats["pooled_precision"])


def features_and_logits(model: nn.Sequential, x: torch.Tensor, batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """The input of the last layer (penultimate features), folded (``folded``), and the logits for a normalized
    N×C×H×W batch. The images go through in batches small enough that a very wide network's features never hold
    more than ``MAX_HELD`` numbers at once (the widest network the builder accepts reads millions per image)."""
    model.eval()
    feats, logits = [], []
    with torch.inference_mode():
        width = model[:-1](x[:1]).flatten(1).shape[1] if len(x) else 1
        batch = max(1, min(batch, MAX_HELD // width))
        for start in range(0, len(x), batch):
            f = model[:-1](x[start : start + batch])
            feats.append(folded(f.flatten(1).float()))
            logits.append(model[-1](f))
    return torch.cat(feats), torch.cat(logits)


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, smoothing: float = 0.0) -> float:
    """The T > 0 minimising the mean NLL of ``softmax(logits / T)`` (against labels smoothed by ``smoothing``):
    golden-section search on log T."""

    def nll(log_t: float) -> float:
        return float(F.cross_entropy(logits / math.exp(log_t), labels, label_smoothing=smoothing))

    low, high = math.log(0.05), math.log(20.0)
    ratio = (math.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = nll(a), nll(b)
    for _ in range(60):
        if fa < fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = nll(a)
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = nll(b)
    return round(math.exp((low + high) / 2), 4)


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = BINS) -> float:
    """Σ over confidence bins of (share of images in the bin) × |accuracy − mean confidence| in it."""
    probs, labels = np.asarray(probs), np.asarray(labels)
    confidence, predicted = probs.max(1), probs.argmax(1)
    correct = predicted == labels
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            error += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(error)


def held_back(dataset: Dataset, train_subset: int | None, seed: int) -> tuple[Split, str]:
    """Images to calibrate on, and what they are: training images the run did not train on (outside its
    random subset); when it trained on all of them, the first half of the test split, said so."""
    train = dataset.train
    if train_subset is not None and train_subset < len(train):
        idx = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[train_subset:]
        idx = idx[:HELD_BACK]
        return Split(train.images[idx], train.labels[idx]), "training images not trained on"
    half = subset(
        Split(dataset.test.images[: len(dataset.test) // 2], dataset.test.labels[: len(dataset.test) // 2]),
        HELD_BACK,
        seed,
    )
    return half, "the first half of the test split (every training image was trained on)"


def _bounded(images: Split, model: nn.Sequential) -> Split:
    """The first of ``images`` whose penultimate features hold at most ``MAX_STREAMED`` numbers in all (at
    least ``MIN_IMAGES``): all 2,000 held-back images up to 500,000 features a side."""
    last = model[-1]
    width = last.in_features if isinstance(last, nn.Linear) else FEATURES
    keep = max(MIN_IMAGES, MAX_STREAMED // width)
    return images if keep >= len(images) else Split(images.images[:keep], images.labels[:keep])


def calibration_of(ckpt: Checkpoint, images: Split, source: str) -> tuple[float, dict]:
    """The temperature and the card's calibration facts measured on ``images`` (raw uint8 N×28×28 with
    labels): ECE before and after, the feature statistics (``doubt_statistics``, tensors), the distance and
    relative distance beyond which an input is unfamiliar, the ink range of the inputs. A very wide network
    is measured on fewer of them (``MAX_STREAMED``), so that calibrating it stays a small part of an epoch."""
    images = _bounded(images, ckpt.model)
    x = (images.images.unsqueeze(1).float() / 255 - ckpt.mean) / ckpt.std
    _, logits = features_and_logits(ckpt.model, x)
    labels = images.labels
    # What is usual is measured on the images as the page and `predict` see them: through the preprocessing.
    prepared = np.stack([prepare_digit(LoadedImage(im), invert=False).centered for im in images.images.numpy() / 255])
    feats, read_logits = features_and_logits(
        ckpt.model, (torch.from_numpy(prepared).float().unsqueeze(1) - ckpt.mean) / ckpt.std
    )
    temperature = fit_temperature(logits, labels)
    before = expected_calibration_error(logits.softmax(1).numpy(), labels.numpy())
    after = expected_calibration_error((logits / temperature).softmax(1).numpy(), labels.numpy())
    read = read_logits.argmax(1)
    stats = doubt_statistics(feats, labels, logits.shape[1])
    far, relative = distances(feats, read, stats)
    ink = torch.from_numpy(prepared).mean((1, 2))
    return temperature, {
        "on": source,
        "images": len(labels),
        "ece_before": round(before, 5),
        "ece_after": round(after, 5),
        **{name: value.float() for name, value in stats.items()},
        # at least the rounding's step: features that collapse to one point (a network that learned nothing) give 0
        "far": max(round(float(torch.quantile(far, FAR_QUANTILE)), 4), 1e-4),
        "relative": round(float(torch.quantile(relative, RELATIVE_QUANTILE)), 4),
        "ink": [round(float(torch.quantile(ink, q)), 5) for q in (0.001, 0.999)],
    }


def calibrate(ckpt: Checkpoint, images: Split, source: str) -> Checkpoint:
    """``ckpt`` with its temperature and calibration facts measured on ``images``; weights unchanged."""
    temperature, facts = calibration_of(replace(ckpt, temperature=1.0), images, source)
    return replace(ckpt, temperature=temperature, calibration=facts)


SHIPPED_ON = "the official MNIST test images 0–4999 (the model trained on every image of mnist-5k's training set)"


def recalibrate_shipped(data_dir: str | Path, path: str | Path | None = None) -> Checkpoint:
    """Calibrate the shipped model (or the checkpoint at ``path``) afresh on MNIST test images 0–4999 from
    ``data_dir`` and save it in place: the card changes, the weights stay identical."""
    from cnnkit.data.datasets import load_dataset

    path = path or DEFAULT_CHECKPOINT
    test = load_dataset("mnist", data_dir, download=False).test
    tuned = calibrate(load_checkpoint(path), Split(test.images[:5000], test.labels[:5000]), SHIPPED_ON)
    save_checkpoint(tuned, path)
    return tuned


def held_back_pictures(dataset: Dataset, train_subset: int | None, seed: int) -> tuple[Split, str]:
    """Pictures to fit a picture model's temperature on: the training pictures outside its random subset, else
    its test pictures (all of them: a collection's are few), at most ``MAX_PICTURES``."""
    train = dataset.train
    if train_subset is not None and train_subset < len(train):
        idx = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[train_subset:][:MAX_PICTURES]
        return Split(train.images[idx], train.labels[idx]), "training pictures not trained on"
    return subset(dataset.test, MAX_PICTURES, seed), "the test pictures"


@torch.inference_mode()
def picture_logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The logits for a normalized N×C×H×W batch, a few pictures at a time (a backbone enlarges each)."""
    model.eval()
    return torch.cat([model(x[start : start + PICTURE_BATCH]).float() for start in range(0, len(x), PICTURE_BATCH)])


def calibrate_pictures(ckpt: Checkpoint, images: Split, info: DatasetInfo, source: str) -> Checkpoint:
    """``ckpt`` (a picture model) with its temperature fitted on ``images`` and the facts of it (how many, on
    what, the calibration error before and after); weights unchanged."""
    logits, labels = picture_logits(ckpt.model, to_tensor(images.images, info)), images.labels
    temperature = fit_temperature(logits, labels, smoothing=1 / (len(labels) + 1))
    facts = {
        "on": source,
        "images": len(labels),
        "ece_before": round(expected_calibration_error(logits.softmax(1).numpy(), labels.numpy()), 5),
        "ece_after": round(expected_calibration_error((logits / temperature).softmax(1).numpy(), labels.numpy()), 5),
    }
    return replace(ckpt, temperature=temperature, calibration=facts)


def calibrates(info: DatasetInfo) -> bool:
    """Whether models of this data are calibrated: digit-style data (gray 28×28 IDX images, read the way the
    drawing page reads a digit), not the images of a class folder."""
    return info.name != "folder" and (info.channels, info.size) == (1, 28)


def calibrated_checkpoint(ckpt: Checkpoint, dataset: Dataset) -> Checkpoint:
    """A trained model's checkpoint calibrated on images held back from its training run (its card's
    ``train_config`` says which subset and seed it trained on): what the run store keeps of every run. A picture
    model with fewer than ``MIN_PICTURES`` held back stays as it is (its probabilities are the network's own)."""
    config = ckpt.train_config
    subset_size, seed = config.get("train_subset"), config.get("seed", 0)
    if calibrates(dataset.info):
        return calibrate(ckpt, *held_back(dataset, subset_size, seed))
    pictures, source = held_back_pictures(dataset, subset_size, seed)
    if len(pictures) < MIN_PICTURES:
        return ckpt
    return calibrate_pictures(ckpt, pictures, dataset.info, source)
