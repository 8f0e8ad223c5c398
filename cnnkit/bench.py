"""``python -m cnnkit bench``: how fast training and inference are, measured side by side on one device.

Sections: ``compare`` — the source notebook's loop as written against cnnkit's engine with the same model,
batch size and optimizer; ``target`` — time to a test accuracy with the "fast" preset, the same recipe on the
notes' ConvNet, and the notebook's settings; ``latency`` — one image through the shipped model, p50/p95;
``app`` — ``streamlit run`` to the first page rendered in headless Chromium. Figures and the commands that
produced them: docs/speed.md.
"""

from __future__ import annotations

import io
import os
import statistics
import threading
import time
from dataclasses import replace

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw
from torch.utils.data import DataLoader

from cnnkit.data.datasets import Dataset, Split, subset, subset_size
from cnnkit.devices import cpu_name, resolve_device
from cnnkit.errors import CnnkitError
from cnnkit.nets.builder import ModelConfig, build_model
from cnnkit.train.loop import TrainConfig, TrainResult, native_bf16
from cnnkit.train.presets import apply_preset
from cnnkit.train.runner import Runner
from cnnkit.train.store import RunStore

SECTIONS = ("compare", "target", "latency", "app", "augment")
TARGETS = {"fashion-mnist": 0.90, "mnist": 0.98}


class NotebookImages(torch.utils.data.Dataset):
    """torchvision's ``datasets.MNIST`` as the notebook used it, over IDX tensors already in memory: every
    item becomes a PIL image and goes through ``transform`` one sample at a time."""

    def __init__(self, split: Split, transform):
        self.split, self.transform = split, transform

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, i: int):
        image = Image.fromarray(self.split.images[i].numpy(), mode="L")
        return self.transform(image), int(self.split.labels[i])


def notebook_run(dataset: Dataset, train_split: Split, epochs: int, device: torch.device, seed: int = 0) -> dict:
    """The notebook's loop as written: ``DataLoader(ToTensor())`` batches of 64 unnormalized images, Adam(1e-3),
    ``loss.item()`` every batch; then its test loop, whose loader normalizes (the mismatch costs accuracy)."""
    from torchvision import transforms

    torch.manual_seed(seed)
    model = build_model(ModelConfig(num_classes=len(dataset.info.classes))).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_loader = DataLoader(NotebookImages(train_split, transforms.ToTensor()), batch_size=64, shuffle=True)
    test_tf = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((dataset.info.mean,), (dataset.info.std,))]
    )
    test_loader = DataLoader(NotebookImages(dataset.test, test_tf), batch_size=1000)
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        running_loss = 0.0
        for images, labels in train_loader:
            images, labels = images.to(device), labels.to(device)
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        seconds.append(time.perf_counter() - start)
    start = time.perf_counter()
    model.eval()
    correct = 0
    with torch.no_grad():
        for images, labels in test_loader:
            correct += (model(images.to(device)).argmax(1) == labels.to(device)).sum().item()
    return _row(
        "notebook loop (DataLoader + ToTensor)",
        seconds,
        len(train_split),
        correct / len(dataset.test),
        time.perf_counter() - start,
    )


def _row(name: str, seconds: list[float], images: int, accuracy: float, eval_seconds: float, **extra) -> dict:
    per_epoch = sum(seconds) / len(seconds)
    return {
        "name": name,
        "seconds_per_epoch": round(per_epoch, 3),
        "images_per_s": round(images / per_epoch),
        "test_accuracy": round(accuracy, 4),
        "eval_seconds": round(eval_seconds, 3),
        **extra,
    }


def recorded_run(store: RunStore | None, config: TrainConfig, dataset: Dataset, name: str, **kwargs) -> TrainResult:
    """A benchmark's training run, kept in ``store`` when there is one; a diverged run is an error."""
    result = Runner(store, config, dataset, source="bench", name=f"bench: {name}").train(**kwargs)
    if result.status == "diverged":
        raise CnnkitError(result.divergence.key, **result.divergence.values())
    return result


def engine_run(config: TrainConfig, dataset: Dataset, name: str, store: RunStore | None = None) -> dict:
    """One run of cnnkit's engine; evaluation time is the run's time outside its training epochs."""
    result = recorded_run(store, config, dataset, name)
    seconds = [e.seconds for e in result.history]
    return _row(
        name,
        seconds,
        subset_size(dataset.train, config.train_subset),
        result.evaluation.accuracy,
        (result.seconds - sum(seconds)) / len(seconds),
    )


def notebook_vs_engine(base: TrainConfig, dataset: Dataset, store: RunStore | None = None) -> dict:
    """(a) the notebook's loop, then (b) the engine with the same model, batch 64 and Adam(1e-3), back to back."""
    device = resolve_device(base.device)
    config = replace(base, batch_size=64, optimizer="adam", lr=1e-3, schedule="constant", model=ModelConfig())
    a = notebook_run(dataset, subset(dataset.train, base.train_subset, base.seed), base.epochs, device, base.seed)
    b = engine_run(config, dataset, "cnnkit engine (same model, batch 64, Adam 1e-3)", store)
    return {"a": a, "b": b, "ratio_b_over_a": round(b["seconds_per_epoch"] / a["seconds_per_epoch"], 3)}


