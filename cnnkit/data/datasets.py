"""MNIST and Fashion-MNIST as normalized in-memory tensors, from an IDX folder or torchvision."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from cnnkit import lazy
from cnnkit.data.idx import idx_sha256, read_idx
from cnnkit.errors import CnnkitError, Term, unknown_choice
from cnnkit.i18n import DEFAULT_LANGUAGE, lookup, text

IDX_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass(frozen=True)
class DatasetInfo:
    """What a model needs to know about its data: class names and the normalization. A known dataset also
    has the SHA-256 of its official test files' decompressed content (images, labels), by which it is
    recognised; custom IDX data has none and is titled by its folder's name."""

    name: str
    title: str
    torchvision_class: str
    classes: tuple[str, ...]
    mean: float
    std: float
    test_sha256: tuple[str, str] | None = None
    channels: int = 1
    size: int = 28  # images are size×size
    subject: str = "picture"  # what its images show, in the drawing page's words: digit, clothes, picture

    @property
    def custom(self) -> bool:
        """IDX files of no known dataset (a class folder is data of its own kind, not custom IDX data)."""
        return self.name == CUSTOM

    @property
    def recorded(self) -> str:
        """How checkpoints and the run store record it: the name of a known dataset, the label of custom data."""
        return self.label() if self.custom else self.name

    def label(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """How a page or the CLI names the data: ``MNIST``, or ``custom IDX data “my-digits”``."""
        return text("safety.custom_data", lang, name=self.title) if self.custom else self.title


def recorded_title(recorded: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A dataset as a checkpoint or a run recorded it (``DatasetInfo.recorded``), named in ``lang``."""
    if recorded in DATASETS:
        return DATASETS[recorded].title
    before, _, after = text("safety.custom_data", DEFAULT_LANGUAGE, name="\0").partition("\0")
    if recorded.startswith(before) and recorded.endswith(after) and len(recorded) > len(before + after):
        return text("safety.custom_data", lang, name=recorded[len(before) : len(recorded) - len(after)])
    return recorded


def class_names(classes: Sequence[str], lang: str = DEFAULT_LANGUAGE) -> list[str]:
    """Class names as a page shows them in ``lang``: a known dataset's (recorded in English, as checkpoints keep
    them) from ``locales/<lang>/classes.toml``, any other data's as the learner named them."""
    known = next((info for info in DATASETS.values() if tuple(classes) == info.classes), None)
    if known is None:
        return list(classes)
    return [lookup(f"classes.{known.name}.{name}", lang) or name for name in classes]


CUSTOM = "custom"  # the name of data that is neither official test set
DATASETS = {
    "mnist": DatasetInfo(
        "mnist",
        "MNIST",
        "MNIST",
        tuple(str(d) for d in range(10)),
        0.1307,
        0.3081,
        (
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        ),
        subject="digit",
    ),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist",
        "Fashion-MNIST",
        "FashionMNIST",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        0.2860,
        0.3530,
        (
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ),
        subject="clothes",
    ),
}


