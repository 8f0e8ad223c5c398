"""What the browser and the server spend while the training page trains: CPU seconds from /proc, per process kind.

    python -m benchmarks.page_cpu --data-dir ../shared/data/mnist-5k --preset fast --epochs 4 --runs 3

A real ``streamlit run app.py`` and headless Chromium (``benchmarks.page_vs_cli.PageRunner``) train ``--runs``
times after one warm-up run; for each, the CPU time (user + system, from ``/proc/PID/stat``) that Chromium's
processes (by their ``--type``: renderer, gpu-process, …) and the server used from the moment the run store says
the run is training to the moment it has ended. On a 2-core machine every CPU second of the browser is taken
from torch's two threads, which is why the page trains slower than the CLI (docs/training.md). Linux only.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import tempfile
from pathlib import Path

from benchmarks.page_vs_cli import PageRunner
from cnnkit.devtools.appserver import running_app
from cnnkit.devtools.browser import chromium

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pattern: str) -> dict[str, float]:
    """CPU seconds so far of the processes whose command line matches ``pattern``, by their ``--type``."""
    found: dict[str, float] = {}
    for pid in subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split():
        try:
            kind = re.search(r"--type=([\w-]+)", Path(f"/proc/{pid}/cmdline").read_text())
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        name = kind.group(1) if kind else "main"
        found[name] = found.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / TICKS
    return found


class CpuWatch:
    """The CPU seconds Chromium's processes and the server used between ``start`` and ``stop``."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self._before: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        browser = {f"chromium {kind}": s for kind, s in cpu_seconds("chromium").items()}
        return browser | {"server": sum(cpu_seconds("streamlit run").values())}

    def start(self) -> None:
        self._before = self._now()

    def stop(self) -> None:
        self.spent = {name: s - self._before.get(name, 0.0) for name, s in self._now().items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data/mnist-5k")
    parser.add_argument("--preset", choices=["notebook", "fast"], default="fast")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--live-charts", choices=["on", "off"], default="on")
    args = parser.parse_args()
    runs_dir = Path(tempfile.mkdtemp(prefix="cnnkit-page-cpu-"))
    os.environ["CNNKIT_RUNS_DIR"] = str(runs_dir)
    rows = []
    with running_app(Path(args.data_dir).resolve()) as url, chromium() as browser:
        runner = PageRunner(browser, url, args.epochs, args.preset, args.live_charts == "on", runs_dir)
        runner.run()  # warm-up: the first run of a server loads what the next ones find ready
        for _ in range(args.runs):
            watch = CpuWatch()
            seconds = runner.run(watch)
            rows.append(watch.spent | {"training": seconds})
            print(", ".join(f"{name} {s:.2f} s" for name, s in sorted(rows[-1].items())), flush=True)
    names = sorted({name for row in rows for name in row})
    medians = {name: statistics.median(row.get(name, 0.0) for row in rows) for name in names}
    spent = ", ".join(f"{name} {s:.2f} s" for name, s in medians.items())
    print(f"median ({args.preset}, live charts {args.live_charts}): {spent}")


if __name__ == "__main__":
    main()
