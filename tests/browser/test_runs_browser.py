"""A run started on the training page survives a browser reload and a visit to another page, with live
progress and a Stop that works there."""

import re

import pytest
from playwright.sync_api import expect

from cnnkit.devtools.browser import wait_for_app

pytestmark = pytest.mark.browser


def test_a_run_survives_a_reload_and_another_page_and_stops_there(page):
    page.get_by_role("link", name="Training").click()
    wait_for_app(page)
    page.get_by_label("Epochs").fill("40")  # long enough to outlive the reload
    page.keyboard.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name=re.compile(r"^\W*Train$")).click()
    progress = page.get_by_text(re.compile(r"#\d+ ConvNet · Adam 0\.001 · Epoch \d+/40 · batch"))
    expect(progress).to_be_visible(timeout=60_000)
    assert "run=" in page.url and "u=" in page.url

    page.reload()  # a new browser session: only the URL remains
    wait_for_app(page)
    expect(progress).to_be_visible(timeout=60_000)
    expect(page.get_by_role("button", name=re.compile(r"^\W*Train$"))).to_be_disabled()

    page.get_by_role("link", name="Home").click()
    wait_for_app(page)
    page.get_by_role("link", name="Training").click()
    wait_for_app(page)
    expect(progress).to_be_visible(timeout=60_000)

    page.get_by_role("button", name=re.compile(r"Stop")).click()
    # under load the stop may come before the first epoch ended: the page then says there is nothing to continue
    stopped = re.compile(r"stopped after \d+ finished epoch|stopped before its first epoch ended")
    expect(page.get_by_text(stopped)).to_be_visible(timeout=120_000)
    expect(page.get_by_role("button", name=re.compile(r"^\W*Train$"))).to_be_enabled()
    assert page.locator("[data-testid='stException']").count() == 0
