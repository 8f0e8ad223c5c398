"""A network layer by layer, from one forward pass on ``meta``: the layer table and the chain of blocks.

The chain is what a diagram draws: the root's children, with plain ``nn.Sequential`` /
``nn.ModuleList`` containers opened up (a ResNet's ``layer1`` becomes its Bottlenecks), and runs of
identical blocks folded into one (``Bottleneck ×3``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from torch import nn

from cnnkit.guide.meta import count_macs, input_shape, shared_model
from cnnkit.guide.totals import Totals
from cnnkit.nets.builder import count_parameters
from cnnkit.nets.layers import Plan
from cnnkit.nets.summary import LayerRow, layer_table

_CONTAINERS = (nn.Sequential, nn.ModuleList)
TABLE_DEPTH = 4  # the deepest level a layer table opens; hooks on deeper modules would only cost time


@dataclass(frozen=True)
class Layer(LayerRow):
    """A row of the layer table with the multiply–adds of its module."""

    macs: int = 0


@dataclass(frozen=True)
class Profile:
    totals: Totals  # the totals, from the same pass
    input_shape: tuple[int, ...]
    layers: tuple[Layer, ...]  # modules that ran, down to TABLE_DEPTH, in execution order, containers first
    blocks: tuple[str, ...]  # names of the modules the chain is made of

    def table(self, max_depth: int = 1) -> list[Layer]:
        return [layer for layer in self.layers if layer.depth <= max_depth]


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


@lru_cache(maxsize=32)
def profile(builder: str, size: int | None = None) -> Profile:
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


@dataclass(frozen=True)
class ChainBlock:
    type: str
    output_shape: tuple[int, ...]
    names: tuple[str, ...]  # the folded modules, first to last
    params: int
    macs: int

    @property
    def count(self) -> int:
        return len(self.names)

    @property
    def stage(self) -> str:
        """The output resolution (``56×56``); blocks at one resolution form a stage. ``""`` for vectors."""
        return "×".join(map(str, self.output_shape[2:])) if len(self.output_shape) == 4 else ""


def chain(profile: Profile) -> list[ChainBlock]:
    """The network as a chain of blocks, identical neighbours (type and output shape) folded together."""
    wanted = set(profile.blocks)
    return fold(
        [
            ChainBlock(layer.type, layer.output_shape, (layer.name,), layer.params, layer.macs)
            for layer in profile.layers
            if layer.name in wanted
        ]
    )


def plan_chain(plan: Plan) -> list[ChainBlock]:
    """The chain of a layer list checked by ``cnnkit.nets.layers.plan`` (up to its invalid layer)."""
    return fold([ChainBlock(r.module, (1, *r.output), (r.name,), r.params, r.macs) for r in plan.rows])


def fold(blocks: list[ChainBlock]) -> list[ChainBlock]:
    """Identical neighbours (type and output shape) folded into one block."""
    out: list[ChainBlock] = []
    for block in blocks:
        last = out[-1] if out else None
        if last and (last.type, last.output_shape) == (block.type, block.output_shape):
            out[-1] = ChainBlock(
                last.type,
                last.output_shape,
                last.names + block.names,
                last.params + block.params,
                last.macs + block.macs,
            )
        else:
            out.append(block)
    return out
