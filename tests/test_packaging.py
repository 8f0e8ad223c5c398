"""The package as pip builds it: the wheel holds every subpackage and the data files the code opens (the
locales, the shipped model and its card, the guide's comparison), declares its dependencies and the ``cnnkit``
command, and predicts a drawn digit when it is the only cnnkit on the path."""

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.drawing import draw_digit

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def package_files() -> list[str]:
    """The files of the source tree that the wheel must hold: all of them (modules, and the data the code reads)."""
    files = [p for p in (ROOT / "cnnkit").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return sorted(p.relative_to(ROOT).as_posix() for p in files)


def declared_data() -> list[str]:
    """The package data pyproject.toml declares, as files."""
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["cnnkit"]
    return sorted(p.relative_to(ROOT).as_posix() for pattern in patterns for p in (ROOT / "cnnkit").glob(pattern))


def test_pyproject_declares_the_dependencies_and_the_cnnkit_command():
    project = PYPROJECT["project"]
    names = {dep.split("=")[0].split(">")[0].split("<")[0].strip() for dep in project["dependencies"]}
    assert {"torch", "torchvision", "numpy", "pillow", "streamlit", "safetensors"} <= names
    assert project["scripts"] == {"cnnkit": "cnnkit.cli:main"}
    data = declared_data()
    for needed in (
        "cnnkit/locales/en/",
        "cnnkit/locales/ru/",
        "cnnkit/nets/shipped/mnist_convnet.pt",
        "cnnkit/nets/shipped/README.md",
        "cnnkit/guide/comparison.json",
    ):
        assert any(f.startswith(needed) for f in data), f"{needed} is not declared as package data"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel pip builds from a copy of the project's files (the build writes nothing into the repo)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(ROOT / "cnnkit", source / "cnnkit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            str(source),
            "-w",
            str(tmp / "dist"),
        ],
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (found,) = (tmp / "dist").glob("cnnkit-*.whl")
    return found


@pytest.mark.slow
def test_the_wheel_holds_every_module_and_data_file_and_its_metadata(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        entry_points = z.read(meta.replace("METADATA", "entry_points.txt")).decode()
        requires = [line for line in z.read(meta).decode().splitlines() if line.startswith("Requires-Dist:")]
    missing = [f for f in package_files() if f not in names]
    assert not missing, f"not in the wheel: {missing}"
    assert "cnnkit = cnnkit.cli:main" in entry_points
    assert len([r for r in requires if "extra ==" not in r]) == len(PYPROJECT["project"]["dependencies"])


@pytest.mark.slow
def test_the_installed_files_alone_predict_a_drawn_digit(wheel, tmp_path):
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)  # what pip install puts into site-packages
    elsewhere = tmp_path / "elsewhere"  # neither the repo nor its files on the path
    elsewhere.mkdir()
    draw_digit("7", (75, 40, 130, 200)).save(elsewhere / "seven.png")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CNNKIT_DATA_DIR")}
    env["PYTHONPATH"] = str(site)
    where = subprocess.run(
        [sys.executable, "-c", "import cnnkit; print(cnnkit.__file__)"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout + where.stderr
    run = subprocess.run(
        [sys.executable, "-m", "cnnkit", "predict", "seven.png", "--json"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    (prediction,) = json.loads(run.stdout)
    assert prediction["label"] == "7" and len(prediction["probabilities"]) == 10
