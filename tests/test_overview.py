"""The whole network for one drawing: every stage is what PyTorch computes layer by layer, what feeds what
is the largest part of each sum, an opened map has its own kernels and receptive field, and the softmax
step gives PyTorch's probabilities; on the page, a click on a map opens it."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnkit.data.preprocess import normalize
from cnnkit.errors import CnnkitError
from cnnkit.i18n import text
from cnnkit.infer import overview as ov
from cnnkit.nets.builder import ModelConfig
from tests.support.drawing import SEVEN
from tests.support.models import random_checkpoint
from tests.support.pages import draw_page, upload

DIGIT = np.zeros((28, 28), np.float32)
DIGIT[4:24, 12:16] = 1  # a bar, a "1"
DIGIT[4:8, 8:14] = 0.8


@pytest.fixture(
    params=[ModelConfig(), ModelConfig(arch="lenet5"), ModelConfig(extra_conv=True, batchnorm=True, extra_fc=True)],
    ids=["convnet", "lenet5", "extra_conv+bn+extra_fc"],
)
def ckpt(request):
    torch.manual_seed(0)
    return random_checkpoint(request.param)


def test_every_stage_is_what_the_network_computes(ckpt):
    view = ov.overview(ckpt, DIGIT)
    x = normalize(DIGIT, ckpt.mean, ckpt.std)
    outputs, h = {}, x
    with torch.no_grad():
        for name, layer in ckpt.model.eval().named_children():
            h = layer(h)
            outputs[name] = h
    names = [s.name for s in view.stages]
    assert names[0] == "input" and names[-1] == list(outputs)[-1]
    np.testing.assert_allclose(view.logits, h[0].numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(view.probabilities, torch.softmax(h[0], 0).numpy(), rtol=1e-5, atol=1e-6)
    layers = list(outputs)
    for stage in view.stages[1:-1]:
        # a stage is its layer's block: the output of the last layer before the next conv/pool/fc/flatten
        after = layers[layers.index(stage.name) + 1 :]
        end = next((n for n in after if n.startswith(("conv", "pool", "fc", "flatten"))), None)
        block_out = outputs[layers[layers.index(end) - 1]] if end else outputs[layers[-1]]
        np.testing.assert_allclose(stage.values, block_out[0].numpy(), rtol=1e-5, atol=1e-5)
        if stage.kind == "fc":
            assert stage.shown == np.argsort(-stage.values, kind="stable")[: ov.TOP_UNITS].tolist()


def test_what_feeds_a_map_is_the_largest_part_of_its_sum(ckpt):
    view = ov.overview(ckpt, DIGIT)
    names = [s.name for s in view.stages]
    conv2 = view.stage("conv2")
    before = view.stages[names.index("conv2") - 1]
    layer = dict(ckpt.model.named_children())["conv2"]
    a = torch.as_tensor(before.values)[None]
    for out_channel in (0, 3):
        parts = [
            F.conv2d(
                a[:, i : i + 1], layer.weight[out_channel : out_channel + 1, i : i + 1].detach(), padding=layer.padding
            )
            .sum()
            .item()
            for i in range(a.shape[1])
        ]
        assert conv2.feeds[out_channel][0] == int(np.argmax(parts))
    out = view.stages[-1]
    fc = view.stages[-2]
    weight = dict(ckpt.model.named_children())[out.name].weight.detach().numpy()
    c = view.prediction
    if fc.kind == "fc":
        parts = {u: weight[c, u] * fc.values[u] for u in fc.shown}
        assert out.feeds[c][0] == max(parts, key=parts.get)
    lit = view.path()
    assert (out.name, c) in lit and ("input", 0) in lit


def test_an_opened_map_has_its_kernels_field_and_best_pixel(ckpt):
    view = ov.overview(ckpt, DIGIT)
    conv1 = dict(ckpt.model.named_children())["conv1"]
    first = ov.map_detail(ckpt, DIGIT, view, "conv1", 2)
    np.testing.assert_array_equal(first.kernels, conv1.weight[2].detach().numpy())
    k = conv1.kernel_size[0]
    assert first.field.size == k
    r, c = first.peak
    assert first.map[r, c] == first.map.max()
    assert first.field.bottom - first.field.top + 1 <= k and first.field.top <= r <= first.field.bottom
    pooled = [s for s in view.stages if s.kind == "pool"][-1]
    deep = ov.map_detail(ckpt, DIGIT, view, pooled.name, 1)
    conv = dict(ckpt.model.named_children())[deep.kernel_layer]
    assert deep.kernels.shape == tuple(conv.weight.shape[1:])  # one kernel per input map
    assert deep.field.size > k
    f = deep.field
    assert f.top <= deep.best_pixel[0] <= f.bottom and f.left <= deep.best_pixel[1] <= f.right  # it sees that pixel
    with pytest.raises(CnnkitError):
        ov.map_detail(ckpt, DIGIT, view, view.stages[-2].name, 0)


def test_softmax_steps_give_torchs_probabilities():
    z = np.array([2.0, -1.0, 7.5, 0.0, 3.3, -4.0, 1.0, 6.9, 0.2, -0.5])
    s = ov.softmax_steps(z)
    assert s.shifted.max() == 0 and s.exps.max() == 1
    np.testing.assert_allclose(s.probabilities, torch.softmax(torch.tensor(z), 0).numpy())
    assert s.total == pytest.approx(np.exp(z - z.max()).sum())


def test_a_click_finds_the_map_drawn_there(ckpt):
    view = ov.overview(ckpt, DIGIT)
    for tile in ov.tiles(view)[::7]:
        found = ov.tile_at(view, *tile.centre)
        assert (found.stage, found.unit) == (tile.stage, tile.unit)
    assert ov.tile_at(view, -5, -5) is None


def test_the_page_shows_the_overview_and_a_clicked_map_opens(lang="en"):
    at = draw_page(lang)
    at.segmented_control(key="draw_mode").set_value("upload").run()
    upload(at, "seven.png", SEVEN)
    assert text("explore.overview.title", lang) in [h.value for h in at.subheader]
    assert text("explore.softmax.title", lang) in " ".join(m.value for m in at.markdown)
    # what the chart's selection handler stores for a click on map 5 of conv2
    at.session_state["draw_overview_pick"] = ("conv2", 5)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception, at.exception
    assert text("explore.overview.map_title", lang, stage="conv2", channel=5) in [m.value for m in at.markdown]
    keys = {c.key for c in at.get("plotly_chart")}
    assert {"draw_overview", "draw_overview_map", "draw_overview_kernels", "draw_overview_field"} <= keys
