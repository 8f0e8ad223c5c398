"""The whole network's response to one drawing, in the spirit of Adam Harley's digit-CNN view: the input,
each conv block's maps, the pooled maps, the most active units of the fully connected layers and the ten
outputs, with what feeds what; one map taken apart (its kernels, its receptive field, the input pixel that
excites it most); the softmax step with this drawing's numbers.

Works for any sequential model whose input is 1×28×28 (the networks of ``cnnkit.nets.builder``): the
model's children are run one by one, so nothing is attached to a model that sessions share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnkit.data.preprocess import normalize
from cnnkit.errors import CnnkitError
from cnnkit.infer.predict import one_thread
from cnnkit.nets.checkpoints import Checkpoint
from cnnkit.nets.fields import receptive_fields
from cnnkit.nets.module_hooks import GLOBAL_HOOKS

TOP_UNITS = 10  # fully connected units shown per layer: the most active
FEEDERS = 3  # for each shown unit, the strongest of the previous stage's shown units


@dataclass(kw_only=True)
class Stage:
    """One column of the overview."""

    name: str  # the layer whose output this is: "input", "conv1", "pool1", "fc1", "fc2"
    kind: str  # "input", "conv", "pool", "fc" or "output"
    values: np.ndarray  # C×H×W maps (input, conv, pool) or a vector (fc, output)
    shown: list[int]  # the maps or units drawn: every map; the most active fc units; every output
    feeds: dict[int, list[int]] = field(
        default_factory=dict
    )  # shown unit → previous stage's shown units, strongest first
    layer: int = -1  # index of the model child that made it (-1 for the input)

    @property
    def maps(self) -> bool:
        return self.values.ndim == 3


@dataclass(kw_only=True)
class Overview:
    stages: list[Stage]
    logits: np.ndarray
    probabilities: np.ndarray  # softmax of logits / temperature: the answer's probabilities
    prediction: int
    temperature: float = 1.0  # the checkpoint's calibration (``cnnkit.train.calibration``)

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise CnnkitError("explore.errors.no_stage", name=name)

    def path(self, per_stage: int = 6) -> set[tuple[str, int]]:
        """The units that feed the prediction most, stage by stage back to the input: (stage, unit)."""
        lit = {(self.stages[-1].name, self.prediction)}
        frontier = [self.prediction]
        for stage, before in zip(self.stages[:0:-1], self.stages[-2::-1]):
            found = []
            for unit in frontier:
                for feeder in stage.feeds.get(unit, [])[:2]:
                    if feeder not in found:
                        found.append(feeder)
            frontier = found[:per_stage]
            lit |= {(before.name, u) for u in frontier}
        return lit


def _conv_feeds(conv: nn.Conv2d, a: torch.Tensor, top: int = FEEDERS) -> dict[int, list[int]]:
    """For each output channel, the input channels whose part of the sum is the largest (summed over positions)."""
    c_in, c_out = conv.in_channels, conv.out_channels
    if conv.groups != 1:
        return {}
    weight = conv.weight.detach().transpose(0, 1).reshape(c_in * c_out, 1, *conv.kernel_size)
    parts = F.conv2d(a, weight, stride=conv.stride, padding=conv.padding, dilation=conv.dilation, groups=c_in)
    share = parts[0].reshape(c_in, c_out, -1).sum(-1)  # input channel × output channel
    order = share.argsort(0, descending=True)[:top]
    return {j: order[:, j].tolist() for j in range(c_out)}


def _linear_feeds(
    linear: nn.Linear, before: Stage, a: torch.Tensor, units: list[int], top: int = FEEDERS
) -> dict[int, list[int]]:
    """For each shown unit, the previous stage's shown units (or maps) that add the most to it."""
    weight = linear.weight.detach()[units]  # shown × inputs
    parts = weight * a.reshape(1, -1)
    if before.maps:  # the flattened maps: a map's part is the sum over its pixels
        parts = parts.reshape(len(units), before.values.shape[0], -1).sum(-1)
    parts = parts[:, before.shown]
    order = parts.argsort(1, descending=True)[:, :top]
    return {u: [before.shown[i] for i in order[k].tolist()] for k, u in enumerate(units)}


def _kind(layer: nn.Module) -> str | None:
    if isinstance(layer, nn.Conv2d):
        return "conv"
    if isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        return "pool"
    if isinstance(layer, nn.Linear):
        return "fc"
    return None


