"""The run store as users meet it: runs that last, two processes writing at once, a damaged or newer
database, a failed save that damages nothing, Ctrl-C that keeps the finished epochs, and ``--resume``."""

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from cnnkit.errors import CnnkitError
from cnnkit.files import write_atomic
from cnnkit.i18n import formatter
from cnnkit.nets.builder import ModelConfig, build_model
from cnnkit.nets.checkpoints import Checkpoint, load_checkpoint, save_checkpoint
from cnnkit.train.loop import EpochStats, TrainConfig
from cnnkit.train.store import MIGRATIONS, SCHEMA_VERSION, RunStore, reason_text
from tests.support.models import epoch_stats

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "cnnkit", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        **kwargs,
    )


def stats(epoch: int, acc: float) -> EpochStats:
    return epoch_stats(epoch, acc, seconds=1.5)


def test_a_run_round_trips_and_is_still_there_for_a_new_process(tmp_path):
    store = RunStore(tmp_path)
    config = TrainConfig(epochs=3, lr=0.01, model=ModelConfig(extra_fc=True))
    run_id = store.create(config, name="  my   first run ", train_images=500, test_images=100)
    store.add_epoch(run_id, stats(1, 0.8), 1 / 3)
    store.add_epoch(run_id, stats(2, 0.9), 2 / 3)
    store.rename(run_id, "  my   first run ")
    run = RunStore(tmp_path).get(run_id)  # another process opening the same folder
    assert (run.name, run.status, run.source, run.train_images) == ("my first run", "running", "cli", 500)
    assert run.train_config == config and [e.test_accuracy for e in run.epochs] == [0.8, 0.9]
    assert run.best_accuracy == 0.9 and run.progress == pytest.approx(2 / 3)
    store.finish(run_id, "stopped", reason={"key": "runs.reasons.interrupted", "values": {}})
    assert store.get(f"#{run_id}").status == "stopped" and store.get(run_id).finished
    with pytest.raises(CnnkitError, match="no run 99"):
        store.get(99)
    with pytest.raises(CnnkitError, match="not a run id"):
        store.get("../etc")
    store.remove(run_id)
    assert store.list() == [] and not store.folder(run_id).exists()


def test_an_older_database_is_migrated_a_newer_or_damaged_one_is_refused(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    db = sqlite3.connect(old / "runs.db")
    db.execute("CREATE TABLE unrelated (x)")
    db.commit()
    db.close()  # version 0: a database from before the schema
    assert RunStore(old).list() == []
    assert sqlite3.connect(old / "runs.db").execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION

    newer = tmp_path / "newer"
    newer.mkdir()
    db = sqlite3.connect(newer / "runs.db")
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.commit()
    db.close()
    with pytest.raises(CnnkitError, match="written by a newer cnnkit"):
        RunStore(newer)

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "runs.db").write_bytes(b"this is not a database, it is a note" * 100)
    with pytest.raises(CnnkitError, match="damaged or not a run store"):
        RunStore(damaged)


WRITER = """
import sys
from cnnkit.train.loop import TrainConfig
from cnnkit.train.store import RunStore
store = RunStore(sys.argv[1])
for i in range(40):
    run_id = store.create(TrainConfig(seed=i), name=f"{sys.argv[2]}-{i}")
    store.update(run_id, progress=0.5)
"""


def test_two_processes_write_at_once_and_nothing_is_lost(tmp_path):
    RunStore(tmp_path)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), name], cwd=ROOT, stderr=subprocess.PIPE, text=True
        )
        for name in ("app", "cli")
    ]
    for proc in procs:
        assert proc.wait(120) == 0, proc.stderr.read()
    names = {r.name for r in RunStore(tmp_path).list()}
    assert names == {f"{who}-{i}" for who in ("app", "cli") for i in range(40)}


def checkpoint() -> Checkpoint:
    torch.manual_seed(0)
    config = ModelConfig()
    return Checkpoint(build_model(config), config, "mnist", [str(i) for i in range(10)], 0.1307, 0.3081)


def test_a_failed_save_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    save_checkpoint(checkpoint(), path)
    before = path.read_bytes()

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)  # the disk fills up while the new file is written
    with pytest.raises(CnnkitError, match="No space left on device.*previous file.*unchanged"):
        write_atomic(path, b"x" * 1_000_000)
    monkeypatch.undo()
    assert path.read_bytes() == before and load_checkpoint(path).classes == [str(i) for i in range(10)]
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temporary file left behind
    with pytest.raises(CnnkitError, match="it is a folder"):
        save_checkpoint(checkpoint(), tmp_path)
    with pytest.raises(CnnkitError, match="Could not write"):
        save_checkpoint(checkpoint(), path / "under-a-file.pt")


