"""Interface text in English and Russian, kept as data: ``cnnkit/locales/<lang>/<section>.toml``.

``text("home.title", "ru")`` reads key ``title`` of ``locales/ru/home.toml``; a key missing in one
language falls back to English, and a key missing everywhere shows itself, so gaps are visible.
"""
from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources

LOCALES = resources.files("cnnkit") / "locales"
LANGUAGES = {"en": "English", "ru": "Русский"}
DEFAULT_LANGUAGE = "en"


@lru_cache(maxsize=None)
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


def text(key: str, lang: str = DEFAULT_LANGUAGE, **values):
    """The text for ``key`` in ``lang`` (a string, or a list/table as stored), formatted with ``values``."""
    found = _lookup(catalog(lang), key)
    if found is None and lang != DEFAULT_LANGUAGE:
        found = _lookup(catalog(DEFAULT_LANGUAGE), key)
    if found is None:
        return f"⟨{key}⟩"
    return found.format(**values) if values and isinstance(found, str) else found


def number(value: float, lang: str = DEFAULT_LANGUAGE, digits: int = 0) -> str:
    """``25557032`` → ``25,557,032`` (English) or ``25 557 032`` (Russian); ``digits`` after the decimal sign."""
    return with_separators(f"{value:,.{digits}f}", lang)


def with_separators(formatted: str, lang: str) -> str:
    """English separators (``,`` thousands, ``.`` decimal) of ``formatted`` as ``lang`` writes them."""
    marks = {",": text("number.thousands", lang), ".": text("number.decimal", lang)}
    return "".join(marks.get(c, c) for c in formatted)


def missing_keys(lang: str) -> list[str]:
    """Keys present in English but absent in ``lang`` (used by the tests to keep languages in step)."""

    def keys(tree: dict, prefix: str = "") -> set[str]:
        out = set()
        for k, v in tree.items():
            out |= keys(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k}
        return out

    return sorted(keys(catalog(DEFAULT_LANGUAGE)) - keys(catalog(lang)))
