"""The model shipped in the repo: small, with its card; ``cnnkit evaluate`` on digits the tests drew, and on
the official MNIST test set at ≥ 98% when the real data is there."""

import json

from cnnkit.infer.predict import DEFAULT_CHECKPOINT, load_model
from tests.support import cli


def test_shipped_model_is_small_and_carries_its_card():
    assert DEFAULT_CHECKPOINT.stat().st_size < 5_000_000
    ckpt = load_model()
    assert ckpt.dataset == "mnist" and ckpt.classes == [str(d) for d in range(10)]
    assert ckpt.train_config["augment"] is True and ckpt.train_config["data_dir"].endswith("mnist-5k")


def evaluate(folder) -> dict:
    run = cli("evaluate", "--dataset", "mnist", "--data-dir", folder, "--offline", "--json")
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_evaluate_reads_every_drawn_test_digit(digits):
    result = evaluate(digits)
    assert result["images"] == 400
    assert result["accuracy"] >= 0.9  # clean drawn digits, MNIST-like: the shipped model reads them


def test_shipped_model_reaches_98_percent_on_official_test_set(mnist5k):
    result = evaluate(mnist5k)
    assert result["images"] == 10_000
    assert result["accuracy"] >= 0.98
