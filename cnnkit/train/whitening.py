"""A whitened first layer (as in Keller Jordan's airbench): the first convolution starts as filters that
decorrelate the training images' patches, instead of random ones.

The covariance of the k×k patches (C·k·k values each) has eigenvectors; a filter along the eigenvector ``v``
scaled by ``1/sqrt(λ + eps)`` turns a patch into one value of variance ~1, uncorrelated with the other such
values. The first convolution gets the filters of the largest eigenvalues and their negatives (so that a ReLU
after it keeps both signs); channels beyond twice the patch's size keep their random start. Every filter
still learns: this is where training starts, not a frozen layer. docs/speed.md measures what it buys.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cnnkit.errors import CnnkitError

PATCHES = 200_000  # patches whose covariance is taken: plenty for the ≤ 3·7·7 values of a first layer's patch
EPS = 5e-4  # added to each eigenvalue: the faintest directions are not blown up without bound


def first_conv(model: nn.Module) -> nn.Conv2d:
    """The model's first layer with weights, which must be a plain (ungrouped) 2-D convolution."""
    layer = next((m for m in model.modules() if not list(m.children()) and list(m.parameters(recurse=False))), None)
    if not isinstance(layer, nn.Conv2d) or layer.groups != 1:
        raise CnnkitError("errors.whiten_needs_conv")
    return layer


@torch.no_grad()
def whitening_filters(images: torch.Tensor, conv: nn.Conv2d, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The weights and biases of ``2·n`` whitening filters shaped for ``conv`` (n: as many of the strongest
    directions as fit), from the patches of a seeded random sample of ``images`` (N×C×H×W, normalized): each
    filter's bias takes the patches' mean off, so its outputs are centred."""
    positions = _positions(images.shape[-2:], conv)
    count = min(len(images), max(1, -(-PATCHES // positions)))
    chosen = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:count]
    sample = images[chosen.to(images.device)].float()
    patches = F.unfold(sample, conv.kernel_size, dilation=conv.dilation, stride=conv.stride)
    patches = patches.transpose(1, 2).reshape(-1, patches.shape[1]).cpu().double()
    mean = patches.mean(0)
    values, vectors = torch.linalg.eigh(torch.cov(patches.T, correction=0))  # ascending; defined for one patch
    n = min(conv.out_channels // 2, len(values))
    filters = (vectors[:, -n:].flip(1) / torch.sqrt(values[-n:].flip(0).clamp(min=0) + EPS)).T
    weight = torch.cat([filters, -filters])
    return weight.reshape(2 * n, *conv.weight.shape[1:]).float(), -(weight @ mean).float()


def whiten_first_conv(model: nn.Module, images: torch.Tensor, seed: int = 0) -> None:
    """Start ``model``'s first convolution as whitening filters of ``images``' patches (``whitening_filters``)."""
    conv = first_conv(model)
    weight, bias = whitening_filters(images, conv, seed)
    with torch.no_grad():
        conv.weight[: len(weight)] = weight.to(conv.weight)
        if conv.bias is not None:
            conv.bias[: len(bias)] = bias.to(conv.bias)


def _positions(size: torch.Size, conv: nn.Conv2d) -> int:
    """How many windows of ``conv`` (unpadded) fit in an image of ``size``."""
    sides = [
        (side - dilation * (kernel - 1) - 1) // stride + 1
        for side, kernel, stride, dilation in zip(size, conv.kernel_size, conv.stride, conv.dilation)
    ]
    if min(sides) < 1:
        raise CnnkitError("errors.whiten_needs_conv")
    return sides[0] * sides[1]
