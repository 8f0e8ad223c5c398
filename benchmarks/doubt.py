"""How often the "Not sure" flag is right: its false alarms on answers that are right and its catches of answers
that are wrong, on what people draw (every digit and its other forms, pens, sizes and slants:
``tests.support.photos.drawn_variants``), on real handwriting (MNIST test digits 5000–9999, never used to
calibrate the shipped model), on photos of digits on paper, and on pictures that are no digits.
Run from the repository root, as a module so that ``tests.support`` imports:

    python -m benchmarks.doubt --data-dir ../shared/data/mnist-5k [--checkpoint FILE]
"""

from __future__ import annotations

import argparse
import collections

from cnnkit.data.datasets import load_dataset
from cnnkit.data.images import LoadedImage
from cnnkit.data.preprocess import prepare_digit
from cnnkit.infer.predict import Prediction, load_model, predict_image, predict_steps
from tests.support.photos import ALL, drawn_variants, non_digits, paper_photo


def rates(answers: list[tuple[str, str, Prediction]]) -> str:
    """False alarms on the right answers and catches of the wrong ones, of (truth, what it is, answer)."""
    right = [(what, p) for truth, what, p in answers if p.label == truth]
    wrong = [(what, p) for truth, what, p in answers if p.label != truth]
    alarms = [what for what, p in right if p.unsure]
    caught = sum(p.unsure for _, p in wrong)
    forms = collections.Counter(what.split(" in ")[0] for what in alarms)
    return (
        f"false alarms {len(alarms)}/{len(right)} = {len(alarms) / max(1, len(right)):.1%}"
        + (f" ({', '.join(f'{form}: {n}' for form, n in forms.most_common())})" if forms else "")
        + f"; wrong answers caught {caught}/{len(wrong)}"
    )


def drawings(model) -> list[tuple[str, str, Prediction]]:
    return [(digit, what, predict_image(model, data, "canvas", invert=False)) for digit, what, data in drawn_variants()]


def handwriting(model, data_dir: str) -> list[tuple[str, str, Prediction]]:
    test = load_dataset("mnist", data_dir, download=False).test
    half = len(test) // 2
    return [
        (model.classes[y], model.classes[y], predict_steps(model, prepare_digit(LoadedImage(im.numpy() / 255), False)))
        for im, y in zip(test.images[half:], test.labels[half:].tolist())
    ]


def photos(model) -> list[tuple[str, str, Prediction]]:
    return [(case["digit"], case["digit"], predict_image(model, paper_photo(**case), "photo")) for case in ALL]


def pictures(model) -> str:
    odd = {
        name: predict_image(model, data, name, invert=None if name.startswith(("noise", "red")) else False)
        for name, data in non_digits().items()
    }
    flagged = sum(p.unsure for p in odd.values())
    return f"{flagged}/{len(odd)} flagged; not flagged: " + ", ".join(
        f"{name} (read {p.label} {p.probability:.0%})" for name, p in odd.items() if not p.unsure
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data/mnist-5k")
    parser.add_argument("--checkpoint")
    args = parser.parse_args()
    shipped = load_model(args.checkpoint)
    print(f"drawings ({len(drawn_variants())}): {rates(drawings(shipped))}")
    print(f"MNIST test digits 5000–9999: {rates(handwriting(shipped, args.data_dir))}")
    print(f"photos of digits on paper ({len(ALL)}): {rates(photos(shipped))}")
    print(f"non-digits: {pictures(shipped)}")
