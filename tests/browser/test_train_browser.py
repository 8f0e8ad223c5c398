"""A short run from the training page in a real browser: the live Plotly chart appears and grows, then the
final test accuracy is shown."""

import re

import pytest
from playwright.sync_api import expect

from cnnkit.devtools.browser import wait_for_app

pytestmark = pytest.mark.browser

BATCH_POINTS = """() => {
    const plot = document.querySelector("[data-testid='stPlotlyChart'] .js-plotly-plot");
    return plot && plot.data ? plot.data[0].x.length : -1;
}"""


def test_short_run_shows_live_chart_then_test_accuracy(page):
    page.get_by_role("link", name="Training").click()
    wait_for_app(page)
    expect(page.locator("h1")).to_have_text("Training")
    page.get_by_label("Epochs").fill("3")  # all 5,000 digits, 3 epochs: long enough for several chart redraws
    page.keyboard.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name=re.compile(r"^\W*Train$")).click()

    progress = page.get_by_text(re.compile(r"Epoch \d/3 · batch"))
    expect(progress).to_be_visible(timeout=60_000)  # the live view, while it trains
    page.wait_for_function(f"({BATCH_POINTS})() > 0", timeout=60_000)
    first = page.evaluate(BATCH_POINTS)
    page.wait_for_function(f"({BATCH_POINTS})() > {first}", timeout=120_000)  # the chart changes as it trains

    expect(page.get_by_text(re.compile(r"trained, test accuracy \d+\.\d+%"))).to_be_visible(timeout=180_000)
    accuracy = page.locator("[data-testid='stMetric']", has_text="Test accuracy")
    expect(accuracy).to_contain_text(re.compile(r"\d+\.\d+%"))
    assert page.locator("[data-testid='stException']").count() == 0
