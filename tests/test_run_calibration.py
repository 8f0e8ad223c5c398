"""Every run that ends with a digit model is calibrated: the page's jobs and the benchmarks' recorded runs keep
a checkpoint whose temperature was fitted on training images the run held back, as ``train --out`` does."""

import numpy as np
import pytest

from cnnkit.data.datasets import load_dataset
from cnnkit.infer.predict import probabilities
from cnnkit.train.jobs import JobManager
from cnnkit.train.loop import TrainConfig
from cnnkit.train.runner import Runner
from cnnkit.train.store import RunStore


@pytest.fixture(scope="module")
def mnist(mnist5k):
    return load_dataset("mnist", mnist5k, download=False)


def config(**kw) -> TrainConfig:
    return TrainConfig(
        **{"dataset": "mnist", "epochs": 1, "batch_size": 32, "device": "cpu", "train_subset": 300, **kw}
    )


def assert_calibrated(store: RunStore, run_id: int, mnist) -> None:
    for which in ("best", "last"):
        ckpt = store.load(run_id, which)
        assert ckpt.temperature != 1.0 and 0.05 < ckpt.temperature < 20
        assert ckpt.calibration["on"] == "training images not trained on"
        assert ckpt.calibration["images"] == 2000  # of the 4,700 images outside the 300 trained on
        x = (mnist.test.images[:200].unsqueeze(1).float() / 255 - ckpt.mean) / ckpt.std
        calibrated = probabilities(ckpt, x)
        raw = ckpt.model(x).softmax(1).detach().numpy()
        assert not np.allclose(calibrated, raw, atol=1e-3)  # the stated confidences change …
        assert (calibrated.argmax(1) == raw.argmax(1)).all()  # … the answers do not


def test_a_run_trained_through_the_job_manager_ends_calibrated(tmp_path, mnist):
    store = RunStore(tmp_path / "runs")
    manager = JobManager(store, max_running=1)
    run_id = manager.submit(config(), mnist, owner="a-learner-of-the-page")
    assert manager.job(run_id).join(300), "the job did not end in 300 s"
    assert store.get(run_id).status == "finished"
    assert_calibrated(store, run_id, mnist)


def test_a_recorded_benchmark_run_ends_calibrated(tmp_path, mnist):
    store = RunStore(tmp_path / "runs")
    result = Runner(store, config(seed=3), mnist, source="bench", name="bench: calibration").train()
    assert result.status == "completed"
    assert_calibrated(store, store.list()[0].id, mnist)
