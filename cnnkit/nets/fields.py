"""Receptive fields: how much of the input one output of a convolution or pooling layer sees, and where.

Each window of side ``k`` (dilation ``d``) adds ``d(k − 1)`` steps of the current jump to the field; each stride
multiplies the jump; padding ``p`` moves the centre of output 0 by ``((k − 1)d/2 − p)`` jumps.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

WINDOWED = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)


@dataclass(frozen=True, kw_only=True)
class Reach:
    """What the output of one windowed layer sees of the model's input."""

    index: int  # the layer's position among the model's children
    name: str
    layer: nn.Module
    kernel: int
    stride: int
    padding: int
    dilation: int
    start: float  # the centre of output 0, in input pixels
    jump: int  # input pixels between two neighbouring outputs
    field: int  # side of the input square one output sees


def _first(value) -> int:
    return value[0] if isinstance(value, tuple) else value


def receptive_fields(model: nn.Module) -> list[Reach]:
    """Every convolution and pooling before ``Flatten``, in order, with what one of its outputs sees (after
    ``Flatten`` every neuron sees the whole picture). Only the layers' settings are read: a model on the
    ``meta`` device will do."""
    start, jump, field, reaches = 0.0, 1, 1, []
    for index, (name, layer) in enumerate(model.named_children()):
        if isinstance(layer, nn.Flatten):
            break
        if not isinstance(layer, WINDOWED):
            continue
        k, s, p = _first(layer.kernel_size), _first(layer.stride), _first(layer.padding)
        d = _first(getattr(layer, "dilation", 1))
        start += ((k - 1) * d / 2 - p) * jump
        field += d * (k - 1) * jump
        jump *= s
        reaches.append(
            Reach(
                index=index,
                name=name,
                layer=layer,
                kernel=k,
                stride=s,
                padding=p,
                dilation=d,
                start=start,
                jump=jump,
                field=field,
            )
        )
    return reaches
