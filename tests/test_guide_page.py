"""AppTest of the architecture guide: every card and section renders in both languages, with the computed figures."""

import re

import pytest
from streamlit.testing.v1 import AppTest

from cnnkit.guide import blocks
from cnnkit.guide.comparison import TABLE_DIGITS, weights_info
from cnnkit.guide.comparison_charts import compact_text
from cnnkit.guide.profiles import profile
from cnnkit.guide.registry import ARCHITECTURES, CHOICES
from cnnkit.guide.totals import totals
from cnnkit.guide.transfer import transfer_learning
from cnnkit.i18n import LANGUAGES, number, text
from tests.support import ROOT

SECTIONS = ("cards", "compare", "choose", "blocks", "transfer", "training")


def rerun(at: AppTest, lang: str, **state) -> AppTest:
    """Run with ``state`` set. AppTest leaves the sidebar's language radio out of its tree after the first
    run (and so resets it), hence the language is set for every run."""
    at.session_state["lang"] = lang
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def open_guide(lang: str = "en", section: str = "cards") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run()
    at.switch_page("pages/guide.py")
    return rerun(at, lang, guide_tab=text(f"guide.tabs.{section}", lang))


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_every_card_renders_its_figures(lang):
    at = open_guide(lang)
    assert [tab.label for tab in at.tabs] == [text(f"guide.tabs.{s}", lang) for s in SECTIONS]
    for key, arch in ARCHITECTURES.items():
        rerun(at, lang, guide_arch=key)
        assert at.header[0].value == arch.title
        shown = metrics(at)
        assert shown[text("guide.card.params", lang)] == number(totals(arch.default).params, lang)
        assert shown[text("guide.card.gmacs", lang)] == compact_text(totals(arch.default).macs, lang)
        info = weights_info(arch.default)
        if info:
            expected = {"en": f"{number(info.top1, lang, 2)}%", "ru": f"{number(info.top1, lang, 2)}\u00a0%"}[lang]
            assert shown[text("guide.card.top1", lang)] == expected  # 76.13% / 76,13 %
            assert any(c.value.startswith("✓") for c in at.caption), "the cross-check with torchvision failed"
        assert any(text(f"guide.arch.{key}.idea", lang) in m.value for m in at.markdown)
        assert len(at.get("plotly_chart")) == 1  # the diagram
        assert at.dataframe[0].value.shape[0] == len(profile(arch.default).table(2))


def test_variant_and_input_size_change_the_figures():
    at = open_guide()
    rerun(at, "en", guide_arch="vgg")
    at.selectbox(key="guide_variant").set_value("vgg19")
    rerun(at, "en")
    assert metrics(at)["Parameters"] == number(totals("vgg19").params, "en")
    rerun(at, "en", guide_arch="resnet")
    at.number_input(key="guide_size_resnet50").set_value(160)
    rerun(at, "en")
    assert metrics(at)["Multiply–adds (MACs)"] == compact_text(profile("resnet50", 160).totals.macs, "en")
    assert metrics(at)["Parameters"] == number(totals("resnet50").params, "en")
    assert metrics(at)["Input (C×H×W)"] == "3×160×160"


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_every_section_renders(lang):
    at = open_guide(lang, "compare")
    assert len(at.get("plotly_chart")) == 2
    rerun(at, lang, guide_tab=text("guide.tabs.choose", lang))
    assert len(at.button) == sum(bool(p.builder) for picks in CHOICES.values() for p in picks)
    rerun(at, lang, guide_tab=text("guide.tabs.blocks", lang))
    assert text("guide.blocks.conv_title", lang) in [s.value for s in at.subheader]
    # conv: input with window, output, window values, kernel, products; pool: input, output, window; activations; field
    assert len(at.get("plotly_chart")) == 10
    rerun(at, lang, guide_tab=text("guide.tabs.transfer", lang))
    assert metrics(at)[text("guide.transfer.trainable", lang)] == number(transfer_learning().trainable, lang)
    rerun(at, lang, guide_tab=text("guide.tabs.training", lang))
    assert text("guide.training.how_title", lang) in [s.value for s in at.subheader]


def test_a_pick_opens_its_card():
    at = open_guide("en", "choose")
    at.button(key="guide_pick_accuracy_densenet121").click()
    rerun(at, "en")
    assert at.header[0].value == ARCHITECTURES["densenet"].title
    assert at.selectbox(key="guide_variant").value == "densenet121"


