"""The very first request of a fresh app server may be a bookmark of a page: it opens that page in the app's
own navigation (its pages, the language switch), not in Streamlit's legacy mode for a `pages/` folder."""

import pytest
from playwright.sync_api import expect

from cnnkit.devtools.appserver import running_app
from cnnkit.devtools.browser import wait_for_app

pytestmark = pytest.mark.browser


def test_a_page_url_as_the_first_request_of_the_server_opens_the_page_in_the_apps_navigation(browser, app_data):
    with running_app(app_data, timeout=120) as url:  # a server of its own: no request has reached it yet
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            tab = context.new_page()
            tab.goto(url + "/train")
            wait_for_app(tab)
            expect(tab.locator("h1")).to_have_text("Training")
            nav = tab.locator("[data-testid='stSidebarNav']")
            expect(nav).to_contain_text("Architecture guide")
            links = nav.inner_text()
            for legacy in ("app", "ui", "images", "network"):  # the pages/ folder's files, as legacy mode lists them
                assert legacy not in links.split(), links
            expect(tab.get_by_text("Русский")).to_be_visible()  # the language switch
            assert tab.locator("[data-testid='stException']").count() == 0
        finally:
            context.close()
