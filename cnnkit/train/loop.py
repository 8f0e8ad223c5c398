"""The one training engine, used by the CLI, the pages and the benchmarks.

Configuration is plain values (``TrainConfig``); progress goes to a callback as ``BatchProgress`` and
``EpochStats`` events; a ``threading.Event`` stops the run cooperatively at the next batch. The data lives on the
device as one tensor per split; the speed levers (channels-last memory, bf16 autocast, ``torch.compile``) and
their measurements are in docs/speed.md. Under torchrun each process trains on its shard (``cnnkit.train.distributed``).
"""
from __future__ import annotations

import copy
import math
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from cnnkit.nets.checkpoints import Checkpoint
from cnnkit.data.datasets import Dataset, augment, batches, dataset_info, load_dataset, subset, to_tensor
from cnnkit.train.distributed import World, rank_device, shard, sum_across, wrap
from cnnkit.errors import CnnkitError, unknown_choice
from cnnkit.train.evaluation import EVAL_BATCH, Evaluation, evaluate
from cnnkit.nets.builder import ModelConfig, build_model, count_parameters


class GpuOutOfMemory(CnnkitError):
    """The GPU ran out of memory during training; the message suggests a smaller batch or the CPU."""


OPTIMIZERS = ("adam", "sgd", "rmsprop")
SCHEDULES = ("constant", "onecycle")
PRECISIONS = ("auto", "fp32", "bf16")


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
    eval_batch_size: int = EVAL_BATCH
    channels_last: bool = True  # NHWC memory for the convolutions: faster on CPU (oneDNN) and GPU (cuDNN)
    report_every: int = 1  # batches between progress events (each one syncs the device) …
    report_seconds: float = 0.05  # … and this long between them (one process); an epoch's last batch always reports
    precision: str = "auto"  # autocast: "bf16", "fp32", or "auto" = bf16 where the hardware computes it natively
    compile: bool = False  # torch.compile the training forward/backward (pays its compile time on the first batch)

    def validate(self) -> None:
        if self.epochs < 1:
            raise CnnkitError("errors.epochs_min", epochs=self.epochs)
        if self.batch_size < 1:
            raise CnnkitError("errors.batch_size_min", batch_size=self.batch_size)
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise CnnkitError("errors.lr_positive", lr=self.lr)
        if self.optimizer not in OPTIMIZERS:
            raise unknown_choice("optimizer", self.optimizer, OPTIMIZERS)
        if self.schedule not in SCHEDULES:
            raise unknown_choice("schedule", self.schedule, SCHEDULES)
        if self.train_subset is not None and self.train_subset < 1:
            raise CnnkitError("errors.subset_positive", size=self.train_subset)
        if self.precision not in PRECISIONS:
            raise unknown_choice("precision", self.precision, PRECISIONS)
        if self.report_every < 1 or self.eval_batch_size < 1 or self.report_seconds < 0:
            raise CnnkitError("errors.report_settings")

    def to_dict(self) -> dict:
        return asdict(self)


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


def make_optimizer(name: str, params, lr: float, momentum: float,
                   device: torch.device | None = None) -> torch.optim.Optimizer:
    """The optimizer; on CUDA, Adam and SGD use their fused kernels (one launch for all parameters)."""
    fused = {"fused": True} if device is not None and device.type == "cuda" else {}
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, **fused)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, **fused)
    return torch.optim.RMSprop(params, lr=lr)


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bf16 natively: CUDA GPUs from Ampere on, CPUs with AVX512-BF16 or AMX."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(getattr(torch.cpu, name, lambda: False)() for name in checks)
    return False


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype that ``precision`` means on ``device``; None for plain fp32."""
    if precision == "bf16" and device.type not in ("cpu", "cuda"):
        raise CnnkitError("errors.bf16_device", device=device.type)
    if precision == "bf16" or (precision == "auto" and native_bf16(device)):
        return torch.bfloat16
    return None


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
    x_train: torch.Tensor  # this process's shard under torchrun
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    background: float  # the normalized value of a black pixel, for augmentation padding
    generator: torch.Generator
    world: World | None = None  # the processes training together, None for a lone process
    amp: torch.dtype | None = None  # autocast dtype of the training steps, None for fp32

    @property
    def batch_size(self) -> int:
        """Images per step in this process: its part of the global batch."""
        return self.config.batch_size // (self.world.size if self.world else 1)


def prepare(config: TrainConfig, dataset: Dataset | None = None, world: World | None = None) -> Prepared:
    """Validate the config, load the data to the device as one tensor per split, build the model."""
    config.validate()
    device = rank_device(world, config.device)
    amp = autocast_dtype(config.precision, device)
    processes = world.size if world else 1
    if config.batch_size % processes:
        raise CnnkitError("errors.batch_per_process", batch_size=config.batch_size, processes=processes)
    data = dataset or load_dataset(config.dataset, config.data_dir)
    train_split = shard(subset(data.train, config.train_subset, config.seed), world, config.seed)
    if config.batch_size > len(train_split) * processes:
        raise CnnkitError("errors.batch_too_large", batch_size=config.batch_size, images=len(train_split) * processes)
    torch.manual_seed(config.seed)
    model = build_model(replace(config.model, num_classes=len(data.info.classes))).to(device)
    fmt = torch.channels_last if config.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    x_train = to_tensor(train_split.images, data.info, device).contiguous(memory_format=fmt)
    x_test = to_tensor(data.test.images, data.info, device).contiguous(memory_format=fmt)
    return Prepared(config, device, model, x_train, train_split.labels.to(device), x_test,
                    data.test.labels.to(device), -data.info.mean / data.info.std,
                    torch.Generator().manual_seed(config.seed + (world.rank if world else 0)), world, amp)


def train(config: TrainConfig, callback: Callback | None = None, stop: threading.Event | None = None,
          dataset: Dataset | None = None, world: World | None = None) -> TrainResult:
    """Train ``config``; return the model, its history and its final test evaluation.

    ``world`` (from ``cnnkit.train.distributed``) makes this process one of several that train together."""
    run = prepare(config, dataset, world)
    try:
        return _fit(run, callback or (lambda event: None), stop or threading.Event())
    except torch.cuda.OutOfMemoryError:
        raise GpuOutOfMemory("errors.gpu_out_of_memory", batch_size=config.batch_size) from None


def _training_module(run: Prepared) -> nn.Module:
    """What the training steps call: the model, inside DDP under torchrun, compiled when asked."""
    net = wrap(run.model, run.world, run.device)
    return torch.compile(net) if run.config.compile else net


def _train_step(run: Prepared, net: nn.Module, optimizer: torch.optim.Optimizer, xb: torch.Tensor,
                yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step on a batch (augmented when the config says so), the forward pass autocast to
    ``run.amp`` when set; the loss and logits."""
    if run.config.augment:
        xb = augment(xb, run.background, run.generator)
    amp = run.amp
    with torch.autocast(xb.device.type, dtype=amp or torch.float32, enabled=amp is not None):
        logits = net(xb)
    loss = F.cross_entropy(logits.float(), yb)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss, logits


