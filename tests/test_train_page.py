"""AppTest of the training page on a few hundred digits the tests drew: a run to the end, a stop, a divergence,
bad input, in English and Russian."""

import json
import os
import re
import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

from cnnkit.errors import CnnkitError, GpuOutOfMemory
from cnnkit.train.charts import LIVE_POINTS
from cnnkit.train.loop import TrainConfig
from cnnkit.train.store import RunStore, error_reason
from tests.support import ROOT
from tests.support.models import epoch_stats
from tests.support.pages import metric, open_page, run_of, start, stored, texts, wait_until


@pytest.fixture
def at(train_at) -> AppTest:
    """The training page on 400 training and 200 test digits the tests drew, with a run store of its own."""
    return train_at


def page(**query) -> AppTest:
    """The training page in a new browser session (``query``: the URL's parameters, as after a reload)."""
    return open_page("pages/train.py", **query)


def test_before_training_the_model_is_summarized_with_a_time_estimate(at):
    assert metric(at, "Parameters") == "421,642" and metric(at, "Training images") == "400"
    assert metric(at, "Time per epoch (estimate)").endswith(" s")
    at.toggle(key="train_extra_conv").set_value(True).run()
    assert metric(at, "Parameters") != "421,642"  # the experiment changes the model
    layers = at.dataframe[0].value
    assert "conv3" in list(layers["Layer"]) and "128 × 3 × 3" in list(layers["Output shape"])


def test_the_fast_recipe_sets_the_controls_and_trains_with_them(at):
    at.segmented_control(key="train_recipe").set_value("fast").run()
    assert at.number_input(key="train_batch_size").value == 128
    assert at.selectbox(key="train_schedule").value == "onecycle"
    assert at.slider(key="train_label_smoothing").value == 0.1
    assert at.toggle(key="train_whiten").value  # a whitened first layer
    assert at.segmented_control(key="train_network").value == "layers"  # its network fills the layer list
    assert "conv(16,3,padding=1) maxpool(2) batchnorm relu conv(64,3,2,1) batchnorm" in at.code[0].value
    assert at.selectbox(key="build_preset").value == "fast"  # "Start from" names it
    assert "412,426" in texts(at.success)  # the lighter network's parameters
    at.number_input(key="train_batch_size").set_value(100).run()  # still the user's to change
    start(at)
    wait_until(at, lambda snap: snap.done)
    config = stored(at).train_config
    assert (config.batch_size, config.schedule, config.label_smoothing, config.whiten) == (100, "onecycle", 0.1, True)
    assert [layer.type for layer in config.model.layers][:3] == ["conv", "maxpool", "batchnorm"]
    at.segmented_control(key="train_recipe").set_value("notebook").run()
    assert at.number_input(key="train_epochs").value == 6 and not at.toggle(key="train_batchnorm").value
    assert at.segmented_control(key="train_network").value == "switches"
    assert at.slider(key="train_label_smoothing").value == 0.0 and not at.toggle(key="train_whiten").value


def test_a_tiny_run_to_completion_shows_results_and_can_be_used_for_drawing(at):
    start(at)
    wait_until(at, lambda snap: snap.done)
    assert "#1 ConvNet · Adam 0.001: trained, test accuracy" in texts(at.success)
    accuracy = metric(at, "Test accuracy")
    assert accuracy.endswith("%") and float(accuracy[:-1]) > 30  # 300 drawn digits: far above chance
    assert {"Curves", "Per class", "Confusion matrix", "Mistakes", "First-layer kernels"} <= {t.label for t in at.tabs}
    assert "mistakes the model was surest about" in texts(at.caption)
    evaluation = stored(at).evaluation
    wrong = 200 - sum(row[i] for i, row in enumerate(evaluation["confusion"]))
    RunStore(os.environ["CNNKIT_RUNS_DIR"]).update(run_of(at), evaluation={**evaluation, "misclassified": [0]})
    at.run()  # the store keeps only the surest mistakes; the count is of them all
    assert f"({wrong} of 200 test images are misclassified)" in texts(at.caption) and wrong > 1
    runs = at.dataframe[-1].value
    assert list(runs["Run"]) == ["#1 ConvNet · Adam 0.001"] and list(runs["Status"]) == ["finished"]
    assert list(runs["Epochs"]) == ["1/1"] and list(runs["Started from"]) == ["this app"]
    next(b for b in at.button if b.label == "Use for drawing").click().run()
    assert at.session_state["draw_model"] == "run:1"
    assert any(b.label == "Used for drawing" and b.disabled for b in at.button)
    at.switch_page("pages/draw.py").run()  # the drawing page answers with that run's model
    assert not at.exception and at.selectbox(key="draw_model").value == "run:1"
    assert "Run 1: #1 ConvNet · Adam 0.001" in at.selectbox(key="draw_model").format_func("run:1")


