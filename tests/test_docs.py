"""The README and the docs name only what exists: every ``cnnkit…`` or ``tests…`` name they mention imports (the
module, then each attribute), every file of the repo they show or link to exists, every ``cnnkit`` command they
show answers ``--help``, the Python version is pyproject's and every dependency is named with why it was chosen."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import tomllib
from itertools import product
from pathlib import Path

import pytest

from tests.support import ROOT

DOCS = sorted(
    {
        ROOT / "README.md",
        *(ROOT / "docs").rglob("*.md"),
        *(ROOT / "cnnkit").rglob("README.md"),
        *(ROOT / "benchmarks").rglob("*.md"),
    }
)
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

_FENCED = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
_INLINE = re.compile(r"`([^`\n]+)`")
_DOTTED = re.compile(r"(?<![\w./-])((?:cnnkit|tests|benchmarks)(?:\.\w+)+)")
_FROM_IMPORT = re.compile(r"from\s+((?:cnnkit|tests)(?:\.\w+)*)\s+import\s+(\([^)]*\)|[\w ,]+)")
_PATH = re.compile(
    r"(?<![\w./-])((?:cnnkit|pages|tests|benchmarks|docs|\.streamlit|\.ci)/"
    r"(?:\{[^}\s]*\}|[^\s`'\"()\[\],;:{}])*)"
)
_LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")
_WORD = r"[ \t]+([a-z][\w-]*)(?=\s|$)"  # a command word: not an option, not a file name
_COMMAND = re.compile(rf"(?:-m[ \t]+cnnkit|(?<![\w./-])cnnkit){_WORD}(?:{_WORD})?")


def _text(doc: Path) -> str:
    return doc.read_text(encoding="utf-8")


def _where(doc: Path) -> str:
    return doc.relative_to(ROOT).as_posix()


def code_of(text: str) -> list[str]:
    """The fenced blocks and the inline code spans of a Markdown text, each on its own."""
    blocks = _FENCED.findall(text)
    return [*blocks, *_INLINE.findall(_FENCED.sub("", text))]


def named(text: str) -> set[str]:
    """The dotted names a text mentions: ``cnnkit.a.b`` as written, ``from cnnkit.a import x, y`` as
    ``cnnkit.a.x`` and ``cnnkit.a.y``."""
    names = set(_DOTTED.findall(text))
    for module, imported in _FROM_IMPORT.findall(text):
        names |= {
            f"{module}.{name.split(' as ')[0].strip()}" for name in imported.strip("()").split(",") if name.strip()
        }
    return names


def repo_paths(text: str) -> set[str]:
    """The repo paths a text shows (``cnnkit/…``, ``pages/…``, ``tests/…``, ``benchmarks/…``, ``docs/…``)."""
    return {path.rstrip(".") for path in _PATH.findall(text)}


def commands(text: str) -> set[tuple[str, ...]]:
    """The ``cnnkit`` commands (with a subcommand when one follows) shown in a text's code."""
    found = set()
    for code in code_of(text):
        for command, sub in _COMMAND.findall(code):
            found.add((command, sub) if sub else (command,))
    return found


def _mentions(extract) -> dict:
    """Each thing ``extract`` finds in the docs, with the docs that mention it."""
    where: dict = {}
    for doc in DOCS:
        for thing in extract(_text(doc)):
            where.setdefault(thing, []).append(_where(doc))
    return where


def resolve(dotted: str):
    """The object a dotted name names: a module imported part by part, then attributes."""
    first, *rest = dotted.split(".")
    obj, path = importlib.import_module(first), first
    for part in rest:
        path = f"{path}.{part}"
        if not hasattr(obj, part) and hasattr(obj, "__path__"):
            importlib.import_module(path)
        obj = getattr(obj, part)
    return obj


def expanded(path: str) -> list[str]:
    """A path with ``{a,b}`` alternatives spelled out and ``<placeholder>`` or ``*`` as a glob."""
    parts = [p.split(",") if i % 2 else [p] for i, p in enumerate(re.split(r"\{([^}]*)\}", path))]
    return [re.sub(r"<[^>]*>", "*", "".join(choice)) for choice in product(*parts)]


