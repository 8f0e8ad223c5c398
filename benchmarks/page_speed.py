"""How fast the pages answer in a real browser: stroke to answer on the drawing page, the guide's first
Compare tab, the app's cold start. Headless Chromium (Debian's) drives ``streamlit run app.py``.

    python benchmarks/page_speed.py --strokes 20 --write-docs

- **Stroke → answer**: on a fresh canvas, one stroke (a "1") is drawn with the mouse; from the mouse-up (the
  canvas's own ``pointerup`` event), the milliseconds until the canvas's value leaves the browser, the answer
  (the metric's text) is painted (Element Timing API), the probability chart, the first feature maps and the
  network overview are drawn, and the page is idle. The canvas is cleared between strokes (not timed).
- **Compare tab**: from the click on the tab of a fresh server until its two charts are drawn.
- **Cold start**: ``cnnkit.devtools.browser.app_cold_start``, from ``streamlit run`` to the home page drawn.

``--write-docs`` puts the figures, the command, the date and the machine's load between the
``<!-- page-speed -->`` markers of docs/inference.md and docs/guide.md.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

from cnnkit.devtools.appserver import running_app
from cnnkit.devtools.browser import app_cold_start, chromium, find_canvas, stroke, wait_for_app
from cnnkit.files import write_atomic
from cnnkit.i18n import text

ROOT = Path(__file__).resolve().parents[1]

BEGIN, END = "<!-- page-speed:begin -->", "<!-- page-speed:end -->"


# In the page: when the answer's text is painted (the Element Timing API: the text gets an ``elementtiming``
# attribute as soon as it enters the DOM, before its first paint) and when each chart's SVG is first drawn (the
# animation frame after it entered the DOM). Epoch milliseconds, the clock Python's time.time() reads; the
# observers are installed once and fill ``window.__speed``, emptied before each stroke.
WATCH = """() => {
  window.__speed = {};
  const charts = {probability_chart: ".st-key-draw_probs .main-svg",
                  feature_maps: "[class*='st-key-draw_maps_'] .main-svg", overview: ".st-key-draw_overview .main-svg"};
  new PerformanceObserver(list => list.getEntries().forEach(e => {
    window.__speed.answer = window.__speed.answer || e.renderTime + performance.timeOrigin; }))
    .observe({type: "element"});
  new MutationObserver(() => {
    const found = window.__speed;
    const answer = document.querySelector("[data-testid='stMetricValue'] div");
    if (answer && !answer.hasAttribute("elementtiming")) answer.setAttribute("elementtiming", "answer");
    for (const [name, selector] of Object.entries(charts)) {
      if (!(name in found) && document.querySelector(selector)) {
        found[name] = null;
        requestAnimationFrame(() => { found[name] = Date.now(); });
      }
    }
  }).observe(document.body, {subtree: true, childList: true});
}"""
MOUSE_UP = """canvas => canvas.addEventListener("pointerup",
    e => { window.__up = performance.timeOrigin + e.timeStamp; }, {once: true})"""


def strokes(browser, url: str, count: int) -> dict:
    """Milliseconds from the mouse-up that ends a stroke to the answer painted, the charts drawn, the page
    idle, and to the canvas's value leaving the browser."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    sent: list[float] = []  # epoch seconds of each websocket frame the browser sent (the canvas's value first)
    page.on("websocket", lambda ws: ws.on("framesent", lambda _: sent.append(time.time())))
    page.goto(url)
    wait_for_app(page)
    page.get_by_role("link", name=re.compile("Draw & predict")).click()
    wait_for_app(page)
    figures: dict[str, list[float]] = {name: [] for name in ("canvas_sends", "answer", "probability_chart",
                                                             "feature_maps", "overview", "idle")}
    page.evaluate(WATCH)
    for i in range(count + 1):  # the first stroke warms the caches up and is not counted
        canvas = find_canvas(page)
        canvas.evaluate(MOUSE_UP)
        page.evaluate("() => { window.__speed = {}; }")
        sent.clear()
        stroke(page, canvas.bounding_box(), [(140, 45), (140, 235)], steps=6)
        page.wait_for_function("() => window.__speed.answer && window.__speed.probability_chart "
                               "&& window.__speed.feature_maps && window.__speed.overview", timeout=30_000)
        wait_for_app(page)
        idle = time.time()
        up = canvas.evaluate("() => window.__up") / 1000
        if i and sent:
            found = page.evaluate("() => window.__speed")
            for name in ("answer", "probability_chart", "feature_maps", "overview"):
                figures[name].append(found[name] / 1000 - up)
            figures["idle"].append(idle - up)
            figures["canvas_sends"].append(sent[0] - up)
        page.get_by_role("button", name=re.compile(text("draw.canvas.clear", "en"))).click()
        page.wait_for_selector("[data-testid='stMetricValue']", state="detached", timeout=30_000)
        wait_for_app(page)
    page.close()
    return {"strokes": len(figures["answer"]),
            **{name: {"median_ms": round(1000 * statistics.median(values)), "max_ms": round(1000 * max(values))}
               for name, values in figures.items()}}


