"""Building blocks: convolution, pooling, output sizes, activations and receptive fields are what PyTorch does."""

import numpy as np
import pytest
import torch
from torch import nn

from cnnkit.errors import CnnkitError
from cnnkit.guide import blocks
from cnnkit.guide.charts import activations_figure, image_figure, receptive_field_figure
from cnnkit.i18n import LANGUAGES, text
from cnnkit.nets.builder import ModelConfig, build_model

RNG = np.random.default_rng(0)


def naive_conv(image, kernel, stride=1, padding=0):
    padded = np.pad(image, padding)
    k = kernel.shape[0]
    side = (padded.shape[0] - k) // stride + 1
    return np.array(
        [
            [np.sum(padded[i * stride : i * stride + k, j * stride : j * stride + k] * kernel) for j in range(side)]
            for i in range(side)
        ]
    )


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), (3, 2)])
def test_convolution_is_a_sliding_dot_product_without_flipping(stride, padding):
    image, kernel = RNG.random((13, 13)), RNG.normal(size=(3, 3))
    np.testing.assert_allclose(
        blocks.convolve(image, kernel, stride, padding),
        naive_conv(image, kernel, stride, padding),
        rtol=1e-5,
        atol=1e-5,
    )


def test_edge_kernels_ignore_flat_areas_and_find_edges():
    flat = np.full((10, 10), 0.7, dtype=np.float32)
    assert np.allclose(blocks.convolve(flat, blocks.kernel("edges_vertical")), 0)
    step = np.zeros((10, 10), dtype=np.float32)
    step[:, 5:] = 1
    assert np.abs(blocks.convolve(step, blocks.kernel("edges_vertical"))).max() > 3
    assert np.allclose(blocks.convolve(step, blocks.kernel("edges_horizontal")), 0)
    np.testing.assert_allclose(blocks.convolve(step, blocks.kernel("identity")), step[1:-1, 1:-1])


def test_pooling_takes_the_max_or_mean_of_each_window():
    image = RNG.random((8, 8)).astype(np.float32)
    windows = image.reshape(4, 2, 4, 2).swapaxes(1, 2)
    np.testing.assert_allclose(blocks.pool(image, "max", 2), windows.max(axis=(2, 3)))
    np.testing.assert_allclose(blocks.pool(image, "avg", 2), windows.mean(axis=(2, 3)), rtol=1e-6)
    assert blocks.pool(image, "max", 3, 1).shape == (6, 6)


@pytest.mark.parametrize(
    "n,k,s,p,d",
    [
        (28, 3, 1, 1, 1),
        (28, 3, 1, 0, 1),
        (28, 2, 2, 0, 1),
        (224, 7, 2, 3, 1),
        (10, 3, 3, 0, 1),
        (17, 3, 2, 1, 2),
        (5, 5, 1, 0, 1),
        (7, 4, 3, 0, 1),
    ],
)
def test_output_size_matches_pytorch(n, k, s, p, d):
    out = nn.Conv2d(1, 1, k, s, p, d)(torch.zeros(1, 1, n, n)).shape[-1]
    result = blocks.conv_output_size(n, k, s, p, d)
    assert result.size == out
    assert blocks.output_size_formula(n, k, s, p, d).endswith(f"= {out}")
    covered = (out - 1) * s + d * (k - 1) + 1
    assert result.skipped == n + 2 * p - covered


@pytest.mark.parametrize(
    "args,key",
    [
        ((3, 5), "guide.errors.no_output"),
        ((4, 3, 1, 0, 2), "guide.errors.no_output"),
        ((28, 3, 0), "guide.errors.too_small"),
        ((28, 3, 1, -1), "guide.errors.too_small"),
    ],
)
def test_output_size_bad_input_is_a_message_in_every_language(args, key):
    with pytest.raises(CnnkitError) as error:
        blocks.conv_output_size(*args)
    assert error.value.key == key
    messages = {text(key, lang, **error.value.values) for lang in LANGUAGES}
    assert len(messages) == len(LANGUAGES) and not any("⟨" in m or "{" in m for m in messages)


@pytest.mark.parametrize("name", list(blocks.KERNELS))
def test_preset_kernels_read_back_from_their_text(name):
    typed = blocks.format_kernel(blocks.kernel(name))
    np.testing.assert_allclose(blocks.parse_kernel(typed), blocks.kernel(name), rtol=1e-6)


def test_kernel_text_accepts_separators_and_fractions():
    np.testing.assert_allclose(blocks.parse_kernel("-1, 0, 1; -2 0 2;\n -1 0 1"), blocks.kernel("edges_vertical"))
    np.testing.assert_allclose(blocks.parse_kernel("1/9 1/9 1/9\n1/9 1/9 1/9\n1/9 1/9 1/9"), blocks.kernel("blur"))


