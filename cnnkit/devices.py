"""What this machine can train on (CPU, CUDA GPUs, Apple MPS), and turning a user's choice into a device."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cnnkit.errors import CnnkitError
from cnnkit.i18n import DEFAULT_LANGUAGE, formatter, lookup, text

if TYPE_CHECKING:
    import torch


def device_name(device: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A device as ``lang`` names it in every list and table: ``ЦП`` for ``cpu``; GPUs by their id."""
    return lookup(f"devices.id.{device}", lang) or device


@dataclass(frozen=True)
class DeviceInfo:
    id: str  # "cpu", "cuda:0", "mps": what --device accepts
    kind: str  # "cpu" | "cuda" | "mps"
    name: str
    memory_gb: float | None = None
    cores: int | None = None

    @property
    def label(self) -> str:
        """e.g. ``cuda:0 — NVIDIA H100 (79.1 GB)`` or ``cpu — AMD EPYC (2 cores)``."""
        return self.label_in(DEFAULT_LANGUAGE)

    def label_in(self, lang: str) -> str:
        """The label in ``lang``: ``ЦП — AMD EPYC (2 ядра)``."""
        values = dict(id=device_name(self.id, lang), name=self.name)
        if self.memory_gb:
            return text("devices.label.memory", lang, memory=formatter(lang).number(self.memory_gb, 1), **values)
        if self.cores:
            return text("devices.label.cores", lang, count=self.cores, **values)
        return text("devices.label.plain", lang, **values)


def _cpuinfo(field: str) -> str | None:
    """The first value of ``field`` in Linux's ``/proc/cpuinfo``; None elsewhere."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.split(":", 1)[0].strip() == field:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_name() -> str:
    return _cpuinfo("model name") or platform.processor() or platform.machine() or "CPU"


TORCH_BF16_CHECKS = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private in torch: no public one
BF16_FLAGS = {"avx512_bf16", "amx_bf16"}  # the same abilities as Linux lists them


def cpu_computes_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX): torch's own checks where this torch has
    them (they are private), else the CPU flags of ``/proc/cpuinfo`` (no flags: no)."""
    import torch

    checks = [getattr(torch.cpu, name, None) for name in TORCH_BF16_CHECKS]
    if all(callable(check) for check in checks):
        return any(check() for check in checks)
    return bool(BF16_FLAGS & set((_cpuinfo("flags") or "").split()))


def accelerator_possible() -> bool:
    """Whether this machine may hold a GPU that torch could use: an NVIDIA device node, or a Mac on Apple
    silicon. Without one torch finds only the CPU, so the home page need not import torch (~2 s) to say so."""
    return (
        Path("/dev/nvidia0").exists()
        or Path("/proc/driver/nvidia").exists()
        or sys.platform == "win32"
        or (sys.platform == "darwin" and platform.machine() == "arm64")
    )


def cpu_cores() -> int:
    """The CPU cores this process may run on (its affinity, where the system has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def cpu_threads(asked: int) -> tuple[int, str | None]:
    """The CPU threads to train with when ``asked`` for: at most one per core (more only wait for each other, and
    tens of thousands crash the OpenMP runtime), with a note when fewer than asked."""
    cores = cpu_cores()
    if asked <= cores:
        return asked, None
    return cores, text("devices.threads_above", asked=asked, count=cores)


def list_devices() -> list[DeviceInfo]:
    """The devices present, best first (CUDA GPUs, then MPS, then the CPU)."""
    found = []
    cpu = DeviceInfo("cpu", "cpu", cpu_name(), cores=cpu_cores())
    if "torch" not in sys.modules and not accelerator_possible():
        return [cpu]
    import torch

    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            found.append(DeviceInfo(f"cuda:{i}", "cuda", props.name, props.total_memory / 1e9))
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        found.append(DeviceInfo("mps", "mps", "Apple GPU (Metal)"))
    return [*found, cpu]


def resolve_device(spec: str = "auto") -> torch.device:
    """``auto`` picks the best device; ``cuda``/``cuda:N``/``mps``/``cpu`` are checked to exist."""
    import torch

    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        return torch.device(list_devices()[0].id)
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise CnnkitError("errors.device_unknown", spec=spec) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise CnnkitError("errors.cuda_absent")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise CnnkitError("errors.cuda_index", spec=spec, count=count, last=str(count - 1))
    elif device.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise CnnkitError("errors.mps_absent")
    elif device.type != "cpu":
        raise CnnkitError("errors.device_unknown", spec=spec)
    return device
