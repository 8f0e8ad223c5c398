"""Inside the network for one digit: a grid of maps per conv layer, saliency and Grad-CAM on the digit,
for every architecture the training page can make, without touching the shared model."""

import threading

import numpy as np
import pytest
import torch
from torch import nn

from cnnkit.data.preprocess import prepare_digit
from cnnkit.infer import charts
from cnnkit.infer.explain import explain
from cnnkit.infer.predict import DEFAULT_CHECKPOINT, load_model, one_thread, read_digit
from cnnkit.nets.builder import ModelConfig
from tests.support.drawing import STROKES, draw_digit, png, strokes
from tests.support.models import random_checkpoint

DIGIT = prepare_digit(strokes((90, 60, 190, 220), width=24)).centered


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(),
        ModelConfig("lenet5"),
        ModelConfig(extra_conv=True),
        ModelConfig(pooling=False),
        ModelConfig(batchnorm=True, dropout=0.3),
    ],
    ids=lambda c: c.describe(),
)
def test_one_grid_of_maps_per_conv_layer(config):
    ckpt = random_checkpoint(config)
    ex = explain(ckpt, DIGIT)
    convs = [(name, m) for name, m in ckpt.model.named_children() if isinstance(m, nn.Conv2d)]
    assert [layer.name for layer in ex.layers] == [name for name, _ in convs]
    assert [layer.maps.shape[0] for layer in ex.layers] == [m.out_channels for _, m in convs]
    assert ex.layers[0].maps.shape[1:] == (28, 28)  # the first conv sees the full input (padded)
    assert ex.gradcam_layer == convs[-1][0]
    for heat in (ex.saliency, ex.gradcam):
        assert heat.shape == (28, 28) and heat.min() >= 0 and heat.max() == pytest.approx(1.0)


def test_relu_maps_are_non_negative_and_depend_on_the_input():
    ckpt = random_checkpoint()
    a, b = explain(ckpt, DIGIT), explain(ckpt, DIGIT.T)
    assert all(layer.maps.min() >= 0 for layer in a.layers)
    assert not np.allclose(a.layers[0].maps, b.layers[0].maps)


def test_what_mattered_lies_on_and_around_the_digit():
    """For a trained model, both heat maps are several times stronger near the strokes than away from them."""
    if not DEFAULT_CHECKPOINT.is_file():
        pytest.skip(f"the shipped model {DEFAULT_CHECKPOINT} is absent")
    ckpt = load_model()
    for digit in STROKES:
        image = read_digit(png(draw_digit(digit, (75, 40, 130, 200))), invert=False).centered
        ex = explain(ckpt, image)
        near = np.zeros((28, 28), bool)
        rows, cols = np.nonzero(image > 0.1)
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                near[np.clip(rows + dy, 0, 27), np.clip(cols + dx, 0, 27)] = True
        assert ckpt.classes[ex.target] == digit
        for heat in (ex.saliency, ex.gradcam):
            assert heat[near].mean() > 2 * heat[~near].mean(), digit


def test_the_explained_class_can_be_chosen():
    ckpt = random_checkpoint()
    top = explain(ckpt, DIGIT)
    other = explain(ckpt, DIGIT, target=(top.target + 1) % 10)
    assert other.target != top.target and not np.allclose(other.saliency, top.saliency)


def test_explaining_leaves_the_shared_model_as_it_was():
    ckpt = random_checkpoint()
    before = {k: v.clone() for k, v in ckpt.model.state_dict().items()}
    explain(ckpt, DIGIT)
    assert all(p.grad is None for p in ckpt.model.parameters())
    assert all(torch.equal(before[k], v) for k, v in ckpt.model.state_dict().items())
    assert not any(m._forward_hooks or m._backward_hooks for m in ckpt.model.modules())


def test_figures_show_every_map_and_the_heat():
    ex = explain(random_checkpoint(), DIGIT)
    maps = ex.layers[1].maps
    grid = charts.feature_grid(maps, columns=16)
    shown = np.asarray(grid.data[0].customdata, dtype=float)
    assert set(np.unique(shown[~np.isnan(shown)]).astype(int)) == set(range(1, len(maps) + 1))
    overlay = charts.heat_overlay(DIGIT, ex.gradcam)
    assert np.array_equal(np.asarray(overlay.data[1].z), ex.gradcam)
    bars = charts.probability_bars([str(d) for d in range(10)], np.eye(10)[3])
    assert list(bars.data[0].x) == [str(d) for d in range(10)] and bars.data[0].text[3] == "100%"


def test_one_digit_runs_on_its_own_thread_only():
    """Inference takes no intra-op threads, and a training running in another thread keeps its own."""
    before = torch.get_num_threads()
    ready, inside, read = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def training():
        seen["start"] = torch.get_num_threads()  # a running training has its threads already
        ready.set()
        inside.wait(10)
        seen["during"] = torch.get_num_threads()
        read.set()

    worker = threading.Thread(target=training)
    worker.start()
    ready.wait(10)
    with one_thread():
        seen["page"] = torch.get_num_threads()
        inside.set()
        read.wait(10)
    worker.join()
    explain(random_checkpoint(), DIGIT)
    assert seen == {"start": before, "during": before, "page": 1} and torch.get_num_threads() == before


def test_a_drawing_is_explained_while_another_visitor_counts_a_guide_networks_operations(shipped):
    """The guide's operation count hooks every module of the process while it runs; a Grad-CAM in another
    session's thread meanwhile failed inside those hooks (a guide visitor broke a drawer's page)."""
    from cnnkit.guide.meta import build_on_meta, count_macs

    image = read_digit(png(draw_digit("7", (75, 40, 130, 200))), invert=False).centered
    model, failures, done = build_on_meta("resnet18"), [], threading.Event()

    def count_until_done():
        while not done.is_set():
            count_macs(lambda: model(torch.zeros(1, 3, 224, 224, device="meta")))

    counter = threading.Thread(target=count_until_done)
    counter.start()
    try:
        for _ in range(20):
            try:
                explain(shipped, image)
            except RuntimeError as exc:
                failures.append(exc)
    finally:
        done.set()
        counter.join()
    assert not failures, failures[0]
