"""The one training engine, used by the CLI, the pages and the benchmarks.

Configuration is plain values (``TrainConfig``); progress goes to a callback as ``BatchProgress`` and
``EpochStats`` events; a ``threading.Event`` stops the run cooperatively at the next batch.
"""
from __future__ import annotations

import copy
import math
import threading
import time
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .checkpoints import Checkpoint
from .data import Dataset, augment, batches, dataset_info, load_dataset, subset, to_tensor
from .devices import resolve_device
from .errors import CnnkitError
from .evaluation import Evaluation, evaluate
from .models import ModelConfig, build_model, count_parameters

OPTIMIZERS = ("adam", "sgd", "rmsprop")
SCHEDULES = ("constant", "onecycle")


@dataclass(frozen=True)
class TrainConfig:
    dataset: str = "mnist"
    data_dir: str | None = None
    model: ModelConfig = ModelConfig()
    epochs: int = 1
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9  # SGD only
    schedule: str = "constant"
    seed: int = 0
    train_subset: int | None = None
    augment: bool = False
    device: str = "auto"
    eval_batch_size: int = 2000
    channels_last: bool = False
    report_every: int = 1  # batches between progress events (each one syncs the device)

    def validate(self) -> None:
        if self.epochs < 1:
            raise CnnkitError(f"Epochs must be at least 1, got {self.epochs}.")
        if self.batch_size < 1:
            raise CnnkitError(f"Batch size must be at least 1, got {self.batch_size}.")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise CnnkitError(f"The learning rate must be a positive number, got {self.lr}.")
        if self.optimizer not in OPTIMIZERS:
            raise CnnkitError(f"Unknown optimizer {self.optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}.")
        if self.schedule not in SCHEDULES:
            raise CnnkitError(f"Unknown LR schedule {self.schedule!r}; choose one of: {', '.join(SCHEDULES)}.")
        if self.train_subset is not None and self.train_subset < 1:
            raise CnnkitError(f"The training subset size must be positive, got {self.train_subset}.")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        values = {k: v for k, v in values.items() if k in {f.name for f in fields(cls)}}
        if isinstance(values.get("model"), dict):
            values["model"] = ModelConfig.from_dict(values["model"])
        return cls(**values)


@dataclass(frozen=True)
class BatchProgress:
    epoch: int  # 1-based
    batch: int  # 1-based, within the epoch
    batches: int  # per epoch
    loss: float
    running_accuracy: float  # this epoch so far
    images_per_s: float
    elapsed: float  # seconds since the start of training


@dataclass(frozen=True)
class EpochStats:
    epoch: int
    seconds: float  # training time of the epoch, without evaluation
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float
    images_per_s: float


@dataclass
class TrainResult:
    config: TrainConfig
    model: nn.Module
    device: str
    status: str  # "completed" | "stopped" | "diverged"
    message: str
    history: list[EpochStats] = field(default_factory=list)
    evaluation: Evaluation | None = None
    seconds: float = 0.0

    @property
    def params(self) -> int:
        return count_parameters(self.model)

    def to_checkpoint(self) -> Checkpoint:
        """The trained model with its card (config, data, normalization, metrics, history)."""
        info = dataset_info(self.config.dataset)
        ev = self.evaluation
        metrics = {"test_accuracy": ev.accuracy, "test_loss": ev.loss, "per_class": ev.per_class} if ev else {}
        metrics.update(status=self.status, device=self.device, seconds=round(self.seconds, 2))
        return Checkpoint(copy.deepcopy(self.model).cpu().eval(),
                          replace(self.config.model, num_classes=len(info.classes)), info.name,
                          list(info.classes), info.mean, info.std, metrics, [asdict(e) for e in self.history],
                          self.config.to_dict())

    def to_json(self) -> dict:
        """The CLI's ``--json`` object."""
        ev = self.evaluation
        return {
            "status": self.status, "message": self.message, "device": self.device,
            "model": self.config.model.describe(), "params": self.params,
            "test_accuracy": ev.accuracy if ev else None, "test_loss": ev.loss if ev else None,
            "seconds": round(self.seconds, 3),
            "epochs": [{k: (round(v, 5) if isinstance(v, float) else v) for k, v in asdict(e).items()}
                       for e in self.history],
            "config": self.config.to_dict(),
        }


Event = BatchProgress | EpochStats
Callback = Callable[[Event], None]


def make_optimizer(name: str, params, lr: float, momentum: float) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum)
    return torch.optim.RMSprop(params, lr=lr)


def divergence_message(config: TrainConfig, epoch: int, batch: int, loss: float) -> str:
    return (f"Training diverged at epoch {epoch}, batch {batch}: the loss became {loss}. "
            f"The learning rate {config.lr:g} is too high for {config.optimizer}; "
            f"try {config.lr / 10:g} or lower (Adam usually works with 0.001).")


@dataclass
class Prepared:
    """Everything a run needs, on its device: the model, the normalized tensors, the generator."""

    config: TrainConfig
    device: torch.device
    model: nn.Module
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    background: float  # the normalized value of a black pixel, for augmentation padding
    generator: torch.Generator


