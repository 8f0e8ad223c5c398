"""PyTorch code a learner can copy: load a network with the current torchvision weights enum, spell out
cnnkit's networks in plain PyTorch, and the transfer-learning recipe."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnnkit.guide.comparison import weights_info
from cnnkit.guide.registry import is_cnnkit

if TYPE_CHECKING:
    from cnnkit.guide.transfer import TransferPlan

_LOAD = """\
from torchvision.models import {builder}, {enum}

weights = {enum}.{member}
model = {builder}(weights=weights).eval()
preprocess = weights.transforms()
categories = weights.meta["categories"]
"""

_PLAIN = """\
from collections import OrderedDict

from torch import nn

model = nn.Sequential(OrderedDict([
{layers}
]))
"""

_TRANSFER = """\
import torch
from torch import nn
from torchvision.models import {builder}, {enum}

model = {builder}(weights={enum}.{member})
for p in model.parameters():
    p.requires_grad = False
{head} = nn.Linear({in_features}, {num_classes})
optimizer = torch.optim.Adam({head}.parameters(), lr=1e-3)
"""


def load_snippet(builder: str) -> str:
    """How to get the network: torchvision's builder with its default weights, or, for cnnkit's own
    networks, the same layers (and layer names, so checkpoints load) in plain PyTorch."""
    if is_cnnkit(builder):
        from cnnkit.guide.meta import shared_model  # torch: the card of a torchvision network needs none

        layers = "\n".join(f"    ({name!r}, nn.{module!r})," for name, module in shared_model(builder).named_children())
        return _PLAIN.format(layers=layers)
    info = weights_info(builder)
    return _LOAD.format(builder=builder, enum=info.enum, member=info.member)


def _python_path(dotted: str) -> str:
    """``classifier.1`` → ``model.classifier[1]``."""
    return "model" + "".join(f"[{part}]" if part.isdigit() else f".{part}" for part in dotted.split("."))


def transfer_snippet(plan: TransferPlan) -> str:
    info = weights_info(plan.builder)
    return _TRANSFER.format(
        builder=plan.builder,
        enum=info.enum,
        member=info.member,
        head=_python_path(plan.head),
        in_features=plan.in_features,
        num_classes=plan.num_classes,
    )
