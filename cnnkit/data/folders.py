"""Your own images: a folder of class folders (or a zip of one) as a normalized in-memory dataset.

Layouts (torchvision's ``ImageFolder`` convention): ``DIR/<class>/*`` — split here, seeded and stratified — or
``DIR/train/<class>/*`` with ``DIR/test/<class>/*``; a zip of either, read in memory with every path checked
(no ``..``, no absolute paths, no links, no encryption) under a size and a count cap, nothing extracted to disk.
A folder holding a single folder is read as that folder (a zip usually wraps its content so).

Only regular files are read (a pipe or a device in a folder is skipped), each up to a byte limit, and the pixels
that all images declare in their headers are counted before any is decoded, under a cap. Every image is decoded
once by ``cnnkit.data.images`` (bomb limit, EXIF orientation, transparency on white,
16-bit, CMYK, first frame of an animation), turned gray or RGB and fitted into a square (padding with its border
colour, or a centre crop). Mean and std come from the training split. What was found (counts per class, skipped
files, duplicates, warnings) comes back as ``FolderStats``; warnings are ``(code, values)`` a page words.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from PIL import Image, ImageOps

from cnnkit.data.datasets import Dataset, DatasetInfo, Split
from cnnkit.data.images import MAX_FILE_BYTES, MAX_PIXELS, declared_pixels, open_rgb
from cnnkit.errors import CnnkitError
from cnnkit.files import read_limited
from cnnkit.options import setting

SIZES = (28, 32, 48, 64, 96, 128, 224)  # 224: what a pretrained ImageNet network reads
FITS = ("pad", "crop")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
MAX_FILES = 10_000  # images (and other files) in a folder or a zip
MAX_ZIP_BYTES = 200 * 2**20  # a zip, as uploaded and as uncompressed in total
MAX_PIXELS_IN_ALL = 500_000_000  # the images of one dataset, from their headers: about 12 s of decoding
MAX_VALUES = 2**28  # a dataset's values once made (images × channels × side²): 1 GiB as the floats training reads
ENCRYPTED = 0x1  # a zip member's flag bit
FEW_IMAGES = 5  # fewer training images in a class are warned about
IMBALANCE = 5.0  # largest / smallest class above this is warned about
SHOWN_NAMES = 5  # file names listed in a warning
Notice = tuple[str, dict]  # a warning: (code, values)


@dataclass(frozen=True, kw_only=True)
class FolderOptions:
    """How the images become tensors; saved with the model (``TrainConfig.folder``) so predictions match."""

    size: int = setting(
        32, "--image-size", "folder: square side the images are resized to (default 32)", type=int, choices=SIZES
    )
    channels: int | None = setting(
        None, "--channels", "folder: 1 gray, 3 RGB (default: RGB when any image has colour)", type=int, choices=(1, 3)
    )
    # "pad": keep the whole image, padded with its border colour; "crop": centre crop
    fit: str = setting(
        "pad", "--fit", "folder: keep the whole image and pad (default), or crop the centre", choices=FITS
    )
    test_share: float = setting(
        0.2, "--test-share", "folder without test/: share of each class held out for testing (default 0.2)", type=float
    )
    seed: int = 0

    def validate(self) -> None:
        if self.size not in SIZES:
            raise CnnkitError("build.folder.bad_size", size=self.size, sizes=", ".join(map(str, SIZES)))
        if self.channels not in (None, 1, 3):
            raise CnnkitError("build.folder.bad_channels", channels=self.channels)
        if self.fit not in FITS:
            raise CnnkitError("build.folder.bad_fit", fit=self.fit)
        if not 0 < self.test_share < 1:
            raise CnnkitError("build.folder.bad_share", share=self.test_share)


@dataclass(frozen=True)
class Entry:
    """A file of the source: its path parts below the root, and how to read its bytes."""

    parts: tuple[str, ...]
    size: int
    read: Callable[[], bytes]

    @property
    def name(self) -> str:
        return "/".join(self.parts)


@dataclass(kw_only=True)
class FolderStats:
    """What a page shows before training: counts per class, what was left out, and warnings."""

    classes: tuple[str, ...]
    train_counts: tuple[int, ...]
    test_counts: tuple[int, ...]
    has_test_folder: bool
    channels: int
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason code)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (train file, test file) with the same bytes
    warnings: list[Notice] = field(default_factory=list)


# --- where the files come from -----------------------------------------------------------------------------------


def _hidden(part: str) -> bool:
    return part.startswith(".") or part == "__MACOSX"


def folder_entries(root: Path) -> tuple[list[Entry], list[tuple[str, str]]]:
    """The files under ``root`` (links not followed, skipped; so are pipes and devices), hidden files and folders
    left out."""
    entries, skipped = [], []
    for folder, dirs, files in os.walk(root, followlinks=False):
        here = Path(folder)
        for d in list(dirs):
            if _hidden(d) or (here / d).is_symlink():
                dirs.remove(d)
                if not _hidden(d):
                    skipped.append((str((here / d).relative_to(root)), "link"))
        for name in sorted(files):
            path = here / name
            rel = path.relative_to(root).parts
            if _hidden(name):
                continue
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode):
                skipped.append(("/".join(rel), "link" if stat.S_ISLNK(info.st_mode) else "not_file"))
                continue
            if len(entries) >= MAX_FILES:
                raise CnnkitError("build.folder.too_many_files", limit=MAX_FILES)
            entries.append(Entry(rel, info.st_size, lambda p=path: read_limited(p, MAX_FILE_BYTES)))
        dirs.sort()
    return entries, skipped


def zip_entries(data: bytes) -> list[Entry]:
    """The files of a zip, read in memory; a path that could escape, a link or a bomb refuses the whole zip."""
    if len(data) > MAX_ZIP_BYTES:
        raise CnnkitError("build.folder.zip_too_large", mb=MAX_ZIP_BYTES // 2**20)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise CnnkitError("build.folder.bad_zip") from None
    files = [m for m in members if not m.is_dir()]
    if len(files) > MAX_FILES:
        raise CnnkitError("build.folder.too_many_files", limit=MAX_FILES)
    total, entries = 0, []
    for member in files:
        name = member.filename.replace("\\", "/")
        path = PurePosixPath(name)
        if not path.parts or path.is_absolute() or ".." in path.parts or ":" in path.parts[0]:
            raise CnnkitError("build.folder.zip_unsafe_path", path=member.filename[:80])
        if stat.S_ISLNK(member.external_attr >> 16):
            raise CnnkitError("build.folder.zip_link", path=member.filename[:80])
        if member.flag_bits & ENCRYPTED:
            raise CnnkitError("build.folder.zip_encrypted", path=member.filename[:80])
        total += member.file_size
        if total > MAX_ZIP_BYTES:
            raise CnnkitError("build.folder.zip_too_large", mb=MAX_ZIP_BYTES // 2**20)
        if any(_hidden(p) for p in path.parts):
            continue
        entries.append(Entry(path.parts, member.file_size, lambda m=member: _read_member(archive, m)))
    return entries


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    """A member's bytes, never more than its declared size (a lying header is a bomb)."""
    try:
        with archive.open(member) as stream:
            data = stream.read(member.file_size + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError):
        raise CnnkitError("build.folder.bad_zip") from None
    if len(data) > member.file_size:
        raise CnnkitError("build.folder.zip_too_large", mb=MAX_ZIP_BYTES // 2**20)
    return data


# --- which file is which class -------------------------------------------------------------------------------------


def _strip_wrapper(entries: list[Entry]) -> list[Entry]:
    """Drop leading folders that hold everything (``shapes/circle/1.png`` → ``circle/1.png``)."""
    while entries and all(len(e.parts) > 2 for e in entries) and len({e.parts[0] for e in entries}) == 1:
        entries = [Entry(e.parts[1:], e.size, e.read) for e in entries]
    return entries


def _split_layout(entries: list[Entry]) -> tuple[dict[str, list[Entry]], dict[str, list[Entry]], list[str]]:
    """Class → files of the training and test parts (test empty without ``test/``), and loose files."""
    tops = {e.parts[0].lower() for e in entries if len(e.parts) > 2}
    split = {"train", "test"} <= tops
    train: dict[str, list[Entry]] = {}
    test: dict[str, list[Entry]] = {}
    loose = []
    for e in entries:
        if split and e.parts[0].lower() in ("train", "test") and len(e.parts) > 2:
            (train if e.parts[0].lower() == "train" else test).setdefault(e.parts[1], []).append(e)
        elif not split and len(e.parts) > 1:
            train.setdefault(e.parts[0], []).append(e)
        else:
            loose.append(e.name)
    return train, test, loose


# --- decoding ------------------------------------------------------------------------------------------------------


def _border_colour(img: Image.Image) -> tuple[int, ...]:
    arr = np.asarray(img)
    edge = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])
    return tuple(int(v) for v in np.median(edge, axis=0))


