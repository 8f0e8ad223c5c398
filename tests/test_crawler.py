"""Every control of every page, operated once in each language (tests/support/crawler.py): no exception, no
message key, no "None"/"nan", no English in Russian, no step over 10 s. The app starts with a run store of three
finished runs (two of the notes' ConvNet, one built layer by layer), a run of another session still going and
one stopped after its first epoch, which the page offers to continue (``kept_runs`` in conftest.py)."""

from __future__ import annotations

import re
import shutil

import pytest

from cnnkit.i18n import LANGUAGES
from cnnkit.train.store import RunStore
from tests.support.crawler import Crawl, app_pages


@pytest.fixture
def crawl_env(kept_runs, page_digits, tmp_path, monkeypatch) -> RunStore:
    """A copy of the kept runs (the crawl renames and deletes), the page data; the crawl's jobs end with it."""
    from pages.ui import job_manager

    shutil.copytree(kept_runs, tmp_path / "runs")
    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(page_digits))
    yield RunStore(tmp_path / "runs")
    job_manager().stop_all(60)


@pytest.mark.slow
@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_every_control_of_every_page(lang, crawl_env):
    names = frozenset(w.lower() for run in crawl_env.list() for w in re.findall(r"[A-Za-z]+", run.name))
    crawl = Crawl(lang=lang, names=names)
    pages = app_pages()
    for path in pages:
        crawl.page(path)
    report(crawl)
    assert not crawl.problems, "\n".join(crawl.findings())
    assert {"pages/home.py", "pages/guide.py", "pages/train.py", "pages/draw.py"} <= set(pages)
    operated = {step.kind for step in crawl.steps}  # what the pages hold today, read from the pages themselves
    assert {
        "button",
        "toggle",
        "checkbox",
        "selectbox",
        "radio",
        "button_group",
        "multiselect",
        "select_slider",
        "slider",
        "number_input",
        "text_input",
        "text_area",
        "file_uploader",
        "camera_input",
        "tab_container",
        "dataframe",
    } <= operated
    pretrained = {"train_backbone", "train_weights", "train_freeze", "train_unfreeze", "train_weights_file"}
    assert pretrained <= crawl.controls["pages/train.py"]  # the pretrained network's controls, revealed by its mode
    assert {"picked_resume_#"} <= crawl.controls["pages/train.py"]  # Continue training, on the stopped run


def report(crawl: Crawl) -> None:
    """The inventory and its time, for the log (pytest -s)."""
    for path, controls in crawl.controls.items():
        steps = [s for s in crawl.steps if s.page == path]
        print(
            f"{crawl.lang} {path}: {len(controls)} controls, {len(steps)} steps, "
            f"{sum(s.seconds for s in steps):.1f} s, slowest {max(s.seconds for s in steps):.1f} s"
        )
