"""Networks on the ``meta`` device, and what torchvision ships beside its weights.

Nothing here loads weights: a model built on ``meta`` has shapes but no data, so even VGG's
138 M parameters cost no memory, and a forward pass only propagates shapes. Multiply–adds are
counted during such a pass with ``torch.utils.flop_counter``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import cache, lru_cache
from typing import TypeVar

import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnkit.errors import CnnkitError
from cnnkit.guide.comparison import WeightsInfo, default_input_size, min_input_size
from cnnkit.guide.registry import architecture_of, is_cnnkit
from cnnkit.nets.builder import ModelConfig, build_model
from cnnkit.nets.module_hooks import GLOBAL_HOOKS

# How the weights' builders configure these models, so that what we build is what the weights fit.
BUILD_OPTIONS = {
    "googlenet": {"aux_logits": False, "init_weights": False},
    "inception_v3": {"init_weights": False},
}
T = TypeVar("T")


@cache
def read_weights_info(builder: str) -> WeightsInfo | None:
    """The default weights' metadata as torchvision gives it, or None for cnnkit's networks (they have no
    published weights). ``cnnkit.guide.comparison.weights_info`` gives the shipped copy without torch."""
    if is_cnnkit(builder):
        return None
    weights = torchvision.models.get_model_weights(builder).DEFAULT
    meta = weights.meta
    imagenet = meta["_metrics"]["ImageNet-1K"]
    return WeightsInfo(
        type(weights).__name__,
        weights.name,
        meta["num_params"],
        imagenet["acc@1"],
        imagenet["acc@5"],
        meta["_ops"],
        meta["_file_size"],
        weights.transforms().crop_size[0],
        meta["min_size"][0],
    )


def input_shape(builder: str, size: int | None = None) -> tuple[int, int, int, int]:
    """The batch-of-one input shape at ``size`` (default: the size the model was trained at)."""
    if is_cnnkit(builder):
        config = ModelConfig(builder)
        return 1, config.in_channels, config.image_size, config.image_size
    size = size or default_input_size(builder)
    if size < min_input_size(builder):
        raise CnnkitError("errors.input_too_small", builder=builder, least=min_input_size(builder), size=size)
    return 1, 3, size, size


def build_on_meta(builder: str) -> nn.Module:
    """The network without weights, in eval mode: shapes only, built in a fraction of a second."""
    architecture_of(builder)  # a clear error for names outside the guide
    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # GoogLeNet/Inception's note on init_weights
        model = (
            build_model(ModelConfig(builder))
            if is_cnnkit(builder)
            else torchvision.models.get_model(builder, weights=None, **BUILD_OPTIONS.get(builder, {}))
        )
    return model.eval()


@lru_cache(maxsize=4)
def shared_model(builder: str) -> nn.Module:
    """One meta model per builder for read-only measurements (never modify what this returns)."""
    return build_on_meta(builder)


def count_macs(forward: Callable[[], T]) -> tuple[int, dict[str, int], T]:
    """Run ``forward()`` and count its multiply–adds: the total, per module name (``layer1.0.conv1``), and
    what ``forward`` returned. FlopCounterMode counts convolutions and matrix products, 2 FLOPs a MAC."""
    counter = FlopCounterMode(display=False)
    with GLOBAL_HOOKS, counter, torch.no_grad():
        result = forward()
    per_module = {}
    for path, ops in counter.get_flop_counts().items():
        _, _, name = path.partition(".")  # "ResNet.layer1.0" → "layer1.0"
        per_module[name] = sum(ops.values()) // 2
    return counter.get_total_flops() // 2, per_module, result
