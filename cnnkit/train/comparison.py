"""Comparing runs and devices: stored runs side by side, and the images/s of one config on each device."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from cnnkit.data.datasets import Dataset, subset_size
from cnnkit.devices import DeviceInfo, list_devices
from cnnkit.train.loop import TrainConfig, measure_throughput
from cnnkit.train.store import Run

NOTEBOOK_IMAGES = 6 * 60_000  # the notebook's run: 6 epochs of MNIST, ~200 s on a CPU, ~58 s on a GPU


# settings that say nothing about the run's outcome, left out of comparisons (and what a kept fine-tuning
# started from: its run's name says it)
IGNORED = {"data_dir", "device", "report_every", "report_seconds", "eval_batch_size", "fine_tune"}


def flat_config(config: dict) -> dict:
    """A stored config with the model's switches as ``model.<name>`` keys."""
    out = {k: v for k, v in config.items() if k != "model" and k not in IGNORED}
    out.update({f"model.{k}": v for k, v in config.get("model", {}).items()})
    return out


def differing_settings(runs: Sequence[Run]) -> list[str]:
    """The config keys (experiment switches and hyperparameters) whose values differ between ``runs``."""
    flats = [flat_config(r.config) for r in runs]
    keys = sorted({k for f in flats for k in f})
    return [k for k in keys if len({repr(f.get(k)) for f in flats}) > 1]


def comparison_rows(runs: Sequence[Run]) -> list[dict]:
    """One row per run: its summary, then a column per setting that differs between them."""
    keys = differing_settings(runs)
    rows = []
    for run in runs:
        flat = flat_config(run.config)
        summary = {"id": run.id, "name": run.name, "status": run.status, "dataset": run.dataset,
                   "train_images": run.train_images, "epochs": len(run.epochs), "test_accuracy": run.test_accuracy,
                   "best_accuracy": run.best_accuracy, "parameters": run.parameters,
                   "seconds_per_epoch": run.seconds_per_epoch, "device": run.device}
        rows.append({**summary, **{k: flat.get(k) for k in keys}})
    return rows


def epoch_seconds(config: TrainConfig, dataset: Dataset, batches: int = 5) -> float:
    """Seconds per training epoch of ``config``, from the images/s of a short measured warm-up."""
    images = subset_size(dataset.train, config.train_subset)
    return images / measure_throughput(config, dataset, batches_to_time=batches, warmup=2)


@dataclass(frozen=True)
class DeviceSpeed:
    device: DeviceInfo
    images_per_s: float
    speedup: float  # over the CPU
    notebook_seconds: float  # the notebook's 6 epochs of 60,000 images at this speed


def compare_devices(config: TrainConfig, dataset: Dataset, devices: list[DeviceInfo] | None = None,
                    batches: int = 30) -> list[DeviceSpeed]:
    """Images/s of ``config`` over ``batches`` batches on each device (all present by default), and the
    speedup over the CPU."""
    devices = devices or list_devices()
    speeds = [measure_throughput(replace(config, device=d.id), dataset, batches) for d in devices]
    cpu = next((s for d, s in zip(devices, speeds) if d.kind == "cpu"), speeds[-1])
    return [DeviceSpeed(d, s, s / cpu, NOTEBOOK_IMAGES / s) for d, s in zip(devices, speeds)]
