"""The training page's figures and gallery, from made-up runs: what they plot and in which language."""

import numpy as np
import pytest
import torch

from cnnkit.data.datasets import Split
from cnnkit.devices import DeviceInfo
from cnnkit.nets.builder import ModelConfig, build_model
from cnnkit.nets.layers import parse_spec
from cnnkit.train.charts import (
    LIVE_POINTS,
    batch_loss_figure,
    confusion_figure,
    devices_figure,
    epoch_figure,
    kernels_figure,
    mistakes,
    per_class_figure,
    run_color,
    runs_bars_figure,
    runs_figure,
    training_worse_note,
)
from cnnkit.train.comparison import DeviceSpeed
from cnnkit.train.evaluation import Evaluation
from cnnkit.train.jobs import Snapshot
from cnnkit.train.loop import EpochStats, TrainConfig
from cnnkit.train.store import RunStore
from cnnkit.train.trace import LossTrace

CLASSES = tuple(str(d) for d in range(10))


def epochs(*test_accuracies):
    return [
        EpochStats(
            epoch=i,
            seconds=10.0,
            train_loss=1.0 / i,
            train_accuracy=acc - 0.01,
            test_loss=0.5 / i,
            test_accuracy=acc,
            images_per_s=500.0,
        )
        for i, acc in enumerate(test_accuracies, 1)
    ]


def snapshot(batches: int, epochs_done=(), per_epoch: int = 100) -> Snapshot:
    trace = LossTrace()
    for i in range(batches):
        trace.add(i / per_epoch, 2.0 / (1 + i / per_epoch))
    return Snapshot(
        run_id=1,
        name="#1 convnet",
        config=TrainConfig(epochs=3),
        state="running",
        epoch=1,
        batch=1,
        batches=100,
        elapsed=1.0,
        eta=None,
        images_per_s=500.0,
        steps=trace.x,
        losses=trace.raw,
        smoothed=trace.smooth,
        epochs=list(epochs_done),
        stopping=False,
    )


def evaluation() -> Evaluation:
    confusion = np.eye(10, dtype=int) * 9 + 1
    return Evaluation(
        0.9,
        0.3,
        [0.9] * 10,
        confusion.tolist(),
        misclassified=[5, 2, 7],
        predicted=[3, 1, 0],
        confidence=[0.97, 0.8, 0.6],
    )


def test_batch_loss_shows_raw_and_smoothed_over_the_whole_run_in_both_languages():
    fig = batch_loss_figure(snapshot(250), "en")
    raw, smooth = fig.data
    assert (raw.name, smooth.name) == ("batch", "smoothed") and len(raw.y) == 250
    assert list(fig.layout.xaxis.range) == [0, 3]  # the run's length, so the curve shows how far it got
    assert fig.layout.title.text == "Loss of each batch"
    assert batch_loss_figure(snapshot(5), "ru").layout.title.text == "Потери на каждом батче"


def test_a_long_run_is_drawn_with_a_bounded_number_of_points():
    assert len(batch_loss_figure(snapshot(100_000), "en").data[0].x) <= 2 * LossTrace().cap


