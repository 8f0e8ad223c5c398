"""AppTest of the entry point and the home page in both languages."""

from streamlit.testing.v1 import AppTest

from tests.support import ROOT


def test_home_in_english_and_russian():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "cnnkit — the CNN studio"
    assert "torch" in at.caption[0].value
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
