"""Every page and tab, walked with AppTest in both languages: in Russian no English word is left, beyond names
(MNIST, ReLU, PyTorch, the models), code and units; and an error a page shows is Russian and names no CLI flag."""
from __future__ import annotations

import json
import re

import pyarrow as pa
import pytest
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest

from cnnkit.devices import list_devices
from cnnkit.guide.registry import ARCHITECTURES, builders
from cnnkit.i18n import LANGUAGES, text
from pages.ui import job_manager
from tests.support import ROOT

# Names, abbreviations and code words a Russian text keeps in Latin letters.
ALLOWED = {
    "english",  # the language switch names each language in its own words
    "bias", "dilation",  # PyTorch's own names, given in brackets beside the Russian terms
    "mnist", "fashion", "imagenet", "idx", "pytorch", "torch", "torchvision", "python", "streamlit", "plotly",
    "jupyter", "cnnkit", "relu", "gelu", "silu", "tanh", "sigmoid", "softmax", "swish", "hardswish", "leaky",
    "batchnorm", "dropout", "adam", "adamw", "sgd", "rmsprop", "cuda", "gpu", "cpu", "mps", "apple", "metal",
    "nvidia", "amd", "intel", "png", "jpeg", "jpg", "bmp", "webp", "gif", "tiff", "exif", "rgb", "rgba", "gzip",
    "pt", "pth", "safetensors", "top", "flops", "gflops", "macs", "gmacs", "k", "m", "s", "p", "d", "n", "x",
    "px", "lenet", "convnet", "alexnet", "vgg", "googlenet", "inception", "resnet", "resnext", "densenet",
    "squeezenet", "mobilenet", "efficientnet", "shufflenet", "convnext", "regnet", "wide", "conv", "fc",
    "linear", "avgpool", "maxpool", "sequential", "fire", "se", "nan", "bf16", "fp32", "ddp", "nccl", "gloo",
    "grad", "cam", "lr", "hub", "keras", "timm", "tf", "meta", "flop", "gflop", "mac", "cnn", "gan", "yolo",
    "u-net", "r-cnn", "faster", "mask", "retinanet", "deeplab", "cifar", "ilsvrc", "one-cycle",
    # the English term beside its Russian name, as the guide teaches it: «Шаг (stride)»
    "stride", "padding", "max", "avg", "autograd", "log-softmax",
}


def _allowed_words() -> set[str]:
    """``ALLOWED``, the names of the guide (models, authors, libraries), devices and torch's layer classes."""
    import torch.nn
    import torchvision.models

    classes = [name for module in (torch.nn, *vars(torchvision.models).values()) for name in dir(module)
               if name[:1].isupper()]
    sources = [*builders(), *classes, *(d.name for d in list_devices())]
    for a in ARCHITECTURES.values():
        sources += [a.title, a.authors, *a.libraries, *a.libraries.values()]
    return set(ALLOWED) | {w.lower() for source in sources for w in re.findall(r"[A-Za-z]+", source)}


def _prose(value: str) -> str:
    """A text without what is code by nature: `code`, $math$, links, paths, identifiers, format fields."""
    value = re.sub(r"```.*?```|`[^`]*`|\$\$?[^$]*\$\$?|https?://\S+|\]\([^)]*\)|%\{[^}]*\}|<[^>]+>", " ", value,
                   flags=re.S)
    return re.sub(r"\S*[/\\_.:=]\S*[A-Za-z]\S*|\S*[A-Za-z]\S*[/\\_:=]\S*|\b\w*\d\w*\b", " ", value)


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
            if key not in ("id", "formId", "key", "type", "icon", "format", "url", "src", "language", "config",
                           "theme", "useContainerWidth", "selectionMode", "elementType", "page", "pageScriptHash"):
                _strings(value, out)
    elif isinstance(node, list):
        for value in node:
            _strings(value, out)


def _figure_texts(spec: dict) -> list:
    layout = spec.get("layout", {})
    found = [layout.get("title"), [layout.get(k, {}).get("title") for k in layout if "axis" in k],
             [layout.get(k, {}).get("ticktext") for k in layout if "axis" in k],
             [a.get("text") for a in layout.get("annotations", [])], layout.get("legend", {}).get("title")]
    for trace in spec.get("data", []):
        found += [trace.get("name"), trace.get("text"), trace.get("hovertemplate")]
    return [f for f in found if f]


