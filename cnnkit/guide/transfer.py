"""Transfer learning in numbers: freeze a pretrained network, give it a new head, count what still learns."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import torch
from torch import nn

from cnnkit.errors import CnnkitError
from cnnkit.guide.meta import build_on_meta
from cnnkit.nets.builder import count_parameters


@dataclass(frozen=True)
class TransferPlan:
    builder: str
    head: str  # dotted path of the replaced layer, e.g. "fc" or "classifier.1"
    in_features: int
    num_classes: int
    trainable: int
    frozen: int

    @property
    def total(self) -> int:
        return self.trainable + self.frozen


def _last_linear(builder: str, model: nn.Module) -> tuple[str, nn.Linear]:
    linears = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:  # SqueezeNet classifies with a 1×1 convolution
        raise CnnkitError("guide.errors.no_linear_head", builder=builder)
    return linears[-1]


@cache
def transfer_learning(builder: str = "resnet50", num_classes: int = 10) -> TransferPlan:
    """Do the recipe on ``meta`` — freeze every parameter, replace the last Linear layer by a new one
    with ``num_classes`` outputs — and count trainable and frozen parameters."""
    if num_classes < 1:
        raise CnnkitError("guide.errors.num_classes", num_classes=num_classes)
    model = build_on_meta(builder)
    for p in model.parameters():
        p.requires_grad = False
    head, old = _last_linear(builder, model)
    parent, _, attr = head.rpartition(".")
    with torch.device("meta"):
        setattr(model.get_submodule(parent), attr, nn.Linear(old.in_features, num_classes))
    trainable = count_parameters(model, trainable_only=True)
    return TransferPlan(builder, head, old.in_features, num_classes, trainable, count_parameters(model) - trainable)
