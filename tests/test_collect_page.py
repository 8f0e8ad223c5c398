"""The training page's collection of the user's own pictures (pages/collect.py), in AppTest: classes made and
filled by upload and webcam, counts and thumbnails, a delete, the messages before training, a reload that finds
the set, and training on it."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from cnnkit.data.collection import Collection, datasets_dir
from tests.support.pages import open_page, stored, wait_until
from tests.support.shapes import shape_image


def picture(kind: str, seed: int, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    shape_image(kind, np.random.default_rng(seed), (64, 48), "RGB").save(out, fmt)
    return out.getvalue()


def collecting(lang: str = "en", **query):
    at = open_page("pages/train.py", lang, **query)
    at.selectbox(key="train_dataset").set_value("folder").run()
    at.radio(key="train_images_from").set_value("collect").run()
    assert not at.exception, at.exception
    return at


def add_class(at, name: str):
    at.text_input(key="collect_new").set_value(name)
    return at.button(key="collect_add_class").click().run()


def uploader(at):
    return next(u for u in at.file_uploader if u.key.startswith("collect_upload_"))


def camera(at):
    return next(c for c in at.camera_input if c.key.startswith("collect_camera_"))


def delete_buttons(at) -> list:
    return [b for b in at.button if (b.key or "").startswith("collect_delete_")]


def shown(at) -> str:
    return " ".join(m.value for m in [*at.markdown, *at.caption, *at.info, *at.success, *at.error])


def counts(at) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**") and " · " in m.value]


@pytest.fixture
def collect_at(page_digits, runs_dir, monkeypatch):
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(page_digits))
    return collecting()


def test_two_classes_by_upload_and_webcam_then_a_delete(collect_at):
    at = collect_at
    assert "No classes yet" in shown(at)
    add_class(at, "circle")
    assert "Only one class so far (“circle”)" in shown(at)
    uploader(at).set_value([(f"c{i}.png", picture("circle", i), "image/png") for i in range(3)]).run()
    assert "Added 3 pictures to “circle”." in shown(at)
    add_class(at, "square")
    for seed in range(2):  # two webcam shots, each into the chosen class (the new one)
        camera(at).set_value((f"shot{seed}.jpg", picture("square", seed, "JPEG"), "image/jpeg")).run()
    assert not at.exception, at.exception
    assert counts(at) == ["**circle** · 3 pictures", "**square** · 2 pictures"]
    assert len(delete_buttons(at)) == 5  # a thumbnail per picture, each with its delete button
    assert "5 of 600 pictures" in shown(at)
    pictures = len(at.get("image"))
    at.button(key="collect_delete_0").click().run()
    assert counts(at) == ["**circle** · 2 pictures", "**square** · 2 pictures"]
    assert len(at.get("image")) == pictures - 1 and len(delete_buttons(at)) == 4
    at.button(key="collect_delete_24").click().run()  # the first of the second class
    assert "The class “square” has 1 picture; each class needs at least 2" in shown(at)
    assert at.button(key="train_start").disabled


def test_a_file_that_is_no_picture_gets_one_message(collect_at):
    at = add_class(collect_at, "cat")
    uploader(at).set_value([("notes.png", b"just some text" * 20, "image/png")]).run()
    assert [e.value for e in at.error] == [
        "“notes.png” is not a picture that can be read (PNG, JPEG, BMP, GIF, WebP, TIFF); it was not added."
    ]
    assert counts(at) == ["**cat** · 0 pictures"]


def test_a_reload_finds_the_set_and_trains_on_it(collect_at):
    at = collect_at
    for kind in ("circle", "square"):
        add_class(at, kind)
        uploader(at).set_value([(f"{i}.png", picture(kind, i), "image/png") for i in range(6)]).run()
    ident = at.session_state["collect_id"]
    assert at.query_params["ds"] == ident
    again = open_page("pages/train.py", ds=ident)  # a new session with the URL's ?ds=
    assert counts(again) == ["**circle** · 6 pictures", "**square** · 6 pictures"]
    assert "2 classes" in shown(again)
    assert f"--data-dir runs/datasets/{ident}" in again.code[0].value
    assert str(datasets_dir()) not in " ".join(c.value for c in again.code)
    again.number_input(key="train_batch_size").set_value(4)
    again.button(key="train_start").click().run()
    wait_until(again, lambda snap: snap.done)
    run = stored(again)
    assert run.status == "finished" and run.dataset == "folder", run.reason
    assert run.config["data_dir"] == str(Collection(ident).root.resolve())  # a folder run, read again later


def test_rename_and_remove_a_class(collect_at):
    at = add_class(collect_at, "cat")
    at.text_input(key="collect_rename").set_value("kitten")
    at.button(key="collect_rename_class").click().run()
    assert counts(at) == ["**kitten** · 0 pictures"]
    at.button(key="collect_remove_class").click().run()
    assert counts(at) == []
    assert Collection(at.session_state["collect_id"]).names() == []


def test_the_collection_in_russian(collect_at, page_digits):
    at = collecting("ru")
    add_class(at, "кошка")
    uploader(at).set_value([("0.png", picture("circle", 0), "image/png")]).run()
    assert "В «кошка» добавлен 1 снимок." in shown(at)
    assert "**кошка** · 1 снимок" in counts(at)
    assert Image.open(Collection(at.session_state["collect_id"]).classes()[0].files[0]).format == "PNG"
