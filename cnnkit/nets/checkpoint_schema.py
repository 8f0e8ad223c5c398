"""What a checkpoint may hold, checked before anything is built from it: its metadata against a schema with
bounds, then its weights against the network built on ``meta`` (shapes only, no memory) and for finiteness.

A crafted file gets one clear message, cheaply: nothing is allocated from a size the metadata states before
that size is within bounds. ``validate_meta`` checks the fields one by one (``MODEL_FIELDS`` for the model
description); a new way of describing the network (a layer spec, say) adds its own check to ``model_config``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
from torch import nn

from cnnkit.errors import CnnkitError
from cnnkit.nets.builder import FAMILIES, ModelConfig, build_model, count_parameters

MAX_CLASSES = 1000
MAX_CLASS_NAME = 100  # characters
MAX_PARAMETERS = 50_000_000  # 200 MB of float32 weights: far above any network cnnkit trains
MAX_SHOWN = 40  # characters of a bad value quoted in a message

# field: (type, low, high) — bounds of the numbers, None where any value of the type will do
MODEL_FIELDS: dict[str, tuple[type, float | None, float | None]] = {
    "arch": (str, None, None),
    "extra_conv": (bool, None, None),
    "pooling": (bool, None, None),
    "padding": (bool, None, None),
    "extra_fc": (bool, None, None),
    "batchnorm": (bool, None, None),
    "dropout": (float, 0.0, 0.99),
    "in_channels": (int, 1, 4),
    "num_classes": (int, 1, MAX_CLASSES),
    "image_size": (int, 8, 256),
    "layers": (list, None, None),  # its own layer list: checked by ``cnnkit.nets.layers.parse_spec``
}
assert set(MODEL_FIELDS) == {f.name for f in fields(ModelConfig)}, "every model field has its bounds"


@dataclass(frozen=True, kw_only=True)
class CheckpointMeta:
    """A checkpoint's metadata once validated."""

    model_config: ModelConfig
    dataset: str
    classes: list[str]
    mean: float
    std: float
    metrics: dict
    history: list[dict]
    train_config: dict


def shown(value) -> str:
    """A value as a message quotes it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _type_name(kind: type) -> str:
    return {
        str: "text",
        bool: "true or false",
        int: "a whole number",
        float: "a number",
        list: "a list",
        dict: "a table",
    }[kind]


def checked(name: str, field: str, value, kind: type, low: float | None = None, high: float | None = None):
    """``value`` when it is of ``kind`` (ints pass as floats, bools never as numbers) and within bounds."""
    number = kind in (int, float)
    fits = isinstance(value, kind) or (kind is float and isinstance(value, int))
    if not fits or (number and isinstance(value, bool)):
        raise CnnkitError("safety.ckpt_type", name=name, field=field, expected=_type_name(kind), got=shown(value))
    if number and not math.isfinite(value):
        raise CnnkitError("safety.ckpt_not_finite", name=name, field=field, got=shown(value))
    if (low is not None and value < low) or (high is not None and value > high):
        raise CnnkitError("safety.ckpt_range", name=name, field=field, got=shown(value), low=low, high=high)
    return float(value) if kind is float else value


def _required(meta: dict, name: str, field: str):
    if field not in meta:
        raise CnnkitError("safety.ckpt_missing", name=name, field=field)
    return meta[field]


def model_config(meta: dict, name: str) -> ModelConfig:
    """The model description of ``meta["model"]``, every field typed and within its bounds."""
    model = checked(name, "model", _required(meta, name, "model"), dict)
    unknown = sorted(set(model) - set(MODEL_FIELDS))
    if unknown:
        raise CnnkitError("safety.ckpt_unknown", name=name, fields=shown(", ".join(map(str, unknown))))
    values = {
        field: checked(name, f"model.{field}", model[field], *MODEL_FIELDS[field])
        for field in MODEL_FIELDS
        if field in model and model[field] is not None
    }
    if values.get("arch", ModelConfig.arch) not in FAMILIES:
        raise CnnkitError("safety.ckpt_arch", name=name, got=shown(values["arch"]), known=", ".join(FAMILIES))
    return ModelConfig.from_dict(values)


def validate_meta(meta, name: str) -> CheckpointMeta:
    """``meta`` checked field by field against the schema; nothing is allocated from it."""
    meta = checked(name, "metadata", meta, dict)
    config = model_config(meta, name)
    classes = checked(name, "classes", _required(meta, name, "classes"), list)
    for i, label in enumerate(classes[: MAX_CLASSES + 1]):
        checked(name, f"classes[{i}]", label, str)
        if not label.strip() or len(label) > MAX_CLASS_NAME:
            raise CnnkitError("safety.ckpt_class_name", name=name, index=i, most=MAX_CLASS_NAME)
    if len(classes) != config.num_classes:
        raise CnnkitError("safety.ckpt_classes_count", name=name, names=len(classes), outputs=config.num_classes)
    mean = checked(name, "mean", _required(meta, name, "mean"), float, -1e3, 1e3)
    std = checked(name, "std", _required(meta, name, "std"), float, None, 1e3)
    if std <= 0:
        raise CnnkitError("safety.ckpt_std", name=name, got=shown(std))
    metrics = checked(name, "metrics", meta.get("metrics", {}), dict)
    if "test_accuracy" in metrics:
        checked(name, "metrics.test_accuracy", metrics["test_accuracy"], float, 0.0, 1.0)
    history = checked(name, "history", meta.get("history", []), list)
    for i, epoch in enumerate(history):
        checked(name, f"history[{i}]", epoch, dict)
    return CheckpointMeta(
        model_config=config,
        dataset=checked(name, "dataset", meta.get("dataset", "mnist"), str),
        classes=list(classes),
        mean=mean,
        std=std,
        metrics=metrics,
        history=history,
        train_config=checked(name, "train_config", meta.get("train_config", {}), dict),
    )


def build_checked(config: ModelConfig, name: str) -> nn.Module:
    """The network of ``config`` on ``meta`` (no memory): refused when it cannot be built or is too large."""
    try:
        with torch.device("meta"):
            model = build_model(config)
    except CnnkitError as exc:
        raise CnnkitError("safety.ckpt_model", name=name, reason=exc.message()) from None
    params = count_parameters(model)
    if params > MAX_PARAMETERS:
        raise CnnkitError(
            "safety.ckpt_too_large",
            name=name,
            params=f"{params:,}",
            most=f"{MAX_PARAMETERS:,}",
            model=config.describe(),
        )
    return model


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
    fitted = {}
    for key, want in expected.items():
        value = state[key]
        if want.is_floating_point():
            if not value.is_floating_point():
                raise CnnkitError("safety.ckpt_dtype", name=name, weight=key, got=str(value.dtype))
            if not bool(torch.isfinite(value).all()):
                raise CnnkitError("safety.ckpt_not_finite_weights", name=name, weight=key)
        fitted[key] = value.to(device="cpu", dtype=want.dtype)
    return fitted
