"""What a page shows, read from AppTest's element tree: every visible string (texts, labels, options, help,
metrics, table cells as shown, chart titles and ticks), and the Latin words among them that a Russian page should
not have."""

from __future__ import annotations

import json
import re
from functools import cache

import pyarrow as pa
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest

from cnnkit.devices import list_devices
from cnnkit.guide.meta import shared_model
from cnnkit.guide.registry import ARCHITECTURES, builders

# Names, abbreviations and code words a Russian text keeps in Latin letters.
ALLOWED = {
    "english",  # the language switch names each language in its own words
    "bias",
    "dilation",  # PyTorch's own names, given in brackets beside the Russian terms
    "mnist",
    "fashion",
    "imagenet",
    "idx",
    "pytorch",
    "torch",
    "torchvision",
    "python",
    "streamlit",
    "plotly",
    "jupyter",
    "airbench",  # Keller Jordan's training speedrun, named where its whitened first layer is offered
    "cnnkit",
    "relu",
    "gelu",
    "silu",
    "tanh",
    "sigmoid",
    "softmax",
    "swish",
    "hardswish",
    "leaky",
    "batchnorm",
    "dropout",
    "adam",
    "adamw",
    "sgd",
    "rmsprop",
    "cuda",
    "gpu",
    "cpu",
    "mps",
    "apple",
    "metal",
    "nvidia",
    "amd",
    "intel",
    "png",
    "jpeg",
    "jpg",
    "bmp",
    "webp",
    "gif",
    "tiff",
    "exif",
    "rgb",
    "rgba",
    "gzip",
    "zip",
    "pt",
    "pth",
    "safetensors",
    "top",
    "flops",
    "gflops",
    "macs",
    "gmacs",
    "k",
    "m",
    "s",
    "p",
    "d",
    "n",
    "x",
    "px",
    "lenet",
    "convnet",
    "alexnet",
    "vgg",
    "googlenet",
    "inception",
    "resnet",
    "resnext",
    "densenet",
    "squeezenet",
    "mobilenet",
    "efficientnet",
    "shufflenet",
    "convnext",
    "regnet",
    "wide",
    "conv",
    "fc",
    "linear",
    "avgpool",
    "maxpool",
    "sequential",
    "fire",
    "se",
    "nan",
    "bf16",
    "fp32",
    "ddp",
    "nccl",
    "gloo",
    "grad",
    "cam",
    "lr",
    "hub",
    "keras",
    "timm",
    "tf",
    "meta",
    "flop",
    "gflop",
    "mac",
    "cnn",
    "gan",
    "yolo",
    "u-net",
    "r-cnn",
    "faster",
    "mask",
    "retinanet",
    "deeplab",
    "cifar",
    "ilsvrc",
    "one-cycle",
    # the English term beside its Russian name, as the guide teaches it: «Шаг (stride)»
    "stride",
    "padding",
    "max",
    "avg",
    "autograd",
    "log-softmax",
}


@cache
def _allowed_words() -> frozenset[str]:
    """``ALLOWED``, the names of the guide (models, authors, libraries), devices, torch's layer classes and the
    layers of a pretrained network on the training page (``prep``, ``backbone``, ``head``)."""
    import torch.nn
    import torchvision.models

    from cnnkit.nets import transfer

    classes = [
        name for module in (torch.nn, *vars(torchvision.models).values()) for name in dir(module) if name[:1].isupper()
    ]
    classes += [name for name in dir(transfer) if name[:1].isupper()]
    sources = [*builders(), *classes, *(d.name for d in list_devices())]
    with torch.device("meta"):
        sources += [name for name, _ in transfer.build_transfer("squeezenet1_1", 2, 1, False).named_children()]
    for a in ARCHITECTURES.values():
        sources += [a.title, a.authors, *a.libraries, *a.libraries.values()]
    sources += [name for builder in builders() for name, _ in shared_model(builder).named_modules()]  # layer names
    return frozenset(ALLOWED | {w.lower() for source in sources for w in re.findall(r"[A-Za-z]+", source)})


