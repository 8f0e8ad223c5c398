"""Transfer learning, for real: a torchvision classifier of the guide, its ImageNet weights, a new head.

``build_transfer`` makes a ``TransferNet``: ``prep`` (what ``weights.transforms()`` does — gray to RGB, resize,
centre crop, ImageNet's per-channel normalization — done on cnnkit's normalized tensors, so every dataset and
page feeds it as any other network), ``backbone`` (the torchvision model with its last layer removed) and
``head`` (the new last layer: a Linear, SqueezeNet's 1×1 convolution). ``freeze`` does the notes' recipe and its
variants on it, or on a cnnkit network one starts from (``--from``): the trainable layers are the head (``all``),
the last N blocks and the head, everything after the convolutional features (``features``) or all (``none``).

The weights come from torch hub's cache (``$TORCH_HOME/hub/checkpoints/<file>``, where torchvision puts them) or
a file given; they are read without unpickling code. Only ``download_weights``, asked for explicitly, downloads.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from cnnkit import lazy
from cnnkit.errors import CnnkitError, unknown_choice
from cnnkit.files import read_limited

# the torchvision classifiers of the guide (``cnnkit.guide.registry``); Inception v3's auxiliary output is left out
BACKBONES = (
    "alexnet",
    "vgg11",
    "vgg13",
    "vgg16",
    "vgg19",
    "vgg11_bn",
    "vgg13_bn",
    "vgg16_bn",
    "vgg19_bn",
    "googlenet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "wide_resnet50_2",
    "wide_resnet101_2",
    "resnext50_32x4d",
    "resnext101_32x8d",
    "resnext101_64x4d",
    "densenet121",
    "densenet169",
    "densenet201",
    "densenet161",
    "squeezenet1_0",
    "squeezenet1_1",
    "mobilenet_v2",
    "mobilenet_v3_small",
    "mobilenet_v3_large",
    "shufflenet_v2_x0_5",
    "shufflenet_v2_x1_0",
    "shufflenet_v2_x1_5",
    "shufflenet_v2_x2_0",
    "efficientnet_b0",
    "efficientnet_b1",
    "efficientnet_b2",
    "efficientnet_b3",
    "efficientnet_b4",
    "efficientnet_b5",
    "efficientnet_b6",
    "efficientnet_b7",
    "efficientnet_v2_s",
    "efficientnet_v2_m",
    "efficientnet_v2_l",
    "convnext_tiny",
    "convnext_small",
    "convnext_base",
    "convnext_large",
)
# the names the guide and the notes give them (language-neutral); other backbones go by torchvision's name
TITLES = {
    "alexnet": "AlexNet",
    "vgg16": "VGG-16",
    "googlenet": "GoogLeNet",
    "resnet18": "ResNet-18",
    "resnet50": "ResNet-50",
    "densenet121": "DenseNet-121",
    "squeezenet1_1": "SqueezeNet 1.1",
    "mobilenet_v2": "MobileNetV2",
    "mobilenet_v3_small": "MobileNetV3-Small",
    "mobilenet_v3_large": "MobileNetV3-Large",
    "efficientnet_b0": "EfficientNet-B0",
    "shufflenet_v2_x1_0": "ShuffleNet V2",
    "convnext_tiny": "ConvNeXt-Tiny",
}
FREEZE_MODES = ("all", "features", "none")  # or a number of blocks N, as text
MAX_WEIGHTS_BYTES = 800 * 2**20  # ConvNeXt-Large's 198 M float32 weights fit
IMAGENET_CLASSES = 1000


def _zoo():
    """torchvision's models, imported when a backbone is first needed: the import takes ~1 s (torch._dynamo
    among it) that loading a small checkpoint or predicting with it never needs."""
    return lazy.module("torchvision.models")


def weights_of(backbone: str):
    """torchvision's default ImageNet weights of ``backbone`` (its enum member)."""
    if backbone not in BACKBONES:
        raise unknown_choice("backbone", backbone, BACKBONES)
    return _zoo().get_model_weights(backbone).DEFAULT


def title(backbone: str) -> str:
    """The name the guide gives ``backbone`` (e.g. ``MobileNetV3-Small``), else torchvision's."""
    return TITLES.get(backbone, backbone)


@dataclass(frozen=True, kw_only=True)
class Preprocessing:
    """What ``weights.transforms()`` does to an image before the network reads it."""

    resize: int  # the shorter side, in pixels
    crop: int  # the centre crop's side
    interpolation: str  # "bilinear" or "bicubic"
    mean: tuple[float, ...]  # per channel (R, G, B), of ImageNet's images
    std: tuple[float, ...]


