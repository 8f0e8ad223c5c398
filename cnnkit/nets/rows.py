"""A layer table's row as plain values, without torch: ``cnnkit.nets.summary`` measures them, and the guide
ships them (``cnnkit.guide.profiles``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LayerRow:
    name: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    depth: int
