"""Headless Chromium (Debian's, never a downloaded one) driven by Playwright, the drawing canvas driven with
the mouse, and the app's cold start measured with it (``cnnkit bench --sections app``)."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cnnkit.devtools.appserver import running_app
from cnnkit.errors import CnnkitError

CHROMIUM = Path(os.environ.get("CNNKIT_CHROMIUM", "/usr/bin/chromium"))
# without the background-networking flags Chromium keeps dialling out of this offline machine
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # a webcam for st.camera_input (the training page's collection): Chromium's test pattern, allowed unasked
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
APP_READY = "[data-testid='stApp'][data-test-script-state='notRunning']"


def missing() -> str | None:
    """Why the browser cannot start here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    if not CHROMIUM.exists():
        return f"Debian's chromium is not at {CHROMIUM} (apt-get install chromium, or set CNNKIT_CHROMIUM)"
    return None


@contextmanager
def chromium() -> Iterator:
    """A headless Chromium browser (Playwright's ``Browser``)."""
    reason = missing()
    if reason:
        raise CnnkitError("errors.browser_cannot_start", reason=reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_for_app(page, timeout_ms: float = 60_000) -> None:
    """Wait as Streamlit's e2e tests do: connected, then the script has finished running."""
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout_ms)
    page.wait_for_timeout(300)
    page.wait_for_selector(APP_READY, timeout=timeout_ms)


def find_canvas(page, timeout_s: float = 30):
    """The canvas Fabric.js draws on, in the page or in the component's iframe, once it has mounted."""
    for _ in range(int(timeout_s * 4)):
        for frame in page.frames:
            canvas = frame.locator("canvas.upper-canvas")
            if canvas.count():
                return canvas.first
        page.wait_for_timeout(250)
    raise AssertionError("no drawing canvas on the page")


def stroke(page, box: dict, points: list[tuple[float, float]], steps: int = 12) -> None:
    """Press the mouse at the first point (canvas coordinates) and drag it through the others."""
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + points[0][0], y0 + points[0][1])
    page.mouse.down()
    for (xa, ya), (xb, yb) in zip(points, points[1:]):
        for i in range(1, steps + 1):
            page.mouse.move(x0 + xa + (xb - xa) * i / steps, y0 + ya + (yb - ya) * i / steps)
    page.mouse.up()


def app_cold_start(data_dir: str | None, runs: int = 3, timeout: float = 120.0) -> dict:
    """Seconds from ``streamlit run app.py`` to the home page rendered in headless Chromium."""
    healthy, rendered = [], []
    with chromium() as browser:
        for _ in range(runs):
            start = time.perf_counter()
            with running_app(data_dir, timeout) as url:
                healthy.append(time.perf_counter() - start)
                page = browser.new_page()
                page.goto(url)
                page.wait_for_selector(
                    "[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout * 1000
                )
                page.wait_for_selector(
                    f"{APP_READY} [data-testid='stMainBlockContainer'] [data-testid='stHeading']",
                    timeout=timeout * 1000,
                )
                rendered.append(time.perf_counter() - start)
                page.close()
    return {
        "runs": runs,
        "server_healthy_s": [round(s, 2) for s in healthy],
        "first_page_rendered_s": [round(s, 2) for s in rendered],
        "median_first_page_s": round(statistics.median(rendered), 2),
    }
