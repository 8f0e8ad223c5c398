"""Figures of the inference page: probability bars, feature-map grids, heat overlays, enlarged pictures."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.colors import qualitative

from cnnkit.i18n import DEFAULT_LANGUAGE, formatter, text

TOP, OTHER = "#4C6EF5", "#ADB5BD"
HEAT = [[0.0, "rgba(255,64,0,0)"], [0.3, "rgba(255,64,0,0.25)"], [1.0, "rgba(255,230,0,0.95)"]]


def picture(arr: np.ndarray, size: int = 112, box: int | None = None) -> np.ndarray:
    """A [0, 1] image as uint8, enlarged without smoothing so that its pixels stay visible; ``box`` first
    centres it on a black ``box``×``box`` square (to show the 20×20 box a digit was fitted into)."""
    if box:
        square = np.zeros((box, box))
        top, left = (box - arr.shape[0]) // 2, (box - arr.shape[1]) // 2
        square[top : top + arr.shape[0], left : left + arr.shape[1]] = arr
        arr = square
    img = Image.fromarray(np.uint8(np.clip(arr, 0, 1) * 255))
    scale = size / max(img.size)
    return np.asarray(
        img.resize(
            (max(1, round(img.width * scale)), max(1, round(img.height * scale))),
            Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.BOX,
        )
    )


def square(image: np.ndarray, fill: int = 60) -> np.ndarray:
    """A picture (H×W gray or H×W×3, uint8) centred on a dark gray square (``fill``: neither the black of a
    digit's background nor the white of ink or paper), to be shown as wide as a column keeping its shape."""
    rgb = np.repeat(image[..., None], 3, -1) if image.ndim == 2 else image[..., :3]
    height, width = rgb.shape[:2]
    side = max(height, width)
    out = np.full((side, side, 3), fill, np.uint8)
    top, left = (side - height) // 2, (side - width) // 2
    out[top : top + height, left : left + width] = rgb
    return out


def probability_bars(
    classes: list[str], probs, title: str = "", height: int = 280, lang: str = DEFAULT_LANGUAGE
) -> go.Figure:
    """The class probabilities as bars, the top one highlighted, each labelled with its percentage as ``lang``
    writes it."""
    probs, fmt = np.asarray(probs, dtype=float), formatter(lang)
    best = int(probs.argmax())
    return go.Figure(
        go.Bar(
            x=[str(c) for c in classes],
            y=probs * 100,
            text=[fmt.percent(p, 0) if p >= 0.005 else "" for p in probs],
            textposition="outside",
            marker_color=[TOP if i == best else OTHER for i in range(len(probs))],
            hovertemplate=f"%{{x}}: %{{y:.2f}}{fmt.percent_sign}<extra></extra>",
        ),
        dict(
            title=title or None,
            height=height,
            margin=dict(l=10, r=10, t=40 if title else 10, b=10),
            separators=fmt.separators,
            yaxis=dict(range=[0, 112], **fmt.plotly_percent(0)),
            xaxis=dict(type="category"),
            showlegend=False,
        ),
    )


def _image_layout(height: int, title: str, lang: str = DEFAULT_LANGUAGE) -> dict:
    """Square pixels, no axes, row 0 on top, numbers as ``lang`` writes them (one layout dict: updating a figure
    piecemeal is slow)."""
    return dict(
        title=title or None,
        height=height,
        margin=dict(l=0, r=0, t=(48 if "<br>" in title else 30) if title else 0, b=0),  # a second title line
        separators=formatter(lang).separators,
        plot_bgcolor="rgba(0,0,0,0)",
        xaxis=dict(visible=False, constrain="domain"),
        yaxis=dict(visible=False, autorange="reversed", scaleanchor="x"),
    )


def tile_maps(maps: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """C×H×W maps tiled ``columns`` to a row, one pixel apart, each scaled to [0, 1] by its own range (NaN in the
    gaps), and the 1-based number of the map of each pixel (NaN in the gaps)."""
    c, h, w = maps.shape
    rows = math.ceil(c / columns)
    tile = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), np.nan)
    index = np.full(tile.shape, np.nan)
    for k, m in enumerate(maps):
        low, span = m.min(), np.ptp(m)
        r, col = divmod(k, columns)
        tile[r * (h + 1) : r * (h + 1) + h, col * (w + 1) : col * (w + 1) + w] = (m - low) / span if span else 0
        index[r * (h + 1) : r * (h + 1) + h, col * (w + 1) : col * (w + 1) + w] = k + 1
    return tile, index


