"""Both languages carry the same texts, and the lookup falls back visibly."""

from cnnkit.i18n import LANGUAGES, catalog, formatter, missing_keys, text


def test_every_language_has_every_english_key():
    for lang in LANGUAGES:
        assert missing_keys(lang) == [], f"{lang} lacks texts"


def test_russian_texts_are_russian():
    assert catalog("ru")["home"]["title"] != catalog("en")["home"]["title"]
    assert any("а" <= ch <= "я" for ch in text("home.intro", "ru"))


def test_formatting_and_missing_key_marker():
    assert text("home.versions", "en", python="3", torch="2", torchvision="0") == "Python 3 · torch 2 · torchvision 0"
    assert text("home.no_such_key", "ru") == "⟨home.no_such_key⟩"


def _error_calls():
    """Every ``CnnkitError("key", ...)`` (and subclass, ``unknown_choice``) in cnnkit/: (where, key, keywords)."""
    import ast
    from pathlib import Path

    import cnnkit

    root = Path(cnnkit.__file__).parent
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            where = f"{path.relative_to(root)}:{node.lineno}"
            first = node.args[0]
            if name in ("CnnkitError", "GpuOutOfMemory"):
                keys = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
                for key in keys:  # an f-string (ast.JoinedStr) is checked by its prefix
                    yield where, key.value if isinstance(key, ast.Constant) else key, {k.arg for k in node.keywords}
            elif name == "unknown_choice" and isinstance(first, ast.Constant):
                yield where, f"errors.what.{first.value}", set()
                yield where, "errors.unknown_choice", {"what", "value", "choices"}


def test_every_error_key_is_said_in_both_languages_with_the_values_it_is_given():
    import ast
    import string

    from cnnkit.i18n import _lookup

    calls = list(_error_calls())
    assert len(calls) > 60
    for where, key, keywords in calls:
        if not isinstance(key, (str, ast.JoinedStr)):  # a stored reason read back: checked where it was raised
            continue
        if not isinstance(key, str):  # f"errors.image_{problem}": some key of that prefix exists
            prefix = key.values[0].value
            section, _, rest = prefix.partition(".")
            table, _, start = rest.rpartition(".")  # f"build.errors.{key}": a key of the table build.errors
            keys = _lookup(catalog("en"), f"{section}.{table}") if table else catalog("en")[section]
            assert isinstance(keys, dict) and any(k.startswith(start) for k in keys), where
            continue
        assert " " not in key, f"{where}: an English sentence instead of a message key"
        section, _, rest = key.partition(".")
        for lang in LANGUAGES:
            for variant in (key, f"{section}.page.{rest}"):
                found = _lookup(catalog(lang), variant)
                assert found is not None or variant != key, f"{where}: {key} missing in {lang}"
                if isinstance(found, str):
                    fields = {f for _, f, _, _ in string.Formatter().parse(found) if f}
                    assert fields <= keywords, f"{where}: {variant} ({lang}) needs {fields - keywords}"


def test_errors_speak_the_chosen_language_and_the_page_names_no_cli_flag(tmp_path):
    import pytest

    from cnnkit.data.datasets import load_dataset
    from cnnkit.errors import CnnkitError

    with pytest.raises(CnnkitError) as info:
        load_dataset("mnist", tmp_path, download=False)
    error = info.value
    assert "--data-dir" in str(error) and str(tmp_path) in str(error)  # the CLI: flags and places looked in
    for lang in LANGUAGES:
        page = error.message(lang, "page")
        assert "--data-dir" not in page and "CNNKIT_DATA_DIR" not in page and str(tmp_path) not in page
    assert any("а" <= ch <= "я" for ch in error.message("ru", "page"))
    assert (
        CnnkitError("errors.batch_too_large", batch_size=50000, images=1200).message("ru")
        == "Размер батча 50\u00a0000 больше обучающей выборки (1200 изобр.); задайте не больше 1200."
    )
    assert CnnkitError("errors.lr_positive", lr=-0.5).message("ru").endswith("задана -0,5.")


def test_a_russian_number_never_wraps_inside():
    """The builder's "4 241 152 multiply–adds" broke after "4 241": a thousands separator, and the space before
    a percent sign or a unit, must be one a line cannot break at."""
    ru = formatter("ru")
    for shown in (ru.number(4_241_152), ru.percent(0.7664), ru.seconds(17.2), ru.value(60_000)):
        assert not any(ch in shown for ch in " \u2009\t\n"), repr(shown)
    assert ru.number(4_241_152).replace("\u00a0", "") == "4241152"
