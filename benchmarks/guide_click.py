"""Where a click on the guide's link waits, on a fresh server: the browser's long tasks after the click, when
Streamlit's Plotly chunk (which the home page's chart loads) arrived, and when the guide's script ran and its
first card's diagram was drawn. Headless Chromium (Debian's) drives ``streamlit run app.py``.

    python -m benchmarks.guide_click --runs 3

Each run clicks once as soon as the home page's script has finished (``benchmarks.page_speed``'s "at once") and,
on another fresh server, once the home page's chart is drawn too. Times are milliseconds from the click; long
tasks are the Long Tasks API's (≥ 50 ms of the page's main thread), those of ``LONG_MS`` or more listed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time

from cnnkit.devtools.appserver import running_app
from cnnkit.devtools.browser import chromium, wait_for_app
from cnnkit.i18n import text

LONG_MS = 200
DIAGRAM = ".st-key-guide_diagram .js-plotly-plot"
HOME_CHART = ".st-key-home_glance .js-plotly-plot .main-svg"

# Installed just before the click: the click's time, the long tasks, and when the script state and the diagram
# first change (milliseconds on the page's clock from the moment it is installed).
OBSERVE = """([diagram, homeChart]) => {
  const t0 = performance.now(), seen = {}, long = [];
  window.__click = {t0, seen, long, home_chart: !!document.querySelector(homeChart)};
  document.addEventListener("click", () => { seen.clicked = performance.now() - t0; }, true);
  new PerformanceObserver(list => list.getEntries().forEach(e => long.push([e.startTime - t0, e.duration])))
    .observe({type: "longtask"});
  const marks = {script_running: "[data-testid='stApp'][data-test-script-state='running']",
                 diagram_in_page: diagram};
  new MutationObserver(() => { for (const [name, selector] of Object.entries(marks))
    if (!(name in seen) && document.querySelector(selector)) seen[name] = performance.now() - t0; })
    .observe(document, {subtree: true, childList: true, attributes: true});
}"""
PLOTLY_CHUNK = """() => performance.getEntriesByType("resource").filter(e => /PlotlyChart/.test(e.name))
  .map(e => e.responseEnd - window.__click.t0)[0] ?? null"""


def ms(value: float | None) -> int | None:
    return None if value is None else round(value)


def click(browser, wait_for_home_chart: bool) -> dict:
    """One fresh server: the home page, then the click on the guide's link, timed."""
    with running_app() as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        wait_for_app(page)
        if wait_for_home_chart:
            page.wait_for_selector(HOME_CHART, timeout=120_000)
        page.evaluate(OBSERVE, [DIAGRAM, HOME_CHART])
        start = time.perf_counter()
        page.get_by_role("link", name=re.compile(text("nav.guide", "en"))).click()
        page.wait_for_selector(DIAGRAM, timeout=120_000)
        drawn = time.perf_counter() - start
        page.wait_for_timeout(1000)  # the long tasks that were running when the diagram showed are reported
        seen = page.evaluate("() => window.__click")
        chunk = page.evaluate(PLOTLY_CHUNK)
        page.close()
    return {
        "home_chart_drawn_at_click": seen["home_chart"],
        "plotly_chunk_arrived_ms": ms(chunk),
        **{name: ms(value) for name, value in seen["seen"].items()},
        "diagram_drawn_ms": round(1000 * drawn),
        "long_tasks_ms": [[ms(s), ms(d)] for s, d in seen["long"] if d >= LONG_MS and s < 1000 * drawn],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    result = {"load_before": " ".join(f"{v:.2f}" for v in os.getloadavg())}
    with chromium() as browser:
        for name, wait in (("at_once", False), ("after_home_chart", True)):
            runs = [click(browser, wait) for _ in range(args.runs)]
            result[name] = {"runs": runs, "median_diagram_ms": statistics.median(r["diagram_drawn_ms"] for r in runs)}
    result["load_after"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