BENCH_AUGMENTATION = {"rotation": 15.0, "shift": 0.1, "scale": 0.1, "shear": 10.0, "erasing": 0.25}


def augmentation_cost(base: TrainConfig, dataset: Dataset, store: RunStore | None = None) -> dict:
    """The engine without, then with augmentation (``BENCH_AUGMENTATION``, each image drawn anew by
    torchvision.transforms.v2): the seconds it adds to an epoch."""
    plain = engine_run(replace(base, augment=False), dataset, "no augmentation", store)
    config = replace(base, augment=False, **BENCH_AUGMENTATION)
    augmented = engine_run(config, dataset, f"augmentation {BENCH_AUGMENTATION}", store)
    extra = augmented["seconds_per_epoch"] - plain["seconds_per_epoch"]
    return {"plain": plain, "augmented": augmented, "extra_seconds_per_epoch": round(extra, 3)}


def time_to_target(
    config: TrainConfig, dataset: Dataset, target: float, max_epochs: int, store: RunStore | None = None, name: str = ""
) -> dict:
    """Training seconds (evaluation excluded) until the test accuracy reaches ``target``.

    A constant LR trains on and stops after the first epoch that reaches it; a one-cycle schedule depends on
    the run's length, so it trains 1, 2, … epochs afresh and counts the first run that reaches it, at the epoch
    where it does (``planned_epochs``: the length of that run's schedule)."""
    if config.schedule == "constant":
        runs = [replace(config, epochs=max_epochs)]
    else:
        runs = [replace(config, epochs=e) for e in range(config.epochs, max_epochs + 1)]
    for run in runs:
        stop = _StopAt(target)
        result = recorded_run(store, run, dataset, f"{name} to {target:.0%}", callback=stop, stop=stop.event)
        reached = [e for e in result.history if e.test_accuracy >= target]
        if reached:
            epochs = reached[0].epoch
            return {
                "reached": True,
                "epochs": epochs,
                "planned_epochs": run.epochs,
                "test_accuracy": round(reached[0].test_accuracy, 4),
                "train_seconds": round(sum(e.seconds for e in result.history[:epochs]), 2),
            }
    best = max(e.test_accuracy for e in result.history)
    return {
        "reached": False,
        "epochs": max_epochs,
        "test_accuracy": round(best, 4),
        "train_seconds": round(sum(e.seconds for e in result.history), 2),
    }


class _StopAt:
    """A training callback that asks the run to stop once an epoch's test accuracy reaches ``target``."""

    def __init__(self, target: float):
        self.target, self.event = target, threading.Event()

    def __call__(self, event) -> None:
        if getattr(event, "test_accuracy", 0.0) >= self.target:
            self.event.set()


def targets(base: TrainConfig, dataset: Dataset, target: float, max_epochs: int, store: RunStore | None = None) -> dict:
    """Time to ``target`` with the fast recipe, the same recipe on the notes' ConvNet + BatchNorm, and the
    notebook's settings, one after the other; ``fast_over_notebook`` compares their training seconds."""
    fast = apply_preset(base, "fast")
    recipes = {
        "fast": fast,
        "fast_convnet": replace(fast, model=replace(fast.model, layers=None, batchnorm=True)),
        "notebook": apply_preset(base, "notebook"),
    }
    rows = {
        name: {"config": _recipe(config), **time_to_target(config, dataset, target, max_epochs, store, name)}
        for name, config in recipes.items()
    }
    out = {"target": target, "max_epochs": max_epochs, "recipes": rows}
    if rows["fast"]["reached"] and rows["notebook"]["reached"]:
        out["fast_over_notebook"] = round(rows["fast"]["train_seconds"] / rows["notebook"]["train_seconds"], 3)
    return out


def _recipe(config: TrainConfig) -> str:
    smoothing = f", label smoothing {config.label_smoothing:g}" if config.label_smoothing else ""
    whitened = ", whitened first layer" if config.whiten else ""
    return (
        f"{config.model.describe()}, batch {config.batch_size}, {config.optimizer} lr {config.lr:g} "
        f"{config.schedule}{smoothing}{whitened}, precision {config.precision}"
    )


