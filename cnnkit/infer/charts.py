"""Figures of the inference page: probability bars, feature-map grids, heat overlays, enlarged pictures."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from PIL import Image

TOP, OTHER = "#4C6EF5", "#ADB5BD"
HEAT = [[0.0, "rgba(255,64,0,0)"], [0.3, "rgba(255,64,0,0.25)"], [1.0, "rgba(255,230,0,0.95)"]]


def picture(arr: np.ndarray, size: int = 112, box: int | None = None) -> np.ndarray:
    """A [0, 1] image as uint8, enlarged without smoothing so that its pixels stay visible; ``box`` first
    centres it on a black ``box``×``box`` square (to show the 20×20 box a digit was fitted into)."""
    if box:
        square = np.zeros((box, box))
        top, left = (box - arr.shape[0]) // 2, (box - arr.shape[1]) // 2
        square[top:top + arr.shape[0], left:left + arr.shape[1]] = arr
        arr = square
    img = Image.fromarray(np.uint8(np.clip(arr, 0, 1) * 255))
    scale = size / max(img.size)
    return np.asarray(img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                                 Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.BOX))


def probability_bars(classes: list[str], probs, title: str = "", height: int = 280) -> go.Figure:
    """The class probabilities as bars, the top one highlighted, each labelled with its percentage."""
    probs = np.asarray(probs, dtype=float)
    best = int(probs.argmax())
    return go.Figure(go.Bar(
        x=[str(c) for c in classes], y=probs, text=[f"{p:.0%}" if p >= 0.005 else "" for p in probs],
        textposition="outside", marker_color=[TOP if i == best else OTHER for i in range(len(probs))],
        hovertemplate="%{x}: %{y:.2%}<extra></extra>"),
        dict(title=title or None, height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
             yaxis=dict(range=[0, 1.12], tickformat=".0%"), xaxis=dict(type="category"), showlegend=False))


def _image_layout(height: int, title: str) -> dict:
    """Square pixels, no axes, row 0 on top (one layout dict: updating a figure piecemeal is slow)."""
    return dict(title=title or None, height=height, margin=dict(l=0, r=0, t=30 if title else 0, b=0),
                plot_bgcolor="rgba(0,0,0,0)", xaxis=dict(visible=False, constrain="domain"),
                yaxis=dict(visible=False, autorange="reversed", scaleanchor="x"))


def feature_grid(maps: np.ndarray, title: str = "", columns: int = 16, width: int = 1000) -> go.Figure:
    """C×H×W feature maps tiled into one grid, each scaled to its own range; hover names the map.

    The height is set for a figure about ``width`` pixels wide, so that the maps stay square."""
    c, h, w = maps.shape
    rows = math.ceil(c / columns)
    tile = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), np.nan)
    index = np.full(tile.shape, np.nan)
    for k, m in enumerate(maps):
        low, span = m.min(), np.ptp(m)
        r, col = divmod(k, columns)
        tile[r * (h + 1):r * (h + 1) + h, col * (w + 1):col * (w + 1) + w] = (m - low) / span if span else 0
        index[r * (h + 1):r * (h + 1) + h, col * (w + 1):col * (w + 1) + w] = k + 1
    height = round(width * tile.shape[0] / tile.shape[1]) + (30 if title else 0)
    return go.Figure(go.Heatmap(z=tile, customdata=index, colorscale="Viridis", showscale=False,
                                hovertemplate="map %{customdata}<extra></extra>", hoverongaps=False),
                     _image_layout(height, title))


def heat_overlay(image28: np.ndarray, heat: np.ndarray, title: str = "", height: int = 300) -> go.Figure:
    """The digit in dim gray with a heat map (0 transparent … 1 yellow) on top."""
    return go.Figure([
        go.Heatmap(z=image28, colorscale="gray", zmin=0, zmax=1.6, showscale=False, hoverinfo="skip"),
        go.Heatmap(z=heat, colorscale=HEAT, zmin=0, zmax=1, showscale=False,
                   hovertemplate="x %{x}, y %{y}: %{z:.2f}<extra></extra>"),
    ], _image_layout(height, title))


def top_bars(labels: list[str], probs: list[float], height: int = 240) -> go.Figure:
    """Horizontal bars for a top-k list, the most likely on top."""
    return go.Figure(go.Bar(x=probs[::-1], y=labels[::-1], orientation="h", marker_color=TOP,
                            text=[f"{p:.1%}" for p in probs[::-1]], textposition="auto",
                            hovertemplate="%{y}: %{x:.2%}<extra></extra>"),
                     dict(height=height, margin=dict(l=10, r=10, t=10, b=10),
                          xaxis=dict(range=[0, 1], tickformat=".0%")))


def values_map(z: np.ndarray, height: int = 150) -> go.Figure:
    """A small array as a heat map with its colour bar, to show the values the network receives."""
    return go.Figure(go.Heatmap(z=z, colorscale="gray", colorbar=dict(thickness=8, len=0.9, tickfont=dict(size=9)),
                                hovertemplate="%{z:.2f}<extra></extra>"), _image_layout(height, ""))


def heat_on_photo(rgb: np.ndarray, heat: np.ndarray, strength: float = 0.6) -> np.ndarray:
    """An RGB photo in [0, 1] with a heat map in [0, 1] blended on top in yellow-red, as uint8."""
    colour = np.stack([np.ones_like(heat), heat * 0.9, np.zeros_like(heat)], -1)
    alpha = strength * heat[..., None]
    return np.uint8(np.clip(rgb * (1 - alpha) + colour * alpha, 0, 1) * 255)
