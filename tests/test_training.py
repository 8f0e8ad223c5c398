"""The training engine on digits the tests drew: learning, stopping, divergence, determinism, bad settings;
how well it learns real MNIST, when the real data is there."""

import threading

import pytest
import torch

from cnnkit.data.datasets import load_dataset
from cnnkit.errors import CnnkitError
from cnnkit.train.loop import BatchProgress, EpochStats, TrainConfig, measure_throughput, train


def small(**kw):
    base = dict(
        dataset="mnist", epochs=1, batch_size=32, train_subset=800, device="cpu", report_seconds=0
    )  # a progress event after every batch
    base.update(kw)
    return TrainConfig(**base)


def test_loss_falls_and_accuracy_beats_chance(digits_data):
    events = []
    result = train(small(epochs=2), callback=events.append, dataset=digits_data)
    losses = [e.loss for e in events if isinstance(e, BatchProgress)]
    epochs = [e for e in events if isinstance(e, EpochStats)]
    assert result.status == "completed" and len(epochs) == 2
    assert sum(losses[-10:]) / 10 < 0.5 * sum(losses[:5]) / 5
    assert result.evaluation.accuracy > 0.5  # 800 drawn digits, 2 epochs: far above the 10% of chance
    assert epochs[1].test_loss < epochs[0].test_loss
    assert all(e.images_per_s > 0 and e.seconds > 0 for e in epochs)
    confusion = result.evaluation.confusion
    assert len(confusion) == 10 and sum(map(sum, confusion)) == len(digits_data.test) == 400


def test_800_real_digits_in_2_epochs_reach_80_percent(mnist5k):
    result = train(small(epochs=2), dataset=load_dataset("mnist", mnist5k, download=False))
    assert result.status == "completed" and result.evaluation.accuracy > 0.8
    assert sum(map(sum, result.evaluation.confusion)) == 10_000  # the whole official test set


def test_same_seed_same_result_on_cpu(digits_data):
    a = train(small(train_subset=300, augment=True), dataset=digits_data)
    b = train(small(train_subset=300, augment=True), dataset=digits_data)
    c = train(small(train_subset=300, augment=True, seed=1), dataset=digits_data)
    assert a.history[0].train_loss == b.history[0].train_loss
    assert all(torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters()))
    assert a.history[0].train_loss != c.history[0].train_loss


def test_stop_keeps_partial_results(digits_data):
    stop = threading.Event()

    def stop_after_five(event):
        if isinstance(event, BatchProgress) and event.batch == 5:
            stop.set()

    result = train(small(epochs=3), callback=stop_after_five, stop=stop, dataset=digits_data)
    assert result.status == "stopped" and "batch 5" in result.message
    assert result.history == []  # no epoch finished
    assert result.evaluation is not None and result.evaluation.accuracy > 0.1  # what it learned is kept


def test_stop_between_epochs_keeps_the_epochs_evaluation(digits_data, monkeypatch):
    import cnnkit.train.loop

    stop, evaluations = threading.Event(), []
    real = cnnkit.train.loop.evaluate
    monkeypatch.setattr(cnnkit.train.loop, "evaluate", lambda *a, **k: evaluations.append(1) or real(*a, **k))
    result = train(
        small(epochs=3), callback=lambda e: isinstance(e, EpochStats) and stop.set(), stop=stop, dataset=digits_data
    )
    assert result.status == "stopped" and "the end of epoch 1" in result.message
    assert len(result.history) == 1 and len(evaluations) == 1  # nothing learned since: not evaluated again
    assert result.evaluation.accuracy == result.history[0].test_accuracy


def test_progress_events_are_throttled_in_time_but_every_epoch_ends_with_one(digits_data):
    events = []
    train(small(epochs=2, report_seconds=3600), callback=events.append, dataset=digits_data)
    progress = [e for e in events if isinstance(e, BatchProgress)]
    assert [(e.epoch, e.batch) for e in progress] == [
        (1, 1),
        (1, 25),
        (2, 25),
    ]  # the first batch (the start of the loss), then each epoch's last


def test_divergence_stops_with_reason(digits_data):
    result = train(small(lr=1000.0, optimizer="sgd"), dataset=digits_data)
    assert result.status == "diverged"
    assert "diverged" in result.message and "learning rate" in result.message


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(batch_size=0), "Batch size"),
        (dict(lr=0.0), "learning rate"),
        (dict(lr=-1.0), "learning rate"),
        (dict(epochs=0), "Epochs"),
        (dict(optimizer="lbfgs"), "optimizer"),
        (dict(batch_size=5000, train_subset=100), "larger than the training set"),
        (dict(device="cuda:7"), "CUDA|cuda"),
    ],
)
def test_bad_settings_are_refused_clearly(digits_data, kw, match):
    with pytest.raises(CnnkitError, match=match):
        train(small(**kw), dataset=digits_data)


def test_every_optimizer_and_onecycle_learn(digits_data):
    for optimizer, lr in (("sgd", 0.05), ("rmsprop", 1e-3)):
        result = train(small(optimizer=optimizer, lr=lr, schedule="onecycle", train_subset=400), dataset=digits_data)
        assert result.evaluation.accuracy > 0.5, optimizer


def test_measure_throughput_is_positive(digits_data):
    assert measure_throughput(small(), digits_data, batches_to_time=3, warmup=1) > 0
