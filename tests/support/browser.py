"""What the browser tests of the drawing page share: open it and draw a "1" with the mouse."""

import re

import pytest
from playwright.sync_api import expect

from cnnkit.devtools.browser import find_canvas, stroke, wait_for_app
from cnnkit.infer.predict import DEFAULT_CHECKPOINT


def draw_a_one(page):
    """Open the drawing page, draw a vertical stroke and wait for the answer 1; the canvas's locator."""
    if not DEFAULT_CHECKPOINT.is_file():
        pytest.skip(f"the shipped model {DEFAULT_CHECKPOINT} is absent")
    page.get_by_role("link", name=re.compile("Draw & predict")).click()
    wait_for_app(page)
    canvas = find_canvas(page)
    expect(canvas).to_be_visible()
    stroke(page, canvas.bounding_box(), [(140, 45), (140, 235)])
    expect(page.get_by_test_id("stMetricValue")).to_have_text("1", timeout=30_000)
    return canvas
