"""A short report of this machine for the home page."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from importlib.metadata import version

from cnnkit.devices import DeviceInfo, list_devices


@dataclass(frozen=True)
class SystemReport:
    devices: list[DeviceInfo]
    versions: dict[str, str]


def system_report() -> SystemReport:
    """The devices and versions; torch's and torchvision's versions from their metadata (importing them takes
    seconds, which the home page need not wait for on a machine without a GPU)."""
    return SystemReport(
        list_devices(),
        {"python": platform.python_version(), "torch": version("torch"), "torchvision": version("torchvision")},
    )
