"""How fast the pages answer in a real browser: stroke to answer on the drawing page beside a bare canvas page,
the guide's first Compare tab and first visit, the app's cold start. Headless Chromium (Debian's) drives
``streamlit run app.py``.

    python benchmarks/page_speed.py --strokes 20 --write-docs

- **Stroke → answer**: on a fresh canvas, one stroke (a "1") is drawn with the mouse; from the mouse-up (the
  canvas's own ``pointerup`` event), the milliseconds until the canvas's value leaves the browser, the answer's
  text is shown (the animation frame after it entered the DOM) and painted (Element Timing API), the probability
  chart, the first feature maps and the network overview are drawn, and the page is idle. The canvas is
  cleared between strokes (not timed).
- **The bare canvas**: the same strokes on a page holding only ``st_canvas(..., return_image_data=True)`` and one
  line of text computed from its value (``BARE_PAGE``): the mouse-up to that text shown, what
  streamlit-drawable-canvas takes by itself (its 200 ms debounce included), measured as the drawing page's.
- **Compare tab**: from the click on the tab of a fresh server until its two charts are drawn.
- **Guide, first visit**: on a fresh server, from the click on the guide's link in the home page until its first
  card's diagram is drawn; the click comes as soon as the home page is drawn, and (a reader's pace) after
  ``READING_S`` seconds on it, while app.py's background preload (cnnkit/preload.py) readies torch and the card.
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
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from cnnkit.devtools.appserver import running_app
from cnnkit.devtools.browser import app_cold_start, chromium, find_canvas, stroke, wait_for_app
from cnnkit.files import write_atomic
from cnnkit.i18n import text

ROOT = Path(__file__).resolve().parents[1]

BEGIN, END = "<!-- page-speed:begin -->", "<!-- page-speed:end -->"


# In the page: when the answer's text is painted (the Element Timing API: the text gets an ``elementtiming``
# attribute as soon as it enters the DOM, before its first paint), when the page's text (``window.__text``: a
# selector and a pattern) first shows what the stroke gave, and when each chart's SVG is first drawn (the
# animation frame after it entered the DOM). Epoch milliseconds, the clock Python's time.time() reads; the
# observers are installed once and fill ``window.__speed``, emptied before each stroke.
WATCH = """text => {
  window.__speed = {};
  const charts = {probability_chart: ".st-key-draw_probs .main-svg",
                  feature_maps: "[class*='st-key-draw_maps_'] .main-svg", overview: ".st-key-draw_overview .main-svg"};
  const later = name => {
    window.__speed[name] = null;
    requestAnimationFrame(() => { window.__speed[name] = Date.now(); });
  };
  new PerformanceObserver(list => list.getEntries().forEach(e => {
    window.__speed.answer = window.__speed.answer || e.renderTime + performance.timeOrigin; }))
    .observe({type: "element"});
  new MutationObserver(() => {
    const found = window.__speed;
    const answer = document.querySelector("[data-testid='stMetricValue'] div");
    if (answer && !answer.hasAttribute("elementtiming")) answer.setAttribute("elementtiming", "answer");
    const shown = document.querySelector(text.selector);
    if (!("text" in found) && shown && new RegExp(text.pattern).test(shown.textContent)) later("text");
    for (const [name, selector] of Object.entries(charts)) {
      if (!(name in found) && document.querySelector(selector)) later(name);
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""
MOUSE_UP = """canvas => canvas.addEventListener("pointerup",
    e => { window.__up = performance.timeOrigin + e.timeStamp; }, {once: true})"""

# The bare page: streamlit-drawable-canvas and one line of text derived from its value (the ink's pixel count).
BARE_PAGE = """import streamlit as st
from streamlit_drawable_canvas import st_canvas

drawn = st_canvas(stroke_width=20, stroke_color="#FFFFFF", background_color="#000000", width=280, height=280,
                  return_image_data=True, key="bare")
st.write(f"ink: {0 if drawn.image_data is None else int((drawn.image_data[..., 0] > 127).sum())} pixels")
"""
# What each page shows once a stroke is in, and what must be there before the next stroke.
DRAWING_PAGE_TEXT = {"selector": "[data-testid='stMetricValue']", "pattern": "\\S"}
BARE_PAGE_TEXT = {"selector": "[data-testid='stMarkdownContainer']", "pattern": "ink: [1-9]"}
DRAWING_PAGE_FIGURES = ("text", "answer", "probability_chart", "feature_maps", "overview")


def opened(browser, url: str):
    """A new page at ``url``, once the app has run; with the list that gets the epoch seconds of each websocket
    frame the browser sends."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    sent: list[float] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda _: sent.append(time.time())))
    page.goto(url)
    wait_for_app(page)
    return page, sent


def timed_strokes(page, sent: list[float], count: int, text: dict, names: tuple[str, ...], clear) -> dict:
    """Milliseconds from the mouse-up that ends a stroke to each of ``names`` in ``window.__speed``, to the page
    idle, and to the canvas's value leaving the browser; ``clear()`` empties the canvas between strokes."""
    figures: dict[str, list[float]] = {name: [] for name in ("canvas_sends", *names, "idle")}
    page.evaluate(WATCH, text)
    for i in range(count + 1):  # the first stroke warms the caches up and is not counted
        canvas = find_canvas(page)
        canvas.evaluate(MOUSE_UP)
        page.evaluate("() => { window.__speed = {}; }")
        sent.clear()
        stroke(page, canvas.bounding_box(), [(140, 45), (140, 235)], steps=6)
        page.wait_for_function(f"() => {' && '.join(f'window.__speed.{name}' for name in names)}", timeout=30_000)
        wait_for_app(page)
        idle = time.time()
        up = canvas.evaluate("() => window.__up") / 1000
        if i and sent:
            found = page.evaluate("() => window.__speed")
            for name in names:
                figures[name].append(found[name] / 1000 - up)
            figures["idle"].append(idle - up)
            figures["canvas_sends"].append(sent[0] - up)
        clear(page)
        wait_for_app(page)
    page.close()
    return {
        "strokes": len(figures["idle"]),
        **{
            name: {"median_ms": round(1000 * statistics.median(values)), "max_ms": round(1000 * max(values))}
            for name, values in figures.items()
        },
    }


def clear_drawing_page(page) -> None:
    page.get_by_role("button", name=re.compile(text("draw.canvas.clear", "en"))).click()
    page.wait_for_selector("[data-testid='stMetricValue']", state="detached", timeout=30_000)


def clear_bare_page(page) -> None:
    """The canvas toolbar's reset (it shows on hover), then the text of an empty canvas."""
    page.get_by_role("button", name="Reset canvas & history", exact=True).click()
    page.get_by_text("ink: 0 pixels").wait_for(timeout=30_000)


def strokes(browser, url: str, count: int) -> dict:
    """The drawing page: from the mouse-up to the answer shown and painted, the charts drawn, the page idle."""
    page, sent = opened(browser, url)
    page.get_by_role("link", name=re.compile("Draw & predict")).click()
    wait_for_app(page)
    return timed_strokes(page, sent, count, DRAWING_PAGE_TEXT, DRAWING_PAGE_FIGURES, clear_drawing_page)


def bare_strokes(browser, count: int) -> dict:
    """The bare canvas page (``BARE_PAGE``, a temporary file): from the mouse-up to its text shown."""
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "bare_canvas.py"
        script.write_text(BARE_PAGE, encoding="utf-8")
        with running_app(script=script) as url:
            page, sent = opened(browser, url)
            return timed_strokes(page, sent, count, BARE_PAGE_TEXT, ("text",), clear_bare_page)


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


READING_S = 5.0  # seconds a newcomer spends on the home page before opening the guide, for the second figure


def guide_first_visit(browser, data_dir: str | None, reading_s: float) -> float:
    """Seconds from the click on the guide's link, ``reading_s`` after the home page of a fresh server was drawn,
    to the first card's diagram drawn."""
    with running_app(data_dir) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        wait_for_app(page)
        page.wait_for_timeout(reading_s * 1000)
        start = time.perf_counter()
        page.get_by_role("link", name=re.compile(text("nav.guide", "en"))).click()
        page.wait_for_selector(".st-key-guide_diagram .js-plotly-plot", timeout=120_000)
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
    s, bare = result["strokes"], result["bare_strokes"]
    return "\n".join(
        [
            f"Measured {result['date']} with `{command}` (headless Chromium, {result['cpus']} CPU cores; load average "
            f"before the run {result['load_before']}, after {result['load_after']}):",
            "",
            "| from | to | median | max |",
            "| --- | --- | --- | --- |",
            *(
                f"| mouse-up ending a stroke, bare `st_canvas` page ({bare['strokes']} strokes) | {label} | "
                f"{bare[key]['median_ms']} ms | {bare[key]['max_ms']} ms |"
                for key, label in (("canvas_sends", "the canvas's value sent"), ("text", "its text shown"))
            ),
            *(
                f"| mouse-up ending a stroke ({s['strokes']} strokes) | {label} | {s[key]['median_ms']} ms | "
                f"{s[key]['max_ms']} ms |"
                for key, label in (
                    ("canvas_sends", "the canvas's value sent"),
                    ("text", "the answer shown"),
                    ("answer", "the answer painted"),
                    ("probability_chart", "the probability chart drawn"),
                    ("feature_maps", "the first feature maps drawn"),
                    ("overview", "the network overview drawn"),
                    ("idle", "the page idle (all charts drawn)"),
                )
            ),
            f"| click on the guide's Compare tab (fresh server) | both charts drawn | {result['compare_tab_s']} s | |",
            *(
                f"| click on the guide's link {when} (fresh server) | its first card's diagram drawn | "
                f"{result['guide_first_visit_s'][key]} s | |"
                for key, when in (("at_once", "as soon as the home page is drawn"), ("read", f"{READING_S:g} s later"))
            ),
            f"| `streamlit run app.py` | home page drawn ({result['cold_start']['runs']} runs) | "
            f"{result['cold_start']['median_first_page_s']} s | "
            f"{max(result['cold_start']['first_page_rendered_s'])} s |",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strokes", type=int, default=20)
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist-5k"))
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    data_dir = args.data_dir if Path(args.data_dir).is_dir() else None
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "load_before": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }
    with chromium() as browser:
        result["bare_strokes"] = bare_strokes(browser, args.strokes)
        with running_app(data_dir) as url:
            result["strokes"] = strokes(browser, url, args.strokes)
        result["compare_tab_s"] = compare_tab(browser, data_dir)
        result["guide_first_visit_s"] = {
            "at_once": guide_first_visit(browser, data_dir, 0),
            "read": guide_first_visit(browser, data_dir, READING_S),
        }
    result["cold_start"] = app_cold_start(data_dir, runs=3)
    result["load_after"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(json.dumps(result, indent=1))
    if args.write_docs:
        write_docs(markdown(result, f"python benchmarks/page_speed.py --strokes {args.strokes}"))


if __name__ == "__main__":
    main()
