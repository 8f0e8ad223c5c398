"""The training page's figures and gallery, from made-up runs: what they plot and in which language."""
import numpy as np
import pytest
import torch

from cnnkit.train.charts import (batch_loss_figure, confusion_figure, devices_figure, epoch_figure,
                                    kernels_figure, mistakes, per_class_figure, runs_figure)
from cnnkit.train.comparison import DeviceSpeed, RunRecord
from cnnkit.data.datasets import Split
from cnnkit.devices import DeviceInfo
from cnnkit.train.evaluation import Evaluation
from cnnkit.train.jobs import LossTrace, Snapshot
from cnnkit.nets.builder import ModelConfig, build_model
from cnnkit.train.loop import EpochStats, TrainConfig

CLASSES = tuple(str(d) for d in range(10))


def epochs(*test_accuracies):
    return [EpochStats(i, 10.0, 1.0 / i, acc - 0.01, 0.5 / i, acc, 500.0) for i, acc in enumerate(test_accuracies, 1)]


def snapshot(batches: int, epochs_done=()) -> Snapshot:
    trace = LossTrace()
    for i in range(batches):
        trace.add(i / 100, 2.0 / (1 + i / 100))
    return Snapshot("#1 convnet", TrainConfig(epochs=3), "running", 1, 1, 100, 1.0, None, 500.0, trace.x,
                    trace.raw, trace.smooth, list(epochs_done), False)


def evaluation() -> Evaluation:
    confusion = np.eye(10, dtype=int) * 9 + 1
    return Evaluation(0.9, 0.3, [0.9] * 10, confusion.tolist(), misclassified=[5, 2, 7], predicted=[3, 1, 0],
                      confidence=[0.97, 0.8, 0.6])


def test_batch_loss_shows_raw_and_smoothed_over_the_whole_run_in_both_languages():
    fig = batch_loss_figure(snapshot(250), "en")
    raw, smooth = fig.data
    assert (raw.name, smooth.name) == ("batch", "smoothed") and len(raw.y) == 250
    assert list(fig.layout.xaxis.range) == [0, 3]  # the run's length, so the curve shows how far it got
    assert fig.layout.title.text == "Loss of each batch"
    assert batch_loss_figure(snapshot(5), "ru").layout.title.text == "Потери на каждом батче"


def test_a_long_run_is_drawn_with_a_bounded_number_of_points():
    assert len(batch_loss_figure(snapshot(100_000), "en").data[0].x) <= 2 * LossTrace().cap


def test_epoch_curves_plot_train_and_test_and_say_when_they_will_appear():
    fig = epoch_figure(epochs(0.91, 0.95), "accuracy", 3, "en")
    assert [t.name for t in fig.data] == ["train", "test"]
    assert list(fig.data[1].y) == [0.91, 0.95] and fig.layout.yaxis.tickformat == ".1%"
    empty = epoch_figure([], "loss", 3, "ru")
    assert empty.layout.annotations[0].text == "появится после первой эпохи"


def test_confusion_matrix_and_per_class_accuracy():
    ev = evaluation()
    heat = confusion_figure(ev, CLASSES, "en").data[0]
    assert np.array(heat.z).tolist() == ev.confusion and list(heat.x) == list(CLASSES)
    bars = per_class_figure(ev, CLASSES, "en").data[0]
    assert list(bars.y) == ev.per_class and bars.text[0] == "90.0%"


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
    assert np.allclose(z[r:r + size, c:c + size], weights[last]) and (number[r:r + size, c:c + size] == kernels).all()
    assert np.isnan(z[0, size]) and number.max() == kernels  # a gap between kernels
    assert heat.zmin == -heat.zmax == -np.abs(weights).max()
    assert kernels_figure(model, "ru").layout.title.text == f"Ядра первой свёртки: {kernels}"


def test_runs_are_overlaid_one_color_each():
    config = TrainConfig()
    runs = [RunRecord(name, config, "cpu", "completed", 100, 1000, 10.0, h[-1].test_accuracy, tuple(h))
            for name, h in (("#1 convnet", epochs(0.9, 0.95)), ("#2 convnet+extra_conv", epochs(0.93)))]
    accuracy = runs_figure(runs, "accuracy", "en")
    assert [t.name for t in accuracy.data] == ["#1 convnet", "#2 convnet+extra_conv"]
    assert list(accuracy.data[0].y) == [0.9, 0.95] and accuracy.data[0].line.color != accuracy.data[1].line.color
    assert list(accuracy.layout.xaxis.range) == [0.5, 2.5]
    loss = runs_figure(runs, "loss", "en")
    assert [(t.name, t.line.dash, t.showlegend) for t in loss.data][:2] == [("#1 convnet", "solid", True),
                                                                           ("#1 convnet", "dash", False)]


def test_device_speeds_are_labelled_with_the_speedup():
    cpu = DeviceInfo("cpu", "cpu", "AMD EPYC", cores=2)
    gpu = DeviceInfo("cuda:0", "cuda", "NVIDIA H100", 79.1)
    fig = devices_figure([DeviceSpeed(gpu, 7000.0, 3.5, 51.4), DeviceSpeed(cpu, 2000.0, 1.0, 180.0)], "en")
    bars = fig.data[0]
    assert list(bars.x) == [gpu.label, cpu.label] and bars.text[0] == "7,000 · ×3.5"
