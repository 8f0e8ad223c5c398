"""The notes' two network families as plain values, without torch: what the guide needs to tell cnnkit's own
networks from torchvision's (``cnnkit.nets.builder`` builds them)."""

from __future__ import annotations

from dataclasses import dataclass

IMAGE_SIZE = 28  # the notes' networks read MNIST's 28×28 images unless told otherwise


@dataclass(frozen=True)
class Family:
    """A family's base layout; the experiments of ``ModelConfig`` are applied on top of it."""

    convs: tuple[tuple[int, int, int], ...]  # (out_channels, kernel, padding) per conv block
    extra_conv: tuple[int, int, int]  # the block the "extra conv layer" experiment appends
    hidden: tuple[int, ...]  # hidden fully connected sizes
    extra_hidden: int  # the layer the "extra FC layer" experiment appends
    activation: str  # a layer type of cnnkit.nets.layers
    pool: str


FAMILIES = {
    # The notebook's ConvNet: 421,642 parameters.
    "convnet": Family(((32, 3, 1), (64, 3, 1)), (128, 3, 1), (128,), 64, "relu", "maxpool"),
    # LeNet-5 for 28×28 inputs: the first conv pads by 2 so that it sees the 32×32 of the paper.
    "lenet5": Family(((6, 5, 2), (16, 5, 0)), (32, 3, 1), (120, 84), 42, "tanh", "avgpool"),
}
