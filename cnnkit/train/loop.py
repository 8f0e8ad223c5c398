"""The one training engine, used by the CLI, the pages and the benchmarks.

It reads top to bottom like nanoGPT's ``train.py``: ``prepare`` validates the plain-values ``TrainConfig``,
puts this process's data on the device (``cnnkit.data.tensors``) and builds the model; ``_fit`` makes the
optimizer and schedule, then for each epoch ``_train_epoch`` steps through the batches (``_train_step``),
keeping running ``Sums`` on the device while a ``Reporter`` sends throttled ``BatchProgress`` events, and
``_end_epoch`` totals the epoch and evaluates it (``EpochStats``). A ``threading.Event`` stops the run at the
next batch; ``on_epoch`` lets the run store keep each finished epoch; ``Resume`` continues a stopped run.
Under torchrun the edges change only: each process trains its part of the data inside DDP, and the sums are
all-reduced (``cnnkit.train.distributed``). The speed levers and their measurements are in docs/speed.md.
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace

import torch
import torch.nn.functional as F
from torch import nn

from cnnkit.data.augmentation import Augmentation
from cnnkit.data.datasets import DATASETS, Dataset, DatasetInfo, augment, dataset_info, load_dataset, subset_size
from cnnkit.data.folders import FolderOptions
from cnnkit.data.tensors import DeviceData, on_device
from cnnkit.devices import cpu_computes_bf16
from cnnkit.errors import CnnkitError, GpuOutOfMemory, unknown_choice
from cnnkit.i18n import text
from cnnkit.nets.builder import ModelConfig, count_parameters
from cnnkit.nets.checkpoints import Checkpoint
from cnnkit.nets.transfer import hold_frozen
from cnnkit.options import positive_int, setting
from cnnkit.train.distributed import World, rank_device, sum_across, wrap
from cnnkit.train.evaluation import EVAL_BATCH, Evaluation, evaluate
from cnnkit.train.transfer import starting_model, with_cached_features
from cnnkit.train.whitening import whiten_first_conv

OPTIMIZERS = ("adam", "sgd", "rmsprop")
SCHEDULES = ("constant", "onecycle")
PRECISIONS = ("auto", "fp32", "bf16")


@dataclass(frozen=True)
class TrainConfig:
    """A training run as plain values; the fields with a ``setting`` are the options of ``cnnkit train``."""

    dataset: str = setting(
        "mnist",
        "--dataset",
        "folder: your own images, DIR/<class>/* or DIR/train|test/<class>/* (or a .zip of either)",
        choices=[*DATASETS, "folder"],
    )
    data_dir: str | None = setting(
        None,
        "--data-dir",
        "folder with the four IDX files, or torchvision's root "
        "(default: $CNNKIT_DATA_DIR or ./data); the class folder (or .zip) of --dataset "
        "folder",
        run=False,
    )
    model: ModelConfig = ModelConfig()
    epochs: int = setting(1, "--epochs", "default 1", type=int)
    batch_size: int = setting(
        64, "--batch-size", "the global batch, split among torchrun's processes (default 64)", type=int
    )
    optimizer: str = setting("adam", "--optimizer", "default adam", choices=OPTIMIZERS)
    lr: float = setting(1e-3, "--lr", "the (peak) learning rate (default 0.001)", type=float)
    momentum: float = 0.9  # SGD only
    schedule: str = setting("constant", "--schedule", "default constant", choices=SCHEDULES)
    # the training targets' share spread over the other classes (0: one-hot)
    label_smoothing: float = setting(
        0.0,
        "--label-smoothing",
        "share of each target spread over the other classes, 0 <= S < 1 (default 0)",
        type=float,
        metavar="S",
    )
    # the first convolution starts as filters that whiten the training images' patches (cnnkit/train/whitening.py)
    whiten: bool = setting(
        False,
        "--whiten",
        "start the first convolution as whitening filters of the training images' patches (--no-whiten: "
        "random filters, also under --preset fast)",
        action=argparse.BooleanOptionalAction,
    )
    seed: int = setting(0, "--seed", "seed of the weights, the shuffles and the subset (default 0)", type=int)
    train_subset: int | None = setting(None, "--subset", "train on this many random training images", type=positive_int)
    augment: bool = setting(False, "--augment", "small random shifts, rotations and scales", action="store_true")
    # augmentation you set (cnnkit/data/augmentation.py, torchvision.transforms.v2), each image drawn anew
    rotation: float = setting(
        0.0, "--rotation", "random rotation up to DEG degrees either way", type=float, metavar="DEG"
    )
    shift: float = setting(0.0, "--shift", "random shift up to this share of the image size (0-0.5)", type=float)
    scale: float = setting(0.0, "--scale", "random scaling by up to this share (0-0.9)", type=float)
    shear: float = setting(0.0, "--shear", "random shear up to DEG degrees", type=float, metavar="DEG")
    erasing: float = setting(
        0.0, "--erasing", "chance of blacking out a random rectangle (0-1)", type=float, metavar="P"
    )
    flip: bool = setting(False, "--flip", "colour images: random left-right flips", action="store_true")
    color_jitter: float = setting(
        0.0,
        "--color-jitter",
        "colour images: brightness, contrast, saturation changed by up to S",
        type=float,
        metavar="S",
    )
    device: str = setting("auto", "--device", "auto, cpu, cuda, cuda:N or mps", run=False)
    eval_batch_size: int = EVAL_BATCH
    channels_last: bool = True  # NHWC memory for the convolutions: faster on CPU (oneDNN) and GPU (cuDNN)
    report_every: int = 1  # batches between progress events (each one syncs the device) …
    report_seconds: float = 0.05  # … and this long between them (one process); an epoch's last batch always reports
    # autocast: "bf16", "fp32", or "auto" = bf16 where the hardware computes it natively
    precision: str = setting(
        "auto",
        "--precision",
        "autocast of the training steps (default auto: bf16 where the CPU or GPU computes it natively)",
        choices=PRECISIONS,
    )
    # torch.compile the training forward/backward (pays its compile time on the first batch)
    compile: bool = setting(
        False, "--compile", "torch.compile the model (pays the compile time once)", action="store_true"
    )
    folder: FolderOptions | None = None  # how a folder dataset's images were made (dataset "folder")
    # transfer learning (``cnnkit.train.transfer``): where the first weights come from
    start_from: str | None = setting(
        None,
        "--from",
        "transfer learning from a cnnkit model: a run id, 'shipped' or a checkpoint file; its last layer is "
        "replaced and --freeze says what learns",
        metavar="RUN|shipped|FILE",
    )
    weights: str | None = setting(
        None,
        "--weights",
        "--arch --pretrained: the ImageNet weights file (default: torchvision's file in $TORCH_HOME/hub/checkpoints)",
        metavar="FILE",
        run=False,
    )
    download: bool = setting(
        False,
        "--download-weights",
        "--arch --pretrained: download the weights into torch's cache when they are not there",
        action="store_true",
        run=False,
    )
    # a frozen part at the start of the network is computed once per image, then only the rest trains
    cache_features: bool = True

    def validate(self) -> None:
        if self.epochs < 1:
            raise CnnkitError("errors.epochs_min", epochs=self.epochs)
        if self.batch_size < 1:
            raise CnnkitError("errors.batch_size_min", batch_size=self.batch_size)
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise CnnkitError("errors.lr_positive", lr=self.lr)
        if self.lr > MAX_LR:
            raise CnnkitError("safety.lr_too_high", lr=self.lr, most=MAX_LR)
        if not 0 <= self.seed < 2**63:
            raise CnnkitError("safety.seed_range", seed=str(self.seed))
        if not (math.isfinite(self.momentum) and 0 <= self.momentum < 1):
            raise CnnkitError("safety.momentum_range", momentum=self.momentum)
        if not 0 <= self.label_smoothing < 1:
            raise CnnkitError("errors.label_smoothing_range", value=self.label_smoothing)
        if self.whiten and (self.start_from or self.model.pretrained):
            raise CnnkitError("errors.whiten_pretrained")
        if self.optimizer not in OPTIMIZERS:
            raise unknown_choice("optimizer", self.optimizer, OPTIMIZERS)
        if self.schedule not in SCHEDULES:
            raise unknown_choice("schedule", self.schedule, SCHEDULES)
        if self.train_subset is not None and self.train_subset < 1:
            raise CnnkitError("errors.subset_positive", size=self.train_subset)
        if not self.device.strip():
            raise CnnkitError("safety.device_empty")
        if self.precision not in PRECISIONS:
            raise unknown_choice("precision", self.precision, PRECISIONS)
        self.augmentation.validate()
        if self.report_every < 1 or self.eval_batch_size < 1 or self.report_seconds < 0:
            raise CnnkitError("errors.report_settings")

    def to_dict(self) -> dict:
        return {**asdict(self), "model": self.model.to_dict()}

    @property
    def augmentation(self) -> Augmentation:
        """The augmentation settings of the run (``augment`` is the older, fixed small augmentation)."""
        return Augmentation(**{f.name: getattr(self, f.name) for f in fields(Augmentation)})


@dataclass(frozen=True, kw_only=True)
class BatchProgress:
    epoch: int  # 1-based
    batch: int  # 1-based, within the epoch
    batches: int  # per epoch
    loss: float
    running_accuracy: float  # this epoch so far
    images_per_s: float
    elapsed: float  # seconds since the start of training


@dataclass(frozen=True, kw_only=True)
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
    divergence: Divergence | None = None  # why it diverged, when its status says so
    data: DatasetInfo | None = None  # what it trained on (custom IDX data has no name in DATASETS)

    @property
    def params(self) -> int:
        return count_parameters(self.model)

    def to_checkpoint(self) -> Checkpoint:
        """The trained model with its card (config, data, normalization, metrics, history)."""
        info = self.data or dataset_info(self.config.dataset)
        ev = self.evaluation
        metrics = {"test_accuracy": ev.accuracy, "test_loss": ev.loss, "per_class": ev.per_class} if ev else {}
        metrics.update(status=self.status, device=self.device, seconds=round(self.seconds, 2))
        return Checkpoint(
            copy.deepcopy(self.model).cpu().eval(),
            self.config.model.for_data(info),
            info.recorded,
            list(info.classes),
            info.mean,
            info.std,
            metrics,
            [asdict(e) for e in self.history],
            self.config.to_dict(),
        )

    def to_json(self) -> dict:
        """The CLI's ``--json`` object."""
        ev = self.evaluation
        return {
            "status": self.status,
            "message": self.message,
            "device": self.device,
            "model": self.config.model.describe(),
            "parameters": self.params,
            "test_accuracy": ev.accuracy if ev else None,
            "test_loss": ev.loss if ev else None,
            "seconds": round(self.seconds, 3),
            "epochs": [
                {k: (round(v, 5) if isinstance(v, float) else v) for k, v in asdict(e).items()} for e in self.history
            ],
            "config": self.config.to_dict(),
        }


