"""Divergence: a run whose loss becomes non-finite or grows far above its start, or whose weights become
non-finite, stops with the reason and a lower learning rate to try; it is not reported as a success."""

import math

import pytest
import torch

import cnnkit.train.loop as loop
from cnnkit.data.datasets import load_dataset
from cnnkit.errors import CnnkitError
from cnnkit.nets.builder import build_model
from cnnkit.train.charts import _metric_axis
from cnnkit.train.loop import TrainConfig, diverged, finite_weights, train
from tests.support import cli
from tests.support.pages import start, texts, wait_until


def config(**values) -> TrainConfig:
    return TrainConfig(**{"epochs": 1, "batch_size": 20, "device": "cpu", "report_seconds": 0, **values})


def test_a_loss_far_above_its_start_or_not_finite_has_diverged():
    c = config(lr=50.0)
    assert diverged(c, 1, 3, 2.5, 2.3) is None and diverged(c, 1, 3, 22.0, 2.3) is None
    grew = diverged(c, 1, 3, 4.5e30, 2.3)
    assert grew.cause == "grew" and grew.lower == 5.0
    assert grew.message() == (
        "Training diverged at epoch 1, batch 3: the loss grew from 2.3 to 4.5e+30. The "
        "learning rate 50 is too high for adam: the updates overshoot and the weights blow "
        "up. Try 5 or lower (Adam usually works with 0.001)."
    )
    assert "выросла с 2,3 до 4,5e+30" in grew.message("ru")
    nan = diverged(c, 2, 1, math.nan, 2.3)
    assert nan.cause == "not_finite" and "the loss became NaN (not a number)" in nan.message()
    assert diverged(c, 1, 1, math.inf, None).cause == "not_finite"


def test_adam_at_a_huge_learning_rate_diverges_instead_of_completing(tiny_idx):
    data = load_dataset(None, tiny_idx, download=False)
    result = train(config(lr=1e3, epochs=3), dataset=data)
    assert result.status == "diverged" and result.divergence.cause in ("grew", "not_finite")
    assert result.message.startswith("Training diverged at epoch 1") and "Try 100 or lower" in result.message
    assert len(result.history) == 0  # nothing of the diverged epoch is kept as a result


def test_non_finite_weights_at_the_end_of_an_epoch_are_a_divergence(tiny_idx, monkeypatch):
    model = build_model()
    assert finite_weights(model)
    with torch.no_grad():
        model.fc2.bias[0] = math.inf
    assert not finite_weights(model)
    monkeypatch.setattr(loop, "finite_weights", lambda model: False)
    result = train(config(lr=0.01), dataset=load_dataset(None, tiny_idx, download=False))
    assert result.status == "diverged" and result.divergence.cause == "weights"
    assert result.message == (
        "Training diverged in epoch 1: the weights became NaN or infinite. The learning rate "
        "0.01 is too high for adam. Try 0.001 or lower (Adam usually works with 0.001)."
    )


def test_cli_exits_non_zero_and_saves_nothing(tiny_idx, tmp_path):
    out = tmp_path / "never.pt"
    run = cli(
        "train",
        "--data-dir",
        tiny_idx,
        "--lr",
        "1000",
        "--epochs",
        "2",
        "--batch-size",
        "20",
        "--device",
        "cpu",
        "--out",
        out,
        "--runs-dir",
        tmp_path / "runs",
    )
    assert run.returncode == 3, run.stderr
    assert "Training diverged at epoch 1" in run.stderr and "Try 100 or lower" in run.stderr
    assert not out.exists() and "saved" not in run.stderr and ": failed" in run.stderr


@pytest.mark.parametrize(
    "args,message",
    [
        (["--lr", "1e300"], "A learning rate of 1e+300 cannot train (at most 1,000; Adam usually works with 0.001)."),
        (["--lr", "1e39"], "A learning rate of 1e+39 cannot train (at most 1,000; Adam usually works with 0.001)."),
        (
            ["--seed", "99999999999999999999"],
            "The seed must be a whole number from 0 to 2^63 - 1, got 99999999999999999999.",
        ),
        (["--seed", "-1"], "The seed must be a whole number from 0 to 2^63 - 1, got -1."),
    ],
)
def test_settings_that_cannot_be_represented_are_refused_up_front(args, message, tmp_path):
    run = cli("train", *args, "--device", "cpu", "--runs-dir", tmp_path / "runs")
    assert run.returncode == 2 and run.stderr.strip() == f"error: {message}"


def test_momentum_out_of_range_is_refused():
    with pytest.raises(CnnkitError, match="momentum must be from 0 to below 1"):
        config(momentum=math.nan).validate()


def test_the_loss_axis_of_a_diverged_run_is_logarithmic():
    assert _metric_axis("loss", "en", values=[2.3, 1.2, 0.4]).get("type") is None
    axis = _metric_axis("loss", "en", values=[2.3, 5e3, 4e14, math.nan])
    assert axis["type"] == "log" and axis["exponentformat"] == "power"  # 10^14, never "400T"


def test_the_page_shows_a_diverged_run_as_an_error_with_a_retry(train_at):
    """Adam at learning rate 50: once "trained, test accuracy 9.75%" in green; now an error and a retry."""
    at = train_at
    at.number_input(key="train_lr").set_value(50.0)
    start(at)
    wait_until(at, lambda snap: snap.done)
    assert not at.success and "trained" not in texts(at.success)
    error = texts(at.error)
    assert error.startswith("Training diverged at epoch 1, batch ") and "Try 5 or lower" in error
    retry = at.button(key="train_retry_lr")
    assert retry.label == "Train again with learning rate 5"
    retry.click().run()
    assert at.number_input(key="train_lr").value == 5.0
