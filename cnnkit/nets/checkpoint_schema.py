"""What a checkpoint may hold, checked before anything is built from it: every field of its metadata against
one schema of types and bounds, its calibration's tensors, then its weights against the network built on
``meta`` (shapes only, no memory) and for finiteness.

A crafted file gets one clear message naming the field, cheaply: nothing is allocated from a size the metadata
states before that size is within bounds. ``validate_meta`` reads the card's tables through their ``Rule``s:
``MODEL_FIELDS`` (the network), ``TRAIN_FIELDS`` (how it was trained; its image options by ``FolderOptions``'
own checks), ``METRIC_FIELDS``, ``EPOCH_FIELDS`` (the history) and ``CALIBRATION_FIELDS``; fields of other
versions are dropped unread. ``validate_doubt_tensors`` checks the feature statistics against the network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
from torch import nn

from cnnkit.data.augmentation import LIMITS as AUGMENTATION_LIMITS
from cnnkit.data.folders import FolderOptions
from cnnkit.errors import CnnkitError, Term
from cnnkit.nets.builder import ModelConfig, build_model, count_parameters
from cnnkit.nets.families import FAMILIES
from cnnkit.nets.transfer import BACKBONES, check_freeze

MAX_CLASSES = 1000
MAX_CLASS_NAME = 100  # characters
MAX_PARAMETERS = 50_000_000  # 200 MB of float32 weights: far above any network cnnkit designs
MAX_TRANSFER_PARAMETERS = 200_000_000  # a torchvision backbone: ConvNeXt-Large's 198 M
MAX_SHOWN = 40  # characters of a bad value quoted in a message
MAX_TEXT = 1000  # characters of any other text of the card (a path, a device, where it was calibrated)
MAX_EPOCHS = 10_000  # of a training, hence entries of its history
MAX_COUNT = 10**9  # images, steps, batches
MAX_SEED = 2**63 - 1  # torch's generators take no larger seed
MAX_LOSS = 1e30  # any finite loss: a stable cross-entropy of finite weights never reaches it
MAX_DISTANCE = 1e9  # a calibration's distances (a Mahalanobis distance and a difference of squared ones)
MIN_STD = 1e-3  # a smaller normalization std makes every input infinite in float32
FEATURES = 128  # the penultimate features are folded into at most this many numbers (``cnnkit.train.calibration``)
DOUBT_TENSORS = ("centres", "precision", "pooled_centre", "pooled_precision")  # the stored feature statistics
OLD_STATISTICS = ("centres", "precision")  # the feature statistics of cards before 2025-12, as JSON lists


@dataclass(frozen=True)
class Rule:
    """What one field may hold: its type, the bounds of a number (inclusive) or of a list's length, and whether
    null will do (then it means "not given")."""

    kind: type
    low: float | None = None
    high: float | None = None
    optional: bool = False


MODEL_FIELDS: dict[str, Rule] = {
    "arch": Rule(str, optional=True),
    "extra_conv": Rule(bool, optional=True),
    "pooling": Rule(bool, optional=True),
    "padding": Rule(bool, optional=True),
    "extra_fc": Rule(bool, optional=True),
    "batchnorm": Rule(bool, optional=True),
    "dropout": Rule(float, 0.0, 0.99, optional=True),
    "in_channels": Rule(int, 1, 4, optional=True),
    "num_classes": Rule(int, 1, MAX_CLASSES, optional=True),
    "image_size": Rule(int, 8, 256, optional=True),
    "layers": Rule(list, optional=True),  # its own layer list: checked by ``cnnkit.nets.layers.parse_spec``
    "backbone": Rule(str, optional=True),  # one of ``cnnkit.nets.transfer.BACKBONES``
    "pretrained": Rule(bool, optional=True),
    "freeze": Rule(str, optional=True),  # ``cnnkit.nets.transfer.check_freeze``
}
assert set(MODEL_FIELDS) == {f.name for f in fields(ModelConfig)}, "every model field has its bounds"

FOLDER_BOUNDS = {"seed": (0, MAX_SEED)}  # the other fields' bounds are ``FolderOptions.validate``'s


def _annotated(annotation: str) -> Rule:
    """The rule of a dataclass field's annotation (``int``, ``str | None``, …), without bounds."""
    kind, _, none = annotation.partition(" | ")
    return Rule({"int": int, "float": float, "str": str, "bool": bool}[kind], optional=none == "None")