def test_bad_input_shows_a_message_not_a_traceback():
    at = open_guide("ru", "blocks")
    at.selectbox(key="guide_kernel").set_value("custom")
    rerun(at, "ru")
    at.text_area(key="guide_kernel_text").input("1 2 3\n4 x 6\n7 8 9")
    rerun(at, "ru")
    assert [e.value for e in at.error] == [text("guide.errors.kernel_number", "ru", token="x")]
    assert text("guide.blocks.pool_title", "ru") in [s.value for s in at.subheader]  # pooling still works
    assert at.checkbox(key="guide_pool_after_conv").disabled  # until the kernel is fixed
    at.number_input(key="guide_calc_k").set_value(40)
    rerun(at, "ru")
    assert text("guide.errors.no_output", "ru", window=40, padded=30) in [e.value for e in at.error]
    rerun(at, "ru", guide_tab=text("guide.tabs.transfer", "ru"))
    at.selectbox(key="guide_tl_model").set_value("squeezenet1_0")
    rerun(at, "ru")
    assert [e.value for e in at.error] == [text("guide.errors.no_linear_head", "ru", builder="squeezenet1_0")]


def test_switching_the_language_keeps_the_section():
    at = open_guide("en", "blocks")
    rerun(at, "ru")
    assert text("guide.blocks.conv_title", "ru") in [s.value for s in at.subheader]


@pytest.fixture
def written(monkeypatch) -> list[str]:
    """The texts the page hands to st.latex, st.markdown and st.caption, as given: Streamlit strips their ends,
    where a form feed ("\\f" written for "\\frac") would vanish and leave "rac" behind."""
    from streamlit.elements import markdown

    texts = []
    clean = markdown.clean_text
    monkeypatch.setattr(markdown, "clean_text", lambda text: texts.append(str(text)) or clean(text))
    return texts


def formulas(at: AppTest) -> list[str]:
    """Every formula on the page: the st.latex elements and the $…$ inside markdown and captions."""
    inline = [f for m in [*at.markdown, *at.caption] for f in re.findall(r"\$([^$]+)\$", m.value)]
    return [e.value for e in at.get("latex")] + inline


def assert_balanced(formula: str) -> None:
    depth = 0
    for char in re.sub(r"\\[{}]", "", formula):
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0, f"a brace closed before it opened in {formula!r}"
    assert depth == 0, f"a brace left open in {formula!r}"


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_every_formula_of_the_building_blocks_is_well_formed(lang, written):
    """Every activation (and none) with a negative and a positive bias, both poolings, the calculator: no
    control character in what the page writes, balanced braces, and the average pooling's fraction. KaTeX
    itself parses them in tests/browser/test_guide_browser.py."""
    at = open_guide(lang, "blocks")
    seen = []
    for i, activation in enumerate(["none", *blocks.ACTIVATIONS]):
        rerun(
            at,
            lang,
            guide_conv_activation=activation,
            guide_conv_bias=(-1) ** i * 0.5,
            guide_pool_kind=list(blocks.POOLS)[i % 2],
        )
        seen += formulas(at)
    assert [w for w in written if re.search(r"[\x00-\x09\x0b-\x1f]", w)] == []
    assert len(seen) >= 4 * len(blocks.ACTIVATIONS)  # conv, pool, the calculator's two
    for formula in seen:
        assert_balanced(formula)
    assert any(re.search(r"^\$\$\n\\frac\{", f) for f in seen)  # the average pooling's


def shown_cells(table):
    """A table's cells as the page writes them (the Styler's texts)."""
    import pyarrow as pa

    return pa.ipc.open_stream(table.proto.arrow_data.styler.display_values).read_all().to_pandas()


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_the_comparison_table_writes_each_column_one_way_with_its_unit(lang):
    at = open_guide(lang, "compare")
    table = at.dataframe[0]
    cells = shown_cells(table)
    column = {c: text(f"guide.compare.col_{c}", lang) for c in TABLE_DIGITS}
    assert list(cells.columns) == list(column.values())
    units = {
        "top1": "%",
        "top5": "%",
        "params_m": {"en": "M", "ru": "млн"}[lang],
        "gflops": "GFLOP",
        "file_mb": {"en": "MB", "ru": "МБ"}[lang],
    }
    assert all(unit in column[c] for c, unit in units.items())
    comma = {"en": r"\.", "ru": ","}[lang]
    for c, digits in TABLE_DIGITS.items():
        if digits:
            written = [v for v in cells[column[c]] if v != "—"]
            assert all(re.fullmatch(rf"[\d\s\u00a0\u202f,]*\d{comma}\d{{{digits}}}", v) for v in written), written
    lenet = cells[cells[column["model"]] == "lenet5"].iloc[0]
    assert [lenet[column[c]] for c in ("top1", "top5", "file_mb")] == ["—"] * 3
    assert table.proto.placeholder == "—"  # what the browser writes in the empty cells itself
    resnet = cells[cells[column["model"]] == "resnet50"].iloc[0]
    assert resnet[column["top1"]] == number(weights_info("resnet50").top1, lang, 2)
