"""Uploads: the size limits the pages accept, and a small per-session cache of what was computed from them."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

# One limit for every upload that .streamlit/config.toml's server.maxUploadSize sets (images and cnnkit
# checkpoints: the largest, the no-pooling ConvNet, is 25.8 MB), and the ImageNet weights' own (ResNet-50: 98 MB).
UPLOAD_MB = 30
IMAGENET_WEIGHTS_MB = 100

T = TypeVar("T")


class SessionCache:
    """The last ``size`` results computed from uploaded bytes, keyed by the bytes' digest and name; a page
    keeps one per browser session, so an upload's result lives no longer than the session and the bytes
    themselves are not kept."""

    def __init__(self, size: int = 2):
        self.size = size
        self._items: OrderedDict[tuple[str, str], object] = OrderedDict()

    def get(self, data: bytes, name: str, compute: Callable[[bytes, str], T]) -> T:
        key = (hashlib.sha256(data).hexdigest(), name)
        if key not in self._items:
            self._items[key] = compute(data, name)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        self._items.move_to_end(key)
        return self._items[key]

    def __len__(self) -> int:
        return len(self._items)
