"""Russian numbers are written with a decimal comma in our own texts too: the drawing page (the normalization
caption, the softmax table, the overview's fc units, a map's caption) and the network builder, walked with
AppTest. A decimal dot between digits anywhere visible (beyond code and formulas) fails."""

import json
import re

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from cnnkit.i18n import formatter, text
from tests.support.drawing import SEVEN
from tests.support.pages import draw_page, upload
from tests.support.texts import visible_texts
from tests.test_russian_pages import rerun

DOTTED = re.compile(r"\d\.\d")


def table_cells(at: AppTest) -> list[str]:
    """Every table's cells as the browser shows them: a Styler's texts, else the raw values (Streamlit writes
    floats with a dot whatever the language)."""
    out = []

    def walk(node) -> None:
        if getattr(node, "type", "") in ("arrow_data_frame", "dataframe"):
            shown = node.proto.arrow_data.styler.display_values
            frame = pa.ipc.open_stream(shown).read_all().to_pandas() if shown else node.value
            out.extend(str(v) for column in frame.columns for v in frame[column])
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return out


def dotted(at: AppTest) -> list[str]:
    return [value for value in visible_texts(at) + table_cells(at) if DOTTED.search(value)]


@pytest.fixture
def drawn(shipped, tmp_path, monkeypatch):
    """The Russian drawing page after an upload, with a run store of its own: the runs' names in the model choice
    are the users' words, not the page's (a name typed with "0.001" stays so)."""
    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(tmp_path / "runs"))
    at = draw_page("ru")
    at.segmented_control(key="draw_mode").set_value("upload").run()
    return upload(at, "seven.png", SEVEN)


def separators(at: AppTest) -> dict[str, str]:
    """Each chart's decimal and thousands signs: what Plotly writes its hover values and colour bars with."""
    return {chart.key: json.loads(chart.proto.spec)["layout"].get("separators") for chart in at.get("plotly_chart")}


def test_the_russian_drawing_page_writes_no_decimal_dot(drawn):
    assert not dotted(drawn)
    assert not dotted(rerun(drawn, "ru", draw_overview_pick=("fc1", 0)))  # a unit of the fc layer opened
    assert not dotted(rerun(drawn, "ru", draw_overview_pick=("conv1", 3)))  # a map opened large, its kernels
    charts = separators(drawn)
    assert "draw_overview_kernels" in charts and set(charts.values()) == {formatter("ru").separators}, charts


def test_the_english_drawing_page_keeps_its_dots(drawn):
    """The same walk finds dots in English: it reads what the page shows."""
    drawn.session_state["lang"] = "en"
    drawn.run()
    assert len(dotted(drawn)) > 3


def builder_in_russian() -> None:
    """The training page's network builder alone, in Russian (AppTest loses a page's language and its network
    mode when a widget of the training page changes after a switch of page)."""
    import streamlit as st

    from pages.network import network_section

    st.session_state["lang"] = "ru"
    network_section((1, 28, 28), 10)


def test_the_russian_builder_writes_no_decimal_dot():
    at = AppTest.from_function(builder_in_russian, default_timeout=60).run()
    assert at.dataframe and text("build.table.total", "ru") in table_cells(at) and not dotted(at)
    at.selectbox(key="build_add_type").set_value("dropout").run()
    at.button(key="build_add").click().run()
    assert not at.exception and "dropout" in " ".join(table_cells(at)) and not dotted(at)
