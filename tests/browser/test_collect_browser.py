"""The training page's collection in a real browser: a class made, two webcam shots taken with Chromium's fake
camera (tests/browser/webcam.py), and the class's count rising."""

import re

import pytest
from playwright.sync_api import expect

from cnnkit.devtools.browser import wait_for_app
from tests.browser.webcam import shoot_until

pytestmark = pytest.mark.browser


def test_two_webcam_shots_go_into_the_chosen_class(page):
    page.get_by_role("link", name="Training").click()
    wait_for_app(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Dataset").click()
    page.get_by_role("option", name="Your images (class folders)").click()
    wait_for_app(page)
    page.get_by_text("Collected here (upload or webcam)").click()
    wait_for_app(page)
    page.get_by_role("button", name=re.compile("Add class")).click()
    wait_for_app(page)
    expect(page.get_by_text("Class 1 · 0 pictures")).to_be_visible()
    shoot_until(page, page.get_by_text("Class 1 · 1 picture", exact=True))
    shoot_until(page, page.get_by_text("Class 1 · 2 pictures", exact=True))
    expect(page.get_by_text("Only one class so far (“Class 1”)")).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0