def visible_texts(at: AppTest) -> list[str]:
    """The strings of every element on the page: texts, labels, options, help, metrics, tables, charts."""
    out: list[str] = []

    def walk(node) -> None:
        kind = getattr(node, "type", "")
        if kind in ("code", "latex", "json", "exception"):
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


def english_words(at: AppTest) -> set[str]:
    allowed = _allowed_words()
    words = set()
    for value in visible_texts(at):
        words |= {w for w in re.findall(r"[A-Za-z][A-Za-z'-]*", _prose(value))
                  if len(w) > 1 and not _allowed(w.lower().strip("-'"), allowed)}  # single letters: variables
    return words


def _allowed(word: str, allowed: set[str]) -> bool:
    return word in allowed or all(part in allowed or len(part) < 2 for part in word.split("-"))


def rerun(at: AppTest, lang: str, **state) -> AppTest:
    at.session_state["lang"] = lang  # AppTest drops the sidebar's radio after switch_page: set it every run
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def page(path: str, lang: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.radio(key="lang").set_value(lang).run()  # the sidebar's switch
    assert at.title[0].value == text("home.title", lang)
    if path != "pages/home.py":
        at.switch_page(path)
    return rerun(at, lang)


GUIDE = ("cards", "compare", "choose", "blocks", "transfer", "training")


def walk_guide(lang: str):
    at = page("pages/guide.py", lang)
    for section in GUIDE:
        yield section, rerun(at, lang, guide_tab=text(f"guide.tabs.{section}", lang))


def walk_draw(lang: str):
    at = page("pages/draw.py", lang)
    for mode in ("draw", "upload", "photo"):
        yield mode, rerun(at, lang, draw_mode=mode)


def walk_train(lang: str, data):
    at = page("pages/train.py", lang)
    yield "settings", at
    rerun(at, lang, train_autostart=True)  # as the Train button does (AppTest cannot click it after a switch)
    assert job_manager().job(int(at.session_state["train_run"])).join(120)
    yield "results, runs and devices", rerun(at, lang)
    yield "the run picked on the runs tab, compared", rerun(at, lang, runs_table={"selection": {"rows": [0], "columns": []}})


def check(walk, lang: str) -> None:
    seen = {}
    for where, at in walk:
        seen[where] = english_words(at)
        assert not at.exception, (where, at.exception)
    if lang == "ru":
        assert not {w: s for w, s in seen.items() if s}, "English words in the Russian pages"
    else:  # the same walk finds English words in English: what it collects is what the pages show
        assert all(len(words) > 3 for words in seen.values()), seen


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_home_page(lang):
    check([("home", page("pages/home.py", lang))], lang)


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_guide_sections(lang):
    check(walk_guide(lang), lang)


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_draw_modes(lang, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(tmp_path / "runs"))  # no stored runs: their names are the users'
    check(walk_draw(lang), lang)


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_training_page_before_and_after_a_run(lang, tiny_idx, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(tiny_idx))
    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(tmp_path / "runs"))
    try:
        check(walk_train(lang, tiny_idx), lang)
    finally:
        job_manager().stop_all(60)


def test_offline_with_an_empty_data_folder_the_training_page_says_so_in_russian(tmp_path, monkeypatch):
    import torchvision.datasets

    class Offline:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("Error downloading train-images-idx3-ubyte.gz: <urlopen error no network>")

    monkeypatch.setattr(torchvision.datasets, "MNIST", Offline)
    monkeypatch.delenv("CNNKIT_OFFLINE")  # the download is tried, and fails
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(tmp_path / "runs"))
    at = page("pages/train.py", "ru")
    (error,) = [e.value for e in at.error]
    assert error.startswith("MNIST не найден") and text("train.local", "ru") in error
    assert "--" not in error and "urlopen" not in error and str(tmp_path) not in error
    assert not english_words(at)
    rerun(at, "ru", train_dataset="local", train_folder=str(tmp_path))
    (error,) = [e.value for e in at.error]
    assert "нет четырёх файлов IDX" in error  # the folder the visitor typed, said in Russian
