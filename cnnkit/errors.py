"""The one error the user sees: a message key and its values, said in the user's language."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cnnkit.i18n import DEFAULT_LANGUAGE, lookup, text


@dataclass(frozen=True)
class Term:
    """A word inside a message, said in the message's language: ``Term("errors.what.optimizer")``."""

    key: str


class FailureKind(StrEnum):
    """What kind of failure a stored run's reason records (``reason["kind"]``), where a page offers a way out."""

    DIVERGED = "diverged"  # the learning rate was too high: the page offers a lower one
    GPU_OUT_OF_MEMORY = "GpuOutOfMemory"  # the page offers the CPU (the value older runs stored)


class CnnkitError(Exception):
    """A problem the user can fix. It carries a message key (``section.key`` of ``locales/<lang>/``) and its
    values: a page shows ``message(lang, "page")`` in the chosen language, the CLI prints ``str()`` (English)
    as one line and exits non-zero. The message says what happened and what to do.

    ``surface="page"`` prefers the page's wording, ``errors.page.<key>`` for ``errors.<key>``: it speaks of
    the page's controls instead of CLI flags. Numbers among the values are written as ``lang`` writes them
    (with the message's format, e.g. ``{drop:.1%}``).
    """

    kind: FailureKind | None = None  # set by the subclasses whose failure a page answers with an offer

    def __init__(self, key: str, /, **values):
        self.key, self.values = key, values
        super().__init__(key)

    def message(self, lang: str = DEFAULT_LANGUAGE, surface: str = "cli") -> str:
        values = {k: _said(v, lang, surface) for k, v in self.values.items()}
        section, _, rest = self.key.partition(".")
        page_key = f"{section}.page.{rest}"
        key = page_key if surface == "page" and lookup(page_key, lang) is not None else self.key
        return text(key, lang, **values)

    def __str__(self) -> str:
        return self.message()


def _said(value, lang: str, surface: str):
    """A message's value as said in ``lang``: a ``Term`` or another error (the reason of this one) translated."""
    if isinstance(value, Term):
        return text(value.key, lang)
    return value.message(lang, surface) if isinstance(value, CnnkitError) else value


class GpuOutOfMemory(CnnkitError):
    """The GPU ran out of memory during training; the message suggests a smaller batch or the CPU."""

    kind = FailureKind.GPU_OUT_OF_MEMORY


def unknown_choice(what: str, value, choices) -> CnnkitError:
    """``Unknown optimizer 'lbfgs'; choose one of: adam, sgd, rmsprop.`` (``what``: a key of ``errors.what``)."""
    return CnnkitError(
        "errors.unknown_choice", what=Term(f"errors.what.{what}"), value=value, choices=", ".join(map(str, choices))
    )
