"""The interactive convolution and pooling: each output pixel's window, products, sum, bias and activation
are what PyTorch computes, and a click on the output (a selection) opens that pixel's computation."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

from cnnkit.errors import CnnkitError
from cnnkit.guide import blocks, convolution
from cnnkit.guide.charts import clickable_output_figure, window_figure
from cnnkit.i18n import text
from tests.support import ROOT

RNG = np.random.default_rng(1)
IMAGE = RNG.random((11, 9)).astype(np.float32)  # not square: rows and columns must not be mixed up
KERNEL = RNG.normal(size=(3, 3)).astype(np.float32)


@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 1, 1), (1, 2, 2), (3, 1, 3)])
@pytest.mark.parametrize("activation", ["none", "relu", "tanh"])
def test_every_pixel_by_hand_is_what_conv2d_computes(stride, padding, dilation, activation):
    bias = -0.3
    torch_out = F.conv2d(
        torch.from_numpy(IMAGE)[None, None],
        torch.from_numpy(KERNEL)[None, None],
        torch.tensor([bias]),
        stride=stride,
        padding=padding,
        dilation=dilation,
    )[0, 0]
    if activation != "none":
        torch_out = blocks.ACTIVATIONS[activation].function(torch_out)
    settings = dict(bias=bias, stride=stride, padding=padding, dilation=dilation, activation=activation)
    whole = convolution.convolve(IMAGE, KERNEL, **settings)
    np.testing.assert_allclose(whole, torch_out.numpy(), rtol=1e-5, atol=1e-6)
    for row in range(whole.shape[0]):
        for col in range(whole.shape[1]):
            step = convolution.conv_step(IMAGE, KERNEL, row, col, **settings)
            np.testing.assert_allclose(step.products, step.window.values * KERNEL)
            assert step.total == pytest.approx(float(step.products.sum()), abs=1e-5)
            assert step.before == pytest.approx(step.total + bias)
            assert step.value == pytest.approx(float(torch_out[row, col]), abs=1e-5)


def test_the_window_reads_the_zero_padding_at_the_corner():
    step = convolution.conv_step(IMAGE, KERNEL, 0, 0, padding=2, dilation=2)
    assert step.window.values[0].tolist() == [0, 0, 0] and step.window.values[:, 0].tolist() == [0, 0, 0]
    assert step.window.values[1, 1] == IMAGE[0, 0]  # taps 2 apart: rows/cols -2, 0, 2 of the picture
    assert step.window.values[2, 2] == IMAGE[2, 2]


@pytest.mark.parametrize("kind,pool", [("max", F.max_pool2d), ("avg", F.avg_pool2d)])
@pytest.mark.parametrize("window,stride", [(2, 2), (3, 1), (3, 2)])
def test_every_pooled_pixel_by_hand_is_what_torch_pools(kind, pool, window, stride):
    expected = pool(torch.from_numpy(IMAGE)[None, None], window, stride)[0, 0].numpy()
    for row in range(expected.shape[0]):
        for col in range(expected.shape[1]):
            step = convolution.pool_step(IMAGE, kind, window, row, col, stride)
            assert step.value == pytest.approx(float(expected[row, col]), abs=1e-6)
            if kind == "max":
                r, c = step.window.rows[step.taken[0]], step.window.cols[step.taken[1]]
                assert IMAGE[r, c] == expected[row, col]  # the marked input pixel holds the maximum


def test_stepping_fills_the_output_row_by_row():
    out = convolution.convolve(IMAGE, KERNEL)
    assert out.shape == (9, 7)
    assert convolution.position(8, out.shape) == (1, 1)
    assert convolution.position(10_000, out.shape) == (8, 6)  # a stale step from a larger output
    partial = convolution.filled(out, 8)
    assert np.isfinite(partial).sum() == 9 and np.isnan(partial[1, 2])


def test_a_pixel_outside_the_output_is_a_clear_error():
    with pytest.raises(CnnkitError) as error:
        convolution.conv_step(IMAGE, KERNEL, 9, 0)
    assert error.value.message("ru") == text("explore.errors.no_pixel", "ru", row=9, col=0, rows=9, cols=7)


def test_a_click_on_the_output_names_its_pixel():
    fig = clickable_output_figure(convolution.convolve(IMAGE, KERNEL), (0, 0), "out")
    points = fig.data[1]
    index = 3 * 7 + 5  # the marker on row 3, column 5
    assert (points.x[index], points.y[index]) == (5, 3)
    assert convolution.pixel_of([{"x": 5, "y": 3, "point_index": index}]) == (3, 5)
    assert convolution.pixel_of([]) is None


def test_the_input_figure_outlines_the_window_and_the_padding():
    step = convolution.conv_step(IMAGE, KERNEL, 2, 1, stride=2, padding=1)
    shapes = window_figure(IMAGE, 1, step.window, "in").layout.shapes
    picture, win = shapes[0], shapes[1]
    assert (picture.x0, picture.x1, picture.y0, picture.y1) == (-0.5, 8.5, -0.5, 10.5)
    # output (2, 1) with stride 2 reads padded rows 4–6, columns 2–4: picture rows 3–5, columns 1–3
    assert (win.x0, win.x1, win.y0, win.y1) == (0.5, 3.5, 2.5, 5.5)


# ---------------------------------------------------------------- the page


def blocks_page(lang: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run()
    at.switch_page("pages/guide.py")
    at.session_state["lang"] = lang
    at.session_state["guide_tab"] = text("guide.tabs.blocks", lang)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_selected_output_pixel_shows_its_computation(lang):
    at = blocks_page(lang)
    at.selectbox(key="guide_kernel").set_value("sharpen")
    at.selectbox(key="guide_conv_activation").set_value("relu")
    at.session_state["lang"] = lang
    at.run()
    image, kernel = blocks.picture("digit"), blocks.kernel("sharpen")
    out = F.conv2d(torch.from_numpy(image)[None, None], torch.from_numpy(kernel)[None, None])[0, 0].numpy()
    row, col = np.unravel_index(int(out.argmax()), out.shape)  # the strongest answer: positive after ReLU
    # what the chart's selection handler stores for a click on that pixel
    at.session_state["guide_conv_step"] = int(row * out.shape[1] + col)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception, at.exception
    assert text("explore.conv_panel", lang, row=row, col=col) in [m.value for m in at.markdown]
    assert at.slider(key="guide_conv_slider").value == row * out.shape[1] + col
    shown = at.get("latex")[0].value.strip("$\n ")
    assert "ReLU}(" in shown
    assert out.max() > 0
    assert float(shown.rsplit("= ", 1)[1].replace("{,}", ".")) == pytest.approx(float(out.max()), abs=1e-3)


@pytest.mark.parametrize("name", [*blocks.PICTURES, "mnist-like"])
@pytest.mark.parametrize("kernel", list(blocks.KERNELS))
def test_the_window_opens_on_ink_with_a_sum_that_is_not_zero(name, kernel):
    image = blocks.picture(name) if name in blocks.PICTURES else np.pad(blocks.picture("digit", 20), 4)
    out = convolution.convolve(image, blocks.kernel(kernel))
    row, col = convolution.position(convolution.start_step(out), out.shape)
    step = convolution.conv_step(image, blocks.kernel(kernel), row, col)
    assert step.window.values.sum() > 0 and step.total != pytest.approx(0, abs=1e-3)
    pooled = blocks.pool(image, "max", 2)
    row, col = convolution.position(convolution.start_step(pooled), pooled.shape)
    assert convolution.pool_step(image, "max", 2, row, col).value > 0


def test_among_equal_answers_the_window_opens_nearest_their_centre():
    out = np.zeros((9, 9))
    out[2:7, 2:7] = 1  # a square of equal answers: its middle
    assert convolution.position(convolution.start_step(out), out.shape) == (4, 4)
    assert convolution.position(convolution.start_step(np.zeros((5, 7))), (5, 7)) == (2, 3)  # nothing: the centre


def test_play_crosses_the_output_in_about_sixty_frames_and_ends_on_the_last_position():
    steps = [0]
    while steps[-1] != 30 * 30 - 1:
        steps.append(convolution.next_step(steps[-1], (30, 30)))
    assert 55 <= len(steps) <= 65 and steps == sorted(steps)
    assert convolution.next_step(5, (2, 3)) == 5 and convolution.next_step(0, (2, 3)) == 1


def conv_output(at: AppTest) -> np.ndarray:
    return convolution.convolve(blocks.picture("digit"), blocks.kernel(at.selectbox(key="guide_kernel").value))


def test_the_page_opens_the_window_on_ink():
    at = blocks_page("en")
    out = conv_output(at)
    assert at.slider(key="guide_conv_slider").value == convolution.start_step(out) != out.size - 1
    assert not any("= 0.000" in f.value for f in at.get("latex")[:1])  # Σ of the worked example


def test_play_moves_the_window_each_frame_and_stop_stops_it():
    at = blocks_page("ru")
    first = at.slider(key="guide_conv_slider").value
    at.button(key="guide_conv_play").click()
    at.session_state["lang"] = "ru"
    at.run()  # the click; then each run is what the fragment's timer does
    shape = conv_output(at).shape
    frames = [at.slider(key="guide_conv_slider").value]
    for _ in range(2):
        at.session_state["lang"] = "ru"
        frames.append(at.run().slider(key="guide_conv_slider").value)
    assert frames == [convolution.next_step(first, shape), *(convolution.next_step(f, shape) for f in frames[:2])]
    assert at.button(key="guide_conv_play").label == text("explore.stop", "ru")
    assert at.slider(key="guide_pool_slider").value == convolution.start_step(
        blocks.pool(blocks.picture("digit"), "max", 2)
    )
    at.button(key="guide_conv_play").click()
    at.session_state["lang"] = "ru"
    at.run()
    stopped = at.slider(key="guide_conv_slider").value
    at.session_state["lang"] = "ru"
    assert at.run().slider(key="guide_conv_slider").value == stopped == frames[-1]
    assert at.button(key="guide_conv_play").label == text("explore.play", "ru")


def test_play_stops_by_itself_at_the_last_position():
    at = blocks_page("en")
    last = conv_output(at).size - 1
    at.session_state["guide_conv_step"] = last - 1
    at.button(key="guide_conv_play").click()
    at.session_state["lang"] = "en"
    at.run()
    assert at.slider(key="guide_conv_slider").value == last
    at.session_state["lang"] = "en"
    at.run()  # the frame after the last stops Play
    assert not at.exception and at.slider(key="guide_conv_slider").value == last
    assert at.button(key="guide_conv_play").label == "Play"