@pytest.mark.parametrize(
    "typed,key",
    [
        ("", "guide.errors.kernel_shape"),
        ("1 2 3\n4 5 6", "guide.errors.kernel_shape"),
        ("1 2 3\n4 5\n7 8 9", "guide.errors.kernel_shape"),
        ("1 2 3\n4 x 6\n7 8 9", "guide.errors.kernel_number"),
        ("1/0 0 0\n0 0 0\n0 0 0", "guide.errors.kernel_number"),
    ],
)
def test_bad_kernel_text_is_a_message_in_every_language(typed, key):
    with pytest.raises(CnnkitError) as error:
        blocks.parse_kernel(typed)
    assert error.value.key == key
    assert str(error.value) == text(key, "en", **error.value.values)
    assert "⟨" not in text(key, "ru", **error.value.values)


@pytest.mark.parametrize("key", list(blocks.ACTIVATIONS))
def test_activation_curves_and_slopes_are_pytorchs(key):
    curve = blocks.activation_curve(key, -3, 3, 61)
    module = {
        "relu": nn.ReLU(),
        "leakyrelu": nn.LeakyReLU(0.1),
        "gelu": nn.GELU(),
        "tanh": nn.Tanh(),
        "sigmoid": nn.Sigmoid(),
        "silu": nn.SiLU(),
        "hardswish": nn.Hardswish(),
    }[key]
    x = torch.tensor(curve.x, requires_grad=True)
    y = module(x)
    y.sum().backward()
    np.testing.assert_allclose(curve.y, y.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(curve.slope, x.grad.numpy(), atol=1e-5)


def test_activation_figure_has_one_line_per_function():
    fig = activations_figure({k: blocks.activation_curve(k) for k in ("relu", "tanh")}, "en", slope=True)
    assert [trace.name for trace in fig.data] == ["ReLU", "Tanh"]
    assert max(fig.data[1].y) == pytest.approx(1.0, abs=1e-3)  # tanh' peaks at 1


def _gradient_extent(config: ModelConfig) -> int:
    """Rows of the input that reach the centre output of the last spatial layer, found by backpropagation."""
    torch.manual_seed(0)
    layers = []
    for layer in build_model(config):
        if isinstance(layer, nn.Flatten):
            break
        if isinstance(layer, nn.MaxPool2d):  # max lets one pixel through; the mean shows the whole window
            layer = nn.AvgPool2d(layer.kernel_size, layer.stride)
        if isinstance(layer, nn.Conv2d):
            nn.init.constant_(layer.weight, 1.0)
        layers.append(layer if isinstance(layer, (nn.Conv2d, nn.AvgPool2d)) else nn.Identity())
    x = torch.ones(1, 1, config.image_size, config.image_size, requires_grad=True)
    out = nn.Sequential(*layers)(x)
    centre = out.shape[-1] // 2
    out[0, :, centre, centre].sum().backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(1)).flatten()
    return int(rows.max() - rows.min() + 1)


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(),
        ModelConfig(padding=False),
        ModelConfig(extra_conv=True),
        ModelConfig(pooling=False),
        ModelConfig(arch="lenet5"),
    ],
)
def test_receptive_field_matches_backpropagation(config):
    rows = blocks.receptive_field(config)
    assert rows[-1].field == _gradient_extent(config)
    model = build_model(config)
    names = list(dict(model.named_children()))
    features = model[: names.index("flatten")](torch.zeros(1, 1, config.image_size, config.image_size))
    assert rows[-1].size == features.shape[-1]


def test_receptive_field_figure_draws_one_square_per_layer():
    rows = blocks.receptive_field()
    fig = receptive_field_figure(blocks.picture("digit", 28), rows, "ru")
    assert len(fig.layout.shapes) == len(rows) - 1
    assert fig.layout.title.text == text("guide.blocks.field_title", "ru")


@pytest.mark.parametrize("name", list(blocks.PICTURES))
def test_pictures_are_square_and_not_blank(name):
    image = blocks.picture(name)
    assert image.shape == (blocks.PICTURE_SIZE, blocks.PICTURE_SIZE)
    assert 0 <= image.min() < image.max() <= 1
    assert blocks.picture(name, 28).shape == (28, 28)
    assert len(image_figure(image, name).data) == 1


def test_mnist_digits_come_from_the_data_folder(tiny_idx, tmp_path):
    assert blocks.mnist_count(str(tiny_idx)) == 20
    image, label = blocks.mnist_digit(3, str(tiny_idx))
    assert image.shape == (28, 28) and 0 <= image.min() <= image.max() <= 1 and label == 3
    with pytest.raises(CnnkitError):
        blocks.mnist_digit(20, str(tiny_idx))
    assert blocks.mnist_count(str(tmp_path / "nothing here")) == 0


def test_conv_and_pool_refuse_windows_larger_than_the_picture():
    with pytest.raises(CnnkitError):
        blocks.pool(np.zeros((3, 3), np.float32), "max", 4)
    with pytest.raises(CnnkitError):
        blocks.convolve(np.zeros((2, 2), np.float32), np.ones((3, 3), np.float32))