def test_stop_in_the_middle_keeps_what_was_learned_and_runs_survive_a_page_visit(at):
    at.number_input(key="train_epochs").set_value(50)
    start(at)
    train = at.button(key="train_start")  # in the very run that started it: one job per session
    assert (
        train.disabled
        and train.help == "Your run is queued or training: stop it or wait for it to end to start another."
    )
    wait_until(at, lambda snap: snap.batch >= 2)
    assert at.button(key="train_start").disabled
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/train.py").run()  # the run went on meanwhile, and is still shown
    assert re.fullmatch(r"#1 ConvNet · Adam 0\.001 · Epoch \d+/50 · batch \d/5", at.get("progress")[0].proto.text)
    at.button(key="train_stop").click().run()
    wait_until(at, lambda snap: snap.done)
    assert "stopped after" in texts(at.warning) and stored(at).status == "stopped"
    assert "--resume" not in texts(at.warning)  # a page names no command-line flag
    assert metric(at, "Test accuracy").endswith("%")
    assert not at.button(key="train_start").disabled


def test_live_charts_follow_their_toggle_and_every_recipe_turns_them_on(at):
    def live_charts():
        charts = [c.proto for c in at.get("plotly_chart") if "-train_" in c.proto.id]  # not the builder's diagram
        return charts, texts(at.caption)

    at.segmented_control(key="train_recipe").set_value("fast").run()
    assert at.toggle(key="train_live_charts").value
    at.number_input(key="train_epochs").set_value(50)
    at.number_input(key="train_batch_size").set_value(8)  # 50 batches an epoch
    start(at)
    wait_until(at, lambda snap: len(snap.epochs) >= 1)
    charts, captions = live_charts()
    assert len(charts) == 3 and "Live charts are off" not in captions  # batch loss, loss and accuracy
    pictures = [caption for image in at.get("image") for caption in image.captions]  # the newest snapshot, beside
    assert any(c.startswith("First-layer kernels") for c in pictures) and any("feature maps" in c for c in pictures)
    batch_loss = json.loads(next(c for c in charts if c.id.endswith("train_batch_chart")).spec)["data"]
    reached = 1 + max(x for curve in batch_loss for x in curve["x"])  # epochs begun, of 50
    assert all(0 < len(curve["x"]) <= reached * LIVE_POINTS / 50 + 1 for curve in batch_loss)  # binned, not 50+
    at.toggle(key="train_live_charts").set_value(False).run()
    charts, captions = live_charts()
    assert not charts and "Live charts are off: the charts appear when the run ends." in captions
    assert not any("live_snap" in c.proto.id for c in at.get("plotly_chart"))
    assert not any("feature maps" in caption for image in at.get("image") for caption in image.captions)
    assert at.get("progress")  # the progress bar still moves
    at.button(key="train_stop").click().run()
    wait_until(at, lambda snap: snap.done)
    assert live_charts()[0]  # the results' charts, once it ended


