"""Checkpoints the tests make: an untrained network of any architecture, with a dataset's classes."""

from __future__ import annotations

import torch

from cnnkit.data.datasets import DATASETS
from cnnkit.nets.builder import ModelConfig, build_model
from cnnkit.nets.checkpoints import Checkpoint


def random_checkpoint(config=ModelConfig(), dataset="mnist", seed=0) -> Checkpoint:
    torch.manual_seed(seed)
    info = DATASETS[dataset]
    return Checkpoint(build_model(config).eval(), config, dataset, list(info.classes), info.mean, info.std)
