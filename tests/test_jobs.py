"""Training jobs in a worker thread (progress, stop, divergence, failures, two at once) and the comparisons."""

import json
import threading
import time

import pytest
import torch

from cnnkit.data.datasets import Dataset
from cnnkit.devices import list_devices
from cnnkit.errors import CnnkitError, FailureKind
from cnnkit.nets.builder import ModelConfig
from cnnkit.train import runner
from cnnkit.train.comparison import NOTEBOOK_IMAGES, compare_devices, epoch_seconds
from cnnkit.train.jobs import JobManager, TrainingJob
from cnnkit.train.loop import BatchProgress, EpochStats, GpuOutOfMemory, Resume, TrainConfig
from cnnkit.train.store import RunStore, reason_text
from cnnkit.train.trace import LossTrace
from tests.support.models import epoch_stats


def config(**kw) -> TrainConfig:
    return TrainConfig(
        **{"dataset": "mnist", "epochs": 1, "batch_size": 32, "device": "cpu", "report_seconds": 0, **kw}
    )  # a progress event after every batch


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "runs")


def job_of(store: RunStore, cfg: TrainConfig, dataset: Dataset, name: str = "demo") -> TrainingJob:
    run_id = store.create(cfg, name=name, source="page", status="queued")
    return TrainingJob(store=store, run_id=run_id, config=cfg, dataset=dataset, name=name, owner="me")


def finish(job: TrainingJob):
    assert job.join(120), "the job did not end in 120 s"
    return job.snapshot()


def test_a_run_reports_progress_ends_with_results_and_is_stored(small_digits, store):
    job = job_of(store, config(epochs=2), small_digits, "#1 demo").start()
    snap = finish(job)
    assert snap.state == "finished" and snap.done and store.get(job.run_id).reason is None
    assert (snap.epoch, snap.batch, snap.batches) == (2, 13, 13) and snap.fraction == 1.0
    assert len(snap.losses) == len(snap.smoothed) == len(snap.steps) == 26
    assert snap.steps[0] == pytest.approx(1 / 13) and snap.steps[-1] == pytest.approx(2.0)
    assert [e.epoch for e in snap.epochs] == [1, 2] and snap.images_per_s > 0
    run = store.get(job.run_id)
    assert run.evaluation["accuracy"] > 0.3  # far above the 10% of chance after 800 images
    assert run.status == "finished" and run.name == "#1 demo" and len(run.epochs) == 2 and run.progress == 1.0
    assert run.test_accuracy == pytest.approx(run.evaluation["accuracy"])
    assert len(run.loss_trace) == 26 and run.evaluation["confusion"]
    assert store.load(job.run_id).metrics["test_accuracy"] == pytest.approx(run.best_accuracy)


def test_snapshot_while_running_has_eta_and_stop_keeps_what_was_learned(small_digits, store):
    job = job_of(store, config(epochs=30), small_digits).start()
    deadline = time.monotonic() + 60
    while (snap := job.snapshot()).batch < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert snap.state == "running" and not snap.done and 0 < snap.fraction < 1
    assert snap.eta is not None and snap.eta > 0 and store.get(job.run_id).status == "running"
    job.stop()
    snap = finish(job)
    assert snap.state == "stopped" and snap.stopping and len(snap.epochs) < 30
    assert store.get(job.run_id).evaluation is not None  # evaluated as it was when stopped
    assert store.get(job.run_id).status == "stopped"


def test_a_diverging_learning_rate_ends_the_run_as_failed_with_the_reason(small_digits, store):
    job = job_of(store, config(optimizer="sgd", lr=1000.0), small_digits).start()
    snap = finish(job)
    run = store.get(job.run_id)
    assert snap.state == "failed" and run.failure is FailureKind.DIVERGED
    assert "learning rate" in reason_text(run.reason, "en")
    assert run.evaluation is None
    assert run.reason["kind"] == "diverged"  # with its cause (NaN loss, growing loss, weights)


def test_bad_settings_fail_with_the_engine_message(small_digits, store):
    job = job_of(store, config(batch_size=1000), small_digits).start()
    snap, run = finish(job), store.get(job.run_id)
    assert snap.state == "failed" and run.evaluation is None and run.failure is None
    assert "larger than the training set (400 images)" in reason_text(run.reason, "en")


