"""What a run looked like after each epoch, kept small: the first convolution's kernels, the feature maps of its
conv blocks for one fixed test image and the network's answer for it (its probabilities), from epoch 0 (the
random start, before any step) to the last.

The run store keeps them in ``snapshots.safetensors`` beside the checkpoints (no pickle), rewritten whole after
each epoch. Whatever the network, a frame holds at most ``KERNEL_VALUES`` kernel weights (float16) and
``MAX_BLOCKS`` × ``MAPS_PER_BLOCK`` maps of at most ``MAP_SIDE``² pixels (uint8), and a run keeps at most
``MAX_FRAMES`` frames (a long run keeps evenly spaced epochs, the first and the last among them): a few hundred
KB per run at most. A file is checked against these bounds when it is read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from cnnkit.data.datasets import Dataset, to_tensor
from cnnkit.infer.explain import conv_blocks

FORMAT = "cnnkit-snapshots-1"
IMAGE = 0  # the test image every run follows: the test split's first
MAX_FRAMES = 21  # epoch 0 and 20 epochs; a longer run keeps every 2nd, 4th, … epoch and its newest one
MAX_KERNELS = 32  # of the first convolution, the first ones
KERNEL_VALUES = 2048  # weights per frame at most: fewer kernels of a large or colour kernel
MAX_KERNEL_SIDE = 16  # a larger kernel is shown by its centre
MAX_BLOCKS = 3  # conv blocks with maps: the first, the last and one between
MAPS_PER_BLOCK = 8  # each block's first maps
MAP_SIDE = 28  # larger maps are averaged down to this
MAX_IMAGE_SIDE = 256
MAX_CLASSES = 1000
MAX_FILE_BYTES = 2_000_000  # a larger file is not a snapshot file of this format


@dataclass(frozen=True, kw_only=True)
class EpochSnapshots:
    """A run's frames, one per kept epoch (the first axis of every array)."""

    epochs: tuple[int, ...]  # increasing; 0: before any step
    image: np.ndarray  # uint8 C×H×W: the test image followed
    label: int  # its true class
    classes: tuple[str, ...]
    outputs: np.ndarray  # float16 E×classes: the probabilities for the image
    kernels: np.ndarray | None  # float16 E×n×C×k×k: the first convolution's first kernels; None without one
    kernel_count: int  # the kernels that convolution has (0 without one)
    blocks: tuple[str, ...]  # the conv blocks shown, by their conv's name
    maps: tuple[np.ndarray, ...]  # per block, uint8 E×c×h×w: its first maps, each scaled to 0–255
    map_counts: tuple[int, ...]  # the maps each block has

    def frames(self, keep: list[int]) -> EpochSnapshots:
        """Only the frames at positions ``keep``."""
        return replace(
            self,
            epochs=tuple(self.epochs[i] for i in keep),
            outputs=self.outputs[keep],
            kernels=None if self.kernels is None else self.kernels[keep],
            maps=tuple(m[keep] for m in self.maps),
        )

    def answer(self, frame: int) -> int:
        """The class the network chose at ``frame``."""
        return int(self.outputs[frame].argmax())


def first_conv(model: nn.Module) -> nn.Conv2d | None:
    """The model's first convolution; None for a network without one."""
    return next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)