def test_two_sessions_queue_for_the_one_cpu_and_each_get_their_own_run(at, page_digits):
    other = page()
    other.selectbox(key="train_optimizer").set_value("sgd")
    other.number_input(key="train_lr").set_value(0.05)
    at.number_input(key="train_epochs").set_value(3)
    start(at)
    start(other, subset=1000)
    assert other.session_state["train_run"] != at.session_state["train_run"]
    assert "waits in the queue: place 1" in texts(other.info)  # one job at a time on a CPU-only machine
    for app, name in ((at, "#1 ConvNet · Adam 0.001"), (other, "#2 ConvNet · SGD 0.05")):
        wait_until(app, lambda snap: snap.done)
        assert f"{name}: trained" in texts(app.success)
    assert (stored(at).train_images, stored(other).train_images) == (300, 400)  # the whole tiny set
    assert stored(other).train_config.optimizer == "sgd"
    runs = other.dataframe[-1].value  # everyone's finished runs, newest first
    assert list(runs["Run"]) == ["#2 ConvNet · SGD 0.05", "#1 ConvNet · Adam 0.001"]


def test_a_reload_reattaches_to_the_running_job_with_progress_and_stop(at):
    at.number_input(key="train_epochs").set_value(50)
    start(at)
    wait_until(at, lambda snap: snap.batch >= 2)
    reloaded = page(**dict(at.query_params))  # a reload: a new session with the same URL
    assert reloaded.session_state["owner"] == at.session_state["owner"]
    assert reloaded.get("progress") and reloaded.button(key="train_start").disabled
    stranger = page(run=str(at.session_state["train_run"]))  # the run's URL without its owner's token
    assert not stranger.get("progress") and not stranger.button(key="train_start").disabled
    reloaded.button(key="train_stop").click().run()
    wait_until(reloaded, lambda snap: snap.done)
    assert stored(at).status == "stopped" and "stopped after" in texts(reloaded.warning)


def test_a_cli_run_is_listed_on_the_page_and_can_be_compared(at, page_digits, runs_dir):
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "cnnkit",
            "train",
            "--data-dir",
            str(page_digits),
            "--subset",
            "200",
            "--device",
            "cpu",
            "--runs-dir",
            str(runs_dir),
            "--lr",
            "0.003",
            "--name",
            "from the shell",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert cli.returncode == 0, cli.stderr
    start(at)
    wait_until(at, lambda snap: snap.done)
    at.run()
    runs = at.dataframe[-1].value
    assert list(runs["Run"]) == ["#2 ConvNet · Adam 0.001", "from the shell"]
    assert list(runs["Started from"]) == ["this app", "command line"]
    at.session_state["runs_table"] = {"selection": {"rows": [0, 1], "columns": [], "cells": []}}  # both ticked
    at.run()
    compared = at.dataframe[-1].value
    assert list(compared["Run"]) == ["#2 ConvNet · Adam 0.001", "from the shell"]
    columns = list(compared.columns)
    assert columns.index("Learning rate") < columns.index("Test accuracy")  # what differs comes first
    assert list(compared["Learning rate"]) == ["0.001", "0.003"]
    assert "Batch size" not in compared.columns


def test_a_diverging_learning_rate_explains_and_offers_a_lower_one(at):
    at.selectbox(key="train_optimizer").set_value("sgd")
    at.number_input(key="train_lr").set_value(1000.0)
    start(at)
    wait_until(at, lambda snap: snap.done)
    error = texts(at.error)
    assert "Training diverged at epoch 1" in error and "Try 100 or lower" in error
    assert "Test accuracy" not in [m.label for m in at.metric]  # a NaN model is not offered
    next(b for b in at.button if b.label == "Train again with learning rate 100").click().run()
    assert at.number_input(key="train_lr").value == 100.0
    assert (
        stored(at).name == "#2 ConvNet · SGD 100" and stored(at).train_config.lr == 100.0
    )  # the retry started by itself


def test_bad_input_gives_clear_messages_not_tracebacks(at, runs_dir, tmp_path):
    at.number_input(key="train_batch_size").set_value(5000)
    start(at)
    assert "Batch size 5000 is larger than the training set (300 images)" in texts(at.error)
    assert RunStore(runs_dir).list() == []  # refused at once: no failed run is left behind
    at.selectbox(key="train_dataset").set_value("local").run()
    at.text_input(key="train_folder").set_value(str(tmp_path / "absent")).run()
    assert "can be opened here" in texts(at.error) and "Local IDX folder" in texts(at.info)
    assert at.button(key="train_start").disabled and not at.exception


