"""A short report of this machine for the home page."""
from __future__ import annotations

import platform
from importlib.metadata import version
from dataclasses import dataclass

import torch

from cnnkit.devices import DeviceInfo, list_devices


@dataclass(frozen=True)
class SystemReport:
    devices: list[DeviceInfo]
    versions: dict[str, str]


def system_report() -> SystemReport:
    """The devices and versions; torchvision's version from its metadata (importing it takes ~2 s)."""
    return SystemReport(list_devices(), {"python": platform.python_version(), "torch": torch.__version__,
                                         "torchvision": version("torchvision")})
