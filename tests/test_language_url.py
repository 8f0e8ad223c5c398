"""The language is kept in the URL (``?lang=ru``), as the user's token and the run are: a reload of any page opens
in the language it was left in; switching language rewrites the URL and keeps its other parameters."""

import pytest
from streamlit.testing.v1 import AppTest

from cnnkit.i18n import text
from tests.support import ROOT

TOKEN = "a-token-of-the-user-123"


def home(**query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update(query)
    at.run()
    assert not at.exception
    return at


def reloaded(path: str, **query) -> AppTest:
    at = home(**query)
    if path != "pages/home.py":
        at.switch_page(path).run()
    assert not at.exception
    return at


@pytest.mark.parametrize(
    "path,title", [("pages/home.py", "home.title"), ("pages/draw.py", "draw.title"), ("pages/guide.py", "guide.title")]
)
def test_a_reload_with_lang_ru_opens_any_page_in_russian(path, title):
    at = reloaded(path, lang="ru", u=TOKEN)
    assert at.title[0].value == text(title, "ru")
    assert at.query_params["lang"] == "ru" and at.query_params["u"] == TOKEN


def test_switching_language_writes_it_into_the_url_and_keeps_the_other_parameters():
    at = home(u=TOKEN, run="3")
    assert at.title[0].value == text("home.title", "en") and at.query_params["lang"] == "en"
    at.sidebar.radio(key="lang").set_value("ru").run()
    assert at.title[0].value == text("home.title", "ru")
    assert (at.query_params["lang"], at.query_params["u"], at.query_params["run"]) == ("ru", TOKEN, "3")
    again = home(**dict(at.query_params))  # a new session with that URL
    assert again.title[0].value == text("home.title", "ru")
    again.sidebar.radio(key="lang").set_value("en").run()
    assert again.query_params["lang"] == "en" and again.title[0].value == text("home.title", "en")


@pytest.mark.parametrize("asked", ["xx", "", "RU"])
def test_an_unknown_language_in_the_url_falls_back_to_english(asked):
    at = home(lang=asked)
    assert at.title[0].value == text("home.title", "en") and at.query_params["lang"] == "en"