def fit_image(img: Image.Image, size: int, fit: str) -> Image.Image:
    """An RGB image fitted into ``size``×``size``: whole and padded with its border colour, or centre-cropped."""
    if fit == "crop":
        return ImageOps.fit(img, (size, size), Image.Resampling.LANCZOS)
    return ImageOps.pad(img, (size, size), Image.Resampling.LANCZOS, color=_border_colour(img))


def image_array(
    data: bytes | str | Path, name: str | None, options: FolderOptions, channels: int | None = None
) -> np.ndarray:
    """One image (bytes or a file) as the network sees it: uint8 C×S×S (C = ``channels``, or 3 when None)."""
    img, _notes = open_rgb(data, name)
    arr = np.asarray(fit_image(img, options.size, options.fit)).transpose(2, 0, 1)
    return to_channels(arr[None], channels or 3)[0]


def to_channels(images: np.ndarray, channels: int) -> np.ndarray:
    """uint8 N×3×S×S → N×1×S×S (luminance, as PIL's "L") when ``channels`` is 1."""
    if channels == 3:
        return images
    weights = np.array([299, 587, 114], dtype=np.uint32).reshape(1, 3, 1, 1)
    return ((images.astype(np.uint32) * weights).sum(1, keepdims=True) // 1000).astype(np.uint8)


def _skip_reason(entry: Entry) -> str | None:
    """Why a file is not decoded (``not_image``, ``too_large``), None when it is."""
    if Path(entry.parts[-1]).suffix.lower() not in IMAGE_SUFFIXES:
        return "not_image"
    return "too_large" if entry.size > MAX_FILE_BYTES else None


def _check_values(count: int, options: FolderOptions) -> None:
    """Refuse ``count`` images that would not fit in memory at ``options.size`` (colour unless set to gray),
    before any is decoded: at 224×224 about 1,800 colour images fit, at 64×64 any folder allowed here."""
    each = (options.channels or 3) * options.size**2
    if count * each > MAX_VALUES:
        raise CnnkitError(
            "build.folder.too_many_values",
            count=count,
            size=options.size,
            gb=4 * count * each / 2**30,
            fit=MAX_VALUES // each,
        )


def _check_pixels(entries: list[Entry]) -> None:
    """Refuse images that hold too many pixels in all, counted from their headers before any is decoded (an
    image beyond ``MAX_PIXELS`` is never decoded: it does not count)."""
    total = 0
    for entry in (e for e in entries if _skip_reason(e) is None):
        try:
            pixels = declared_pixels(entry.read())
        except (CnnkitError, OSError):  # read again, and skipped, when decoding
            continue
        total += pixels if pixels <= MAX_PIXELS else 0
    if total > MAX_PIXELS_IN_ALL:
        raise CnnkitError(
            "build.folder.too_many_pixels",
            millions=round(total / 1e6),
            limit=MAX_PIXELS_IN_ALL // 10**6,
            side=max(SIZES),
        )


def _decode_all(
    files: list[tuple[Entry, int]], options: FolderOptions, skipped: list
) -> tuple[list[np.ndarray], list[int], list[str], list[str]]:
    images, labels, names, digests = [], [], [], []
    for entry, label in files:
        reason = _skip_reason(entry)
        if reason:
            skipped.append((entry.name, reason))
            continue
        try:
            data = entry.read()
            images.append(image_array(data, entry.name, options))
        except CnnkitError as exc:
            if exc.key.startswith("build.folder.zip"):
                raise
            skipped.append((entry.name, "unreadable"))
            continue
        except OSError:
            skipped.append((entry.name, "unreadable"))
            continue
        labels.append(label)
        names.append(entry.name)
        digests.append(hashlib.sha1(data).hexdigest())
    return images, labels, names, digests


def _stratified(labels: np.ndarray, share: float, seed: int) -> np.ndarray:
    """A boolean mask of the test images: ``share`` of each class (at least one where a class has two)."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        n = min(max(int(round(len(idx) * share)), 1), len(idx) - 1)
        test[rng.permutation(idx)[:n]] = True
    return test


# --- the dataset ---------------------------------------------------------------------------------------------------


def load_entries(
    entries: list[Entry], options: FolderOptions, title: str, skipped: list[tuple[str, str]] | None = None
) -> tuple[Dataset, FolderStats]:
    """The dataset of a list of files laid out as class folders."""
    options.validate()
    skipped = list(skipped or [])
    train_files, test_files, loose = _split_layout(_strip_wrapper(entries))
    skipped += [(name, "no_class") for name in loose]
    classes = tuple(sorted(train_files, key=str.casefold))
    if not classes:
        raise CnnkitError("build.folder.no_classes")
    if len(classes) < 2:
        raise CnnkitError("build.folder.one_class", name=classes[0])
    for name in sorted(set(test_files) - set(classes)):
        skipped += [(e.name, "unknown_class") for e in test_files.pop(name)]
    index = {c: i for i, c in enumerate(classes)}
    ordered = [(e, index[c]) for c in classes for e in train_files[c]]
    ordered_test = [(e, index[c]) for c in classes for e in test_files.get(c, [])]
    images = [e for e, _ in ordered + ordered_test]
    _check_values(sum(_skip_reason(e) is None for e in images), options)
    _check_pixels(images)
    train_x, train_y, train_names, train_digests = _decode_all(ordered, options, skipped)
    test_x, test_y, test_names, test_digests = _decode_all(ordered_test, options, skipped)
    empty = [c for c in classes if index[c] not in train_y]
    if empty:
        raise CnnkitError("build.folder.empty_class", name=empty[0], count=len(train_files[empty[0]]))
    x = np.stack(train_x + test_x)
    colour = bool((np.abs(x.astype(np.int16) - x[:, :1]) > 8).any())
    channels = options.channels or (3 if colour else 1)
    x = to_channels(x, channels)
    y = np.array(train_y + test_y)
    names, digests = train_names + test_names, train_digests + test_digests
    has_test = bool(test_y)
    is_test = np.arange(len(y)) >= len(train_y) if has_test else _stratified(y, options.test_share, options.seed)
    if not is_test.any():
        raise CnnkitError("build.folder.too_few")
    mean, std = _mean_std(x[~is_test])
    info = DatasetInfo("folder", title, "", classes, mean, std, channels=channels, size=options.size)
    dataset = Dataset(info, _split(x, y, ~is_test), _split(x, y, is_test), title)
    stats = FolderStats(
        classes=classes,
        train_counts=_counts(y[~is_test], classes),
        test_counts=_counts(y[is_test], classes),
        has_test_folder=has_test,
        channels=channels,
        skipped=skipped,
        duplicates=_duplicates(names, digests, is_test),
    )
    stats.warnings = _warnings(stats)
    return dataset, stats


def load_folder(path: str | Path, options: FolderOptions = FolderOptions()) -> tuple[Dataset, FolderStats]:
    """A folder of class folders as a dataset and its stats (a page checks a typed path first:
    ``cnnkit.paths.allowed_path``)."""
    folder = Path(path)
    if not folder.is_dir():
        raise CnnkitError("build.folder.not_found", path=path)
    entries, skipped = folder_entries(folder)
    return load_entries(entries, options, folder.name, skipped)


def load_zip(data: bytes, name: str, options: FolderOptions = FolderOptions()) -> tuple[Dataset, FolderStats]:
    """An uploaded zip of class folders as a dataset and its stats; nothing is written to disk."""
    return load_entries(zip_entries(data), options, Path(name).stem)


def load_source(path: str | Path, options: FolderOptions) -> tuple[Dataset, FolderStats]:
    """The CLI's ``--data-dir`` of a folder dataset: a folder or a ``.zip`` file."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".zip":
        return load_zip(read_limited(path, MAX_ZIP_BYTES), path.name, options)
    return load_folder(path, options)


def _split(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> Split:
    return Split(torch.from_numpy(np.ascontiguousarray(x[mask])), torch.from_numpy(y[mask].astype(np.int64)))


def _mean_std(x: np.ndarray) -> tuple[float, float]:
    values = x.astype(np.float64) / 255
    return round(float(values.mean()), 4), round(max(float(values.std()), 1e-3), 4)


def _counts(labels: np.ndarray, classes: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(int(n) for n in np.bincount(labels, minlength=len(classes)))


def _duplicates(names: list[str], digests: list[str], is_test: np.ndarray) -> list[tuple[str, str]]:
    train = {}
    for name, digest, test in zip(names, digests, is_test):
        if not test:
            train.setdefault(digest, name)
    return [(train[d], n) for n, d, test in zip(names, digests, is_test) if test and d in train]


def _warnings(stats: FolderStats) -> list[Notice]:
    out: list[Notice] = []
    few = [f"{c} ({n})" for c, n in zip(stats.classes, stats.train_counts) if n < FEW_IMAGES]
    if few:
        out.append(("few_images", {"classes": ", ".join(few), "least": FEW_IMAGES}))
    largest, smallest = max(stats.train_counts), min(stats.train_counts)
    if smallest and largest / smallest > IMBALANCE:
        out.append(
            (
                "imbalance",
                {
                    "largest": stats.classes[stats.train_counts.index(largest)],
                    "most": largest,
                    "smallest": stats.classes[stats.train_counts.index(smallest)],
                    "least": smallest,
                },
            )
        )
    if stats.duplicates:
        out.append(
            (
                "duplicates",
                {"count": len(stats.duplicates), "names": ", ".join(t for _, t in stats.duplicates[:SHOWN_NAMES])},
            )
        )
    if stats.skipped:
        out.append(
            ("skipped", {"count": len(stats.skipped), "names": ", ".join(n for n, _ in stats.skipped[:SHOWN_NAMES])})
        )
    return out


def samples(dataset: Dataset, per_class: int = 8) -> dict[str, list[np.ndarray]]:
    """Training images of each class as the network sees them (S×S gray or S×S×3 RGB, uint8)."""
    out = {}
    for i, name in enumerate(dataset.info.classes):
        chosen = dataset.train.images[dataset.train.labels == i][:per_class].numpy()
        out[name] = [img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0) for img in chosen]
    return out


def prepare_image(
    source: bytes | str | Path, options: FolderOptions, channels: int, mean: float, std: float, name: str | None = None
) -> torch.Tensor:
    """One image for a folder-trained model, exactly as its training images were made: normalized 1×C×S×S."""
    arr = image_array(source, name, options, channels)
    return torch.from_numpy(arr[None].astype(np.float32) / 255).sub_(mean).div_(std)
