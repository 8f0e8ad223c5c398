"""Modules imported where first needed, safely while another thread imports the same package.

``import a.b`` does not wait for a package ``a`` that another thread is still importing (``cnnkit.preload``
imports torchvision in the background): it starts ``a.b`` on the half-made package, and both imports fail with
an ImportError ("partially initialized module 'torchvision.transforms'", a newcomer's first click on the training
page). ``import a`` does wait, on Python's import lock, until ``a`` is made; ``module`` imports it first.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def module(name: str) -> ModuleType:
    """Module ``name`` (dotted), its top package imported whole first."""
    importlib.import_module(name.partition(".")[0])
    return importlib.import_module(name)
