"""Checkpoints the tests make: an untrained network of any architecture, with a dataset's classes; the statistics
of an epoch a run store keeps."""

from __future__ import annotations

import torch

from cnnkit.data.datasets import DATASETS
from cnnkit.nets.builder import ModelConfig, build_model
from cnnkit.nets.checkpoints import Checkpoint
from cnnkit.train.loop import EpochStats


def random_checkpoint(config=ModelConfig(), dataset="mnist", seed=0) -> Checkpoint:
    torch.manual_seed(seed)
    info = DATASETS[dataset]
    return Checkpoint(build_model(config).eval(), config, dataset, list(info.classes), info.mean, info.std)


def epoch_stats(epoch: int = 1, accuracy: float = 0.85, **changes) -> EpochStats:
    """An epoch's statistics as a run store keeps them: ``accuracy`` on the training and the test images."""
    values = dict(seconds=1.0, train_loss=0.5, train_accuracy=accuracy, test_loss=0.4, test_accuracy=accuracy)
    return EpochStats(epoch=epoch, images_per_s=1000.0, **{**values, **changes})
