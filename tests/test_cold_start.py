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
import json, threading
from streamlit.testing.v1 import AppTest
from cnnkit.guide.layers import profile
at = AppTest.from_file({str(APP)!r}, default_timeout=120).run()
next(t for t in threading.enumerate() if t.name == "cnnkit-preload").join()
ready = profile.cache_info()
at.switch_page("pages/guide.py").run()
print(json.dumps({{"ready": ready.currsize, "visit": profile.cache_info()._asdict(), "exception": bool(at.exception)}}))
"""


def test_after_the_first_page_the_guides_first_card_is_made_ready_in_the_background():
    run = subprocess.run([sys.executable, "-c", GUIDE], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    guide = json.loads(run.stdout.strip().splitlines()[-1])
    assert guide["ready"] == 1 and not guide["exception"]
    assert guide["visit"]["hits"] >= 1 and guide["visit"]["misses"] == 1  # the first visit found its card profiled


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
