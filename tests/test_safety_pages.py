"""The pages as a visitor of a classroom server uses them: the right data or a clear error, paths kept
under the allowed roots, no 'Page not found'."""
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


def train_page(monkeypatch, data_dir, lang="en") -> AppTest:
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(data_dir))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.session_state["lang"] = lang
    app.run()
    app.switch_page("pages/train.py").run()
    assert not app.exception
    return app


def test_fashion_mnist_chosen_on_a_folder_of_mnist_is_an_error(mnist5k, monkeypatch):
    at = train_page(monkeypatch, mnist5k)
    at.selectbox(key="train_dataset").set_value("fashion-mnist").run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "holds the official MNIST test set, not Fashion-MNIST" in errors
    assert at.button(key="train_start").disabled


def test_a_local_folder_of_unknown_files_is_custom_data(tiny_idx, monkeypatch):
    at = train_page(monkeypatch, tiny_idx)
    at.selectbox(key="train_dataset").select_index(2).run()  # the local folder
    at.text_input(key="train_folder").input(str(tiny_idx)).run()
    assert not at.exception and not at.error
    captions = " ".join(c.value for c in at.caption)
    assert f"custom IDX data “{tiny_idx.name}”: 60 training and 20 test images; classes 0, 1, 2" in captions
    assert "MNIST" not in captions


def test_training_page_reads_no_folder_outside_the_roots(tiny_idx, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(tmp_path / "runs"))
    at = train_page(monkeypatch, tiny_idx)
    at.selectbox(key="train_dataset").select_index(2).run()  # the local folder
    for typed in ("/etc", "~root", str(tiny_idx / "absent")):
        at.text_input(key="train_folder").input(typed).run()
        assert not at.exception
        assert " ".join(e.value for e in at.error) == (
            f"No folder “{typed}” can be opened here: give a folder inside the folders this server shares "
            f"({tiny_idx.resolve()}, {(tmp_path / 'runs').resolve()}).")


def test_drawing_page_reads_no_weights_outside_the_roots(tmp_path, monkeypatch):
    from PIL import Image
    from tests.test_draw_page import encoded, open_page, upload
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("CNNKIT_DATA_ROOTS", str(tmp_path / "class"))
    at = open_page()
    at.segmented_control(key="draw_mode").set_value("photo").run()
    upload(at, "photo.jpg", encoded(Image.new("RGB", (300, 200), (30, 120, 200)), "JPEG"), key="draw_photo")
    for typed in ("/etc/shadow", "/etc/passwd", "~root/.bashrc"):
        at.text_input(key="draw_imagenet_path").input(typed).run()
        assert not at.exception
        assert " ".join(e.value for e in at.error) == (
            f"No file “{typed}” can be opened here: give a file inside the folders this server shares "
            f"({(tmp_path / 'class').resolve()}).")


def test_subset_slider_offers_no_more_images_than_the_data_has(tiny_idx, monkeypatch):
    at = train_page(monkeypatch, tiny_idx)  # 60 training images
    slider = at.select_slider(key="train_subset")
    assert slider.options == ["all (60)"] and not at.exception
