"""In a real browser: draw a "1" on the canvas with the mouse, see the answer 1 and the probability chart;
clear the canvas; undo and redo strokes with the canvas's toolbar (streamlit-drawable-canvas's); the drawing kept
through a new stroke width and a new language."""

import re

import pytest
from playwright.sync_api import expect

from cnnkit.devtools.browser import find_canvas, stroke, wait_for_app
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


def test_undo_and_redo_a_stroke_with_the_canvas_toolbar(page):
    canvas = draw_a_one(page)
    metric = page.get_by_test_id("stMetricValue")
    wait_for_app(page)
    stroke(page, canvas.bounding_box(), [(60, 200), (220, 200), (60, 60)])  # a second stroke changes the input
    wait_for_app(page)

    undo, redo = (page.get_by_role("button", name=name, exact=True) for name in ("Undo", "Redo"))  # on hover
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


def test_the_drawing_survives_a_new_stroke_width_and_language(page):
    draw_a_one(page)
    wait_for_app(page)
    page.get_by_role("slider").first.focus()
    page.keyboard.press("ArrowRight")  # a wider pen
    expect(page.locator(".st-key-draw_stroke")).to_contain_text("21", timeout=10_000)
    wait_for_app(page)
    page.get_by_test_id("stSidebar").get_by_text("Русский").click()
    expect(page.locator("h1")).to_contain_text("Рисуй")
    wait_for_app(page)
    expect(page.get_by_test_id("stMetricValue")).to_have_text("1", timeout=30_000)  # the same "1", still drawn
    centre = find_canvas(page).evaluate(
        "c => [...c.parentElement.querySelector('canvas.lower-canvas')"
        ".getContext('2d').getImageData(140, 140, 1, 1).data]"
    )
    assert centre == [255, 255, 255, 255]  # white ink where the stroke went


STEP_PICTURES = """() => {
    const steps = [...document.querySelectorAll("[data-testid='stImage']")].slice(0, 5);
    const words = [];
    for (const caption of steps.map(s => s.querySelector("[data-testid='stImageCaption']") || s.nextElementSibling)) {
        const walker = document.createTreeWalker(caption, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (const match of node.textContent.matchAll(/\\S+/g)) {
                const range = document.createRange();
                range.setStart(node, match.index);
                range.setEnd(node, match.index + match[0].length);
                words.push([match[0], new Set([...range.getClientRects()].map(r => Math.round(r.top))).size]);
            }
        }
    }
    const boxes = steps.map(s => s.querySelector("img").getBoundingClientRect()).map(b => [b.left, b.right]);
    return {words, boxes};
}"""


@pytest.mark.parametrize("lang, width", [("ru", 1000), ("ru", 1200), ("ru", 1400), ("en", 1000)])
def test_the_preparation_steps_fit_their_columns(page, app_url, lang, width):
    """The five pictures of the preparation steps stay side by side without overlapping, and no caption breaks
    a word across lines ("Инвертиров/ано"), at a narrow window too."""
    from tests.support.drawing import SEVEN

    page.set_viewport_size({"width": width, "height": 1000})
    page.goto(f"{app_url}/draw?lang={lang}")
    wait_for_app(page)
    page.locator(".st-key-draw_mode button").nth(1).click()
    wait_for_app(page)
    page.locator(".st-key-draw_upload input[type=file]").set_input_files(
        {"name": "seven.png", "mimeType": "image/png", "buffer": SEVEN}
    )
    expect(page.get_by_test_id("stMetricValue")).to_have_text("7", timeout=30_000)
    wait_for_app(page)
    found = page.evaluate(STEP_PICTURES)
    assert len(found["boxes"]) == 5 and found["words"]
    assert all(right <= next_left + 1 for (_, right), (next_left, _) in zip(found["boxes"], found["boxes"][1:])), found
    assert [word for word, lines in found["words"] if lines > 1] == []