def test_train_out_that_cannot_be_written_keeps_the_run_and_says_how_to_export(tiny_idx, tmp_path):
    runs = tmp_path / "runs"
    result = cli(
        "train",
        "--data-dir",
        tiny_idx,
        "--device",
        "cpu",
        "--runs-dir",
        runs,
        "--batch-size",
        "20",
        "--out",
        "/dev/full",
        "--json",
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (
        "Could not write /dev/full: it is a device" in result.stderr and "cnnkit runs export 1 --out" in result.stderr
    )
    assert json.loads(result.stdout.splitlines()[-1])["run_id"] == 1
    exported = tmp_path / "m.safetensors"
    assert cli("runs", "--runs-dir", runs, "export", "1", "--out", exported).returncode == 0
    assert load_checkpoint(exported).metrics["status"] == "completed"


def test_ctrl_c_after_an_epoch_keeps_it_and_resume_finishes_the_run(tiny_idx, tmp_path):
    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cnnkit",
            "train",
            "--data-dir",
            str(tiny_idx),
            "--device",
            "cpu",
            "--runs-dir",
            str(runs),
            "--epochs",
            "400",
            "--batch-size",
            "20",
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        # A pytest started as a background job passes SIGINT on ignored; a user's terminal does not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if (runs / "runs.db").exists() and any(len(r.epochs) >= 1 for r in RunStore(runs).list()):
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in err
    assert "cnnkit train --resume 1" in err
    run = RunStore(runs).get(1)
    kept = len(run.epochs)
    assert run.status == "stopped" and 1 <= kept < 400 and (runs / "1" / "last.pt").is_file()
    kept_model = load_checkpoint(runs / "1" / "last.pt")  # calibrated like a finished run's model
    assert kept_model.calibration.get("on") and kept_model.temperature != 1.0

    changed = cli("train", "--resume", "1", "--runs-dir", runs, "--lr", "0.5")
    assert changed.returncode == 2 and "--lr" in changed.stderr and "Traceback" not in changed.stderr
    # the same run, a smaller number of epochs left: edit nothing, resume it
    store = RunStore(runs)
    config = store.get(1).config
    store.update(1, config={**config, "epochs": kept + 2})
    resumed = cli("train", "--resume", "1", "--runs-dir", runs, "--json")
    assert resumed.returncode == 0, resumed.stderr
    out = json.loads(resumed.stdout.splitlines()[-1])
    assert out["run_id"] == 1 and [e["epoch"] for e in out["epochs"]] == list(range(1, kept + 3))
    run = RunStore(runs).get(1)
    assert run.status == "finished" and len(run.epochs) == kept + 2


def test_runs_commands_list_show_compare_and_remove(tiny_idx, tmp_path):
    runs = tmp_path / "runs"
    for lr in ("0.001", "0.01"):
        assert (
            cli(
                "train", "--data-dir", tiny_idx, "--device", "cpu", "--runs-dir", runs, "--batch-size", "20", "--lr", lr
            ).returncode
            == 0
        )
    listed = json.loads(cli("runs", "--runs-dir", runs, "list", "--json").stdout)
    assert [r["id"] for r in listed] == [2, 1] and all(r["status"] == "finished" for r in listed)
    assert {"id", "name", "status", "created", "epochs", "test_accuracy"} <= set(listed[0])
    assert listed[0]["epochs"] == 1
    shown = json.loads(cli("runs", "--runs-dir", runs, "show", "2", "--json").stdout)
    assert shown["config"]["lr"] == 0.01 and len(shown["history"]) == 1
    compared = json.loads(cli("runs", "--runs-dir", runs, "compare", "1", "2", "--json").stdout)
    assert [row["lr"] for row in compared] == [0.001, 0.01] and "batch_size" not in compared[0]
    evaluated = cli("evaluate", "--checkpoint", "2", "--runs-dir", runs, "--data-dir", tiny_idx, "--json")
    assert evaluated.returncode == 0 and "run 2" in json.loads(evaluated.stdout)["checkpoint"]
    assert cli("runs", "--runs-dir", runs, "rm", "1").returncode == 0
    missing = cli("runs", "--runs-dir", runs, "show", "1")
    assert missing.returncode == 2 and missing.stderr.strip() == "error: There is no run 1 in the run store."


def compared_runs(tmp_path) -> list:
    """Three finished runs on the CPU that differ in their network, optimizer, schedule and training subset."""
    from cnnkit.nets.builder import POOL_FIRST

    store = RunStore(tmp_path)
    configs = (
        TrainConfig(train_subset=5000),
        TrainConfig(
            train_subset=5000, optimizer="sgd", lr=0.05, schedule="onecycle", model=ModelConfig(batchnorm=True)
        ),
        TrainConfig(batch_size=256, lr=4e-3, label_smoothing=0.1, whiten=True, model=ModelConfig(layers=POOL_FIRST)),
    )
    for config in configs:
        run_id = store.create(config, train_images=5000)
        store.add_epoch(run_id, stats(1, 0.9), 1.0)
        store.update(run_id, device="cpu", parameters=421_642)
        store.finish(run_id, "finished")
    return store.list()[::-1]


def test_runs_are_named_by_their_network_and_what_differs_unless_named(tmp_path):
    runs = compared_runs(tmp_path)
    assert [r.name for r in runs] == [
        "#1 ConvNet · Adam 0.001",
        "#2 ConvNet · BatchNorm · SGD 0.05 · One-cycle",
        "#3 own net: 2 conv, 2 fc · BatchNorm · Adam 0.004 · smoothing 0.1 · whitened · batch 256",
    ]
    assert RunStore(tmp_path).get(RunStore(tmp_path).create(TrainConfig(), name="mine")).name == "mine"


def test_a_name_the_store_made_follows_the_page_s_language_and_one_the_user_gave_stays(tmp_path):
    store = RunStore(tmp_path)
    english = store.get(store.create(TrainConfig(model=ModelConfig(batchnorm=True))))  # the CLI, before class
    russian = store.get(store.create(TrainConfig(), lang="ru"))  # a Russian page
    assert english.title("ru") == "#1 ConvNet · BatchNorm · Adam 0,001"
    assert russian.name == "#2 ConvNet · Adam 0,001" and russian.title("en") == "#2 ConvNet · Adam 0.001"
    assert english.title("en") == english.name and russian.title("ru") == russian.name
    store.rename(english.id, "#1 ConvNet · BatchNorm · Adam 0.001 — for Monday")
    assert store.get(english.id).title("ru") == "#1 ConvNet · BatchNorm · Adam 0.001 — for Monday"
    other = store.get(store.create(TrainConfig(lr=0.01)))
    store.rename(other.id, "#1 ConvNet · BatchNorm · Adam 0.001")  # another run's made name is this run's own
    assert store.get(other.id).title("ru") == "#1 ConvNet · BatchNorm · Adam 0.001"


def test_a_run_whose_process_was_killed_says_whether_any_epoch_was_kept_and_is_listed_for_everyone(tmp_path):
    store = RunStore(tmp_path)
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    early, later = store.create(TrainConfig(), owner="a teacher"), store.create(TrainConfig(), owner="a teacher")
    training = store.create(TrainConfig(), owner="a teacher")
    store.claim(training)  # trains in this very process: not ended, so not listed for others
    for run_id in (early, later):  # as a training process leaves a run when it is killed: still "running"
        store.claim(run_id)
        store.update(run_id, pid=int(ended.stdout))
    store.add_epoch(later, stats(1, 0.9), 0.5)
    early_run, later_run = store.get(early), store.get(later)
    assert early_run.status == later_run.status == "failed"
    assert "nothing was kept" in reason_text(early_run.reason, "en")
    assert "сохранять было нечего" in reason_text(early_run.reason, "ru")
    assert "its finished epochs are kept" in reason_text(later_run.reason, "en")
    assert [run.id for run in store.list(owner="a learner")] == [later, early]  # ended, as another page lists runs
    assert [run.id for run in store.list(owner="a teacher")] == [training, later, early]


@pytest.mark.parametrize(
    "lang, expected",
    [
        (
            "en",
            {
                "Run": "#2 ConvNet · BatchNorm · SGD 0.05 · One-cycle",
                "Optimizer": "SGD (momentum 0.9)",
                "Learning rate": "0.05",
                "LR schedule": "One-cycle",
                "Label smoothing": "0",
                "Whitened first layer": "no",
                "Training subset": "5,000",
                "Network layers": "ConvNet · BatchNorm",
                "Device": "cpu",
            },
        ),
        (
            "ru",
            {
                "Оптимизатор": "SGD (момент 0,9)",
                "Скорость обучения": "0,05",
                "Расписание скорости": "Один цикл",
                "Подвыборка для обучения": formatter("ru").number(5000),
                "Выбеленный первый слой": "нет",
                "Слои сети": "ConvNet · BatchNorm",
                "Устройство": "ЦП",
            },
        ),
    ],
)
def test_compared_runs_show_what_differs_first_in_the_page_s_words(tmp_path, lang, expected):
    from cnnkit.train.comparison import comparison_table

    rows, formats = comparison_table(compared_runs(tmp_path), lang)
    second = rows[1]
    assert {k: second.get(k) for k in expected} == expected
    columns = list(second)
    accuracy = "Test accuracy" if lang == "en" else "Точность на тесте"
    differing = columns[1 : columns.index(accuracy)]
    assert (
        len(differing) == 8
        and differing[0] in ("Network layers", "Слои сети")
        and not any("." in c or "_" in c for c in columns)
    )  # no raw setting names
    assert formats[accuracy](0.9443).startswith("94")


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_run_files_are_written_with_the_umask_as_any_other_file(tmp_path, umask):

    before = os.umask(umask)
    try:
        written = write_atomic(tmp_path / "run" / "last.pt", b"weights")
        (tmp_path / "plain.txt").write_bytes(b"any other file")
    finally:
        os.umask(before)
    assert stat.S_IMODE(written.stat().st_mode) == stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode)
    assert stat.S_IMODE(written.stat().st_mode) == 0o666 & ~umask
