"""One run life cycle for every caller: the command line, the page's job manager and the benchmarks all train
through ``cnnkit.train.runner.Runner``, so a run that finishes, fails, diverges or is stopped by Ctrl-C is
recorded alike whoever started it: its status, its reason, the epochs it keeps, a calibrated model."""

import pytest

from cnnkit.bench import recorded_run
from cnnkit.cli import main
from cnnkit.errors import CnnkitError, FailureKind
from cnnkit.train import runner
from cnnkit.train.jobs import JobManager
from cnnkit.train.loop import BatchProgress, TrainConfig
from cnnkit.train.store import RunStore, reason_text

SUBSET = 300  # images trained on; the calibration uses the others
ENDINGS = {  # how a run ends: (status, reason key, epochs kept, calibrated)
    "finish": ("finished", None, 2, True),
    "failure": ("failed", "runs.reasons.unexpected", 1, False),
    "divergence": ("failed", "safety.diverged_", 0, False),
    "ctrl_c": ("stopped", "runs.reasons.interrupted", 1, True),
}


def breaking_in_epoch_2(monkeypatch, exc: BaseException) -> None:
    """The training raises ``exc`` at the first batch of epoch 2 (epoch 1 finished and kept)."""
    real = runner.train

    def train(config, callback=None, stop=None, dataset=None, world=None, **kwargs):
        def events(event):
            if isinstance(event, BatchProgress) and event.epoch == 2:
                raise exc
            callback(event)

        return real(config, events, stop, dataset, world, **kwargs)

    monkeypatch.setattr(runner, "train", train)


@pytest.fixture(params=list(ENDINGS))
def ending(request, monkeypatch) -> str:
    if request.param == "failure":
        breaking_in_epoch_2(monkeypatch, RuntimeError("boom"))
    if request.param == "ctrl_c":
        breaking_in_epoch_2(monkeypatch, KeyboardInterrupt())
    return request.param


def lr_of(ending: str) -> float:
    return 1e3 if ending == "divergence" else 1e-3


def assert_recorded(store: RunStore, ending: str) -> None:
    status, key, kept, calibrated = ENDINGS[ending]
    (run,) = store.list()
    assert run.status == status and len(run.epochs) == kept
    assert (run.reason or {}).get("key", "").startswith(key) if key else run.reason is None
    if ending == "failure":
        assert run.reason["values"]["kind"] == "RuntimeError"
    if calibrated:
        for which in ("best", "last"):
            ckpt = store.load(run.id, which)
            assert ckpt.temperature != 1.0 and ckpt.calibration["on"] == "training images not trained on"
    else:
        assert not run.has_model or store.load(run.id).temperature == 1.0


def test_the_command_line(ending, digits, tmp_path, capsys):
    runs = tmp_path / "runs"
    argv = [
        "train",
        "--data-dir",
        str(digits),
        "--device",
        "cpu",
        "--runs-dir",
        str(runs),
        "--epochs",
        "2",
        "--subset",
        str(SUBSET),
        "--batch-size",
        "32",
        "--lr",
        str(lr_of(ending)),
    ]
    if ending == "failure":
        with pytest.raises(RuntimeError, match="boom"):
            main(argv)
    else:
        assert main(argv) == {"finish": 0, "divergence": 3, "ctrl_c": 130}[ending]
    err = capsys.readouterr().err
    if ending == "ctrl_c":
        assert "run 1 keeps its 1 finished epoch(s)" in err and "cnnkit train --resume 1" in err
    assert_recorded(RunStore(runs), ending)


def config(ending: str) -> TrainConfig:
    return TrainConfig(dataset="mnist", epochs=2, batch_size=32, device="cpu", train_subset=SUBSET, lr=lr_of(ending))


def test_the_job_manager(ending, digits_data, tmp_path):
    store = RunStore(tmp_path / "runs")
    manager = JobManager(store, max_running=1)
    run_id = manager.submit(config(ending), digits_data, owner="a-learner")
    job = manager.job(run_id)
    assert job.join(300), "the job did not end in 300 s"
    assert job.snapshot().state == ENDINGS[ending][0]
    run = store.get(run_id)
    assert (run.failure is FailureKind.DIVERGED) == (ending == "divergence")
    assert ("RuntimeError" in reason_text(run.reason, "en")) == (ending == "failure")
    assert_recorded(store, ending)


def test_the_benchmarks(ending, digits_data, tmp_path):
    store = RunStore(tmp_path / "runs")
    raised = {"failure": RuntimeError, "divergence": CnnkitError, "ctrl_c": KeyboardInterrupt}.get(ending)
    if raised is None:
        assert recorded_run(store, config(ending), digits_data, "a benchmark").status == "completed"
    else:
        with pytest.raises(raised) as caught:
            recorded_run(store, config(ending), digits_data, "a benchmark")
        if ending == "divergence":
            assert "Training diverged at epoch 1" in str(caught.value)
    assert store.list()[0].name == "bench: a benchmark"
    assert_recorded(store, ending)


def test_a_disk_full_in_epoch_2_leaves_the_run_and_its_files_agreeing_on_epoch_1(small_digits, tmp_path, monkeypatch):
    import errno
    import tempfile

    from cnnkit.nets.checkpoints import load_checkpoint

    real_mkstemp, resumes = tempfile.mkstemp, []

    def full_disk(*args, prefix="", **kwargs):  # the disk fills when epoch 2's resume.pt (the largest file) is due
        resumes.extend([prefix] if prefix.startswith(".resume.pt") else [])
        if len(resumes) >= 2 and prefix.startswith(".resume.pt"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_mkstemp(*args, prefix=prefix, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", full_disk)
    store = RunStore(tmp_path / "runs")
    training = runner.Runner(store, TrainConfig(epochs=3, train_subset=SUBSET, device="cpu"), small_digits)
    with pytest.raises(CnnkitError, match="No space left"):
        training.train()
    run, folder = store.get(training.run_id), store.folder(training.run_id)
    assert run.status == "failed" and len(run.epochs) == 1  # "1/3 epochs", as its files hold
    assert len(load_checkpoint(folder / "last.pt").history) == len(store.resume_state(run.id).history) == 1
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]  # no partial file left
