"""Inside the network for one input: the feature maps of each conv layer, and which pixels mattered.

A network of the builder has its children run one by one (whatever its input and its layers), so nothing is
attached to a model that other sessions share. A transfer network (``TransferNet``: a torchvision backbone)
is explained on the picture as it reads it (its ``prep``'s crop), with Grad-CAM on the backbone's last
convolution, whose output a forward hook keeps for the calling thread only. Gradients are taken with
``torch.autograd.grad`` so that no parameter's ``.grad`` changes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnkit.data.preprocess import normalize
from cnnkit.infer.predict import one_thread
from cnnkit.nets.checkpoints import Checkpoint
from cnnkit.nets.module_hooks import GLOBAL_HOOKS
from cnnkit.nets.transfer import TransferNet

TRANSFER_MAPS = 64  # maps of a transfer network's last convolution shown (it has hundreds)


@dataclass
class LayerMaps:
    name: str  # the conv layer, e.g. "conv1"
    maps: np.ndarray  # C×H×W: its output after the activation (what the next layer sees)


@dataclass
class Explanation:
    target: int  # index of the class explained (the top prediction unless asked otherwise)
    layers: list[LayerMaps]
    saliency: np.ndarray  # H×W in [0, 1]: |∂ score / ∂ pixel| (the largest over the colour channels)
    gradcam: np.ndarray | None  # H×W in [0, 1]: Grad-CAM on the last conv layer, upsampled; None without one
    gradcam_layer: str | None
    seen: np.ndarray | None = None  # H×W×3 in [0, 1]: the picture the maps lie on where it is not the input


def _scaled(a: torch.Tensor) -> np.ndarray:
    top = a.max()
    return (a / top if top > 0 else torch.zeros_like(a)).numpy()


def conv_blocks(model: nn.Module, x: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """``model``'s children run one by one on ``x``: the output of each conv block (conv → (batchnorm) →
    activation, up to a pooling or a flatten) by its conv's name, and the model's output."""
    outputs: dict[str, torch.Tensor] = {}
    block, h = None, x
    for name, layer in model.named_children():
        h = layer(h)
        if isinstance(layer, nn.Conv2d):
            block = name
        elif isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d, nn.Flatten)):
            block = None
        if block:  # the last one written is the block's output
            outputs[block] = h
    return outputs, h


def explain(ckpt: Checkpoint, image28: np.ndarray, target: int | None = None) -> Explanation:
    """Feature maps, saliency and Grad-CAM of ``ckpt`` for one 28×28 image in [0, 1] (ink bright)."""
    return explain_input(ckpt, normalize(image28, ckpt.mean, ckpt.std), target)


def last_conv(model: nn.Module) -> tuple[str, nn.Conv2d]:
    """The last ``Conv2d`` among ``model``'s modules (``named_modules`` order), with its dotted name."""
    convs = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    return convs[-1]


@contextmanager
def kept_output(module: nn.Module) -> Iterator[list[torch.Tensor]]:
    """The outputs of ``module`` while the block runs, from calls of this thread only (the model is shared)."""
    kept: list[torch.Tensor] = []
    me = threading.get_ident()
    hook = module.register_forward_hook(
        lambda _m, _args, out: kept.append(out) if threading.get_ident() == me else None
    )
    try:
        yield kept
    finally:
        hook.remove()


def _gradcam(act: torch.Tensor, grad: torch.Tensor, size: torch.Size) -> np.ndarray:
    """Grad-CAM: the maps weighed by their mean gradient (channel importance), summed, ReLU'd, upsampled."""
    weights = grad.mean((2, 3), keepdim=True)
    cam = F.interpolate(F.relu((weights * act).sum(1, keepdim=True)), size=size, mode="bilinear", align_corners=False)
    return _scaled(cam[0, 0])


def _saliency(grad: torch.Tensor) -> np.ndarray:
    return _scaled(grad.abs()[0].amax(0))


@one_thread()
def explain_input(ckpt: Checkpoint, x: torch.Tensor, target: int | None = None) -> Explanation:
    """Feature maps, saliency and Grad-CAM of ``ckpt`` for one normalized 1×C×H×W input, as it was trained on."""
    model = ckpt.model.eval()
    if isinstance(model, TransferNet):
        return _explain_transfer(model, x, target)
    x = x.detach().clone().requires_grad_(True)
    with GLOBAL_HOOKS, torch.enable_grad():
        outputs, h = conv_blocks(model, x)
        target = int(h.argmax(1)) if target is None else target
        last = list(outputs)[-1] if outputs else None
        grads = torch.autograd.grad(h[0, target], [x] + ([outputs[last]] if last else []))
    layers = [LayerMaps(name, out.detach()[0].numpy()) for name, out in outputs.items()]
    if last is None:  # a network without convolutions: no maps to weigh
        return Explanation(target, layers, _saliency(grads[0]), None, None)
    return Explanation(
        target, layers, _saliency(grads[0]), _gradcam(outputs[last].detach(), grads[1], x.shape[2:]), last
    )


def _explain_transfer(model: TransferNet, x: torch.Tensor, target: int | None) -> Explanation:
    """A ``TransferNet`` on the crop its ``prep`` makes of ``x``: the maps of the backbone's last convolution,
    saliency and Grad-CAM on that crop, and the crop as a picture (ImageNet's normalization undone). Of the
    hundreds of maps, the ``TRANSFER_MAPS`` that Grad-CAM weighs most are kept, in that order."""
    name, conv = last_conv(model.backbone)
    with GLOBAL_HOOKS, torch.no_grad():
        crop = model.prep(x)
    crop.requires_grad_(True)
    with GLOBAL_HOOKS, torch.enable_grad(), kept_output(conv) as kept:
        h = model[1:](crop)
        target = int(h.argmax(1)) if target is None else target
        grads = torch.autograd.grad(h[0, target], [crop, kept[0]])
    act = kept[0].detach()
    mean, std = (torch.tensor(v).view(3, 1, 1) for v in (model.prep.mean, model.prep.std))
    seen = (crop.detach()[0] * std + mean).clamp(0, 1).permute(1, 2, 0).numpy()
    layer = f"backbone.{name}"
    gradcam = _gradcam(act, grads[1], crop.shape[2:])
    weighed = grads[1][0].mean((1, 2)).argsort(descending=True)[:TRANSFER_MAPS]  # the maps that count most
    return Explanation(target, [LayerMaps(layer, act[0, weighed].numpy())], _saliency(grads[0]), gradcam, layer, seen)
