"""Comparing runs and devices: stored runs side by side, and the images/s of one config on each device."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from cnnkit.data.datasets import DATASETS, Dataset, subset_size
from cnnkit.devices import DeviceInfo, device_name, list_devices
from cnnkit.i18n import DEFAULT_LANGUAGE, formatter, text
from cnnkit.nets.builder import ModelConfig
from cnnkit.train.loop import TrainConfig, measure_throughput
from cnnkit.train.naming import network_summary
from cnnkit.train.store import Run

NOTEBOOK_IMAGES = 6 * 60_000  # the notebook's run: 6 epochs of MNIST, ~200 s on a CPU, ~58 s on a GPU


# settings that say nothing about the run's outcome, left out of comparisons (and what a kept fine-tuning
# started from: its run's name says it; an uploaded weights file's place on the server)
IGNORED = {
    "data_dir",
    "device",
    "report_every",
    "report_seconds",
    "eval_batch_size",
    "fine_tune",
    "weights",
    "download",
}


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
        summary = {
            "id": run.id,
            "name": run.name,
            "status": run.status,
            "dataset": run.dataset,
            "train_images": run.train_images,
            "epochs": len(run.epochs),
            "test_accuracy": run.test_accuracy,
            "best_accuracy": run.best_accuracy,
            "parameters": run.parameters,
            "seconds_per_epoch": run.seconds_per_epoch,
            "device": run.device,
        }
        rows.append({**summary, **{k: flat.get(k) for k in keys}})
    return rows


SUMMARY = (
    "test_accuracy",
    "best_accuracy",
    "epochs",
    "seconds_per_epoch",
    "parameters",
    "train_images",
    "dataset",
    "device",
    "status",
    "id",
)  # after the name and the differing settings, in this order


def comparison_table(runs: Sequence[Run], lang: str = DEFAULT_LANGUAGE) -> tuple[list[dict], dict]:
    """The runs side by side as the page shows them, in ``lang``: the name, the settings that differ (in words,
    translated), then the results; and how to write each numeric column (the values stay numbers, to sort)."""
    keys = shown_settings(differing_settings(runs))
    rows = []
    for run, row in zip(runs, comparison_rows(runs)):
        shown = {
            **row,
            "status": text(f"runs.states.{run.status}", lang),
            "dataset": dataset_title(run, lang),
            "device": device_name(run.device, lang) if run.device else None,
        }
        settings = {setting_label(k, lang): setting_text(run, k, row[k], lang) for k in keys}
        rows.append(
            {
                text("runs.cols.name", lang): run.title(lang),
                **settings,
                **{text(f"runs.cols.{k}", lang): shown[k] for k in SUMMARY if k not in keys},
            }
        )
    fmt = formatter(lang)
    writers = {
        "test_accuracy": fmt.percent,
        "best_accuracy": fmt.percent,
        "seconds_per_epoch": fmt.seconds,
        "parameters": fmt.number,
        "train_images": fmt.number,
    }
    return rows, {text(f"runs.cols.{k}", lang): write for k, write in writers.items()}


def shown_settings(keys: list[str]) -> list[str]:
    """The differing settings a comparison shows: a layer list that differs says all of the network, first (the
    switches of the notes' ConvNet beside it would read "BatchNorm: no" for a layer list with BatchNorm)."""
    if "model.layers" not in keys:
        return keys
    return ["model.layers", *(k for k in keys if not k.startswith("model."))]


def setting_label(key: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A setting's name on the page (``model.layers`` → "Network layers")."""
    return text(f"runs.settings.{key.replace('model.', 'model_')}", lang)


CHOICES = {"optimizer": "train.optimizers", "schedule": "train.schedules", "model.arch": "train.archs"}


def setting_text(run: Run, key: str, value, lang: str = DEFAULT_LANGUAGE) -> str | None:
    """A setting's value in words: choices by their names on the page, yes/no, numbers as ``lang`` writes them
    (grouped), the layer list as a short description."""
    fmt = formatter(lang)
    if key == "model.layers":
        return network_summary(ModelConfig.from_dict(run.config.get("model", {})), lang)
    if key == "dataset":
        return dataset_title(run, lang)
    if key == "train_subset" and value is None:
        return text("train.all", lang)
    if value is None:
        return None
    if key in CHOICES:
        return text(f"{CHOICES[key]}.{value}", lang)
    if isinstance(value, bool):
        return text(f"runs.values.{'yes' if value else 'no'}", lang)
    if isinstance(value, int):
        return fmt.number(value)
    if isinstance(value, float):
        return fmt.value(value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {fmt.value(v)}" for k, v in value.items())
    return str(value)


def dataset_title(run: Run, lang: str = DEFAULT_LANGUAGE) -> str:
    """A run's dataset as the page names it: MNIST, your own images, or custom IDX data by its folder's name."""
    if run.dataset == "folder":
        return text("build.data.choice", lang)
    if run.dataset in DATASETS:
        return DATASETS[run.dataset].title
    folder = run.config.get("data_dir")
    return text("safety.custom_data", lang, name=Path(folder).resolve().name) if folder else run.dataset


def epoch_seconds(config: TrainConfig, dataset: Dataset, batches: int = 8) -> float:
    """Seconds per training epoch of ``config``, from the images/s of a short measured warm-up (its median batch)."""
    images = subset_size(dataset.train, config.train_subset)
    return images / measure_throughput(config, dataset, batches_to_time=batches, warmup=2)


@dataclass(frozen=True)
class DeviceSpeed:
    device: DeviceInfo
    images_per_s: float
    speedup: float  # over the CPU
    notebook_seconds: float  # the notebook's 6 epochs of 60,000 images at this speed


def compare_devices(
    config: TrainConfig, dataset: Dataset, devices: list[DeviceInfo] | None = None, batches: int = 30
) -> list[DeviceSpeed]:
    """Images/s of ``config`` over ``batches`` batches on each device (all present by default), and the
    speedup over the CPU."""
    devices = devices or list_devices()
    speeds = [measure_throughput(replace(config, device=d.id), dataset, batches) for d in devices]
    cpu = next((s for d, s in zip(devices, speeds) if d.kind == "cpu"), speeds[-1])
    return [DeviceSpeed(d, s, s / cpu, NOTEBOOK_IMAGES / s) for d, s in zip(devices, speeds)]
