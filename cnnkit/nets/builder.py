"""The notes' CNNs — the MNIST ConvNet and LeNet-5 — and their experiments as layer lists of the one builder
(``cnnkit.nets.layers``), and ``ModelConfig``: a model as plain values, either those switches or its own layers."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

from torch import nn

from cnnkit.errors import CnnkitError, unknown_choice
from cnnkit.nets.families import FAMILIES, IMAGE_SIZE
from cnnkit.nets.layers import Layer, Spec, build, make_layer, parse_spec, plan, to_compact, to_json
from cnnkit.options import setting


@dataclass(frozen=True)
class ModelConfig:
    """A model as plain values: the family plus the notes' experiments, or its own ``layers``."""

    arch: str = setting("convnet", "--model", "default: convnet", choices=list(FAMILIES))
    extra_conv: bool = setting(False, "--extra-conv", "experiment: add a third conv block", action="store_true")
    pooling: bool = setting(True, "--no-pooling", "experiment: remove the pooling layers", action="store_false")
    padding: bool = setting(True, "--no-padding", "experiment: convolutions without padding", action="store_false")
    extra_fc: bool = setting(False, "--extra-fc", "experiment: add a hidden fully connected layer", action="store_true")
    batchnorm: bool = setting(False, "--batchnorm", "BatchNorm after each convolution", action="store_true")
    dropout: float = setting(0.0, "--dropout", "Dropout p after hidden FC layers (default 0)", type=float)
    in_channels: int = 1
    num_classes: int = 10
    image_size: int = IMAGE_SIZE
    # a network of its own; None: the family with the switches above
    layers: Spec | None = setting(
        None,
        "--layers",
        "a network of its own instead of --model and the experiments: a "
        "JSON list of layers, a .json file holding one, or the compact form, e.g. "
        "'conv(32,3,padding=1) relu maxpool(2) flatten linear(128) relu linear'",
        metavar="SPEC",
    )
    # transfer learning (``cnnkit.nets.transfer``): a torchvision classifier of the guide instead of the above
    backbone: str | None = setting(
        None,
        "--arch",
        "transfer learning: a torchvision architecture of the guide (resnet18, mobilenet_v3_small, …) with a new head",
        metavar="ARCH",
    )
    pretrained: bool = setting(
        False, "--pretrained", "--arch: start from its ImageNet weights (default: from scratch)", action="store_true"
    )
    # which layers learn: all (the head only), N (the last N blocks and the head), features (all after the
    # convolutional features), none (every layer); None: "all" for pretrained weights, "features" with --from
    freeze: str | None = setting(
        None,
        "--freeze",
        "all (train the new head only, default with --pretrained), N (the last N blocks too), features "
        "(the layers after the convolutions: default with --from) or none (fine-tune everything)",
        metavar="all|N|features|none",
    )

    def to_dict(self) -> dict:
        """Plain values, with the layer list always written out (a checkpoint rebuilds its network from it)."""
        try:
            layers = None if self.backbone is not None else to_json(spec_of(self))
        except CnnkitError:  # an unknown family or a bad switch: nothing to write out
            layers = None
        return {**asdict(replace(self, layers=None)), "layers": layers}

    @classmethod
    def from_dict(cls, values: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise CnnkitError("errors.unknown_model_options", unknown=sorted(unknown), known=sorted(known))
        config = cls(**{**values, "layers": None})
        if values.get("layers") is not None:
            layers = parse_spec(values["layers"])
            config = replace(config, layers=None if layers == spec_of(config) else layers)
        return config

    @property
    def freeze_mode(self) -> str:
        """``freeze``, or its default: the head only on pretrained weights, every layer from scratch."""
        return self.freeze or ("all" if self.pretrained else "none")

    def for_data(self, info) -> ModelConfig:
        """This model for a dataset's ``DatasetInfo``: its class count, channels and image size."""
        return replace(self, num_classes=len(info.classes), in_channels=info.channels, image_size=info.size)

    def describe(self) -> str:
        """Short name of the variant, e.g. ``convnet+extra_conv-pool``, or ``layers: conv(32,3) relu …``."""
        if self.backbone is not None:
            return f"{self.backbone}{'+imagenet' if self.pretrained else ''} freeze={self.freeze_mode}"
        if self.layers is not None:
            return f"layers: {to_compact(self.layers)}"
        parts = [self.arch, f" freeze={self.freeze}" if self.freeze else ""]
        parts += ["+extra_conv"] if self.extra_conv else []
        parts += ["-pool"] if not self.pooling else []
        parts += ["-pad"] if not self.padding else []
        parts += ["+extra_fc"] if self.extra_fc else []
        parts += ["+bn"] if self.batchnorm else []
        parts += [f"+dropout{self.dropout:g}"] if self.dropout else []
        return "".join(parts)


def spec_of(config: ModelConfig) -> Spec:
    """The layer list of ``config``: its own ``layers``, or the family's with the experiments applied."""
    if config.layers is not None:
        return config.layers
    if config.arch not in FAMILIES:
        raise unknown_choice("model", config.arch, FAMILIES)
    if not 0.0 <= config.dropout < 1.0:
        raise CnnkitError("errors.dropout_range", dropout=config.dropout)
    family = FAMILIES[config.arch]
    convs = family.convs + ((family.extra_conv,) if config.extra_conv else ())
    layers: list[Layer] = []
    size = config.image_size
    for out, kernel, pad in convs:
        pad = pad if config.padding else 0
        size = size + 2 * pad - kernel + 1
        layers.append(make_layer("conv", out=out, kernel=kernel, padding=pad))
        layers += [make_layer("batchnorm")] if config.batchnorm else []
        layers.append(make_layer(family.activation))
        if config.pooling and size >= 2:  # a 1×1 map is not pooled
            layers.append(make_layer(family.pool, kernel=2))
            size //= 2
    layers.append(make_layer("flatten"))
    for width in family.hidden + ((family.extra_hidden,) if config.extra_fc else ()):
        layers += [make_layer("linear", out=width), make_layer(family.activation)]
        layers += [make_layer("dropout", p=config.dropout)] if config.dropout else []
    return (*layers, make_layer("linear"))


def input_of(config: ModelConfig) -> tuple[int, int, int]:
    return config.in_channels, config.image_size, config.image_size


def build_model(config: ModelConfig = ModelConfig()) -> nn.Sequential:
    """Build the network; layers are named (conv1, relu1, pool1, …, fc1, …) for hooks and tables. A
    ``backbone`` is torchvision's network with a new head (``cnnkit.nets.transfer``), without weights."""
    if config.backbone is not None:
        from cnnkit.nets.transfer import build_transfer, check_freeze

        check_freeze(config.freeze_mode)
        return build_transfer(config.backbone, config.num_classes, config.in_channels, config.pretrained)
    spec = spec_of(config)
    if config.layers is not None:
        return build(spec, input_of(config), config.num_classes)
    # the notes' networks: only a vanishing feature map stops them here; their size is bounded by the caller
    # (checkpoints on ``meta``, the pages' input sizes)
    problem = plan(spec, input_of(config), config.num_classes, max_params=math.inf, max_values=math.inf).problem
    if problem:
        convs = sum(layer.type == "conv" for layer in spec[: (problem.index or 0) + 1])
        raise CnnkitError("errors.feature_map_vanishes", model=config.describe(), layer=str(convs))
    return build(spec, input_of(config), config.num_classes, max_params=math.inf, max_values=math.inf)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


# The notes' ConvNet + BatchNorm with each max-pool moved before its BatchNorm and ReLU. Max-pooling commutes with
# ReLU and with a BatchNorm whose scale is positive (both keep the order of values), so the network computes nearly
# the same function, but normalizes and rectifies a quarter of the values: ~1.5× the training images per second on
# the CPU (docs/speed.md).
POOL_FIRST = parse_spec(
    "conv(32,3,padding=1) maxpool(2) batchnorm relu conv(64,3,padding=1) maxpool(2) batchnorm "
    "relu flatten linear(128) relu linear"
)

# The fast recipe's network: POOL_FIRST with 16 filters in the first convolution (which the recipe starts as
# whitening filters, cnnkit/train/whitening.py) and a stride-2 second convolution in place of the second max-pool:
# a quarter of its multiply-adds, one pool fewer. ~2× POOL_FIRST's training images per second (docs/speed.md).
FAST_NET = parse_spec(
    "conv(16,3,padding=1) maxpool(2) batchnorm relu conv(64,3,stride=2,padding=1) batchnorm relu "
    "flatten linear(128) relu linear"
)

NETWORK_PRESETS = {  # the notes' networks and experiments, as starting points of the layer list
    "convnet": ModelConfig(),
    "lenet5": ModelConfig("lenet5"),
    "extra_conv": ModelConfig(extra_conv=True),
    "no_pooling": ModelConfig(pooling=False),
    "no_padding": ModelConfig(padding=False),
    "extra_fc": ModelConfig(extra_fc=True),
    "batchnorm": ModelConfig(batchnorm=True),
    "dropout": ModelConfig(dropout=0.25),
    "pool_first": ModelConfig(layers=POOL_FIRST),
    "fast": ModelConfig(layers=FAST_NET),
}


def preset_spec(name: str, image_size: int = 28) -> Spec:
    """The layer list of a preset network for ``image_size``×``image_size`` inputs."""
    try:
        return spec_of(replace(NETWORK_PRESETS[name], image_size=image_size))
    except KeyError:
        raise CnnkitError("build.errors.unknown_preset", name=name, known=", ".join(NETWORK_PRESETS)) from None
