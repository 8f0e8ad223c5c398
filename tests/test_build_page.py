"""AppTest of the training page's network builder and "Your images" data choice, on a drawn class folder."""

import os
import time

import pytest
from streamlit.testing.v1 import AppTest

from cnnkit.train.store import RunStore
from pages.ui import job_manager
from tests.support import ROOT
from tests.support.shapes import draw_folder


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    root = tmp_path_factory.mktemp("roots")
    draw_folder(root / "shapes", per_class=12)
    draw_folder(root / "shapes", per_class=3, classes=("star",), seed=9)  # a class with too few images
    return root


@pytest.fixture
def at(roots, tmp_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("CNNKIT_DATA_ROOTS", str(roots))
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(tmp_path / "no-mnist"))
    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(tmp_path / "runs"))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    app.switch_page("pages/train.py").run()
    assert not app.exception
    return app


def use_folder(at: AppTest, path) -> AppTest:
    at.selectbox(key="train_dataset").set_value("folder").run()
    at.text_input(key="train_images_path").input(str(path)).run()
    assert not at.exception
    return at


def shapes_column(at: AppTest) -> list[str]:
    table = next(d.value for d in at.dataframe if "Output (C×H×W)" in d.value.columns)
    return list(table["Output (C×H×W)"])


def test_a_class_folder_shows_counts_samples_and_warnings(at, roots):
    use_folder(at, roots / "shapes")
    assert any("4 classes, " in c.value for c in at.caption)
    warnings = " ".join(w.value for w in at.warning)
    assert "star (2)" in warnings  # fewer than 5 training images (one of its 3 is held out)
    assert any(c.value.startswith("Samples of each class") for c in at.caption)
    # a row of samples a class, and the augmentation's preview grid of one of them
    assert [c.key for c in at.get("plotly_chart")] == ["build_counts"] and len(at.get("image")) == 4 + 1
    assert not at.button(key="train_start").disabled


def test_a_folder_outside_the_data_roots_is_refused_without_showing_paths(at, roots, tmp_path):
    draw_folder(tmp_path / "elsewhere", per_class=3)
    use_folder(at, tmp_path / "elsewhere")
    assert "inside the data folders this server shares" in at.error[0].value
    assert str(roots) not in at.error[0].value and str(tmp_path / "no-mnist") not in at.error[0].value
    assert at.button(key="train_start").disabled


def test_the_builder_table_follows_the_layers_and_an_invalid_layer_disables_train(at, roots):
    use_folder(at, roots / "shapes")
    at.segmented_control(key="train_network").set_value("layers").run()
    before = shapes_column(at)
    assert before[0] == "3×32×32" and before[-2] == "4"  # RGB input, 4 classes at the end
    at.selectbox(key="build_add_type").set_value("conv").run()
    at.button(key="build_add").click().run()  # a conv before the last Linear: after Flatten, invalid
    assert "Conv 3×3 after Flatten" in at.error[0].value
    assert at.button(key="train_start").disabled
    table = next(d.value for d in at.dataframe if "Output (C×H×W)" in d.value.columns)
    assert table["Layer"].iloc[-2].startswith("⚠️") and table["#"].iloc[-2] == "10"  # the invalid layer, flagged
    moved = len(before) - 2  # its position, 1-based: move it up above Flatten and the hidden Linear + ReLU
    for _ in range(3):
        at.button(key=[b.key for b in at.button if b.key and b.key.startswith("build_up_")][moved - 1]).click().run()
        moved -= 1
    after = shapes_column(at)
    assert not at.error and not at.button(key="train_start").disabled
    assert len(after) == len(before) + 1 and after[7] == "16×8×8"  # the new conv's output, before Flatten
    assert any(s.value.startswith("The network is valid") for s in at.success)


def test_presets_fill_the_list_and_the_builder_speaks_russian(at, roots):
    use_folder(at, roots / "shapes")
    at.segmented_control(key="train_network").set_value("layers").run()
    at.selectbox(key="build_preset").set_value("lenet5").run()
    at.button(key="build_fill").click().run()
    table = next(d.value for d in at.dataframe if "Output (C×H×W)" in d.value.columns)
    assert list(table["Layer"])[1:4] == ["conv(6,5,padding=2)", "tanh", "avgpool(2)"]
    at.text_input(key="build_typed").input("conv(8,3) relu linear").run()
    at.button(key="build_read").click().run()
    assert at.error[0].value.startswith("Layer 3: Linear after a conv without Flatten")
    # The switch last: AppTest words the widgets' values in English between runs.
    at.session_state["lang"] = "ru"
    at.run()
    table = next(d.value for d in at.dataframe if "Выход (C×H×W)" in d.value.columns)
    assert table["Слой"].iloc[-2].startswith("⚠️")
    assert at.error[0].value.startswith("Слой 3: Linear после свёртки без Flatten")
    assert at.button(key="train_start").disabled


def test_a_built_network_trains_on_the_folder_and_its_results_name_the_classes(at, roots):
    use_folder(at, roots / "shapes")
    at.segmented_control(key="train_network").set_value("layers").run()
    at.text_input(key="build_typed").input("conv(8,3,padding=1) relu maxpool(4) flatten linear").run()
    at.button(key="build_read").click().run()
    at.number_input(key="train_batch_size").set_value(8).run()
    at.button(key="train_start").click().run()
    run_id = int(at.session_state["train_run"])
    deadline = time.monotonic() + 180
    while not job_manager().job(run_id).snapshot().done:
        assert time.monotonic() < deadline, "the run did not end in time"
        time.sleep(0.2)
    at.run()
    assert not at.exception and any("trained, test accuracy" in s.value for s in at.success)
    run = RunStore(os.environ["CNNKIT_RUNS_DIR"]).get(run_id)
    assert run.dataset == "folder" and run.train_config.model.layers is not None
    assert run.train_config.folder.size == 32
    ckpt = RunStore(os.environ["CNNKIT_RUNS_DIR"]).load(run_id)
    assert ckpt.classes == ["circle", "square", "star", "triangle"] and ckpt.model_config.in_channels == 3
    assert any("mistakes the model was surest about" in c.value for c in at.caption)
    next(b for b in at.button if b.label == "Use for drawing").click().run()  # its own images' upload path
    assert at.session_state["draw_model"] == f"run:{run_id}"


@pytest.mark.parametrize(
    "typed, message",
    [
        ("conv(8,3,stride=1e30) flatten linear", "“stride” must be a whole number from 1 to 100,000, got 1e+30"),
        ("[" * 3000 + "]" * 3000, "nests lists or objects more than 3 levels deep"),
    ],
)
def test_a_typed_layer_list_out_of_bounds_or_too_deep_is_refused_not_changed(at, typed, message):
    at.segmented_control(key="train_network").set_value("layers").run()
    before = shapes_column(at)
    at.text_input(key="build_typed").input(typed).run()
    at.button(key="build_read").click().run()
    assert not at.exception and message in " ".join(e.value for e in at.error)
    assert shapes_column(at) == before  # the list it showed is kept, not silently replaced by another


def test_a_pretrained_network_on_small_images_says_it_enlarges_them_until_they_are_its_size(at, roots):
    use_folder(at, roots / "shapes")
    at.segmented_control(key="train_network").set_value("pretrained").run()
    said = "Your images are made 32×32 (Image size, under Data) and this network reads 224×224"
    assert any(c.value.startswith(said) for c in at.caption)
    at.selectbox(key="train_image_size").set_value(224).run()
    assert not at.exception and not any("and this network reads" in c.value for c in at.caption)
    assert any(c.value.startswith("Samples of each class as the network sees them (224×224)") for c in at.caption)
