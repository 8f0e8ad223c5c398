"""A trained run taken out of cnnkit: its weights (``pt``, ``safetensors``: the checkpoint with its card), the
network alone (``torchscript``, ``onnx``), or ``py``: one standalone PyTorch script that defines the network as a
plain ``nn.Sequential``, loads the exported weights and holds the training loop with the run's settings (its
template: ``script_template.py.txt``). Only the layers that the builder makes are exported; another one is named,
with the reason, before anything is written."""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from string import Template

import torch
from torch import nn

from cnnkit.errors import CnnkitError, Term
from cnnkit.nets.checkpoints import Checkpoint, to_bytes
from cnnkit.nets.transfer import TransferNet
from cnnkit.train.loop import TrainConfig
from cnnkit.train.store import RunStore, config_from_dict

# each format and the end of its file's name (the longest end that matches tells the format of a name)
FORMATS = {
    "py": ".py",
    "torchscript": ".torchscript.pt",
    "onnx": ".onnx",
    "pt": ".pt",
    "safetensors": ".safetensors",
}
ONNX_OPSET = 18


def _literal(value) -> str:
    """A setting as Python code: strings and lists of them in double quotes, numbers and None as they are."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (str, list)) else repr(value)


def _one(value) -> int | float:
    """A square setting as one number: (3, 3) → 3."""
    return value[0] if isinstance(value, tuple) else value


# the layers the export knows: their constructor as code (each one's settings read back from the module)
CODE = {
    nn.Conv2d: lambda m: (
        f"nn.Conv2d({m.in_channels}, {m.out_channels}, kernel_size={_one(m.kernel_size)}, "
        f"stride={_one(m.stride)}, padding={_one(m.padding)})"
    ),
    nn.MaxPool2d: lambda m: f"nn.MaxPool2d(kernel_size={_one(m.kernel_size)}, stride={_one(m.stride)})",
    nn.AvgPool2d: lambda m: f"nn.AvgPool2d(kernel_size={_one(m.kernel_size)}, stride={_one(m.stride)})",
    nn.BatchNorm2d: lambda m: f"nn.BatchNorm2d({m.num_features})",
    nn.BatchNorm1d: lambda m: f"nn.BatchNorm1d({m.num_features})",
    nn.Linear: lambda m: f"nn.Linear({m.in_features}, {m.out_features})",
    nn.Flatten: lambda m: "nn.Flatten()",
    nn.ReLU: lambda m: "nn.ReLU()",
    nn.LeakyReLU: lambda m: f"nn.LeakyReLU({m.negative_slope!r})",
    nn.GELU: lambda m: "nn.GELU()",
    nn.Tanh: lambda m: "nn.Tanh()",
    nn.Sigmoid: lambda m: "nn.Sigmoid()",
    nn.Dropout: lambda m: f"nn.Dropout({m.p!r})",
}


def format_of(path: str | Path, given: str | None = None) -> str:
    """The format asked for, or the one that the file name's end says (``.onnx``, ``.torchscript.pt``, …)."""
    if given is not None:
        if given not in FORMATS:
            raise CnnkitError("export.errors.format", format=given, known=", ".join(FORMATS))
        return given
    name = Path(path).name.lower()
    found = [fmt for fmt, end in FORMATS.items() if name.endswith(end)]
    if not found:
        raise CnnkitError("export.errors.name", name=Path(path).name, ends=", ".join(FORMATS.values()))
    return max(found, key=lambda fmt: len(FORMATS[fmt]))


def file_name(run_id: int, fmt: str) -> str:
    """The download's file name: ``cnnkit-run-3.py``, ``cnnkit-run-3.onnx``, … (the script finds its weights
    under the same stem)."""
    return f"cnnkit-run-{int(run_id)}{FORMATS[fmt]}"


