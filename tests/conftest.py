"""Shared fixtures: the offline data folder when it is there, small IDX data the tests write themselves when
it is not, a running app for browser tests, the training page. Helpers that are not fixtures are in
``tests/support``."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest

from cnnkit.data.datasets import Dataset, is_idx_folder, load_dataset, subset
from cnnkit.devtools.appserver import running_app
from cnnkit.devtools.browser import chromium, missing, wait_for_app
from cnnkit.nets.builder import ModelConfig
from cnnkit.nets.layers import parse_spec
from cnnkit.train.loop import EpochStats, TrainConfig
from cnnkit.train.runner import Runner
from cnnkit.train.store import RunStore
from tests.support import ROOT
from tests.support.drawing import write_digit_idx
from tests.support.pages import open_page

SHARED_DATA = Path(os.environ.get("CNNKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def pytest_configure(config):
    # Nothing a test starts downloads a dataset: torchvision would create folders (e.g. MNIST/raw) in
    # whatever data folder it was given, the shared one included. Child processes (the CLI, the app) inherit it.
    os.environ["CNNKIT_OFFLINE"] = "1"
    # Hypothesis keeps its examples and constants in ./.hypothesis unless told otherwise: in a temporary folder.
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(tempfile.mkdtemp(prefix="cnnkit-hypothesis-"))


def real_data(folder: str) -> Path | None:
    """The real dataset's folder under the shared data folder when its four IDX files are there, else None."""
    path = SHARED_DATA / folder
    return path if is_idx_folder(path) else None


def _need(folder: str) -> Path:
    path = real_data(folder)
    if path is None:
        pytest.skip(
            f"the real data's IDX files are not in {SHARED_DATA / folder} (set CNNKIT_SHARED_DATA to "
            "run this test on the real data)"
        )
    return path


@pytest.fixture(scope="session", autouse=True)
def runs_dir_of_the_session(tmp_path_factory) -> Path:
    """Runs that tests record (CLI, pages, benchmarks) go to a temporary run store, never to ./runs."""
    folder = tmp_path_factory.mktemp("runs")
    os.environ["CNNKIT_RUNS_DIR"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def shipped():
    """The shipped model (cnnkit/nets/shipped/mnist_convnet.pt), or a skip that says it is absent."""
    from cnnkit.infer.predict import load_model
    from cnnkit.nets.checkpoints import DEFAULT_CHECKPOINT

    if not DEFAULT_CHECKPOINT.is_file():
        pytest.skip(f"the shipped model {DEFAULT_CHECKPOINT} is absent")
    return load_model()


@pytest.fixture(scope="session")
def mnist5k() -> Path:
    """The real MNIST (5,000 training images, the official 10,000 test images): for accuracy thresholds."""
    return _need("mnist-5k")


@pytest.fixture(scope="session")
def fashion() -> Path:
    return _need("fashion-mnist")


@pytest.fixture(scope="session")
def digits(tmp_path_factory) -> Path:
    """An IDX folder of 1,200 training and 400 test digits the tests draw (custom IDX data): a small network
    learns them well above chance in one epoch. The engine's mechanics are tested on it, with or without the
    real data."""
    return write_digit_idx(tmp_path_factory.mktemp("data") / "digits")


@pytest.fixture(scope="session")
def digits_data(digits) -> Dataset:
    return load_dataset("mnist", digits, download=False)


@pytest.fixture(scope="session")
def small_digits(digits_data) -> Dataset:
    """400 training and 200 test images of the drawn digits, drawn at random."""
    return Dataset(
        digits_data.info, subset(digits_data.train, 400), subset(digits_data.test, 200), "digits, a random 400/200"
    )


@pytest.fixture
def tiny_idx(tmp_path) -> Path:
    """A folder with the four IDX files of a tiny random dataset (gzipped), 60 train / 20 test."""
    from cnnkit.data.idx import write_idx

    rng = np.random.default_rng(0)
    for prefix, n in (("train", 60), ("t10k", 20)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    return tmp_path


@pytest.fixture
def as_official(monkeypatch):
    """``as_official(name, folder)``: the test set in ``folder`` is recognised as the official test set of the
    dataset ``name`` (by its checksums), for the test's duration: identification without the real data."""
    from dataclasses import replace

    from cnnkit.data.datasets import DATASETS, read_idx_split
    from cnnkit.data.idx import idx_sha256

    def patch(name: str, folder: Path) -> None:
        test = read_idx_split(folder, "test")
        digests = (idx_sha256(test.images.numpy()), idx_sha256(test.labels.numpy()))
        monkeypatch.setitem(DATASETS, name, replace(DATASETS[name], test_sha256=digests))

    return patch


@pytest.fixture
def runs_dir(tmp_path, monkeypatch) -> Path:
    """A run store of the test's own; the app's jobs of the test end with it."""
    from pages.ui import job_manager

    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(tmp_path / "runs"))
    yield tmp_path / "runs"
    job_manager().stop_all(60)


@pytest.fixture(scope="session")
def page_digits(tmp_path_factory, digits_data) -> Path:
    """An IDX folder (plain files) of 400 training and 200 test images of the drawn digits, for the pages."""
    from cnnkit.data.idx import write_idx

    folder = tmp_path_factory.mktemp("page-digits")
    for prefix, split in (("train", subset(digits_data.train, 400)), ("t10k", subset(digits_data.test, 200))):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", split.images.numpy())
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", split.labels.numpy().astype("uint8"))
    return folder


@pytest.fixture
def train_at(page_digits, runs_dir, monkeypatch):
    """The training page (AppTest), with the data folder set to 400/200 drawn digits and a run store of its own."""
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(page_digits))
    return open_page("pages/train.py")


