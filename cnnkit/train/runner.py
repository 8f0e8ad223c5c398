"""One training run from start to end, the same for the command line, the page's jobs and the benchmarks.

A ``Runner`` creates the run's row in the store (or claims a queued or resumed one), trains with a ``Recorder``
that keeps every batch's progress and every finished epoch (``last.pt``, ``best.pt``, ``resume.pt``, and the
epoch's snapshot of kernels, maps and answer from epoch 0 on: ``cnnkit.train.snapshots``), calibrates the model
that finished or stopped after an epoch, and records how the run ended: finished, stopped, failed (diverged or an
error) or interrupted by Ctrl-C (stopped, keeping its epochs). An error or a Ctrl-C is recorded, then raised again
for its caller to report.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

from torch import nn

from cnnkit.data.datasets import Dataset, subset_size
from cnnkit.errors import CnnkitError
from cnnkit.files import write_atomic
from cnnkit.i18n import DEFAULT_LANGUAGE
from cnnkit.infer.embedding import keep_first_epoch
from cnnkit.nets.checkpoints import from_bytes, to_bytes
from cnnkit.train.calibration import calibrated_checkpoint
from cnnkit.train.distributed import World
from cnnkit.train.loop import EpochStats, Resume, TrainConfig, TrainResult, train
from cnnkit.train.snapshots import joined, take
from cnnkit.train.store import Run, RunStore, error_reason, result_reason
from cnnkit.train.trace import LossTrace

log = logging.getLogger(__name__)

INTERRUPTED = {"key": "runs.reasons.interrupted", "values": {}}


def new_run(
    store: RunStore,
    config: TrainConfig,
    dataset: Dataset,
    *,
    source: str,
    name: str = "",
    owner: str | None = None,
    status: str = "running",
    lang: str = DEFAULT_LANGUAGE,
) -> int:
    """A new run's row for training ``config`` on ``dataset`` (the images it trains on counted; named in ``lang``
    unless ``name`` is given); its id."""
    return store.create(
        config,
        name=name,
        lang=lang,
        source=source,
        owner=owner,
        status=status,
        train_images=subset_size(dataset.train, config.train_subset),
        test_images=len(dataset.test),
        dataset=dataset.info.recorded,
    )


def kept_trace(run: Run, epochs: float = math.inf) -> LossTrace:
    """``run``'s stored batch losses replayed through ``LossTrace``: those of its first ``epochs`` epochs (what
    a resumed run goes on from), all of them by default."""
    trace = LossTrace()
    for x, loss in run.loss_trace:
        if x <= epochs:
            trace.add(x, loss)
    return trace


@dataclass
class Recorder:
    """Keeps a running run in the store: its progress and batch-loss trace (written every ``trace_seconds``),
    each finished epoch, and after the first one the map of its test images (``cnnkit.infer.embedding``)."""

    store: RunStore
    run_id: int
    epochs: int
    dataset: Dataset  # its first test image is followed by the snapshots; its test images make the first map
    trace_seconds: float = 1.0
    trace: LossTrace = field(default_factory=LossTrace)
    _written: float = 0.0

    def __call__(self, event) -> None:
        if isinstance(event, EpochStats):
            return
        self.trace.add(event.epoch - 1 + event.batch / event.batches, event.loss)
        now = time.monotonic()
        if now - self._written >= self.trace_seconds:
            self._written = now
            progress = ((event.epoch - 1) * event.batches + event.batch) / (self.epochs * event.batches)
            self.store.update(self.run_id, progress=progress, loss_trace=self.trace.points())

    def snapshot(self, model: nn.Module, epoch: int = 0) -> None:
        """Add the model's snapshot at ``epoch`` to the run's (0: before any step). A damaged file is started
        afresh; a snapshot that cannot be written is logged: it never stops a training."""
        try:
            kept = self.store.snapshots(self.run_id)
        except CnnkitError:
            kept = None
        try:
            self.store.save_snapshots(self.run_id, joined(kept, take(model, self.dataset, epoch)))
        except CnnkitError:
            log.warning("could not keep the snapshot of run %s at epoch %s", self.run_id, epoch, exc_info=True)

    def on_epoch(self, result: TrainResult, resume: Resume) -> None:
        self.store.save_epoch(self.run_id, result, resume, len(result.history) / self.epochs)
        self.snapshot(result.model, len(result.history))
        if len(result.history) == 1:
            self.first_map(result.model)
        self.store.update(
            self.run_id,
            loss_trace=self.trace.points(),
            device=result.device,
            parameters=result.params,
            seconds=round(result.seconds, 3),
        )

    def first_map(self, model: nn.Module) -> None:
        """The map of the test images after the first epoch; a map that cannot be made (a collection of a few
        pictures has fewer test images than a map needs) is logged: it never stops a training."""
        info = self.dataset.info
        try:
            keep_first_epoch(self.store.folder(self.run_id), model, self.dataset.test, info.mean, info.std)
        except CnnkitError:
            log.warning("no map of run %s after its first epoch", self.run_id, exc_info=True)

    def finish(self, status: str, reason: dict | None, result: TrainResult | None = None) -> None:
        self.store.update(self.run_id, loss_trace=self.trace.points())
        self.store.finish(self.run_id, status, reason=reason, result=result)


def calibrate_run(store: RunStore, run_id: int, dataset: Dataset) -> None:
    """Fit the temperature of the run's models on images held back from its training (``calibration``); the
    weights stay as they are, and a model that cannot be calibrated (too few pictures held back) as it was."""
    calibrated: dict[bytes, bytes | None] = {}  # ``best.pt`` is often ``last.pt``: it is calibrated once
    for path in store.model_files(run_id):
        data = path.read_bytes()
        if data not in calibrated:
            ckpt = from_bytes(data, str(path))
            tuned = calibrated_checkpoint(ckpt, dataset)
            calibrated[data] = None if tuned is ckpt else to_bytes(tuned)
        if calibrated[data] is not None:
            write_atomic(path, calibrated[data])


class Runner:
    """One run of ``config`` on ``dataset``, kept in ``store`` (a plain training when ``store`` is None: a
    torchrun process other than the first, a benchmark that keeps nothing).

    Without ``run_id`` a new run is created (``source``, ``name``); with it, that queued or stopped run is
    claimed by this process, and with ``resume`` it continues after the epochs it kept."""

    def __init__(
        self,
        store: RunStore | None,
        config: TrainConfig,
        dataset: Dataset,
        *,
        source: str = "cli",
        name: str = "",
        run_id: int | None = None,
        resume: Resume | None = None,
    ):
        self.store, self.config, self.dataset, self.resume = store, config, dataset, resume
        self.run_id, self.status = run_id, None  # status: how the store recorded the end
        self.recorder = None
        if store is None:
            return
        if run_id is None:
            self.run_id = new_run(store, config, dataset, source=source, name=name)
        else:
            if resume is not None:
                store.truncate_epochs(run_id, len(resume.history))
            store.claim(run_id)
        self.recorder = Recorder(store, self.run_id, config.epochs, dataset)
        if resume is not None:  # the batch losses of the epochs it keeps, so that the stored chart stays whole
            self.recorder.trace = kept_trace(store.get(self.run_id), len(resume.history))

    @property
    def kept_epochs(self) -> int:
        """The finished epochs the store holds of this run."""
        return len(self.store.get(self.run_id).epochs) if self.store else 0

    def train(self, *, callback=None, stop=None, world: World | None = None) -> TrainResult:
        """Train, keeping the run in the store; the result. An error or Ctrl-C is recorded, then raised."""
        if self.recorder is None:
            return train(self.config, callback, stop, self.dataset, world, resume=self.resume)
        recorder = self.recorder

        def events(event) -> None:
            recorder(event)
            if callback:
                callback(event)

        try:
            result = train(
                self.config,
                events,
                stop,
                self.dataset,
                world,
                resume=self.resume,
                on_epoch=recorder.on_epoch,
                on_start=None if self.resume else recorder.snapshot,  # a resumed run has its start already
            )
        except KeyboardInterrupt:
            self._interrupted()
            raise
        except BaseException as exc:
            self._failed(exc)
            raise
        self._ended(result)
        return result

    def _ended(self, result: TrainResult) -> None:
        self.status = {"completed": "finished", "stopped": "stopped"}.get(result.status, "failed")
        if self.status != "failed" and result.history:
            calibrate_run(self.store, self.run_id, self.dataset)
        self.recorder.finish(self.status, result_reason(result), result)

    def _interrupted(self) -> None:
        """Ctrl-C: the finished epochs are kept and calibrated (a second Ctrl-C skips the calibration, whose
        files are written whole or not at all)."""
        if self.kept_epochs:
            try:
                calibrate_run(self.store, self.run_id, self.dataset)
            except KeyboardInterrupt:
                pass
        self.status = "stopped"
        self.recorder.finish(self.status, INTERRUPTED)

    def _failed(self, exc: BaseException) -> None:
        self.status = "failed"
        try:
            self.recorder.finish(self.status, error_reason(exc))
        except CnnkitError:  # the store itself failed: the original error is the one to report
            log.exception("could not record the failure of run %s", self.run_id)
