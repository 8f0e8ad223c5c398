"""The app's first page comes up without waiting for torch where torch could only find the CPU (its import takes
~2 s of the cold start; docs/speed.md has the measured cold start), nor for pandas (with pyarrow ~0.6 s)."""

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from cnnkit.devices import accelerator_possible, list_devices
from cnnkit.guide.totals import totals

APP = Path(__file__).resolve().parents[1] / "app.py"
HOME = f"""
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({str(APP)!r}, default_timeout=60).run()
from cnnkit.system import system_report
print(json.dumps({{"exception": bool(at.exception), "torch": "torch" in sys.modules, "pandas": "pandas" in sys.modules,
                  "title": at.title[0].value, "devices": [d.__dict__ for d in system_report().devices]}}))
"""


@pytest.mark.skipif(accelerator_possible(), reason="a machine that may have a GPU asks torch for it")
def test_the_home_page_renders_without_importing_torch_and_lists_what_torch_would():
    quiet = dict(
        os.environ, CNNKIT_PRELOAD="0"
    )  # what the page imports, without the thread that app.py starts after it
    run = subprocess.run([sys.executable, "-c", HOME], capture_output=True, text=True, timeout=120, env=quiet)
    assert run.returncode == 0, run.stderr
    home = json.loads(run.stdout.strip().splitlines()[-1])
    assert not home["exception"] and home["title"] == "cnnkit — the CNN studio"
    assert home["torch"] is False and home["pandas"] is False
    assert home["devices"] == [asdict(d) for d in list_devices()]  # here torch is imported: what it finds


GUIDE = f"""
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({str(APP)!r}, default_timeout=120).run()
at.switch_page("pages/guide.py").run()
card = {{"header": at.header[0].value, "metrics": [m.value for m in at.metric][:4], "exception": bool(at.exception),
        "charts": len(at.get("plotly_chart")),
        "layers": len(at.dataframe),
        "torch": "torch" in sys.modules, "torchvision": "torchvision" in sys.modules}}
print(json.dumps(card))
"""


@pytest.mark.skipif(accelerator_possible(), reason="a machine that may have a GPU asks torch for it")
def test_the_guides_first_card_is_drawn_without_waiting_for_torch():
    """Its figures, diagram and layer table come from the shipped files; torch and torchvision (~4 s to import on
    2 cores) are left to the tabs that measure networks and to the background preload."""
    quiet = dict(os.environ, CNNKIT_PRELOAD="0")
    run = subprocess.run([sys.executable, "-c", GUIDE], capture_output=True, text=True, timeout=300, env=quiet)
    assert run.returncode == 0, run.stderr
    card = json.loads(run.stdout.strip().splitlines()[-1])
    assert not card["exception"] and card["header"] == "ResNet"
    live = totals("resnet50")  # measured here, on meta, with torch
    assert card["metrics"][0] == f"{live.params:,}" and card["charts"] == 1 and card["layers"] == 1
    assert card["torch"] is False and card["torchvision"] is False


PRELOADED = f"""
import json, threading
from streamlit.testing.v1 import AppTest
from cnnkit.guide.profiles import profile
at = AppTest.from_file({str(APP)!r}, default_timeout=120).run()
next(t for t in threading.enumerate() if t.name == "cnnkit-preload").join()
ready = profile.cache_info()
at.switch_page("pages/guide.py").run()
print(json.dumps({{"ready": ready.currsize, "visit": profile.cache_info()._asdict(), "exception": bool(at.exception),
                  "torchvision": "torchvision" in sys.modules}}))
"""


def test_after_the_first_page_the_guides_first_card_and_torchvision_are_made_ready_in_the_background():
    script = "import sys\n" + PRELOADED
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    guide = json.loads(run.stdout.strip().splitlines()[-1])
    assert guide["ready"] == 1 and guide["torchvision"] and not guide["exception"]
    assert guide["visit"]["hits"] >= 1 and guide["visit"]["misses"] == 1  # the first visit found its card read


