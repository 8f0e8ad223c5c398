"""The guide's architectures as data: when, by whom, which builders, which libraries.

Only language-neutral facts live here; what an architecture means in words is in
``locales/<lang>/guide.toml`` under ``arch.<key>``. A builder is a torchvision model name
(``torchvision.models.get_model``) or one of cnnkit's own networks (``cnnkit.nets.families.FAMILIES``).
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnkit.errors import CnnkitError, unknown_choice
from cnnkit.nets.families import FAMILIES


@dataclass(frozen=True)
class Architecture:
    key: str
    title: str
    year: int | None
    authors: str
    paper: str  # where it was introduced
    variants: dict[str, int | None]  # builder → year of its paper; the first one is the card's default
    libraries: dict[str, str]  # library → the name it has there, besides torchvision (derived from variants)

    @property
    def default(self) -> str:
        return next(iter(self.variants))


def is_cnnkit(builder: str) -> bool:
    """True for cnnkit's own networks (LeNet-5, the notes' ConvNet), False for torchvision's."""
    return builder in FAMILIES


_ARCHITECTURES = (
    Architecture(
        "lenet5",
        "LeNet-5",
        1998,
        "Yann LeCun, Léon Bottou, Yoshua Bengio, Patrick Haffner",
        "http://yann.lecun.com/exdb/publis/pdf/lecun-01a.pdf",
        {"lenet5": 1998},
        {},
    ),
    Architecture(
        "alexnet",
        "AlexNet",
        2012,
        "Alex Krizhevsky, Ilya Sutskever, Geoffrey Hinton",
        "https://papers.nips.cc/paper/4824-imagenet-classification-with-deep-convolutional-neural-networks",
        {"alexnet": 2012},
        {},
    ),
    Architecture(
        "vgg",
        "VGG-16/19",
        2014,
        "Karen Simonyan, Andrew Zisserman (Oxford Visual Geometry Group)",
        "https://arxiv.org/abs/1409.1556",
        dict.fromkeys(("vgg16", "vgg19", "vgg11", "vgg13", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"), 2014),
        {"Keras": "keras.applications.VGG16, VGG19", "timm": "vgg16, vgg19"},
    ),
    Architecture(
        "inception",
        "GoogLeNet / Inception",
        2014,
        "Christian Szegedy et al. (Google)",
        "https://arxiv.org/abs/1409.4842",
        {"googlenet": 2014, "inception_v3": 2015},
        {
            "Keras": "keras.applications.InceptionV3, InceptionResNetV2",
            "timm": "inception_v3, inception_v4, inception_resnet_v2",
            "TF Hub": "imagenet/inception_v3",
        },
    ),
    Architecture(
        "resnet",
        "ResNet",
        2015,
        "Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun (Microsoft Research)",
        "https://arxiv.org/abs/1512.03385",
        {
            **dict.fromkeys(("resnet50", "resnet18", "resnet34", "resnet101", "resnet152"), 2015),
            **dict.fromkeys(
                ("wide_resnet50_2", "wide_resnet101_2", "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d"), 2016
            ),
        },
        {
            "Keras": "keras.applications.ResNet50, ResNet101, ResNet152 (+ V2)",
            "timm": "resnet18 … resnet152",
            "TF Hub": "imagenet/resnet_v2_50",
        },
    ),
    Architecture(
        "densenet",
        "DenseNet",
        2016,
        "Gao Huang, Zhuang Liu, Laurens van der Maaten, Kilian Q. Weinberger",
        "https://arxiv.org/abs/1608.06993",
        dict.fromkeys(("densenet121", "densenet169", "densenet201", "densenet161"), 2016),
        {"Keras": "keras.applications.DenseNet121, DenseNet169, DenseNet201", "timm": "densenet121"},
    ),
    Architecture(
        "squeezenet",
        "SqueezeNet",
        2016,
        "Forrest Iandola et al. (DeepScale, UC Berkeley, Stanford)",
        "https://arxiv.org/abs/1602.07360",
        dict.fromkeys(("squeezenet1_0", "squeezenet1_1"), 2016),
        {},
    ),
    Architecture(
        "mobilenet",
        "MobileNet V1/V2/V3",
        2017,
        "Andrew G. Howard, Mark Sandler et al. (Google)",
        "https://arxiv.org/abs/1704.04861",
        {"mobilenet_v3_large": 2019, "mobilenet_v3_small": 2019, "mobilenet_v2": 2018},
        {
            "Keras": "keras.applications.MobileNet, MobileNetV2, MobileNetV3Large, MobileNetV3Small",
            "timm": "mobilenetv1_100, mobilenetv2_100, mobilenetv3_large_100",
            "TF Hub": "imagenet/mobilenet_v2_100_224, imagenet/mobilenet_v3_large_100_224",
        },
    ),
    Architecture(
        "shufflenet",
        "ShuffleNet",
        2017,
        "Xiangyu Zhang, Xinyu Zhou, Mengxiao Lin, Jian Sun; V2: Ningning Ma et al. (Megvii)",
        "https://arxiv.org/abs/1707.01083",
        dict.fromkeys(("shufflenet_v2_x1_0", "shufflenet_v2_x0_5", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"), 2018),
        {},
    ),
    Architecture(
        "efficientnet",
        "EfficientNet",
        2019,
        "Mingxing Tan, Quoc V. Le (Google)",
        "https://arxiv.org/abs/1905.11946",
        {
            **{f"efficientnet_b{i}": 2019 for i in range(8)},
            **dict.fromkeys(("efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l"), 2021),
        },
        {
            "Keras": "keras.applications.EfficientNetB0 … B7, EfficientNetV2S/M/L",
            "timm": "efficientnet_b0, tf_efficientnet_b7",
            "TF Hub": "tensorflow/efficientnet/b0 … b7",
        },
    ),
    Architecture(
        "convnext",
        "ConvNeXt",
        2022,
        "Zhuang Liu, Hanzi Mao, Chao-Yuan Wu, Christoph Feichtenhofer, Trevor Darrell, "
        "Saining Xie (Meta AI, UC Berkeley)",
        "https://arxiv.org/abs/2201.03545",
        dict.fromkeys(("convnext_tiny", "convnext_small", "convnext_base", "convnext_large"), 2022),
        {"Keras": "keras.applications.ConvNeXtTiny … ConvNeXtXLarge", "timm": "convnext_tiny … convnext_xxlarge"},
    ),
    Architecture("convnet", "ConvNet", None, "", "", {"convnet": None}, {}),
)
ARCHITECTURES: dict[str, Architecture] = {a.key: a for a in _ARCHITECTURES}
_BY_BUILDER = {builder: a for a in _ARCHITECTURES for builder in a.variants}


FIRST_ARCHITECTURE = "resnet"  # the card the guide opens with


def architecture(key: str) -> Architecture:
    try:
        return ARCHITECTURES[key]
    except KeyError:
        raise unknown_choice("architecture", key, ARCHITECTURES) from None


def architecture_of(builder: str) -> Architecture:
    """The card a builder (e.g. ``resnet50``) belongs to."""
    try:
        return _BY_BUILDER[builder]
    except KeyError:
        raise CnnkitError("errors.not_in_guide", builder=builder, choices=", ".join(_BY_BUILDER)) from None


def builders() -> list[str]:
    """Every builder of every card, cards in guide order."""
    return list(_BY_BUILDER)


@dataclass(frozen=True)
class Pick:
    """One answer of "how to choose": a builder with a card, or a model found elsewhere (``where``)."""

    label: str
    builder: str | None = None
    where: str = ""


# Goal → picks; the goal's name and why these fit are in guide.toml under ``choose.<goal>``.
CHOICES: dict[str, tuple[Pick, ...]] = {
    "accuracy": (
        Pick("ResNet-50", "resnet50"),
        Pick("DenseNet-121", "densenet121"),
        Pick("EfficientNet-B4", "efficientnet_b4"),
    ),
    "speed": (
        Pick("MobileNetV3", "mobilenet_v3_large"),
        Pick("ShuffleNet V2", "shufflenet_v2_x1_0"),
        Pick("EfficientNet-B0", "efficientnet_b0"),
    ),
    "segmentation": (
        Pick("DeepLabv3", where="torchvision.models.segmentation"),
        Pick("U-Net", where="segmentation-models-pytorch"),
    ),
    "detection": (
        Pick("YOLOv8", where="ultralytics"),
        Pick("Faster R-CNN", where="torchvision.models.detection"),
        Pick("RetinaNet", where="torchvision.models.detection"),
    ),
    "transfer": (Pick("VGG-16", "vgg16"), Pick("ResNet-50", "resnet50"), Pick("EfficientNet", "efficientnet_b0")),
    "mobile": (
        Pick("SqueezeNet", "squeezenet1_1"),
        Pick("MobileNet", "mobilenet_v3_small"),
        Pick("ShuffleNet", "shufflenet_v2_x0_5"),
    ),
}