def _fit(run: Prepared, callback: Callback, stop: threading.Event) -> TrainResult:
    config, model, world = run.config, run.model, run.world
    n, processes = len(run.y_train), (world.size if world else 1)
    steps = math.ceil(n / run.batch_size)
    optimizer = make_optimizer(config.optimizer, model.parameters(), config.lr, config.momentum, run.device)
    scheduler = (torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=steps * config.epochs)
                 if config.schedule == "onecycle" else None)
    net = _training_module(run)
    result = TrainResult(config, model, str(run.device), "completed", "Training completed.")
    start = last_report = time.perf_counter()
    trained_since_eval = False  # whether the model changed since its last test evaluation
    for epoch in range(1, config.epochs + 1):
        net.train()
        epoch_start = window_start = time.perf_counter()
        loss_sum = torch.zeros((), device=run.device)
        correct = torch.zeros((), device=run.device)
        seen = window_seen = 0
        for batch, (xb, yb) in enumerate(batches(run.x_train, run.y_train, run.batch_size, True,
                                                 run.generator), 1):
            if stop.is_set():
                where = f"epoch {epoch}, batch {batch - 1} of {steps}" if batch > 1 else f"the end of epoch {epoch - 1}"
                result.status, result.message = "stopped", (
                    f"Stopped by the user at {where}; the model keeps what it learned so far.")
                break
            loss, logits = _train_step(run, net, optimizer, xb, yb)
            trained_since_eval = True
            if scheduler:
                scheduler.step()
            loss_sum += loss.detach() * len(yb)
            correct += (logits.argmax(1) == yb).sum()
            seen += len(yb)
            window_seen += len(yb)
            now = time.perf_counter()
            # under torchrun every process must report at the same batch (an all-reduce): batches only, not time
            due = world is not None or now - last_report >= config.report_seconds
            if batch == steps or (batch % config.report_every == 0 and due):
                # one device sync (and one all-reduce under torchrun) per progress event
                last_report = now
                loss_all, correct_all, seen_all = sum_across(world, torch.stack(
                    [loss.detach(), correct, torch.tensor(float(seen), device=run.device)])).tolist()
                value = loss_all / processes
                if not math.isfinite(value):
                    result.status, result.message = "diverged", divergence_message(config, epoch, batch, value)
                    break
                now = time.perf_counter()
                callback(BatchProgress(epoch, batch, steps, value, correct_all / seen_all,
                                       window_seen * processes / max(now - window_start, 1e-9), now - start))
                window_start, window_seen = now, 0
        seconds = time.perf_counter() - epoch_start
        if result.status != "completed":
            break
        loss_all, correct_all, seen_all = sum_across(world, torch.stack(
            [loss_sum, correct, torch.tensor(float(seen), device=run.device)])).tolist()
        ev = evaluate(model, run.x_test, run.y_test, batch_size=config.eval_batch_size)
        stats = EpochStats(epoch, seconds, loss_all / seen_all, correct_all / seen_all, ev.loss, ev.accuracy,
                           seen_all / seconds)
        result.history.append(stats)
        result.evaluation, trained_since_eval = ev, False
        callback(stats)
    result.seconds = time.perf_counter() - start
    if result.status == "stopped" and (trained_since_eval or result.evaluation is None):
        result.evaluation = evaluate(model, run.x_test, run.y_test, batch_size=config.eval_batch_size)
    return result


def measure_throughput(config: TrainConfig, dataset: Dataset, batches_to_time: int = 20,
                       warmup: int = 3) -> float:
    """Training images per second of ``config`` on its device over a few batches (a fresh model)."""
    run = prepare(replace(config, train_subset=None), dataset)
    optimizer = make_optimizer(config.optimizer, run.model.parameters(), config.lr, config.momentum, run.device)
    net = _training_module(run)
    net.train()
    it = batches(run.x_train, run.y_train, config.batch_size, True, run.generator)
    seen, start = 0, None
    for i, (xb, yb) in enumerate(it):
        if i == warmup:
            _sync(run.device)
            start, seen = time.perf_counter(), 0
        if i == warmup + batches_to_time:
            break
        _train_step(run, net, optimizer, xb, yb)
        seen += len(yb)
    _sync(run.device)
    if start is None:
        raise CnnkitError("errors.too_few_batches")
    return seen / (time.perf_counter() - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
