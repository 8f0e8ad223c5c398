"""The map of every test image: where up to 2,000 test images land in a network's own feature space.

``feature_map`` runs the images through a model, keeping the input of its answering layer (its last Linear, a
transfer network's head: the penultimate layer's features) and its answers, and reduces the features by PCA to at
most ``PCA_DIMS`` coordinates; the first two are the PCA map. t-SNE (scikit-learn) places the same points by their
neighbours: it takes seconds, so ``TsneJobs`` computes it in a background thread. A run keeps its maps in its
folder (``map-best.npz``, and ``map-epoch1.npz`` written by the runner after the first epoch), as NumPy archives
read without unpickling. A new image (a drawing) is placed by the PCA's own transform, or, on the t-SNE map, at
the mean place of its nearest neighbours in feature space (t-SNE has no transform of new points).
"""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cnnkit.data.datasets import Split
from cnnkit.errors import CnnkitError
from cnnkit.files import write_atomic
from cnnkit.nets.transfer import TransferNet

MAP_IMAGES = 2000  # test images on a map, at most
PCA_DIMS = 50  # features kept (by PCA) for t-SNE and the neighbours of a drawing
MAX_KEPT_VALUES = 500_000  # the PCA's components kept in a map file, at most (float16: about 1 MB)
TSNE_STEPS = 500  # t-SNE's iterations (scikit-learn's least is 250)
TSNE_SECONDS_PER_POINT = 0.03  # its time to expect, for the progress bar: 2,000 images ≈ 1 min on a busy 2-core CPU
NEIGHBOURS = 5  # a new image on the t-SNE map: the mean place of this many nearest test images
METHODS = ("pca", "tsne")
BATCH = 500


@dataclass(frozen=True, kw_only=True)
class FeatureMap:
    """The test images of a map: which (``indices`` into the test split), their labels and the model's answers,
    their features reduced by PCA (``reduced``, N×k: the first two columns are the PCA map), the PCA itself
    (``mean``, ``components``) and the t-SNE map once computed."""

    indices: np.ndarray
    labels: np.ndarray
    answers: np.ndarray
    reduced: np.ndarray
    mean: np.ndarray
    components: np.ndarray
    tsne: np.ndarray | None = None
    stamp: str = ""  # the checkpoint file the map was made from (size and time): a newer one makes a new map

    @property
    def wrong(self) -> np.ndarray:
        """Where the model's answer is not the label."""
        return self.answers != self.labels

    def coords(self, method: str) -> np.ndarray:
        """N×2: the PCA map, or the t-SNE map (None until computed)."""
        if method == "pca":
            return self.reduced[:, :2]
        return self.tsne

    def reduce(self, features: np.ndarray) -> np.ndarray:
        """Features of new images (M×D) in this map's PCA coordinates (M×k)."""
        return (np.asarray(features, np.float32) - self.mean) @ self.components.T

    def place(self, features: np.ndarray, method: str) -> np.ndarray:
        """Where new images (their features, M×D) fall on the map ``method``: M×2."""
        reduced = self.reduce(features)
        if method == "pca":
            return reduced[:, :2]
        distances = ((reduced[:, None, :] - self.reduced[None, :, :]) ** 2).sum(-1)
        nearest = np.argsort(distances, axis=1)[:, :NEIGHBOURS]
        return self.tsne[nearest].mean(axis=1)


def answer_layer(model: nn.Module) -> nn.Module:
    """The layer whose input is the penultimate layer's features: a transfer network's head (SqueezeNet's is a
    1×1 convolution), else the model's last Linear layer."""
    if isinstance(model, TransferNet):
        return model.head
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise CnnkitError("embedding.errors.no_linear")
    return linears[-1]


def _features(h: torch.Tensor) -> torch.Tensor:
    """N×D features of a layer's input: maps that a 1×1 convolution reads place by place are averaged over
    the places (SqueezeNet's 512 maps of 13×13 give 512 features); a flat input as it is."""
    return h.mean((2, 3)) if h.ndim == 4 else h.flatten(1)


