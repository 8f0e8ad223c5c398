"""Plotly figures of the training page — live loss, epoch curves, results, run and device comparisons —
and the data of the misclassified-images gallery. Labels come from the locales, in ``lang``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from torch import nn

from cnnkit.data.datasets import Split
from cnnkit.i18n import DEFAULT_LANGUAGE, formatter, text
from cnnkit.train.comparison import DeviceSpeed
from cnnkit.train.evaluation import Evaluation
from cnnkit.train.jobs import Snapshot
from cnnkit.train.loop import EpochStats, TrainConfig
from cnnkit.train.snapshots import first_conv
from cnnkit.train.store import Run
from cnnkit.train.trace import binned, centred_average

COLORS = ("#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880")


def _t(key: str, lang: str, **values) -> str:
    return text(f"train.chart.{key}", lang, **values)


def _figure(
    data: list[dict],
    title: str | None = None,
    xaxis: dict | None = None,
    yaxis: dict | None = None,
    height: int = 320,
    lang: str = DEFAULT_LANGUAGE,
    **layout,
) -> go.Figure:
    """A figure from plain specs, validated once: several times cheaper than ``update_*`` calls, which
    matters for the live charts redrawn twice a second next to a training thread. Numbers as ``lang`` writes them."""
    return go.Figure(
        {
            "data": data,
            "layout": {
                "title": {"text": title},
                "height": height,
                "separators": formatter(lang).separators,
                "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
                "legend": {"orientation": "h", "y": -0.2},
                "xaxis": xaxis or {},
                "yaxis": yaxis or {},
                **layout,
            },
        }
    )


def _axis(key: str, lang: str, **spec) -> dict:
    return {"title": {"text": _t(key, lang)}, **spec}


LOG_LOSS_ABOVE = 100.0  # a cross-entropy this large means a diverged run: its loss axis is logarithmic


def _shown(metric: str, values: Sequence[float | None]) -> list[float | None]:
    """Values as an axis of ``metric`` shows them: accuracies in percent (0–100), losses as they are."""
    return [v * 100 if metric == "accuracy" and v is not None else v for v in values]


def run_color(run_id: int) -> str:
    """A run's colour in every chart of runs, whichever runs are shown beside it."""
    return COLORS[(run_id - 1) % len(COLORS)]


MIN_PERCENT_SPAN = 0.5  # percentage points: equal accuracies get an axis this tall around them


def percent_ticks(fractions: Sequence[float], lang: str, ticks: int = 5) -> dict:
    """A percent axis over ``fractions`` (0–1) whose tick labels differ: about ``ticks`` round steps, written with
    as many decimals as the step needs ("94.35%, 94.40%", not "94.4%, 94.4%"), within 0–100."""
    shown = [100 * v for v in fractions]
    middle, span = (min(shown) + max(shown)) / 2, max(max(shown) - min(shown), MIN_PERCENT_SPAN)
    low, high = middle - span / 2, middle + span / 2
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first, last = math.floor(low / step - 0.5), math.ceil(high / step + 0.5)
    values = [round(k * step, 10) for k in range(first, last + 1) if 0 <= k * step <= 100]
    digits = max(0, -math.floor(math.log10(step) + 1e-9))
    fmt = formatter(lang)
    return {
        "tickvals": values,
        "ticktext": [fmt.percent(v / 100, digits) for v in values],
        "range": [max(0, (first - 0.2) * step), min(100, (last + 0.2) * step)],
    }


