"""A network layer by layer as plain values: the layer table and the chain of blocks its diagram draws.

``profile`` gives them from the figures shipped for each builder at its own input size
(``cnnkit.guide.precomputed``), and measures other sizes, or other torch versions, with one forward pass on
``meta`` (``cnnkit.guide.layers``, which imports torch and torchvision). The chain is the root's children, with
plain ``nn.Sequential`` / ``nn.ModuleList`` containers opened up (a ResNet's ``layer1`` becomes its
Bottlenecks), and runs of identical blocks folded into one (``Bottleneck ×3``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from cnnkit.guide.comparison import Totals
from cnnkit.guide.precomputed import PROFILES, stored
from cnnkit.nets.rows import LayerRow

if TYPE_CHECKING:
    from cnnkit.nets.layers import Plan

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

    def figures(self) -> dict:
        """As plain values for ``profiles.json.gz`` (``from_figures`` reads them back)."""
        return {
            "input_shape": list(self.input_shape),
            "params": self.totals.params,
            "macs": self.totals.macs,
            "blocks": list(self.blocks),
            "layers": [[x.name, x.type, list(x.output_shape), x.params, x.depth, x.macs] for x in self.layers],
        }

    @classmethod
    def from_figures(cls, builder: str, figures: dict) -> Profile:
        shape = tuple(figures["input_shape"])
        return cls(
            Totals(builder, shape[-1], figures["params"], figures["macs"]),
            shape,
            tuple(Layer(name, kind, tuple(out), p, d, m) for name, kind, out, p, d, m in figures["layers"]),
            tuple(figures["blocks"]),
        )


def shipped_profile(builder: str, size: int | None = None) -> Profile | None:
    """``builder``'s profile from the shipped figures, or None when they lack it or hold another input size."""
    figures = (stored(PROFILES) or {}).get(builder)
    if figures is None or size not in (None, figures["input_shape"][-1]):
        return None
    return Profile.from_figures(builder, figures)


@lru_cache(maxsize=32)
def profile(builder: str, size: int | None = None) -> Profile:
    """Every layer of ``builder`` at a ``size``×``size`` input (default: its own) with its output shape,
    parameters and MACs: shipped, or measured on ``meta``."""
    shipped = shipped_profile(builder, size)
    if shipped:
        return shipped
    from cnnkit.guide.layers import measure  # torch and torchvision: only for what is not shipped

    return measure(builder, size)


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
