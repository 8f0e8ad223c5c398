"""A short report of this machine for the home page and ``python -m cnnkit info``."""
from __future__ import annotations

import platform
from dataclasses import dataclass

import torch

from .devices import DeviceInfo, list_devices


@dataclass(frozen=True)
class SystemReport:
    devices: list[DeviceInfo]
    versions: dict[str, str]


def system_report() -> SystemReport:
    import torchvision

    return SystemReport(list_devices(), {"python": platform.python_version(), "torch": torch.__version__,
                                         "torchvision": torchvision.__version__})