def _metric_axis(metric: str, lang: str, values: Sequence[float] = (), titled: bool = False, **spec) -> dict:
    """Accuracy in percent within 0–100 as ``lang`` writes it, its ticks distinct however close the values;
    loss from zero, or on a log scale when ``values`` hold a loss of a diverged run (a linear axis would read
    "400T" and flatten the rest)."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if metric == "accuracy" and finite:
        clip = percent_ticks(finite, lang)
    elif metric == "accuracy":
        clip = {**formatter(lang).plotly_percent(1), "autorangeoptions": {"clipmin": 0, "clipmax": 100}}
    elif finite and max(finite) > LOG_LOSS_ABOVE:
        clip = {"type": "log", "exponentformat": "power"}
    else:
        clip = {"autorangeoptions": {"clipmin": 0}}
    return {**(_axis(metric, lang) if titled else {}), **clip, **spec}


LIVE_POINTS = 100  # points of each curve of the live batch-loss chart, however long the run (a redraw's cost)


def batch_loss_figure(snap: Snapshot, lang: str, points: int | None = None) -> go.Figure:
    """The loss of each batch (kept points) and its moving average, over the whole run's epochs; with ``points``
    (the live chart), both curves binned into that many points of the run's length (``binned``)."""
    steps, losses, smoothed = snap.steps, snap.losses, snap.smoothed
    if points:
        steps, losses = binned(snap.steps, snap.losses, snap.config.epochs, points)
        smoothed = [round(v, 5) for v in centred_average(losses)]
    line = {"type": "scatter", "x": steps, "mode": "lines"}
    return _figure(
        [
            {
                **line,
                "y": losses,
                "name": _t("raw", lang),
                "opacity": 0.4,
                "line": {"width": 1, "color": COLORS[0]},
            },
            {**line, "y": smoothed, "name": _t("smoothed", lang), "line": {"width": 2.5, "color": COLORS[0]}},
        ],
        _t("batch_loss", lang),
        _axis("epoch", lang, range=[0, snap.config.epochs]),
        _metric_axis("loss", lang, values=losses, titled=True),
        lang=lang,
    )


def epoch_figure(epochs: Sequence[EpochStats], metric: str, total: int, lang: str) -> go.Figure:
    """Train and test ``metric`` ("loss" or "accuracy") after each of ``total`` epochs."""
    x = [e.epoch for e in epochs]
    data = [
        {
            "type": "scatter",
            "x": x,
            "y": _shown(metric, [getattr(e, f"{split}_{metric}") for e in epochs]),
            "name": _t(split, lang),
            "mode": "lines+markers",
            "line": {"color": color},
        }
        for split, color in (("train", COLORS[0]), ("test", COLORS[1]))
    ]
    top = _shown(metric, [1])[0]
    waiting = {} if epochs else {"range": [0, top]}
    notes = (
        []
        if epochs
        else [{"text": _t("after_first_epoch", lang), "showarrow": False, "x": (total + 1) / 2, "y": top / 2}]
    )
    return _figure(
        data,
        _t(f"epoch_{metric}", lang),
        _axis("epoch", lang, range=[0.5, total + 0.5], dtick=1),
        _metric_axis(metric, lang, [getattr(e, f"{s}_{metric}") for e in epochs for s in ("train", "test")], **waiting),
        annotations=notes,
        lang=lang,
    )


def _smoothing_floor(smoothing: float, classes: int) -> float:
    """The least cross-entropy a label-smoothed target allows: its own entropy (PyTorch's target gives the true
    class 1 − s + s/K and each other class s/K)."""
    target = [1 - smoothing + smoothing / classes] + [smoothing / classes] * (classes - 1)
    return -sum(p * math.log(p) for p in target if p > 0)


def training_worse_note(epochs: Sequence[EpochStats], config: TrainConfig, lang: str) -> str | None:
    """Why the training curve looks worse than the test one, when it does in some epoch (a learner takes it for
    a bug): the training figures are averages over the epoch while the network learned, with dropout,
    augmentation or label smoothing if the run has them; the test figures come after the epoch, on true labels."""
    if not any(e.train_loss > e.test_loss or e.train_accuracy < e.test_accuracy for e in epochs):
        return None
    model, smoothing = config.model, config.label_smoothing
    causes = [_t("worse.learning", lang)]
    if model.dropout or any(layer.type == "dropout" and layer.get("p") for layer in model.layers or ()):
        causes.append(_t("worse.dropout", lang))
    if config.augmentation.active:
        causes.append(_t("worse.augmentation", lang))
    if smoothing:
        floor = formatter(lang).number(_smoothing_floor(smoothing, model.num_classes), 2)
        causes.append(_t("worse.smoothing", lang, value=smoothing, classes=model.num_classes, floor=floor))
    return _t("worse.note", lang, causes=" ".join(causes))


def confusion_figure(ev: Evaluation, classes: Sequence[str], lang: str) -> go.Figure:
    """Counts of test images by true class (rows) and predicted class (columns)."""
    heat = {
        "type": "heatmap",
        "z": ev.confusion,
        "x": list(classes),
        "y": list(classes),
        "colorscale": "Blues",
        "texttemplate": "%{z}",
        "showscale": False,
        "hovertemplate": _t("confusion_hover", lang) + "<extra></extra>",
    }
    return _figure(
        [heat],
        None,
        _axis("predicted", lang, type="category", side="top"),
        _axis("true", lang, type="category", autorange="reversed"),
        height=520,
        lang=lang,
    )