def test_the_preload_thread_is_waited_for_at_exit_even_when_a_daemon_thread_starts_it(monkeypatch):
    """Streamlit runs app.py in a daemon thread, whose daemon flag a new thread inherits; a daemon thread
    stopped at exit inside torch's C++ code aborted pytest (exit 134, "terminate called")."""
    import threading

    from cnnkit import preload

    monkeypatch.setattr(preload, "_started", threading.Lock())
    monkeypatch.setattr(preload, "_load", lambda: None)
    started = []
    script = threading.Thread(target=lambda: started.append(preload.preload()), daemon=True)
    script.start()
    script.join()
    assert started[0] is not None and started[0].daemon is False
    started[0].join()


def test_a_page_run_waits_while_the_preload_imports_pandas(monkeypatch):
    """Plotly's figures read ``sys.modules["pandas"]`` without importing it: a chart built while the preload
    thread was half way through ``import pandas`` failed with "partially initialized module 'pandas' has no
    attribute 'Series'" (the home page's chart, on a change of language just after the first page)."""
    import threading

    from cnnkit import preload

    started, imported = threading.Lock(), threading.Event()
    monkeypatch.setattr(preload, "_started", started)
    monkeypatch.setattr(preload, "_pandas_in", imported)
    preload.pandas_settled()  # no preload: no wait
    started.acquire()
    waiter = threading.Thread(target=preload.pandas_settled)
    waiter.start()
    waiter.join(0.3)
    assert waiter.is_alive()  # pandas is being imported: the page waits
    imported.set()
    waiter.join(5)
    assert not waiter.is_alive()


EARLY_EXIT = f"""
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({str(APP)!r}, default_timeout=60).run()
print("home", not at.exception)
"""


def test_a_server_stopped_right_after_its_first_page_ends_without_a_traceback():
    """A teacher who starts the app and stops it at once: the preload thread is still importing, and a module that
    registers an atexit function then (``concurrent.futures.process``) raised "can't register atexit after
    shutdown" with a traceback on the console."""
    run = subprocess.run([sys.executable, "-c", EARLY_EXIT], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "home True" in run.stdout, run.stderr
    assert "Traceback" not in run.stderr and "Exception in thread" not in run.stderr, run.stderr


HELD_PRELOAD = """
import importlib, importlib.abc, sys, threading
inside, released, errors = threading.Event(), threading.Event(), []

class Hold(importlib.abc.MetaPathFinder):  # the preload thread goes into torchvision/__init__.py, then stops in it
    def find_spec(self, name, path, target=None):
        if threading.current_thread().name == "cnnkit-preload":
            if name == "torchvision.extension":
                inside.set()
            elif name == "torchvision.models":
                released.wait(5)

def preload():
    try:
        importlib.import_module("torchvision")
    except ImportError as exc:
        errors.append(f"preload: {exc}")

sys.meta_path.insert(0, Hold())
thread = threading.Thread(target=preload, name="cnnkit-preload")
thread.start()
inside.wait(60)
threading.Timer(1.0, released.set).start()  # the page asks meanwhile, and may wait for the rest of it
try:
    exec(sys.argv[1])
except ImportError as exc:
    errors.append(f"page: {exc}")
released.set()
thread.join()
print(errors)
"""
AUGMENTATION_PREVIEW = "from cnnkit.data.augmentation import Augmentation; Augmentation(rotation=10).transform(1)"


def test_a_page_needing_torchvision_while_the_preload_imports_it_waits_for_it():
    """``import torchvision.transforms`` while the preload thread was half way through ``import torchvision``
    failed in both threads ("partially initialized module 'torchvision.transforms'"): the training page's
    augmentation preview, a newcomer's click on Training within seconds of the home page."""
    run = subprocess.run(
        [sys.executable, "-c", HELD_PRELOAD, AUGMENTATION_PREVIEW],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=APP.parent,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "[]"
