"""The crawler's browser pass (tests/test_crawler.py operates every control in AppTest): in headless Chromium,
in each language, every page of the sidebar, every tab of its first tab bar, and on each every visible switch,
radio option and segment once, found on the page itself (what AppTest cannot run, the drawing canvas's
component, runs here). After each step the page shows no exception, no message key,
no formula KaTeX could not read, no "None"/"nan"/"inf", and the step ends within 10 s. The app runs on a run store
of three finished runs, one of another session and one stopped (``kept_runs``)."""

from __future__ import annotations

import re
import shutil
import time
from collections import Counter

import pytest

from cnnkit.devtools.appserver import running_app
from cnnkit.devtools.browser import wait_for_app
from cnnkit.i18n import LANGUAGES
from tests.support.crawler import EMPTY_SHOWN, KEY_SHOWN, STEP_LIMIT_S

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MAIN = "[data-testid='stMain']"
# what a user operates in one pass: tabs, switches (checkboxes and toggles), radio options, segments
TABS = f"{MAIN} [data-testid='stTab']"
OPERABLE = {
    "switch": f"{MAIN} [data-testid='stCheckbox'] label",
    "radio": f"{MAIN} [data-testid='stRadio'] label",
    "segment": f"{MAIN} [data-testid='stButtonGroup'] button",
}


@pytest.fixture(scope="module")
def crawled_url(kept_runs, page_digits, tmp_path_factory):
    runs = tmp_path_factory.mktemp("browser-crawl") / "runs"
    shutil.copytree(kept_runs, runs)
    with running_app(page_digits, timeout=120, runs_dir=runs) as url:
        yield url


def problems(page, where: str, seconds: float) -> list[str]:
    body = page.inner_text(MAIN)
    found = (
        [f"exception: {page.locator('[data-testid=stException]').first.inner_text()[:200]}"]
        if page.locator("[data-testid='stException']").count()
        else []
    )
    found += [f"a message key: {m.group()}" for m in KEY_SHOWN.finditer(body)]
    found += [f"an empty value: {m.group()!r}" for m in EMPTY_SHOWN.finditer(body)]
    found += ["a formula KaTeX could not read"] * bool(page.locator(f"{MAIN} .katex-error").count())
    found += [f"the step took {seconds:.1f} s"] * (seconds > STEP_LIMIT_S)
    return [f"{where}: {f}" for f in found]


def step(page, where: str, act) -> list[str]:
    start = time.perf_counter()
    act()
    page.wait_for_timeout(200)
    wait_for_app(page, timeout_ms=STEP_LIMIT_S * 3000)
    return problems(page, where, time.perf_counter() - start)


def operate(page, name: str, done: Counter) -> list[str]:
    """Click every visible switch, radio option and segment once."""
    found = []
    for kind, selector in OPERABLE.items():
        i = 0
        while i < page.locator(selector).count():
            target = page.locator(selector).nth(i)
            if target.is_visible() and target.is_enabled():
                label = re.sub(r"\s+", " ", target.inner_text())[:40]
                found += step(page, f"{name} · {kind} {label!r}", target.click)
                done[kind] += 1
            i += 1
    return found


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_every_page_tab_and_switch_in_the_browser(browser, crawled_url, lang):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(crawled_url)
    wait_for_app(page)
    found = []
    if lang != "en":
        found += step(page, "language", lambda: page.get_by_text(LANGUAGES[lang], exact=True).click())
    links = page.locator("[data-testid='stSidebarNav'] a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    done = Counter()
    for href in hrefs:
        name = href.rsplit("/", 1)[-1] or "home"
        found += step(page, name, page.locator(f"[data-testid='stSidebarNav'] a[href='{href}']").click)
        tabs = page.locator(TABS).count()
        for t in range(max(tabs, 1)):
            if tabs:
                tab = page.locator(TABS).nth(t)
                found += step(page, f"{name} · tab {tab.inner_text()!r}", tab.click)
                done["tab"] += 1
            found += operate(page, name, done)
    context.close()
    print(f"{lang}: {len(hrefs)} pages, {dict(done)}")
    assert not found, "\n".join(found)
    assert len(hrefs) >= 4 and done["tab"] >= 6 and done["switch"] and done["radio"] and done["segment"]
