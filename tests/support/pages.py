"""Helpers for AppTest of the pages: open one in a new session, read its texts, upload, and follow a
training run on the training page."""

from __future__ import annotations

import os
import time

from streamlit.testing.v1 import AppTest

from tests.support import ROOT


def open_page(path: str, lang: str | None = None, timeout: float = 120, **query) -> AppTest:
    """``path`` (e.g. ``pages/train.py``) in a new browser session of the app, in ``lang`` if given
    (``query``: the URL's parameters, as after a reload)."""
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    if lang:
        app.session_state["lang"] = lang
    app.query_params.update(query)
    app.run()
    app.switch_page(path).run()
    assert not app.exception
    return app


def draw_page(lang: str = "en") -> AppTest:
    """The Draw & predict page in a new browser session."""
    return open_page("pages/draw.py", lang, timeout=60)


def texts(elements) -> str:
    return " ".join(e.value for e in elements)


def upload(at: AppTest, name: str, data: bytes, key: str = "draw_upload") -> AppTest:
    at.file_uploader(key=key).set_value((name, data, "application/octet-stream")).run()
    assert not at.exception, at.exception
    return at


# The training page


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def start(at: AppTest, subset: int = 300) -> AppTest:
    at.select_slider(key="train_subset").set_value(subset)
    return at.button(key="train_start").click().run()


def run_of(at: AppTest) -> int:
    """The run the page shows: the one it started, or the one its URL names."""
    return int(at.session_state["train_run"] if "train_run" in at.session_state else at.query_params["run"][0])


def stored(at: AppTest):
    """The run this page shows, as the run store holds it."""
    from cnnkit.train.store import RunStore

    return RunStore(os.environ["CNNKIT_RUNS_DIR"]).get(run_of(at))


def wait_until(at: AppTest, done, timeout: float = 120) -> None:
    """Rerun the page, as the live fragment does, until ``done(the live snapshot)``."""
    from pages.ui import job_manager

    deadline = time.monotonic() + timeout
    while not done(job_manager().job(run_of(at)).snapshot()):
        assert time.monotonic() < deadline, "the run did not get there in time"
        time.sleep(0.2)
    at.run()
    assert not at.exception