def per_class_figure(ev: Evaluation, classes: Sequence[str], lang: str) -> go.Figure:
    fmt = formatter(lang)
    bars = {
        "type": "bar",
        "x": list(classes),
        "y": _shown("accuracy", ev.per_class),
        "text": [fmt.percent(a, 1) for a in ev.per_class],
        "marker": {"color": COLORS[0]},
    }
    return _figure(
        [bars],
        _t("per_class", lang),
        _axis("class", lang, type="category"),
        _axis("accuracy", lang, **fmt.plotly_percent(0), range=[0, 105]),
        height=360,
        lang=lang,
    )


@dataclass(frozen=True)
class Mistake:
    image: np.ndarray  # uint8 H×W (gray) or H×W×3
    true: str
    predicted: str
    probability: float


def mistakes(ev: Evaluation, test: Split, classes: Sequence[str], limit: int = 24) -> list[Mistake]:
    """The misclassified test images the model was surest about, most confident first."""
    return [
        Mistake(_picture(test.images[i].numpy()), classes[int(test.labels[i])], classes[pred], prob)
        for i, pred, prob in zip(ev.misclassified[:limit], ev.predicted, ev.confidence)
    ]


def _picture(image: np.ndarray) -> np.ndarray:
    """H×W as it is; C×H×W (a class folder's images) as H×W gray or H×W×3 colour."""
    if image.ndim == 3:
        return image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
    return image


