"""Your images, collected on the training page: a dataset folder of class folders that grows shot by shot.

A collection lives in ``<runs>/datasets/<id>/<class>/*.png``, the layout that ``--dataset folder`` reads, so the
page's training and the CLI (``--data-dir runs/datasets/<id>``) train on the same files. The id is random and
kept in the page's URL: a reload or another day finds the same images. Class names are cleaned into folder names
(letters, digits, spaces, ``-`` and ``_``; bounded; unique whatever the case); every picture is decoded by the
bounded readers of ``cnnkit.data.images``, scaled down to ``MAX_SIDE`` and stored again as PNG under its content's
digest (the same picture twice is one file), written atomically. A collection holds at most ``MAX_IMAGES``
pictures and ``MAX_BYTES`` bytes.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from cnnkit.data.datasets import Dataset
from cnnkit.data.folders import (
    IMAGE_SUFFIXES,
    MAX_ZIP_BYTES,
    FolderOptions,
    FolderStats,
    folder_entries,
    load_entries,
    zip_entries,
)
from cnnkit.data.images import MAX_FILE_BYTES, open_rgb
from cnnkit.errors import CnnkitError
from cnnkit.files import read_limited, write_atomic
from cnnkit.paths import runs_dir

MAX_IMAGES = 600  # pictures in one collection
MAX_BYTES = 150 * 2**20  # their PNG files together
MAX_CLASSES = 20
MAX_NAME = 40  # characters of a class name
MIN_PER_CLASS = 2  # pictures a class needs before training (one to train on, one to test on)
MAX_SIDE = 512  # stored pictures are scaled down to fit this square (the transfer models see 224×224)
THUMB_SIDE = 96
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,40}")
NAME_DROPPED = re.compile(r"[^\w \-]")  # \w: letters of any alphabet, digits and _


@dataclass(frozen=True, kw_only=True)
class ClassImages:
    """One class: its name (the folder's) and its pictures' files, oldest first."""

    name: str
    files: tuple[Path, ...]

    @property
    def count(self) -> int:
        return len(self.files)


@dataclass(kw_only=True)
class Added:
    """What an upload did: the pictures stored, and the files refused with the reason of each."""

    added: int = 0
    refused: list[tuple[str, CnnkitError]] = field(default_factory=list)


def datasets_dir() -> Path:
    """Where the collections live: ``datasets/`` of the run store's folder."""
    return runs_dir() / "datasets"


def new_id() -> str:
    return secrets.token_urlsafe(12)


def valid_id(ident: str | None) -> bool:
    return bool(ident) and ID_PATTERN.fullmatch(ident) is not None


def clean_name(typed: str) -> str:
    """A class name as a safe folder name: what is not a letter, digit, space, ``-`` or ``_`` dropped, spaces
    collapsed, at most ``MAX_NAME`` characters; an error when nothing is left."""
    name = " ".join(NAME_DROPPED.sub("", typed or "").split())[:MAX_NAME].strip()
    if not name:
        raise CnnkitError("collect.errors.bad_name", limit=MAX_NAME)
    return name


def png_of(data: bytes, name: str) -> bytes:
    """An uploaded picture decoded by the bounded readers, scaled down to ``MAX_SIDE`` and encoded as PNG; an
    error that names the file when it is no image."""
    if len(data) > MAX_FILE_BYTES:
        raise CnnkitError("collect.errors.too_large", name=name, mb=MAX_FILE_BYTES // 2**20)
    try:
        img, _notes = open_rgb(data, name)
    except CnnkitError as exc:
        if exc.key in ("errors.image_unknown_format", "errors.image_damaged"):
            raise CnnkitError("collect.errors.not_image", name=name) from None
        raise
    img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(out, "PNG", optimize=False)
    return out.getvalue()


def thumbnail(path: Path) -> bytes:
    """A small PNG of a stored picture, for the page's grid."""
    img, _notes = open_rgb(read_limited(path, MAX_FILE_BYTES), path.name)
    img.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


class Collection:
    """The dataset folder of one id; created on disk with its first class."""

    def __init__(self, ident: str, base: Path | None = None):
        if not valid_id(ident):
            raise CnnkitError("collect.errors.bad_id")
        self.id = ident
        self.root = (base if base is not None else datasets_dir()) / ident

    def classes(self) -> list[ClassImages]:
        """The classes in the order of their names (as training numbers them), each with its pictures."""
        if not self.root.is_dir():
            return []
        folders = [p for p in self.root.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")]
        return [
            ClassImages(name=folder.name, files=_pictures(folder))
            for folder in sorted(folders, key=lambda p: p.name.casefold())
        ]

    def names(self) -> list[str]:
        return [c.name for c in self.classes()]

    def usage(self) -> tuple[int, int]:
        """Pictures and bytes stored."""
        files = [f for c in self.classes() for f in c.files]
        return len(files), sum(f.stat().st_size for f in files)

    def signature(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """What the collection holds now (pictures are named by their content): a key for cached datasets."""
        return tuple((c.name, tuple(sorted(f.name for f in c.files))) for c in self.classes())

    def _folder(self, name: str) -> Path:
        """The folder of an existing class (its name as listed, never a typed path)."""
        if name not in self.names():
            raise CnnkitError("collect.errors.no_such_class", name=name[:MAX_NAME])
        return self.root / name

    def _check_new(self, name: str, keep: str | None = None) -> str:
        name = clean_name(name)
        taken = {n.casefold() for n in self.names() if n != keep}
        if name.casefold() in taken:
            raise CnnkitError("collect.errors.name_taken", name=name)
        return name

    def add_class(self, typed: str) -> str:
        name = self._check_new(typed)
        if len(self.names()) >= MAX_CLASSES:
            raise CnnkitError("collect.errors.too_many_classes", limit=MAX_CLASSES)
        (self.root / name).mkdir(parents=True, exist_ok=True)
        return name

    def rename_class(self, name: str, typed: str) -> str:
        folder = self._folder(name)
        new = self._check_new(typed, keep=name)
        if new != name:
            folder.rename(self.root / new)
        return new

    def remove_class(self, name: str) -> None:
        shutil.rmtree(self._folder(name))

    def add_image(self, name: str, data: bytes, file_name: str) -> Path:
        """Store one picture in class ``name``, within the quota; its stored file."""
        folder = self._folder(name)
        png = png_of(data, file_name)
        target = folder / f"{hashlib.sha256(png).hexdigest()[:20]}.png"
        if target.exists():
            return target
        count, size = self.usage()
        if count + 1 > MAX_IMAGES:
            raise CnnkitError("collect.errors.quota_count", limit=MAX_IMAGES)
        if size + len(png) > MAX_BYTES:
            raise CnnkitError("collect.errors.quota_bytes", mb=MAX_BYTES // 2**20)
        return write_atomic(target, png)

    def add_upload(self, name: str, data: bytes, file_name: str) -> Added:
        """A picture, or a zip of pictures (all for class ``name``), stored; what was refused and why. Adding
        stops at the quota."""
        if file_name.lower().endswith(".zip"):
            if len(data) > MAX_ZIP_BYTES:
                raise CnnkitError("build.folder.zip_too_large", mb=MAX_ZIP_BYTES // 2**20)
            files = [(e.name, e.read) for e in zip_entries(data)]
        else:
            files = [(file_name, lambda: data)]
        added = Added()
        for member, read in files:
            try:
                if Path(member).suffix.lower() not in IMAGE_SUFFIXES:
                    raise CnnkitError("collect.errors.not_image", name=member)
                self.add_image(name, read(), member)
                added.added += 1
            except CnnkitError as exc:
                added.refused.append((member, exc))
                if exc.key.startswith("collect.errors.quota"):
                    break
        return added

    def delete_image(self, name: str, file_name: str) -> None:
        """Delete one picture of class ``name`` (a file the class lists, never a typed path)."""
        chosen = next((f for f in _pictures(self._folder(name)) if f.name == file_name), None)
        if chosen is None:
            raise CnnkitError("collect.errors.no_such_image")
        chosen.unlink()

    def check_ready(self) -> None:
        """An error that says what is missing before training: two classes, two pictures in each."""
        classes = self.classes()
        if not classes:
            raise CnnkitError("collect.errors.no_classes")
        if len(classes) < 2:
            raise CnnkitError("collect.errors.one_class", name=classes[0].name)
        few = next((c for c in classes if c.count < MIN_PER_CLASS), None)
        if few is not None:
            raise CnnkitError("collect.errors.few_images", name=few.name, count=few.count, least=MIN_PER_CLASS)

    def load(self, options: FolderOptions, title: str) -> tuple[Dataset, FolderStats]:
        """The collection as a dataset, read as ``--dataset folder`` reads its folder; an error when it is not
        ready (``check_ready``)."""
        self.check_ready()
        entries, skipped = folder_entries(self.root)
        return load_entries(entries, options, title, skipped)


def _pictures(folder: Path) -> tuple[Path, ...]:
    """The stored pictures of a class folder, oldest first (regular PNG files; temporary files are hidden)."""
    files = [f for f in folder.iterdir() if f.suffix == ".png" and not f.name.startswith(".") and f.is_file()]
    files = [f for f in files if not f.is_symlink()]
    return tuple(sorted(files, key=lambda f: (f.stat().st_mtime_ns, f.name)))