def test_the_live_chart_sends_the_same_bounded_number_of_points_per_curve_however_long_the_run():
    def sent(batches: int, per_epoch: int) -> list[int]:
        return [len(c.x) for c in batch_loss_figure(snapshot(batches, per_epoch=per_epoch), "en", LIVE_POINTS).data]

    assert sent(3_000, 1_000) == sent(300_000, 100_000) == [LIVE_POINTS, LIVE_POINTS]  # 3 epochs of either length
    assert sent(15_000, 10_000) == [LIVE_POINTS // 2] * 2  # half-way through the run: the bins it has reached
    raw, smooth = batch_loss_figure(snapshot(3_000, per_epoch=1_000), "en", LIVE_POINTS).data
    assert raw.y[0] > raw.y[-1] and max(raw.y) <= 2.0 and min(smooth.y) >= min(raw.y)  # a falling loss, averaged


def test_epoch_curves_plot_train_and_test_and_say_when_they_will_appear():
    fig = epoch_figure(epochs(0.91, 0.95), "accuracy", 3, "en")
    assert [t.name for t in fig.data] == ["train", "test"]
    assert list(fig.data[1].y) == pytest.approx([91, 95]) and "95%" in fig.layout.yaxis.ticktext
    empty = epoch_figure([], "loss", 3, "ru")
    assert empty.layout.annotations[0].text == "появится после первой эпохи"


def test_confusion_matrix_and_per_class_accuracy():
    ev = evaluation()
    heat = confusion_figure(ev, CLASSES, "en").data[0]
    assert np.array(heat.z).tolist() == ev.confusion and list(heat.x) == list(CLASSES)
    bars = per_class_figure(ev, CLASSES, "en").data[0]
    assert list(bars.y) == pytest.approx([100 * a for a in ev.per_class]) and bars.text[0] == "90.0%"


def test_gallery_of_mistakes_has_true_and_predicted_labels_and_probability():
    images = torch.arange(8, dtype=torch.uint8).view(8, 1, 1).expand(8, 28, 28)
    test = Split(images, torch.tensor([0, 1, 2, 3, 4, 5, 6, 7]))
    shown = mistakes(evaluation(), test, CLASSES, limit=2)
    assert [(m.true, m.predicted, m.probability) for m in shown] == [("5", "3", 0.97), ("2", "1", 0.8)]
    assert shown[0].image.shape == (28, 28) and shown[0].image[0, 0] == 5


@pytest.mark.parametrize("arch, kernels, size", [("convnet", 32, 3), ("lenet5", 6, 5)])
def test_first_layer_kernels_are_tiled_on_one_symmetric_scale(arch, kernels, size):
    model = build_model(ModelConfig(arch))
    (heat,) = kernels_figure(model, "en").data
    weights = model.conv1.weight.detach()[:, 0].numpy()
    z, number = np.array(heat.z, dtype=float), np.array(heat.customdata)
    last = kernels - 1
    r, c = last // 8 * (size + 1), last % 8 * (size + 1)
    assert (
        np.allclose(z[r : r + size, c : c + size], weights[last])
        and (number[r : r + size, c : c + size] == kernels).all()
    )
    assert np.isnan(z[0, size]) and number.max() == kernels  # a gap between kernels
    assert heat.zmin == -heat.zmax == -np.abs(weights).max()
    assert kernels_figure(model, "ru").layout.title.text == f"Ядра первой свёртки: {kernels}"


def stored_runs(tmp_path) -> list:
    """Two stored runs: two epochs of the ConvNet, one epoch of a long-named experiment."""
    store = RunStore(tmp_path)
    for name, history, config in (
        ("#1 convnet", epochs(0.9, 0.95), TrainConfig()),
        (
            "#2 convnet with an extra conv layer and a long name",
            epochs(0.93),
            TrainConfig(model=ModelConfig(extra_conv=True)),
        ),
    ):
        run_id = store.create(config, name=name)
        for e in history:
            store.add_epoch(run_id, e, e.epoch / len(history))
        store.finish(run_id, "finished")
        store.update(run_id, parameters=1000 * run_id)
    return store.list()[::-1]


def test_runs_are_overlaid_one_color_each_with_full_names(tmp_path):
    runs = stored_runs(tmp_path)
    accuracy = runs_figure(runs, "accuracy", "en")
    assert [t.name for t in accuracy.data] == ["#1 convnet", "#2 convnet with an extra conv layer and a long name"]
    assert (
        list(accuracy.data[0].y) == pytest.approx([90, 95])
        and accuracy.data[0].line.color != accuracy.data[1].line.color
    )
    assert list(accuracy.layout.xaxis.range) == [0.5, 2.5]
    assert accuracy.data[1].marker.size > accuracy.data[0].marker.size  # a one-epoch run is a visible marker
    assert runs[1].name in accuracy.data[1].hovertemplate
    loss = runs_figure(runs, "loss", "en")
    assert [(t.name, t.line.dash, t.showlegend) for t in loss.data][:2] == [
        ("#1 convnet", "solid", True),
        ("#1 convnet", "dash", False),
    ]


def test_each_run_keeps_its_colour_whichever_runs_are_shown_beside_it(tmp_path):
    first, second = stored_runs(tmp_path)
    for shown in ([first, second], [second], [second, first]):
        lines = runs_figure(shown, "loss", "en").data
        assert {(t.name, t.line.color) for t in lines} == {(r.name, run_color(r.id)) for r in shown}
        assert list(runs_bars_figure(shown, "en").data[0].marker.color) == [run_color(r.id) for r in shown]
    assert run_color(first.id) != run_color(second.id)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_close_accuracies_get_distinct_tick_labels(tmp_path, lang):
    store = RunStore(tmp_path)
    for accuracy in (0.9443, 0.9436, 0.9441, 0.9438):
        run_id = store.create(TrainConfig())
        store.add_epoch(run_id, epochs(accuracy)[0], 1.0)
    axis = runs_figure(store.list(), "accuracy", lang).layout.yaxis
    assert len(axis.ticktext) >= 3 and len(set(axis.ticktext)) == len(axis.ticktext)
    assert axis.range[0] <= 94.36 and axis.range[1] >= 94.43  # every run inside the axis
    assert all(text.endswith("%") for text in axis.ticktext)


def test_runs_bars_show_accuracy_parameters_and_seconds_per_run(tmp_path):
    runs = stored_runs(tmp_path)
    bars = runs_bars_figure(runs, "en")
    accuracy, params, seconds = bars.data
    assert (
        list(accuracy.y) == pytest.approx([95, 93])
        and list(params.y) == [1000, 2000]
        and list(seconds.y) == [10.0, 10.0]
    )
    assert list(accuracy.customdata) == [r.name for r in runs]  # full names on hover


def test_device_speeds_are_labelled_with_the_speedup():
    cpu = DeviceInfo("cpu", "cpu", "AMD EPYC", cores=2)
    gpu = DeviceInfo("cuda:0", "cuda", "NVIDIA H100", 79.1)
    fig = devices_figure([DeviceSpeed(gpu, 7000.0, 3.5, 51.4), DeviceSpeed(cpu, 2000.0, 1.0, 180.0)], "en")
    bars = fig.data[0]
    assert list(bars.x) == [gpu.label, cpu.label] and bars.text[0] == "7,000 · ×3.5"


def falling_loss_snapshot(batches: int = 300) -> Snapshot:
    """Epoch 1 of a run whose loss falls fast, from 2.3 towards 0.3, each batch ±10% noisy."""
    noise = np.random.default_rng(0).uniform(-0.1, 0.1, batches)
    trace = LossTrace()
    for i in range(batches):
        x = i / batches
        trace.add(x, (0.3 + 2.0 * np.exp(-6 * x)) * (1 + noise[i]))
    return Snapshot(
        run_id=1,
        name="#1 ConvNet",
        config=TrainConfig(),
        state="running",
        epoch=1,
        batch=batches,
        batches=batches,
        elapsed=1.0,
        eta=None,
        images_per_s=500.0,
        steps=trace.x,
        losses=trace.raw,
        smoothed=trace.smooth,
        epochs=[],
        stopping=False,
    )


def test_the_smoothed_loss_tracks_a_falling_curve_within_the_batches_around_it():
    raw, smooth = (np.array(trace.y) for trace in batch_loss_figure(falling_loss_snapshot(), "en").data)
    above = (raw > smooth).mean()
    assert 0.35 < above < 0.65  # as many batches above the line as below it (a lagging average lies above them)
    reach = len(raw) // 20
    for i, value in enumerate(smooth):
        around = raw[max(0, i - reach) : i + reach + 1]
        assert around.min() <= value <= around.max()


def stats(train_loss, train_accuracy, test_loss, test_accuracy):
    return EpochStats(
        epoch=1,
        seconds=1.0,
        train_loss=train_loss,
        train_accuracy=train_accuracy,
        test_loss=test_loss,
        test_accuracy=test_accuracy,
        images_per_s=100.0,
    )


def test_training_curves_worse_than_the_test_ones_are_explained_with_what_this_run_used():
    worse = [stats(0.62, 0.76, 0.37, 0.93)]  # the Fast recipe's first epoch on MNIST 5k, as the page showed it
    plain = training_worse_note(worse, TrainConfig(), "en")
    assert "still learning" in plain and "Dropout" not in plain and "smoothing" not in plain
    fast = TrainConfig(label_smoothing=0.1, model=ModelConfig(dropout=0.3), rotation=10.0)
    note = training_worse_note(worse, fast, "en")
    assert "Dropout" in note and "Augmentation" in note and "Label smoothing 0.1" in note
    # the floor it names is the loss of the best answer the smoothed target allows, as PyTorch computes it
    best = torch.full((1, 10), 0.01).log()
    best[0, 3] = torch.tensor(0.91).log()
    floor = torch.nn.functional.cross_entropy(best, torch.tensor([3]), label_smoothing=0.1).item()
    assert f"training loss of {floor:.2f} (with 10 classes)" in note
    russian = training_worse_note(worse, fast, "ru")
    assert "Сглаживание меток 0,1" in russian and f"{floor:.2f}".replace(".", ",") in russian
    assert training_worse_note([stats(0.2, 0.95, 0.3, 0.93)], fast, "en") is None  # nothing to explain
    assert training_worse_note([stats(0.2, 0.91, 0.3, 0.93)], TrainConfig(), "en")  # accuracy alone lower
    built = ModelConfig(layers=parse_spec("flatten linear(64) relu dropout(0.3) linear"))
    assert "Dropout" in training_worse_note(worse, TrainConfig(model=built), "en")  # a dropout layer of one's own