Event = BatchProgress | EpochStats
Callback = Callable[[Event], None]


def make_optimizer(
    name: str, params, lr: float, momentum: float, device: torch.device | None = None
) -> torch.optim.Optimizer:
    """The optimizer; on CUDA, Adam and SGD use their fused kernels (one launch for all parameters)."""
    fused = {"fused": True} if device is not None and device.type == "cuda" else {}
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, **fused)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, **fused)
    return torch.optim.RMSprop(params, lr=lr)


def learning(model: nn.Module) -> list[nn.Parameter]:
    """The parameters the optimizer steps: those not frozen."""
    return [p for p in model.parameters() if p.requires_grad]


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bf16 natively: CUDA GPUs from Ampere on, CPUs with AVX512-BF16 or AMX."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        return cpu_computes_bf16()
    return False


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype that ``precision`` means on ``device``; None for plain fp32."""
    if precision == "bf16" and device.type not in ("cpu", "cuda"):
        raise CnnkitError("errors.bf16_device", device=device.type)
    if precision == "bf16" or (precision == "auto" and native_bf16(device)):
        return torch.bfloat16
    return None


GROWTH_LIMIT = 10.0  # a loss above this many times its first value (at least 1) has diverged
MAX_LR = 1000.0  # higher rates cannot train (and 1e39 overflows the optimizer's float32 state)


@dataclass(frozen=True, kw_only=True)
class Divergence:
    """Why a run diverged: ``cause`` "not_finite" (the loss became NaN or infinite), "grew" (far above its
    start) or "weights" (NaN or infinite weights at the end of an epoch), where, and what to try instead."""

    cause: str
    epoch: int
    batch: int
    loss: float
    start: float
    lr: float
    optimizer: str

    @property
    def lower(self) -> float:
        """The suggested learning rate: a tenth of this one."""
        return self.lr / 10

    @property
    def key(self) -> str:
        if self.cause == "not_finite":
            return "safety.diverged_nan" if math.isnan(self.loss) else "safety.diverged_inf"
        return f"safety.diverged_{self.cause}"

    def values(self) -> dict:
        return {
            "epoch": self.epoch,
            "batch": self.batch,
            "loss": float(f"{self.loss:.3g}"),
            "start": float(f"{self.start:.3g}"),
            "lr": self.lr,
            "optimizer": self.optimizer,
            "lower": self.lower,
        }

    def message(self, lang: str = "en") -> str:
        return CnnkitError(self.key, **self.values()).message(lang)


def diverged(config: TrainConfig, epoch: int, batch: int, loss: float, start: float | None) -> Divergence | None:
    """The divergence that the batch loss ``loss`` shows, given the run's first reported loss ``start``."""
    if math.isfinite(loss) and (start is None or loss <= GROWTH_LIMIT * max(start, 1.0)):
        return None
    return Divergence(
        cause="grew" if math.isfinite(loss) else "not_finite",
        epoch=epoch,
        batch=batch,
        loss=loss,
        start=start if start is not None else loss,
        lr=config.lr,
        optimizer=config.optimizer,
    )