FOLDER_FIELDS: dict[str, Rule] = {
    f.name: Rule(_annotated(f.type).kind, *FOLDER_BOUNDS.get(f.name, (None, None)), _annotated(f.type).optional)
    for f in fields(FolderOptions)
}

# ``cnnkit.train.loop.TrainConfig``'s fields (its module imports this one; tests/test_checkpoint_schema.py keeps
# the two alike), bounded as its ``validate`` bounds them and above; "model" and "folder" have their own tables.
# The augmentation's strengths are bounded by its own ``LIMITS``.
TRAIN_FIELDS: dict[str, Rule] = {
    "dataset": Rule(str),
    "data_dir": Rule(str, optional=True),
    "epochs": Rule(int, 1, MAX_EPOCHS),
    "batch_size": Rule(int, 1, MAX_COUNT),
    "optimizer": Rule(str),
    "lr": Rule(float, 1e-12, 1000.0),
    "momentum": Rule(float, 0.0, 0.9999),
    "schedule": Rule(str),
    "label_smoothing": Rule(float, 0.0, 0.9999),
    "whiten": Rule(bool),
    "seed": Rule(int, 0, MAX_SEED),
    "train_subset": Rule(int, 1, MAX_COUNT, optional=True),
    "augment": Rule(bool),
    **{name: Rule(float, 0.0, most) for name, most in AUGMENTATION_LIMITS.items()},
    "flip": Rule(bool),
    "device": Rule(str),
    "eval_batch_size": Rule(int, 1, MAX_COUNT),
    "channels_last": Rule(bool),
    "report_every": Rule(int, 1, MAX_COUNT),
    "report_seconds": Rule(float, 0.0, 3600.0),
    "precision": Rule(str),
    "compile": Rule(bool),
    "model": Rule(dict),
    "folder": Rule(dict, optional=True),
    "start_from": Rule(str, optional=True),
    "weights": Rule(str, optional=True),
    "download": Rule(bool),
    "cache_features": Rule(bool),
}

# what the training (``TrainResult.to_checkpoint``) and a fine-tuning (``cnnkit.infer.finetune``) write
METRIC_FIELDS: dict[str, Rule] = {
    "test_accuracy": Rule(float, 0.0, 1.0, optional=True),
    "test_loss": Rule(float, 0.0, MAX_LOSS, optional=True),
    "per_class": Rule(list, 0, MAX_CLASSES),
    "status": Rule(str),
    "device": Rule(str),
    "seconds": Rule(float, 0.0, 1e9),
    "test_accuracy_sample": Rule(int, 0, MAX_COUNT),
    "fine_tuned_on": Rule(int, 0, MAX_COUNT),
    "fine_tune_steps": Rule(int, 0, MAX_COUNT),
    "rehearsal": Rule(int, 0, MAX_COUNT),
    "base_test_accuracy": Rule(float, 0.0, 1.0, optional=True),
}

# ``cnnkit.train.loop.EpochStats``, one per entry of the history
EPOCH_FIELDS: dict[str, Rule] = {
    "epoch": Rule(int, 1, MAX_EPOCHS),
    "seconds": Rule(float, 0.0, 1e9),
    "train_loss": Rule(float, 0.0, MAX_LOSS),
    "train_accuracy": Rule(float, 0.0, 1.0),
    "test_loss": Rule(float, 0.0, MAX_LOSS),
    "test_accuracy": Rule(float, 0.0, 1.0),
    "images_per_s": Rule(float, 0.0, 1e12),
}

# ``cnnkit.train.calibration.calibration_of``'s facts (its statistics are tensors: ``validate_doubt_tensors``)
CALIBRATION_FIELDS: dict[str, Rule] = {
    "on": Rule(str),
    "images": Rule(int, 1, MAX_COUNT),
    "ece_before": Rule(float, 0.0, 1.0),
    "ece_after": Rule(float, 0.0, 1.0),
    "far": Rule(float, 1e-6, MAX_DISTANCE),  # 0 would call every input unfamiliar
    "relative": Rule(float, -MAX_DISTANCE, MAX_DISTANCE),
    "ink": Rule(list, 2, 2),  # the mean ink's range: two numbers in [0, 1], the lower first
    **{old: Rule(list) for old in OLD_STATISTICS},  # an older card's (JSON lists): dropped unread
}


