"""A short run from the training page in a real browser: the live Plotly chart appears and grows, then the
final test accuracy is shown."""

import re

import pytest
from playwright.sync_api import expect

from cnnkit.devtools.browser import wait_for_app

pytestmark = pytest.mark.browser

GROWN = """() => {  // polled from the live view on: the batch chart's first point count, then whether it grew
    const plot = document.querySelector("[data-testid='stPlotlyChart'] .js-plotly-plot");
    const points = plot && plot.data ? plot.data[0].x.length : 0;
    if (points > 0 && window.firstPoints === undefined) window.firstPoints = points;
    return points > 0 && points > window.firstPoints;
}"""


def test_short_run_shows_live_chart_then_test_accuracy(page):
    page.get_by_role("link", name="Training").click()
    wait_for_app(page)
    expect(page.locator("h1")).to_have_text("Training")
    page.get_by_label("Epochs").fill("6")  # long enough for several chart redraws, on the tests' 1,200 digits too
    page.keyboard.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name=re.compile(r"^\W*Train$")).click()

    progress = page.get_by_text(re.compile(r"Epoch \d/6 · batch"))
    expect(progress).to_be_visible(timeout=60_000)  # the live view, while it trains
    # polled at every frame from here: a chart seen first, then one with more points (a short run on a fast
    # machine ends between two checks made seconds apart, and its last live chart holds every point)
    page.wait_for_function(GROWN, timeout=120_000)

    expect(page.get_by_text(re.compile(r"trained, test accuracy \d+\.\d+%"))).to_be_visible(timeout=180_000)
    accuracy = page.locator("[data-testid='stMetric']", has_text="Test accuracy")
    expect(accuracy).to_contain_text(re.compile(r"\d+\.\d+%"))
    assert page.locator("[data-testid='stException']").count() == 0
