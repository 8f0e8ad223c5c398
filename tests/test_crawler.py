"""Every control of every page, operated once in each language (tests/support/crawler.py): no exception, no
message key, no "None"/"nan", no English in Russian, no step over 10 s. The app starts with a run store of three
finished runs (two of the notes' ConvNet, one built layer by layer) and a run of another session still going."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from cnnkit.data.datasets import load_dataset
from cnnkit.i18n import LANGUAGES
from cnnkit.nets.builder import ModelConfig
from cnnkit.nets.layers import parse_spec
from cnnkit.train.loop import TrainConfig
from cnnkit.train.store import RunStore, recorded_train
from tests.support.crawler import Crawl, app_pages

ANOTHER_SESSION = "another-session-0123456789abcdef"


@pytest.fixture(scope="module")
def kept_runs(tmp_path_factory, page_digits) -> Path:
    """A run store as a class finds it: three finished runs and one of another session, still training."""
    root = tmp_path_factory.mktemp("crawled-runs")
    store = RunStore(root)
    dataset = load_dataset(None, page_digits, download=False)
    models = (ModelConfig(), ModelConfig(batchnorm=True, dropout=0.25),
              ModelConfig(layers=parse_spec("conv(8,3,padding=1) relu maxpool(2) flatten linear")))
    for model in models:
        config = TrainConfig(dataset=dataset.info.name, data_dir=str(page_digits), model=model, train_subset=300,
                             batch_size=32, device="cpu")
        recorded_train(store, config, dataset, source="cli")
    store.create(TrainConfig(dataset=dataset.info.name, data_dir=str(page_digits), epochs=5), owner=ANOTHER_SESSION,
                 source="page", status="running", train_images=400, test_images=200, dataset=dataset.info.recorded)
    return root


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
    assert {"button", "toggle", "checkbox", "selectbox", "radio", "button_group", "multiselect", "select_slider",
            "slider", "number_input", "text_input", "text_area", "file_uploader", "tab_container",
            "dataframe"} <= operated


def report(crawl: Crawl) -> None:
    """The inventory and its time, for the log (pytest -s)."""
    for path, controls in crawl.controls.items():
        steps = [s for s in crawl.steps if s.page == path]
        print(f"{crawl.lang} {path}: {len(controls)} controls, {len(steps)} steps, "
              f"{sum(s.seconds for s in steps):.1f} s, slowest {max(s.seconds for s in steps):.1f} s")
