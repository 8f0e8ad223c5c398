"""The guide's figures per builder as plain values (totals, the weights' metadata, input sizes) and the
comparison's rows, from the shipped ``comparison.json`` without torch: the home page's chart of the guide at a
glance and the guide's first card import neither torch nor torchvision."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from cnnkit.guide.precomputed import stored
from cnnkit.guide.registry import architecture_of, builders
from cnnkit.nets.families import IMAGE_SIZE


@dataclass(frozen=True)
class WeightsInfo:
    """What torchvision's default weights of a model say about themselves."""

    enum: str  # e.g. ResNet50_Weights
    member: str  # e.g. IMAGENET1K_V2
    num_params: int
    top1: float
    top5: float
    gmacs: float  # torchvision calls it GFLOPS ("_ops"); it counts multiply–adds
    file_mb: float
    input_size: int  # the centre crop its transforms produce
    min_size: int


@dataclass(frozen=True)
class Totals:
    builder: str
    input_size: int
    params: int
    macs: int

    @property
    def gmacs(self) -> float:
        return self.macs / 1e9

    @property
    def gflops(self) -> float:
        return 2 * self.macs / 1e9


@dataclass(frozen=True)
class ComparisonRow:
    architecture: str  # card key
    family: str  # the card's title
    year: int | None
    totals: Totals  # at the builder's own input size
    weights: WeightsInfo | None


def shipped_row(builder: str, figures: dict) -> ComparisonRow:
    """``builder``'s row from its shipped figures."""
    arch = architecture_of(builder)
    row_totals = Totals(builder, figures["input_size"], figures["params"], figures["macs"])
    info = figures["weights"] and WeightsInfo(**figures["weights"])
    return ComparisonRow(arch.key, arch.title, arch.variants[builder], row_totals, info)


def shipped_rows() -> tuple[ComparisonRow, ...] | None:
    """Every builder's row from the shipped figures; None when they do not cover the installed versions."""
    shipped = stored()
    if not shipped or any(builder not in shipped for builder in builders()):
        return None
    return tuple(shipped_row(builder, shipped[builder]) for builder in builders())


@cache
def weights_info(builder: str) -> WeightsInfo | None:
    """The default weights' metadata, or None for cnnkit's networks (they have no published weights): shipped,
    or read from torchvision when the shipped figures do not cover the installed versions."""
    figures = (stored() or {}).get(builder)
    if figures is None:
        from cnnkit.guide.meta import read_weights_info  # torchvision: only when nothing is shipped

        return read_weights_info(builder)
    return figures["weights"] and WeightsInfo(**figures["weights"])


def default_input_size(builder: str) -> int:
    """The input size the weights were made for (cnnkit's networks: the notes' images)."""
    info = weights_info(builder)
    return info.input_size if info else IMAGE_SIZE


def min_input_size(builder: str) -> int:
    """The smallest square input the model accepts (cnnkit's networks are for their image size only)."""
    info = weights_info(builder)
    return info.min_size if info else IMAGE_SIZE
