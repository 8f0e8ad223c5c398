"""The pages as a visitor of a classroom server uses them: the right data or a clear error, paths kept
under the allowed roots, no 'Page not found'."""

import gzip

import pytest
from PIL import Image

from cnnkit.i18n import text
from tests.support.drawing import png
from tests.support.pages import draw_page, open_page, texts, upload


def train_page(monkeypatch, data_dir):
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(data_dir))
    return open_page("pages/train.py", "en")


def assert_refused_outside(at, key: str, typed_paths, kind: str, roots) -> None:
    """Each path typed into ``key`` is refused with the one message, which names none of the shared ``roots``."""
    for typed in typed_paths:
        at.text_input(key=key).input(typed).run()
        assert not at.exception
        assert texts(at.error) == (
            f"No {kind} “{typed}” can be opened here: give a {kind} inside the data folders "
            "this server shares (the person who runs it knows which)."
        )
        assert not any(str(r.resolve()) in texts(at.error) for r in roots if not typed.startswith(str(r)))


def test_fashion_mnist_chosen_on_a_folder_of_mnist_is_an_error(tiny_idx, as_official, monkeypatch):
    as_official("mnist", tiny_idx)  # the folder holds the official MNIST test set, by its checksums
    at = train_page(monkeypatch, tiny_idx)
    at.selectbox(key="train_dataset").set_value("fashion-mnist").run()
    assert not at.exception
    assert "holds the official MNIST test set, not Fashion-MNIST" in texts(at.error)
    assert str(tiny_idx) not in texts(at.error)  # the server's data folder is not the visitor's business
    assert at.button(key="train_start").disabled


def test_a_broken_file_in_the_servers_data_folder_is_named_without_its_path(tiny_idx, monkeypatch):
    path = tiny_idx / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-100]))  # truncated
    at = train_page(monkeypatch, tiny_idx)
    assert not at.exception
    assert "The data folder's t10k-images-idx3-ubyte.gz is truncated" in texts(at.error)
    assert str(tiny_idx) not in texts(at.error)


def test_a_local_folder_of_unknown_files_is_custom_data(tiny_idx, monkeypatch):
    at = train_page(monkeypatch, tiny_idx)
    at.selectbox(key="train_dataset").select_index(2).run()  # the local folder
    at.text_input(key="train_folder").input(str(tiny_idx)).run()
    assert not at.exception and not at.error
    captions = texts(at.caption)
    assert f"custom IDX data “{tiny_idx.name}”: 60 training and 20 test images; classes 0, 1, 2" in captions
    assert "MNIST" not in captions


def test_training_page_reads_no_folder_outside_the_roots(tiny_idx, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(tmp_path / "runs"))
    at = train_page(monkeypatch, tiny_idx)
    at.selectbox(key="train_dataset").select_index(2).run()  # the local folder
    assert_refused_outside(
        at, "train_folder", ("/etc", "~root", str(tiny_idx / "absent")), "folder", (tiny_idx, tmp_path / "runs")
    )


def test_drawing_page_reads_no_weights_outside_the_roots(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("CNNKIT_DATA_ROOTS", str(tmp_path / "class"))
    at = draw_page()
    at.segmented_control(key="draw_mode").set_value("photo").run()
    upload(at, "photo.jpg", png(Image.new("RGB", (300, 200), (30, 120, 200)), "JPEG"), key="draw_photo")
    assert_refused_outside(
        at, "draw_imagenet_path", ("/etc/shadow", "/etc/passwd", "~root/.bashrc"), "file", (tmp_path / "class",)
    )


def test_subset_slider_offers_no_more_images_than_the_data_has(tiny_idx, monkeypatch):
    at = train_page(monkeypatch, tiny_idx)  # 60 training images
    slider = at.select_slider(key="train_subset")
    assert slider.options == ["all (60)"] and not at.exception


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_run_store_the_server_cannot_open_is_said_on_the_pages_without_its_path(lang, tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    runs.write_text("a file where the runs folder should be")
    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(runs))
    for path in ("pages/home.py", "pages/train.py", "pages/draw.py"):
        at = open_page(path, lang)  # asserts no exception
        if path != "pages/home.py":
            assert text("runs.page.errors.no_dir", lang) in texts(at.error)
        assert str(runs) not in texts(at.error)