def _prose(value: str) -> str:
    """A text without what is code or a name by nature: `code`, $math$, links, paths, identifiers, format fields,
    file names with numbers, names with inner capitals (ResNet, CVPR, arXiv), and the English original given
    beside a Russian term or title: «Шаг (stride)», «One weird trick…»."""
    value = re.sub(
        r"```.*?```|`[^`]*`|\$\$?[^$]*\$\$?|https?://\S+|\]\([^)]*\)|%\{[^}]*\}|<[^>]+>", " ", value, flags=re.S
    )
    value = re.sub(r"\([^()А-Яа-яЁё]*\)|«[^«»А-Яа-яЁё]*»", " ", value)
    value = re.sub(r"\b[A-Za-z]+[A-Z][\w-]*", " ", value)
    return re.sub(r"\S*[/\\_.:=]\S*[A-Za-z]\S*|\S*[A-Za-z]\S*[/\\_:=]\S*|\S*\d\S*", " ", value)


def _strings(node, out: list[str]) -> None:
    if isinstance(node, str) and re.fullmatch(r"[A-Z_]+", node):  # a proto enum: HORIZONTAL, STRETCH
        return
    if isinstance(node, str):
        if node.lstrip().startswith("{"):  # a Plotly figure: its titles, axis titles, names, texts
            try:
                _strings(_figure_texts(json.loads(node)), out)
            except ValueError:
                out.append(node)
        else:
            out.append(node)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key not in (
                "id",
                "formId",
                "key",
                "type",
                "icon",
                "format",
                "url",
                "src",
                "language",
                "config",
                "theme",
                "useContainerWidth",
                "selectionMode",
                "elementType",
                "page",
                "pageScriptHash",
            ):
                _strings(value, out)
    elif isinstance(node, list):
        for value in node:
            _strings(value, out)


def _figure_texts(spec: dict) -> list:
    layout = spec.get("layout", {})
    found = [
        layout.get("title"),
        [layout.get(k, {}).get("title") for k in layout if "axis" in k],
        [layout.get(k, {}).get("ticktext") for k in layout if "axis" in k],
        [a.get("text") for a in layout.get("annotations", [])],
        layout.get("legend", {}).get("title"),
    ]
    for trace in spec.get("data", []):
        found += [trace.get("name"), trace.get("text"), trace.get("hovertemplate")]
    return [f for f in found if f]


def visible_texts(at: AppTest) -> list[str]:
    """The strings of every element on the page: texts, labels, options, help, metrics, tables, charts."""
    out: list[str] = []

    def walk(node) -> None:
        kind = getattr(node, "type", "")
        if kind in ("code", "latex", "json", "exception", "bidi_component"):  # a component: its files and arguments
            return
        if kind in ("arrow_data_frame", "dataframe"):  # the cells as shown: the Styler's texts where there is one
            shown = node.proto.arrow_data.styler.display_values
            frame = pa.ipc.open_stream(shown).read_all().to_pandas() if shown else node.value
            out.extend(map(str, node.value.columns))
            out.extend(str(v) for col in frame.columns for v in frame[col] if isinstance(v, str))
            return
        proto = getattr(node, "proto", None)
        if proto is not None and kind not in ("block",):
            _strings(MessageToDict(proto), out)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return out


def english_words(at: AppTest, names: frozenset[str] = frozenset()) -> set[str]:
    """The Latin words of the page's prose beyond the allowed ones and ``names`` (the users' own words, such as
    their runs' names, in lower case)."""
    allowed = _allowed_words() | names
    words = set()
    for value in visible_texts(at):
        words |= {
            w
            for w in re.findall(r"[A-Za-z][A-Za-z'-]*", _prose(value))
            if len(w) > 1 and not _allowed(w.lower().strip("-'"), allowed)
        }  # single letters: variables
    return words


def _allowed(word: str, allowed: set[str]) -> bool:
    return word in allowed or all(part in allowed or len(part) < 2 for part in word.split("-"))
