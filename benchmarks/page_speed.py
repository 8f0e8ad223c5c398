"""How fast the pages answer in a real browser: stroke to answer on the drawing page, the guide's first
Compare tab, the app's cold start. Headless Chromium (Debian's) drives ``streamlit run app.py``.

    python benchmarks/page_speed.py --strokes 20 --write-docs

- **Stroke → answer**: on a fresh canvas, one stroke (a "1") is drawn with the mouse; from the mouse-up, the
  seconds until the answer (the metric), the probability chart and the network overview are on the page.
  The canvas is cleared between strokes (not timed).
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


def _until(page, selector: str, start: float, timeout_ms: float = 30_000) -> float:
    page.wait_for_selector(selector, timeout=timeout_ms, state="visible")
    return time.perf_counter() - start


def strokes(browser, url: str, count: int) -> dict:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    sent: list[float] = []  # when the browser sent a websocket frame (the canvas's value among them)
    page.on("websocket", lambda ws: ws.on("framesent", lambda _: sent.append(time.perf_counter())))
    page.goto(url)
    wait_for_app(page)
    page.get_by_role("link", name=re.compile("Draw & predict")).click()
    wait_for_app(page)
    answer, chart, overview, sending, served = [], [], [], [], []
    for i in range(count + 1):  # the first stroke warms the caches up and is not counted
        box = find_canvas(page).bounding_box()
        stroke(page, box, [(140, 45), (140, 235)], steps=6)
        start = time.perf_counter()
        sent.clear()
        times = (_until(page, "[data-testid='stMetricValue']", start),
                 _until(page, ".st-key-draw_probs .js-plotly-plot", start),
                 _until(page, ".st-key-draw_overview .js-plotly-plot", start))
        if i and sent:
            for where, value in zip((answer, chart, overview), times):
                where.append(value)
            sending.append(sent[0] - start)
            served.append(times[0] - (sent[0] - start))
        wait_for_app(page)
        page.get_by_role("button", name=re.compile(text("draw.canvas.clear", "en"))).click()
        page.wait_for_selector("[data-testid='stMetricValue']", state="detached", timeout=30_000)
        wait_for_app(page)
    page.close()

    def summary(values):
        return {"median_ms": round(1000 * statistics.median(values)), "max_ms": round(1000 * max(values))}

    return {"strokes": len(answer), "answer": summary(answer), "probability_chart": summary(chart),
            "overview": summary(overview), "canvas_sends": summary(sending), "sent_to_answer": summary(served)}


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
          f"{s[key]['max_ms']} ms |" for key, label in (("answer", "the answer shown"),
                                                       ("probability_chart", "the probability chart drawn"),
                                                       ("overview", "the network overview drawn"),
                                                       ("canvas_sends", "the canvas sends its value"))),
        f"| the canvas's value sent | the answer shown | {s['sent_to_answer']['median_ms']} ms | "
        f"{s['sent_to_answer']['max_ms']} ms |",
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
