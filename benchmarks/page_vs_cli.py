"""Is training from the page slower than from the CLI? The same config, alternately, end to end.

    python benchmarks/page_vs_cli.py --data-dir ../shared/data/mnist-5k --epochs 2 --repeats 3
    python benchmarks/page_vs_cli.py --preset fast --epochs 4 --repeats 7 --write-docs
    python benchmarks/page_vs_cli.py --preset notebook --epochs 2 --repeats 7 --write-docs

The CLI run is ``python -m cnnkit train --json``; the page run is a real ``streamlit run app.py`` driven by
headless Chromium (Debian's /usr/bin/chromium), which picks the recipe (``--preset``), sets the live charts
(``--live-charts``), clicks Train and waits for the result while the live view redraws. Both report the same
figure: the seconds spent inside ``cnnkit.train.loop.train`` (epochs plus their test evaluations, without
loading). Runs alternate so that a change in the machine's load hits both.

``--write-docs`` puts the figures, the command, the date and the machine's load between the
``<!-- page-vs-cli:RECIPE:begin -->`` markers of docs/training.md (RECIPE: the preset, or "default"; with
``-charts-off`` when the live charts were off), appended under "The page against the CLI" the first time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from cnnkit.devtools.appserver import running_app
from cnnkit.devtools.browser import chromium, wait_for_app
from cnnkit.errors import CnnkitError
from cnnkit.files import write_atomic
from cnnkit.i18n import text
from cnnkit.train.store import Run, RunStore

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "training.md"
POLL_S = 0.25  # how often the run store is read while the page trains
WAIT_S = 1800.0  # the longest a page run is waited for
SECTION = "### Charts do not slow down as the history grows"  # the blocks go before it, the first time


def cli_seconds(data_dir: str, epochs: int, preset: str | None, runs_dir: Path) -> float:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "cnnkit",
            "train",
            "--data-dir",
            data_dir,
            "--epochs",
            str(epochs),
            "--device",
            "cpu",
            "--json",
            *(["--preset", preset] if preset else []),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, CNNKIT_RUNS_DIR=str(runs_dir)),
    )
    return json.loads(out.stdout.splitlines()[-1])["seconds"]


class PageRunner:
    """One browser tab on the training page; each ``run()`` clicks Train and reads the seconds it reports."""

    def __init__(self, browser, url: str, epochs: int, preset: str | None, live_charts: bool, runs_dir: Path):
        self.runs_dir = runs_dir
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.goto(url)
        wait_for_app(self.page)
        self.page.get_by_role("link", name="Training").click()
        wait_for_app(self.page)
        if preset:  # the recipe's button fills the controls, as the CLI's --preset does
            self.page.get_by_test_id("stMain").get_by_text(text(f"train.recipes.{preset}", "en"), exact=True).click()
            wait_for_app(self.page)
        live = self.page.get_by_role("switch", name=text("train.live_charts", "en"))
        if live.is_checked() != live_charts:
            self.page.get_by_test_id("stMain").get_by_text(text("train.live_charts", "en"), exact=True).click()
            wait_for_app(self.page)
        self.page.get_by_label("Epochs").fill(str(epochs))
        self.page.keyboard.press("Enter")
        wait_for_app(self.page)
        self.runs = 0

    def run(self, watch: Watch | None = None) -> float:
        """Click Train and return the run's seconds, read from the run store once it has ended: polling the page's
        text meanwhile would cost the browser ~0.4 s of CPU per run, which no user spends. ``watch`` is started
        when the run starts training and stopped when it ends. The page's own message is awaited afterwards, so
        that the next click finds the results drawn."""
        self.runs += 1
        self.page.get_by_role("button", name=re.compile(r"^\W*Train$")).click()
        store = RunStore(self.runs_dir)
        self._wait(store, lambda run: run.status != "queued")
        if watch:
            watch.start()
        run = self._wait(store, lambda run: run.ended)
        if watch:
            watch.stop()
        self.page.get_by_text(re.compile(rf"#{self.runs} .*: trained, .* in [\d,.]+ s")).wait_for(timeout=WAIT_S * 1000)
        if run.status != "finished":
            raise SystemExit(f"run #{self.runs} on the page ended {run.status}")
        return run.seconds

    def _wait(self, store: RunStore, until: Callable[[Run], bool]) -> Run:
        """The page's newest run once ``until`` holds for it, reading the store every ``POLL_S`` seconds; the
        benchmark stops with a message when it does not within ``WAIT_S`` (a click that started nothing)."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                run = store.get(self.runs)
            except CnnkitError:  # not created yet
                run = None
            if run is not None and until(run):
                return run
            time.sleep(POLL_S)
        raise SystemExit(f"run #{self.runs} on the page: nothing after {WAIT_S:.0f} s")


