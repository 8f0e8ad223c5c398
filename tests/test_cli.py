"""The CLI as a user runs it: a short train, evaluate, predict on PNGs, and one-line errors."""

import json
import os
import shutil
import subprocess
from contextlib import contextmanager

import pytest
import torch
from PIL import Image, ImageDraw

from cnnkit.cli import build_parser, config_from_args
from cnnkit.train.loop import TrainConfig
from cnnkit.train.store import RunStore
from tests.support import cli


def test_train_json_evaluate_and_predict(digits, tmp_path):
    out = tmp_path / "m.pt"
    run = cli(
        "train",
        "--dataset",
        "mnist",
        "--data-dir",
        digits,
        "--epochs",
        "2",
        "--subset",
        "1000",
        "--batch-size",
        "32",
        "--device",
        "cpu",
        "--out",
        out,
        "--json",
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["device"] == "cpu" and result["test_accuracy"] > 0.5  # drawn digits: far above chance
    assert [e["epoch"] for e in result["epochs"]] == [1, 2]
    assert {"seconds", "train_loss", "test_loss", "test_accuracy"} <= set(result["epochs"][0])
    assert "epoch 2/2" in run.stderr and out.is_file()  # progress bar and a line per epoch

    ev = cli("evaluate", "--checkpoint", out, "--dataset", "mnist", "--data-dir", digits, "--json")
    assert ev.returncode == 0, ev.stderr
    assert abs(json.loads(ev.stdout)["accuracy"] - result["test_accuracy"]) < 1e-6


def _digit_png(path, kind, dark_on_light=False):
    bg, ink = (255, 0) if dark_on_light else (0, 255)
    img = Image.new("L", (280, 280), bg)
    d = ImageDraw.Draw(img)
    if kind == "1":
        d.line([(140, 50), (140, 230)], fill=ink, width=22)
    else:  # a zero
        d.ellipse([80, 45, 200, 235], outline=ink, width=22)
    img.save(path)
    return path


def test_predict_reads_drawn_digits_with_the_shipped_model(tmp_path):
    one = _digit_png(tmp_path / "one.png", "1")
    zero = _digit_png(tmp_path / "zero.png", "0", dark_on_light=True)
    run = cli("predict", one, zero, "--json")
    assert run.returncode == 0, run.stderr
    preds = json.loads(run.stdout)
    assert [p["label"] for p in preds] == ["1", "0"]
    assert all(len(p["probabilities"]) == 10 and abs(sum(p["probabilities"]) - 1) < 1e-4 for p in preds)
    text = cli("predict", one)
    assert text.returncode == 0 and text.stdout.startswith(f"{one}: 1 (")


@pytest.mark.parametrize(
    "args, message",
    [
        pytest.param(
            ["train", "--device", "cuda"],
            "no CUDA GPU",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU"),
        ),
        (["train", "--device", "tpu"], "Unknown device"),
        (["train", "--batch-size", "0"], "Batch size"),
        (["train", "--lr", "-0.1"], "learning rate"),
        (["evaluate", "--checkpoint", "no/such.pt"], "does not exist"),
    ],
)
def test_errors_are_one_clear_line(args, message):
    run = cli(*args)
    assert run.returncode != 0
    assert message in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_missing_data_offline_is_one_clear_line(tmp_path):
    run = cli("train", "--offline", "--data-dir", tmp_path / "empty")
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert "--data-dir" in run.stderr and "t10k-images-idx3-ubyte" in run.stderr


def test_predict_on_a_non_image_fails_clearly(tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    run = cli("predict", bad)
    assert run.returncode != 0 and "not an image" in run.stderr and "Traceback" not in run.stderr


def test_predict_on_an_empty_folder_says_there_is_nothing_to_predict(tmp_path):
    (tmp_path / "scans").mkdir()
    run = cli("predict", tmp_path / "scans")
    assert run.returncode == 2 and run.stdout == ""
    assert (
        run.stderr.strip() == f"error: There are no files to predict in {tmp_path / 'scans'}: give image files, "
        "or folders that hold them."
    )


@pytest.mark.parametrize("option", [["--epo", "3"], ["--epochs=3"], ["--batchn"]])
def test_resume_refuses_a_changed_setting_however_its_option_is_spelled(tmp_path, option):
    store = RunStore(tmp_path / "runs")
    run_id = store.create(TrainConfig(epochs=2))
    store.finish(run_id, "stopped")
    run = cli("train", "--resume", str(run_id), "--runs-dir", tmp_path / "runs", "--device", "cpu", *option)
    assert run.returncode == 2 and "would change them" in run.stderr
    assert ("--batchnorm" if option == ["--batchn"] else "--epochs") in run.stderr


def test_options_given_beside_a_preset_win_and_the_rest_keep_the_preset():
    config = config_from_args(
        build_parser().parse_args(["train", "--preset", "fast", "--epochs", "3", "--batchnorm", "--subset", "500"])
    )
    assert (config.epochs, config.batch_size, config.schedule, config.train_subset) == (3, 128, "onecycle", 500)
    assert config.model.batchnorm and config.model.layers is None  # a switch: the notes' network over the preset's
    assert config.whiten  # the preset's whitened start, which the notes' network takes as well
    random_start = build_parser().parse_args(["train", "--preset", "fast", "--no-whiten"])
    assert not config_from_args(random_start).whiten and config_from_args(random_start).batch_size == 128
    plain = config_from_args(build_parser().parse_args(["train"]))
    assert plain == TrainConfig()


def one_line_error(capsys, *args) -> str:
    """The one line that ``python -m cnnkit ARGS`` (run in this process) prints for an error it refuses."""
    from cnnkit.cli import main

    assert main(list(map(str, args))) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    return err


@pytest.mark.parametrize("value", ["99999999999999999999999", "²", "#٣"])
def test_a_run_id_too_large_or_in_other_digits_is_one_clear_line_everywhere(tmp_path, capsys, value):
    runs = tmp_path / "runs"
    for args in (
        ["runs", "--runs-dir", runs, "show", value],
        ["predict", "--checkpoint", value, "--runs-dir", runs, "x.png"],
        ["train", "--resume", value, "--runs-dir", runs],
    ):
        assert f"“{value}” is not a run id" in one_line_error(capsys, *args)


@pytest.mark.parametrize(
    "layers, message",
    [
        ("", "The network has no layers"),
        ("  ", "The network has no layers"),
        ("conv(8,3,stride=1e30) flatten linear", "“stride” must be a whole number from 1 to 100,000, got 1e+30"),
        ("[" * 5000 + "]" * 5000, "more than 3 levels deep"),
    ],
)
def test_an_empty_out_of_bounds_or_too_deep_layer_list_is_refused_before_training(tmp_path, capsys, layers, message):
    error = one_line_error(capsys, "train", "--layers", layers, "--runs-dir", tmp_path / "runs", "--data-dir", tmp_path)
    assert message in error and not (tmp_path / "runs").exists()  # refused before a run was recorded


def test_threads_above_the_cores_are_bounded_by_them_with_a_note(tmp_path, capsys, monkeypatch):
    from cnnkit.cli import main

    cores = len(os.sched_getaffinity(0))
    used = []
    monkeypatch.setattr(torch, "set_num_threads", used.append)  # this process's threads stay as they are
    for threads in ("1", "100000"):  # then stops at the absent data
        assert main(["train", "--threads", threads, "--data-dir", str(tmp_path), "--runs-dir", str(tmp_path)]) == 2
    assert used == [1, cores]
    note = capsys.readouterr().err.splitlines()[1]
    assert note.startswith(f"note: --threads 100,000 is more than the {cores} core")


@contextmanager
def read_only(*paths):
    """``paths`` made read-only for this process: by their mode, or (root writes whatever the mode) immutable."""
    if os.geteuid() != 0:
        modes = [p.stat().st_mode for p in paths]
        for p in paths:
            p.chmod(0o555)
        yield
        for p, mode in zip(paths, modes):
            p.chmod(mode)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", *paths]).returncode:
        pytest.skip("running as root without chattr +i: nothing here can be read-only")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *paths], check=True)