def exists(path: str) -> bool:
    """Whether every spelling of ``path`` names something in the repo (a glob: at least one thing)."""
    return all(any(ROOT.glob(p.rstrip("/"))) if "*" in p else (ROOT / p).exists() for p in expanded(path))


NAMES = _mentions(named)
PATHS = _mentions(repo_paths)
LINKS = {
    (_where(doc), target) for doc in DOCS for target in _LINK.findall(_text(doc)) if not re.match(r"[a-z]+:", target)
}


@pytest.mark.parametrize("dotted", sorted(n for n in NAMES if not n.startswith("benchmarks.")))
def test_every_dotted_name_imports(dotted):
    try:
        resolve(dotted)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"{dotted} (in {', '.join(NAMES[dotted])}) does not exist: {exc}")


@pytest.mark.parametrize("dotted", sorted(n for n in NAMES if n.startswith("benchmarks.")))
def test_every_benchmark_module_exists(dotted):
    """Benchmarks are scripts that run when imported, so their file is looked for instead."""
    assert (ROOT / (dotted.replace(".", "/") + ".py")).is_file(), f"{dotted} is named in {NAMES[dotted]}"


@pytest.mark.parametrize("path", sorted(PATHS))
def test_every_repo_path_exists(path):
    assert exists(path), f"{path} (in {', '.join(PATHS[path])}) is not in the repo"


@pytest.mark.parametrize("doc, target", sorted(LINKS))
def test_every_link_finds_its_file(doc, target):
    assert ((ROOT / doc).parent / target).exists(), f"{doc} links to {target}, which is not there"


_HELP = """
import contextlib, io, json, runpy, sys
codes = {}
for argv in json.loads(sys.argv[1]):
    sys.argv = ["cnnkit", *argv, "--help"]
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            runpy.run_module("cnnkit", run_name="__main__", alter_sys=True)
        codes[" ".join(argv)] = "no exit"
    except SystemExit as exc:
        codes[" ".join(argv)] = exc.code or 0
print(json.dumps(codes))
"""


def test_every_command_shown_answers_help():
    """``python -m cnnkit CMD [SUB] --help`` for each command the docs show, all in one process (torch loads once)."""
    shown = _mentions(commands)
    assert {("train",), ("runs", "list")} <= set(shown), "the commands were not found in the docs"
    done = subprocess.run(
        [sys.executable, "-c", _HELP, json.dumps(sorted(shown))], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    codes = json.loads(done.stdout.splitlines()[-1])
    failed = {
        f"cnnkit {cmd} (in {', '.join(shown[tuple(cmd.split())])})": code for cmd, code in codes.items() if code != 0
    }
    assert not failed, f"these commands do not answer --help: {failed}"


def test_readme_names_the_python_version_pyproject_requires():
    required = PYPROJECT["project"]["requires-python"].removeprefix(">=")
    assert set(re.findall(r"Python (3\.\d+)\+", _text(ROOT / "README.md"))) == {required}


def _dependency_names() -> list[str]:
    declared = [*PYPROJECT["project"]["dependencies"], *PYPROJECT["project"]["optional-dependencies"]["dev"]]
    return [re.split(r"[<>=!~\[; ]", dep, maxsplit=1)[0] for dep in declared]


def test_readme_says_why_each_dependency_was_chosen():
    section = _text(ROOT / "README.md").partition("\n## Dependencies\n")[2].split("\n## ")[0]
    reasons = [line for line in section.splitlines() if line.startswith("- ") and ": " in line]
    explained = {name.lower() for line in reasons for name in re.findall(r"\*\*([\w.-]+)\*\*", line)}
    missing = [name for name in _dependency_names() if name.lower() not in explained]
    assert not missing, f"README's Dependencies section does not say why these were chosen: {missing}"
