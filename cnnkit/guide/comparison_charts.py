"""Plotly figures of the guide's comparison: every builder's figures, one trace per card. They need neither torch
nor torchvision (the home page draws one). Texts come from ``guide.toml`` in the language asked for.

Points carry the builder name first in ``customdata``, so that a page can open the card of a clicked point.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from cnnkit.guide.comparison import ComparisonRow
from cnnkit.guide.registry import ARCHITECTURES
from cnnkit.i18n import formatter, number, text, with_separators

FAMILY_COLORS = dict(zip(ARCHITECTURES, qualitative.D3 + ["#222222", "#e7ba52"]))
MARGIN = dict(l=10, r=10, t=50, b=10)


def compact_text(n: float, lang: str) -> str:
    """Three significant digits and a unit: ``4089184256`` → ``4.09 G`` (English) or ``4.09 млрд`` (Russian)."""
    units = text("guide.units", lang)
    power = 0
    while abs(n) >= 999.5 * 1000**power and power < len(units) - 1:  # 999,999 is "1 M", not "1e+03 K"
        power += 1
    return with_separators(f"{n / 1000**power:.3g}", lang) + units[power]


def _hover(lang: str) -> str:
    return "<b>%{customdata[0]}</b> (%{customdata[1]})<br>" + text("guide.compare.hover", lang) + "<extra></extra>"


def _customdata(row: ComparisonRow, lang: str) -> list:
    w = row.weights
    return [
        row.totals.builder,
        row.year or "—",
        number(row.totals.params, lang),
        number(row.totals.gflops, lang, 2),
        f"{w.top1:.1f}" if w else "—",
        f"{w.top5:.1f}" if w else "—",
    ]


def _family_traces(rows, lang, x, y, size=None) -> list[go.Scatter]:
    """One trace per card, so that the legend lists families; ``x``/``y``/``size`` map a row to a value."""
    by_family = defaultdict(list)
    for row in rows:
        by_family[row.architecture].append(row)
    return [
        go.Scatter(
            x=[x(r) for r in group],
            y=[y(r) for r in group],
            mode="markers",
            name=group[0].family,
            customdata=[_customdata(r, lang) for r in group],
            marker=dict(
                color=FAMILY_COLORS[key],
                size=[size(r) for r in group] if size else 11,
                line=dict(width=1, color="white"),
                opacity=0.85,
            ),
        )
        for key, group in by_family.items()
    ]


def accuracy_vs_compute(rows: tuple[ComparisonRow, ...], lang: str) -> go.Figure:
    """ImageNet top-1 against GFLOPs (log scale), bubble area proportional to the parameters."""
    rows = [r for r in rows if r.weights]
    biggest = max(r.totals.params for r in rows)
    fig = go.Figure(
        _family_traces(
            rows,
            lang,
            lambda r: r.totals.gflops,
            lambda r: r.weights.top1,
            lambda r: 8 + 40 * np.sqrt(r.totals.params / biggest),
        )
    )
    fig.update_traces(hovertemplate=_hover(lang))
    fig.update_layout(
        title=text("guide.compare.accuracy_title", lang),
        height=520,
        margin=MARGIN,
        separators=formatter(lang).separators,
        xaxis=dict(type="log", dtick=1, title=text("guide.compare.gflops_axis", lang)),
        yaxis=dict(title=text("guide.compare.top1_axis", lang)),
        legend=dict(itemclick=False),
    )
    return fig


def params_by_year(rows: tuple[ComparisonRow, ...], lang: str) -> go.Figure:
    """Parameters (log scale) against the year of the paper; points of one year are spread apart."""
    rows = sorted((r for r in rows if r.year), key=lambda r: (r.year, r.architecture, r.totals.params))
    per_year = defaultdict(list)
    for r in rows:
        per_year[r.year].append(r.totals.builder)

    def x(r: ComparisonRow) -> float:
        same = per_year[r.year]
        return r.year + (same.index(r.totals.builder) + 0.5) / len(same) * 0.7 - 0.35

    fig = go.Figure(_family_traces(rows, lang, x, lambda r: r.totals.params))
    fig.update_traces(hovertemplate=_hover(lang))
    decades = [10**k for k in range(3, 13)]  # ticks in the language's words: 100 M / 100 млн, never "100M"
    fig.update_layout(
        title=text("guide.compare.years_title", lang),
        height=480,
        margin=MARGIN,
        separators=formatter(lang).separators,
        xaxis=dict(title=text("guide.compare.year_axis", lang), dtick=2),
        yaxis=dict(
            type="log",
            tickvals=decades,
            ticktext=[compact_text(v, lang) for v in decades],
            title=text("guide.compare.params_axis", lang),
        ),
        legend=dict(itemclick=False),
    )
    return fig