def test_the_page_in_russian(at):
    at.session_state["lang"] = "ru"  # the sidebar's switch (AppTest shows no sidebar after switch_page)
    at.run()
    assert at.title[0].value == "Обучение"
    assert at.button(key="train_start").label == "Обучить"
    assert metric(at, "Параметры") == "421\u00a0642"  # Russian thousands separator: no-break


def test_a_run_ticked_on_the_runs_tab_while_the_training_tab_shows_it(at):
    start(at)
    wait_until(at, lambda snap: snap.done)
    at.run()
    at.session_state["runs_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception  # ticking one run drew its buttons and charts twice under one key
    keys = [b.key for b in at.get("download_button")]
    assert {"train_dl_1", "picked_dl_1"} <= set(keys) and len(keys) == len(set(keys))  # each tab has its own


def test_a_run_out_of_gpu_memory_offers_the_cpu_by_its_failure_kind_not_its_class_name(
    runs_dir, page_digits, monkeypatch
):
    class CudaOutOfMemory(GpuOutOfMemory):  # a more specific error keeps the kind of its family
        pass

    monkeypatch.setenv("CNNKIT_DATA_DIR", str(page_digits))
    store = RunStore(runs_dir)
    offers = {}
    for error in (CudaOutOfMemory("errors.gpu_out_of_memory", batch_size=32), CnnkitError("errors.too_few_batches")):
        run_id = store.create(TrainConfig())
        store.finish(run_id, "failed", reason=error_reason(error))
        shown = page(run=str(run_id))
        offers[type(error).__name__] = [b.label for b in shown.button if b.label == "Train on the CPU instead"]
    assert offers == {"CudaOutOfMemory": ["Train on the CPU instead"], "CnnkitError": []}


@pytest.mark.parametrize("value", ["99999999999999999999999", "²"])
def test_a_link_with_a_run_id_too_large_or_in_other_digits_says_so(runs_dir, value):
    shown = page(run=value)
    assert not shown.exception and f"“{value}” is not a run id" in texts(shown.error)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_another_sessions_queued_or_training_run_says_what_it_is_doing(runs_dir, page_digits, monkeypatch, lang):
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(page_digits))
    store = RunStore(runs_dir)
    training = store.create(TrainConfig(epochs=3), owner="another session", source="page", status="running")
    store.add_epoch(training, epoch_stats(), 1 / 3)
    queued = store.create(TrainConfig(epochs=2), owner="another session", source="page", status="queued")
    expected = {
        "en": (f"#{training} ConvNet · Adam 0.001 is training: 1 of 3 epochs done", "waits in the queue to be trained"),
        "ru": (f"#{training} ConvNet · Adam 0,001 обучается: готово эпох — 1 из 3", "ждёт своей очереди на обучение"),
    }[lang]
    for run_id, said in zip((training, queued), expected):
        shown = open_page("pages/train.py", lang, run=str(run_id))
        assert said in texts(shown.info) and not shown.error  # not "failed:" with no reason


def test_a_run_stopped_before_its_first_epoch_does_not_offer_to_continue_it(runs_dir, page_digits, monkeypatch):
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(page_digits))
    store = RunStore(runs_dir)
    run_id = store.create(TrainConfig(epochs=3))
    store.finish(run_id, "stopped", reason={"key": "runs.reasons.stopped", "values": {"epochs": 0}})
    warning = texts(page(run=str(run_id)).warning)
    assert "stopped before its first epoch ended" in warning and "--resume" not in warning


def test_the_batch_control_starts_at_a_small_training_sets_size(tiny_idx, runs_dir, monkeypatch):
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(tiny_idx))  # 60 training images: fewer than the default batch of 64
    shown = page()
    assert shown.number_input(key="train_batch_size").value == 60
    assert not shown.button(key="train_start").disabled


def test_a_run_started_on_the_russian_page_is_named_in_russian(page_digits, runs_dir, monkeypatch):
    from cnnkit.train.naming import default_name

    monkeypatch.setenv("CNNKIT_DATA_DIR", str(page_digits))
    at = open_page("pages/train.py", "ru")
    at.toggle(key="train_batchnorm").set_value(True).run()
    start(at)
    wait_until(at, lambda snap: snap.done)
    run = stored(at)
    assert run.name == f"#{run.id} {default_name(run.train_config, 'ru')}"
    assert "0,001" in run.name and "0.001" not in run.name  # Adam's rate as Russian writes it


