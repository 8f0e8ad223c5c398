"""Many image files prepared as digits by a process per core, started before torch is imported.

``python -m cnnkit predict FOLDER`` spends ~2.6 s importing torch before it can answer anything. Preparing the
files (opening them, the paper's light, the threshold, centring: ``cnnkit.data.preprocess``) needs no torch, so
``cnnkit.__main__`` starts it first (``start_early``), and ``cnnkit.infer.predict.predict_files`` takes it over
(``take``) once the model is loaded, when the model reads digits. Nothing here imports torch.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnkit.data.images import open_image
from cnnkit.data.preprocess import WORK_SIZE, DigitSteps, prepare_digit
from cnnkit.devices import cpu_cores
from cnnkit.errors import CnnkitError

PER_WORKER = 16  # files a preparing process is worth starting for
CHUNK = 8  # files a process prepares per task


def add_predict_arguments(p: argparse.ArgumentParser) -> None:
    """``cnnkit predict``'s arguments (the CLI's parser and ``start_early``'s)."""
    p.add_argument("images", nargs="+", help="image files or folders of them")
    p.add_argument("--checkpoint", help="a file or a run id (default: the shipped model)")
    p.add_argument("--runs-dir", help="the run store's folder (default: $CNNKIT_RUNS_DIR or ./runs)")
    p.add_argument("--json", action="store_true")


def image_files(names: list[str]) -> list[str]:
    """The files named, a folder standing for the files in it (by name, hidden ones left out)."""
    files = []
    for name in names:
        folder = Path(name)
        if folder.is_dir():
            files += sorted(str(f) for f in folder.iterdir() if f.is_file() and not f.name.startswith("."))
        else:
            files.append(name)
    return files


def read_digit(source: bytes | str | Path, name: str | None = None, invert: bool | None = None) -> DigitSteps:
    """Open an image (a file, an upload or the canvas's PNG) and prepare it as MNIST's digits were."""
    return prepare_digit(open_image(source, name, longest=WORK_SIZE), invert)


def prepared(path: str) -> np.ndarray | str:
    """A file's prepared 28×28 digit, or the message saying why there is none (a process pool's task)."""
    try:
        steps = read_digit(path)
        if steps.problem:
            raise CnnkitError(f"errors.image_{steps.problem}", name=path)
    except CnnkitError as exc:
        return str(exc)
    return steps.centered


def workers(count: int) -> int:
    """Processes worth starting for ``count`` files: one per core, each for at least ``PER_WORKER`` files."""
    return max(1, min(cpu_cores(), count // PER_WORKER))


@dataclass(frozen=True)
class Preparing:
    """``paths`` being prepared, in their order (``digits``), by ``pool`` (None: on this process, as read)."""

    paths: tuple[str, ...]
    pool: ProcessPoolExecutor | None
    digits: Iterator[np.ndarray | str]

    def stop(self) -> None:
        """End the preparing processes (what they have not started is dropped)."""
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


def start(paths: list[str]) -> Preparing:
    """Start preparing ``paths``: a process per core when there are enough of them."""
    count = workers(len(paths))
    pool = ProcessPoolExecutor(count) if count > 1 else None
    digits = pool.map(prepared, paths, chunksize=CHUNK) if pool else map(prepared, paths)
    return Preparing(tuple(paths), pool, digits)


_early: list[Preparing] = []  # what ``start_early`` started, until ``take`` takes it or ``cancel`` stops it


def start_early(argv: list[str]) -> None:
    """Start preparing the files of ``cnnkit predict ARGV`` (its arguments after ``predict``) before torch is
    imported; arguments it cannot read are left to the CLI's parser, which says what is wrong."""
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    add_predict_arguments(parser)
    try:
        args, unknown = parser.parse_known_args(argv)
    except (argparse.ArgumentError, SystemExit):
        return
    paths = image_files(args.images)
    if not unknown and workers(len(paths)) > 1:
        _early.append(start(paths))


def take(paths: list[str]) -> Preparing:
    """The preparing of ``paths``: the one started early when it is of these files, else a new one."""
    early = _early.pop() if _early else None
    if early is not None and early.paths == tuple(paths):
        return early
    if early is not None:
        early.stop()
    return start(paths)


def cancel() -> None:
    """Stop the preparing started early: the model does not read digits."""
    while _early:
        _early.pop().stop()