@dataclass(frozen=True, kw_only=True)
class CheckpointMeta:
    """A checkpoint's metadata once validated: every table holds only the fields of its rules, checked."""

    model_config: ModelConfig
    dataset: str
    classes: list[str]
    mean: float
    std: float
    metrics: dict
    history: list[dict]
    train_config: dict
    folder: FolderOptions | None  # ``train_config["folder"]`` as the options a class-folder model was made with
    temperature: float
    calibration: dict


def shown(value) -> str:
    """A value as a message quotes it: its repr, cut short (a huge number is not even written out)."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**MAX_SHOWN else "a huge number"
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _type_name(kind: type) -> Term:
    """The type as a message says it, in its language."""
    return Term(f"safety.kinds.{kind.__name__}")


def checked(name: str, field: str, value, kind: type, low: float | None = None, high: float | None = None):
    """``value`` when it is of ``kind`` (ints pass as floats, bools never as numbers) and within bounds: a
    number's value, a list's length; text up to ``MAX_TEXT`` characters."""
    number = kind in (int, float)
    fits = isinstance(value, kind) or (kind is float and isinstance(value, int))
    if not fits or (number and isinstance(value, bool)):
        raise CnnkitError("safety.ckpt_type", name=name, field=field, expected=_type_name(kind), got=shown(value))
    if number and not math.isfinite(value):
        raise CnnkitError("safety.ckpt_not_finite", name=name, field=field, got=shown(value))
    if kind is str and len(value) > MAX_TEXT:
        raise CnnkitError("safety.ckpt_text_long", name=name, field=field, length=len(value), most=MAX_TEXT)
    size = len(value) if kind is list else value
    if (low is not None and size < low) or (high is not None and size > high):
        key = "safety.ckpt_length" if kind is list else "safety.ckpt_range"
        raise CnnkitError(key, name=name, field=field, got=shown(size), low=low, high=high)
    return float(value) if kind is float else value


def _required(meta: dict, name: str, field: str):
    if field not in meta:
        raise CnnkitError("safety.ckpt_missing", name=name, field=field)
    return meta[field]


def table(name: str, field: str, value, rules: dict[str, Rule]) -> dict:
    """The table ``value`` with the fields of ``rules`` it has, each checked (null only where optional);
    fields of other versions are dropped unread."""
    value = checked(name, field, value, dict)
    return {
        key: None
        if value[key] is None and rule.optional
        else checked(name, f"{field}.{key}", value[key], rule.kind, rule.low, rule.high)
        for key, rule in rules.items()
        if key in value
    }


def _invalid(name: str, field: str, exc: CnnkitError) -> CnnkitError:
    """A value the field's own dataclass refuses: its reason, in the message's language."""
    return CnnkitError("safety.ckpt_invalid", name=name, field=field, reason=exc)


def model_config(value, name: str, field: str = "model") -> ModelConfig:
    """The model description ``value``, every field typed and within its bounds."""
    model = checked(name, field, value, dict)
    unknown = sorted(map(str, set(model) - set(MODEL_FIELDS)))
    if unknown:
        raise CnnkitError("safety.ckpt_unknown", name=name, fields=shown(", ".join(unknown)))
    values = {k: v for k, v in table(name, field, model, MODEL_FIELDS).items() if v is not None}
    if values.get("arch", ModelConfig.arch) not in FAMILIES:
        raise CnnkitError("safety.ckpt_arch", name=name, got=shown(values["arch"]), known=", ".join(FAMILIES))
    if values.get("backbone", BACKBONES[0]) not in BACKBONES:
        raise CnnkitError("safety.ckpt_arch", name=name, got=shown(values["backbone"]), known=", ".join(BACKBONES))
    if "freeze" in values:
        try:
            check_freeze(values["freeze"])
        except CnnkitError as exc:
            raise _invalid(name, f"{field}.freeze", exc) from None
    try:
        return ModelConfig.from_dict(values)
    except CnnkitError as exc:
        raise _invalid(name, f"{field}.layers", exc) from None


def folder_options(value, name: str, config: ModelConfig) -> FolderOptions:
    """How a class-folder model's images are made: ``FolderOptions``' fields and checks, and the size and
    channels of the network's input."""
    field = "train_config.folder"
    options = FolderOptions(**table(name, field, value, FOLDER_FIELDS))
    try:
        options.validate()
    except CnnkitError as exc:
        raise _invalid(name, field, exc) from None
    if options.size != config.image_size or options.channels not in (None, config.in_channels):
        raise CnnkitError(
            "safety.ckpt_folder_input",
            name=name,
            size=options.size,
            channels=options.channels or "?",
            image_size=config.image_size,
            in_channels=config.in_channels,
        )
    return options