def _kernels_shown(weight: torch.Tensor) -> np.ndarray:
    """The first kernels (at most ``MAX_KERNELS``, ``KERNEL_VALUES`` weights), their centre when large."""
    side = min(weight.shape[-1], MAX_KERNEL_SIDE)
    top, left = (weight.shape[-2] - side) // 2, (weight.shape[-1] - side) // 2
    centre = weight[..., top : top + side, left : left + side]
    count = max(1, min(MAX_KERNELS, KERNEL_VALUES // centre[0].numel()))
    return centre[:count].detach().float().cpu().numpy().astype(np.float16)


def _maps_shown(output: torch.Tensor) -> np.ndarray:
    """A block's first ``MAPS_PER_BLOCK`` maps (of a 1×C×H×W output), at most ``MAP_SIDE`` pixels a side, each
    scaled to 0–255 (a constant map is 0)."""
    maps = output[0, :MAPS_PER_BLOCK].detach().float()
    height, width = maps.shape[-2:]
    if max(height, width) > MAP_SIDE:
        maps = F.adaptive_avg_pool2d(maps, (min(height, MAP_SIDE), min(width, MAP_SIDE)))
    low = maps.amin((1, 2), keepdim=True)
    span = maps.amax((1, 2), keepdim=True) - low
    scaled = torch.where(span > 0, (maps - low) / span.clamp_min(1e-12), torch.zeros_like(maps))
    return (scaled * 255).round().to(torch.uint8).cpu().numpy()


def _blocks_shown(names: list[str]) -> list[str]:
    """At most ``MAX_BLOCKS`` of the conv blocks, evenly spaced: the first and the last among them."""
    if len(names) <= MAX_BLOCKS:
        return names
    return [names[round(i * (len(names) - 1) / (MAX_BLOCKS - 1))] for i in range(MAX_BLOCKS)]


def _image(dataset: Dataset) -> torch.Tensor:
    """The followed test image as uint8 C×H×W."""
    image = dataset.test.images[IMAGE]
    return image.unsqueeze(0) if image.ndim == 2 else image


def take(model: nn.Module, dataset: Dataset, epoch: int) -> EpochSnapshots:
    """The model's frame at ``epoch``: one forward pass of the followed test image, in eval mode, without
    gradients (the model's mode is restored)."""
    image = _image(dataset)
    x = to_tensor(image.unsqueeze(0), dataset.info, next(model.parameters()).device)
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            outputs, logits = conv_blocks(model, x)
    finally:
        model.train(training)
    conv = first_conv(model)
    blocks = _blocks_shown(list(outputs))
    return EpochSnapshots(
        epochs=(epoch,),
        image=image.cpu().numpy().astype(np.uint8),
        label=int(dataset.test.labels[IMAGE]),
        classes=tuple(str(c) for c in dataset.info.classes),
        outputs=logits.detach().float().softmax(1).cpu().numpy().astype(np.float16),
        kernels=None if conv is None else _kernels_shown(conv.weight)[None],
        kernel_count=0 if conv is None else conv.out_channels,
        blocks=tuple(blocks),
        maps=tuple(_maps_shown(outputs[name])[None] for name in blocks),
        map_counts=tuple(outputs[name].shape[1] for name in blocks),
    )


def _fits(kept: EpochSnapshots, new: EpochSnapshots) -> bool:
    """Whether ``new`` is a frame of the same network and image as ``kept``."""

    def shapes(snaps: EpochSnapshots) -> tuple:
        arrays = (snaps.image, snaps.outputs[0], *(a[0] for a in (snaps.kernels, *snaps.maps) if a is not None))
        return snaps.classes, snaps.blocks, snaps.label, snaps.kernels is None, *(a.shape for a in arrays)

    return shapes(kept) == shapes(new)


def thinned(epochs: list[int]) -> list[int]:
    """The positions of the epochs kept: all of them up to ``MAX_FRAMES``, else the multiples of the smallest
    power of two that leaves at most ``MAX_FRAMES - 1`` of them, and the newest."""
    stride = 1
    while True:
        keep = [i for i, epoch in enumerate(epochs) if epoch % stride == 0 or i == len(epochs) - 1]
        if len(keep) <= MAX_FRAMES:
            return keep
        stride *= 2


def joined(kept: EpochSnapshots | None, new: EpochSnapshots) -> EpochSnapshots:
    """``kept`` with the frame ``new`` added: frames of that epoch and later ones are replaced (a resumed run redoes
    them), frames of another network dropped, long runs thinned (``thinned``)."""
    if kept is None or not _fits(kept, new):
        return new
    earlier = [i for i, epoch in enumerate(kept.epochs) if epoch < new.epochs[0]]
    kept = kept.frames(earlier)
    both = replace(
        new,
        epochs=kept.epochs + new.epochs,
        outputs=np.concatenate([kept.outputs, new.outputs]),
        kernels=None if new.kernels is None else np.concatenate([kept.kernels, new.kernels]),
        maps=tuple(np.concatenate([a, b]) for a, b in zip(kept.maps, new.maps)),
    )
    return both.frames(thinned(list(both.epochs)))


def to_bytes(snaps: EpochSnapshots) -> bytes:
    """The safetensors file of ``snaps``: arrays as tensors, names and counts as text metadata."""
    tensors = {
        "epochs": torch.tensor(snaps.epochs, dtype=torch.int32),
        "image": torch.from_numpy(np.ascontiguousarray(snaps.image)),
        "outputs": torch.from_numpy(np.ascontiguousarray(snaps.outputs)),
        **{f"maps.{i}": torch.from_numpy(np.ascontiguousarray(m)) for i, m in enumerate(snaps.maps)},
    }
    if snaps.kernels is not None:
        tensors["kernels"] = torch.from_numpy(np.ascontiguousarray(snaps.kernels))
    metadata = {
        "format": FORMAT,
        "label": str(snaps.label),
        "classes": json.dumps(snaps.classes),
        "blocks": json.dumps(snaps.blocks),
        "kernel_count": str(snaps.kernel_count),
        "map_counts": json.dumps(snaps.map_counts),
    }
    return st_save(tensors, metadata)


def _metadata(data: bytes) -> dict:
    """The text metadata in a safetensors file's JSON header."""
    size = int.from_bytes(data[:8], "little")
    if not 0 < size <= len(data) - 8:
        raise ValueError("no header")
    return json.loads(data[8 : 8 + size]).get("__metadata__") or {}


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise ValueError(what)


def _array(tensors: dict, name: str, dtype: torch.dtype, ndim: int) -> np.ndarray:
    tensor = tensors.get(name)
    _require(tensor is not None and tensor.dtype == dtype and tensor.ndim == ndim, name)
    return tensor.numpy()


def _strings(text: str, limit: int) -> tuple[str, ...]:
    values = json.loads(text)
    _require(isinstance(values, list) and len(values) <= limit and all(isinstance(v, str) for v in values), text)
    return tuple(values)


def from_bytes(data: bytes) -> EpochSnapshots:
    """The snapshots of a file written by ``to_bytes``, every shape and value checked against the bounds; a file
    that is not one raises ValueError (or the reader's own error)."""
    _require(len(data) <= MAX_FILE_BYTES, "too large")
    meta, tensors = _metadata(data), st_load(data)
    _require(meta.get("format") == FORMAT, "format")
    epochs = _array(tensors, "epochs", torch.int32, 1).tolist()
    frames = len(epochs)
    _require(0 < frames <= MAX_FRAMES and epochs[0] >= 0 and all(a < b for a, b in zip(epochs, epochs[1:])), "epochs")
    classes, blocks = _strings(meta["classes"], MAX_CLASSES), _strings(meta["blocks"], MAX_BLOCKS)
    image = _array(tensors, "image", torch.uint8, 3)
    _require(image.shape[0] in (1, 3) and max(image.shape[1:]) <= MAX_IMAGE_SIDE, "image")
    outputs = _array(tensors, "outputs", torch.float16, 2)
    _require(outputs.shape == (frames, len(classes)) and np.isfinite(outputs).all(), "outputs")
    label = int(meta["label"])
    _require(0 <= label < len(classes), "label")
    kernels = _array(tensors, "kernels", torch.float16, 5) if "kernels" in tensors else None
    if kernels is not None:
        _, count, channels, height, width = kernels.shape
        _require(kernels.shape[0] == frames and 0 < count <= MAX_KERNELS and channels == image.shape[0], "kernels")
        _require(height == width <= MAX_KERNEL_SIDE and np.isfinite(kernels).all(), "kernels")
    maps = tuple(_array(tensors, f"maps.{i}", torch.uint8, 4) for i in range(len(blocks)))
    for block in maps:
        _require(block.shape[0] == frames and 0 < block.shape[1] <= MAPS_PER_BLOCK, "maps")
        _require(max(block.shape[2:]) <= MAP_SIDE, "maps")
    map_counts = tuple(int(n) for n in json.loads(meta["map_counts"]))
    _require(len(map_counts) == len(blocks), "map counts")
    return EpochSnapshots(
        epochs=tuple(epochs),
        image=image,
        label=label,
        classes=classes,
        outputs=outputs,
        kernels=kernels,
        kernel_count=int(meta["kernel_count"]),
        blocks=blocks,
        maps=maps,
        map_counts=map_counts,
    )
