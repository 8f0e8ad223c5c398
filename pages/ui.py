"""What every page shares: the current language, its texts and its way of writing numbers."""
from __future__ import annotations

import numbers

import pandas as pd
import streamlit as st

from cnnkit.errors import CnnkitError
from cnnkit.i18n import DEFAULT_LANGUAGE, LANGUAGES, Formatter, formatter, text


def lang() -> str:
    return st.session_state.get("lang", DEFAULT_LANGUAGE)


def t(key: str, **values):
    """The text for ``key`` in the language chosen in the sidebar."""
    return text(key, lang(), **values)


def fmt() -> Formatter:
    """The chosen language's way of writing numbers, percentages and durations."""
    return formatter(lang())


def num(value: float, digits: int = 0) -> str:
    """``value`` with the chosen language's thousands and decimal separators."""
    return fmt().number(value, digits)


def table(rows: list[dict], formats: dict | None = None, **kwargs) -> None:
    """``st.dataframe`` of ``rows`` whose numbers read as the chosen language writes them (``formats``: column →
    function for the columns that need more than grouped integers); empty cells show "—". The values stay
    numbers, so columns still sort as numbers."""
    frame = pd.DataFrame(rows)
    plain = {c: _cell for c in frame.columns if any(isinstance(v, numbers.Number) for v in frame[c])}
    st.dataframe(frame.style.format({**plain, **(formats or {})}, na_rep="—"), hide_index=True, **kwargs)


def _cell(value) -> str:
    return fmt().value(round(value) if isinstance(value, float) and value.is_integer() else value)


def language_switch() -> None:
    st.session_state.setdefault("lang", DEFAULT_LANGUAGE)
    st.sidebar.radio("🌐", options=list(LANGUAGES), format_func=LANGUAGES.get, key="lang",
                     horizontal=True, label_visibility="collapsed")


def error_text(exc: CnnkitError) -> str:
    """The message of ``exc`` in the chosen language, in the page's words."""
    return exc.message(lang(), "page")