def digit_png() -> bytes:
    """A drawn "2" as the canvas sends it: white strokes on black, 280×280 RGBA."""
    img = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    ImageDraw.Draw(img).line(
        [(90, 90), (120, 55), (170, 55), (195, 95), (90, 225), (200, 225)],
        fill=(255, 255, 255, 255),
        width=20,
        joint="curve",
    )
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def timed_ms(fn, runs: int, warmup: int = 10) -> dict:
    """Milliseconds per call of ``fn`` over ``runs`` calls after ``warmup`` ones: p50, p95 and max."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "p50": round(statistics.median(times), 3),
        "p95": round(times[min(runs - 1, int(0.95 * runs))], 3),
        "max": round(times[-1], 3),
    }


def latency(checkpoint: str | None, runs: int) -> dict:
    """Single-image latency on the CPU: the model alone, and a PNG through preprocessing and the model."""
    from cnnkit.infer.predict import load_model, predict_image, probabilities

    ckpt = load_model(checkpoint)
    png, x = digit_png(), torch.zeros(1, 1, 28, 28)
    result = {"checkpoint": str(ckpt.source), "runs": runs}
    result["model_ms"] = timed_ms(lambda: probabilities(ckpt, x), runs)
    result["png_to_prediction_ms"] = timed_ms(lambda: predict_image(ckpt, png), runs)
    return result


def machine(device: torch.device) -> dict:
    """What the figures were measured on, and how busy the machine was."""
    info = {
        "device": str(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if device.type == "cuda":
        info["name"] = torch.cuda.get_device_name(device)
    else:
        info["name"] = cpu_name()
    info["native_bf16"] = native_bf16(device)
    return info


def run_bench(
    base: TrainConfig,
    dataset: Dataset,
    sections: list[str],
    target: float | None,
    max_epochs: int,
    checkpoint: str | None,
    latency_runs: int,
    report=print,
    store: RunStore | None = None,
) -> dict:
    """Run the chosen sections one after the other on ``base.device``; ``report`` gets each section's name;
    the engine's training runs are kept in ``store`` when given."""
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise CnnkitError("errors.bench_sections", unknown=", ".join(sorted(unknown)), choices=", ".join(SECTIONS))
    device = resolve_device(base.device)
    out = {
        "machine": machine(device),
        "dataset": dataset.info.name,
        "source": dataset.source,
        "train_images": subset_size(dataset.train, base.train_subset),
        "test_images": len(dataset.test),
    }
    for section in SECTIONS:
        if section not in sections:
            continue
        report(section)
        start = time.perf_counter()
        if section == "compare":
            out[section] = notebook_vs_engine(base, dataset, store)
        elif section == "target":
            out[section] = targets(base, dataset, target or TARGETS.get(dataset.info.name, 0.9), max_epochs, store)
        elif section == "latency":
            out[section] = latency(checkpoint, latency_runs)
        elif section == "augment":
            out[section] = augmentation_cost(base, dataset, store)
        else:
            from cnnkit.devtools.browser import app_cold_start

            out[section] = app_cold_start(base.data_dir)
        out[section]["bench_seconds"] = round(time.perf_counter() - start, 1)
    out["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return out


def format_report(out: dict) -> str:
    """The figures as text lines."""
    m = out["machine"]
    lines = [
        f"{out['dataset']}: {out['train_images']} training / {out['test_images']} test images; "
        f"{m['device']} ({m['name']}), {m['threads']} threads, torch {m['torch']}, load average "
        f"{m['load_average'][0]} → {m['load_average_after'][0]}"
    ]
    if "compare" in out:
        c = out["compare"]
        for key in ("a", "b"):
            r = c[key]
            lines.append(
                f"({key}) {r['name']}: {r['seconds_per_epoch']:.2f} s/epoch, {r['images_per_s']:,} img/s, "
                f"test accuracy {r['test_accuracy']:.4f}, evaluation {r['eval_seconds']:.2f} s"
            )
        lines.append(f"ratio b/a: {c['ratio_b_over_a']:.3f}")
    if "augment" in out:
        a = out["augment"]
        lines.append(
            f"augmentation: {a['plain']['seconds_per_epoch']:.2f} s/epoch without, "
            f"{a['augmented']['seconds_per_epoch']:.2f} s/epoch with ({a['extra_seconds_per_epoch']:+.2f} s)"
        )
    if "target" in out:
        t = out["target"]
        for name, r in t["recipes"].items():
            verb = "reached" if r["reached"] else "NOT reached"
            lines.append(
                f"time to {t['target']:.0%} ({name}: {r['config']}): {verb} in {r['epochs']} epoch(s), "
                f"{r['train_seconds']:.2f} s of training, test accuracy {r['test_accuracy']:.4f}"
            )
        if "fast_over_notebook" in t:
            lines.append(f"fast / notebook training seconds: {t['fast_over_notebook']:.3f}")
    if "latency" in out:
        lat = out["latency"]
        for key in ("model_ms", "png_to_prediction_ms"):
            lines.append(f"latency {key[:-3]}: p50 {lat[key]['p50']:.2f} ms, p95 {lat[key]['p95']:.2f} ms")
    if "app" in out:
        lines.append(
            f"app cold start to first page: {out['app']['first_page_rendered_s']} s "
            f"(median {out['app']['median_first_page_s']} s)"
        )
    return "\n".join(lines)
