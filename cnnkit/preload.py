"""pandas, the guide's first card, torch and torchvision made ready in the background once the first page is drawn.

The first page never waits for torch or pandas (tests/test_cold_start.py). The guide's first card needs pandas
(its layer table) and the shipped figures, not torch; its other tabs and the training page need torch and
torchvision (~3–4 s on 2 cores: their models import ``torch._dynamo`` through ``torchvision.ops``). ``app.py``
starts this thread after its first page has run, so that a visitor who reads that page for a moment finds them
ready; a page that needs a module meanwhile waits only for what is left of its import (Python's import lock; a
submodule such as ``torchvision.transforms.v2`` through ``cnnkit.lazy``, which waits for its package first).
``CNNKIT_PRELOAD=0`` turns it off.
"""

from __future__ import annotations

import importlib
import os
import threading

# what the guide's and the training page's first visits import (pandas' Styler compiles its templates when
# imported: the tables' styled data frames, pages.ui.table), the guide's tabs after its first card
PANDAS = "pandas.io.formats.style"  # first: see ``pandas_settled``
MODULES = (
    PANDAS,
    "torchvision",
    "cnnkit.guide.charts",
    "cnnkit.guide.convolution",
    "cnnkit.guide.totals",
    "cnnkit.guide.transfer",
    "cnnkit.train.charts",
)
_started = threading.Lock()
_pandas_in = threading.Event()


def first_card() -> None:
    """The guide's first card read from the shipped figures and kept (``profile``'s cache) as the page will ask
    for it."""
    from cnnkit.guide.comparison import default_input_size
    from cnnkit.guide.profiles import profile
    from cnnkit.guide.registry import FIRST_ARCHITECTURE, architecture

    builder = architecture(FIRST_ARCHITECTURE).default
    profile(builder, default_input_size(builder))


def preload() -> threading.Thread | None:
    """Import ``MODULES`` and read the guide's first card in a thread, once per process; None when it was
    started before or ``CNNKIT_PRELOAD`` is "0". Not a daemon: a process that ends within its few seconds waits
    for it, where a daemon thread stopped inside torch's C++ code would abort the process."""
    if os.environ.get("CNNKIT_PRELOAD") == "0" or not _started.acquire(blocking=False):
        return None
    # Imported here, ~6 ms, not in the thread: it registers an atexit function when imported (the preparing
    # processes of cnnkit.infer need it), which raises once the process is ending, and the thread may still be
    # importing then.
    importlib.import_module("concurrent.futures.process")
    thread = threading.Thread(target=_load, name="cnnkit-preload", daemon=False)  # not inherited from the caller
    thread.start()
    return thread


def pandas_settled(timeout: float = 60.0) -> None:
    """Wait while the preload imports pandas. Plotly's figures look pandas up in ``sys.modules`` without importing
    it (``_plotly_utils.optional_imports.get_module(should_load=False)``), and a pandas that another thread is
    still importing has no ``Series`` yet: a chart built meanwhile fails with AttributeError. Returns at once
    when the preload has not started or pandas is in."""
    if _started.locked():
        _pandas_in.wait(timeout)


def _load() -> None:
    try:
        importlib.import_module(PANDAS)
    finally:
        _pandas_in.set()
    first_card()
    for name in MODULES[1:]:
        if not threading.main_thread().is_alive():  # the process is ending: leave torch unloaded
            return
        importlib.import_module(name)
