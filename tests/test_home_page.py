"""AppTest of the entry point and the home page in both languages."""
from streamlit.testing.v1 import AppTest

from tests.support import ROOT


def test_home_in_english_and_russian():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "cnnkit — the CNN studio"
    assert "torch" in at.caption[0].value
    at.sidebar.radio(key="lang").set_value("ru").run()
    assert not at.exception
    assert at.title[0].value == "cnnkit — студия свёрточных сетей"