def feature_grid(
    maps: np.ndarray, title: str = "", columns: int = 16, width: int = 1000, lang: str = DEFAULT_LANGUAGE
) -> go.Figure:
    """C×H×W feature maps tiled into one grid, each scaled to its own range; hover names the map.

    The height is set for a figure about ``width`` pixels wide, so that the maps stay square."""
    tile, index = tile_maps(maps, columns)
    height = round(width * tile.shape[0] / tile.shape[1]) + (30 if title else 0)
    return go.Figure(
        go.Heatmap(
            z=tile,
            customdata=index,
            colorscale="Viridis",
            showscale=False,
            hovertemplate="#%{customdata}<extra></extra>",
            hoverongaps=False,
        ),
        _image_layout(height, title, lang),
    )


def heat_overlay(
    image28: np.ndarray, heat: np.ndarray, title: str = "", height: int = 300, lang: str = DEFAULT_LANGUAGE
) -> go.Figure:
    """The digit in dim gray with a heat map (0 transparent … 1 yellow) on top."""
    return go.Figure(
        [
            go.Heatmap(z=image28, colorscale="gray", zmin=0, zmax=1.6, showscale=False, hoverinfo="skip"),
            go.Heatmap(
                z=heat,
                colorscale=HEAT,
                zmin=0,
                zmax=1,
                showscale=False,
                hovertemplate="x %{x}, y %{y}: %{z:.2f}<extra></extra>",
            ),
        ],
        _image_layout(height, title, lang),
    )


def photo_heat(
    rgb: np.ndarray, heat: np.ndarray, title: str = "", height: int = 300, lang: str = DEFAULT_LANGUAGE
) -> go.Figure:
    """An H×W×3 picture in [0, 1] with a heat map in [0, 1] blended on top (``heat_on_photo``)."""
    return go.Figure(go.Image(z=heat_on_photo(rgb, heat), hoverinfo="skip"), _image_layout(height, title, lang))


def top_bars(labels: list[str], probs: list[float], height: int = 240, lang: str = DEFAULT_LANGUAGE) -> go.Figure:
    """Horizontal bars for a top-k list, the most likely on top, percentages as ``lang`` writes them."""
    fmt = formatter(lang)
    return go.Figure(
        go.Bar(
            x=[p * 100 for p in probs[::-1]],
            y=labels[::-1],
            orientation="h",
            marker_color=TOP,
            text=[fmt.percent(p, 1) for p in probs[::-1]],
            textposition="auto",
            hovertemplate=f"%{{y}}: %{{x:.2f}}{fmt.percent_sign}<extra></extra>",
        ),
        dict(
            height=height,
            margin=dict(l=10, r=10, t=10, b=10),
            separators=fmt.separators,
            xaxis=dict(range=[0, 100], **fmt.plotly_percent(0)),
        ),
    )


def values_map(z: np.ndarray, height: int = 150, lang: str = DEFAULT_LANGUAGE) -> go.Figure:
    """A small array as a heat map with its colour bar, to show the values the network receives."""
    return go.Figure(
        go.Heatmap(
            z=z,
            colorscale="gray",
            colorbar=dict(thickness=8, len=0.9, tickfont=dict(size=9)),
            hovertemplate="%{z:.2f}<extra></extra>",
        ),
        _image_layout(height, "", lang),
    )


# ---------------------------------------------------------------- the whole network for one drawing

LIT = "#FF8C00"  # what feeds the prediction most


def _composite(values: np.ndarray, cols: int, rows: int) -> np.ndarray:
    """C×H×W maps in a grid, each scaled to [0, 1] on its own, one NaN pixel between neighbours."""
    c, h, w = values.shape
    out = np.full((rows * (h + 1), cols * (w + 1)), np.nan)
    for k, m in enumerate(values):
        r, col = divmod(k, cols)
        span = np.ptp(m)
        out[r * (h + 1) : r * (h + 1) + h, col * (w + 1) : col * (w + 1) + w] = (m - m.min()) / span if span else 0
    return out


