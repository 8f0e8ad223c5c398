"""Interface text in English and Russian, kept as data: ``cnnkit/locales/<lang>/<section>.toml``.

``text("home.title", "ru")`` reads key ``title`` of ``locales/ru/home.toml``; a key missing in one
language falls back to English, and a key missing everywhere shows itself, so gaps are visible. A text
stored as a table of plural forms (``one``/``other``; Russian ``one``/``few``/``many``) is chosen by the
``count`` value. ``formatter(lang)`` writes numbers, percentages and durations as ``lang`` does.
"""

from __future__ import annotations

import math
import numbers
import string
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

LOCALES = resources.files("cnnkit") / "locales"
LANGUAGES = {"en": "English", "ru": "Русский"}
DEFAULT_LANGUAGE = "en"


@cache
def catalog(lang: str) -> dict:
    """All sections of one language: ``{section: {key: value}}``."""
    folder = LOCALES / lang
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name)
    return {f.name.removesuffix(".toml"): tomllib.loads(f.read_text(encoding="utf-8")) for f in files}


def _lookup(tree: dict, dotted: str):
    node = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def lookup(key: str, lang: str = DEFAULT_LANGUAGE):
    """What is stored at ``key`` in ``lang`` (English where ``lang`` lacks it), or None."""
    found = _lookup(catalog(lang), key)
    if found is None and lang != DEFAULT_LANGUAGE:
        found = _lookup(catalog(DEFAULT_LANGUAGE), key)
    return found


def plural_form(count: int, lang: str) -> str:
    """The plural form ``count`` takes in ``lang``: ``one``/``other``, in Russian ``one``/``few``/``many``."""
    n = abs(int(count))
    if lang == "ru":
        if n % 10 == 1 and n % 100 != 11:
            return "one"
        return "few" if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14 else "many"
    return "one" if n == 1 else "other"


def text(key: str, lang: str = DEFAULT_LANGUAGE, **values):
    """The text for ``key`` in ``lang`` (a string, or a list/table as stored), formatted with ``values``."""
    found = lookup(key, lang)
    if found is None:
        return f"⟨{key}⟩"
    if isinstance(found, dict) and "one" in found and isinstance(values.get("count"), numbers.Number):
        found = found[plural_form(values["count"], lang)]
    return _Sentence(lang).format(found, **values) if isinstance(found, str) else found


class _Sentence(string.Formatter):
    """``str.format`` that writes numbers as ``lang`` does: ``{p:.1%}`` → ``97,3 %``, ``{n:,}`` → ``5 000``."""

    def __init__(self, lang: str):
        self.fmt = formatter(lang)

    def format_field(self, value, spec: str) -> str:
        if isinstance(value, bool) or not isinstance(value, numbers.Number):
            return format(value, spec)
        if not spec:
            return self.fmt.value(value)
        if spec.endswith("%"):
            return self.fmt.percent(value, int(spec.rpartition(".")[2][:-1] or 6))
        return with_separators(format(value, spec), self.fmt.lang)


@dataclass(frozen=True)
class Formatter:
    """How one language writes numbers: ``formatter("ru").percent(0.7664)`` → ``76,64 %``."""

    lang: str

    def number(self, value: float, digits: int = 0) -> str:
        """``25557032`` → ``25,557,032`` / ``25 557 032``; ``digits`` after the decimal sign."""
        return with_separators(f"{value:,.{digits}f}", self.lang)

    def value(self, value) -> str:
        """Any value inside a sentence: integers of five digits or more grouped (``5000``, ``60 000``), other
        numbers as short as they are exact (``0,001``)."""
        if isinstance(value, bool) or not isinstance(value, numbers.Number):
            return str(value)
        if isinstance(value, numbers.Integral):
            return self.number(int(value)) if abs(value) >= 10_000 else str(int(value))
        value = float(value)
        return with_separators(format(value, ",.6g") if math.isfinite(value) else str(value), self.lang)

    def scientific(self, value: float, digits: int = 3) -> str:
        """``0.000123`` → ``1.230e-04`` / ``1,230e-04``."""
        return with_separators(f"{value:.{digits}e}", self.lang)

    def percent(self, fraction: float, digits: int = 2) -> str:
        """``0.7664`` → ``76.64%`` / ``76,64 %``."""
        return text("number.percent", self.lang, value=self.number(100 * fraction, digits))

    def unit(self, value: float, unit: str, digits: int = 0) -> str:
        """``value`` with a unit of ``number.unit`` (``s``, ``mb``, ``px``…): ``2.5 s`` / ``2,5 с``."""
        return text(
            "number.with_unit", self.lang, value=self.number(value, digits), unit=text(f"number.unit.{unit}", self.lang)
        )

    def seconds(self, value: float, digits: int = 1) -> str:
        return self.unit(value, "s", digits)

    @property
    def percent_sign(self) -> str:
        """What follows a percentage's number: ``%`` / `` %``."""
        return text("number.percent", self.lang, value="")

    def plotly_percent(self, digits: int = 0) -> dict:
        """A Plotly axis of percentages given as 0–100, written as this language writes them (``76.6%`` /
        ``76,6 %`` with ``separators``): Plotly's own ``%`` format cannot put a space before the sign."""
        return {"tickformat": f".{digits}f", "ticksuffix": self.percent_sign}

    @property
    def separators(self) -> str:
        """Plotly's ``layout.separators``: the decimal sign, then the thousands separator."""
        return text("number.decimal", self.lang) + text("number.thousands", self.lang)


def formatter(lang: str = DEFAULT_LANGUAGE) -> Formatter:
    return Formatter(lang)


def number(value: float, lang: str = DEFAULT_LANGUAGE, digits: int = 0) -> str:
    """``25557032`` → ``25,557,032`` (English) or ``25 557 032`` (Russian); ``digits`` after the decimal sign."""
    return formatter(lang).number(value, digits)


def with_separators(formatted: str, lang: str) -> str:
    """English separators (``,`` thousands, ``.`` decimal) of ``formatted`` as ``lang`` writes them."""
    marks = {",": text("number.thousands", lang), ".": text("number.decimal", lang)}
    return "".join(marks.get(c, c) for c in formatted)


def missing_keys(lang: str) -> list[str]:
    """Keys present in English but absent in ``lang`` (used by the tests to keep languages in step)."""

    def keys(tree: dict, prefix: str = "") -> set[str]:
        out = set()
        for k, v in tree.items():
            table = isinstance(v, dict) and "one" not in v  # plural forms differ between languages
            out |= keys(v, f"{prefix}{k}.") if table else {prefix + k}
        return out

    return sorted(keys(catalog(DEFAULT_LANGUAGE)) - keys(catalog(lang)))
