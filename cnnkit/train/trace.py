"""A run's batch losses for a chart, thinned to a bounded number of real batches: the page's live chart and the
run store's ``loss_trace`` keep them the same way; the live chart bins them further (``binned``)."""

from __future__ import annotations

import numpy as np


def centred_average(values: list[float], share: float = 0.02) -> list[float]:
    """Each value averaged with as many neighbours on each side (``share`` of the points, at least one), fewer near
    the ends so that the window stays centred: a falling curve is tracked, not lagged as a trailing average
    lags it, and every smoothed point lies within the values around it."""
    if not values:
        return []
    sums = np.concatenate(([0.0], np.cumsum(values, dtype=float)))
    n, reach = len(values), max(1, round(share * len(values)))
    half = np.minimum(np.minimum(np.arange(n), np.arange(n)[::-1]), reach)
    low, high = np.arange(n) - half, np.arange(n) + half + 1
    return ((sums[high] - sums[low]) / (high - low)).tolist()


def binned(x: list[float], y: list[float], end: float, bins: int) -> tuple[list[float], list[float]]:
    """The points ``(x, y)`` averaged in ``bins`` equal bins of ``[0, end]``: at most ``bins`` points whatever the
    run's length, each at the mean position of the points in its bin (empty bins are left out, so a run part-way
    through has as many points as bins it has reached). Rounded to what a chart can show, to keep them small."""
    if not x:
        return [], []
    where = np.minimum((np.asarray(x) * (bins / end)).astype(int), bins - 1)
    count = np.bincount(where, minlength=bins)
    filled = count > 0
    mean = [np.bincount(where, weights=values, minlength=bins)[filled] / count[filled] for values in (x, y)]
    return np.round(mean[0], 4).tolist(), np.round(mean[1], 5).tolist()


class LossTrace:
    """Batch losses for a chart, raw and smoothed, in at most ``2 * cap`` points however long the run.

    When the buffer is full every other point is dropped and the stride doubles, so the kept points stay
    evenly spaced real batches (the raw curve keeps its noise) and a redraw costs the same at any length.
    The smoothed curve is a centred average of the kept points (``centred_average``).
    """

    def __init__(self, cap: int = 400):
        self.cap = cap
        self.x: list[float] = []
        self.raw: list[float] = []
        self.count, self.stride = 0, 1

    def add(self, x: float, loss: float) -> None:
        self.count += 1
        if (self.count - 1) % self.stride:
            return
        self.x.append(x)
        self.raw.append(loss)
        if len(self.x) > 2 * self.cap:
            self.x, self.raw = self.x[::2], self.raw[::2]
            self.stride *= 2

    @property
    def smooth(self) -> list[float]:
        return centred_average(self.raw)

    def points(self) -> list[list[float]]:
        """The kept points as the run store holds them: ``[[epoch position, loss], ...]``, rounded."""
        return [[round(x, 5), round(loss, 6)] for x, loss in zip(self.x, self.raw)]