@pytest.mark.parametrize(
    "lang, said",
    [
        ("en", ("Why is training worse than the test here?", "Label smoothing 0.1")),
        ("ru", ("Почему на обучении хуже, чем на тесте?", "Сглаживание меток 0,1")),
    ],
)
def test_a_run_whose_training_curves_lie_below_the_test_ones_says_why(runs_dir, page_digits, monkeypatch, lang, said):
    from cnnkit.train.evaluation import Evaluation
    from cnnkit.train.store import evaluation_to_dict

    monkeypatch.setenv("CNNKIT_DATA_DIR", str(page_digits))
    store = RunStore(runs_dir)
    fast = store.create(TrainConfig(label_smoothing=0.1))  # as the Fast recipe's first epoch left it on 5,000 digits
    store.add_epoch(fast, epoch_stats(train_loss=0.62, train_accuracy=0.76, test_loss=0.37, test_accuracy=0.93), 1.0)
    store.finish(fast, "finished")
    confusion = [[93 if i == j else 0 for j in range(10)] for i in range(10)]
    store.update(
        fast, test_accuracy=0.93, evaluation=evaluation_to_dict(Evaluation(0.93, 0.37, [0.93] * 10, confusion))
    )
    captions = texts(open_page("pages/train.py", lang, run=str(fast)).caption)
    assert all(words in captions for words in said)


def test_a_stopped_run_continues_from_the_page_where_it_stopped(at):
    at.number_input(key="train_epochs").set_value(50)
    start(at)
    wait_until(at, lambda snap: len(snap.epochs) >= 1)
    at.button(key="train_stop").click().run()
    wait_until(at, lambda snap: snap.done)
    kept = stored(at).epochs
    assert "the run can go on training from there" in texts(at.warning) and 1 <= len(kept) < 50
    assert "stopped by the user" not in texts(at.warning)  # said once: "stopped after N finished epochs"
    resume = at.button(key=f"train_resume_{run_of(at)}")
    assert resume.label == f"Continue training: {50 - len(kept)} more epochs"
    resume.click().run()
    wait_until(at, lambda snap: len(snap.epochs) > len(kept))
    progress = at.get("progress")[0].proto.text
    assert re.search(r"Epoch (\d+)/50", progress) and int(re.search(r"Epoch (\d+)/50", progress)[1]) > len(kept)
    assert at.button(key="train_start").disabled  # one job per session, the continued run included
    at.button(key="train_stop").click().run()
    wait_until(at, lambda snap: snap.done)
    run = stored(at)
    assert run.status == "stopped" and run.epochs[: len(kept)] == kept and len(run.epochs) > len(kept)
    assert [e.epoch for e in run.epochs] == list(range(1, len(run.epochs) + 1))


@pytest.mark.parametrize(
    "lang, said",
    [
        ("en", "#1 ConvNet · Adam 0.001: stopped after 2 finished epochs. The model keeps what it learned"),
        ("ru", "#1 ConvNet · Adam 0,001: остановлен после 2 законченных эпох. Модель сохраняет выученное"),
    ],
)
def test_a_run_stopped_from_the_command_line_says_so_once_and_can_continue_on_the_page(
    runs_dir, page_digits, monkeypatch, lang, said
):
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(page_digits))
    store = RunStore(runs_dir)
    run_id = store.create(TrainConfig(epochs=5), source="cli")
    for epoch in (1, 2):
        store.add_epoch(run_id, epoch_stats(epoch), epoch / 5)
    store.finish(run_id, "stopped", reason={"key": "runs.reasons.stopped", "values": {"epochs": 2}})
    shown = open_page("pages/train.py", lang, run=str(run_id))
    assert said in texts(shown.warning)
    label = shown.button(key=f"train_resume_{run_id}").label  # the machine's own run, outside a classroom
    assert label == {"en": "Continue training: 3 more epochs", "ru": "Продолжить обучение: ещё 3 эпохи"}[lang]
