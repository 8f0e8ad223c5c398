"""The collected images (cnnkit.data.collection): classes as safe folders, pictures stored as PNG within a quota,
the messages before training, and the folder the CLI's ``--dataset folder`` reads."""

from __future__ import annotations

import io
import zipfile
from contextlib import contextmanager

import numpy as np
import pytest
from PIL import Image

from cnnkit.data import collection
from cnnkit.data.collection import Collection, clean_name
from cnnkit.data.folders import FolderOptions, load_folder
from cnnkit.errors import CnnkitError
from tests.support.shapes import shape_image

IDENT = "test-dataset-0001"


def picture(kind: str = "circle", seed: int = 0, size=(60, 40), fmt: str = "JPEG") -> bytes:
    out = io.BytesIO()
    shape_image(kind, np.random.default_rng(seed), size, "RGB").save(out, fmt)
    return out.getvalue()


@contextmanager
def refused(key: str):
    """The block must raise the error of message ``key``."""
    with pytest.raises(CnnkitError) as caught:
        yield
    assert caught.value.key == key


@pytest.fixture
def found(tmp_path) -> Collection:
    return Collection(IDENT, tmp_path)


def filled(found: Collection, per_class: int = 3) -> Collection:
    for kind in ("circle", "square"):
        found.add_class(kind)
        for seed in range(per_class):
            found.add_image(kind, picture(kind, seed), f"{kind}{seed}.jpg")
    return found


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("  My   cat ", "My cat"),
        ("../../etc", "etc"),
        ("a/b\\c", "abc"),
        ("кошка", "кошка"),
        ("x" * 100, "x" * collection.MAX_NAME),
    ],
)
def test_class_names_become_safe_folder_names(typed, name):
    assert clean_name(typed) == name


@pytest.mark.parametrize("typed", ["", "   ", "..", "/", "../"])
def test_a_name_with_nothing_left_is_refused(typed):
    with pytest.raises(CnnkitError) as caught:
        clean_name(typed)
    assert caught.value.key == "collect.errors.bad_name"


def test_classes_stay_inside_the_dataset_folder(found, tmp_path):
    found.add_class("../outside")
    assert (tmp_path / IDENT / "outside").is_dir()
    assert not (tmp_path / "outside").exists()
    with refused("collect.errors.no_such_class"):
        found.add_image("../outside", picture(), "a.jpg")
    with refused("collect.errors.no_such_image"):
        found.delete_image("outside", "../../x.png")


def test_names_are_unique_whatever_the_case(found):
    found.add_class("Cat")
    with pytest.raises(CnnkitError) as caught:
        found.add_class("cat")
    assert caught.value.key == "collect.errors.name_taken"
    found.add_class("dog")
    with refused("collect.errors.name_taken"):
        found.rename_class("dog", "CAT")
    assert found.rename_class("dog", "Dog") == "Dog"
    assert found.names() == ["Cat", "Dog"]


def test_an_id_that_is_no_id_is_refused(tmp_path):
    for ident in ("../x", "short", "a" * 41, "a/b/c/d/e/f/g"):
        with refused("collect.errors.bad_id"):
            Collection(ident, tmp_path)


def test_counts_grow_with_each_picture_and_shrink_with_a_delete(found):
    filled(found)
    assert [(c.name, c.count) for c in found.classes()] == [("circle", 3), ("square", 3)]
    first = found.classes()[0].files[0]
    found.delete_image("circle", first.name)
    assert [c.count for c in found.classes()] == [2, 3]
    assert not first.exists()


def test_pictures_are_stored_again_as_png_and_scaled_down(found):
    found.add_class("big")
    stored = found.add_image("big", picture(size=(1200, 800)), "photo.jpg")
    with Image.open(stored) as img:
        assert img.format == "PNG" and max(img.size) == collection.MAX_SIDE
    assert found.add_image("big", picture(size=(1200, 800)), "again.jpg") == stored  # the same picture: one file
    assert found.usage()[0] == 1


def test_a_file_that_is_no_picture_gets_one_message(found):
    found.add_class("cat")
    with pytest.raises(CnnkitError) as caught:
        found.add_image("cat", b"not a picture at all" * 10, "notes.png")
    assert caught.value.key == "collect.errors.not_image"
    assert "notes.png" in caught.value.message("en", "page")
    assert found.usage() == (0, 0)


def test_a_zip_adds_its_pictures_and_says_what_it_refused(found):
    found.add_class("cat")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for seed in range(3):
            archive.writestr(f"shots/{seed}.png", picture(seed=seed, fmt="PNG"))
        archive.writestr("shots/readme.txt", "hello")
    added = found.add_upload("cat", buffer.getvalue(), "shots.zip")
    assert added.added == 3
    assert [(name, exc.key) for name, exc in added.refused] == [("shots/readme.txt", "collect.errors.not_image")]
    assert found.classes()[0].count == 3


def test_the_quota_of_pictures_and_of_bytes(found, monkeypatch):
    found.add_class("cat")
    monkeypatch.setattr(collection, "MAX_IMAGES", 2)
    added = found.add_upload("cat", picture(seed=0), "0.jpg")
    added = found.add_upload("cat", picture(seed=1), "1.jpg")
    assert added.added == 1
    with pytest.raises(CnnkitError) as caught:
        found.add_image("cat", picture(seed=2), "2.jpg")
    assert caught.value.key == "collect.errors.quota_count"
    monkeypatch.setattr(collection, "MAX_IMAGES", 100)
    monkeypatch.setattr(collection, "MAX_BYTES", found.usage()[1] + 10)
    with pytest.raises(CnnkitError) as caught:
        found.add_image("cat", picture(seed=3), "3.jpg")
    assert caught.value.key == "collect.errors.quota_bytes"
    assert found.usage()[0] == 2


@pytest.mark.parametrize(
    ("classes", "key"),
    [
        ({}, "collect.errors.no_classes"),
        ({"cat": 3}, "collect.errors.one_class"),
        ({"cat": 3, "dog": 1}, "collect.errors.few_images"),
    ],
)
def test_what_is_missing_before_training_is_said(found, classes, key):
    for name, count in classes.items():
        found.add_class(name)
        for seed in range(count):
            found.add_image(name, picture(seed=seed), f"{seed}.jpg")
    with pytest.raises(CnnkitError) as caught:
        found.check_ready()
    assert caught.value.key == key
    for lang in ("en", "ru"):
        assert "⟨" not in caught.value.message(lang, "page")


def test_a_reload_finds_the_set_and_the_folder_reader_trains_on_it(found, tmp_path):
    filled(found, per_class=4)
    again = Collection(IDENT, tmp_path)
    assert again.signature() == found.signature()
    dataset, stats = again.load(FolderOptions(size=28), "Your images")
    assert stats.classes == ("circle", "square")
    assert sum(stats.train_counts) + sum(stats.test_counts) == 8
    assert dataset.info.title == "Your images"
    same, _ = load_folder(found.root, FolderOptions(size=28))  # what `--dataset folder --data-dir` reads
    assert same.info.classes == dataset.info.classes and len(same.train) == len(dataset.train)


def test_removing_a_class_deletes_its_pictures(found):
    filled(found)
    found.remove_class("circle")
    assert found.names() == ["square"]
    assert not (found.root / "circle").exists()
