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
    """Every builder's row from the shipped figures; None when they do not cover the installed versions (never
    measured here: the home page's chart needs no torch)."""
    shipped = stored() or {}
    return comparison() if all(builder in shipped for builder in builders()) else None


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


@cache
def comparison() -> tuple[ComparisonRow, ...]:
    """Every builder of every card with its figures, for the comparison charts: from the shipped
    ``comparison.json`` (``cnnkit.guide.precomputed``), or computed live (about 10 s on 2 CPU cores) when it
    does not fit the installed torch and torchvision."""
    shipped = stored() or {}
    rows = []
    for builder in builders():
        if builder in shipped:
            rows.append(shipped_row(builder, shipped[builder]))
        else:
            from cnnkit.guide.totals import totals  # torch: only for builders the shipped figures lack

            arch = architecture_of(builder)
            rows.append(
                ComparisonRow(arch.key, arch.title, arch.variants[builder], totals(builder), weights_info(builder))
            )
    return tuple(rows)


# The comparison table's columns, each with the decimals it is written with (None: as it comes).
TABLE_DIGITS = {
    "model": None,
    "family": None,
    "year": None,
    "params_m": 2,
    "gflops": 3,
    "top1": 2,
    "top5": 2,
    "file_mb": 1,
}


def comparison_table(rows: tuple[ComparisonRow, ...]) -> list[dict]:
    """``rows`` as the comparison table's rows, keyed by the columns of ``TABLE_DIGITS``: parameters in
    millions, GFLOPs, ImageNet top-1 and top-5 in %, the weights file in MB, each rounded to its column's
    decimals; None where a network has no published weights."""

    def rounded(column: str, value):
        return None if value is None else round(value, TABLE_DIGITS[column])

    return [
        {
            "model": r.totals.builder,
            "family": r.family,
            "year": r.year,
            "params_m": rounded("params_m", r.totals.params / 1e6),
            "gflops": rounded("gflops", r.totals.gflops),
            "top1": rounded("top1", r.weights and r.weights.top1),
            "top5": rounded("top5", r.weights and r.weights.top5),
            "file_mb": rounded("file_mb", r.weights and r.weights.file_mb),
        }
        for r in rows
    ]