def overview_figure(
    view,
    columns,
    tiles,
    lit: set,
    classes: list[str],
    names: dict[str, str],
    selected: tuple[str, int] | None = None,
    height: int = 600,
    lang: str = DEFAULT_LANGUAGE,
) -> go.Figure:
    """Harley-style overview: each stage a column (maps as grids of small heatmaps, fc units and outputs as
    dots coloured by their value); orange: what feeds the prediction most, joined by lines. Every map and
    dot has a marker at its centre, so that a click selects it (x, y → ``overview.tile_at``)."""
    traces, shapes = [], []
    by_key = {(t.stage, t.unit): t for t in tiles}
    for col in columns:
        stage = col.stage
        if stage.maps:
            h, w = stage.values.shape[1:]
            z = _composite(stage.values[stage.shown], col.cols, col.rows)
            d = col.side / (w + 1)
            traces.append(
                go.Heatmap(
                    z=z,
                    x0=col.x + d / 2,
                    dx=d,
                    y0=col.top + d / 2,
                    dy=d,
                    colorscale="Viridis",
                    showscale=False,
                    hoverinfo="skip",
                )
            )
        else:
            values = view.probabilities if stage.kind == "output" else stage.values[stage.shown]
            centres = [by_key[(stage.name, u)].centre for u in stage.shown]
            fmt = formatter(lang)
            label = (
                [f"{classes[u]} · {fmt.percent(view.probabilities[u], 0)}" for u in stage.shown]
                if stage.kind == "output"
                else [f"#{u} · {fmt.number(stage.values[u], 2)}" for u in stage.shown]
            )
            traces.append(
                go.Scatter(
                    x=[c[0] for c in centres],
                    y=[c[1] for c in centres],
                    mode="markers+text",
                    text=label,
                    textposition="middle right",
                    textfont=dict(size=10),
                    marker=dict(size=14, color=values, colorscale="Viridis", line=dict(width=0)),
                    hovertemplate="%{text}<extra></extra>",
                    showlegend=False,
                )
            )
        shapes.append(dict(type="line", x0=col.x, x1=col.x + col.width, y0=-0.4, y1=-0.4, line=dict(color="#ADB5BD")))
    for name, unit in lit:
        t = by_key.get((name, unit))
        if t:
            shapes.append(dict(type="rect", x0=t.x0, x1=t.x1, y0=t.y0, y1=t.y1, line=dict(color=LIT, width=2)))
    if selected in by_key:
        t = by_key[selected]
        shapes.append(
            dict(
                type="rect",
                x0=t.x0 - 0.05,
                x1=t.x1 + 0.05,
                y0=t.y0 - 0.05,
                y1=t.y1 + 0.05,
                line=dict(color="#E03131", width=3),
            )
        )
    xs, ys = [], []
    stages = [c.stage for c in columns]
    for stage, before in zip(stages[1:], stages):
        for unit in stage.shown:
            if (stage.name, unit) not in lit:
                continue
            for feeder in stage.feeds.get(unit, [])[:2]:
                if (before.name, feeder) in lit:
                    (xa, ya), (xb, yb) = by_key[(before.name, feeder)].centre, by_key[(stage.name, unit)].centre
                    xs += [xa, xb, None]
                    ys += [ya, yb, None]
    traces.append(
        go.Scatter(
            x=xs, y=ys, mode="lines", line=dict(color=LIT, width=1.5), opacity=0.6, hoverinfo="skip", showlegend=False
        )
    )
    centres = [t.centre for t in tiles]
    traces.append(
        go.Scatter(
            x=[c[0] for c in centres],
            y=[c[1] for c in centres],
            mode="markers",
            marker=dict(size=10, color="rgba(0,0,0,0)"),
            showlegend=False,
            text=[f"{names.get(t.stage, t.stage)} · {t.unit}" for t in tiles],
            hovertemplate="%{text}<extra></extra>",
            selected=dict(marker=dict(opacity=1)),
            unselected=dict(marker=dict(opacity=1)),
        )
    )
    annotations = [
        dict(
            x=c.x + c.width / 2,
            y=-0.9,
            text=f"<b>{names.get(c.stage.name, c.stage.name)}</b>",
            showarrow=False,
            font=dict(size=11),
        )
        for c in columns
    ]
    right = columns[-1].x + columns[-1].width
    return go.Figure(
        traces,
        dict(
            height=height,
            margin=dict(l=0, r=0, t=10, b=0),
            shapes=shapes,
            separators=formatter(lang).separators,
            annotations=annotations,
            plot_bgcolor="rgba(0,0,0,0)",
            clickmode="event+select",
            dragmode=False,
            xaxis=dict(visible=False, range=[-0.2, right], constrain="domain"),
            yaxis=dict(visible=False, range=[16.3, -1.4], scaleanchor="x"),
        ),
    )


def map_figure(
    values: np.ndarray, title: str, peak: tuple[int, int], height: int = 300, lang: str = DEFAULT_LANGUAGE
) -> go.Figure:
    """One feature map large, its most active position outlined."""
    r, c = peak
    return go.Figure(
        go.Heatmap(
            z=values,
            colorscale="Viridis",
            colorbar=dict(thickness=10),
            hovertemplate="(%{y}, %{x}) = %{z:.3f}<extra></extra>",
        ),
        _image_layout(height, title, lang)
        | dict(
            shapes=[
                dict(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5, line=dict(color="#E03131", width=2))
            ]
        ),
    )


