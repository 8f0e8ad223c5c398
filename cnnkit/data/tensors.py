"""A run's data on its device: the training part this process trains on and the test split, normalized,
as one tensor each, and the shuffled mini-batches of an epoch."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from cnnkit.data.datasets import Dataset, Split, batches, subset, to_tensor


def part_of(split: Split, rank: int, size: int, seed: int) -> Split:
    """Process ``rank``'s equal, disjoint share of ``split`` (one of ``size``) after a seeded shuffle that
    every process draws alike. Shares hold ``len(split) // size`` images each, so every process runs the same
    number of batches; the fewer than ``size`` left over are not used."""
    if size == 1:
        return split
    per_rank = len(split) // size
    order = torch.randperm(len(split), generator=torch.Generator().manual_seed(seed))
    mine = order[rank * per_rank : (rank + 1) * per_rank]
    return Split(split.images[mine], split.labels[mine])


@dataclass(kw_only=True)
class DeviceData:
    """Normalized tensors on the run's device."""

    x_train: torch.Tensor  # this process's part of the training subset
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    background: float  # the normalized value of a black pixel, for augmentation padding

    def epoch(self, batch_size: int, generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch's shuffled training batches."""
        return batches(self.x_train, self.y_train, batch_size, True, generator)


def on_device(
    data: Dataset,
    *,
    device: torch.device,
    train_subset: int | None,
    seed: int,
    rank: int = 0,
    processes: int = 1,
    memory_format: torch.memory_format = torch.contiguous_format,
) -> DeviceData:
    """The training subset (seeded), this process's part of it, and the test split, normalized on ``device``."""
    train = part_of(subset(data.train, train_subset, seed), rank, processes, seed)
    return DeviceData(
        x_train=to_tensor(train.images, data.info, device).contiguous(memory_format=memory_format),
        y_train=train.labels.to(device),
        x_test=to_tensor(data.test.images, data.info, device).contiguous(memory_format=memory_format),
        y_test=data.test.labels.to(device),
        background=-data.info.mean / data.info.std,
    )
