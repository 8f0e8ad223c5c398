"""Training jobs that belong to the server, not to a browser tab: a ``JobManager`` runs at most N of them at
once in worker threads, queues the rest, and keeps every one in the run store, so that a reload, a second
tab or a visit to another page finds the run again (by its id and its owner's token).

The worker runs the run's ``cnnkit.train.runner.Runner``; a page reads ``TrainingJob.snapshot()``, a consistent copy
taken under a lock, and ends a run with ``stop()`` (at the next batch, keeping what was learned).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, replace

import torch

from cnnkit.data.datasets import Dataset
from cnnkit.errors import CnnkitError
from cnnkit.i18n import DEFAULT_LANGUAGE
from cnnkit.train.loop import BatchProgress, EpochStats, Resume, TrainConfig, check_batch
from cnnkit.train.naming import shown_name
from cnnkit.train.runner import Runner, kept_trace, new_run
from cnnkit.train.store import Run, RunStore
from cnnkit.train.trace import LossTrace

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    """What the UI shows of a job at one moment."""

    run_id: int
    name: str  # as stored (``title`` shows it)
    config: TrainConfig
    state: str  # "queued" | "running" | "finished" | "stopped" | "failed"
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

    @property
    def done(self) -> bool:
        return self.state not in ("queued", "running")

    @property
    def fraction(self) -> float:
        total = self.config.epochs * self.batches
        return ((self.epoch - 1) * self.batches + self.batch) / total if total else 0.0

    def title(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """The run's name as ``lang`` shows it (``naming.shown_name``)."""
        return shown_name(self.run_id, self.name, self.config, lang)


class TrainingJob:
    """One stored run of ``train(config)`` on ``dataset`` in a daemon thread."""

    def __init__(
        self,
        *,
        store: RunStore,
        run_id: int,
        config: TrainConfig,
        dataset: Dataset,
        name: str,
        owner: str | None = None,
        on_end=None,
        resume: Resume | None = None,
    ):
        self.store, self.run_id, self.config, self.dataset = store, run_id, config, dataset
        self.name, self.owner, self._on_end, self.resume = name, owner, on_end, resume
        self._lock = threading.Lock()
        self._stop, self._done = threading.Event(), threading.Event()
        # a resumed run shows the epochs it kept from the start
        self._trace = kept_trace(store.get(run_id), len(resume.history)) if resume else LossTrace()
        self._epochs: list[EpochStats] = list(resume.history) if resume else []
        self._last: BatchProgress | None = None
        self._last_at = 0.0
        self._images_per_s = 0.0
        self._state = "queued"
        self._started = time.perf_counter()
        self._ended: float | None = None
        self._thread = threading.Thread(target=self._run, name=f"cnnkit-train {run_id}", daemon=True)

    def start(self) -> TrainingJob:
        with self._lock:
            self._state, self._started = "running", time.perf_counter()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the run to end at the next batch; the model keeps what it learned."""
        self._stop.set()

    @property
    def running(self) -> bool:
        """Whether the run has not ended yet (cheaper than a snapshot)."""
        with self._lock:
            return self._state in ("queued", "running")

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the run (queued or running) to end; True when it has."""
        return self._done.wait(timeout)

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
        """Train through the run's ``Runner``, which records how it ends; a thread's exception reaches nobody, so
        an unexpected one is logged here (the stored run says it failed)."""
        state = "failed"
        try:
            runner = Runner(self.store, self.config, self.dataset, run_id=self.run_id, resume=self.resume)
            runner.train(callback=self._on_event, stop=self._stop)
            state = runner.status
        except KeyboardInterrupt:  # recorded by the runner as stopped, keeping its epochs
            state = "stopped"
        except CnnkitError:
            pass
        except Exception:  # noqa: BLE001 - any failure of the thread is the run's failure
            log.exception("training job %s failed", self.run_id)
        with self._lock:
            self._state = state
            self._ended = time.perf_counter()
        self._done.set()
        if self._on_end:
            self._on_end(self)

    def cancel(self, reason: dict) -> None:
        """Drop a queued job: it never starts."""
        with self._lock:
            if self._state != "queued":
                return
            self._state, self._ended = "failed", time.perf_counter()
        self.store.finish(self.run_id, "failed", reason=reason)
        self._done.set()

    def snapshot(self) -> Snapshot:
        with self._lock:
            now, last, trace = time.perf_counter(), self._last, self._trace
            snap = Snapshot(
                run_id=self.run_id,
                name=self.name,
                config=self.config,
                state=self._state,
                epoch=last.epoch if last else 0,
                batch=last.batch if last else 0,
                batches=last.batches if last else 0,
                elapsed=(self._ended or now) - self._started,
                eta=None,
                images_per_s=self._images_per_s,
                steps=list(trace.x),
                losses=list(trace.raw),
                smoothed=list(trace.smooth),
                epochs=list(self._epochs),
                stopping=self._stop.is_set(),
            )
            last_at = self._last_at
        fraction = snap.fraction
        kept = len(self.resume.history) / self.config.epochs if self.resume else 0.0  # trained before a resume
        if snap.done or not kept < fraction < 1:
            return snap
        eta = last.elapsed * (1 - fraction) / (fraction - kept) - (now - last_at)  # minus the time since that batch
        return replace(snap, eta=max(eta, 0.0))


