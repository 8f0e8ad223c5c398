"""The drawing page's views work with any network of the layer builder: feature maps, saliency and Grad-CAM,
the overview, an opened map's kernels and field, and teaching, whatever its layers are named, however many
blocks, kernels of any size, strides, pooling or none; a model of other images than 1×28×28 digits gets the
upload path for its own image size, with its answer in its class names and its explanations."""

import numpy as np
import pytest
import torch
from torch import nn

from cnnkit.data.preprocess import normalize
from cnnkit.i18n import text
from cnnkit.infer import overview as ov
from cnnkit.infer.explain import explain, explain_input
from cnnkit.infer.finetune import finetune
from cnnkit.infer.predict import classify, predict_image, read_image, takes_digits
from tests.support.built_nets import SPECS, built_checkpoint, folder_checkpoint, stored
from tests.support.drawing import SEVEN, png
from tests.support.pages import draw_page, texts, upload
from tests.support.shapes import shape_image

DIGIT = np.zeros((28, 28), np.float32)
DIGIT[4:24, 12:16] = 1
DIGIT[4:8, 8:14] = 0.8


@pytest.fixture(params=list(SPECS), ids=list(SPECS))
def ckpt(request):
    return built_checkpoint(SPECS[request.param])


def conv_blocks(model: nn.Module) -> dict[str, torch.Tensor]:
    """Each conv layer's block output (after its batchnorm and activation), computed by hand."""
    out, h, block = {}, normalize(DIGIT, 0.1307, 0.3081), None
    with torch.no_grad():
        for name, layer in model.named_children():
            h = layer(h)
            block = (
                name
                if isinstance(layer, nn.Conv2d)
                else None
                if isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d, nn.Flatten))
                else block
            )
            if block:
                out[block] = h[0]
    return out


def test_maps_saliency_and_gradcam_of_any_built_network(ckpt):
    ex = explain(ckpt, DIGIT)
    blocks = conv_blocks(ckpt.model)
    assert [layer.name for layer in ex.layers] == list(blocks)
    for layer in ex.layers:
        assert np.allclose(layer.maps, blocks[layer.name].numpy(), atol=1e-5)
    assert ex.saliency.shape == (28, 28) and ex.saliency.max() == pytest.approx(1.0)
    if blocks:
        assert ex.gradcam_layer == list(blocks)[-1] and ex.gradcam.shape == (28, 28)
    else:  # no convolution: nothing for Grad-CAM to weigh, and saliency still says which pixels matter
        assert ex.gradcam is None and ex.gradcam_layer is None


def test_overview_and_every_opened_map_of_any_built_network(ckpt):
    view = ov.overview(ckpt, DIGIT)
    modules = dict(ckpt.model.named_children())
    kinds = [ov._kind(m) for m in modules.values() if ov._kind(m)]
    assert [s.kind for s in view.stages] == ["input", *kinds[:-1], "output"]
    with torch.no_grad():
        assert np.allclose(view.logits, ckpt.model(normalize(DIGIT, ckpt.mean, ckpt.std))[0].numpy(), atol=1e-5)
    for stage in view.stages[1:]:
        if stage.maps:
            detail = ov.map_detail(ckpt, DIGIT, view, stage.name, stage.values.shape[0] - 1)
            conv = modules[detail.kernel_layer]
            assert detail.kernels.shape == (conv.in_channels, *conv.kernel_size)
            assert 0 <= detail.field.top <= detail.field.bottom <= 27 and detail.field.size >= conv.kernel_size[0]


def test_teaching_any_built_network_trains_its_head_only(ckpt):
    result = finetune(ckpt, np.stack([DIGIT, DIGIT.T]), [1, 4], steps=5)
    names = [name for name, _ in ckpt.model.named_children()]
    head = names[names.index("flatten") :]
    old, new = ckpt.model.state_dict(), result.checkpoint.model.state_dict()
    for key in old:
        assert torch.equal(old[key], new[key]) != (key.split(".")[0] in head)  # the head learned, the rest kept
    assert result.trainable == sum(p.numel() for n, p in ckpt.model.named_parameters() if n.split(".")[0] in head)


def shape_png(kind: str, size=(50, 40), seed: int = 1) -> bytes:
    return png(shape_image(kind, np.random.default_rng(seed), size, "RGB"))


@pytest.mark.parametrize("channels, size", [(3, 32), (1, 48)])
def test_a_model_of_other_images_reads_them_as_it_was_trained_and_is_explained(channels, size):
    ckpt = folder_checkpoint(channels=channels, size=size)
    assert not takes_digits(ckpt) and takes_digits(built_checkpoint(SPECS["stride2"]))
    x = read_image(ckpt, shape_png("circle"), "circle.png")
    assert x.shape == (1, channels, size, size)
    pred = predict_image(ckpt, shape_png("circle"), "circle.png")
    assert pred.label in ckpt.classes and pred.steps is None
    ex = explain_input(ckpt, x)
    assert [layer.name for layer in ex.layers] == ["conv1", "conv2"]
    assert ex.saliency.shape == ex.gradcam.shape == (size, size) and ex.gradcam_layer == "conv2"