@dataclass
class Split:
    """One split as raw tensors: uint8 images N×28×28 (or N×C×H×W) and int64 labels N."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class Dataset:
    info: DatasetInfo
    train: Split
    test: Split
    source: str


def dataset_info(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        raise unknown_choice("dataset", name, DATASETS) from None


def default_data_dir() -> Path:
    return Path(os.environ.get("CNNKIT_DATA_DIR", "data"))


def find_idx_file(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    # torchvision and some mirrors spell the extension with a dot: train-images.idx3-ubyte
    for name in (stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def is_idx_folder(folder: Path) -> bool:
    """True when the folder directly holds the four standard IDX files."""
    return all(find_idx_file(folder, stem) for pair in IDX_NAMES.values() for stem in pair)


def read_idx_split(folder: Path, split: str) -> Split:
    images_stem, labels_stem = IDX_NAMES[split]
    images = read_idx(find_idx_file(folder, images_stem))
    labels = read_idx(find_idx_file(folder, labels_stem))
    term = Term(f"errors.split.{split}")
    if images.ndim != 3 or labels.ndim != 1:
        raise CnnkitError("errors.idx_swapped", folder=folder, split=term, images=images.ndim, labels=labels.ndim)
    if not len(images) or not len(labels):
        raise CnnkitError(
            "safety.data_empty_split",
            folder=str(folder),
            split=term,
            file=images_stem if not len(images) else labels_stem,
        )
    if images.shape[1:] != (28, 28):
        raise CnnkitError(
            "errors.idx_image_size", folder=folder, split=term, height=images.shape[1], width=images.shape[2]
        )
    if len(images) != len(labels):
        raise CnnkitError("errors.idx_count", folder=folder, split=term, images=len(images), labels=len(labels))
    return Split(torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64)))


def identify(test: Split) -> DatasetInfo | None:
    """The known dataset whose official test set ``test`` is, by the checksums of its content; else None."""
    digests = (idx_sha256(test.images.numpy()), idx_sha256(test.labels.numpy()))
    return next((info for info in DATASETS.values() if info.test_sha256 == digests), None)


def custom_info(folder: Path, train: Split, test: Split) -> DatasetInfo:
    """Custom IDX data, named after its folder: classes ``0``..``K-1`` from the labels, its own normalization."""
    count = int(max(train.labels.max(), test.labels.max())) + 1
    pixels = train.images.float().div_(255.0)
    std = float(pixels.std())
    return DatasetInfo(
        CUSTOM,
        folder.resolve().name or str(folder),
        "",
        tuple(str(c) for c in range(count)),
        round(float(pixels.mean()), 4),
        round(std, 4) if std > 1e-4 else 1.0,
    )


def read_idx_folder(folder: Path, wanted: DatasetInfo | None) -> Dataset:
    """The four IDX files of ``folder``, recognised by their test set's checksums: the official MNIST or
    Fashion-MNIST test set, else custom IDX data. A folder that holds the other known dataset than ``wanted``
    (None: any) is refused."""
    test = read_idx_split(folder, "test")
    found = identify(test)
    if wanted is not None and found is not None and found != wanted:
        raise CnnkitError("safety.data_other_dataset", folder=str(folder), found=found.title, wanted=wanted.title)
    train = read_idx_split(folder, "train")
    info = found or custom_info(folder, train, test)
    if int(train.labels.max()) >= len(info.classes):
        raise CnnkitError(
            "errors.idx_labels",
            folder=folder,
            split=Term("errors.split.train"),
            top=int(train.labels.max()),
            last=len(info.classes) - 1,
        )
    return Dataset(info, train, test, str(folder))


def _not_found(info: DatasetInfo, looked_in: list[Path], detail: str | None = None) -> CnnkitError:
    """Nothing found, downloads off (``detail`` None) or failed: the files, the places looked in, what to do."""
    return CnnkitError(
        "errors.data_not_found_offline" if detail is None else "errors.data_not_found_download",
        dataset=info.title,
        files=", ".join(f"{s}[.gz]" for pair in IDX_NAMES.values() for s in pair),
        places="; ".join(str(p) for p in looked_in),
        detail=detail,
    )


def load_dataset(
    name: str | None, data_dir: str | Path | None = None, download: bool = True, progress: Callable[[str], None] = print
) -> Dataset:
    """Load a dataset, trying in order: an IDX folder at ``data_dir``, ``data_dir/<name>``,
    torchvision's layout under ``data_dir`` (downloading there if allowed: ``download`` and no
    ``CNNKIT_OFFLINE`` set, as the tests set it). Files are recognised by their content
    (``read_idx_folder``); ``name`` None takes whatever the folder ``data_dir`` holds."""
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    if name is None:
        if is_idx_folder(root):
            return read_idx_folder(root, None)
        if root.is_file():
            raise CnnkitError("errors.data_dir_is_file", root=root)
        raise CnnkitError("safety.data_no_idx", folder=str(root))
    info = dataset_info(name)
    candidates = [root, root / info.name]
    tv_raw = root / info.torchvision_class / "raw"
    refused = None  # a folder holding the other dataset: refused unless a later place holds the right one
    for folder in (*candidates, tv_raw):
        if folder == tv_raw and root.is_file():
            raise CnnkitError("errors.data_dir_is_file", root=root)
        if is_idx_folder(folder):
            try:
                return read_idx_folder(folder, info)
            except CnnkitError as exc:
                if exc.key != "safety.data_other_dataset":
                    raise
                refused = refused or exc
    if refused:
        raise refused
    looked_in = candidates + [tv_raw]
    if not download or os.environ.get("CNNKIT_OFFLINE"):
        raise _not_found(info, looked_in)
    return _download(info, root, looked_in, progress)


def _download(info: DatasetInfo, root: Path, looked_in: list[Path], progress) -> Dataset:
    tvd = lazy.module("torchvision.datasets")

    cls = getattr(tvd, info.torchvision_class)
    progress(f"Downloading {info.title} into {root / info.torchvision_class} (first use only, about 30 MB)…")
    try:
        train = cls(str(root), train=True, download=True)
        test = cls(str(root), train=False, download=True)
    except Exception as exc:  # torchvision raises RuntimeError/URLError/OSError for network problems
        raise _not_found(info, looked_in, str(exc).splitlines()[0]) from None
    progress(f"{info.title} ready: {len(train)} training and {len(test)} test images.")
    return Dataset(
        info,
        Split(train.data, train.targets.long()),
        Split(test.data, test.targets.long()),
        str(root / info.torchvision_class),
    )


def subset(split: Split, size: int | None, seed: int = 0) -> Split:
    """A class-balanced-by-chance random subset of ``size`` items (all of them when None)."""
    if size is None or size >= len(split):
        return split
    if size <= 0:
        raise CnnkitError("errors.subset_positive", size=size)
    idx = torch.randperm(len(split), generator=torch.Generator().manual_seed(seed))[:size]
    return Split(split.images[idx], split.labels[idx])


def subset_choices(sizes: tuple[int | None, ...], total: int | None) -> tuple[int | None, ...]:
    """The subset sizes worth offering for a training set of ``total`` images: those below it, and None (all)."""
    return tuple(n for n in sizes if n is None or total is None or n < total) or (None,)


def subset_size(split: Split, size: int | None) -> int:
    """How many items ``subset(split, size)`` holds, without drawing it."""
    return len(split) if size is None else min(size, len(split))


def to_tensor(images: torch.Tensor, info: DatasetInfo, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 N×H×W (or N×C×H×W) → normalized float N×C×H×W on ``device``, the same for train and test."""
    images = images.unsqueeze(1) if images.ndim == 3 else images
    x = images.to(device=device).float().div_(255.0)
    return x.sub_(info.mean).div_(info.std)