def finite_weights(model: nn.Module) -> bool:
    """Whether every parameter is finite (one device sync)."""
    return bool(torch.stack([torch.isfinite(p).all() for p in model.parameters()]).all())


@dataclass(kw_only=True)
class Prepared:
    """Everything a run needs, on its device: the model, its data, the generator of its shuffles."""

    config: TrainConfig
    device: torch.device
    model: nn.Module
    data: DeviceData
    info: DatasetInfo  # what the data is: class names, normalization
    generator: torch.Generator
    world: World | None = None  # the processes training together, None for a lone process
    amp: torch.dtype | None = None  # autocast dtype of the training steps, None for fp32
    tail: nn.Module | None = None  # the part of ``model`` that trains on ``data`` when it holds cached features

    @property
    def trained(self) -> nn.Module:
        """What the steps and the evaluations call: the model, or its tail on cached features."""
        return self.tail if self.tail is not None else self.model

    @property
    def processes(self) -> int:
        return self.world.size if self.world else 1

    @property
    def batch_size(self) -> int:
        """Images per step in this process: its part of the global batch."""
        return self.config.batch_size // self.processes

    @property
    def steps(self) -> int:
        """Optimizer steps per epoch."""
        return math.ceil(len(self.data.y_train) / self.batch_size)


def batch_images(config: TrainConfig, dataset: Dataset, processes: int = 1) -> int:
    """The training images that ``config`` takes of ``dataset`` (its subset), in equal parts for ``processes``:
    the largest batch it can train with."""
    return subset_size(dataset.train, config.train_subset) // processes * processes