@torch.no_grad()
def penultimate(model: nn.Module, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """The features (input of the answering layer, ``answer_layer``, N×D) and answers (N) of a normalized
    batch ``x``."""
    kept: list[torch.Tensor] = []
    hook = answer_layer(model).register_forward_pre_hook(lambda _module, args: kept.append(_features(args[0])))
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    features, answers = [], []
    try:
        for start in range(0, len(x), BATCH):
            logits = model(x[start : start + BATCH].to(device))
            features.append(kept.pop().float().cpu())
            answers.append(logits.argmax(1).cpu())
    finally:
        hook.remove()
        model.train(was_training)
    return torch.cat(features).numpy(), torch.cat(answers).numpy()


def normalized(images: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """uint8 images (N×H×W or N×C×H×W) as the model's input."""
    images = images.unsqueeze(1) if images.ndim == 3 else images
    return (images.float() / 255.0 - mean) / std


def map_indices(total: int, limit: int = MAP_IMAGES) -> np.ndarray:
    """The test images of a map: all of them up to ``limit``, else a fixed random ``limit`` of them (the same
    for every epoch of a run)."""
    if total <= limit:
        return np.arange(total)
    return np.sort(np.random.default_rng(0).permutation(total)[:limit])


def pca(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean (D) and principal axes (k×D) of ``features``, k at most ``PCA_DIMS`` and bounded in size."""
    from sklearn.decomposition import PCA

    n, d = features.shape
    k = max(2, min(PCA_DIMS, n, d, MAX_KEPT_VALUES // d))
    fitted = PCA(n_components=k, random_state=0).fit(features)
    return fitted.mean_.astype(np.float32), fitted.components_.astype(np.float32)


def feature_map(model: nn.Module, test: Split, mean: float, std: float, limit: int = MAP_IMAGES) -> FeatureMap:
    """The PCA map of up to ``limit`` test images under ``model`` (its normalization ``mean``, ``std``)."""
    indices = map_indices(len(test), limit)
    if len(indices) < 3:
        raise CnnkitError("embedding.errors.too_few", images=len(indices))
    features, answers = penultimate(model, normalized(test.images[indices], mean, std))
    centre, components = pca(features)
    return FeatureMap(
        indices=indices.astype(np.int32),
        labels=test.labels[indices].numpy().astype(np.int16),
        answers=answers.astype(np.int16),
        reduced=(features - centre) @ components.T,
        mean=centre,
        components=components,
    )


def tsne(fmap: FeatureMap) -> np.ndarray:
    """The t-SNE map of ``fmap``'s points (from their PCA-reduced features): N×2."""
    from sklearn.manifold import TSNE

    perplexity = min(30.0, (len(fmap.reduced) - 1) / 3)
    return TSNE(n_components=2, perplexity=perplexity, init="pca", max_iter=TSNE_STEPS, random_state=0).fit_transform(
        fmap.reduced
    )


# ---------------------------------------------------------------- the map files


def stamp_of(path: Path) -> str:
    """What tells a checkpoint file from a newer one: its size and modification time."""
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def save_map(path: Path, fmap: FeatureMap) -> None:
    """``fmap`` as a NumPy archive (no pickles), written whole or not at all; the features as float16."""
    arrays = {
        "indices": fmap.indices,
        "labels": fmap.labels,
        "answers": fmap.answers,
        "reduced": fmap.reduced.astype(np.float16),
        "mean": fmap.mean,
        "components": fmap.components.astype(np.float16),
        "stamp": np.array(fmap.stamp),
    }
    if fmap.tsne is not None:
        arrays["tsne"] = fmap.tsne.astype(np.float32)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    write_atomic(path, buffer.getvalue())


def load_map(path: Path, stamp: str | None = None) -> FeatureMap | None:
    """The map kept in ``path``; None when there is none, it is damaged, or it was made from another checkpoint
    than ``stamp`` says (None: any)."""
    try:
        with np.load(path, allow_pickle=False) as kept:
            fmap = FeatureMap(
                indices=kept["indices"],
                labels=kept["labels"],
                answers=kept["answers"],
                reduced=kept["reduced"].astype(np.float32),
                mean=kept["mean"].astype(np.float32),
                components=kept["components"].astype(np.float32),
                tsne=kept["tsne"] if "tsne" in kept else None,
                stamp=str(kept["stamp"]),
            )
    except (OSError, ValueError, KeyError):
        return None
    return fmap if stamp is None or fmap.stamp == stamp else None


def map_file(folder: Path, which: str) -> Path:
    """Where a run keeps its map of the checkpoint ``which`` (``best``, ``last``) or of an epoch (``epoch1``)."""
    return folder / f"map-{which}.npz"


def cached_map(path: Path, source: Path, model: nn.Module, test: Split, mean: float, std: float) -> FeatureMap:
    """The map of ``model`` (loaded from the checkpoint file ``source``) kept in ``path``: read from there when it
    was made from this very file, else made and kept."""
    stamp = stamp_of(source)
    fmap = load_map(path, stamp)
    if fmap is None:
        fmap = replace(feature_map(model, test, mean, std), stamp=stamp)
        save_map(path, fmap)
    return fmap


def keep_first_epoch(folder: Path, model: nn.Module, test: Split, mean: float, std: float) -> None:
    """After a run's first epoch: its map, to show beside the last one (the store keeps no epoch's weights)."""
    save_map(map_file(folder, "epoch1"), feature_map(model, test, mean, std))


# ---------------------------------------------------------------- t-SNE in the background


@dataclass(frozen=True, kw_only=True)
class TsneState:
    """A background t-SNE: ``running`` (since ``started``, a ``time.monotonic()``), ``done`` or ``failed``."""

    status: str
    started: float
    points: int

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    @property
    def fraction(self) -> float:
        """How far it has likely come, from its time so far and the time to expect (below 1 until done)."""
        return min(0.95, self.seconds / (self.points * TSNE_SECONDS_PER_POINT))


class TsneJobs:
    """t-SNE maps computed in background threads, one per map file, each written into its file when done."""

    def __init__(self):
        self._lock = threading.Lock()
        self._jobs: dict[Path, tuple[TsneState, threading.Thread]] = {}

    def start(self, path: Path, fmap: FeatureMap) -> TsneState:
        """Compute ``fmap``'s t-SNE into ``path`` unless that is under way; its state."""
        with self._lock:
            if path in self._jobs and self._jobs[path][0].status == "running":
                return self._jobs[path][0]
            state = TsneState(status="running", started=time.monotonic(), points=len(fmap.indices))
            thread = threading.Thread(target=self._compute, args=(path, fmap), daemon=True, name=f"tsne {path}")
            self._jobs[path] = (state, thread)
            thread.start()
            return state

    def _compute(self, path: Path, fmap: FeatureMap) -> None:
        try:
            save_map(path, replace(fmap, tsne=tsne(fmap)))
            status = "done"
        except Exception:  # kept as the job's state: the page says it failed
            status = "failed"
        with self._lock:
            state, thread = self._jobs[path]
            self._jobs[path] = (replace(state, status=status), thread)

    def state(self, path: Path) -> TsneState | None:
        with self._lock:
            job = self._jobs.get(path)
        return job[0] if job else None

    def wait(self, path: Path, timeout: float | None = None) -> TsneState | None:
        """Wait for the job of ``path`` to end (tests, the command line); its state."""
        with self._lock:
            job = self._jobs.get(path)
        if job:
            job[1].join(timeout)
        return self.state(path)


TSNE_JOBS = TsneJobs()  # this process's background t-SNE maps


def with_tsne(path: Path, fmap: FeatureMap) -> tuple[FeatureMap, TsneState | None]:
    """``fmap`` with its t-SNE map when its file holds it; else the map as it is and its background job (started
    here when none runs)."""
    if fmap.tsne is not None:
        return fmap, None
    kept = load_map(path, fmap.stamp)
    if kept is not None and kept.tsne is not None:
        return kept, None
    state = TSNE_JOBS.state(path)
    if state is None or state.status == "done":
        state = TSNE_JOBS.start(path, fmap)
    return fmap, state


def place_input(fmap: FeatureMap, model: nn.Module, x: torch.Tensor, method: str) -> np.ndarray:
    """Where the model's input ``x`` (one normalized image, 1×C×H×W) falls on ``fmap``'s map ``method``: (2,)."""
    return fmap.place(penultimate(model, x)[0], method)[0]


def picked_point(points: list[dict]) -> int | None:
    """The place in the map of the point a click selected (the figure's ``customdata``), if one was."""
    for point in points:
        if isinstance(point.get("customdata"), int | float):
            return int(point["customdata"])
    return None
