"""The app's first page comes up without waiting for torch where torch could only find the CPU (its import takes
~2 s of the cold start; docs/speed.md has the measured cold start), nor for pandas (with pyarrow ~0.6 s)."""

import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from cnnkit.devices import accelerator_possible, list_devices

APP = Path(__file__).resolve().parents[1] / "app.py"
HOME = f"""
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({str(APP)!r}, default_timeout=60).run()
from cnnkit.system import system_report
print(json.dumps({{"exception": bool(at.exception), "torch": "torch" in sys.modules, "pandas": "pandas" in sys.modules,
                  "title": at.title[0].value, "devices": [d.__dict__ for d in system_report().devices]}}))
"""


@pytest.mark.skipif(accelerator_possible(), reason="a machine that may have a GPU asks torch for it")
def test_the_home_page_renders_without_importing_torch_and_lists_what_torch_would():
    run = subprocess.run([sys.executable, "-c", HOME], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    home = json.loads(run.stdout.strip().splitlines()[-1])
    assert not home["exception"] and home["title"] == "cnnkit — the CNN studio"
    assert home["torch"] is False and home["pandas"] is False
    assert home["devices"] == [asdict(d) for d in list_devices()]  # here torch is imported: what it finds