def test_a_read_only_run_store_is_read_and_said_to_be_read_only_not_damaged(tmp_path, capsys):
    from cnnkit.cli import main

    store = RunStore(tmp_path / "runs")
    store.finish(store.create(TrainConfig(epochs=2), name="kept"), "stopped")
    runs = ["runs", "--runs-dir", str(store.root)]
    with read_only(store.root, store.path):
        assert main([*runs, "list"]) == 0 and "kept" in capsys.readouterr().out
        assert main([*runs, "show", "1"]) == 0 and capsys.readouterr().out.startswith("run 1: kept — stopped")
        error = one_line_error(capsys, *runs, "rm", "1")
    assert "is read-only here" in error and "damaged" not in error and (store.root / "1").is_dir()


def test_ctrl_c_before_the_first_epoch_does_not_suggest_a_resume_that_is_refused(digits, tmp_path, capsys, monkeypatch):
    from cnnkit.cli import main
    from cnnkit.train import runner

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "train", interrupted)  # Ctrl-C during the first epoch
    runs = ["--runs-dir", str(tmp_path / "runs")]
    assert main(["train", "--data-dir", str(digits), "--device", "cpu", "--subset", "100", *runs]) == 130
    hint = capsys.readouterr().err.strip().splitlines()[-1]
    assert hint == "stopped: run 1 finished no epoch, so there is nothing to resume; start a new run instead"
    assert "cannot be resumed" in one_line_error(capsys, "train", "--resume", "1", "--device", "cpu", *runs)


def test_a_batch_larger_than_the_training_set_is_refused_without_a_run_and_the_default_fits_it(tmp_path, capsys):
    from cnnkit.cli import main
    from tests.support.shapes import draw_folder

    images = draw_folder(tmp_path / "shapes", per_class=8, classes=("circle", "square"))  # 16 images: 12 to train
    train = ["train", "--dataset", "folder", "--data-dir", str(images), "--device", "cpu"]
    runs = ["--runs-dir", str(tmp_path / "runs")]
    assert main([*train, *runs, "--batch-size", "64"]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: Batch size 64 is larger than the training set (12 images)")
    assert RunStore(tmp_path / "runs").list() == []  # no failed run left behind
    assert main([*train, *runs]) == 0  # the default batch of 64 is cut to the training set
    assert "note: batch size 12, the whole training set" in capsys.readouterr().err
    (run,) = RunStore(tmp_path / "runs").list()
    assert run.status == "finished" and run.train_config.batch_size == 12


def test_resume_refuses_a_run_that_diverged_as_the_page_does_not_offer_it(tmp_path, capsys):
    from tests.support.models import epoch_stats

    store = RunStore(tmp_path / "runs")
    run_id = store.create(TrainConfig(epochs=3))
    store.add_epoch(run_id, epoch_stats(1), 1 / 3)
    store.finish(run_id, "failed", reason={"key": "safety.diverged_nan", "kind": "diverged", "values": {}})
    err = one_line_error(capsys, "train", "--resume", str(run_id), "--runs-dir", tmp_path / "runs", "--device", "cpu")
    assert f"Run {run_id} (failed) cannot be resumed" in err and "lower learning rate" in err
