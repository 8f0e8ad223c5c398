"""AppTest of the entry point and the home page in both languages."""

import json

from streamlit.testing.v1 import AppTest

from cnnkit.guide.registry import architecture_of, builders
from cnnkit.i18n import text
from tests.support import ROOT


def test_home_in_english_and_russian():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "cnnkit — the CNN studio"
    assert any("torchvision" in c.value for c in at.caption)  # the versions line
    devices = next(m.value for m in at.markdown if m.value.startswith("| Device |")).splitlines()
    cpu = next(row.strip("| ").split(" | ") for row in devices if row.startswith("| cpu |"))
    assert "None" not in cpu and cpu[2] == "—"  # the CPU has no memory of its own to show: a dash
    at.sidebar.radio(key="lang").set_value("ru").run()
    assert not at.exception
    assert at.title[0].value == "cnnkit — студия свёрточных сетей"


def test_streamlit_still_starts_a_process_in_legacy_mode_for_the_pages_folder():
    """app.py and the pages leave Streamlit's legacy multipage mode (``pages.ui.app_navigation``) because a
    new process's first PagesManager turns it on for an app beside a `pages/` folder. When this fails,
    Streamlit no longer does: remove ``app_navigation`` and ``page_navigation`` and this test."""
    from streamlit.runtime.pages_manager import PagesManager

    saved = PagesManager.uses_pages_directory
    try:
        PagesManager.uses_pages_directory = None  # as in a fresh process
        PagesManager(str(ROOT / "app.py"))
        assert PagesManager.uses_pages_directory is True
    finally:
        PagesManager.uses_pages_directory = saved


def test_the_home_page_shows_every_network_of_the_guide_by_year_and_size_in_both_languages():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    for lang in ("en", "ru"):
        if lang == "ru":
            at.sidebar.radio(key="lang").set_value("ru").run()
        chart = json.loads(at.get("plotly_chart")[0].proto.spec)
        points = [point[0] for trace in chart["data"] for point in trace["customdata"]]
        dated = [b for b in builders() if architecture_of(b).variants[b]]  # the notes' ConvNet has no year
        assert sorted(points) == sorted(dated) and len(points) > 40
        assert chart["layout"]["title"]["text"] == text("guide.compare.years_title", lang)
        assert text("home.glance", lang, count=len(dated)) in [s.value for s in at.subheader]