@one_thread()
@torch.inference_mode()
def overview(ckpt: Checkpoint, image28: np.ndarray, top_units: int = TOP_UNITS) -> Overview:
    """Every stage of ``ckpt``'s network for one 28×28 image in [0, 1] (ink bright)."""
    model = ckpt.model.eval()
    children = list(model.named_children())
    if not children:
        raise CnnkitError("explore.errors.not_sequential")
    x = normalize(image28, ckpt.mean, ckpt.std)
    stages = [Stage(name="input", kind="input", values=x[0].numpy(), shown=list(range(x.shape[1])))]
    h, pending = x, None  # pending: the stage a conv or fc layer opened, closed by the next such layer
    for index, (name, layer) in enumerate(children):
        kind = _kind(layer)
        if (kind or isinstance(layer, nn.Flatten)) and pending:  # the block before ends here
            stages.append(pending(h))
            pending = None
        if kind:
            before, a = stages[-1], h
            h = layer(h)
            pending = _opener(name, kind, layer, index, before, a, top_units)
        else:
            h = layer(h)
    stages.append(pending(h))
    last = stages[-1]
    if last.kind != "fc" or h.ndim != 2:
        raise CnnkitError("explore.errors.not_sequential")
    last.kind, last.shown = "output", list(range(h.shape[1]))
    linear = children[last.layer][1]
    last.feeds = _linear_feeds(linear, stages[-2], _input_of(stages[-2]), last.shown)
    logits = h[0].numpy()
    probs = softmax_steps(logits, ckpt.temperature).probabilities
    return Overview(
        stages=stages, logits=logits, probabilities=probs, prediction=int(probs.argmax()), temperature=ckpt.temperature
    )


def _input_of(stage: Stage) -> torch.Tensor:
    return torch.as_tensor(stage.values)[None]


def _opener(name, kind, layer, index, before: Stage, a: torch.Tensor, top_units: int):
    """A function that makes the stage of ``layer`` from the output of its block (after activation etc.)."""

    def make(out: torch.Tensor) -> Stage:
        values = out[0].numpy().copy()
        if kind == "fc":
            shown = np.argsort(-values, kind="stable")[:top_units].tolist()
            feeds = _linear_feeds(layer, before, a, shown)
        else:
            shown = list(range(values.shape[0]))
            feeds = _conv_feeds(layer, a) if kind == "conv" else {c: [c] for c in shown}
        return Stage(name=name, kind=kind, values=values, shown=shown, feeds=feeds, layer=index)

    return make


# ---------------------------------------------------------------- one map taken apart


@dataclass(frozen=True, kw_only=True)
class Field:
    """The square of the input that one output position sees (clipped to the image)."""

    top: int
    left: int
    bottom: int  # inclusive
    right: int
    size: int  # the side before clipping


@dataclass(kw_only=True)
class MapDetail:
    stage: str
    channel: int
    map: np.ndarray  # H×W
    kernels: np.ndarray | None  # C_in×k×k: the weights of the conv that made it (for a pooled map: its conv's)
    kernel_layer: str | None
    peak: tuple[int, int]  # the map's most active position
    field: Field  # what the peak sees of the input
    best_pixel: tuple[int, int]  # the input pixel whose increase raises the peak most (largest gradient)


def receptive_field(ckpt: Checkpoint, stage: Stage, row: int, col: int) -> Field:
    """The input square that the output at ``row``, ``col`` of ``stage`` sees (``receptive_fields``)."""
    reached = [reach for reach in receptive_fields(ckpt.model) if reach.index <= stage.layer]
    start, jump, side = (reached[-1].start, reached[-1].jump, reached[-1].field) if reached else (0.0, 1, 1)
    half = (side - 1) / 2
    r, c = start + row * jump, start + col * jump
    return Field(
        top=max(0, math.floor(r - half)),
        left=max(0, math.floor(c - half)),
        bottom=min(27, math.ceil(r + half)),
        right=min(27, math.ceil(c + half)),
        size=int(side),
    )


@one_thread()
def map_detail(ckpt: Checkpoint, image28: np.ndarray, view: Overview, stage_name: str, channel: int) -> MapDetail:
    """A feature map large: the kernels that made it, the receptive field of its most active position, and
    the input pixel with the largest gradient of that position's value."""
    stage = view.stage(stage_name)
    if not stage.maps or stage.kind == "input":
        raise CnnkitError("explore.errors.no_map", name=stage_name)
    if not 0 <= channel < stage.values.shape[0]:
        raise CnnkitError("explore.errors.no_channel", name=stage_name, channel=channel, count=stage.values.shape[0])
    children = list(ckpt.model.named_children())
    conv_index = max(i for i, (_, layer) in enumerate(children[: stage.layer + 1]) if isinstance(layer, nn.Conv2d))
    conv_name, conv = children[conv_index]
    kernels = conv.weight.detach()[channel].numpy().copy()
    values = stage.values[channel]
    peak = np.unravel_index(int(values.argmax()), values.shape)
    x = normalize(image28, ckpt.mean, ckpt.std).requires_grad_(True)
    with GLOBAL_HOOKS, torch.enable_grad():
        h = x
        for _, layer in children[: stage.layer + 1]:
            h = layer(h)
        for _, layer in children[stage.layer + 1 :]:  # the block's activation (and batchnorm) after its layer
            if _kind(layer) or isinstance(layer, (nn.Flatten, nn.Dropout)):
                break
            h = layer(h)
        (grad,) = torch.autograd.grad(h[0, channel, peak[0], peak[1]], x)
    best = np.unravel_index(int(grad[0, 0].argmax()), (28, 28))
    return MapDetail(
        stage=stage_name,
        channel=channel,
        map=values,
        kernels=kernels,
        kernel_layer=conv_name,
        peak=(int(peak[0]), int(peak[1])),
        field=receptive_field(ckpt, stage, *peak),
        best_pixel=(int(best[0]), int(best[1])),
    )


