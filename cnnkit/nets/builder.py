"""The notes' CNNs — the MNIST ConvNet and LeNet-5 — and their experiments, from one builder."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass, fields

from torch import nn

from cnnkit.errors import CnnkitError, unknown_choice


@dataclass(frozen=True)
class Family:
    """A family's base layout; the experiments of ``ModelConfig`` are applied on top of it."""

    convs: tuple[tuple[int, int, int], ...]  # (out_channels, kernel, padding) per conv block
    extra_conv: tuple[int, int, int]  # the block the "extra conv layer" experiment appends
    hidden: tuple[int, ...]  # hidden fully connected sizes
    extra_hidden: int  # the layer the "extra FC layer" experiment appends
    activation: type[nn.Module]
    pool: type[nn.Module]


FAMILIES = {
    # The notebook's ConvNet: 421,642 parameters.
    "convnet": Family(((32, 3, 1), (64, 3, 1)), (128, 3, 1), (128,), 64, nn.ReLU, nn.MaxPool2d),
    # LeNet-5 for 28×28 inputs: the first conv pads by 2 so that it sees the 32×32 of the paper.
    "lenet5": Family(((6, 5, 2), (16, 5, 0)), (32, 3, 1), (120, 84), 42, nn.Tanh, nn.AvgPool2d),
}


@dataclass(frozen=True)
class ModelConfig:
    """A model as plain values: the family plus the notes' experiments."""

    arch: str = "convnet"
    extra_conv: bool = False
    pooling: bool = True
    padding: bool = True
    extra_fc: bool = False
    batchnorm: bool = False
    dropout: float = 0.0
    in_channels: int = 1
    num_classes: int = 10
    image_size: int = 28

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise CnnkitError("errors.unknown_model_options", unknown=sorted(unknown), known=sorted(known))
        return cls(**values)

    def describe(self) -> str:
        """Short name of the variant, e.g. ``convnet+extra_conv-pool``."""
        parts = [self.arch]
        parts += ["+extra_conv"] if self.extra_conv else []
        parts += ["-pool"] if not self.pooling else []
        parts += ["-pad"] if not self.padding else []
        parts += ["+extra_fc"] if self.extra_fc else []
        parts += ["+bn"] if self.batchnorm else []
        parts += [f"+dropout{self.dropout:g}"] if self.dropout else []
        return "".join(parts)


def _conv_out(size: int, kernel: int, padding: int, stride: int = 1) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def build_model(config: ModelConfig = ModelConfig()) -> nn.Sequential:
    """Build the network; layers are named (conv1, relu1, pool1, …, fc1, …) for hooks and tables."""
    if config.arch not in FAMILIES:
        raise unknown_choice("model", config.arch, FAMILIES)
    if not 0.0 <= config.dropout < 1.0:
        raise CnnkitError("errors.dropout_range", dropout=config.dropout)
    family = FAMILIES[config.arch]
    act_name = family.activation.__name__.lower()
    convs = family.convs + ((family.extra_conv,) if config.extra_conv else ())
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    channels, size = config.in_channels, config.image_size
    for i, (out, kernel, pad) in enumerate(convs, 1):
        pad = pad if config.padding else 0
        size = _conv_out(size, kernel, pad)
        if size < 1:
            raise CnnkitError("errors.feature_map_vanishes", model=config.describe(), layer=str(i))
        layers[f"conv{i}"] = nn.Conv2d(channels, out, kernel, padding=pad)
        if config.batchnorm:
            layers[f"bn{i}"] = nn.BatchNorm2d(out)
        layers[f"{act_name}{i}"] = family.activation()
        if config.pooling and size >= 2:
            layers[f"pool{i}"] = family.pool(2)
            size //= 2
        channels = out
    layers["flatten"] = nn.Flatten()
    features = channels * size * size
    hidden = family.hidden + ((family.extra_hidden,) if config.extra_fc else ())
    for j, width in enumerate(hidden, 1):
        layers[f"fc{j}"] = nn.Linear(features, width)
        layers[f"{act_name}_fc{j}"] = family.activation()
        if config.dropout:
            layers[f"dropout{j}"] = nn.Dropout(config.dropout)
        features = width
    layers[f"fc{len(hidden) + 1}"] = nn.Linear(features, config.num_classes)
    return nn.Sequential(layers)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
