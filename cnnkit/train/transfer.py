"""Transfer learning in the training engine: where a run's first weights come from, its frozen start computed
once, and the plan a page shows before training (what learns, the recipe's code, time and memory).

A run starts from torchvision's ImageNet weights (``ModelConfig.backbone`` with ``pretrained``) or from a cnnkit
model (``TrainConfig.start_from``: ``shipped`` or a checkpoint file): that network, its last layer new, frozen as
``ModelConfig.freeze`` says (``cnnkit.nets.transfer.freeze``). When the frozen layers come first and the images
are not augmented, ``with_cached_features`` runs them once over every image; the epochs then train the rest on
those features, which is why transfer learning is cheap: an epoch of a head takes milliseconds.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import torch
from torch import nn

from cnnkit.data.datasets import DatasetInfo
from cnnkit.errors import CnnkitError
from cnnkit.files import write_atomic
from cnnkit.nets.builder import ModelConfig, build_model, count_parameters
from cnnkit.nets.checkpoints import DEFAULT_CHECKPOINT, Checkpoint, load_checkpoint, read_state_dict
from cnnkit.nets.transfer import (
    MAX_WEIGHTS_BYTES,
    TransferNet,
    blocks,
    build_transfer,
    check_state,
    download_weights,
    freeze,
    frozen_prefix,
    hub_weights_path,
    imagenet_state,
    weights_missing,
)
from cnnkit.paths import runs_dir

SHIPPED = "shipped"
FEATURE_BATCH = 64  # images per pass when the frozen start is computed once
# the architectures the training page offers, the small ones (fast on a CPU) first: the "at least" list of
# issue 22; the CLI's --arch takes every one of ``BACKBONES``
SMALL_BACKBONES = ("mobilenet_v3_small", "squeezenet1_1", "shufflenet_v2_x1_0", "resnet18")
PAGE_BACKBONES = (
    *SMALL_BACKBONES,
    "mobilenet_v2",
    "mobilenet_v3_large",
    "efficientnet_b0",
    "googlenet",
    "densenet121",
    "resnet50",
    "alexnet",
    "convnext_tiny",
    "vgg16",
)
WEIGHT_SUFFIXES = (".pth", ".pt", ".safetensors")


def source_checkpoint(start_from: str) -> Checkpoint:
    """The cnnkit model a run starts from: the shipped digit model or a checkpoint file."""
    return load_checkpoint(DEFAULT_CHECKPOINT if start_from == SHIPPED else start_from)


def config_from(config, source: Checkpoint):
    """``config`` (a ``TrainConfig``) starting from ``source``: its network, the convolutional features frozen
    unless ``config.model.freeze`` says otherwise (the data sets the classes)."""
    return replace(config, model=replace(source.model_config, freeze=config.model.freeze or "features"))


def _from_source(model_config: ModelConfig, start_from: str) -> nn.Module:
    """``start_from``'s network for ``model_config``'s data: its weights, but a new last layer."""
    source = source_checkpoint(start_from)
    had, has = source.model_config, model_config
    if (had.in_channels, had.image_size) != (has.in_channels, has.image_size):
        raise CnnkitError(
            "errors.transfer_input",
            had=f"{had.in_channels}×{had.image_size}×{had.image_size}",
            has=f"{has.in_channels}×{has.image_size}×{has.image_size}",
        )
    model = build_model(model_config)
    last = [name for name, m in model.named_children() if isinstance(m, nn.Linear)][-1]
    kept = {k: v for k, v in source.model.state_dict().items() if not k.startswith(last + ".")}
    missing, unexpected = model.load_state_dict(kept, strict=False)
    if unexpected or any(not k.startswith(last + ".") for k in missing):
        raise CnnkitError("errors.transfer_source_differs", source=start_from)
    return model


def _pretrained(config, model_config: ModelConfig) -> nn.Module:
    """The torchvision network with its ImageNet weights (downloaded first only when the config asks)."""
    backbone = model_config.backbone
    if config.download and not config.weights:
        download_weights(backbone)
    state = imagenet_state(backbone, config.weights)
    return build_transfer(backbone, model_config.num_classes, model_config.in_channels, True, state)


def starting_model(config, info: DatasetInfo, state: dict | None = None) -> nn.Module:
    """The network a run (``TrainConfig``) on ``info``'s data starts from, frozen as its config says: ``state``
    (a resumed run's weights), pretrained weights, a cnnkit model's, or new weights."""
    model_config = config.model.for_data(info)
    if state is None and model_config.backbone and model_config.pretrained:
        model = _pretrained(config, model_config)
    elif state is None and config.start_from:
        model = _from_source(model_config, config.start_from)
    else:
        model = build_model(model_config)
    if isinstance(model, TransferNet):
        model.prep.source.copy_(torch.tensor([info.mean, info.std]))
    if state is not None:
        model.load_state_dict(state)
    if model_config.backbone or config.start_from:
        freeze(model, model_config.freeze_mode)
    return model


@torch.no_grad()
def features(prefix: nn.Module, x: torch.Tensor, amp: torch.dtype | None) -> torch.Tensor:
    """``prefix`` (frozen, in eval mode) run once over ``x`` in batches, as the training steps would run it."""
    prefix.eval()
    parts = []
    for start in range(0, len(x), FEATURE_BATCH):
        with torch.autocast(x.device.type, dtype=amp or torch.float32, enabled=amp is not None):
            parts.append(prefix(x[start : start + FEATURE_BATCH]).float())
    return torch.cat(parts) if parts else x.new_zeros((0,))


def caches(config, model: nn.Module, processes: int = 1) -> bool:
    """Whether the frozen start of ``model`` can be computed once: the config allows it, nothing varies the
    images (augmentation), and one process trains uncompiled."""
    still = not (config.augment or config.augmentation.active)
    return config.cache_features and still and processes == 1 and not config.compile and frozen_prefix(model) > 0


def with_cached_features(run):
    """``run`` (a ``Prepared``) with its frozen start's features in place of its images and ``tail`` set to the
    layers that learn, when ``caches``; else ``run`` as it is."""
    if not caches(run.config, run.model, run.processes):
        return run
    cut = frozen_prefix(run.model)
    prefix = run.model[:cut]
    data = replace(
        run.data, x_train=features(prefix, run.data.x_train, run.amp), x_test=features(prefix, run.data.x_test, run.amp)
    )
    return replace(run, data=data, tail=run.model[cut:])


# --- what a page needs before a run ------------------------------------------------------------------------------


@cache
def block_count(backbone: str) -> int:
    """How many blocks of ``backbone`` "unfreeze the last N blocks" can unfreeze (the head is not counted)."""
    with torch.device("meta"):
        return len(blocks(build_transfer(backbone, 2, 3, False))) - 1


def missing_weights(backbone: str, pretrained: bool, given: str | None = None) -> CnnkitError | None:
    """The message that a run would fail with because ImageNet weights are absent (none given, none in torch
    hub's cache); None when nothing is missing."""
    if not pretrained or given or hub_weights_path(backbone).is_file():
        return None
    return weights_missing(backbone)


def weights_folder() -> Path:
    """Where weights files uploaded on a page are kept (under the runs directory), by their content's digest."""
    return runs_dir() / "weights"


def keep_weights(backbone: str, data: bytes, name: str) -> Path:
    """An uploaded weights file, checked to hold ``backbone``'s ImageNet weights, kept (written atomically)
    under ``weights_folder``; its path, for ``TrainConfig.weights``."""
    if len(data) > MAX_WEIGHTS_BYTES:
        raise CnnkitError("files.errors.too_large", name=name, mb=MAX_WEIGHTS_BYTES // 2**20)
    check_state(backbone, read_state_dict(data, name))
    suffix = Path(name).suffix.lower()
    path = weights_folder() / (hashlib.sha256(data).hexdigest()[:32] + (suffix if suffix in WEIGHT_SUFFIXES else ""))
    return path if path.is_file() else write_atomic(path, data)


# --- the plan a page shows ---------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TransferPlan:
    """A transfer learning setting before it trains: what learns, its code, its time and memory."""

    backbone: str
    mode: str  # ``freeze``
    pretrained: bool
    num_classes: int
    trainable: int
    frozen: int
    cached: bool  # the frozen start is computed once (the epochs then train the head only)
    input_size: int  # the side of the crop the network reads
    code: str  # the recipe in PyTorch, as the notes write it
    memory_bytes: int  # what the training needs, about
    first_seconds: float  # the first epoch, about (with the features computed once when ``cached``)
    epoch_seconds: float  # each further epoch, about


def recipe_code(backbone: str, mode: str, num_classes: int, pretrained: bool = True) -> str:
    """The notes' recipe for this setting, in PyTorch."""
    weights = '"DEFAULT"' if pretrained else "None"
    lines = ["from torch import nn", "from torchvision import models", ""]
    lines.append(f"model = models.{backbone}(weights={weights})")
    head = _head_code(backbone, num_classes)
    if mode == "none":
        return "\n".join([*lines, head, "# every layer learns"])
    lines += ["for p in model.parameters():", "    p.requires_grad = False", head]
    if mode.isdigit():
        lines += [f"# and the last {mode} blocks learn again: p.requires_grad = True for their parameters"]
    return "\n".join(lines)


def _head_code(backbone: str, num_classes: int) -> str:
    with torch.device("meta"):
        net = build_transfer(backbone, num_classes, 3, False)
    if backbone.startswith("squeezenet"):
        return f"model.classifier[1] = nn.Conv2d({net.head[0].in_channels}, {num_classes}, kernel_size=1)"
    path = _head_path(backbone)
    return f"model.{path} = nn.Linear({net.head.in_features}, {num_classes})"


@cache
def _head_path(backbone: str) -> str:
    """Where torchvision's network has its last Linear layer, as Python writes it (``classifier[6]``)."""
    import torchvision

    with torch.device("meta"):
        net = torchvision.models.get_model(backbone, weights=None)
    path = [name for name, m in net.named_modules() if isinstance(m, nn.Linear)][-1]
    return ".".join(f"[{p}]" if p.isdigit() else p for p in path.split(".")).replace(".[", "[")


@cache
def _activations(backbone: str, num_classes: int) -> tuple[int, int]:
    """The values one image's forward pass leaves behind (every leaf layer's output) and the most any one
    layer outputs, counted on ``meta``."""
    with torch.device("meta"):
        net = build_transfer(backbone, num_classes, 3, False)
        size = net.prep.crop
        sizes = []

        def count(_m, _args, out):
            sizes.append(out.numel() if isinstance(out, torch.Tensor) else 0)

        hooks = [m.register_forward_hook(count) for m in net.modules() if next(m.children(), None) is None]
        net.eval()(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    return sum(sizes), max(sizes)


def _feature_width(net: nn.Sequential) -> int:
    """The values the frozen start computes for one image (``net`` on ``meta``)."""
    size = net.prep.crop
    with torch.no_grad():
        return net[: frozen_prefix(net)](torch.zeros(1, 3, size, size, device="meta")).numel()


MEASURED_IMAGES = 2  # images per timed pass of ``pass_seconds``


@dataclass(frozen=True, kw_only=True)
class PassSeconds:
    """What one image costs a backbone on a device, measured."""

    forward: float  # a forward pass without gradients (how the frozen start is computed once)
    step: float  # a training step of the whole network, forward and backward


def _timed(run, device: torch.device) -> float:
    """Seconds per image of ``run``: the faster of two passes after a first one (which also creates the kernels'
    plans: oneDNN primitives, cuDNN algorithms)."""
    run()
    times = []
    for _ in range(2):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return min(times) / MEASURED_IMAGES


@cache
def pass_seconds(backbone: str, device: str = "cpu", precision: str = "auto") -> PassSeconds:
    """``backbone``'s forward pass and training step, timed once per device on ``MEASURED_IMAGES`` images at its
    input size, in the precision training uses there (``precision``: bfloat16 where the CPU computes it
    natively). Its weights are zeros: the time does not depend on the values, so nothing is initialised or read."""
    from cnnkit.train.loop import autocast_dtype

    where = torch.device(device)
    with torch.device("meta"):
        net = build_model(ModelConfig(backbone=backbone, num_classes=2, in_channels=3))
    net = net.to_empty(device=where)
    for tensor in (*net.parameters(), *net.buffers()):
        tensor.detach().zero_()
    x = torch.zeros(MEASURED_IMAGES, 3, net.prep.crop, net.prep.crop, device=where)
    dtype = autocast_dtype(precision, where)

    def forward():
        with torch.no_grad(), torch.autocast(where.type, dtype=dtype, enabled=dtype is not None):
            net.eval()(x)

    def step():
        with torch.autocast(where.type, dtype=dtype, enabled=dtype is not None):
            loss = net.train()(x).float().sum()
        loss.backward()

    return PassSeconds(forward=_timed(forward, where), step=_timed(step, where))


def available_bytes(device: str = "cpu") -> int:
    """Memory a training on ``device`` can have: the GPU's free memory, or the kernel's ``MemAvailable`` (free
    pages and the cache it would give back; the free pages alone where the kernel does not say)."""
    if device.startswith("cuda"):
        return torch.cuda.mem_get_info(torch.device(device))[0]
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def plan_transfer(
    backbone: str,
    num_classes: int,
    *,
    mode: str = "all",
    pretrained: bool = True,
    images: int = 100,
    batch_size: int = 32,
    device: str = "cpu",
    augmented: bool = False,
) -> TransferPlan:
    """Count, time and size a transfer learning setting before anything is built for real; a setting whose
    memory would not fit on ``device`` is refused with the figure. Augmented images are never cached (each
    epoch sees new ones)."""
    config = ModelConfig(backbone=backbone, num_classes=num_classes, in_channels=3, pretrained=pretrained, freeze=mode)
    with torch.device("meta"):
        net = freeze(build_model(config), config.freeze_mode)
    trainable = count_parameters(net, trainable_only=True)
    params = count_parameters(net)
    cached = frozen_prefix(net) > 0 and not augmented
    values, largest = _activations(backbone, num_classes)
    if cached:  # the frozen start runs without gradients (a layer's input and output live at once), once
        kept = 2 * batch_size * largest + images * _feature_width(net)
    else:  # a learning network keeps its activations for backward
        kept = 2 * batch_size * values
    memory = 4 * (params + 3 * trainable) + 4 * kept  # weights, then gradients and Adam's two moments
    have = available_bytes(device)
    if memory > have:
        raise CnnkitError("errors.transfer_memory", model=backbone, need=memory // 2**20, have=have // 2**20)
    seconds = pass_seconds(backbone, device)
    forward = seconds.forward * images
    learning = seconds.forward + (seconds.step - seconds.forward) * trainable / params  # backward of what learns
    epoch = learning * images if not cached else 0.0
    return TransferPlan(
        backbone=backbone,
        mode=config.freeze_mode,
        pretrained=pretrained,
        num_classes=num_classes,
        trainable=trainable,
        frozen=params - trainable,
        cached=cached,
        input_size=net.prep.crop,
        code=recipe_code(backbone, config.freeze_mode, num_classes, pretrained),
        memory_bytes=memory,
        first_seconds=forward if cached else epoch,
        epoch_seconds=epoch,
    )