def choose(at, run_id: int):
    at.selectbox(key="draw_model").set_value(f"run:{run_id}").run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("spec", ["avgpool+bn+gelu+dropout", "no_conv"])
def test_the_drawing_page_reads_explains_and_teaches_with_a_built_network_run(spec, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(tmp_path))
    run_id = stored(tmp_path, built_checkpoint(SPECS[spec], seed=2), spec)
    at = choose(draw_page(), run_id)
    assert SPECS[spec].split()[0] in texts(at.markdown)  # its card names its layers
    at.segmented_control(key="draw_mode").set_value("upload").run()
    upload(at, "seven.png", SEVEN)
    assert at.metric[0].value in [str(d) for d in range(10)]
    convs = SPECS[spec].count("conv(")
    # probabilities, the normalized input, a grid of maps per conv layer, saliency, Grad-CAM, the overview
    assert len(at.get("plotly_chart")) == 4 + convs + bool(convs)
    if not convs:
        assert text("draw.inside.no_gradcam") in texts(at.caption)
    at.button(key="draw_add").click().run()
    at.slider(key="draw_tune_steps").set_value(10).run()
    at.button(key="draw_tune").click().run()
    assert not at.exception and len(at.success) == 1  # the drawings read again before and after


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_colour_folder_run_gets_the_upload_path_for_its_own_images(lang, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(tmp_path))
    run_id = stored(tmp_path, folder_checkpoint(), "shapes")
    at = draw_page(lang)
    assert any("shapes" in option for option in at.selectbox(key="draw_model").options)  # offered as a model
    choose(at, run_id)
    assert not at.error
    assert text("draw.image.no_canvas", lang, channels=3, size=32, classes="circle, square, triangle") in texts(at.info)
    assert f"**{text('draw.card.dataset', lang)}** {text('build.data.choice', lang)}" in texts(at.markdown)
    upload(at, "circle.png", shape_png("circle"), key="draw_image")
    assert at.metric[0].value in ("circle", "square", "triangle")
    assert [h.value for h in at.subheader] == [text("draw.answer.title", lang), text("draw.inside.title", lang)]
    assert len(at.get("plotly_chart")) == 5  # probabilities, two grids of maps, saliency, Grad-CAM
    at.segmented_control(key="draw_mode").set_value("upload").run()
    assert not at.exception and at.metric[0].value in ("circle", "square", "triangle")
    upload(at, "circle.png", b"not an image", key="draw_image")
    assert at.error and not at.metric  # said, not a traceback


def test_the_softmax_step_gives_the_answers_calibrated_probabilities():
    ckpt = built_checkpoint(SPECS["avgpool+bn+gelu+dropout"])
    ckpt.temperature = 0.25  # a run's calibration: its scores are divided by it before the softmax
    view = ov.overview(ckpt, DIGIT)
    answer = classify(ckpt, DIGIT)
    np.testing.assert_allclose(view.probabilities, answer, rtol=1e-4, atol=1e-6)
    steps = ov.softmax_steps(view.logits, view.temperature)
    np.testing.assert_allclose(steps.probabilities, answer, rtol=1e-4, atol=1e-6)
    assert steps.shifted.max() == 0 and np.allclose(steps.shifted, (view.logits - view.logits.max()) / 0.25)


def test_the_page_shows_the_softmax_with_the_models_temperature(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(tmp_path))
    ckpt = built_checkpoint(SPECS["stride2"])
    ckpt.temperature = 0.25
    run_id = stored(tmp_path, ckpt, "calibrated")
    at = choose(draw_page("ru"), run_id)
    at.segmented_control(key="draw_mode").set_value("upload").run()
    upload(at, "seven.png", SEVEN)
    assert text("explore.softmax.temperature", "ru", temperature="0,250") in texts(at.caption)
    confidence = at.get("progress")[0].proto.value  # the answer's probability, in percent
    table = at.dataframe[-1].value
    assert table["p"].max() * 100 == pytest.approx(confidence, abs=1)


def test_the_softmax_formula_writes_a_class_name_as_typed(tmp_path, monkeypatch):
    """KaTeX reads ``_`` in a class folder's ``digit_7`` as a subscript, and ``%`` as a comment."""
    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(tmp_path))
    ckpt = built_checkpoint(SPECS["stride2"])
    ckpt.classes = [f"digit_{d} (100%)" for d in range(10)]
    run_id = stored(tmp_path, ckpt, "own names")
    at = choose(draw_page(), run_id)
    at.segmented_control(key="draw_mode").set_value("upload").run()
    upload(at, "seven.png", SEVEN)
    answer = at.metric[0].value
    assert answer in ckpt.classes
    escaped = answer.replace("_", r"\_").replace("%", r"\%")
    assert any(rf"p_{{\text{{{escaped}}}}} = " in formula.value for formula in at.get("latex"))