def kernels_figure(kernels: np.ndarray, title: str, height: int = 300, lang: str = DEFAULT_LANGUAGE) -> go.Figure:
    """C_in×k×k kernels in a grid on one red–blue scale centred on 0; a single kernel with its numbers."""
    c, k, _ = kernels.shape
    cols = math.ceil(math.sqrt(c))
    rows = math.ceil(c / cols)
    grid = np.full((rows * (k + 1) - 1, cols * (k + 1) - 1), np.nan)
    for i, w in enumerate(kernels):
        r, col = divmod(i, cols)
        grid[r * (k + 1) : r * (k + 1) + k, col * (k + 1) : col * (k + 1) + k] = w
    top = float(np.nanmax(np.abs(grid))) or 1.0
    return go.Figure(
        go.Heatmap(
            z=grid,
            colorscale="RdBu",
            reversescale=True,
            zmin=-top,
            zmax=top,
            colorbar=dict(thickness=10),
            texttemplate="%{z:.2f}" if c == 1 else None,
            hovertemplate="%{z:.3f}<extra></extra>",
            hoverongaps=False,
        ),
        _image_layout(height, title, lang),
    )


def field_figure(
    image28: np.ndarray, field, best: tuple[int, int], title: str, height: int = 300, lang: str = DEFAULT_LANGUAGE
) -> go.Figure:
    """The input with the square one map position sees and the pixel that excites it most."""
    r, c = best
    return go.Figure(
        go.Heatmap(
            z=image28, colorscale="gray", zmin=0, zmax=1, showscale=False, hovertemplate="(%{y}, %{x})<extra></extra>"
        ),
        _image_layout(height, title, lang)
        | dict(
            shapes=[
                dict(
                    type="rect",
                    x0=field.left - 0.5,
                    x1=field.right + 0.5,
                    y0=field.top - 0.5,
                    y1=field.bottom + 0.5,
                    line=dict(color=LIT, width=2.5),
                ),
                dict(
                    type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5, line=dict(color="#E03131", width=2.5)
                ),
            ]
        ),
    )


def heat_on_photo(rgb: np.ndarray, heat: np.ndarray, strength: float = 0.6) -> np.ndarray:
    """An RGB photo in [0, 1] with a heat map in [0, 1] blended on top in yellow-red, as uint8."""
    colour = np.stack([np.ones_like(heat), heat * 0.9, np.zeros_like(heat)], -1)
    alpha = strength * heat[..., None]
    return np.uint8(np.clip(rgb * (1 - alpha) + colour * alpha, 0, 1) * 255)


CLASS_COLOURS = qualitative.D3 + qualitative.Pastel  # one per class, up to 20 classes


def images_map_figure(
    coords: np.ndarray,
    labels: np.ndarray,
    answers: np.ndarray,
    classes: list[str],
    title: str,
    placed: np.ndarray | None = None,
    height: int = 460,
    lang: str = DEFAULT_LANGUAGE,
) -> go.Figure:
    """The map of test images: a point per image (``coords`` N×2) coloured by its true class, the model's mistakes
    drawn as crosses; hover says the label and the answer, and each point's ``customdata`` is its place in the map
    (for a click to show its image). ``placed`` (2): a new image (the drawing), as a large star."""
    wrong = answers != labels
    hover = [
        text("embedding.hover", lang, label=classes[label], answer=classes[answer])
        for label, answer in zip(labels, answers)
    ]
    figure = go.Figure()
    for k, name in enumerate(classes):
        for mistakes in (False, True):
            shown = np.flatnonzero((labels == k) & (wrong == mistakes))
            if not len(shown):
                continue
            figure.add_trace(
                go.Scatter(
                    x=coords[shown, 0],
                    y=coords[shown, 1],
                    mode="markers",
                    name=text("embedding.mistakes_of", lang, label=name) if mistakes else name,
                    legendgroup=name,
                    showlegend=not mistakes,
                    marker=dict(
                        color=CLASS_COLOURS[k % len(CLASS_COLOURS)],
                        size=10 if mistakes else 5,
                        symbol="x" if mistakes else "circle",
                        line=dict(width=1, color="#222222") if mistakes else dict(width=0),
                    ),
                    customdata=shown,
                    hovertext=[hover[i] for i in shown],
                    hoverinfo="text",
                )
            )
    if placed is not None:
        figure.add_trace(
            go.Scatter(
                x=[placed[0]],
                y=[placed[1]],
                mode="markers",
                name=text("embedding.drawing", lang),
                marker=dict(symbol="star", size=22, color="#000000", line=dict(width=2, color="#FFD43B")),
                hoverinfo="name",
            )
        )
    figure.update_layout(
        title=dict(text=title, font=dict(size=14)),
        height=height,
        margin=dict(l=10, r=10, t=60, b=10),
        xaxis=dict(visible=False),
        yaxis=dict(visible=False, scaleanchor="x"),
        legend=dict(itemsizing="constant"),
        clickmode="event+select",
        dragmode="pan",
        separators=formatter(lang).separators,
    )
    return figure
