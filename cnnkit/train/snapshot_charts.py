"""Figures of a run's per-epoch snapshots (``cnnkit.train.snapshots``) at one frame: the followed test image, the
network's answer for it, the first layer's kernels and the feature maps of its conv blocks. Labels in ``lang``.

While a run trains, the kernels and the maps are drawn as pictures (``kernels_picture``, ``maps_pictures``):
the same picture is the same file to the browser, which redraws nothing between two epochs, where a Plotly
heat map of the maps was rebuilt and redrawn at every refresh of the live view (150 kB of JSON each time)."""

from __future__ import annotations

from functools import cache

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale, unlabel_rgb

from cnnkit.data.datasets import class_names
from cnnkit.i18n import formatter, text
from cnnkit.infer.charts import feature_grid, probability_bars, tile_maps
from cnnkit.train.charts import kernel_grid, weights_figure
from cnnkit.train.snapshots import EpochSnapshots

IMAGE_PIXELS = 112  # the followed image is enlarged to about this many pixels a side, its pixels kept sharp
PICTURE_WIDTH = 900  # a live picture of maps or kernels is enlarged to about this many pixels wide, kept sharp


def epoch_label(snaps: EpochSnapshots, epoch: int, lang: str) -> str:
    """How the slider names an epoch: epoch 0 is the random start."""
    return text("snapshots.start", lang) if epoch == 0 else formatter(lang).value(epoch)


def followed_image(snaps: EpochSnapshots) -> np.ndarray:
    """The followed test image as uint8 H×W (gray) or H×W×3, enlarged without smoothing."""
    image = snaps.image[0] if snaps.image.shape[0] == 1 else snaps.image.transpose(1, 2, 0)
    scale = max(1, IMAGE_PIXELS // max(image.shape[:2]))
    return np.repeat(np.repeat(image, scale, 0), scale, 1)


def answer_text(snaps: EpochSnapshots, frame: int, lang: str) -> str:
    """What the network answers for the followed image at ``frame``, and what the image shows (a line of text
    above the bars: a Plotly title would be cut at the column's edge)."""
    answer, probs = snaps.answer(frame), snaps.outputs[frame].astype(float)
    classes = class_names(snaps.classes, lang)
    return text(
        "snapshots.answer",
        lang,
        epoch=snaps.epochs[frame],
        answer=classes[answer],
        p=formatter(lang).percent(probs[answer], 0),
        label=classes[snaps.label],
    )


def answer_figure(snaps: EpochSnapshots, frame: int, lang: str) -> go.Figure:
    """The probabilities for the followed image at ``frame``, the answer highlighted."""
    classes = class_names(snaps.classes, lang)
    return probability_bars(classes, snaps.outputs[frame].astype(float), height=280, lang=lang)


def kernels_figure(snaps: EpochSnapshots, frame: int, lang: str) -> go.Figure | None:
    """The first layer's kernels at ``frame``, gray ones on the scale of their largest weight over all the frames
    (so that growing weights show); None for a network without a convolution."""
    if snaps.kernels is None:
        return None
    kernels = snaps.kernels.astype(np.float32)
    title = text("snapshots.kernels", lang, shown=kernels.shape[1], total=snaps.kernel_count)
    bound = float(np.abs(kernels).max()) or 1.0
    return weights_figure(kernels[frame], lang, title=title, bound=bound, width=520)


def maps_figures(snaps: EpochSnapshots, frame: int, lang: str) -> list[go.Figure]:
    """For each conv block shown, its feature maps of the followed image at ``frame``."""
    return [
        feature_grid(
            maps[frame].astype(np.float32),
            text("snapshots.maps", lang, block=block, shown=maps.shape[1], total=total),
            columns=maps.shape[1],
            width=900,
            lang=lang,
        )
        for block, maps, total in zip(snaps.blocks, snaps.maps, snaps.map_counts)
    ]


@cache
def _palette(colorscale: str) -> np.ndarray:
    """A Plotly colour scale as 256 RGB colours."""
    return np.array([unlabel_rgb(c) for c in sample_colorscale(colorscale, np.linspace(0, 1, 256))], dtype=np.uint8)


def _picture(values: np.ndarray, colorscale: str, low: float, high: float) -> np.ndarray:
    """Values on ``colorscale`` from ``low`` to ``high`` as uint8 RGB (NaN, the gaps of a grid: white), enlarged
    without smoothing to about ``PICTURE_WIDTH`` pixels wide."""
    scaled = np.clip((np.nan_to_num(values, nan=low) - low) / ((high - low) or 1.0), 0, 1)
    rgb = _palette(colorscale)[np.round(scaled * 255).astype(np.uint8)]
    rgb[np.isnan(values)] = 255
    scale = max(1, PICTURE_WIDTH // values.shape[1])
    return np.repeat(np.repeat(rgb, scale, 0), scale, 1)


def kernels_picture(snaps: EpochSnapshots, frame: int, lang: str) -> tuple[np.ndarray, str] | None:
    """The first layer's kernels at ``frame`` as ``kernels_figure`` colours them, as an RGB picture with its
    title; None for a network without a convolution."""
    if snaps.kernels is None:
        return None
    kernels = snaps.kernels.astype(np.float32)
    title = text("snapshots.kernels", lang, shown=kernels.shape[1], total=snaps.kernel_count)
    grid, _ = kernel_grid(kernels[frame])
    if grid.ndim == 3:  # a colour input's kernels are small colour pictures already
        scale = max(1, PICTURE_WIDTH // 2 // grid.shape[1])
        return np.repeat(np.repeat(np.uint8(np.round(grid * 255)), scale, 0), scale, 1), title
    bound = float(np.abs(kernels).max()) or 1.0
    return _picture(grid, "RdBu_r", -bound, bound), title


def maps_pictures(snaps: EpochSnapshots, frame: int, lang: str) -> list[tuple[np.ndarray, str]]:
    """For each conv block shown, its feature maps of the followed image at ``frame`` as ``maps_figures`` colours
    them, as an RGB picture with its title."""
    pictures = []
    for block, maps, total in zip(snaps.blocks, snaps.maps, snaps.map_counts):
        tile, _ = tile_maps(maps[frame].astype(np.float32), maps.shape[1])
        title = text("snapshots.maps", lang, block=block, shown=maps.shape[1], total=total)
        pictures.append((_picture(tile, "Viridis", 0.0, 1.0), title))
    return pictures
