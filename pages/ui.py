"""What every page shares: the current language, its texts and its way of writing numbers."""

from __future__ import annotations

import math
import numbers
import os
import secrets
from typing import TYPE_CHECKING

import streamlit as st
from streamlit.errors import StreamlitAPIException

from cnnkit.errors import CnnkitError
from cnnkit.guide.registry import architecture_of
from cnnkit.i18n import DEFAULT_LANGUAGE, LANGUAGES, Formatter, formatter, text
from cnnkit.preload import pandas_settled

if TYPE_CHECKING:
    from cnnkit.train.jobs import JobManager
    from cnnkit.train.store import RunStore


def app_navigation() -> None:
    """Leave Streamlit's legacy multipage mode, first thing in app.py, before any widget.

    A top-level `pages/` folder makes Streamlit run the very first script run of the process in its legacy
    mode (``PagesManager.uses_pages_directory``): it lists the folder's files in the sidebar and runs the
    requested file itself, where widgets get other ids than in later runs (the first click of that session
    would be lost). st.navigation turns the mode off; turn it off at once and run again.
    tests/test_home_page.py fails once Streamlit no longer needs this."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def page_navigation() -> None:
    """The same, first thing in every page: a first request of a fresh server to a page's URL (a bookmark of
    /train) runs that page in the legacy mode, never app.py. Its session has no state yet; rerun, and
    app.py's navigation opens the same page (same url path, same hash) with the app's sidebar. A session
    with state is AppTest's, which starts every run in the legacy mode and runs the page directly: rerunning
    there would lose the click that started the run.

    Then, whichever way the page runs, it waits while the preload thread imports pandas (``pandas_settled``): a
    chart built meanwhile would fail."""
    if not st.session_state:
        app_navigation()
    pandas_settled()


def lang() -> str:
    return st.session_state.get("lang", DEFAULT_LANGUAGE)


def t(key: str, **values):
    """The text for ``key`` in the language chosen in the sidebar."""
    return text(key, lang(), **values)


def names(prefix: str, separator: str = "."):
    """A widget's ``format_func`` naming each option by ``<prefix><separator><option>`` in this run's language
    (the language is read now: a test harness may call a ``format_func`` after the run, outside the session)."""
    language = lang()
    return lambda option: text(f"{prefix}{separator}{option}", language)


def train_link(label: str) -> None:
    """A link to the training page; plain markdown until that page is in the navigation."""
    try:
        st.page_link("pages/train.py", label=label, icon="🏋️")
    except StreamlitAPIException:
        st.markdown(f"🏋️ [{label}](/train)")


def fmt() -> Formatter:
    """The chosen language's way of writing numbers, percentages and durations."""
    return formatter(lang())


def num(value: float, digits: int = 0) -> str:
    """``value`` with the chosen language's thousands and decimal separators."""
    return fmt().number(value, digits)


def table(rows: list[dict], formats: dict | None = None, **kwargs):
    """``st.dataframe`` of ``rows`` whose numbers read as the chosen language writes them (``formats``: column →
    function for the columns that need more than grouped integers); empty cells show "—". The values stay
    numbers, so columns still sort as numbers."""
    import pandas as pd  # here, not on the first page (~0.6 s of a cold start with pyarrow): markdown_table

    frame = pd.DataFrame(rows)
    shown = {
        c: fmt().value
        for c in frame.columns
        if any(v is None or isinstance(v, numbers.Number) and not isinstance(v, bool) for v in frame[c])
    }
    shown.update(formats or {})
    return st.dataframe(
        frame.style.format({c: _or_dash(f) for c, f in shown.items()}), hide_index=True, placeholder="—", **kwargs
    )  # the browser writes empty cells itself, "None" by default


def markdown_table(rows: list[dict]) -> None:
    """A small table of texts as markdown, for the first page: no pandas, no pyarrow, no data frame widget."""
    cells = [list(rows[0]), ["---"] * len(rows[0]), *([str(v).replace("|", "\\|") for v in r.values()] for r in rows)]
    st.markdown("\n".join("| " + " | ".join(row) + " |" for row in cells))


def _or_dash(write):
    """``write`` for the values there are, "—" for the empty cells (None, NaN); whole floats as integers."""

    def cell(value) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        return write(round(value) if isinstance(value, float) and value.is_integer() else value)

    return cell


def latex_number(value: float, digits: int = 3) -> str:
    """``value`` for ``st.latex`` in the chosen language: a decimal comma braced (no space after it), thin
    spaces between thousands; tiny and huge values as ``a·10^{b}``."""
    if value and not 1e-3 <= abs(value) < 1e6:
        mantissa, exponent = f"{value:.2e}".split("e")
        return rf"{latex_number(float(mantissa), 2)}\cdot 10^{{{int(exponent)}}}"
    return num(value, digits).replace(",", "{,}").replace(" ", "\\,").replace("\u00a0", "\\,").replace("\u202f", "\\,")


