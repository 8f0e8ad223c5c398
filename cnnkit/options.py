"""The settings the command line sets, declared once on the dataclass fields that hold them.

A field made with ``setting(default, "--flag", "help text", **argparse)`` carries its ``Flag``; ``flags_of``
lists them, and ``python -m cnnkit train`` builds its parser and its ``TrainConfig`` from that list
(``cnnkit.cli``), so a new setting is one field with one flag.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, fields


@dataclass(frozen=True, kw_only=True)
class Flag:
    """A setting's command-line option: its name, help text and ``argparse`` arguments (type, choices, action)."""

    name: str  # "--batch-size"
    help: str
    argparse: dict
    run: bool = True  # whether it makes a run what it is (``--resume`` refuses to change it)

    @property
    def metavar(self) -> str | None:
        """``BATCH_SIZE`` for ``--batch-size``; None where argparse shows choices or takes no value."""
        if "choices" in self.argparse or "action" in self.argparse:
            return None
        return self.argparse.get("metavar", self.name.lstrip("-").upper().replace("-", "_"))


def setting(default, name: str, help: str, *, run: bool = True, **argparse_kwargs):
    """A dataclass field with ``default`` that the command line sets with the option ``name``."""
    return field(default=default, metadata={"flag": Flag(name=name, help=help, argparse=argparse_kwargs, run=run)})


def flags_of(cls, prefix: str = "") -> dict[str, Flag]:
    """The fields of ``cls`` that have a flag, by their place in the config (``prefix`` + name): field order."""
    return {prefix + f.name: f.metadata["flag"] for f in fields(cls) if "flag" in f.metadata}


def positive_int(text: str) -> int:
    """An ``argparse`` type: a whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
