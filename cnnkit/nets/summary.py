"""Layer tables (name, type, output shape, parameters) of any model, by forward hooks.

Works on the ``meta`` device too, so that big torchvision models are described without weights.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnkit.nets.rows import LayerRow


def _shape(output) -> tuple[int, ...]:
    if isinstance(output, torch.Tensor):
        return tuple(output.shape)
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return tuple(output[0].shape)
    logits = getattr(output, "logits", None)  # e.g. GoogLeNet's named tuple outputs
    return tuple(logits.shape) if isinstance(logits, torch.Tensor) else ()


def layer_table(
    model: nn.Module, input_shape: tuple[int, ...], max_depth: int = 1, device: torch.device | str | None = None
) -> list[LayerRow]:
    """Rows for the modules up to ``max_depth`` levels below the root, in execution order.

    ``params`` counts a module's own parameters including its children's.
    """
    if device is None:
        device = next(model.parameters()).device
    rows: list[LayerRow] = []
    handles = []
    for name, module in model.named_modules():
        depth = name.count(".") + 1 if name else 0
        if depth == 0 or depth > max_depth:
            continue

        def hook(mod, _inp, out, name=name, depth=depth):
            rows.append(
                LayerRow(name, type(mod).__name__, _shape(out), sum(p.numel() for p in mod.parameters()), depth)
            )

        handles.append(module.register_forward_hook(hook))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(input_shape, device=device))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return rows


def model_summary(config, info) -> tuple[int, list[LayerRow]]:
    """The parameter count and the layer table of ``config`` (a ``ModelConfig``) for a dataset's ``info``; a
    torchvision backbone is described on ``meta`` (no weights to make: VGG-16 has 138 million)."""
    from cnnkit.nets.builder import build_model, count_parameters

    config = config.for_data(info)
    device = "meta" if config.backbone else "cpu"
    with torch.device(device):
        model = build_model(config)
    return count_parameters(model), layer_table(model, (1, info.channels, info.size, info.size), device=device)
