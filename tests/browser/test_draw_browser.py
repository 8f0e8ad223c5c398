"""In a real browser: draw a "1" on the canvas with the mouse, see the answer 1 and the probability chart;
clear the canvas; undo and redo strokes with the buttons under it."""
import re

import pytest
from playwright.sync_api import expect

from cnnkit.devtools.browser import stroke, wait_for_app
from tests.support.browser import draw_a_one

pytestmark = pytest.mark.browser


def test_draw_a_one_and_see_it_recognised(page):
    box = draw_a_one(page).bounding_box()
    expect(page.locator("h1")).to_contain_text("Draw & predict")
    assert 270 <= box["width"] <= 290 and 270 <= box["height"] <= 290
    metric = page.get_by_test_id("stMetricValue")
    wait_for_app(page)
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
    expect(page.get_by_text("Probability of each class")).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0

    page.get_by_role("button", name=re.compile("Clear")).click()  # a fresh canvas, and the hint again
    expect(page.get_by_text("Draw a digit on the black canvas")).to_be_visible(timeout=30_000)
    expect(metric).to_have_count(0)


def test_undo_and_redo_a_stroke_under_the_canvas(page):
    canvas = draw_a_one(page)
    metric = page.get_by_test_id("stMetricValue")
    wait_for_app(page)
    stroke(page, canvas.bounding_box(), [(60, 200), (220, 200), (60, 60)])  # a second stroke changes the input
    wait_for_app(page)

    tools = canvas.locator("xpath=ancestor::body")
    undo, redo = tools.get_by_role("button", name="↶ Undo"), tools.get_by_role("button", name="↷ Redo")
    undo.click()  # the "1" alone again
    expect(metric).to_have_text("1", timeout=30_000)
    wait_for_app(page)
    undo.click()  # nothing left: the hint, no answer
    expect(page.get_by_text("Draw a digit on the black canvas")).to_be_visible(timeout=30_000)
    expect(metric).to_have_count(0)
    expect(undo).to_be_disabled()
    redo.click()
    expect(metric).to_have_text("1", timeout=30_000)
    assert page.locator("[data-testid='stException']").count() == 0
