"""The figure of a class folder before training: how many images each class has, in training and test."""

from __future__ import annotations

import plotly.graph_objects as go

from cnnkit.data.folders import FolderStats
from cnnkit.i18n import formatter, text


def class_counts_figure(stats: FolderStats, lang: str) -> go.Figure:
    """Stacked bars of training and test images per class."""
    bars = [
        go.Bar(x=list(stats.classes), y=list(counts), name=text(f"build.data.{part}", lang), marker_color=colour)
        for part, counts, colour in (("train", stats.train_counts, "#636efa"), ("test", stats.test_counts, "#ef553b"))
    ]
    fig = go.Figure(bars)
    fig.update_layout(
        barmode="stack",
        height=300,
        separators=formatter(lang).separators,
        margin=dict(l=10, r=10, t=40, b=10),
        title=text("build.data.counts_title", lang),
        legend=dict(orientation="h", y=-0.25),
        xaxis=dict(type="category", title=text("build.data.class", lang)),
        yaxis=dict(title=text("build.data.images", lang)),
    )
    return fig
