"""Named training recipes as ``TrainConfig`` overrides, for the CLI's ``--preset`` and the training page.

"notebook" is the source notebook's settings; "fast" shows how much the training tricks matter: one epoch of
large batches with a one-cycle learning rate and BatchNorm, on data kept in memory. Their measured time and
accuracy side by side are in docs/speed.md.
"""
from __future__ import annotations

from dataclasses import replace

from cnnkit.errors import CnnkitError, unknown_choice
from cnnkit.train.loop import TrainConfig

PRESETS: dict[str, dict] = {
    "notebook": {"epochs": 6, "batch_size": 64, "optimizer": "adam", "lr": 1e-3, "schedule": "constant",
                 "model": {"batchnorm": False}},
    "fast": {"epochs": 1, "batch_size": 256, "optimizer": "adam", "lr": 4e-3, "schedule": "onecycle",
             "model": {"batchnorm": True}},
}


def preset_values(name: str) -> dict:
    """The preset as flat control values (``batchnorm`` beside ``epochs``), for the page's widgets."""
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