def preprocessing(backbone: str) -> Preprocessing:
    """The preprocessing of ``backbone``'s ImageNet weights: resize, centre crop, per-channel normalization."""
    t = weights_of(backbone).transforms()
    return Preprocessing(
        resize=int(t.resize_size[0]),
        crop=int(t.crop_size[0]),
        interpolation="bicubic" if "BICUBIC" in str(t.interpolation) else "bilinear",
        mean=tuple(t.mean),
        std=tuple(t.std),
    )


def weights_file_name(backbone: str) -> str:
    """The file name torchvision gives the weights, e.g. ``resnet18-f37072fd.pth``."""
    return Path(weights_of(backbone).url).name


def hub_weights_path(backbone: str) -> Path:
    """Where torchvision keeps the weights: ``torch.hub.get_dir()/checkpoints/<file>`` (``$TORCH_HOME``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / weights_file_name(backbone)


def weights_missing(backbone: str) -> CnnkitError:
    """The one message for absent weights: the file's name and where it goes, no path of this machine."""
    w = weights_of(backbone)
    return CnnkitError(
        "errors.transfer_weights_missing",
        model=backbone,
        file=weights_file_name(backbone),
        url=w.url,
        size=round(float(w.meta.get("_file_size", 0))),
    )


def download_weights(backbone: str) -> Path:
    """Download the weights into torch hub's cache as torchvision does (progress bar, hash checked); the path.
    A failure (offline) is the message of ``weights_missing``."""
    path = hub_weights_path(backbone)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = re.search(r"-([a-f0-9]+)\.", path.name)
    try:
        torch.hub.download_url_to_file(weights_of(backbone).url, str(path), prefix.group(1) if prefix else None)
    except Exception:  # URLError, a hash mismatch, a full disk: the file is not there
        raise weights_missing(backbone) from None
    return path


def imagenet_state(backbone: str, file: str | Path | None = None) -> dict[str, torch.Tensor]:
    """The ImageNet weights of ``backbone``: from ``file``, else from torch hub's cache; read safely."""
    from cnnkit.nets.checkpoints import read_state_dict

    path = Path(file) if file else hub_weights_path(backbone)
    if not path.is_file():
        if file:
            raise CnnkitError("errors.not_a_file", path=path)
        raise weights_missing(backbone)
    try:
        data = read_limited(path, MAX_WEIGHTS_BYTES, path.name)
    except OSError as exc:
        raise CnnkitError("errors.file_unreadable", name=path.name, reason=exc.strerror or exc) from None
    return read_state_dict(data, path.name)


class Preprocess(nn.Module):
    """``weights.transforms()`` on cnnkit's input: the data's normalization undone (its mean and std are kept
    with the weights), gray made RGB, resized and centre-cropped, normalized by ImageNet's channel means."""

    def __init__(self, backbone: str, in_channels: int):
        super().__init__()
        p = preprocessing(backbone)
        self.in_channels = in_channels
        self.resize, self.crop, self.mode = p.resize, p.crop, p.interpolation
        self.register_buffer("source", torch.tensor([0.0, 1.0]))  # the data's mean and std
        self.mean, self.std = p.mean, p.std  # ImageNet's (plain values: a checkpoint built on meta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.source[1] + self.source[0]
        x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x[:, :3]
        x = F.interpolate(x, size=(self.resize, self.resize), mode=self.mode, align_corners=False)
        start = (self.resize - self.crop) // 2
        x = x[:, :, start : start + self.crop, start : start + self.crop]
        mean, std = (torch.tensor(v, device=x.device, dtype=x.dtype).view(1, 3, 1, 1) for v in (self.mean, self.std))
        return (x - mean) / std


class TransferNet(nn.Sequential):
    """``prep`` → ``backbone`` (to the features the old last layer read) → ``head`` (the new last layer)."""


def _build_options(backbone: str, pretrained: bool) -> dict:
    """How torchvision's builder makes the network its weights fit (GoogLeNet's input transform)."""
    if backbone == "googlenet":
        return {"aux_logits": False, "transform_input": pretrained, "init_weights": not pretrained}
    return {}


def _last_layer(net: nn.Module) -> tuple[str, nn.Linear]:
    return [(name, m) for name, m in net.named_modules() if isinstance(m, nn.Linear)][-1]


