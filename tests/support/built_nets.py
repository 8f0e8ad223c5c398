"""Networks of the layer builder for the tests of the drawing page's views: several layouts unlike the notes'
ConvNet, as random checkpoints, and a run store holding one."""

from __future__ import annotations

from pathlib import Path

import torch

from cnnkit.data.datasets import DATASETS
from cnnkit.nets.builder import ModelConfig, build_model
from cnnkit.nets.checkpoints import Checkpoint, save_checkpoint
from cnnkit.nets.layers import parse_spec
from cnnkit.train.loop import TrainConfig
from cnnkit.train.store import RunStore
from tests.support.models import epoch_stats
from tests.support.shapes import SHAPES

SPECS = {  # none of them has the ConvNet's names, kernels, blocks or 128 units
    "avgpool+bn+gelu+dropout": "conv(8,5) relu maxpool(2) conv(16,3,padding=1) batchnorm relu avgpool(2) flatten "
    "linear(32) gelu dropout(0.1) linear",
    "no_pooling+tanh": "conv(4,3) tanh conv(6,5) tanh flatten linear",
    "stride2": "conv(8,3,2) gelu conv(12,3,2,1) relu flatten linear(16) tanh linear",
    "extra_linear": "conv(4,7) relu maxpool(3) flatten dropout(0.2) linear(20) relu linear(12) relu linear",
    "no_conv": "flatten linear(24) relu linear",
}


def built_checkpoint(spec: str, dataset: str = "mnist", seed: int = 0) -> Checkpoint:
    """A random network of ``spec`` for ``dataset``'s 1×28×28 digits."""
    torch.manual_seed(seed)
    info = DATASETS[dataset]
    config = ModelConfig(layers=parse_spec(spec), num_classes=len(info.classes))
    return Checkpoint(build_model(config).eval(), config, dataset, list(info.classes), info.mean, info.std)


def stored(folder: Path, ckpt: Checkpoint, name: str, test_accuracy: float = 0.5) -> int:
    """``ckpt`` as a run of one epoch, finished, of a run store in ``folder``; its id."""
    store = RunStore(folder)
    run_id = store.create(TrainConfig(dataset=ckpt.dataset), name=name, dataset=ckpt.dataset)
    save_checkpoint(ckpt, store.folder(run_id) / "best.pt")
    store.add_epoch(
        run_id,
        epoch_stats(accuracy=test_accuracy),
        1.0,
    )
    store.finish(run_id, "finished")
    return run_id


def folder_checkpoint(
    spec: str = "conv(6,3,padding=1) relu maxpool(2) conv(8,3) relu flatten linear",
    channels: int = 3,
    size: int = 32,
    seed: int = 0,
) -> Checkpoint:
    """A random network of ``spec`` as if trained on a class folder of shapes, ``channels``×``size``×``size``."""
    torch.manual_seed(seed)
    config = ModelConfig(layers=parse_spec(spec), in_channels=channels, image_size=size, num_classes=len(SHAPES))
    return Checkpoint(
        build_model(config).eval(),
        config,
        "folder",
        list(SHAPES),
        0.8,
        0.25,
        train_config={"folder": {"size": size, "channels": channels, "fit": "pad"}},
    )
