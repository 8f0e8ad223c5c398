"""Shared fixtures: the offline data folder, a running app for browser tests, tiny IDX folders."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from cnnkit.devtools.appserver import running_app
from cnnkit.devtools.browser import chromium, missing, wait_for_app

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CNNKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def _need(folder: str) -> Path:
    path = SHARED_DATA / folder
    if not path.is_dir():
        pytest.skip(f"real data folder {path} is absent (set CNNKIT_SHARED_DATA to run this test)")
    return path


@pytest.fixture(scope="session", autouse=True)
def runs_dir_of_the_session(tmp_path_factory) -> Path:
    """Runs that tests record (CLI, pages, benchmarks) go to a temporary run store, never to ./runs."""
    folder = tmp_path_factory.mktemp("runs")
    os.environ["CNNKIT_RUNS_DIR"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def mnist5k() -> Path:
    return _need("mnist-5k")


@pytest.fixture(scope="session")
def fashion() -> Path:
    return _need("fashion-mnist")


@pytest.fixture
def tiny_idx(tmp_path) -> Path:
    """A folder with the four IDX files of a tiny random dataset (gzipped), 60 train / 20 test."""
    from cnnkit.data.idx import write_idx

    rng = np.random.default_rng(0)
    for prefix, n in (("train", 60), ("t10k", 20)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    return tmp_path


@pytest.fixture(scope="session")
def app_url():
    """Start ``streamlit run app.py`` headless on loopback once per test session."""
    log = open(ROOT / ".pytest_cache" / "streamlit-browser.log", "w") if (ROOT / ".pytest_cache").is_dir() \
        else subprocess.DEVNULL
    with running_app(SHARED_DATA / "mnist-5k", timeout=120, log=log) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium, or a skip that says what is missing."""
    reason = missing()
    if reason:
        pytest.skip(reason)
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser, app_url):
    """A fresh browser tab (its own Streamlit session) on the app's home page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.goto(app_url)
    wait_for_app(tab)
    yield tab
    context.close()