def augment(
    x: torch.Tensor,
    background: float,
    generator: torch.Generator | None = None,
    degrees: float = 10.0,
    shift: float = 2.0,
    scale: tuple[float, float] = (0.9, 1.1),
) -> torch.Tensor:
    """Random small affine transforms (rotation, scale, shift in pixels) of a normalized batch, on its device."""
    n, _, h, _ = x.shape
    rand = torch.rand(n, 4, generator=generator, device=x.device if generator is None else generator.device)
    rand = rand.to(x.device)
    angle = (rand[:, 0] * 2 - 1) * math.radians(degrees)
    s = scale[0] + rand[:, 1] * (scale[1] - scale[0])
    tx, ty = [(r * 2 - 1) * shift * 2 / h for r in (rand[:, 2], rand[:, 3])]
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1).to(x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x - background, grid, align_corners=False, padding_mode="zeros") + background


def batches(
    x: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool = True, generator: torch.Generator | None = None
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Mini-batches from in-memory tensors by index, without a DataLoader."""
    n = len(y)
    order = torch.randperm(n, generator=generator).to(x.device) if shuffle else None
    for start in range(0, n, batch_size):
        if order is None:
            yield x[start : start + batch_size], y[start : start + batch_size]
        else:
            idx = order[start : start + batch_size]
            yield x[idx], y[idx]
