"""The app starts in a real browser and its home page renders without an exception."""

import re

import pytest
from playwright.sync_api import expect

from cnnkit.devtools.browser import find_canvas, stroke, wait_for_app

pytestmark = pytest.mark.browser


def test_home_renders_and_switches_language(page):
    expect(page.locator("h1")).to_contain_text("cnnkit")
    assert "torchvision" in page.inner_text("[data-testid='stMain']")  # the versions line
    page.get_by_text("Русский").click()
    expect(page.locator("h1")).to_contain_text("студия", timeout=30_000)  # a fresh server: the preload is busy
    wait_for_app(page)
    assert page.locator("[data-testid='stException']").count() == 0


def test_home_url_path_opens_the_home_page(page, app_url):
    page.goto(app_url + "/home")
    wait_for_app(page)
    expect(page.locator("h1")).to_contain_text("cnnkit")
    assert "Page not found" not in page.inner_text("body")


def test_chosen_values_are_shown_in_the_new_language(page):
    """A select box shows its value by the label it was chosen with; after a switch of language it must say
    the value in the new language (Streamlit's browser side kept the old label), and the switch must not
    break a page with buttons, an upload and a drawing on its canvas."""
    page.get_by_role("link", name="Training").click()
    wait_for_app(page)
    schedule = page.locator(".st-key-train_schedule input").first
    expect(schedule).to_have_value("Constant")
    page.get_by_test_id("stSidebar").get_by_text("Русский").click()
    wait_for_app(page)
    expect(schedule).to_have_value("Постоянная")
    page.get_by_role("link", name="Рисуй и распознавай").click()
    wait_for_app(page)
    model = page.locator(".st-key-draw_model input").first
    expect(model).to_have_value("Модель из поставки")
    stroke(page, find_canvas(page).bounding_box(), [(140, 45), (140, 235)])
    expect(page.get_by_test_id("stMetricValue")).to_have_text("1", timeout=30_000)
    wait_for_app(page)
    page.get_by_test_id("stSidebar").get_by_text("English").click()
    wait_for_app(page)
    expect(model).to_have_value("Shipped model")
    expect(page.get_by_test_id("stMetricValue")).to_have_text("1")  # the drawing is still there
    assert page.locator("[data-testid='stException']").count() == 0


def test_a_reload_keeps_the_language_chosen(page):
    """The language is in the URL: a reload (a new session, only the URL kept) of another page stays Russian."""
    page.get_by_test_id("stSidebar").get_by_text("Русский").click()
    page.get_by_role("link", name="Рисуй и распознавай").click()
    wait_for_app(page)
    expect(page).to_have_url(re.compile(r"/draw\?.*lang=ru"))
    page.reload()
    wait_for_app(page)
    expect(page.locator("h1")).to_contain_text("Рисуй и распознавай")
    expect(page.get_by_test_id("stSidebar").get_by_role("radio", name="Русский")).to_be_checked()
    assert "u=" in page.url


def test_a_point_of_the_home_pages_chart_opens_its_card_in_the_guide(page):
    point = page.locator(".st-key-home_glance .scatterlayer .point").first
    point.wait_for(timeout=60_000)
    point.click(force=True)
    wait_for_app(page)
    expect(page.get_by_test_id("stMain").get_by_role("tab", name="Architectures")).to_have_attribute(
        "aria-selected", "true", timeout=30_000
    )
    assert page.locator("[data-testid='stException']").count() == 0
    assert "/guide" in page.url
