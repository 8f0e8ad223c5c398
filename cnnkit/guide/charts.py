"""Plotly figures of the architecture guide's building blocks. Texts come from ``guide.toml`` in the language
asked for; the cards' diagram is in ``cnnkit.guide.diagram``, the comparison's charts in
``cnnkit.guide.comparison_charts``.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from cnnkit.guide.blocks import ACTIVATIONS, Curve, FieldRow
from cnnkit.guide.convolution import Window
from cnnkit.i18n import formatter, text


def image_figure(
    image: np.ndarray, title: str, signed: bool = False, values: bool = False, height: int = 320
) -> go.Figure:
    """A picture or feature map as a heatmap, pixels square; ``signed`` centres a red–blue scale on 0."""
    colors = (
        dict(colorscale="RdBu", zmid=0, reversescale=True, colorbar=dict(thickness=12))
        if signed
        else dict(colorscale="gray", showscale=False)
    )
    fig = go.Figure(
        go.Heatmap(
            z=image,
            **colors,
            texttemplate="%{z:.3~g}" if values else None,
            textfont=dict(size=13),
            hovertemplate="(%{y}, %{x}) = %{z:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis=dict(visible=False, constrain="domain"),
        yaxis=dict(visible=False, autorange="reversed", scaleanchor="x"),
    )
    return fig


def activations_figure(curves: dict[str, Curve], lang: str, slope: bool = False) -> go.Figure:
    """The activation functions (``ACTIVATIONS`` key → curve), or their slopes (what backpropagation
    multiplies gradients by)."""
    fig = go.Figure(
        [
            go.Scatter(x=c.x, y=c.slope if slope else c.y, mode="lines", name=ACTIVATIONS[key].name)
            for key, c in curves.items()
        ]
    )
    key = "slope_axis" if slope else "value_axis"
    fig.update_layout(
        height=420,
        margin=dict(l=10, r=10, t=30, b=10),
        hovermode="x unified",
        separators=formatter(lang).separators,
        xaxis=dict(title="x", zeroline=True),
        yaxis=dict(title=text(f"guide.blocks.{key}", lang)),
    )
    return fig


def receptive_field_figure(image: np.ndarray, rows: list[FieldRow], lang: str) -> go.Figure:
    """Nested squares on the input: what one output value at the centre of each layer sees."""
    fig = image_figure(image, text("guide.blocks.field_title", lang), height=460)
    centre = (image.shape[0] - 1) / 2
    layers = [r for r in rows if r.layer != "input"]
    colors = sample_colorscale("Plasma", [0.1 + 0.8 * i / max(len(layers) - 1, 1) for i in range(len(layers))])
    for row, color in zip(layers, colors):
        half = row.field / 2
        fig.add_shape(
            type="rect",
            x0=centre - half,
            x1=centre + half,
            y0=centre - half,
            y1=centre + half,
            line=dict(color=color, width=2),
        )
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines",
                line=dict(color=color, width=3),
                name=f"{row.layer}: {row.field}×{row.field}",
            )
        )
    fig.update_layout(showlegend=True, legend=dict(x=1.02, y=1), separators=formatter(lang).separators)
    return fig


# ---------------------------------------------------------------- the interactive convolution and pooling

WINDOW_COLOR, TAKEN_COLOR, PADDING_COLOR = "#FFB000", "#FF2D55", "#4C6EF5"


def _cell(row: float, col: float, color: str, width: float = 2, dash: str | None = None) -> dict:
    return dict(
        type="rect",
        x0=col - 0.5,
        x1=col + 0.5,
        y0=row - 0.5,
        y1=row + 0.5,
        line=dict(color=color, width=width, dash=dash),
    )


def window_figure(
    image: np.ndarray, padding: int, window: Window | None, title: str, taken: tuple | None = None, height: int = 360
) -> go.Figure:
    """The zero-padded input (the picture's own border dashed) with the taps one output reads outlined;
    ``taken`` marks the tap a max pooling took. Axes count the picture's own pixels, padding below 0."""
    shown = np.pad(np.asarray(image, dtype=np.float32), padding)
    axis = np.arange(-padding, shown.shape[1] - padding), np.arange(-padding, shown.shape[0] - padding)
    fig = go.Figure(
        go.Heatmap(
            z=shown,
            x=axis[0],
            y=axis[1],
            colorscale="gray",
            zmin=0,
            zmax=1,
            showscale=False,
            hovertemplate="(%{y}, %{x}) = %{z:.3f}<extra></extra>",
        )
    )
    shapes = []
    if padding:
        shapes.append(
            dict(
                type="rect",
                x0=-0.5,
                x1=image.shape[1] - 0.5,
                y0=-0.5,
                y1=image.shape[0] - 0.5,
                line=dict(color=PADDING_COLOR, width=1.5, dash="dash"),
            )
        )
    if window is not None:
        rows, cols = window.rows - padding, window.cols - padding
        shapes.append(
            dict(
                type="rect",
                x0=cols[0] - 0.5,
                x1=cols[-1] + 0.5,
                y0=rows[0] - 0.5,
                y1=rows[-1] + 0.5,
                line=dict(color=WINDOW_COLOR, width=2.5),
            )
        )
        if len(rows) > 1 and rows[1] - rows[0] > 1:  # dilated: the taps themselves
            shapes += [_cell(r, c, WINDOW_COLOR, 1.2) for r in rows for c in cols]
        if taken is not None:
            shapes.append(_cell(rows[taken[0]], cols[taken[1]], TAKEN_COLOR, 2.5))
    fig.update_layout(
        title=title,
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        shapes=shapes,
        xaxis=dict(visible=False, constrain="domain"),
        yaxis=dict(visible=False, autorange="reversed", scaleanchor="x"),
    )
    return fig


def clickable_output_figure(
    output: np.ndarray, current: tuple[int, int], title: str, signed: bool = True, height: int = 360
) -> go.Figure:
    """An output being filled in (NaN where the kernel has not been yet) with the current pixel outlined.
    An invisible marker sits on every pixel (x = column, y = row), so that a click selects it."""
    zmax = float(np.nanmax(np.abs(output))) if np.isfinite(output).any() else 1.0
    colors = (
        dict(colorscale="RdBu", reversescale=True, zmin=-zmax or -1, zmax=zmax or 1, colorbar=dict(thickness=12))
        if signed
        else dict(colorscale="gray", showscale=False)
    )
    rows, cols = np.indices(output.shape)
    fig = go.Figure(
        [
            go.Heatmap(z=output, **colors, hoverinfo="skip"),
            go.Scatter(
                x=cols.ravel(),
                y=rows.ravel(),
                mode="markers",
                marker=dict(size=max(4, min(24, 300 // max(output.shape))), color="rgba(0,0,0,0)", symbol="square"),
                hovertemplate="(%{y}, %{x})<extra></extra>",
                showlegend=False,
                selected=dict(marker=dict(opacity=1)),
                unselected=dict(marker=dict(opacity=1)),
            ),
        ]
    )
    fig.update_layout(
        title=title,
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        clickmode="event+select",
        dragmode=False,
        shapes=[_cell(*current, WINDOW_COLOR, 2.5)],
        plot_bgcolor="#E9ECEF",  # where the kernel has not been yet
        xaxis=dict(visible=False, constrain="domain", autorange=False, range=[-0.5, output.shape[1] - 0.5]),
        yaxis=dict(
            visible=False, constrain="domain", autorange=False, range=[output.shape[0] - 0.5, -0.5], scaleanchor="x"
        ),
    )
    return fig
