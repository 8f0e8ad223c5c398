"""General photos through a torchvision ImageNet classifier, offline: weights are only ever read from disk.

torchvision's weights enum gives the class names, the transforms and the download address; the file itself
is looked for in torch hub's cache (``torch.hub.get_dir()/checkpoints/<file>``, where torchvision puts it)
or taken from a file the user uploads or points to. Nothing here downloads. Weights are read with
``torch.load(weights_only=True)`` (or safetensors), so a file carrying pickled code is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torch import nn

from cnnkit.data.images import Note, open_rgb
from cnnkit.errors import CnnkitError, unknown_choice
from cnnkit.files import read_limited
from cnnkit.infer.uploads import IMAGENET_WEIGHTS_MB, SessionCache
from cnnkit.nets.checkpoints import read_state_dict
from cnnkit.nets.module_hooks import GLOBAL_HOOKS

MODELS = ("mobilenet_v3_large", "mobilenet_v3_small", "resnet18", "resnet50")


@dataclass(frozen=True)
class Weights:
    """Where a model's pretrained weights come from and where cnnkit looks for them."""

    model: str
    url: str
    size_mb: float
    accuracy: float  # ImageNet top-1, %, as torchvision reports it

    @property
    def hub_path(self) -> Path:
        return Path(torch.hub.get_dir()) / "checkpoints" / Path(self.url).name


def weights_for(model: str) -> Weights:
    if model not in MODELS:
        raise unknown_choice("imagenet_model", model, MODELS)
    w = torchvision.models.get_model_weights(model).DEFAULT
    return Weights(model, w.url, float(w.meta.get("_file_size", 0)), float(w.meta["_metrics"]["ImageNet-1K"]["acc@1"]))


def find_weights(model: str) -> Path | None:
    """The weights file in torch hub's cache, or None."""
    path = weights_for(model).hub_path
    return path if path.is_file() else None


def _read(source: bytes | Path, name: str) -> bytes:
    if isinstance(source, bytes):
        return source
    try:
        return read_limited(source, IMAGENET_WEIGHTS_MB * 2**20, name)
    except OSError as exc:
        raise CnnkitError("errors.file_unreadable", name=name, reason=exc.strerror or exc) from None


def _build(model: str, source: bytes | Path, name: str) -> nn.Module:
    state = read_state_dict(_read(source, name), name)
    net = torchvision.models.get_model(model, weights=None)
    try:
        missing, unexpected = net.load_state_dict(state, strict=False)
    except RuntimeError:  # the same names with other shapes
        missing, unexpected = ["(other shapes)"], []
    if missing or unexpected:
        raise CnnkitError(
            "errors.imagenet_wrong_weights", name=name, model=model, missing=len(missing), unexpected=len(unexpected)
        )
    return net.eval()


@lru_cache(maxsize=2)
def _from_file(model: str, path: str, mtime: float) -> nn.Module:
    return _build(model, Path(path), path)


def load_classifier(
    model: str, weights: bytes | str | Path | None = None, name: str = "", cache: SessionCache | None = None
) -> nn.Module:
    """The pretrained network, from uploaded bytes (kept in the session's ``cache``), a path, or the hub
    cache (once per process)."""
    weights_for(model)
    if isinstance(weights, bytes):
        name = name or "the weights file"

        def build(data: bytes, _key: str) -> nn.Module:
            return _build(model, data, name)

        return cache.get(weights, f"{model}:{name}", build) if cache else build(weights, name)
    path = Path(weights) if weights else find_weights(model)
    if path is None:
        w = weights_for(model)
        raise CnnkitError(
            "errors.imagenet_weights_missing", model=model, path=w.hub_path, url=w.url, size=round(w.size_mb)
        )
    if not path.is_file():
        raise CnnkitError("errors.not_a_file", path=path)
    return _from_file(model, str(path), path.stat().st_mtime)


@torch.inference_mode()
def top5(model: str, net: nn.Module, image: Image.Image) -> list[tuple[str, float]]:
    """The five most likely ImageNet classes of an RGB image, with their probabilities."""
    w = torchvision.models.get_model_weights(model).DEFAULT
    probs = net(w.transforms()(image).unsqueeze(0)).softmax(1)[0]
    values, indices = probs.topk(5)
    return [(w.meta["categories"][i], float(p)) for p, i in zip(values.tolist(), indices.tolist())]


def _body_and_head(net: nn.Module):
    """The network as its convolutional body (to the last feature maps) and the head after it, so that
    Grad-CAM takes gradients without hooks on a model other sessions share."""
    if hasattr(net, "features"):  # MobileNet
        return net.features, lambda a: net.classifier(torch.flatten(net.avgpool(a), 1))
    body = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3, net.layer4)
    return body, lambda a: net.fc(torch.flatten(net.avgpool(a), 1))


def photo_gradcam(model: str, net: nn.Module, image: Image.Image) -> tuple[np.ndarray, int]:
    """Grad-CAM of the top class on the last feature maps: an H×W map in [0, 1] over the network's input
    crop (224×224 after torchvision's resize and centre crop), and the class index."""
    w = torchvision.models.get_model_weights(model).DEFAULT
    x = w.transforms()(image).unsqueeze(0)
    body, head = _body_and_head(net)
    with GLOBAL_HOOKS, torch.enable_grad():
        maps = body(x)
        logits = head(maps)
        top = int(logits.argmax(1))
        (grad,) = torch.autograd.grad(logits[0, top], maps)
    cam = F.relu((grad.mean((2, 3), keepdim=True) * maps.detach()).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    return (cam / cam.max() if cam.max() > 0 else cam).numpy(), top


def input_crop(model: str, image: Image.Image) -> np.ndarray:
    """The photo as the network sees it (resized and centre-cropped), RGB in [0, 1], for an overlay."""
    x = torchvision.models.get_model_weights(model).DEFAULT.transforms()(image)
    mean, std = torch.tensor([0.485, 0.456, 0.406])[:, None, None], torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    return (x * std + mean).clamp(0, 1).permute(1, 2, 0).numpy()


@dataclass
class PhotoAnswer:
    top5: list[tuple[str, float]]  # (ImageNet class, probability), most likely first
    image: Image.Image  # the photo as the network got it (RGB, upright, first frame)
    notes: list[Note]  # what was done to read it
    gradcam: np.ndarray | None = None  # Grad-CAM of the top class over ``crop``
    crop: np.ndarray | None = None  # the network's input crop, RGB in [0, 1]


def classify_photo(
    model: str,
    source: bytes | str | Path,
    weights: bytes | str | Path | None = None,
    name: str | None = None,
    weights_name: str = "",
    cache: SessionCache | None = None,
) -> PhotoAnswer:
    """Top-5 ImageNet classes of a photo file (or bytes), with the photo, the notes from reading it and the
    Grad-CAM of the top class."""
    net = load_classifier(model, weights, weights_name, cache)
    image, notes = open_rgb(source, name)
    cam, _ = photo_gradcam(model, net, image)
    return PhotoAnswer(top5(model, net, image), image, notes, cam, input_crop(model, image))
