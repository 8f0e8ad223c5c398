"""A network's layer table measured with one forward pass on ``meta`` (torch and torchvision): what
``cnnkit.guide.profiles.profile`` gives when the shipped figures do not hold the builder at that size."""

from __future__ import annotations

from torch import nn

from cnnkit.guide.comparison import Totals
from cnnkit.guide.meta import count_macs, input_shape, shared_model
from cnnkit.guide.profiles import TABLE_DEPTH, Layer, Profile
from cnnkit.nets.builder import count_parameters
from cnnkit.nets.summary import layer_table

_CONTAINERS = (nn.Sequential, nn.ModuleList)


def _parents_first(rows: list) -> list:
    """Forward hooks fire when a module finishes, so a container comes after its contents; put each row
    where its first sub-module ran, ahead of it."""
    first: dict[str, int] = {}
    for i, row in enumerate(rows):
        parts = row.name.split(".")
        for end in range(1, len(parts) + 1):
            first.setdefault(".".join(parts[:end]), i)
    return sorted(rows, key=lambda row: (first[row.name], row.depth))


def _block_names(module: nn.Module, prefix: str = "") -> list[str]:
    names = []
    for name, child in module.named_children():
        path = f"{prefix}{name}"
        names += _block_names(child, path + ".") if type(child) in _CONTAINERS else [path]
    return names


def measure(builder: str, size: int | None = None) -> Profile:
    """Every layer of ``builder`` at a ``size``×``size`` input with its output shape, parameters and MACs."""
    model = shared_model(builder)
    shape = input_shape(builder, size)
    blocks = _block_names(model)
    depth = max([TABLE_DEPTH] + [name.count(".") + 1 for name in blocks])
    total, macs, rows = count_macs(lambda: layer_table(model, shape, max_depth=depth, device="meta"))
    layers = tuple(
        Layer(r.name, r.type, r.output_shape, r.params, r.depth, macs.get(r.name, 0)) for r in _parents_first(rows)
    )
    return Profile(Totals(builder, shape[-1], count_parameters(model), total), shape, layers, tuple(blocks))
