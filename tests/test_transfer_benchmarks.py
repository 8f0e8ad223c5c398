"""The transfer learning figures of docs/training.md: the scripts that make them run at a tiny scale and print
their tables, and the drawn letters they train on are what they say."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from PIL import Image

from tests.support import ROOT
from tests.support.letters import LETTERS, draw_letters, letter_image


def _bench(module: str, *args: str) -> tuple[str, dict]:
    out = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", *args, "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    *text, last = out.stdout.strip().splitlines()
    return "\n".join(text), json.loads(last)


def _rows(text: str) -> dict[str, list[str]]:
    """The Markdown table's rows by their second cell (the setting or start)."""
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines() if line.startswith("| ")]
    return {row[1]: row for row in rows[2:]}  # after the header and its rule


def test_the_epoch_timing_prints_cached_and_uncached_epochs_beside_the_plan():
    text, out = _bench("transfer_epochs", "--images", "4", "--backbones", "mobilenet_v3_small", "--epochs", "2")
    rows = _rows(text)
    assert set(rows) == {"cached", "uncached", "fine-tune"}
    assert all(row[0] == "mobilenet_v3_small" for row in rows.values())
    timings = {t["setting"]: t for t in out["timings"]}
    for t in timings.values():
        assert 0 < t["setup_s"] < t["first_epoch_s"] and t["later_epoch_s"] > 0
        assert t["first_epoch_cpu_s"] > 0 and t["later_epoch_cpu_s"] > 0
    assert timings["cached"]["plan_later_s"] == 0 < timings["cached"]["plan_first_s"]  # the head only, on features
    assert timings["uncached"]["plan_first_s"] is None and rows["uncached"][4] == "—"
    assert timings["fine-tune"]["plan_later_s"] > 0
    assert out["train_images"] + out["test_images"] == 12 and out["epochs"] == 2


def test_the_shipped_models_start_against_scratch_prints_every_start():
    args = ("--datasets", "letters", "--seeds", "0", "--epochs", "1", "--letters", "8")
    text, out = _bench("transfer_from_shipped", *args)
    assert set(_rows(text)) == {"shipped, --freeze features", "shipped, --freeze all", "from scratch"}
    learns = {o["start"]: o["learns"] for o in out["outcomes"]}
    parameters = out["outcomes"][0]["parameters"]
    assert learns["shipped, --freeze all"] < learns["shipped, --freeze features"] < learns["from scratch"] == parameters


def _pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path), dtype=float)


def test_drawn_letters_are_grey_28_pixel_images_with_ink_split_into_train_and_test(tmp_path):
    root = draw_letters(tmp_path, train=6, test=3, seed=0)
    for part, count in (("train", 6), ("test", 3)):
        assert sorted(p.name for p in (root / part).iterdir()) == list(LETTERS)
        for letter in LETTERS:
            files = sorted((root / part / letter).glob("*.png"))
            assert len(files) == count
            for f in files:
                img = Image.open(f)
                assert img.mode == "L" and img.size == (28, 28)
                assert np.ptp(_pixels(f)) > 60  # ink on paper, not a blank page
            assert len({f.read_bytes() for f in files}) == count  # no two alike
    again = draw_letters(tmp_path / "again", train=6, test=3, seed=1)
    assert (again / "train" / "A" / "0000.png").read_bytes() != (root / "train" / "A" / "0000.png").read_bytes()


def test_the_letter_decides_the_picture_and_the_board_is_dark():
    pictures = {
        letter: np.asarray(letter_image(letter, np.random.default_rng(5)), dtype=float) for letter in LETTERS
    }  # the same font, size, place and colours: only the letter differs
    for a in LETTERS:
        for b in LETTERS:
            if a < b:
                assert np.abs(pictures[a] - pictures[b]).mean() > 2, (a, b)
    paper = np.asarray(letter_image("A", np.random.default_rng(5)), dtype=float)
    board = np.asarray(letter_image("A", np.random.default_rng(5), dark_paper=True), dtype=float)
    assert np.median(board) < 90 < 160 < np.median(paper)
