"""The model shipped in the repo reads the official MNIST test set at ≥ 98%."""
import json
import subprocess
import sys

from cnnkit.infer.predict import DEFAULT_CHECKPOINT, load_model
from tests.conftest import ROOT


def test_shipped_model_is_small_and_carries_its_card():
    assert DEFAULT_CHECKPOINT.stat().st_size < 5_000_000
    ckpt = load_model()
    assert ckpt.dataset == "mnist" and ckpt.classes == [str(d) for d in range(10)]
    assert ckpt.train_config["augment"] is True and ckpt.train_config["data_dir"].endswith("mnist-5k")


def test_shipped_model_reaches_98_percent_on_official_test_set(mnist5k):
    run = subprocess.run([sys.executable, "-m", "cnnkit", "evaluate", "--dataset", "mnist", "--data-dir",
                          str(mnist5k), "--offline", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["images"] == 10_000
    assert result["accuracy"] >= 0.98
