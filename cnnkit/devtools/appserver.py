"""``streamlit run app.py`` headless on a free loopback port, for the benchmarks and the browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from cnnkit.errors import CnnkitError

ROOT = Path(__file__).resolve().parents[2]  # the project's checkout, where app.py is


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(
    data_dir: str | None = None,
    timeout: float = 120.0,
    log: IO | int = subprocess.DEVNULL,
    runs_dir: str | None = None,
    script: str | Path = "app.py",
) -> Iterator[str]:
    """Start the app (or another ``script``) with ``CNNKIT_DATA_DIR=data_dir`` (and ``CNNKIT_RUNS_DIR=runs_dir``);
    yield its URL once its health check answers."""
    env = dict(
        os.environ,
        **({"CNNKIT_DATA_DIR": str(data_dir)} if data_dir else {}),
        **({"CNNKIT_RUNS_DIR": str(runs_dir)} if runs_dir else {}),
    )
    url = f"http://127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(script),
            "--server.headless",
            "true",
            "--server.port",
            url.rsplit(":", 1)[1],
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.perf_counter() + timeout
        while True:
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    raise CnnkitError("errors.appserver_exited") from None
                if time.perf_counter() > deadline:
                    raise CnnkitError("errors.appserver_timeout", seconds=round(timeout)) from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
