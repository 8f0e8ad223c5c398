""""Not sure": calibrated probabilities, and doubtful answers flagged with reasons in words — on pictures
that are no digits (noise, shapes, letters, an X, a red/green picture) the tests make, while clean digits
stay unflagged."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from cnnkit.cli import main
from cnnkit.data.datasets import Split
from cnnkit.infer.calibration import calibrate, expected_calibration_error, fit_temperature
from cnnkit.infer.predict import DEFAULT_CHECKPOINT, load_model, predict_image
from cnnkit.infer.unsure import REASONS, reason_text
from tests.support.drawing import BOXES, draw_digit, png
from tests.support.photos import canvas_digits, non_digits, noise

@pytest.fixture(scope="module")
def shipped():
    if not DEFAULT_CHECKPOINT.is_file():
        pytest.skip(f"the shipped model {DEFAULT_CHECKPOINT} is absent")
    return load_model()


def test_temperature_fitted_by_hand_and_ece_by_hand():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 2000)
    logits = rng.normal(0, 1, (2000, 3))
    logits[np.arange(2000), labels] += 1.5
    import torch
    overconfident = torch.tensor(logits * 4.0)  # the same ranking, 4× too sharp
    t = fit_temperature(overconfident, torch.tensor(labels))
    grid = np.exp(np.linspace(np.log(0.5), np.log(20), 400))
    nll = [float(torch.nn.functional.cross_entropy(overconfident / g, torch.tensor(labels))) for g in grid]
    assert t == pytest.approx(grid[int(np.argmin(nll))], rel=0.02) and t > 2
    # two bins by hand: 0.95 confidence with 1 of 2 right, 0.55 with 2 of 2 right → ½·0.45 + ½·0.45
    probs = np.array([[0.95, 0.05], [0.95, 0.05], [0.55, 0.45], [0.55, 0.45]])
    assert expected_calibration_error(probs, np.array([0, 1, 0, 0])) == pytest.approx(0.45)


def test_the_shipped_model_is_calibrated_and_keeps_its_answers(shipped):
    assert shipped.temperature > 1  # it was overconfident
    facts = shipped.calibration
    assert facts["ece_after"] < facts["ece_before"] and facts["images"] == 5000 and len(facts["centres"]) == 10 \
        and facts["far"] > 0
    assert shipped.metrics["test_accuracy"] == pytest.approx(0.9897)


def test_calibrating_on_held_back_images_stores_the_temperature(shipped, tmp_path):
    from dataclasses import replace
    from cnnkit.nets.checkpoints import load_checkpoint, save_checkpoint

    rng = np.random.default_rng(1)
    images = np.zeros((300, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 300)
    for i, y in enumerate(labels):  # the canvas's digits, reduced to 28×28 as MNIST's
        images[i] = np.asarray(draw_digit(str(y), BOXES[i % 4], 22).resize((28, 28), Image.Resampling.BOX))
    import torch
    raw = replace(shipped, temperature=1.0, calibration={})
    tuned = calibrate(raw, Split(torch.tensor(images), torch.tensor(labels)), "drawn digits")
    again = load_checkpoint(save_checkpoint(tuned, tmp_path / "m.pt"))
    assert again.temperature == tuned.temperature != 1.0 and again.calibration["on"] == "drawn digits"


def test_clean_drawn_digits_stay_unflagged(shipped):
    flagged = [f"{d}: {p.reasons}" for d, data in canvas_digits()
               if (p := predict_image(shipped, data, "canvas", invert=False)).unsure]
    assert len(flagged) <= 2, flagged  # of 40


def test_non_digits_are_flagged_with_reasons_in_words(shipped):
    pictures = non_digits()
    preds = {name: predict_image(shipped, data, name, invert=None if name.startswith(("noise", "red")) else False)
             for name, data in pictures.items()}
    missed = [f"{name} → {p.label} {p.probability:.0%}" for name, p in preds.items() if not p.unsure]
    assert len(missed) <= 5, missed  # of 18; docs/inference.md lists the ones it misses
    for name in ("noise 0", "red/green picture", "letter X", "two dots"):
        assert preds[name].unsure, (name, preds[name].label, preds[name].probability)
    assert all(set(p.reasons) <= set(REASONS) for p in preds.values())
    assert "scattered" in preds["two dots"].reasons
    for lang in ("en", "ru"):
        words = reason_text(preds["noise 0"].reasons, lang)
        assert words and "⟨" not in words


def test_predict_json_rows_carry_unsure_and_reason(tmp_path, capsys, shipped):
    digit, noisy = tmp_path / "seven.png", tmp_path / "noise.png"
    digit.write_bytes(png(draw_digit("7", BOXES[0], 20, dark_on_light=True)))
    noisy.write_bytes(noise(0))
    assert main(["predict", str(digit), str(noisy), "--json"]) == 0
    seven, static = json.loads(capsys.readouterr().out)
    assert seven["label"] == "7" and seven["unsure"] is False and seven["reason"] == ""
    assert static["unsure"] is True and len(static["reason"]) > 20
