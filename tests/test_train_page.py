"""AppTest of the training page on a few hundred real MNIST images: a run to the end, a stop, a divergence,
bad input, in English and Russian."""
import re
import time

import pytest
from streamlit.testing.v1 import AppTest

from cnnkit.nets.checkpoints import Checkpoint
from cnnkit.data.datasets import load_dataset, subset
from cnnkit.data.idx import write_idx
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def tiny_mnist(mnist5k, tmp_path_factory):
    """An IDX folder of 400 training and 200 test images drawn at random from real MNIST."""
    folder = tmp_path_factory.mktemp("tiny-mnist")
    data = load_dataset("mnist", mnist5k, download=False)
    for prefix, split in (("train", subset(data.train, 400)), ("t10k", subset(data.test, 200))):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", split.images.numpy())
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", split.labels.numpy().astype("uint8"))
    return folder


@pytest.fixture
def at(tiny_mnist, monkeypatch) -> AppTest:
    """The training page, with the data folder set to the tiny MNIST."""
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(tiny_mnist))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    app.switch_page("pages/train.py").run()
    assert not app.exception
    yield app
    job = app.session_state["train_job"] if "train_job" in app.session_state else None
    if job:
        job.stop()
        job.join(60)


def texts(elements) -> str:
    return " ".join(e.value for e in elements)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def start(at: AppTest, subset: int = 300) -> AppTest:
    at.select_slider(key="train_subset").set_value(subset)
    return at.button(key="train_start").click().run()


def wait_until(at: AppTest, done, timeout: float = 120) -> None:
    """Rerun the page, as the live fragment does, until ``done(snapshot)``."""
    deadline = time.monotonic() + timeout
    while not done(at.session_state["train_job"].snapshot()):
        assert time.monotonic() < deadline, "the run did not get there in time"
        time.sleep(0.2)
    at.run()
    assert not at.exception


def test_before_training_the_model_is_summarized_with_a_time_estimate(at):
    assert metric(at, "Parameters") == "421,642" and metric(at, "Training images") == "400"
    assert metric(at, "Time per epoch (estimate)").endswith(" s")
    at.toggle(key="train_extra_conv").set_value(True).run()
    assert metric(at, "Parameters") != "421,642"  # the experiment changes the model
    layers = at.dataframe[0].value
    assert "conv3" in list(layers["Layer"]) and "128 × 3 × 3" in list(layers["Output shape"])


def test_the_fast_recipe_sets_the_controls_and_trains_with_them(at):
    at.segmented_control(key="train_recipe").set_value("fast").run()
    assert at.number_input(key="train_batch_size").value == 256
    assert at.selectbox(key="train_schedule").value == "onecycle" and at.toggle(key="train_batchnorm").value
    assert metric(at, "Parameters") != "421,642"  # BatchNorm's scales and shifts
    at.number_input(key="train_batch_size").set_value(100).run()  # still the user's to change
    start(at)
    wait_until(at, lambda snap: snap.done)
    config = at.session_state["train_job"].config
    assert (config.batch_size, config.schedule, config.model.batchnorm) == (100, "onecycle", True)
    at.segmented_control(key="train_recipe").set_value("notebook").run()
    assert at.number_input(key="train_epochs").value == 6 and not at.toggle(key="train_batchnorm").value


def test_a_tiny_run_to_completion_shows_results_and_can_be_used_for_drawing(at):
    start(at)
    wait_until(at, lambda snap: snap.done)
    assert "#1 convnet: trained, test accuracy" in texts(at.success)
    accuracy = metric(at, "Test accuracy")
    assert accuracy.endswith("%") and float(accuracy[:-1]) > 30  # 300 real digits: far above chance
    assert {"Curves", "Per class", "Confusion matrix", "Mistakes", "First-layer kernels"} <= {t.label for t in at.tabs}
    assert "mistakes the model was surest about" in texts(at.caption)
    runs = at.dataframe[-1].value
    assert list(runs["Run"]) == ["#1 convnet"] and list(runs["Images"]) == [300]
    next(b for b in at.button if b.label == "Use for drawing").click().run()
    assert isinstance(at.session_state["inference_checkpoint"], Checkpoint)
    assert at.session_state["inference_checkpoint_name"] == "#1 convnet"
    assert any(b.label == "Used for drawing" and b.disabled for b in at.button)


def test_stop_in_the_middle_keeps_what_was_learned_and_runs_survive_a_page_visit(at):
    at.number_input(key="train_epochs").set_value(50)
    start(at)
    wait_until(at, lambda snap: snap.batch >= 2)
    assert at.button(key="train_start").disabled  # one job per session
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/train.py").run()  # the run went on meanwhile, and is still shown
    assert re.fullmatch(r"Epoch \d+/50 · batch \d/5", at.get("progress")[0].proto.text)
    at.button(key="train_stop").click().run()
    wait_until(at, lambda snap: snap.done)
    assert "stopped at epoch" in texts(at.warning)
    assert metric(at, "Test accuracy").endswith("%")
    assert not at.button(key="train_start").disabled


def test_two_sessions_training_at_once_each_get_their_own_run(at, tiny_mnist):
    other = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    other.switch_page("pages/train.py").run()
    other.selectbox(key="train_optimizer").set_value("sgd")
    other.number_input(key="train_lr").set_value(0.05)
    start(at)
    start(other, subset=1000)
    assert other.session_state["train_job"] is not at.session_state["train_job"]
    for app in (at, other):
        wait_until(app, lambda snap: snap.done)
        assert "#1 convnet: trained" in texts(app.success)
    assert list(at.dataframe[-1].value["Images"]) == [300]
    assert list(other.dataframe[-1].value["Images"]) == [400]  # the whole tiny set
    assert list(other.dataframe[-1].value["Optimizer"]) == ["sgd"]


def test_a_diverging_learning_rate_explains_and_offers_a_lower_one(at):
    at.selectbox(key="train_optimizer").set_value("sgd")
    at.number_input(key="train_lr").set_value(1000.0)
    start(at)
    wait_until(at, lambda snap: snap.done)
    error = texts(at.error)
    assert "diverged" in error and "NaN" in error and "Try 100 or lower" in error
    assert "Test accuracy" not in [m.label for m in at.metric]  # a NaN model is not offered
    next(b for b in at.button if b.label == "Train again with learning rate 100").click().run()
    assert at.number_input(key="train_lr").value == 100.0
    assert at.session_state["train_job"].name == "#2 convnet"  # the retry started by itself


def test_bad_input_gives_clear_messages_not_tracebacks(at, tmp_path):
    at.number_input(key="train_batch_size").set_value(5000)
    start(at)
    wait_until(at, lambda snap: snap.done)
    assert "Batch size 5000 is larger than the training set (300 images)" in texts(at.error)
    at.selectbox(key="train_dataset").set_value("local").run()
    at.text_input(key="train_folder").set_value(str(tmp_path / "absent")).run()
    assert "MNIST not found" in texts(at.error) and "Local IDX folder" in texts(at.info)
    assert at.button(key="train_start").disabled and not at.exception


def test_the_page_in_russian(at):
    at.session_state["lang"] = "ru"  # the sidebar's switch (AppTest shows no sidebar after switch_page)
    at.run()
    assert at.title[0].value == "Обучение"
    assert at.button(key="train_start").label == "Обучить"
    assert metric(at, "Параметры") == "421 642"  # Russian thousands separator
