"""The training page's collection in a real browser: a class made, two webcam shots taken with Chromium's fake
camera (``--use-fake-device-for-media-stream``, cnnkit/devtools/browser.py), and the class's count rising."""

import re

import pytest
from playwright.sync_api import expect

from cnnkit.devtools.browser import wait_for_app

pytestmark = pytest.mark.browser


def take_shot(page, after_ms: int) -> None:
    """Wait for the camera's stream, then press its button ``after_ms`` later (the widget comes back empty for
    the next shot, its fake stream started afresh: shots at the same moment of it are the same picture, which
    the collection keeps once)."""
    button = page.get_by_test_id("stCameraInputButton")
    expect(button).to_be_enabled(timeout=30_000)
    page.wait_for_timeout(after_ms)
    button.click()
    wait_for_app(page)


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
    take_shot(page, 500)
    expect(page.get_by_text("Class 1 · 1 picture", exact=True)).to_be_visible(timeout=30_000)
    second = page.get_by_text("Class 1 · 2 pictures")
    for after_ms in (2500, 4000, 6000):  # a shot at a moment of the fake stream already taken adds nothing
        take_shot(page, after_ms)
        if second.is_visible():
            break
    expect(second).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Only one class so far (“Class 1”)")).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0