def default_batch(images: int | None) -> int:
    """The batch a run starts from: ``TrainConfig``'s, or ``images`` (a training set that small) if fewer."""
    default = TrainConfig().batch_size
    return min(default, images) if images else default


def check_batch(config: TrainConfig, dataset: Dataset, processes: int = 1) -> None:
    """A batch larger than the training images is refused (before a run is recorded for it)."""
    images = batch_images(config, dataset, processes)
    if config.batch_size > images:
        raise CnnkitError("errors.batch_too_large", batch_size=config.batch_size, images=images)


def prepare(
    config: TrainConfig, dataset: Dataset | None = None, world: World | None = None, resume: Resume | None = None
) -> Prepared:
    """Validate the config, put this process's data on its device, build the model (its first weights: the
    run's kept ones on a resume, else pretrained ones when asked; frozen layers frozen), and compute a frozen
    start's features once when they can stand for the images (``cnnkit.train.transfer``)."""
    config.validate()
    device = rank_device(world, config.device)
    amp = autocast_dtype(config.precision, device)
    processes = world.size if world else 1
    if config.batch_size % processes:
        raise CnnkitError("errors.batch_per_process", batch_size=config.batch_size, processes=processes)
    dataset = dataset or load_dataset(config.dataset, config.data_dir)
    check_batch(config, dataset, processes)
    fmt = torch.channels_last if config.channels_last else torch.contiguous_format
    data = on_device(
        dataset,
        device=device,
        train_subset=config.train_subset,
        seed=config.seed,
        rank=world.rank if world else 0,
        processes=processes,
        memory_format=fmt,
    )
    torch.manual_seed(config.seed)
    model = starting_model(config, dataset.info, resume.model_state if resume else None).to(device)
    if config.whiten and resume is None:
        whiten_first_conv(model, data.x_train, config.seed)
    run = Prepared(
        config=config,
        device=device,
        model=model.to(memory_format=fmt),
        data=data,
        world=world,
        info=dataset.info,
        generator=torch.Generator().manual_seed(config.seed + (world.rank if world else 0)),
        amp=amp,
    )
    return with_cached_features(run)