def unexportable(model: nn.Module, fmt: str) -> CnnkitError | None:
    """Why ``model`` cannot be exported as ``fmt``, naming its first unknown layer; None when it can. A
    pretrained backbone (``TransferNet``) is traced into TorchScript and ONNX; the script writes our layers only."""
    if isinstance(model, TransferNet):
        return CnnkitError("export.errors.pretrained_script") if fmt == "py" else None
    if not isinstance(model, nn.Sequential):
        return CnnkitError("export.errors.not_chain", format=Term(f"export.formats.{fmt}"), kind=type(model).__name__)
    for n, (name, module) in enumerate(model.named_children(), 1):
        if type(module) not in CODE:
            return CnnkitError(
                "export.errors.layer",
                format=Term(f"export.formats.{fmt}"),
                n=n,
                layer=name,
                kind=type(module).__name__,
                known=", ".join(kind.__name__ for kind in CODE),
            )
    return None


def export_bytes(ckpt: Checkpoint, fmt: str, *, title: str = "", stem: str = "model") -> bytes:
    """``ckpt`` as a file of format ``fmt`` (``FORMATS``); ``title`` heads the script, whose weights are
    ``stem``.safetensors or ``stem``.pt beside it."""
    format_of("", fmt)
    if fmt in ("pt", "safetensors"):
        return to_bytes(ckpt, fmt)
    problem = unexportable(ckpt.model, fmt)
    if problem:
        raise problem
    if fmt == "py":
        return script(ckpt, title or stem, stem).encode()
    example = torch.zeros(2, *_input_shape(ckpt))
    model = ckpt.model.cpu().eval()
    return torchscript(model, example) if fmt == "torchscript" else onnx(model, example)


def _input_shape(ckpt: Checkpoint) -> tuple[int, int, int]:
    config = ckpt.model_config
    return config.in_channels, config.image_size, config.image_size


def torchscript(model: nn.Module, example: torch.Tensor) -> bytes:
    """The traced network (``torch.jit.trace``; torch calls TorchScript deprecated, and says so: not here)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)  # a backbone's shape checks, traced
        torch.jit.save(torch.jit.trace(model, example), buffer)
    return buffer.getvalue()


def onnx(model: nn.Module, example: torch.Tensor) -> bytes:
    """The network as ONNX (``torch.onnx.export`` through ``torch.export``): input ``images`` with any batch
    size, output ``logits``."""
    batch = torch.export.Dim("batch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            model,
            (example,),
            input_names=["images"],
            output_names=["logits"],
            dynamic_shapes=({0: batch},),
            opset_version=ONNX_OPSET,
            dynamo=True,
            verbose=False,
        )
    return program.model_proto.SerializeToString()


def _settings(ckpt: Checkpoint) -> TrainConfig:
    """The run's training settings from its card (a card without them: the defaults)."""
    try:
        return config_from_dict(ckpt.train_config) if ckpt.train_config else TrainConfig()
    except CnnkitError:
        return TrainConfig()


def augmentation_code(config: TrainConfig, size: int, channels: int) -> str:
    """The run's augmentation as a list of torchvision.transforms.v2 transforms, applied before normalizing:
    ``--augment``'s small random rotations (±10°), scales (0.9–1.1) and shifts (±2 pixels), then the strengths
    set (``cnnkit.data.augmentation.Augmentation``), written as its ``transform`` builds them."""
    steps = []
    if config.augment:
        steps.append(f"v2.RandomAffine(degrees=10, translate=({2 / size!r}, {2 / size!r}), scale=(0.9, 1.1))")
    a = config.augmentation
    if a.rotation or a.shift or a.scale or a.shear:
        steps.append(
            f"v2.RandomAffine(degrees={a.rotation!r}, translate={(a.shift, a.shift) if a.shift else None!r}, "
            f"scale={(1 - a.scale, 1 + a.scale) if a.scale else None!r}, shear={a.shear or None!r}, "
            "interpolation=v2.InterpolationMode.BILINEAR, fill=0.0)"
        )
    if channels == 3 and a.flip:
        steps.append("v2.RandomHorizontalFlip()")
    if channels == 3 and a.color_jitter:
        steps.append(
            f"v2.ColorJitter(brightness={a.color_jitter!r}, contrast={a.color_jitter!r}, saturation={a.color_jitter!r})"
        )
    if a.erasing:
        steps.append(f"v2.RandomErasing(p={a.erasing!r}, value=0.0)")
    return "[" + "".join(f"\n    {step}," for step in steps) + ("\n]" if steps else "]")


