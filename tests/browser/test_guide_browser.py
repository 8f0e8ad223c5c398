"""The architecture guide in Chromium: open it, switch the language, open two cards, click a point of a chart."""

import re

import pytest
from playwright.sync_api import expect

from cnnkit.devtools.browser import wait_for_app
from cnnkit.guide.registry import architecture_of
from cnnkit.guide.totals import totals
from cnnkit.i18n import number, text

pytestmark = pytest.mark.browser


def test_guide_cards_language_and_chart(page):
    page.get_by_role("link", name=re.compile(text("nav.guide", "en"))).click()
    wait_for_app(page)
    expect(page.locator("h1")).to_have_text(text("guide.title", "en"))
    page.get_by_text("Русский").click()
    expect(page.locator("h1")).to_have_text(text("guide.title", "ru"))
    wait_for_app(page)
    main = page.get_by_test_id("stMain")
    for pill, title, builder in (("VGG-16/19 · 2014", "VGG-16/19", "vgg16"), ("ConvNet", "ConvNet", "convnet")):
        main.get_by_role("radio", name=pill, exact=True).click()  # required pills are a radio group
        expect(main.locator("h2").first).to_have_text(title)
        expect(main.get_by_test_id("stMetricValue").first).to_have_text(number(totals(builder).params, "ru"))
    expect(main.get_by_test_id("stPlotlyChart").first.locator(".js-plotly-plot")).to_be_visible()  # the diagram

    main.get_by_role("tab", name=text("guide.tabs.compare", "ru")).click()
    wait_for_app(page, timeout_ms=120_000)  # the first visit measures every model
    chart = main.get_by_test_id("stPlotlyChart").first
    expect(chart.locator(".js-plotly-plot")).to_be_visible()
    plot = chart.locator(".js-plotly-plot")
    builder = plot.evaluate("plot => plot.data[0].customdata[0][0]")
    box = chart.locator(".scatterlayer .trace").first.locator(".point").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # plotly's drag layer takes clicks
    expect(main.get_by_role("tab", name=text("guide.tabs.cards", "ru"))).to_have_attribute("aria-selected", "true")
    expect(main.locator("h2").first).to_have_text(architecture_of(builder).title)
    assert page.locator("[data-testid='stException']").count() == 0


def test_building_blocks_formulas_render_and_play_leaves_the_page_free(page):
    """KaTeX parses every formula of the building blocks (no .katex-error; the average pooling's is a
    fraction); Play moves the window, and a tab opens while it plays."""
    page.get_by_role("link", name=re.compile(text("nav.guide", "en"))).click()
    wait_for_app(page)
    main = page.get_by_test_id("stMain")
    main.get_by_role("tab", name=text("guide.tabs.blocks", "en")).click()
    wait_for_app(page)
    main.get_by_test_id("stRadio").get_by_text(text("guide.blocks.pools.avg", "en")).click()
    wait_for_app(page)
    expect(main.locator(".katex")).to_have_count(4)  # convolution, pooling, the calculator's two
    expect(main.locator(".katex-error")).to_have_count(0)
    expect(main.locator(".katex").nth(1).locator(".mfrac")).to_have_count(1)  # the average: sum over count

    position = main.locator("input[type=range][aria-label^='Position']").first
    opened = position.input_value()
    main.get_by_role("button", name=text("explore.play", "en")).first.click()
    expect(main.get_by_role("button", name=text("explore.stop", "en")).first).to_be_visible()
    expect(position).not_to_have_value(opened, timeout=15_000)
    main.get_by_role("tab", name=text("guide.tabs.transfer", "en")).click()  # while it plays
    expect(main.get_by_test_id("stMetricLabel").first).to_have_text(
        text("guide.transfer.trainable", "en"), timeout=15_000
    )
    assert page.locator("[data-testid='stException']").count() == 0


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_receptive_field_table_shows_every_column_whole(page, lang):
    if lang == "ru":
        page.get_by_text("Русский").click()
        wait_for_app(page)
    page.get_by_role("link", name=re.compile(text("nav.guide", lang))).click()
    wait_for_app(page)
    main = page.get_by_test_id("stMain")
    main.get_by_role("tab", name=text("guide.tabs.blocks", lang)).click()
    wait_for_app(page)
    table = main.get_by_test_id("stDataFrame").last
    table.scroll_into_view_if_needed()
    scroller = table.locator(".dvn-scroller").first
    expect(scroller).to_be_visible()
    width, visible = scroller.evaluate("s => [s.scrollWidth, s.clientWidth]")
    assert width <= visible, f"the table scrolls sideways: {width} px in {visible} px"
