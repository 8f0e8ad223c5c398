"""A network's totals — parameters and multiply–adds — measured on ``meta`` (torch and torchvision)."""

from __future__ import annotations

from functools import cache

import torch

from cnnkit.guide.comparison import Totals
from cnnkit.guide.meta import count_macs, input_shape, shared_model
from cnnkit.nets.builder import count_parameters


@cache
def totals(builder: str, size: int | None = None) -> Totals:
    """Parameters and multiply–adds of ``builder`` at a ``size``×``size`` input (default: its own)."""
    model = shared_model(builder)
    shape = input_shape(builder, size)
    macs, _, _ = count_macs(lambda: model(torch.zeros(shape, device="meta")))
    return Totals(builder, shape[-1], count_parameters(model), macs)
