"""Comparing runs and devices: the session's run history and the images/s of one config on each device."""
from __future__ import annotations

from dataclasses import dataclass, replace

from cnnkit.data.datasets import Dataset, dataset_info, subset_size
from cnnkit.devices import DeviceInfo, list_devices
from cnnkit.train.loop import EpochStats, TrainConfig, TrainResult, measure_throughput

NOTEBOOK_IMAGES = 6 * 60_000  # the notebook's run: 6 epochs of MNIST, ~200 s on a CPU, ~58 s on a GPU


@dataclass(frozen=True)
class RunRecord:
    """One finished run, as the history table and the overlaid curves need it (no weights)."""

    name: str
    config: TrainConfig
    device: str
    status: str
    train_images: int
    params: int
    seconds_per_epoch: float | None
    test_accuracy: float | None
    history: tuple[EpochStats, ...]

    @classmethod
    def from_result(cls, name: str, result: TrainResult, train_images: int) -> "RunRecord":
        epochs = result.history
        return cls(name, result.config, result.device, result.status, train_images, result.params,
                   sum(e.seconds for e in epochs) / len(epochs) if epochs else None,
                   result.evaluation.accuracy if result.evaluation else None, tuple(epochs))

    def row(self) -> dict:
        """The history table's row; keys name the columns (the page translates them)."""
        c = self.config
        return {"run": self.name, "dataset": dataset_info(c.dataset).title,
                "images": self.train_images, "epochs": len(self.history), "batch_size": c.batch_size,
                "optimizer": c.optimizer, "lr": c.lr, "augment": c.augment, "params": self.params,
                "seconds_per_epoch": self.seconds_per_epoch, "test_accuracy": self.test_accuracy,
                "device": self.device, "status": self.status}


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
