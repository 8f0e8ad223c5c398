"""One output value of a convolution or a pooling, taken apart: the window it reads on the zero-padded
input, the kernel, their elementwise product, the sum, the bias and the activation — the numbers that
``F.conv2d`` / ``F.max_pool2d`` / ``F.avg_pool2d`` compute, one position at a time.

Coordinates are (row, column). Window positions are given in the padded input, whose row 0 is the first
row of zeros; ``padding`` rows and columns of zeros surround the picture on every side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from cnnkit.errors import CnnkitError, unknown_choice
from cnnkit.guide.blocks import ACTIVATIONS, POOLS, conv_output_size

NO_ACTIVATION = "none"
PLAY_FRAMES = 60  # Play crosses the whole output in about this many frames


@dataclass(frozen=True, kw_only=True)
class Window:
    """Where one output value looks: the taps (row and column indices in the padded input) it reads."""

    row: int  # the output pixel
    col: int
    rows: np.ndarray  # k indices into the padded input, ``dilation`` apart
    cols: np.ndarray
    values: np.ndarray  # k×k: the padded input at those taps


@dataclass(frozen=True, kw_only=True)
class ConvStep:
    """How a convolution's output pixel is made."""

    window: Window
    kernel: np.ndarray  # k×k
    products: np.ndarray  # window values × kernel, elementwise
    total: float  # the sum of the products
    bias: float
    before: float  # total + bias: what the layer outputs before its activation
    activation: str  # an ``ACTIVATIONS`` key or ``NO_ACTIVATION``
    value: float  # after the activation


@dataclass(frozen=True, kw_only=True)
class PoolStep:
    """How a pooling's output pixel is taken: the window and its max (where it is) or mean."""

    window: Window
    kind: str  # "max" or "avg"
    value: float
    taken: tuple[int, int] | None  # for max: the winning tap (row, column) inside the window


def padded(image: np.ndarray, padding: int) -> np.ndarray:
    """The picture with ``padding`` rows and columns of zeros on every side (what the layer slides over)."""
    return np.pad(np.asarray(image, dtype=np.float32), padding)


def output_shape(image: np.ndarray, k: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> tuple[int, int]:
    """Rows and columns of the output (CnnkitError when the window does not fit)."""
    return tuple(conv_output_size(side, k, stride, padding, dilation).size for side in image.shape)


def window(
    image: np.ndarray, k: int, row: int, col: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> Window:
    """The ``k``×``k`` taps that output pixel (row, col) reads."""
    rows, cols = output_shape(image, k, stride, padding, dilation)
    if not (0 <= row < rows and 0 <= col < cols):
        raise CnnkitError("explore.errors.no_pixel", row=row, col=col, rows=rows, cols=cols)
    taps = np.arange(k) * dilation
    r, c = row * stride + taps, col * stride + taps
    return Window(row=row, col=col, rows=r, cols=c, values=padded(image, padding)[np.ix_(r, c)])


def activate(value, activation: str):
    """``value`` (a number or an array) through an ``ACTIVATIONS`` function, or unchanged for ``"none"``."""
    if activation == NO_ACTIVATION:
        return value
    if activation not in ACTIVATIONS:
        raise unknown_choice("activation", activation, [NO_ACTIVATION, *ACTIVATIONS])
    out = ACTIVATIONS[activation].function(torch.as_tensor(np.asarray(value, dtype=np.float32)))
    return out.numpy() if isinstance(value, np.ndarray) else float(out)


def conv_step(
    image: np.ndarray,
    kernel: np.ndarray,
    row: int,
    col: int,
    *,
    bias: float = 0.0,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    activation: str = NO_ACTIVATION,
) -> ConvStep:
    """Output pixel (row, col) of a one-filter convolution, computed by hand from its window."""
    kernel = np.asarray(kernel, dtype=np.float32)
    win = window(image, kernel.shape[0], row, col, stride, padding, dilation)
    products = win.values * kernel
    total = float(products.sum(dtype=np.float64))
    before = total + bias
    return ConvStep(
        window=win,
        kernel=kernel,
        products=products,
        total=total,
        bias=bias,
        before=before,
        activation=activation,
        value=activate(before, activation),
    )


def convolve(
    image: np.ndarray,
    kernel: np.ndarray,
    *,
    bias: float = 0.0,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    activation: str = NO_ACTIVATION,
) -> np.ndarray:
    """The whole output, as ``nn.Conv2d`` with one filter computes it, then the activation."""
    kernel = np.asarray(kernel, dtype=np.float32)
    output_shape(image, kernel.shape[0], stride, padding, dilation)
    out = F.conv2d(
        torch.as_tensor(np.asarray(image, dtype=np.float32))[None, None],
        torch.as_tensor(kernel)[None, None],
        torch.tensor([bias], dtype=torch.float32),
        stride=stride,
        padding=padding,
        dilation=dilation,
    )[0, 0].numpy()
    return activate(out, activation)


def pool_step(
    image: np.ndarray, kind: str, window_size: int, row: int, col: int, stride: int | None = None
) -> PoolStep:
    """Output pixel (row, col) of a max or average pooling (no padding), taken by hand from its window."""
    if kind not in POOLS:
        raise unknown_choice("pooling", kind, POOLS)
    win = window(image, window_size, row, col, stride or window_size)
    if kind == "avg":
        return PoolStep(window=win, kind=kind, value=float(win.values.mean(dtype=np.float64)), taken=None)
    taken = np.unravel_index(int(win.values.argmax()), win.values.shape)
    return PoolStep(window=win, kind=kind, value=float(win.values.max()), taken=(int(taken[0]), int(taken[1])))


def filled(output: np.ndarray, step: int) -> np.ndarray:
    """The output as it is while the kernel slides: positions 0…``step`` (row by row) done, the rest NaN."""
    flat = output.astype(np.float64).ravel().copy()
    flat[step + 1 :] = np.nan
    return flat.reshape(output.shape)


def position(step: int, shape: tuple[int, int]) -> tuple[int, int]:
    """The output pixel the kernel is at after ``step`` moves (row by row), kept inside the output."""
    step = min(max(step, 0), shape[0] * shape[1] - 1)
    return divmod(step, shape[1])


def start_step(output: np.ndarray) -> int:
    """Where the window opens: on the strongest answer (ink under the window, a worked example that is not
    all zeros) and, among equally strong ones, the one nearest the centre of the answers' mass."""
    strength = np.abs(np.nan_to_num(np.asarray(output, dtype=np.float64)))
    rows, cols = np.indices(strength.shape)
    total = strength.sum()
    centre = (
        ((rows * strength).sum() / total, (cols * strength).sum() / total)
        if total
        else ((strength.shape[0] - 1) / 2, (strength.shape[1] - 1) / 2)
    )
    distance = (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2
    strongest = np.isclose(strength, strength.max())
    return int(np.where(strongest, distance, np.inf).argmin())


def next_step(step: int, shape: tuple[int, int]) -> int:
    """The position Play shows after ``step``: row by row to the last one, in about ``PLAY_FRAMES`` frames."""
    last = shape[0] * shape[1] - 1
    return min(step + max(1, (last + 1) // PLAY_FRAMES), last)


def pixel_of(points: list[dict]) -> tuple[int, int] | None:
    """The output pixel a chart click picked: the first selected marker, which sits at x = column, y = row."""
    for point in points:
        if point.get("x") is not None and point.get("y") is not None:
            return int(round(point["y"])), int(round(point["x"]))
    return None
