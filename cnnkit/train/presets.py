"""Named training recipes as ``TrainConfig`` overrides, for the CLI's ``--preset`` and the training page.

"notebook" is the source notebook's settings; "fast" shows how much the training tricks matter: one epoch of
batches of 128 with a one-cycle learning rate, label smoothing, a first layer that starts as whitening filters,
and a lighter ConvNet with BatchNorm after its pooling (``FAST_NET``), on data kept in memory. Their measured
time and accuracy side by side are in docs/speed.md, with the levers that were tried and not kept.
"""

from __future__ import annotations

from dataclasses import replace

from cnnkit.errors import unknown_choice
from cnnkit.nets.builder import FAST_NET
from cnnkit.train.loop import TrainConfig

PRESETS: dict[str, dict] = {
    "notebook": {
        "epochs": 6,
        "batch_size": 64,
        "optimizer": "adam",
        "lr": 1e-3,
        "schedule": "constant",
        "label_smoothing": 0.0,
        "whiten": False,
        "model": {"batchnorm": False, "layers": None},
    },
    "fast": {
        "epochs": 1,
        "batch_size": 128,
        "optimizer": "adam",
        "lr": 1e-2,
        "schedule": "onecycle",
        "label_smoothing": 0.1,
        "whiten": True,
        "model": {"layers": FAST_NET},
    },
}


def preset_values(name: str) -> dict:
    """The preset as flat control values (``batchnorm`` or ``layers`` beside ``epochs``), for the page's widgets."""
    values = dict(PRESETS[name])
    return {**values.pop("model", {}), **values}


def apply_preset(config: TrainConfig, name: str) -> TrainConfig:
    """``config`` with the preset's values; model options in the preset change only those options."""
    try:
        values = dict(PRESETS[name])
    except KeyError:
        raise unknown_choice("preset", name, PRESETS) from None
    model = replace(config.model, **values.pop("model", {}))
    return replace(config, model=model, **values)
