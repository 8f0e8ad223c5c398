"""What was left English in Russian: the charts' numbers (76,6 %, not 76.6%) and the offline hint that named
the server's environment variable."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cnnkit.infer.charts import probability_bars, top_bars
from cnnkit.train.charts import epoch_figure, per_class_figure, runs_bars_figure
from cnnkit.train.evaluation import Evaluation
from cnnkit.train.loop import EpochStats, TrainConfig
from cnnkit.train.store import RunStore
from tests.support import ROOT
from tests.support.models import epoch_stats


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
