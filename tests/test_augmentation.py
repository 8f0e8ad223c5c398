"""Augmentation you set: the preview grid follows its settings, the CLI flags set it, a run keeps it and the
comparison of runs shows it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnkit.cli import build_parser, config_from_args
from cnnkit.data.augmentation import Augmentation, preview
from cnnkit.errors import CnnkitError
from cnnkit.train.comparison import comparison_table
from cnnkit.train.loop import TrainConfig
from cnnkit.train.runner import Runner
from cnnkit.train.store import RunStore


@pytest.fixture(scope="module")
def digit(digits_data):
    return digits_data.train.images[0]


def test_zero_strength_shows_the_image_itself_twelve_times(digit):
    draws = preview(digit, Augmentation())
    assert len(draws) == 12 and all((d == digit.numpy()).all() for d in draws)


@pytest.mark.parametrize("setting", ["rotation", "shift", "scale", "shear"])
def test_each_strength_moves_the_ink_differently_in_each_draw(digit, setting):
    strength = {"rotation": 30.0, "shift": 0.2, "scale": 0.3, "shear": 30.0}[setting]
    draws = preview(digit, Augmentation(**{setting: strength}))
    assert all((d != digit.numpy()).any() for d in draws)
    assert len({d.tobytes() for d in draws}) >= 8  # whole-pixel shifts may repeat


def test_erasing_blacks_out_part_of_the_image(digit):
    draws = preview(digit, Augmentation(erasing=1.0))
    ink = digit.numpy().astype(int).sum()
    assert all(d.astype(int).sum() <= ink for d in draws) and sum(d.astype(int).sum() < ink for d in draws) >= 3


def test_colour_settings_change_colour_images_only(digit):
    rgb = np.random.default_rng(0).integers(0, 256, (3, 16, 16), dtype=np.uint8)
    colour = preview(torch.from_numpy(rgb), Augmentation(color_jitter=0.5, flip=True))
    assert colour[0].shape == (16, 16, 3) and any((d != rgb.transpose(1, 2, 0)).any() for d in colour)
    assert all((d == digit.numpy()).all() for d in preview(digit, Augmentation(color_jitter=0.5, flip=True)))


def test_out_of_range_strength_is_refused_with_its_name():
    with pytest.raises(CnnkitError) as caught:
        TrainConfig(rotation=500).validate()
    assert "rotation" in str(caught.value)


def test_the_command_line_sets_every_strength():
    args = build_parser().parse_args(
        "train --rotation 15 --shift 0.1 --scale 0.2 --shear 10 --erasing 0.5 --flip --color-jitter 0.3".split()
    )
    assert config_from_args(args).augmentation == Augmentation(
        rotation=15, shift=0.1, scale=0.2, shear=10, erasing=0.5, flip=True, color_jitter=0.3
    )


def test_a_run_keeps_its_augmentation_and_the_comparison_shows_it(small_digits, tmp_path):
    store = RunStore(tmp_path / "runs")
    plain = TrainConfig(batch_size=64, device="cpu", train_subset=128)
    moved = TrainConfig(batch_size=64, device="cpu", train_subset=128, rotation=20.0, erasing=0.5)
    for config in (plain, moved):
        Runner(store, config, small_digits).train()
    runs = store.list()
    assert {r.train_config.augmentation.rotation for r in runs} == {0.0, 20.0}
    rows, _ = comparison_table(sorted(runs, key=lambda r: r.id))
    assert [row["Rotation (°)"] for row in rows] == ["0", "20"]
    assert [row["Random erasing (chance)"] for row in rows] == ["0", "0.5"]
