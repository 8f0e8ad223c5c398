"""A training run in a worker thread, for a UI that redraws from snapshots a few times a second.

The worker only calls ``cnnkit.train.loop.train``; the UI thread reads ``TrainingJob.snapshot()``, a consistent
copy taken under a lock, and asks the run to end with ``stop()`` (at the next batch, keeping what was learned).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace

from cnnkit.train.comparison import RunRecord
from cnnkit.data.datasets import Dataset, subset_size
from cnnkit.errors import CnnkitError
from cnnkit.train.loop import BatchProgress, EpochStats, GpuOutOfMemory, TrainConfig, TrainResult, train

log = logging.getLogger(__name__)


class LossTrace:
    """Batch losses for a chart, raw and smoothed, in at most ``2 * cap`` points however long the run.

    When the buffer is full every other point is dropped and the stride doubles, so the kept points stay
    evenly spaced real batches (the raw curve keeps its noise) and a redraw costs the same at any length.
    The smoothed curve is an exponential moving average over every batch, not only the kept ones.
    """

    def __init__(self, cap: int = 400, alpha: float = 0.1):
        self.cap, self.alpha = cap, alpha
        self.x: list[float] = []
        self.raw: list[float] = []
        self.smooth: list[float] = []
        self.count, self.stride, self.ema = 0, 1, None

    def add(self, x: float, loss: float) -> None:
        self.ema = loss if self.ema is None else self.ema + self.alpha * (loss - self.ema)
        self.count += 1
        if (self.count - 1) % self.stride:
            return
        self.x.append(x)
        self.raw.append(loss)
        self.smooth.append(self.ema)
        if len(self.x) > 2 * self.cap:
            self.x, self.raw, self.smooth = self.x[::2], self.raw[::2], self.smooth[::2]
            self.stride *= 2


@dataclass(frozen=True)
class Snapshot:
    """What the UI shows of a job at one moment."""

    name: str
    config: TrainConfig
    state: str  # "running" | "completed" | "stopped" | "diverged" | "failed"
    epoch: int  # of the last batch reported, 1-based; 0 before the first batch
    batch: int
    batches: int  # per epoch; 0 until known
    elapsed: float  # seconds since the job started
    eta: float | None  # seconds left, once a batch is done
    images_per_s: float  # smoothed over recent batches
    steps: list[float]  # x of the loss points, in epochs (1.5 = half-way through epoch 2)
    losses: list[float]
    smoothed: list[float]
    epochs: list[EpochStats]
    stopping: bool
    error: CnnkitError | None = None  # why the run failed, for the user (``error.message(lang)``)
    out_of_memory: bool = False
    result: TrainResult | None = None

    @property
    def done(self) -> bool:
        return self.state != "running"

    @property
    def fraction(self) -> float:
        total = self.config.epochs * self.batches
        return ((self.epoch - 1) * self.batches + self.batch) / total if total else 0.0


class TrainingJob:
    """One run of ``train(config)`` on ``dataset`` in a daemon thread; ``start()`` returns the job."""

    def __init__(self, config: TrainConfig, dataset: Dataset, name: str = ""):
        self.config, self.dataset, self.name = config, dataset, name or config.model.describe()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._trace = LossTrace()
        self._epochs: list[EpochStats] = []
        self._last: BatchProgress | None = None
        self._last_at = 0.0
        self._images_per_s = 0.0
        self._state, self._error, self._oom, self._result = "running", None, False, None
        self._started = time.perf_counter()
        self._ended: float | None = None
        self._thread = threading.Thread(target=self._run, name=f"cnnkit-train {self.name}", daemon=True)

    def start(self) -> "TrainingJob":
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the run to end at the next batch; the model keeps what it learned."""
        self._stop.set()

    @property
    def running(self) -> bool:
        """Whether the run has not ended yet (cheaper than a snapshot)."""
        with self._lock:
            return self._state == "running"

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the run to end; True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _on_event(self, event: BatchProgress | EpochStats) -> None:
        with self._lock:
            if isinstance(event, BatchProgress):
                self._last, self._last_at = event, time.perf_counter()
                self._trace.add(event.epoch - 1 + event.batch / event.batches, event.loss)
                rate = self._images_per_s
                self._images_per_s = event.images_per_s if not rate else rate + 0.1 * (event.images_per_s - rate)
            else:
                self._epochs.append(event)

    def _run(self) -> None:
        state, error, oom, result = "failed", None, False, None
        try:
            result = train(self.config, self._on_event, self._stop, self.dataset)
            state = result.status
        except GpuOutOfMemory as exc:
            error, oom = exc, True
        except CnnkitError as exc:
            error = exc
        except Exception as exc:  # a thread's exception reaches nobody: report it as the job's failure
            log.exception("training job %s failed", self.name)
            error = CnnkitError("errors.training_failed", kind=type(exc).__name__, detail=exc)
        with self._lock:
            self._state, self._error, self._oom, self._result = state, error, oom, result
            self._ended = time.perf_counter()

    def snapshot(self) -> Snapshot:
        with self._lock:
            now, last, trace = time.perf_counter(), self._last, self._trace
            snap = Snapshot(
                self.name, self.config, self._state, last.epoch if last else 0, last.batch if last else 0,
                last.batches if last else 0, (self._ended or now) - self._started, None, self._images_per_s,
                list(trace.x), list(trace.raw), list(trace.smooth), list(self._epochs), self._stop.is_set(),
                self._error, self._oom, self._result)
            last_at = self._last_at
        fraction = snap.fraction
        if snap.done or not 0 < fraction < 1:
            return snap
        eta = last.elapsed * (1 - fraction) / fraction - (now - last_at)  # minus the time since that batch
        return replace(snap, eta=max(eta, 0.0))

    def record(self) -> RunRecord | None:
        """The finished run for the history; None while it runs or when it failed."""
        result = self.snapshot().result
        if result is None:
            return None
        return RunRecord.from_result(self.name, result, subset_size(self.dataset.train, self.config.train_subset))
