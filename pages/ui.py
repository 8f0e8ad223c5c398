"""What every page shares: the current language, its texts and its way of writing numbers."""
from __future__ import annotations

import streamlit as st

from cnnkit.errors import CnnkitError
from cnnkit.i18n import DEFAULT_LANGUAGE, LANGUAGES, number, text


def lang() -> str:
    return st.session_state.get("lang", DEFAULT_LANGUAGE)


def t(key: str, **values):
    """The text for ``key`` in the language chosen in the sidebar."""
    return text(key, lang(), **values)


def num(value: float, digits: int = 0) -> str:
    """``value`` with the chosen language's thousands and decimal separators."""
    return number(value, lang(), digits)


def language_switch() -> None:
    st.session_state.setdefault("lang", DEFAULT_LANGUAGE)
    st.sidebar.radio("🌐", options=list(LANGUAGES), format_func=LANGUAGES.get, key="lang",
                     horizontal=True, label_visibility="collapsed")


def error_text(exc: CnnkitError) -> str:
    """The message of ``exc`` in the chosen language, in the page's words."""
    return exc.message(lang(), "page")
