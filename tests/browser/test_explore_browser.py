"""In a real browser: click an output pixel of the guide's convolution and see its computation; draw a digit
and see the whole network's response, then open one feature map."""

import os
import re
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

from cnnkit.devtools.browser import wait_for_app
from cnnkit.guide import blocks
from cnnkit.i18n import text
from cnnkit.infer import overview as ov
from cnnkit.infer.predict import load_model
from tests.support.browser import draw_a_one

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ["CNNKIT_SHOTS"]) if os.environ.get("CNNKIT_SHOTS") else None  # screenshots to look at


def test_click_an_output_pixel_and_see_its_computation(page):
    page.get_by_role("link", name=re.compile(text("nav.guide", "en"))).click()
    wait_for_app(page)
    main = page.get_by_test_id("stMain")
    main.get_by_role("tab", name=text("guide.tabs.blocks", "en")).click()
    wait_for_app(page)
    chart = page.locator(".st-key-guide_conv_clicks .js-plotly-plot")
    expect(chart).to_be_visible(timeout=30_000)
    columns = blocks.picture("digit").shape[1] - blocks.KERNEL_SIZE + 1  # the default picture, no padding
    row, col = 12, 20
    chart.scroll_into_view_if_needed()
    point = chart.locator(".scatterlayer .trace .point").nth(row * columns + col)
    box = point.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # plotly's drag layer takes clicks
    panel = main.get_by_text(re.compile(rf"Output pixel \({row}, {col}\)")).first
    expect(panel).to_be_visible(timeout=30_000)
    wait_for_app(page)
    expect(page.locator(".st-key-guide_conv_products .js-plotly-plot")).to_be_visible()
    expect(main.locator(".katex").first).to_be_visible()  # the sum, the bias, the activation
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(SHOTS / "guide-conv-click-en.png"), full_page=True) if SHOTS else None


def test_draw_a_digit_see_the_whole_network_and_open_a_map(page):
    draw_a_one(page)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text(text("explore.overview.title", "en"))).to_be_visible(timeout=30_000)
    chart = page.locator(".st-key-draw_overview .js-plotly-plot")
    expect(chart).to_be_visible()
    wait_for_app(page)
    chart.scroll_into_view_if_needed()
    # the markers of the overview's last trace sit on the maps in the order of overview.tiles
    tiles = ov.tiles(ov.overview(load_model(), np.zeros((28, 28), np.float32)))
    index = next(i for i, t in enumerate(tiles) if (t.stage, t.unit) == ("conv2", 5))
    point = chart.locator(".scatterlayer .trace").last.locator(".point").nth(index).bounding_box()
    page.mouse.click(point["x"] + point["width"] / 2, point["y"] + point["height"] / 2)
    title = main.get_by_text(re.compile(r"conv2, map 5"))
    expect(title).to_be_visible(timeout=30_000)
    wait_for_app(page)
    for key in ("draw_overview_map", "draw_overview_kernels", "draw_overview_field"):
        expect(page.locator(f".st-key-{key} .js-plotly-plot")).to_be_visible()
    expect(main.get_by_text(text("explore.softmax.title", "en"))).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0
    if SHOTS:
        page.screenshot(path=str(SHOTS / "draw-overview-en.png"), full_page=True)
