"""Both languages carry the same texts, and the lookup falls back visibly."""
from cnnkit.i18n import LANGUAGES, catalog, missing_keys, text


def test_every_language_has_every_english_key():
    for lang in LANGUAGES:
        assert missing_keys(lang) == [], f"{lang} lacks texts"


def test_russian_texts_are_russian():
    assert catalog("ru")["home"]["title"] != catalog("en")["home"]["title"]
    assert any("а" <= ch <= "я" for ch in text("home.intro", "ru"))


def test_formatting_and_missing_key_marker():
    assert text("home.versions", "en", python="3", torch="2", torchvision="0") == "Python 3 · torch 2 · torchvision 0"
    assert text("home.no_such_key", "ru") == "⟨home.no_such_key⟩"
