"""What was left English in Russian: the charts' numbers (76,6 %, not 76.6%), the offline hint that named
the server's environment variable, and Fashion-MNIST's class names."""

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cnnkit.data.datasets import DATASETS, class_names
from cnnkit.i18n import text
from cnnkit.infer.charts import probability_bars, top_bars
from cnnkit.nets.checkpoints import save_checkpoint, to_bytes
from cnnkit.train.charts import epoch_figure, per_class_figure, runs_bars_figure
from cnnkit.train.evaluation import Evaluation
from cnnkit.train.loop import EpochStats, TrainConfig
from cnnkit.train.store import RunStore
from tests.support import ROOT
from tests.support.drawing import SEVEN
from tests.support.models import epoch_stats, random_checkpoint
from tests.support.pages import draw_page, open_page, texts, upload


def epoch(accuracy: float) -> EpochStats:
    return epoch_stats(accuracy=accuracy, seconds=12.5)


@pytest.fixture
def runs(tmp_path):
    store = RunStore(tmp_path)
    for accuracy in (0.766, 0.912):
        run_id = store.create(TrainConfig())
        store.add_epoch(run_id, epoch(accuracy), 1.0)
        store.finish(run_id, "finished")
        store.update(run_id, parameters=421_642)
    return store.list()


@pytest.mark.parametrize("lang, sign, separators", [("en", "%", ".,"), ("ru", "\u00a0%", ",\u00a0")])
def test_the_charts_write_percentages_and_numbers_as_the_language_does(runs, lang, sign, separators):
    ev = Evaluation(0.9, 0.3, [0.9] * 10, [[0] * 10] * 10, [], [], [])
    figures = {
        "runs": runs_bars_figure(runs, lang),
        "epochs": epoch_figure([epoch(0.766)], "accuracy", 1, lang),
        "per class": per_class_figure(ev, [str(d) for d in range(10)], lang),
        "answer": probability_bars([str(d) for d in range(10)], np.eye(10)[3], lang=lang),
        "photo": top_bars(["cat", "dog"], [0.766, 0.2], lang=lang),
    }
    for name, fig in figures.items():
        assert fig.layout.separators == separators, name
        axis = fig.layout.xaxis if name == "photo" else fig.layout.yaxis
        if axis.ticktext:  # ticks written out (an accuracy axis, as precise as its span needs): 76,6 % in Russian
            other = "," if separators[0] == "." else "."
            assert all(t.endswith(sign) and separators[0] in t and other not in t for t in axis.ticktext), name
        else:
            assert axis.ticksuffix == sign and axis.tickformat.endswith("f"), name
    accuracy = figures["runs"].data[0]
    assert list(accuracy.y) == pytest.approx([91.2, 76.6]) and accuracy.hovertemplate.endswith(
        f"}}{sign}<extra></extra>"
    )
    assert figures["answer"].data[0].text[3] == f"100{sign}"


def test_offline_the_training_page_names_no_server_setting_or_folder(tmp_path, monkeypatch):
    import torchvision.datasets

    class Offline:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("Error downloading train-images-idx3-ubyte.gz: <urlopen error no network>")

    monkeypatch.setattr(torchvision.datasets, "MNIST", Offline)
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(tmp_path / "runs"))
    for lang in ("en", "ru"):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.session_state["lang"] = lang
        at.run()
        at.switch_page("pages/train.py")
        at.session_state["lang"] = lang
        at.run()
        shown = " ".join(e.value for kind in (at.error, at.info, at.warning, at.markdown, at.caption) for e in kind)
        assert at.error and at.info  # the data is missing, and what to do about it
        for secret in ("CNNKIT_DATA_DIR", "--data-dir", str(tmp_path)):
            assert secret not in shown, (lang, secret)


def test_fashion_classes_are_named_in_russian_and_the_learners_own_as_they_named_them():
    fashion = DATASETS["fashion-mnist"].classes
    russian = class_names(fashion, "ru")
    assert len(set(russian)) == len(fashion) and not set(russian) & set(fashion)  # each one translated, none twice
    assert all(any("а" <= ch <= "я" for ch in name.lower()) for name in russian)
    assert class_names(fashion, "en") == list(fashion)
    assert class_names(DATASETS["mnist"].classes, "ru") == list("0123456789")
    assert class_names(["Bag", "Coat"], "ru") == ["Bag", "Coat"]  # a class folder's names are the learner's words


def test_a_fashion_model_answers_in_russian_on_the_russian_drawing_page(shipped):
    at = draw_page("ru")
    at.selectbox(key="draw_model").set_value("upload").run()
    upload(at, "fashion.pt", to_bytes(random_checkpoint(dataset="fashion-mnist")), key="draw_model_file")
    russian = class_names(DATASETS["fashion-mnist"].classes, "ru")
    assert "Ботильоны" in texts(at.markdown) and "Ankle boot" not in texts(at.markdown)  # the model's card
    at.segmented_control(key="draw_mode").set_value("upload").run()
    upload(at, "seven.png", SEVEN)
    assert at.metric[0].value in russian
    bars = next(c for c in at.get("plotly_chart") if c.proto.id.endswith("draw_probs"))
    assert json.loads(bars.proto.spec)["data"][0]["x"] == russian
    assert "Trouser" not in texts(at.info) and "Брюки" in texts(at.info)


def test_a_run_the_cli_named_in_english_is_named_in_russian_on_the_russian_pages(tmp_path, monkeypatch, shipped):
    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(tmp_path))
    store = RunStore(tmp_path)
    for name in ("", "урок 3"):  # named by the store (as `cnnkit train` does), then by the teacher
        run_id = store.create(TrainConfig(lr=0.003), name=name)
        save_checkpoint(random_checkpoint(), store.folder(run_id) / "best.pt")
        store.add_epoch(run_id, epoch_stats(accuracy=0.9), 1.0)
        store.finish(run_id, "finished")
    at = open_page("pages/train.py", "ru")
    runs = at.dataframe[-1].value
    assert list(runs[text("runs.cols.name", "ru")]) == ["урок 3", "#1 ConvNet · Adam 0,003"]
    at.switch_page("pages/draw.py").run()
    assert at.selectbox(key="draw_model").format_func("run:1").startswith("Запуск 1: #1 ConvNet · Adam 0,003")