def default_max_jobs() -> int:
    """``CNNKIT_MAX_JOBS``, else one job per GPU, else one (training already uses every CPU core)."""
    configured = os.environ.get("CNNKIT_MAX_JOBS", "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return max(1, torch.cuda.device_count() if torch.cuda.is_available() else 1)


class JobManager:
    """The server's training jobs: at most ``max_running`` at once, the rest queued in order; one queued or
    running job per owner; a queued job whose owner has not been seen for ``queue_timeout`` s is dropped."""

    def __init__(
        self, store: RunStore, max_running: int | None = None, queue_timeout: float = 600.0, keep_finished: int = 8
    ):
        self.store, self.max_running = store, max_running or default_max_jobs()
        self.queue_timeout, self.keep_finished = queue_timeout, keep_finished
        self._lock = threading.RLock()
        self._jobs: dict[int, TrainingJob] = {}  # queued, running and the last few ended ones
        self._queue: list[int] = []
        self._seen: dict[str, float] = {}

    def submit(
        self, config: TrainConfig, dataset: Dataset, *, owner: str, name: str = "", lang: str = DEFAULT_LANGUAGE
    ) -> int:
        """Queue a run (it starts at once when a place is free; named in ``lang`` unless ``name`` is given); its id."""
        with self._lock:
            if self.active(owner) is not None:
                raise CnnkitError("runs.errors.one_per_session")
            self.seen(owner)
            check_batch(config, dataset)  # refused at once: no failed run is recorded for it
            run_id = new_run(
                self.store, config, dataset, source="page", name=name, owner=owner, status="queued", lang=lang
            )
            return self._enqueue(run_id, config, dataset, owner=owner, name=name or self.store.get(run_id).name)

    def resume(
        self, run_id: int, dataset: Dataset, *, owner: str, machine_runs: bool = False, device: str | None = None
    ) -> int:
        """Queue the owner's stopped or failed run (``Run.resumable``; with ``machine_runs`` also a CLI run)
        to train its remaining epochs from what it kept, with its own settings, on ``dataset`` (its data again)
        and on ``device`` when given (not one of its settings: the CLI's ``--resume`` takes ``--device`` too)."""
        with self._lock:
            if self.active(owner) is not None:
                raise CnnkitError("runs.errors.one_per_session")
            run = self.store.get(run_id)
            if run.owner != owner and not (run.owner is None and machine_runs):
                raise CnnkitError("runs.errors.not_yours", id=run.id)
            resume = self.store.resume_state(run.id)  # refused for a run that cannot go on
            config = replace(run.train_config, device=device) if device else run.train_config
            self.seen(owner)
            check_batch(config, dataset)
            self.store.update(run.id, status="queued", reason="")
            return self._enqueue(run.id, config, dataset, owner=owner, name=run.name, resume=resume)

    def _enqueue(
        self, run_id: int, config: TrainConfig, dataset: Dataset, *, owner: str, name: str, resume: Resume | None = None
    ) -> int:
        self._jobs[run_id] = TrainingJob(
            store=self.store,
            run_id=run_id,
            config=config,
            dataset=dataset,
            name=name,
            owner=owner,
            on_end=self._ended,
            resume=resume,
        )
        self._queue.append(run_id)
        self._schedule()
        return run_id

    def job(self, run_id: int | None) -> TrainingJob | None:
        with self._lock:
            return self._jobs.get(run_id) if run_id is not None else None

    def active(self, owner: str) -> int | None:
        """The owner's queued or running job, if any."""
        with self._lock:
            return next((i for i, j in self._jobs.items() if j.owner == owner and j.running), None)

    def position(self, run_id: int) -> int | None:
        """1 for the next job to start; None when it is not queued."""
        with self._lock:
            return self._queue.index(run_id) + 1 if run_id in self._queue else None

    def stop(self, run_id: int, owner: str) -> None:
        """The owner stops a running job, or takes a queued one out of the queue."""
        with self._lock:
            job = self._jobs.get(run_id)
            if job is None or job.owner != owner:
                raise CnnkitError("runs.errors.not_yours", id=run_id)
            if run_id in self._queue:
                self._queue.remove(run_id)
                job.cancel({"key": "runs.reasons.cancelled", "values": {}})
            else:
                job.stop()

    def seen(self, owner: str) -> None:
        """The owner's page is open (a heartbeat); queued jobs of owners gone too long are dropped."""
        with self._lock:
            now = time.monotonic()
            self._seen[owner] = now
            for run_id in list(self._queue):
                job = self._jobs[run_id]
                if now - self._seen.get(job.owner, now) > self.queue_timeout:
                    self._queue.remove(run_id)
                    job.cancel({"key": "runs.reasons.abandoned", "values": {}})

    def running_count(self) -> int:
        with self._lock:
            return sum(1 for i, j in self._jobs.items() if j.running and i not in self._queue)

    def _schedule(self) -> None:
        with self._lock:
            while self._queue and self.running_count() < self.max_running:
                self._jobs[self._queue.pop(0)].start()

    def _ended(self, job: TrainingJob) -> None:
        with self._lock:
            ended = [i for i, j in self._jobs.items() if not j.running]
            for run_id in ended[: -self.keep_finished]:
                del self._jobs[run_id]
            self._schedule()

    def stop_all(self, timeout: float = 30.0) -> None:
        """Stop every job and wait for them (tests, shutdown)."""
        with self._lock:
            jobs = list(self._jobs.values())
            for run_id in list(self._queue):
                self._queue.remove(run_id)
                self._jobs[run_id].cancel({"key": "runs.reasons.cancelled", "values": {}})
        for job in jobs:
            job.stop()
        for job in jobs:
            job.join(timeout)


def snapshot_of(run: Run) -> Snapshot:
    """A stored run as a snapshot for the same views (its kept batch losses replayed through ``LossTrace``)."""
    trace = kept_trace(run)
    epochs = list(run.epochs)
    last = run.loss_trace[-1][0] if run.loss_trace else 0.0
    return Snapshot(
        run_id=run.id,
        name=run.name,
        config=run.train_config,
        state=run.status,
        epoch=max(len(epochs), int(last) + 1 if last else 0),
        batch=0,
        batches=0,
        elapsed=run.seconds or 0.0,
        eta=None,
        images_per_s=epochs[-1].images_per_s if epochs else 0.0,
        steps=list(trace.x),
        losses=list(trace.raw),
        smoothed=list(trace.smooth),
        epochs=epochs,
        stopping=False,
    )