def kernel_grid(weights: np.ndarray, columns: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Kernels (n×C×k×k weights) tiled ``columns`` to a row, one pixel apart, and the 1-based kernel number of each
    pixel (0 in the gaps). A gray input's kernels are their weights, NaN in the gaps; a colour input's (three
    channels) are small RGB pictures in [0, 1], each scaled to its own largest weight (0.5: a weight of 0), white
    in the gaps."""
    weights = np.asarray(weights, dtype=np.float32)
    if weights.shape[1] == 3:
        top = np.abs(weights).max((1, 2, 3), keepdims=True)
        kernels, gap = (0.5 + 0.5 * weights / np.where(top > 0, top, 1)).transpose(0, 2, 3, 1), 1.0
    else:
        kernels, gap = weights[:, 0], np.nan
    n, k = kernels.shape[:2]
    rows = -(-n // columns)
    grid = np.full((rows * (k + 1) - 1, columns * (k + 1) - 1, *kernels.shape[3:]), gap, dtype=np.float32)
    number = np.zeros(grid.shape[:2], dtype=int)
    for i, w in enumerate(kernels):
        r, c = i // columns * (k + 1), i % columns * (k + 1)
        grid[r : r + k, c : c + k], number[r : r + k, c : c + k] = w, i + 1
    return grid, number


def kernels_figure(model: nn.Module, lang: str, columns: int = 8) -> go.Figure:
    """The first convolution's kernels: of a gray input red positive and blue negative, on one scale for all;
    of a colour input each one as a small colour picture."""
    weights = first_conv(model).weight.detach().float().cpu().numpy()
    return weights_figure(weights, lang, columns=columns, title=_t("kernels", lang, n=len(weights)))


def weights_figure(
    weights: np.ndarray, lang: str, *, title: str, columns: int = 8, bound: float | None = None, width: int = 900
) -> go.Figure:
    """Kernels (n×C×k×k) as ``kernels_figure`` draws them, gray ones on the scale ±``bound`` (default: their
    largest weight), in a figure about ``width`` pixels wide."""
    grid, number = kernel_grid(weights, columns)
    hover = _t("kernel", lang, n="%{customdata}")
    if grid.ndim == 3:
        trace = {
            "type": "image",
            "z": np.uint8(np.round(grid * 255)),
            "customdata": number,
            "hovertemplate": hover + "<extra></extra>",
        }
    else:
        bound = bound or float(np.nanmax(np.abs(grid))) or 1.0
        trace = {
            "type": "heatmap",
            "z": grid,
            "customdata": number,
            "zmin": -bound,
            "zmax": bound,
            "colorscale": "RdBu_r",
            "hoverongaps": False,
            "hovertemplate": hover + ": %{z:.3f}<extra></extra>",
        }
    hidden = {"visible": False}
    return _figure(
        [trace],
        title,
        hidden,
        {**hidden, "autorange": "reversed", "scaleanchor": "x"},
        height=width * grid.shape[0] // grid.shape[1] + 80,
        lang=lang,
    )  # square pixels


def runs_figure(runs: Sequence[Run], metric: str, lang: str) -> go.Figure:
    """Test ``metric`` per epoch of several stored runs, one color each (full names in the legend and on
    hover); for the loss, the train loss dashed too. A run of one epoch is one large marker."""
    splits = ("test", "train") if metric == "loss" else ("test",)
    value = f"%{{y:.2f}}{formatter(lang).percent_sign}" if metric == "accuracy" else "%{y}"
    data = [
        {
            "type": "scatter",
            "x": [e.epoch for e in run.epochs],
            "y": _shown(metric, [getattr(e, f"{split}_{metric}") for e in run.epochs]),
            "name": run.title(lang),
            "legendgroup": str(run.id),
            "showlegend": split == "test",
            "mode": "lines+markers",
            "hovertemplate": f"{run.title(lang)}<br>%{{x}}: {value}<extra></extra>",
            "marker": {"size": 12 if len(run.epochs) == 1 else 6},
            "line": {"color": run_color(run.id), "dash": "dash" if split == "train" else "solid"},
        }
        for run in runs
        for split in splits
    ]
    longest = max((len(r.epochs) for r in runs), default=1)
    values = [getattr(e, f"{split}_{metric}") for r in runs for e in r.epochs for split in splits]
    return _figure(
        data,
        _t(f"runs_{metric}", lang),
        _axis("epoch", lang, range=[0.5, longest + 0.5], dtick=1),
        _metric_axis(metric, lang, values),
        height=380,
        lang=lang,
    )


def runs_bars_figure(runs: Sequence[Run], lang: str) -> go.Figure:
    """Test accuracy, parameters and seconds per epoch of each run, side by side, numbers as ``lang`` writes
    them."""
    names = [f"#{r.id}" for r in runs]
    hover = [r.title(lang) for r in runs]
    fmt = formatter(lang)
    columns = (
        ("test_accuracy", _shown("accuracy", [r.test_accuracy for r in runs]), fmt.plotly_percent(1), ".2f"),
        ("parameters", [r.parameters for r in runs], {"tickformat": ","}, ",d"),
        ("seconds_per_epoch", [r.seconds_per_epoch for r in runs], {"tickformat": ".1f"}, ".1f"),
    )
    data = [
        {
            "type": "bar",
            "x": names,
            "y": values,
            "xaxis": f"x{i + 1}",
            "yaxis": f"y{i + 1}",
            "customdata": hover,
            "hovertemplate": f"%{{customdata}}: %{{y:{shown}}}{axis.get('ticksuffix', '')}<extra></extra>",
            "marker": {"color": [run_color(r.id) for r in runs]},
            "showlegend": False,
        }
        for i, (_, values, axis, shown) in enumerate(columns)
    ]
    axes = {}
    for i, (key, _, axis, _) in enumerate(columns):
        axes[f"xaxis{i + 1}"] = {
            "domain": [i / 3 + 0.05, (i + 1) / 3 - 0.02],
            "anchor": f"y{i + 1}",
            "type": "category",
            "title": {"text": _t(key, lang)},
        }
        axes[f"yaxis{i + 1}"] = {"anchor": f"x{i + 1}", **axis}
    return _figure(data, _t("runs_bars", lang), axes.pop("xaxis1"), axes.pop("yaxis1"), height=340, lang=lang, **axes)


def devices_figure(speeds: Sequence[DeviceSpeed], lang: str) -> go.Figure:
    """Training images/s per device, labelled with the speedup over the CPU."""
    fmt = formatter(lang)
    bars = {
        "type": "bar",
        "x": [s.device.label_in(lang) for s in speeds],
        "y": [s.images_per_s for s in speeds],
        "text": [f"{fmt.number(s.images_per_s)} · ×{fmt.number(s.speedup, 1)}" for s in speeds],
        "marker": {"color": [COLORS[0] if s.device.kind != "cpu" else COLORS[4] for s in speeds]},
    }
    return _figure([bars], _t("devices", lang), None, _axis("images_per_s", lang), height=360, bargap=0.5, lang=lang)
