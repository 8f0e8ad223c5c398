"""`cnnkit predict` of a folder of scanned digits, end to end: images/s and how many it read right (docs/inference.md).

It writes ``--files`` scans into a temporary folder: three in four are MNIST test digits (from 5000 on) written in
ink on paper under uneven light, 160 to 1200 pixels a side, JPEG or PNG; one in four are the tests' paper photos
(400×400, pens from a fine liner to a marker). Then it times ``python -m cnnkit predict --json FOLDER`` as a
user runs it, process start included, ``--repeats`` times on the same folder (the median is the figure: on this
shared 2-core machine one run scatters by ±15%). Run from the repository root, as a module so that
``tests.support`` imports:

    python -m benchmarks.predict_folder --data-dir ../shared/data/mnist-5k [--files 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from cnnkit.data.datasets import load_dataset
from tests.support.photos import ALL, paper_photo, scanned

SIZES = (160, 300, 600, 1200)


def write_scans(folder: Path, count: int, data_dir: str) -> dict[str, str]:
    """``count`` image files in ``folder``; returns each file's name → the digit it shows."""
    test = load_dataset("mnist", data_dir, download=False).test
    rng = np.random.default_rng(0)
    truth = {}
    for i in range(count):
        if i % 4 == 3:
            case = ALL[(i // 4) % len(ALL)]
            name, data, digit = f"{i:04d}.jpg", paper_photo(**case), case["digit"]
        else:
            index = 5000 + i
            fmt = ("JPEG", "PNG")[i % 2]
            data = scanned(
                test.images[index].numpy(), int(rng.choice(SIZES)), seed=i, light=rng.uniform(0.35, 0.9), fmt=fmt
            )
            name, digit = f"{i:04d}.{fmt.lower().replace('jpeg', 'jpg')}", str(int(test.labels[index]))
        (folder / name).write_bytes(data)
        truth[name] = digit
    return truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data/mnist-5k")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--checkpoint", help="a checkpoint file (default: the shipped model)")
    parser.add_argument("--repeats", type=int, default=5, help="runs on the same folder; the median is reported")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        truth = write_scans(folder, args.files, args.data_dir)
        command = [sys.executable, "-m", "cnnkit", "predict", "--json", str(folder)]
        command += ["--checkpoint", args.checkpoint] if args.checkpoint else []
        seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            seconds.append(time.perf_counter() - start)
    answers = json.loads(output)
    right = sum(truth[Path(a["path"]).name] == a["label"] for a in answers)
    median = statistics.median(seconds)
    print(
        f"{len(answers)} files in {median:.1f} s (median of {', '.join(f'{s:.1f}' for s in seconds)}): "
        f"{len(answers) / median:.0f} images/s (process start included); read right: {right}/{len(answers)}"
    )


if __name__ == "__main__":
    main()