def prepare(config: TrainConfig, dataset: Dataset | None = None) -> Prepared:
    """Validate the config, load the data to the device as one tensor per split, build the model."""
    config.validate()
    device = resolve_device(config.device)
    data = dataset or load_dataset(config.dataset, config.data_dir)
    train_split = subset(data.train, config.train_subset, config.seed)
    if config.batch_size > len(train_split):
        raise CnnkitError(f"Batch size {config.batch_size} is larger than the training set "
                          f"({len(train_split)} images); choose at most {len(train_split)}.")
    torch.manual_seed(config.seed)
    model = build_model(replace(config.model, num_classes=len(data.info.classes))).to(device)
    fmt = torch.channels_last if config.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    x_train = to_tensor(train_split.images, data.info, device).contiguous(memory_format=fmt)
    x_test = to_tensor(data.test.images, data.info, device).contiguous(memory_format=fmt)
    return Prepared(config, device, model, x_train, train_split.labels.to(device), x_test,
                    data.test.labels.to(device), -data.info.mean / data.info.std,
                    torch.Generator().manual_seed(config.seed))


def train(config: TrainConfig, callback: Callback | None = None, stop: threading.Event | None = None,
          dataset: Dataset | None = None) -> TrainResult:
    """Train ``config``; return the model, its history and its final test evaluation."""
    run = prepare(config, dataset)
    try:
        return _fit(run, callback or (lambda event: None), stop or threading.Event())
    except torch.cuda.OutOfMemoryError:
        raise CnnkitError(f"The GPU ran out of memory with batch size {config.batch_size}: use a smaller "
                          "batch size, or train on the CPU (--device cpu).") from None


def _fit(run: Prepared, callback: Callback, stop: threading.Event) -> TrainResult:
    config, model = run.config, run.model
    n = len(run.y_train)
    steps = math.ceil(n / config.batch_size)
    optimizer = make_optimizer(config.optimizer, model.parameters(), config.lr, config.momentum)
    scheduler = (torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=steps * config.epochs)
                 if config.schedule == "onecycle" else None)
    result = TrainResult(config, model, str(run.device), "completed", "Training completed.")
    start = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        model.train()
        epoch_start = window_start = time.perf_counter()
        loss_sum = torch.zeros((), device=run.device)
        correct = torch.zeros((), dtype=torch.long, device=run.device)
        seen = window_seen = 0
        for batch, (xb, yb) in enumerate(batches(run.x_train, run.y_train, config.batch_size, True,
                                                 run.generator), 1):
            if stop.is_set():
                result.status, result.message = "stopped", (
                    f"Stopped by the user at epoch {epoch}, batch {batch - 1} of {steps}; "
                    "the model keeps what it learned so far.")
                break
            if config.augment:
                xb = augment(xb, run.background, run.generator)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler:
                scheduler.step()
            loss_sum += loss.detach() * len(yb)
            correct += (logits.argmax(1) == yb).sum()
            seen += len(yb)
            window_seen += len(yb)
            if batch % config.report_every == 0 or batch == steps:
                value = loss.item()
                if not math.isfinite(value):
                    result.status, result.message = "diverged", divergence_message(config, epoch, batch, value)
                    break
                now = time.perf_counter()
                callback(BatchProgress(epoch, batch, steps, value, correct.item() / seen,
                                       window_seen / max(now - window_start, 1e-9), now - start))
                window_start, window_seen = now, 0
        seconds = time.perf_counter() - epoch_start
        if result.status != "completed" or seen < n:
            break
        ev = evaluate(model, run.x_test, run.y_test, batch_size=config.eval_batch_size)
        stats = EpochStats(epoch, seconds, loss_sum.item() / seen, correct.item() / seen, ev.loss, ev.accuracy,
                           seen / seconds)
        result.history.append(stats)
        result.evaluation = ev
        callback(stats)
    result.seconds = time.perf_counter() - start
    if result.status == "stopped" or (result.status == "completed" and result.evaluation is None):
        result.evaluation = evaluate(model, run.x_test, run.y_test, batch_size=config.eval_batch_size)
    return result


def measure_throughput(config: TrainConfig, dataset: Dataset, batches_to_time: int = 20,
                       warmup: int = 3) -> float:
    """Training images per second of ``config`` on its device over a few batches (a fresh model)."""
    run = prepare(replace(config, train_subset=None), dataset)
    model = run.model
    optimizer = make_optimizer(config.optimizer, model.parameters(), config.lr, config.momentum)
    model.train()
    it = batches(run.x_train, run.y_train, config.batch_size, True, run.generator)
    seen, start = 0, None
    for i, (xb, yb) in enumerate(it):
        if i == warmup:
            _sync(run.device)
            start, seen = time.perf_counter(), 0
        if i == warmup + batches_to_time:
            break
        loss = F.cross_entropy(model(augment(xb, run.background, run.generator) if config.augment else xb), yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seen += len(yb)
    _sync(run.device)
    if start is None:
        raise CnnkitError("Too few batches to measure; use a smaller batch size.")
    return seen / (time.perf_counter() - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