@pytest.fixture(scope="session")
def app_data(digits) -> Path:
    """The data folder of the browser tests' app: the real MNIST if it is there, else the drawn digits."""
    return real_data("mnist-5k") or digits


@pytest.fixture(scope="session")
def app_url(app_data, tmp_path_factory):
    """Start ``streamlit run app.py`` headless on loopback once per test session (its output in the session's
    temporary folder: app/streamlit-browser.log)."""
    with (
        open(tmp_path_factory.mktemp("app") / "streamlit-browser.log", "w") as log,
        running_app(app_data, timeout=120, log=log) as url,
    ):
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


ANOTHER_SESSION = "another-session-0123456789abcdef"


@pytest.fixture(scope="session")
def kept_runs(tmp_path_factory, page_digits) -> Path:
    """A run store as a class finds it: three finished runs, one of another session still training, and one the
    machine's user stopped after its first epoch (which the page offers to continue)."""
    root = tmp_path_factory.mktemp("crawled-runs")
    store = RunStore(root)
    dataset = load_dataset(None, page_digits, download=False)
    models = (
        ModelConfig(),
        ModelConfig(batchnorm=True, dropout=0.25),
        ModelConfig(layers=parse_spec("conv(8,3,padding=1) relu maxpool(2) flatten linear")),
    )
    for model in models:
        config = TrainConfig(
            dataset=dataset.info.name,
            data_dir=str(page_digits),
            model=model,
            train_subset=300,
            batch_size=32,
            whiten=model.batchnorm,  # run 2 starts from a whitened first layer, as the Fast recipe does
            device="cpu",
        )
        Runner(store, config, dataset, source="cli").train()
    store.create(
        TrainConfig(dataset=dataset.info.name, data_dir=str(page_digits), epochs=5),
        owner=ANOTHER_SESSION,
        source="page",
        status="running",
        train_images=400,
        test_images=200,
        dataset=dataset.info.recorded,
    )
    stop = threading.Event()
    stopped = TrainConfig(
        dataset=dataset.info.name, data_dir=str(page_digits), train_subset=300, epochs=3, device="cpu"
    )
    Runner(store, stopped, dataset, source="cli").train(
        callback=lambda event: isinstance(event, EpochStats) and stop.set(), stop=stop
    )
    return root
