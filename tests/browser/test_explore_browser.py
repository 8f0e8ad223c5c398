"""In a real browser: click an output pixel of the guide's convolution and see its computation; draw a digit
and see the whole network's response, then open one feature map."""
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from cnnkit.devtools.browser import wait_for_app
from cnnkit.guide import blocks
from cnnkit.i18n import text

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
