"""Building blocks to play with: a picture convolved with a kernel and pooled, the output-size formula,
activation curves, and the receptive field of the notes' ConvNet layer by layer.

Pictures are 2-D float arrays in [0, 1], white on black like MNIST.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from cnnkit.data.datasets import load_dataset
from cnnkit.errors import CnnkitError, unknown_choice
from cnnkit.nets.builder import ModelConfig, build_model
from cnnkit.nets.fields import receptive_fields

# ---------------------------------------------------------------- pictures

PICTURE_SIZE = 64


def _canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("L", (PICTURE_SIZE, PICTURE_SIZE), 0)
    return image, ImageDraw.Draw(image)


def _digit() -> Image.Image:
    image, draw = _canvas()
    draw.text(
        (PICTURE_SIZE / 2, PICTURE_SIZE / 2),
        "3",
        fill=255,
        anchor="mm",
        font=ImageFont.load_default(size=PICTURE_SIZE * 3 // 4),
    )
    return image


def _shapes() -> Image.Image:
    image, draw = _canvas()
    draw.rectangle((6, 6, 28, 28), outline=255, width=3)
    draw.ellipse((36, 8, 58, 30), fill=255)
    draw.polygon(((8, 58), (30, 36), (52, 58)), fill=180)
    draw.line((36, 40, 60, 40), fill=255, width=2)
    return image


def _checkerboard() -> Image.Image:
    cells = (np.indices((PICTURE_SIZE, PICTURE_SIZE)) // 8).sum(0) % 2
    return Image.fromarray((cells * 255).astype(np.uint8))


def _noisy() -> Image.Image:
    noise = np.random.default_rng(0).normal(0, 60, (PICTURE_SIZE, PICTURE_SIZE))
    return Image.fromarray(np.clip(np.asarray(_shapes(), float) + noise, 0, 255).astype(np.uint8))


PICTURES: dict[str, Callable[[], Image.Image]] = {
    "digit": _digit,
    "shapes": _shapes,
    "checkerboard": _checkerboard,
    "noisy": _noisy,
}


def picture(name: str, size: int = PICTURE_SIZE) -> np.ndarray:
    """A built-in picture (``PICTURES``), ``size``×``size``."""
    if name not in PICTURES:
        raise unknown_choice("picture", name, PICTURES)
    image = PICTURES[name]()
    if size != PICTURE_SIZE:
        image = image.resize((size, size), Image.Resampling.BOX)
    return np.asarray(image, dtype=np.float32) / 255


@lru_cache(maxsize=2)
def _mnist_test(data_dir: str | None):
    return load_dataset("mnist", data_dir, download=False, progress=lambda _: None).test


def mnist_digit(index: int, data_dir: str | None = None) -> tuple[np.ndarray, int]:
    """Test digit ``index`` of the MNIST found in the data folder (CnnkitError when there is none) and its label."""
    split = _mnist_test(data_dir)
    if not 0 <= index < len(split):
        raise CnnkitError("guide.errors.digit_index", index=index, last=len(split) - 1)
    return split.images[index].numpy().astype(np.float32) / 255, int(split.labels[index])


def mnist_count(data_dir: str | None = None) -> int:
    """How many test digits there are to choose from; 0 when MNIST is not in the data folder."""
    try:
        return len(_mnist_test(data_dir))
    except CnnkitError:
        return 0


# ---------------------------------------------------------------- kernels, convolution, pooling

KERNELS: dict[str, tuple[tuple[float, ...], ...]] = {
    "edges_vertical": ((-1, 0, 1), (-2, 0, 2), (-1, 0, 1)),  # Sobel: left-to-right change
    "edges_horizontal": ((-1, -2, -1), (0, 0, 0), (1, 2, 1)),
    "outline": ((-1, -1, -1), (-1, 8, -1), (-1, -1, -1)),  # Laplacian: change in any direction
    "blur": ((1 / 9,) * 3,) * 3,
    "sharpen": ((0, -1, 0), (-1, 5, -1), (0, -1, 0)),
    "identity": ((0, 0, 0), (0, 1, 0), (0, 0, 0)),
}
KERNEL_SIZE = 3
MAX_KERNEL_TEXT = 300  # characters in the text box: 9 numbers with room for fractions and spaces
MAX_KERNEL_NUMBER = 24  # characters of one number (a longer exponent would take seconds to parse)
MAX_KERNEL_VALUE = 1000.0  # larger weights only saturate the picture
MAX_EXPONENT = 30  # of 1e30: a Fraction of 1e10000000 computes 10**10000000 (seconds of CPU)


def kernel(name: str) -> np.ndarray:
    if name not in KERNELS:
        raise unknown_choice("kernel", name, KERNELS)
    return np.array(KERNELS[name], dtype=np.float32)


def format_kernel(weights: np.ndarray) -> str:
    """A kernel as text that ``parse_kernel`` reads back: rows on lines, fractions kept (``1/9``)."""
    return "\n".join(" ".join(str(Fraction(float(w)).limit_denominator(100)) for w in row) for row in weights)


def parse_kernel(typed: str) -> np.ndarray:
    """A 3×3 kernel from text: rows on lines or separated by ``;``, numbers by spaces or commas;
    integers, decimals and fractions (``1/9``), each at most ``MAX_KERNEL_VALUE`` in size."""
    if len(typed) > MAX_KERNEL_TEXT:
        raise CnnkitError("safety.kernel_too_long", most=MAX_KERNEL_TEXT, got=len(typed))
    rows = [row.strip() for row in re.split(r"[;\n]", typed) if row.strip()]
    numbers = []
    for row in rows:
        values = []
        for token in re.split(r"[,\s]+", row):
            if len(token) > MAX_KERNEL_NUMBER:
                raise CnnkitError("safety.kernel_number_long", token=token[:12] + "…", most=MAX_KERNEL_NUMBER)
            exponent = re.search(r"[eE]([-+]?\d+)$", token)
            if exponent and abs(int(exponent.group(1))) > MAX_EXPONENT:
                raise CnnkitError(
                    "safety.kernel_exponent", token=token, most=MAX_EXPONENT, limit=f"{MAX_KERNEL_VALUE:g}"
                )
            try:
                value = Fraction(token)
            except (ValueError, ZeroDivisionError):
                raise CnnkitError("guide.errors.kernel_number", token=token) from None
            if abs(value) > MAX_KERNEL_VALUE:
                raise CnnkitError("safety.kernel_too_large", token=token, most=f"{MAX_KERNEL_VALUE:g}")
            values.append(float(value))
        numbers.append(values)
    if len(numbers) != KERNEL_SIZE or any(len(row) != KERNEL_SIZE for row in numbers):
        raise CnnkitError(
            "guide.errors.kernel_shape", size=KERNEL_SIZE, got=" / ".join(str(len(row)) for row in numbers) or "0"
        )
    return np.array(numbers, dtype=np.float32)


@dataclass(frozen=True)
class OutputSize:
    size: int
    skipped: int  # input rows (and columns) at the far edge that no window reaches when the stride leaves them out


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> OutputSize:
    """``⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1``: the side of a convolution's or pooling's output."""
    for name, value, least in (
        ("n", size, 1),
        ("k", kernel, 1),
        ("s", stride, 1),
        ("p", padding, 0),
        ("d", dilation, 1),
    ):
        if value < least:
            raise CnnkitError("guide.errors.too_small", name=name, value=value, least=least)
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if span < 0:
        raise CnnkitError("guide.errors.no_output", padded=size + 2 * padding, window=dilation * (kernel - 1) + 1)
    return OutputSize(span // stride + 1, span % stride)


OUTPUT_SIZE_FORMULA = r"n_\text{out} = \left\lfloor \frac{n + 2p - d\,(k - 1) - 1}{s} \right\rfloor + 1"


def output_size_formula(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> str:
    """The formula with the numbers in it and its result, as LaTeX."""
    out = conv_output_size(size, kernel, stride, padding, dilation).size
    return (
        rf"n_\text{{out}} = \left\lfloor \frac{{{size} + 2 \cdot {padding} - {dilation} \cdot ({kernel} - 1) - 1}}"
        rf"{{{stride}}} \right\rfloor + 1 = {out}"
    )


def _as_batch(image: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(image, dtype=np.float32))[None, None]


def convolve(image: np.ndarray, weights: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    """What ``nn.Conv2d`` computes with one filter and no bias: a sliding dot product (cross-correlation,
    the kernel is not flipped)."""
    conv_output_size(min(image.shape), weights.shape[0], stride, padding)
    return F.conv2d(_as_batch(image), _as_batch(weights), stride=stride, padding=padding)[0, 0].numpy()


POOLS = {"max": F.max_pool2d, "avg": F.avg_pool2d}


def pool(image: np.ndarray, kind: str, window: int = 2, stride: int | None = None) -> np.ndarray:
    """Max or average pooling with a ``window``×``window`` window (``stride`` defaults to the window)."""
    if kind not in POOLS:
        raise unknown_choice("pooling", kind, POOLS)
    stride = stride or window
    conv_output_size(min(image.shape), window, stride)
    return POOLS[kind](_as_batch(image), window, stride)[0, 0].numpy()


# ---------------------------------------------------------------- activations


@dataclass(frozen=True)
class Activation:
    name: str
    function: Callable[[torch.Tensor], torch.Tensor]


ACTIVATIONS = {
    a.name.split("(")[0].lower(): a
    for a in (
        Activation("ReLU", F.relu),
        Activation("LeakyReLU(0.1)", lambda x: F.leaky_relu(x, 0.1)),
        Activation("GELU", F.gelu),
        Activation("Tanh", torch.tanh),
        Activation("Sigmoid", torch.sigmoid),
        Activation("SiLU", F.silu),
        Activation("Hardswish", F.hardswish),
    )
}


@dataclass(frozen=True)
class Curve:
    x: np.ndarray
    y: np.ndarray
    slope: np.ndarray  # dy/dx, what backpropagation multiplies by


def activation_curve(key: str, lo: float = -5.0, hi: float = 5.0, points: int = 401) -> Curve:
    """``ACTIVATIONS[key]`` on [lo, hi] and its slope, by autograd."""
    if key not in ACTIVATIONS:
        raise unknown_choice("activation", key, ACTIVATIONS)
    x = torch.linspace(lo, hi, points, requires_grad=True)
    y = ACTIVATIONS[key].function(x)
    (slope,) = torch.autograd.grad(y.sum(), x)
    return Curve(x.detach().numpy(), y.detach().numpy(), slope.numpy())


# ---------------------------------------------------------------- receptive field


@dataclass(frozen=True)
class FieldRow:
    layer: str
    type: str
    kernel: int
    stride: int
    padding: int
    size: int  # output side
    jump: int  # input pixels between two neighbouring outputs
    field: int  # side of the input square one output sees


def receptive_field(config: ModelConfig = ModelConfig()) -> list[FieldRow]:
    """Layer by layer, up to ``Flatten``: how much of the input one output value sees
    (``cnnkit.nets.fields.receptive_fields``) and the side of the output."""
    size = config.image_size
    rows = [FieldRow("input", "", 1, 1, 0, size, 1, 1)]
    with torch.device("meta"):  # only the layers' settings are read: no weights to allocate and initialise
        model = build_model(config)
    for reach in receptive_fields(model):
        size = conv_output_size(size, reach.kernel, reach.stride, reach.padding, reach.dilation).size
        rows.append(
            FieldRow(
                reach.name,
                type(reach.layer).__name__,
                reach.kernel,
                reach.stride,
                reach.padding,
                size,
                reach.jump,
                reach.field,
            )
        )
    return rows