@dataclass(kw_only=True)
class Resume:
    """Where a stopped run left off: its finished epochs and the optimizer's, schedule's and shuffle's state."""

    model_state: dict
    optimizer_state: dict
    scheduler_state: dict | None
    generator_state: torch.Tensor
    history: list[EpochStats]
    seconds: float


EpochHook = Callable[["TrainResult", "Resume"], None]
StartHook = Callable[[nn.Module], None]


def train(
    config: TrainConfig,
    callback: Callback | None = None,
    stop: threading.Event | None = None,
    dataset: Dataset | None = None,
    world: World | None = None,
    *,
    resume: Resume | None = None,
    on_epoch: EpochHook | None = None,
    on_start: StartHook | None = None,
) -> TrainResult:
    """Train ``config``; return the model, its history and its final test evaluation.

    ``world`` (from ``cnnkit.train.distributed``) makes this process one of several that train together;
    ``resume`` continues a stopped run after its last finished epoch; ``on_epoch`` gets the result so far and
    the state to resume from after every finished epoch (the run store keeps them); ``on_start`` gets the model
    before its first step (after a resume's weights are loaded)."""
    run = prepare(config, dataset, world, resume)
    try:
        return _fit(run, callback or (lambda event: None), stop or threading.Event(), resume, on_epoch, on_start)
    except torch.cuda.OutOfMemoryError:
        raise GpuOutOfMemory("errors.gpu_out_of_memory", batch_size=config.batch_size) from None


def _training_module(run: Prepared) -> nn.Module:
    """What the training steps call: the model, inside DDP under torchrun, compiled when asked."""
    net = wrap(run.trained, run.world, run.device)
    return torch.compile(net) if run.config.compile else net