def script(ckpt: Checkpoint, title: str, stem: str) -> str:
    """The standalone PyTorch script of ``ckpt``: its network, data, normalization and training settings."""
    config = _settings(ckpt)
    channels, size, _ = _input_shape(ckpt)
    folder = config.folder if config.dataset == "folder" else None
    layers = "\n".join(
        f"                ({name!r}, {CODE[type(module)](module)})," for name, module in ckpt.model.named_children()
    )
    template = Template(_template("script_template.py.txt"))
    return template.substitute(
        title=" ".join(str(title).split()),
        file=f"{stem}.py",
        epochs=config.epochs,
        data_help=(
            "the class folders (DIR/train/<class> and DIR/test/<class>, or DIR/<class>)"
            if folder
            else "the four IDX files (gzipped or not), or torchvision's MNIST/raw; MNIST and Fashion-MNIST download"
        ),
        dataset=_literal(ckpt.dataset),
        classes=_literal(list(ckpt.classes)),
        channels=channels,
        size=size,
        mean=repr(ckpt.mean),
        std=repr(ckpt.std),
        batch_size=config.batch_size,
        optimizer=_literal(config.optimizer),
        lr=repr(config.lr),
        momentum=repr(config.momentum),
        schedule=_literal(config.schedule),
        label_smoothing=repr(config.label_smoothing),
        whiten=repr(config.whiten),
        train_subset=repr(config.train_subset),
        seed=config.seed,
        folder_settings=_folder_settings(asdict(folder)) if folder else "",
        layers=layers,
        data_code=_template("script_folder.py.txt" if folder else "script_idx.py.txt"),
        gzip="" if folder else "import gzip\n",
        data_imports="from PIL import Image, ImageOps\n" if folder else "",
        augmentation=augmentation_code(config, size, channels),
    )


def _folder_settings(folder: dict) -> str:
    return (
        f"FIT = {_literal(folder['fit'])}  # pad: the whole image, padded to a square; crop: its centre square\n"
        f"TEST_SHARE = {folder['test_share']!r}  # held out for testing when DIR has no train/ and test/\n"
    )


def _template(name: str) -> str:
    return resources.files("cnnkit.train").joinpath(name).read_text(encoding="utf-8")


def export_run(store: RunStore, run_id: int | str, fmt: str, *, which: str = "best", stem: str | None = None) -> bytes:
    """Run ``run_id``'s model (its ``best`` or ``last`` checkpoint) as ``fmt``; the script's weights are
    ``stem``.safetensors or .pt beside it (default: the download's name, ``cnnkit-run-3``). A run without weights
    is refused (``runs.errors.no_checkpoint``)."""
    run = store.get(run_id)
    ckpt = store.load(run.id, which)
    stem = stem or file_name(run.id, fmt).removesuffix(FORMATS[fmt])
    return export_bytes(ckpt, fmt, title=f"cnnkit run {run.id}: {run.title()}", stem=stem)


def export_problem(store: RunStore, run_id: int, fmt: str) -> CnnkitError | None:
    """Why run ``run_id`` cannot be exported as ``fmt`` (no weights, an unknown layer); None when it can."""
    try:
        ckpt = store.load(run_id)
    except CnnkitError as exc:
        return exc
    return None if fmt in ("pt", "safetensors") else unexportable(ckpt.model, fmt)
