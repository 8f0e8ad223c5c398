"""The figures of docs/inference.md's "Answers you can trust": calibration error and photo reading across pen
widths, on the pictures the tests make (tests/support/photos.py); the "Not sure" flag's are benchmarks/doubt.py's.
Run from the repository root, as a module so that ``tests.support`` imports:

    python -m benchmarks.trust --data-dir ../shared/data/mnist-5k [--sections calibration,photos]
"""

from __future__ import annotations

import argparse
import collections

from cnnkit.data.datasets import load_dataset
from cnnkit.infer.predict import load_model, predict_image
from cnnkit.train.calibration import expected_calibration_error, features_and_logits
from tests.support.photos import ALL, paper_photo


def calibration(model, data) -> None:
    half = len(data.test) // 2
    x = (data.test.images[half:].unsqueeze(1).float() / 255 - model.mean) / model.std
    _, logits = features_and_logits(model.model, x)
    y = data.test.labels[half:].numpy()
    before = expected_calibration_error(logits.softmax(1).numpy(), y)
    after = expected_calibration_error((logits / model.temperature).softmax(1).numpy(), y)
    print(
        f"calibration: T = {model.temperature}; ECE on test images {half}–{len(data.test) - 1} (not used to fit "
        f"T): {before:.2%} before, {after:.2%} after; fitted on: {model.calibration.get('on')}"
    )


def photos(model, _data) -> None:
    right = collections.Counter()
    total = collections.Counter()
    for case in ALL:
        total[case["stroke"]] += 1
        right[case["stroke"]] += predict_image(model, paper_photo(**case), "photo").label == case["digit"]
    print(
        "photos read right, by pen width: "
        + ", ".join(f"{s:.0%}: {right[s]}/{total[s]}" for s in sorted(total))
        + f"; all: {sum(right.values())}/{len(ALL)}"
    )


SECTIONS = {"calibration": calibration, "photos": photos}

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data/mnist-5k")
    parser.add_argument("--checkpoint")
    parser.add_argument("--sections", default=",".join(SECTIONS))
    args = parser.parse_args()
    shipped, mnist = load_model(args.checkpoint), load_dataset("mnist", args.data_dir, download=False)
    for section in args.sections.split(","):
        SECTIONS[section](shipped, mnist)