# ---------------------------------------------------------------- softmax


@dataclass(frozen=True, kw_only=True)
class Softmax:
    logits: np.ndarray  # z
    temperature: float  # T: the scores are divided by it first
    shifted: np.ndarray  # z/T − max z/T (softmax is the same; the exponentials cannot overflow)
    exps: np.ndarray  # e^(z/T − max z/T)
    total: float  # their sum
    probabilities: np.ndarray  # exps / total


def softmax_steps(logits: np.ndarray, temperature: float = 1.0) -> Softmax:
    """The softmax of the scores divided by the model's temperature, step by step."""
    z = np.asarray(logits, dtype=np.float64)
    scaled = z / temperature
    shifted = scaled - scaled.max()
    exps = np.exp(shifted)
    return Softmax(
        logits=z,
        temperature=temperature,
        shifted=shifted,
        exps=exps,
        total=float(exps.sum()),
        probabilities=exps / exps.sum(),
    )


# ---------------------------------------------------------------- where each map or unit is drawn


@dataclass(frozen=True, kw_only=True)
class Tile:
    stage: str
    unit: int
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2


COLUMN_HEIGHT = 16.0  # every column of the overview is this tall, in data units
GAP = 0.8  # between columns


def _width(stage: Stage) -> float:
    """The width a column may take (maps use what their square grid needs of it)."""
    if stage.kind == "input":
        return 5.0
    return 3.0 if stage.maps else 2.0


@dataclass(frozen=True, kw_only=True)
class Column:
    """Where one stage is drawn: its left edge, and for maps the grid (``cols`` maps a row, each ``side`` wide)."""

    stage: Stage
    x: float
    width: float
    cols: int = 1
    rows: int = 1
    side: float = 0.0
    top: float = 0.0


def columns(view: Overview) -> list[Column]:
    out, x = [], 0.0
    for stage in view.stages:
        width, n = _width(stage), len(stage.shown)
        if stage.maps:
            cols = max(1, round(math.sqrt(n * width / COLUMN_HEIGHT)))
            rows = math.ceil(n / cols)
            side = min(width / cols, COLUMN_HEIGHT / rows)
            width = cols * side
            out.append(
                Column(
                    stage=stage,
                    x=x,
                    width=width,
                    cols=cols,
                    rows=rows,
                    side=side,
                    top=(COLUMN_HEIGHT - rows * side) / 2,
                )
            )
        else:
            out.append(Column(stage=stage, x=x, width=width, rows=n, side=COLUMN_HEIGHT / n))
        x += width + GAP
    return out


def tiles(view: Overview) -> list[Tile]:
    """Where each shown map or unit sits in the overview: columns left to right, maps in a grid (the last
    pixel of each cell is a gap), fc units and outputs as a column of dots."""
    out = []
    for col in columns(view):
        stage = col.stage
        for k, unit in enumerate(stage.shown):
            if stage.maps:
                r, c = divmod(k, col.cols)
                inner = col.side * stage.values.shape[-1] / (stage.values.shape[-1] + 1)
                x0, y0 = col.x + c * col.side, col.top + r * col.side
                out.append(Tile(stage=stage.name, unit=unit, x0=x0, y0=y0, x1=x0 + inner, y1=y0 + inner))
            else:
                out.append(
                    Tile(
                        stage=stage.name,
                        unit=unit,
                        x0=col.x,
                        x1=col.x + 0.8 * col.side,
                        y0=k * col.side + 0.1 * col.side,
                        y1=(k + 0.9) * col.side,
                    )
                )
    return out


def tile_at(view: Overview, x: float, y: float) -> Tile | None:
    """The map or unit drawn at (x, y) (a click on the overview), or None."""
    for tile in tiles(view):
        if tile.x0 <= x <= tile.x1 and tile.y0 <= y <= tile.y1:
            return tile
    return None
