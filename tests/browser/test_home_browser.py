"""The app starts in a real browser and its home page renders without an exception."""
import pytest
from playwright.sync_api import expect

from cnnkit.devtools.browser import wait_for_app

pytestmark = pytest.mark.browser


def test_home_renders_and_switches_language(page):
    expect(page.locator("h1")).to_contain_text("cnnkit")
    assert "torchvision" in page.inner_text("[data-testid='stMain']")  # the versions line
    page.get_by_text("Русский").click()
    expect(page.locator("h1")).to_contain_text("студия")
    wait_for_app(page)
    assert page.locator("[data-testid='stException']").count() == 0


def test_home_url_path_opens_the_home_page(page, app_url):
    page.goto(app_url + "/home")
    wait_for_app(page)
    expect(page.locator("h1")).to_contain_text("cnnkit")
    assert "Page not found" not in page.inner_text("body")
