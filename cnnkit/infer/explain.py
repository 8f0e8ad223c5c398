"""Inside the network for one input: the feature maps of each conv layer, and which pixels mattered.

The model's children are run one by one (any sequential network of the builder, whatever its input and its
layers), so nothing is attached to a model that other sessions share, and gradients are taken with
``torch.autograd.grad`` so that no parameter's ``.grad`` changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnkit.data.preprocess import normalize
from cnnkit.infer.predict import one_thread
from cnnkit.nets.checkpoints import Checkpoint
from cnnkit.nets.module_hooks import GLOBAL_HOOKS


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


@one_thread()
def explain_input(ckpt: Checkpoint, x: torch.Tensor, target: int | None = None) -> Explanation:
    """Feature maps, saliency and Grad-CAM of ``ckpt`` for one normalized 1×C×H×W input, as it was trained on."""
    model = ckpt.model.eval()
    x = x.detach().clone().requires_grad_(True)
    with GLOBAL_HOOKS, torch.enable_grad():
        outputs, h = conv_blocks(model, x)
        target = int(h.argmax(1)) if target is None else target
        last = list(outputs)[-1] if outputs else None
        grads = torch.autograd.grad(h[0, target], [x] + ([outputs[last]] if last else []))
    layers = [LayerMaps(name, out.detach()[0].numpy()) for name, out in outputs.items()]
    saliency = _scaled(grads[0].abs()[0].amax(0))
    if last is None:  # a network without convolutions: no maps to weigh
        return Explanation(target, layers, saliency, None, None)
    act = outputs[last].detach()
    weights = grads[1].mean((2, 3), keepdim=True)  # Grad-CAM: channel importance = mean gradient
    cam = F.interpolate(
        F.relu((weights * act).sum(1, keepdim=True)), size=x.shape[2:], mode="bilinear", align_corners=False
    )
    return Explanation(target, layers, saliency, _scaled(cam[0, 0]), last)