def _train_step(
    run: Prepared, net: nn.Module, optimizer: torch.optim.Optimizer, xb: torch.Tensor, yb: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step on a batch (augmented when the config says so), the forward pass autocast to
    ``run.amp`` when set; the loss and logits."""
    if run.config.augment:
        xb = augment(xb, run.data.background, run.generator)
    augmentation = run.config.augmentation
    if augmentation.active:
        xb = augmentation.apply(xb, run.info.mean, run.info.std, run.generator)
    amp = run.amp
    with torch.autocast(xb.device.type, dtype=amp or torch.float32, enabled=amp is not None):
        logits = net(xb)
    loss = F.cross_entropy(logits.float(), yb, label_smoothing=run.config.label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss, logits


class Sums:
    """An epoch's running loss, correct answers and images, kept on the device (no sync per batch)."""

    def __init__(self, device: torch.device):
        self.loss = torch.zeros((), device=device)
        self.correct = torch.zeros((), device=device)
        self.seen = 0

    def add(self, loss: torch.Tensor, logits: torch.Tensor, yb: torch.Tensor) -> None:
        self.loss += loss.detach() * len(yb)
        self.correct += (logits.argmax(1) == yb).sum()
        self.seen += len(yb)

    def across(self, world: World | None, loss: torch.Tensor) -> tuple[float, float, float]:
        """(``loss`` (one value per process, summed), correct, seen) over every process: one device sync."""
        seen = torch.tensor(float(self.seen), device=self.correct.device)
        return tuple(sum_across(world, torch.stack([loss, self.correct, seen])).tolist())


class Reporter:
    """Progress events at most every ``report_seconds`` (under torchrun every ``report_every`` batches, since
    every process must report at the same batch) and at an epoch's last batch; one sync per event."""

    def __init__(self, run: Prepared, callback: Callback):
        self.run, self.callback = run, callback
        self.start = self.last = self.window_start = time.perf_counter()
        self.window_seen = 0
        self.first_loss: float | None = None  # the run's first reported batch loss, to tell growth

    def due(self, batch: int) -> bool:
        config = self.run.config
        in_time = self.run.world is not None or time.perf_counter() - self.last >= config.report_seconds
        # the run's first batch always reports: its loss is the start that a diverging loss grows from
        return batch == self.run.steps or self.first_loss is None or (batch % config.report_every == 0 and in_time)

    def batch_done(self, epoch: int, batch: int, images: int, loss: torch.Tensor, sums: Sums) -> float | None:
        """Count the batch's images; when a report is due, send it and return the batch loss."""
        self.window_seen += images
        if not self.due(batch):
            return None
        loss_all, correct, seen = sums.across(self.run.world, loss.detach())
        value = loss_all / self.run.processes
        now = self.last = time.perf_counter()
        if self.first_loss is None and math.isfinite(value):
            self.first_loss = value
        if math.isfinite(value):
            rate = self.window_seen * self.run.processes / max(now - self.window_start, 1e-9)
            self.callback(
                BatchProgress(
                    epoch=epoch,
                    batch=batch,
                    batches=self.run.steps,
                    loss=value,
                    running_accuracy=correct / seen,
                    images_per_s=rate,
                    elapsed=now - self.start,
                )
            )
        self.window_start, self.window_seen = now, 0
        return value


def _stop_message(epoch: int, batch: int, steps: int) -> str:
    """Where the user stopped the run, for the CLI (a page says it from the stored reason, in its language)."""
    if batch > 1:
        return text("runs.reasons.stopped_at", epoch=epoch, batch=batch - 1, steps=steps)
    return text("runs.reasons.stopped_at_end", epoch=epoch - 1)


@dataclass(frozen=True)
class Stopped:
    """The user stopped the run during an epoch; where, in words (``_stop_message``)."""

    message: str


EarlyEnd = Stopped | Divergence | None  # how an epoch ended before its last batch, if it did


def _train_epoch(
    run: Prepared, net: nn.Module, optimizer, scheduler, epoch: int, reporter: Reporter, stop: threading.Event
) -> tuple[Sums, EarlyEnd]:
    """One pass over this process's training data; the sums, and how it ended early, if it did."""
    net.train()
    hold_frozen(run.model)
    sums = Sums(run.device)
    for batch, (xb, yb) in enumerate(run.data.epoch(run.batch_size, run.generator), 1):
        if stop.is_set():
            return sums, Stopped(_stop_message(epoch, batch, run.steps))
        loss, logits = _train_step(run, net, optimizer, xb, yb)
        if scheduler:
            scheduler.step()
        sums.add(loss, logits, yb)
        value = reporter.batch_done(epoch, batch, len(yb), loss, sums)
        divergence = diverged(run.config, epoch, batch, value, reporter.first_loss) if value is not None else None
        if divergence:
            return sums, divergence
    return sums, None


def _end_epoch(run: Prepared, epoch: int, sums: Sums, seconds: float) -> tuple[EpochStats, Evaluation]:
    """The epoch's training totals over every process and its test evaluation."""
    loss, correct, seen = sums.across(run.world, sums.loss)
    ev = evaluate(run.trained, run.data.x_test, run.data.y_test, batch_size=run.config.eval_batch_size)
    return EpochStats(
        epoch=epoch,
        seconds=seconds,
        train_loss=loss / seen,
        train_accuracy=correct / seen,
        test_loss=ev.loss,
        test_accuracy=ev.accuracy,
        images_per_s=seen / seconds,
    ), ev


def _optimization(run: Prepared, resume: Resume | None):
    """The optimizer and LR schedule, restored from ``resume`` when given."""
    config = run.config
    optimizer = make_optimizer(config.optimizer, learning(run.model), config.lr, config.momentum, run.device)
    scheduler = (
        torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=run.steps * config.epochs)
        if config.schedule == "onecycle"
        else None
    )
    if resume:  # the model has its weights from ``prepare``
        optimizer.load_state_dict(resume.optimizer_state)
        if scheduler and resume.scheduler_state:
            scheduler.load_state_dict(resume.scheduler_state)
        run.generator.set_state(resume.generator_state)
    return optimizer, scheduler