def test_gpu_out_of_memory_is_flagged_for_the_cpu_offer(small_digits, store, monkeypatch):
    def oom(*args, **kwargs):
        raise GpuOutOfMemory("errors.gpu_out_of_memory", batch_size=32)

    monkeypatch.setattr(runner, "train", oom)
    job = job_of(store, config(), small_digits).start()
    snap = finish(job)
    run = store.get(job.run_id)
    assert snap.state == "failed" and run.failure is FailureKind.GPU_OUT_OF_MEMORY
    assert "ran out of memory" in reason_text(run.reason, "en")
    assert run.reason["kind"] == "GpuOutOfMemory"


def test_an_unexpected_error_becomes_the_job_failure_not_a_hang(small_digits, store, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(runner, "train", broken)
    job = job_of(store, config(), small_digits).start()
    snap = finish(job)
    assert snap.state == "failed" and "RuntimeError" in reason_text(store.get(job.run_id).reason, "en")
    assert store.get(job.run_id).status == "failed"


def test_the_manager_queues_beyond_its_limit_one_job_per_owner(small_digits, store):
    manager = JobManager(store, max_running=1)
    a = manager.submit(config(epochs=30), small_digits, owner="alice")
    b = manager.submit(config(seed=2, batch_size=50), small_digits, owner="bob")
    with pytest.raises(CnnkitError, match="already have a run"):
        manager.submit(config(), small_digits, owner="alice")
    assert manager.position(b) == 1 and manager.position(a) is None
    assert store.get(b).status == "queued" and manager.job(b).snapshot().state == "queued"
    with pytest.raises(CnnkitError, match="belongs to someone else"):
        manager.stop(a, "bob")
    manager.stop(a, "alice")
    sb = finish(manager.job(b))  # b starts once a has stopped
    assert store.get(a).status == "stopped" and sb.state == "finished" and sb.batches == 8
    assert manager.active("bob") is None and manager.running_count() == 0


def test_a_queued_job_of_a_closed_page_is_dropped_and_a_cancelled_one_never_starts(small_digits, store):
    manager = JobManager(store, max_running=1, queue_timeout=0.05)
    a = manager.submit(config(epochs=30), small_digits, owner="alice")
    b = manager.submit(config(), small_digits, owner="bob")
    c = manager.submit(config(), small_digits, owner="carol")
    manager.stop(c, "carol")  # out of the queue
    time.sleep(0.1)
    manager.seen("alice")  # bob and carol have not been seen since
    assert store.get(b).status == "failed" and store.get(b).reason["key"] == "runs.reasons.abandoned"
    assert store.get(c).reason["key"] == "runs.reasons.cancelled" and manager.position(b) is None
    manager.stop_all()
    assert store.get(a).status == "stopped"


def test_loss_trace_stays_bounded_and_keeps_real_batches():
    trace = LossTrace(cap=100)
    losses = [float(i % 7) for i in range(10_000)]
    for i, loss in enumerate(losses):
        trace.add(i, loss)
    assert len(trace.x) <= 200 and trace.stride == 64
    assert all(trace.raw[k] == losses[int(x)] for k, x in enumerate(trace.x))  # kept points are real batches
    gaps = {b - a for a, b in zip(trace.x, trace.x[1:])}
    assert gaps == {trace.stride}  # evenly spaced
    assert len(trace.smooth) == len(trace.raw)


def test_smoothed_loss_is_a_centred_average_by_hand():
    trace = LossTrace()
    for i, loss in enumerate([2.0, 1.0, 0.5, 0.5]):
        trace.add(i, loss)
    # one neighbour on each side where there is one on both sides, none at the ends
    assert trace.smooth == pytest.approx([2.0, 3.5 / 3, 2.0 / 3, 0.5])
    falling = LossTrace()
    for i in range(300):  # a loss falling from 2.3 to ~0.1: the smoothed line stays close to it
        falling.add(i, 0.1 + 2.2 * 0.98**i)
    assert abs(falling.smooth[-1] - falling.raw[-1]) < 0.01 and falling.smooth[0] == pytest.approx(2.3)


def test_epoch_estimate_and_device_comparison_on_the_cpu(small_digits):
    seconds = epoch_seconds(config(train_subset=200), small_digits, batches=2)
    assert 0 < seconds < 60
    cpu = [d for d in list_devices() if d.kind == "cpu"]
    (speed,) = compare_devices(config(), small_digits, cpu, batches=3)
    assert speed.device.kind == "cpu" and speed.speedup == 1.0
    assert speed.notebook_seconds == pytest.approx(NOTEBOOK_IMAGES / speed.images_per_s)


def test_the_epoch_estimate_is_close_to_the_epoch_itself(digits_data):
    """The page's estimate, for a network it has not run yet, against the epoch then trained (it said 10.1 s for
    an epoch of 3.2 s: the new network's slow first batches counted as its speed)."""
    from cnnkit.train.loop import train

    setting = config(model=ModelConfig(batchnorm=True), train_subset=None, batch_size=64)
    estimate = epoch_seconds(setting, digits_data)
    real = train(setting, None, None, digits_data).history[0].seconds
    assert real / 2.5 < estimate < real * 2.5, (estimate, real)


def test_a_stopped_run_continues_from_the_page_s_manager_with_its_kept_epochs_and_losses(small_digits, store):
    stop = threading.Event()
    stopper = runner.Runner(store, config(epochs=3), small_digits, source="page")
    stopper.train(callback=lambda event: isinstance(event, EpochStats) and stop.set(), stop=stop)  # after epoch 1
    run_id = stopper.run_id
    store.update(run_id, owner="me")
    kept = store.get(run_id)
    assert kept.status == "stopped" and len(kept.epochs) == 1 and kept.resumable
    manager = JobManager(store)
    with pytest.raises(CnnkitError, match="belongs to someone else"):
        manager.resume(run_id, small_digits, owner="another learner")
    job = manager.job(manager.resume(run_id, small_digits, owner="me"))
    assert job.snapshot().epochs[0] == kept.epochs[0]  # the live charts start with what it kept
    snap = finish(job)
    run = store.get(run_id)
    assert snap.state == run.status == "finished" and [e.epoch for e in run.epochs] == [1, 2, 3]
    assert run.epochs[0] == kept.epochs[0] and run.progress == 1.0 and not run.resumable
    steps = [x for x, _ in run.loss_trace]  # the batch-loss chart holds all three epochs
    assert len(steps) == 39 and steps[0] == pytest.approx(1 / 13, abs=1e-4) and steps[-1] == pytest.approx(3.0)
    with pytest.raises(CnnkitError, match=r"Run \d+ \(finished\) cannot be resumed"):
        manager.resume(run_id, small_digits, owner="me")


def test_a_run_that_diverged_is_not_offered_to_continue_one_that_failed_otherwise_is(store):
    ended = {}
    for name, reason in {
        "diverged": {"key": "safety.diverged_nan", "kind": "diverged", "values": {}},
        "disk full": {"key": "files.errors.write", "values": {"path": "last.pt", "reason": "No space left on device"}},
        "killed": {"key": "runs.reasons.process_gone", "values": {}},
    }.items():
        ended[name] = store.create(config(epochs=3), owner="me")
        store.add_epoch(ended[name], epoch_stats(1), 1 / 3)
        store.finish(ended[name], "failed", reason=reason)
    assert [name for name, run_id in ended.items() if store.get(run_id).resumable] == ["disk full", "killed"]
    with pytest.raises(CnnkitError, match=r"\(failed\) cannot be resumed.*diverged"):
        JobManager(store).resume(ended["diverged"], None, owner="me")


def test_a_gpu_run_stopped_before_class_continues_on_the_device_the_page_trains_on(small_digits, store):
    stop = threading.Event()
    stopper = runner.Runner(store, config(epochs=2), small_digits, source="cli")
    stopper.train(callback=lambda event: isinstance(event, EpochStats) and stop.set(), stop=stop)
    stored = store.get(stopper.run_id).config
    store.update(stopper.run_id, config=json.dumps({**stored, "device": "cuda:7"}))  # trained on a GPU machine
    manager = JobManager(store)
    snap = finish(
        manager.job(manager.resume(stopper.run_id, small_digits, owner="me", machine_runs=True, device="cpu"))
    )
    run = store.get(stopper.run_id)
    assert snap.state == run.status == "finished" and len(run.epochs) == 2 and run.device == "cpu"


def test_time_left_of_a_continued_run_counts_only_what_this_session_trained(small_digits, store):
    run_id = store.create(config(epochs=2), name="demo", source="page", status="queued")
    kept = Resume(
        model_state={},
        optimizer_state={},
        scheduler_state=None,
        generator_state=torch.zeros(1),
        history=[epoch_stats(1)],
        seconds=60.0,
    )
    job = TrainingJob(store=store, run_id=run_id, config=config(epochs=2), dataset=small_digits, name="d", resume=kept)
    job._state = "running"  # as start() leaves it, without training
    # half of the second epoch in 5 s since the continue: the other half takes 5 s more, not 5 s × 1/3
    job._on_event(
        BatchProgress(epoch=2, batch=5, batches=10, loss=0.3, running_accuracy=0.9, images_per_s=1, elapsed=5)
    )
    snap = job.snapshot()
    assert snap.fraction == 0.75 and snap.epochs == kept.history
    assert snap.eta == pytest.approx(5.0, abs=0.5)
