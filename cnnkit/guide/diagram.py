"""The architecture card's diagram: a network's chain of blocks as boxes. Needs no torch, so that the guide's
first card draws from the shipped figures while torch is still being imported."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from cnnkit.guide.profiles import ChainBlock
from cnnkit.i18n import formatter, number, text


def _stage_colors(blocks: list[ChainBlock]) -> dict[str, str]:
    stages = list(dict.fromkeys(b.stage for b in blocks if b.stage))
    colors = sample_colorscale("Viridis", [0.05 + 0.65 * i / max(len(stages) - 1, 1) for i in range(len(stages))])
    return {**dict(zip(stages, colors)), "": "#9e9e9e"}


def architecture_diagram(blocks: list[ChainBlock], lang: str, per_row: int = 6) -> go.Figure:
    """The chain of blocks as boxes, row after row like a snake, coloured by output resolution."""
    colors = _stage_colors(blocks)
    rows = (len(blocks) + per_row - 1) // per_row
    centres = []
    for i in range(len(blocks)):
        row, col = divmod(i, per_row)
        centres.append((col if row % 2 == 0 else per_row - 1 - col, -row))
    # The labels and the arrows are one trace each: an annotation per block makes plotly take seconds for VGG.
    boxes = [
        dict(
            type="rect",
            x0=x - 0.43,
            x1=x + 0.43,
            y0=y - 0.3,
            y1=y + 0.3,
            line=dict(width=0),
            fillcolor=colors[b.stage],
            layer="below",
        )
        for b, (x, y) in zip(blocks, centres)
    ]
    arrows_x, arrows_y = [], []
    for (x0, y0), (x1, y1) in zip(centres, centres[1:]):
        dx, dy = np.sign(x1 - x0) * 0.45, np.sign(y1 - y0) * 0.33
        arrows_x += [x0 + dx, x1 - dx, None]
        arrows_y += [y0 + dy, y1 - dy, None]
    names = [b.names[0] if b.count == 1 else f"{b.names[0]} … {b.names[-1]}" for b in blocks]
    traces = [
        go.Scatter(
            x=arrows_x,
            y=arrows_y,
            mode="lines+markers",
            hoverinfo="skip",
            showlegend=False,
            line=dict(color="#555", width=1.5),
            marker=dict(symbol="arrow", angleref="previous", color="#555", size=[0, 10, 0] * (len(centres) - 1)),
        ),  # a head at the end of each segment
        go.Scatter(
            x=[c[0] for c in centres],
            y=[c[1] for c in centres],
            mode="text",
            showlegend=False,
            textfont=dict(size=11, color="white"),
            text=[
                f"<b>{b.type}</b>{f' ×{b.count}' if b.count > 1 else ''}<br>{'×'.join(map(str, b.output_shape[1:]))}"
                for b in blocks
            ],
            customdata=[[n, b.type, number(b.params, lang), number(b.macs, lang)] for n, b in zip(names, blocks)],
            hovertemplate=text("guide.diagram.hover", lang) + "<extra></extra>",
        ),
    ]
    shown = {b.stage for b in blocks}
    traces += [
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            name=stage or text("guide.diagram.vector", lang),
            marker=dict(size=12, symbol="square", color=color),
        )
        for stage, color in colors.items()
        if stage in shown
    ]
    fig = go.Figure(traces)
    fig.update_layout(
        shapes=boxes,
        height=95 * rows + 90,
        separators=formatter(lang).separators,
        margin=dict(l=10, r=10, t=30, b=10),
        plot_bgcolor="white",
        xaxis=dict(visible=False, range=[-0.55, per_row - 0.45]),
        yaxis=dict(visible=False, range=[-rows + 0.5, 0.5]),
        legend=dict(orientation="h", y=1.0, yanchor="bottom", title=text("guide.diagram.legend", lang)),
    )
    return fig
