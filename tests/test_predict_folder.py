"""Predicting a folder: the fast preprocessing gives what the slow one gave, and a folder's batched answers are
the answers one file at a time (benchmarks/predict_folder.py measures the speed)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from cnnkit.data.images import open_image
from cnnkit.data.preprocess import blobs, paper_light
from cnnkit.infer import predict, preparing
from tests.support import ROOT, cli, reference_preprocess
from tests.support.drawing import digit_images
from tests.support.photos import ALL, paper_photo, scanned

DIGITS = digit_images(6, seed=3)[0]
PICTURES = [paper_photo(**case) for case in ALL[::9]] + [
    scanned(digit, size, seed=i, light=light, fmt=fmt)
    for i, (digit, size, light, fmt) in enumerate(
        zip(DIGITS, (90, 160, 300, 600, 1200, 257), (0.3, 0.5, 0.9, 0.4, 0.7, 1.0), ("JPEG", "PNG") * 3)
    )
]


@pytest.mark.parametrize("picture", range(len(PICTURES)))
def test_the_papers_light_is_the_rank_filters_closing(picture):
    gray = open_image(PICTURES[picture]).gray
    np.testing.assert_allclose(paper_light(gray), reference_preprocess.paper_light(gray), atol=1 / 255)


def test_blobs_are_the_flood_fills():
    rng = np.random.default_rng(0)
    for _ in range(100):
        mask = rng.random(tuple(rng.integers(1, 40, 2))) < rng.uniform(0.05, 0.7)
        assert (blobs(mask) == reference_preprocess.blobs(mask)).all()


@pytest.fixture
def folder(tmp_path):
    for i, picture in enumerate(PICTURES * 2):
        (tmp_path / f"{i:02d}.png").write_bytes(picture)
    (tmp_path / "notes.png").write_bytes(b"not an image")
    (tmp_path / "torn.png").write_bytes(PICTURES[0][:200])
    return tmp_path


def test_a_folders_answers_are_the_answers_one_file_at_a_time(shipped, folder, monkeypatch):
    monkeypatch.setattr(predict, "BATCH", 5)  # batches of several sizes, a damaged file among them
    files = sorted(str(f) for f in folder.iterdir())
    assert preparing.workers(len(files)) == min(2, len(os.sched_getaffinity(0)))  # prepared by a process pool
    together = list(predict.predict_files(shipped, files))
    for path, answer in zip(files, together, strict=True):
        try:
            alone = predict.predict_image(shipped, path)
        except predict.CnnkitError as exc:
            assert answer == str(exc)
            continue
        assert (answer.path, answer.label, answer.reasons) == (alone.path, alone.label, alone.reasons)
        np.testing.assert_allclose(answer.probabilities, alone.probabilities, atol=1e-5)


def test_predict_of_a_folder_answers_each_image_in_it(shipped, folder):
    run = cli("predict", str(folder), "--json")
    answers = json.loads(run.stdout)
    assert [a["path"] for a in answers] == [str(folder / f"{i:02d}.png") for i in range(2 * len(PICTURES))]
    assert run.returncode == 1 and run.stderr.count("error: ") == 2


def test_predict_starts_without_torchvisions_model_zoo(shipped, folder):
    """Importing torchvision's models (torch._dynamo with them) took ~1 s of a prediction's start."""
    command = [sys.executable, "-X", "importtime", "-m", "cnnkit", "predict", str(folder / "00.png")]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    imported = {line.split("|")[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}
    assert "cnnkit.infer.predict" in imported and "torchvision" not in imported


def test_the_files_prepared_before_torch_was_imported_give_the_same_answers(shipped, folder):
    """``python -m cnnkit predict`` starts preparing its files before it imports torch (~2.6 s of its start)."""
    files = sorted(str(f) for f in folder.iterdir())
    preparing.start_early(["--checkpoint", "shipped.pt", str(folder), "--json"])
    (early,) = preparing._early
    assert early.paths == tuple(files) and early.pool is not None
    together = list(predict.predict_files(shipped, files))
    assert preparing._early == []  # taken over, not started again
    assert [a if isinstance(a, str) else (a.label, a.reasons) for a in together] == [
        a if isinstance(a, str) else (a.label, a.reasons) for a in predict.predict_files(shipped, files)
    ]


def test_preparing_imports_no_torch_and_reads_the_clis_arguments():
    code = "import sys, cnnkit.infer.preparing; print(sorted(m for m in ('torch', 'torchvision') if m in sys.modules))"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.stdout.strip() == "[]", run.stderr
    preparing.start_early(["--bogus", "x.png"] * 20)  # what the CLI's parser will refuse starts nothing
    preparing.start_early(["a.png"])  # nor does one file: not worth a process
    assert preparing._early == []


def test_files_prepared_early_for_a_model_of_other_pictures_are_dropped(folder):
    from tests.support.built_nets import folder_checkpoint

    files = sorted(str(f) for f in folder.iterdir())
    preparing.start_early([str(folder)])
    answers = list(predict.predict_files(folder_checkpoint(), files))
    assert preparing._early == [] and len(answers) == len(files)
    assert sum(isinstance(a, str) for a in answers) == 2  # the two damaged files, read as pictures


def test_a_missing_checkpoint_is_one_line_while_the_files_are_being_prepared_early(tmp_path):
    many = tmp_path / "many"
    many.mkdir()
    for i in range(400):
        (many / f"{i:03d}.png").write_bytes(PICTURES[i % len(PICTURES)])
    run = cli("predict", str(many), "--checkpoint", str(tmp_path / "missing.pt"))
    assert run.returncode != 0 and run.stderr.strip().count("\n") == 0 and "missing.pt" in run.stderr