def compare_tab(browser, data_dir: str | None) -> float:
    with running_app(data_dir) as url:  # a fresh server: nothing measured yet
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        wait_for_app(page)
        page.get_by_role("link", name=re.compile(text("nav.guide", "en"))).click()
        wait_for_app(page)
        start = time.perf_counter()
        page.get_by_test_id("stMain").get_by_role("tab", name=text("guide.tabs.compare", "en")).click()
        page.wait_for_selector(".st-key-guide_chart_years .js-plotly-plot", timeout=120_000)
        seconds = time.perf_counter() - start
        page.close()
    return round(seconds, 2)


def write_docs(block: str) -> None:
    """Replace what stands between the markers of each doc (a temp file moved in place)."""
    for doc in (ROOT / "docs" / "inference.md", ROOT / "docs" / "guide.md"):
        body = doc.read_text(encoding="utf-8")
        if BEGIN in body:
            head, rest = body.split(BEGIN, 1)
            body = head + BEGIN + "\n" + block + "\n" + END + rest.split(END, 1)[1]
        else:
            body = body.rstrip("\n") + "\n\n## Page speed in a browser\n\n" + BEGIN + "\n" + block + "\n" + END + "\n"
        write_atomic(doc, body.encode("utf-8"))


def markdown(result: dict, command: str) -> str:
    s = result["strokes"]
    return "\n".join([
        f"Measured {result['date']} with `{command}` (headless Chromium, {result['cpus']} CPU cores shared with "
        f"other agents' jobs; load average before the run {result['load_before']}, after {result['load_after']}):",
        "",
        "| from | to | median | max |",
        "| --- | --- | --- | --- |",
        *(f"| mouse-up ending a stroke ({s['strokes']} strokes) | {label} | {s[key]['median_ms']} ms | "
          f"{s[key]['max_ms']} ms |" for key, label in (("canvas_sends", "the canvas's value sent"),
                                                       ("answer", "the answer painted"),
                                                       ("probability_chart", "the probability chart drawn"),
                                                       ("feature_maps", "the first feature maps drawn"),
                                                       ("overview", "the network overview drawn"),
                                                       ("idle", "the page idle (all charts drawn)"))),
        f"| click on the guide's Compare tab (fresh server) | both charts drawn | {result['compare_tab_s']} s | |",
        f"| `streamlit run app.py` | home page drawn ({result['cold_start']['runs']} runs) | "
        f"{result['cold_start']['median_first_page_s']} s | {max(result['cold_start']['first_page_rendered_s'])} s |",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strokes", type=int, default=20)
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist-5k"))
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    data_dir = args.data_dir if Path(args.data_dir).is_dir() else None
    result = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "cpus": os.cpu_count(),
              "load_before": " ".join(f"{v:.2f}" for v in os.getloadavg())}
    with chromium() as browser:
        with running_app(data_dir) as url:
            result["strokes"] = strokes(browser, url, args.strokes)
        result["compare_tab_s"] = compare_tab(browser, data_dir)
    result["cold_start"] = app_cold_start(data_dir, runs=3)
    result["load_after"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(json.dumps(result, indent=1))
    if args.write_docs:
        write_docs(markdown(result, f"python benchmarks/page_speed.py --strokes {args.strokes}"))


if __name__ == "__main__":
    main()