def _fit(
    run: Prepared,
    callback: Callback,
    stop: threading.Event,
    resume: Resume | None,
    on_epoch: EpochHook | None,
    on_start: StartHook | None = None,
) -> TrainResult:
    config, model = run.config, run.model
    optimizer, scheduler = _optimization(run, resume)
    if on_start:
        on_start(model)
    net = _training_module(run)
    result = TrainResult(
        config,
        model,
        str(run.device),
        "completed",
        "Training completed.",
        history=list(resume.history) if resume else [],
        data=run.info,
    )
    reporter = Reporter(run, callback)
    done_before = resume.seconds if resume else 0.0
    trained_since_eval = False  # whether the model changed since its last test evaluation
    for epoch in range(len(result.history) + 1, config.epochs + 1):
        epoch_start = time.perf_counter()
        sums, ended = _train_epoch(run, net, optimizer, scheduler, epoch, reporter, stop)
        trained_since_eval = trained_since_eval or sums.seen > 0
        if ended is None and not finite_weights(model):
            ended = Divergence(
                cause="weights",
                epoch=epoch,
                batch=run.steps,
                loss=math.nan,
                start=reporter.first_loss or math.nan,
                lr=config.lr,
                optimizer=config.optimizer,
            )
        if isinstance(ended, Divergence):
            result.status, result.divergence, result.message = "diverged", ended, ended.message()
            break
        if isinstance(ended, Stopped):
            result.status, result.message = "stopped", ended.message
            break
        stats, result.evaluation = _end_epoch(run, epoch, sums, time.perf_counter() - epoch_start)
        result.history.append(stats)
        trained_since_eval = False
        result.seconds = done_before + time.perf_counter() - reporter.start
        callback(stats)
        if on_epoch:
            on_epoch(
                result,
                Resume(
                    model_state=model.state_dict(),
                    optimizer_state=optimizer.state_dict(),
                    scheduler_state=scheduler.state_dict() if scheduler else None,
                    generator_state=run.generator.get_state(),
                    history=list(result.history),
                    seconds=result.seconds,
                ),
            )
    result.seconds = done_before + time.perf_counter() - reporter.start
    if result.status == "stopped" and (trained_since_eval or result.evaluation is None):
        result.evaluation = evaluate(run.trained, run.data.x_test, run.data.y_test, batch_size=config.eval_batch_size)
    return result


def measure_throughput(config: TrainConfig, dataset: Dataset, batches_to_time: int = 20, warmup: int = 3) -> float:
    """Training images per second of ``config`` on its device over a few batches (a fresh model): the median
    batch's, so that the slow first batches of a new network (kernels chosen, memory laid out) and a busy moment
    of the machine do not count as its speed."""
    run = prepare(replace(config, train_subset=None, whiten=False), dataset)  # the start does not change the speed
    optimizer = make_optimizer(config.optimizer, learning(run.model), config.lr, config.momentum, run.device)
    net = _training_module(run)
    net.train()
    rates = []
    for i, (xb, yb) in enumerate(run.data.epoch(config.batch_size, run.generator)):
        if i == warmup + batches_to_time:
            break
        start = time.perf_counter()
        _train_step(run, net, optimizer, xb, yb)
        _sync(run.device)
        if i >= warmup:
            rates.append(len(yb) / (time.perf_counter() - start))
    if not rates:
        raise CnnkitError("errors.too_few_batches")
    return statistics.median(rates)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
