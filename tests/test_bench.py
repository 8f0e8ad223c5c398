"""``python -m cnnkit bench`` end to end on a small subset, and the presets it compares."""

import json

import pytest

from cnnkit.errors import CnnkitError
from cnnkit.nets.builder import FAST_NET
from cnnkit.train.loop import TrainConfig
from cnnkit.train.presets import apply_preset
from tests.support import cli


def test_bench_runs_end_to_end_on_a_subset(digits):
    run = cli(
        "bench",
        "--dataset",
        "mnist",
        "--data-dir",
        digits,
        "--device",
        "cpu",
        "--subset",
        "640",
        "--sections",
        "compare,target,latency",
        "--target",
        "0.5",
        "--max-epochs",
        "2",
        "--latency-runs",
        "20",
        "--json",
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["train_images"] == 640 and out["test_images"] == 400
    assert out["command"].startswith("python -m cnnkit bench --dataset mnist")
    a, b = out["compare"]["a"], out["compare"]["b"]
    assert a["name"].startswith("notebook") and b["name"].startswith("cnnkit")
    assert out["compare"]["ratio_b_over_a"] == pytest.approx(b["seconds_per_epoch"] / a["seconds_per_epoch"], abs=2e-3)
    assert all(0.1 < r["test_accuracy"] <= 1 and r["images_per_s"] > 0 for r in (a, b))  # above chance
    recipes = out["target"]["recipes"]
    assert set(recipes) == {"fast", "fast_convnet", "notebook"}
    assert recipes["notebook"]["reached"]  # 2 epochs of 10 batches reach 50%; fast's 5 batches may not
    assert "batchnorm relu" in recipes["fast"]["config"] and recipes["fast_convnet"]["config"].startswith("convnet+bn")
    if recipes["fast"]["reached"]:
        assert out["target"]["fast_over_notebook"] == pytest.approx(
            recipes["fast"]["train_seconds"] / recipes["notebook"]["train_seconds"], abs=2e-3
        )
    for r in recipes.values():  # either reached in time, or tried every epoch allowed and fell short
        assert (r["test_accuracy"] >= 0.5) if r["reached"] else (r["epochs"] == 2 and r["test_accuracy"] < 0.5)
        if r["reached"]:  # at an epoch of the schedule it was trained for, at most --max-epochs long
            assert r["epochs"] <= r["planned_epochs"] <= 2
    for key in ("model_ms", "png_to_prediction_ms"):
        assert 0 < out["latency"][key]["p50"] <= out["latency"][key]["p95"]


def test_bench_text_report_and_bad_section(digits):
    run = cli("bench", "--dataset", "mnist", "--data-dir", digits, "--sections", "latency", "--latency-runs", "10")
    assert run.returncode == 0, run.stderr
    assert "latency png_to_prediction: p50" in run.stdout
    bad = cli("bench", "--dataset", "mnist", "--data-dir", digits, "--sections", "latency,warp")
    assert bad.returncode == 2 and "Unknown bench section(s) warp" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_presets_set_their_recipe_and_keep_the_rest():
    base = TrainConfig(dataset="fashion-mnist", seed=3, train_subset=500)
    fast = apply_preset(base, "fast")
    assert (fast.epochs, fast.batch_size, fast.lr, fast.schedule) == (1, 128, 1e-2, "onecycle")
    assert fast.label_smoothing == 0.1
    assert fast.whiten and fast.model.layers == FAST_NET  # a whitened start of the lighter ConvNet
    assert (fast.dataset, fast.seed, fast.train_subset) == ("fashion-mnist", 3, 500)
    notebook = apply_preset(fast, "notebook")
    assert (notebook.epochs, notebook.batch_size, notebook.lr, notebook.label_smoothing) == (6, 64, 1e-3, 0.0)
    assert not notebook.whiten  # the fast recipe's whitened start undone
    assert notebook.model.describe() == "convnet"  # the fast network's layer list undone
    with pytest.raises(CnnkitError, match="Unknown preset"):
        apply_preset(base, "turbo")


def test_cli_options_override_the_preset(digits, tmp_path):
    run = cli(
        "train",
        "--preset",
        "fast",
        "--batch-size",
        "64",
        "--dataset",
        "mnist",
        "--data-dir",
        digits,
        "--subset",
        "512",
        "--device",
        "cpu",
        "--json",
    )
    assert run.returncode == 0, run.stderr
    config = json.loads(run.stdout.strip().splitlines()[-1])["config"]
    assert (config["batch_size"], config["schedule"], config["epochs"]) == (64, "onecycle", 1)
    assert [layer["type"] for layer in config["model"]["layers"]][:3] == ["conv", "maxpool", "batchnorm"]
    lenet = cli(
        "train",
        "--preset",
        "fast",
        "--model",
        "lenet5",
        "--label-smoothing",
        "0",
        "--dataset",
        "mnist",
        "--data-dir",
        digits,
        "--subset",
        "512",
        "--device",
        "cpu",
        "--json",
    )
    assert lenet.returncode == 0, lenet.stderr
    result = json.loads(lenet.stdout.strip().splitlines()[-1])  # a switch means the notes' network, not the preset's
    assert result["model"] == "lenet5" and result["config"]["label_smoothing"] == 0.0


def test_bench_measures_the_cost_of_augmentation(digits):
    run = cli("bench", "--dataset", "mnist", "--data-dir", digits, "--sections", "augment", "--subset", "256", "--json")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])["augment"]
    assert out["augmented"]["name"].startswith("augmentation") and out["plain"]["seconds_per_epoch"] > 0
    assert out["extra_seconds_per_epoch"] == round(
        out["augmented"]["seconds_per_epoch"] - out["plain"]["seconds_per_epoch"], 3
    )
