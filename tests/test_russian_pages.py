"""Every page and tab, walked with AppTest in both languages: in Russian no English word is left, beyond names
(MNIST, ReLU, PyTorch, the models), code and units; and an error a page shows is Russian and names no CLI flag."""

from __future__ import annotations

import os
import re

import pytest
from streamlit.testing.v1 import AppTest

from cnnkit.i18n import LANGUAGES, text
from cnnkit.train.store import RunStore
from pages.ui import job_manager
from tests.support import ROOT
from tests.support.texts import english_words


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
    yield (
        "the run picked on the runs tab, compared",
        rerun(at, lang, runs_table={"selection": {"rows": [0], "columns": []}}),
    )


def run_names() -> frozenset[str]:
    """The words of the stored runs' names: the users' own words (a default name is stored in English, such as
    "batch 60" for the tiny data's whole training set)."""
    runs = RunStore(os.environ["CNNKIT_RUNS_DIR"]).list()
    return frozenset(word.lower() for run in runs for word in re.findall(r"[A-Za-z][A-Za-z'-]*", run.name))


def check(walk, lang: str) -> None:
    seen = {}
    for where, at in walk:
        seen[where] = english_words(at, run_names())
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