def train_config(value, name: str, config: ModelConfig) -> tuple[dict, FolderOptions | None]:
    """How the model was trained (``TRAIN_FIELDS``), and its image options when it read a class folder."""
    values = table(name, "train_config", value, TRAIN_FIELDS)
    if "model" in values:
        values["model"] = model_config(values["model"], name, "train_config.model").to_dict()
    folder = folder_options(values["folder"], name, config) if values.get("folder") else None
    return values, folder


def metrics(value, name: str) -> dict:
    """What the model reached (``METRIC_FIELDS``), each class's accuracy a share."""
    values = table(name, "metrics", value, METRIC_FIELDS)
    if "per_class" in values:
        values["per_class"] = [
            checked(name, f"metrics.per_class[{i}]", share, float, 0.0, 1.0)
            for i, share in enumerate(values["per_class"])
        ]
    return values


def history(value, name: str) -> list[dict]:
    """The epochs of the training (``EPOCH_FIELDS``), at most ``MAX_EPOCHS``."""
    epochs = checked(name, "history", value, list, 0, MAX_EPOCHS)
    return [table(name, f"history[{i}]", epoch, EPOCH_FIELDS) for i, epoch in enumerate(epochs)]


def calibration_facts(value, name: str) -> dict:
    """The calibration's facts (``CALIBRATION_FIELDS``); an older card's JSON statistics are dropped."""
    values = table(name, "calibration", value, CALIBRATION_FIELDS)
    if "ink" in values:
        low, high = (checked(name, f"calibration.ink[{i}]", v, float, 0.0, 1.0) for i, v in enumerate(values["ink"]))
        if low > high:
            raise CnnkitError("safety.ckpt_ink", name=name, low=low, high=high)
        values["ink"] = [low, high]
    return {k: v for k, v in values.items() if k not in OLD_STATISTICS}


def classes(value, name: str, outputs: int) -> list[str]:
    """One short, non-blank name per output of the network."""
    labels = checked(name, "classes", value, list)
    for i, label in enumerate(labels[: MAX_CLASSES + 1]):
        checked(name, f"classes[{i}]", label, str)
        if not label.strip() or len(label) > MAX_CLASS_NAME:
            raise CnnkitError("safety.ckpt_class_name", name=name, index=i, most=MAX_CLASS_NAME)
    if len(labels) != outputs:
        raise CnnkitError("safety.ckpt_classes_count", name=name, names=len(labels), outputs=outputs)
    return list(labels)


def validate_meta(meta, name: str) -> CheckpointMeta:
    """``meta`` checked field by field against the schema; nothing is allocated from it."""
    meta = checked(name, "metadata", meta, dict)
    config = model_config(_required(meta, name, "model"), name)
    mean = checked(name, "mean", _required(meta, name, "mean"), float, -1e3, 1e3)
    std = checked(name, "std", _required(meta, name, "std"), float, None, 1e3)
    if std < MIN_STD:
        raise CnnkitError("safety.ckpt_std", name=name, got=shown(std), least=MIN_STD)
    trained, folder = train_config(meta.get("train_config", {}), name, config)
    return CheckpointMeta(
        model_config=config,
        dataset=checked(name, "dataset", meta.get("dataset", "mnist"), str),
        classes=classes(_required(meta, name, "classes"), name, config.num_classes),
        mean=mean,
        std=std,
        metrics=metrics(meta.get("metrics", {}), name),
        history=history(meta.get("history", []), name),
        train_config=trained,
        folder=folder,
        temperature=checked(name, "temperature", meta.get("temperature", 1.0), float, 0.05, 100.0),
        calibration=calibration_facts(meta.get("calibration", {}), name),
    )