def _split(backbone: str, net: nn.Module, num_classes: int) -> tuple[nn.Module, nn.Module]:
    """The network without its last layer, and a new one for ``num_classes``."""
    if backbone.startswith("squeezenet"):  # it classifies with a 1×1 convolution, then ReLU and average pooling
        conv = net.classifier[1]
        head = nn.Sequential(nn.Conv2d(conv.in_channels, num_classes, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        return net.features, nn.Sequential(*head, nn.Flatten())
    path, old = _last_layer(net)
    parent, _, attr = path.rpartition(".")
    setattr(net.get_submodule(parent) if parent else net, attr, nn.Identity())
    return net, nn.Linear(old.in_features, num_classes)


def _imagenet_net(backbone: str, pretrained: bool) -> nn.Module:
    """torchvision's ``backbone`` with its 1000 ImageNet classes, without weights (on the default device)."""
    weights_of(backbone)
    return _zoo().get_model(
        backbone, weights=None, num_classes=IMAGENET_CLASSES, **_build_options(backbone, pretrained)
    )


def _without_aux(backbone: str, state: dict) -> dict:
    """GoogLeNet's file keeps the auxiliary classifiers of its training: left out."""
    if backbone == "googlenet":
        return {k: v for k, v in state.items() if not k.startswith(("aux1.", "aux2."))}
    return state


def check_state(backbone: str, state: dict) -> None:
    """``state`` holds ``backbone``'s ImageNet weights (every name, every shape; compared on ``meta``)."""
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in _imagenet_net(backbone, True).state_dict().items()}
    given = {k: tuple(v.shape) for k, v in _without_aux(backbone, state).items()}
    if given != expected:
        raise CnnkitError("errors.transfer_wrong_weights", model=backbone)


def build_transfer(
    backbone: str, num_classes: int, in_channels: int, pretrained: bool, state: dict | None = None
) -> TransferNet:
    """The ``TransferNet`` of ``backbone``; with ``state`` (its ImageNet weights) loaded before the head is
    replaced. Built on the current default device (``meta`` for a checkpoint's check)."""
    net = _imagenet_net(backbone, pretrained)
    if state is not None:
        try:
            net.load_state_dict(_without_aux(backbone, state))
        except RuntimeError:
            raise CnnkitError("errors.transfer_wrong_weights", model=backbone) from None
    body, head = _split(backbone, net, num_classes)
    return TransferNet(OrderedDict(prep=Preprocess(backbone, in_channels), backbone=body, head=head))


def blocks(model: nn.Module) -> list[nn.Module]:
    """The layers "unfreeze the last N blocks" counts, in order: a ``TransferNet``'s backbone children, each
    ``Sequential`` among them opened once (ResNet's residual blocks, MobileNet's and VGG's ``features``), and
    its head; a cnnkit network's layers. Only those with parameters."""
    if isinstance(model, TransferNet):
        parts = []
        for child in model.backbone.children():
            parts += list(child.children()) if isinstance(child, nn.Sequential) else [child]
        units = [*parts, model.head]
    else:
        units = list(model.children())
    return [u for u in units if any(True for _ in u.parameters())]


def check_freeze(mode: str) -> None:
    if mode not in FREEZE_MODES and not (mode.isdigit() and 0 < int(mode) <= 1000):
        raise CnnkitError("errors.freeze_mode", mode=mode[:40])


def trainable_part(model: nn.Module, mode: str) -> list[nn.Module]:
    """The layers that learn under ``mode``: the head (``all``), the last N blocks and the head, what follows
    the convolutional features (``features``: from ``flatten`` on), or the whole network (``none``)."""
    check_freeze(mode)
    units = blocks(model)
    if mode == "none":
        return [model]
    if mode == "features" and not isinstance(model, TransferNet):
        names = [name for name, _ in model.named_children()]
        return list(model[names.index("flatten") :]) if "flatten" in names else units[-1:]
    if mode.isdigit():
        return units[-int(mode) - 1 :]
    return units[-1:]


def freeze(model: nn.Module, mode: str) -> nn.Module:
    """Freeze every parameter, then let ``trainable_part`` learn again; the model."""
    learning = trainable_part(model, mode)
    for p in model.parameters():
        p.requires_grad = False
    for part in learning:
        for p in part.parameters():
            p.requires_grad = True
    return model


def hold_frozen(model: nn.Module) -> None:
    """After ``model.train()``: every layer before the first one that learns, and every frozen layer with
    weights (BatchNorm's statistics), back in eval mode, so a frozen backbone computes what it computed
    before (no dropout, no statistics updated) and its features can be computed once."""
    learning = False
    for module in model.modules():
        if next(module.children(), None) is not None:
            continue
        own = list(module.parameters(recurse=False))
        learning = learning or any(p.requires_grad for p in own)
        if not learning or (own and not any(p.requires_grad for p in own)):
            module.eval()


def frozen_prefix(model: nn.Module) -> int:
    """For a ``Sequential`` whose first layers are all frozen (and hold weights): the index of its first child
    that learns, so that ``model[:i]`` can be computed once; 0 when there is no such part."""
    if not isinstance(model, nn.Sequential):
        return 0
    weights = 0
    for i, child in enumerate(model.children()):
        params = list(child.parameters())
        if any(p.requires_grad for p in params):
            return i if weights else 0
        weights += len(params)
    return 0
