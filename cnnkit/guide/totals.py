"""A network's totals — parameters and multiply–adds — and the comparison of every builder in the guide."""

from __future__ import annotations

from functools import cache

import torch

from cnnkit.guide.comparison import ComparisonRow, Totals, shipped_row, weights_info
from cnnkit.guide.meta import count_macs, input_shape, shared_model
from cnnkit.guide.precomputed import stored
from cnnkit.guide.registry import architecture_of, builders
from cnnkit.nets.builder import count_parameters


@cache
def totals(builder: str, size: int | None = None) -> Totals:
    """Parameters and multiply–adds of ``builder`` at a ``size``×``size`` input (default: its own)."""
    model = shared_model(builder)
    shape = input_shape(builder, size)
    macs, _, _ = count_macs(lambda: model(torch.zeros(shape, device="meta")))
    return Totals(builder, shape[-1], count_parameters(model), macs)


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