LATEX_ESCAPES = {c: "\\" + c for c in "_%&#${}"} | {
    "\\": r"\textbackslash{}",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
}


def latex_text(words: str) -> str:
    """``words`` (a class name) as upright text inside ``st.latex``, TeX's special characters escaped: a class
    folder's ``cat_1`` is shown as typed, not as an error."""
    return r"\text{" + "".join(LATEX_ESCAPES.get(c, c) for c in words) + "}"


def relabel_widgets() -> None:
    """After a change of language, give every choice its own value again. The browser shows a select box's
    value by its label in the language it was chosen in, and keeps it when only the labels change; a value set
    through the session state is sent to the browser anew, in the new language's words. Choices are strings
    and numbers (or lists of them); buttons (booleans), uploads, the canvas and tables, which Streamlit does not
    let one set, are left alone."""
    for key, value in list(st.session_state.items()):
        values = value if isinstance(value, (list, tuple)) else [value]
        if (
            key != "lang"
            and values
            and all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values)
        ):
            st.session_state[key] = value


def language_switch() -> None:
    """The sidebar's language choice, kept in the URL (``?lang=ru``) so that a reload opens in the same language:
    a new session starts in the URL's language (the default for an unknown one)."""
    if "lang" not in st.session_state:
        asked = st.query_params.get("lang")
        st.session_state["lang"] = asked if asked in LANGUAGES else DEFAULT_LANGUAGE
    st.sidebar.radio(
        "🌐",
        options=list(LANGUAGES),
        format_func=LANGUAGES.get,
        key="lang",
        horizontal=True,
        label_visibility="collapsed",
        on_change=relabel_widgets,
    )
    keep_in_url("lang", lang())


def keep_in_url(name: str, value: str) -> None:
    """``?name=value`` in the URL (written only when it differs: each write is a message to the browser), so that a
    reload or a bookmark finds it again."""
    if st.query_params.get(name) != value:
        st.query_params[name] = value


def error_text(exc: CnnkitError) -> str:
    """The message of ``exc`` in the chosen language, in the page's words."""
    return exc.message(lang(), "page")


def run_store() -> RunStore:
    """The server's run store (``CNNKIT_RUNS_DIR``, default ./runs), shared with the CLI. One that cannot be opened
    (the server's setting, not the visitor's doing) ends the page with its message, where it was an exception."""
    from cnnkit.paths import runs_dir

    try:
        return _store(str(runs_dir().resolve()))
    except CnnkitError as exc:
        st.error(error_text(exc))
        st.stop()


def job_manager() -> JobManager:
    """The server's training jobs: they belong to the server process, not to a browser tab."""
    return _manager(str(run_store().root))


@st.cache_resource(show_spinner=False)
def _store(root: str) -> RunStore:
    from cnnkit.train.store import RunStore

    return RunStore(root)


@st.cache_resource(show_spinner=False)
def _manager(root: str) -> JobManager:
    from cnnkit.train.jobs import JobManager

    return JobManager(_store(root))


def owner() -> str:
    """This user's token: kept in the session and in the URL (``?u=``), so a reload finds the user's runs."""
    token = st.session_state.get("owner") or st.query_params.get("u", "")
    if not (16 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum()):
        token = secrets.token_urlsafe(18)
    st.session_state["owner"] = token
    keep_in_url("u", token)
    return token


def private_runs() -> bool:
    """``CNNKIT_PRIVATE_RUNS=1``: visitors see only their own runs, not everyone's finished ones."""
    return os.environ.get("CNNKIT_PRIVATE_RUNS", "") in ("1", "true", "yes")


def classroom() -> bool:
    """``CNNKIT_CLASSROOM=1``: the app serves a class, so the machine's own (CLI) runs are read-only here."""
    return os.environ.get("CNNKIT_CLASSROOM", "") in ("1", "true", "yes")


def open_card(builder: str) -> None:
    """Callback: the guide shows the card of ``builder`` on its next run (a chart point, a "how to choose" pick)."""
    st.session_state["guide_arch"] = architecture_of(builder).key
    st.session_state["guide_variant"] = builder
    st.session_state["guide_tab"] = t("guide.tabs.cards")


def on_chart_select(key: str) -> bool:
    """Callback of a comparison chart (its points carry the builder first): open the clicked point's card; True
    when one was clicked."""
    points = st.session_state[key].selection.points
    if points:
        open_card(points[0]["customdata"][0])
    return bool(points)