def build_checked(config: ModelConfig, name: str) -> nn.Module:
    """The network of ``config`` on ``meta`` (no memory): refused when it cannot be built or is too large."""
    try:
        with torch.device("meta"):
            model = build_model(config)
    except CnnkitError as exc:
        raise CnnkitError("safety.ckpt_model", name=name, reason=exc) from None
    params = count_parameters(model)
    if params > (MAX_TRANSFER_PARAMETERS if config.backbone else MAX_PARAMETERS):
        raise CnnkitError(
            "safety.ckpt_too_large",
            name=name,
            params=f"{params:,}",
            most=f"{MAX_PARAMETERS:,}",
            model=config.describe(),
        )
    return model


def _floats(name: str, key: str, value, shape: tuple[int, ...] | None = None) -> torch.Tensor:
    """``value`` when it is a finite floating-point tensor (of ``shape`` when given)."""
    if not isinstance(value, torch.Tensor):
        raise CnnkitError("safety.ckpt_not_tensor", name=name, weight=shown(key), got=type(value).__name__)
    if shape is not None and tuple(value.shape) != shape:
        raise CnnkitError("safety.ckpt_tensor_shape", name=name, weight=key, got=list(value.shape), want=list(shape))
    if not value.is_floating_point():
        raise CnnkitError("safety.ckpt_dtype", name=name, weight=key, got=str(value.dtype))
    if not bool(torch.isfinite(value).all()):
        raise CnnkitError("safety.ckpt_not_finite_weights", name=name, weight=key)
    return value


def doubt_shapes(model: nn.Sequential, config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """The shapes of the feature statistics (``DOUBT_TENSORS``) of ``model`` (built on ``meta``): its classes
    and the width of its penultimate features, folded to at most ``FEATURES``."""
    if isinstance(model[-1], nn.Linear):  # read off the last layer: a pass on ``meta`` imports torch._dynamo (1 s)
        width = min(model[-1].in_features, FEATURES)
    else:
        with torch.device("meta"):
            probe = torch.zeros(1, config.in_channels, config.image_size, config.image_size)
        width = min(model[:-1](probe).flatten(1).shape[1], FEATURES)
    return {
        "centres": (config.num_classes, width),
        "precision": (width, width),
        "pooled_centre": (width,),
        "pooled_precision": (width, width),
    }


def validate_doubt_tensors(tensors, name: str, model: nn.Sequential, card: CheckpointMeta) -> dict[str, torch.Tensor]:
    """The calibration's feature statistics: none, or all of ``DOUBT_TENSORS`` with the facts they are read
    with (``far``, ``relative``), each finite floating-point of the shape the network gives (``doubt_shapes``)."""
    tensors = checked(name, "calibration", {} if tensors is None else tensors, dict)
    if not tensors:
        return {}
    unknown = sorted(map(str, set(tensors) - set(DOUBT_TENSORS)))
    if unknown:
        raise CnnkitError("safety.ckpt_unknown_tensors", name=name, tensors=shown(", ".join(unknown)))
    for field in (*DOUBT_TENSORS, "far", "relative"):
        if field not in tensors and field not in card.calibration:
            raise CnnkitError("safety.ckpt_missing", name=name, field=f"calibration.{field}")
    shapes = doubt_shapes(model, card.model_config)
    return {key: _floats(name, f"calibration.{key}", tensors[key], shape).float() for key, shape in shapes.items()}


def validate_weights(model: nn.Module, state, name: str, describe: str) -> dict[str, torch.Tensor]:
    """``state`` as ``model`` (built on ``meta``) needs it: tensors only, the same names and shapes, finite
    floating-point values, converted to the model's dtypes."""
    state = checked(name, "state_dict", state, dict)
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise CnnkitError("safety.ckpt_not_tensor", name=name, weight=shown(key), got=type(value).__name__)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(map(str, set(state) - set(expected)))
    wrong = sorted(k for k in set(expected) & set(state) if tuple(expected[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong:
        details = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing[:4])}" if missing else "",
                f"unexpected {', '.join(unexpected[:4])[:200]}" if unexpected else "",
                f"different shapes for {', '.join(wrong[:4])}" if wrong else "",
            )
            if part
        )
        raise CnnkitError("errors.checkpoint_mismatch", name=name, model=describe, details=details)
    return {
        key: (_floats(name, key, state[key]) if want.is_floating_point() else state[key]).to("cpu", want.dtype)
        for key, want in expected.items()
    }