class Watch(Protocol):
    """What ``PageRunner.run`` starts and stops around a run's training (benchmarks/page_cpu.py)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def markdown(cli: list[float], page: list[float], args: argparse.Namespace, command: str, load: str) -> str:
    """The run as a table row under its heading: medians, their ratio and every pair's."""
    pairs = ", ".join(f"{b / a:.3f}" for a, b in zip(cli, page))
    ratio = statistics.median(page) / statistics.median(cli)
    return "\n".join(
        [
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `{command}` ({os.cpu_count()} CPU cores, "
            f"load average before and after {load}):",
            "",
            "| recipe, live charts | CLI median | page median | page / CLI | pairs |",
            "| --- | ---: | ---: | ---: | --- |",
            f"| {args.preset or 'default settings'}, {args.epochs} epochs, live charts {args.live_charts} | "
            f"{statistics.median(cli):.1f} s | {statistics.median(page):.1f} s | **{ratio:.3f}** | {pairs} |",
        ]
    )


def write_docs(block: str, name: str) -> None:
    """Replace what stands between the ``name`` markers of docs/training.md, or add them before ``SECTION``."""
    begin, end = f"<!-- page-vs-cli:{name}:begin -->", f"<!-- page-vs-cli:{name}:end -->"
    body = DOC.read_text(encoding="utf-8")
    if begin in body:
        head, rest = body.split(begin, 1)
        body = head + begin + "\n" + block + "\n" + end + rest.split(end, 1)[1]
    else:
        head, rest = body.split(SECTION, 1)
        body = head + begin + "\n" + block + "\n" + end + "\n\n" + SECTION + rest
    write_atomic(DOC, body.encode("utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist-5k"))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--preset", choices=["notebook", "fast"], help="a recipe, on both sides")
    parser.add_argument("--live-charts", choices=["on", "off"], default="on", help="the page's live charts")
    parser.add_argument("--write-docs", action="store_true", help="the figures into docs/training.md")
    args = parser.parse_args()

    cli, page = [], []
    load_before = f"{os.getloadavg()[0]:.2f}"
    # fresh run stores, one for each side: the page's runs are then numbered 1, 2, … (the messages it waits for)
    stores = Path(tempfile.mkdtemp(prefix="cnnkit-page-vs-cli-"))
    os.environ["CNNKIT_RUNS_DIR"] = str(stores / "page")
    with running_app(Path(args.data_dir).resolve()) as url, chromium() as browser:
        runner = PageRunner(browser, url, args.epochs, args.preset, args.live_charts == "on", stores / "page")
        for i in range(args.repeats):
            cli.append(cli_seconds(args.data_dir, args.epochs, args.preset, stores / "cli"))
            page.append(runner.run())
            print(
                f"pair {i + 1}: cli {cli[-1]:.1f} s, page {page[-1]:.1f} s, ratio {page[-1] / cli[-1]:.3f}", flush=True
            )
    ratio = statistics.median(page) / statistics.median(cli)
    print(
        f"median: cli {statistics.median(cli):.1f} s, page {statistics.median(page):.1f} s, "
        f"page/cli {ratio:.3f} (pairs: {', '.join(f'{b / a:.3f}' for a, b in zip(cli, page))})"
    )
    if args.write_docs:
        command = " ".join(["python benchmarks/page_vs_cli.py", *(a for a in sys.argv[1:] if a != "--write-docs")])
        load = f"{load_before} and {os.getloadavg()[0]:.2f}"
        name = (args.preset or "default") + ("" if args.live_charts == "on" else "-charts-off")
        write_docs(markdown(cli, page, args, command, load), name)


if __name__ == "__main__":
    main()
