"""Filters and maps through the epochs: every run keeps, from epoch 0 (the random start) on, the first layer's
kernels, the feature maps of its conv blocks for one test image and its answer, small whatever the network, safe
to read; a resumed run continues them."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from cnnkit.data.datasets import Dataset, Split
from cnnkit.errors import CnnkitError
from cnnkit.nets.builder import ModelConfig, build_model
from cnnkit.nets.layers import build, parse_spec
from cnnkit.train import snapshots
from cnnkit.train.loop import TrainConfig
from cnnkit.train.runner import Runner
from cnnkit.train.store import SNAPSHOTS, RunStore
from tests.support.pages import open_page, texts
from tests.test_runner import breaking_in_epoch_2

WIDE = "conv(256,31,padding=15) relu conv(256,3,stride=2) relu conv(128,3,padding=1) relu conv(64,3) flatten linear"
NO_CONV = "flatten linear(32) relu linear"
CONV_NOT_FIRST = "maxpool(2) conv(6,5,padding=2) relu flatten linear"


def config(layers: str | None = None, epochs: int = 2) -> TrainConfig:
    model = ModelConfig(layers=parse_spec(layers)) if layers else ModelConfig()
    return TrainConfig(dataset="mnist", model=model, epochs=epochs, batch_size=32, device="cpu", train_subset=200)


def colour_data(data: Dataset, size: int = 64) -> Dataset:
    """The digits as 64×64 colour images, the largest images a run may have."""
    images = data.test.images[:4].repeat(1, 3, 3)[:, :size, :size]
    test = Split(images[:, None].repeat(1, 3, 1, 1).contiguous(), data.test.labels[:4])
    return Dataset(replace(data.info, channels=3, size=size), test, test, "colour digits")


def test_a_wide_network_keeps_a_bounded_few_hundred_kb(small_digits, tmp_path):
    data = colour_data(small_digits)
    model = build(parse_spec(WIDE), (3, 64, 64), 10)
    frame, kept = snapshots.take(model, data, 0), None
    for epoch in range(60):  # the network's frames are alike: their size is what counts
        kept = snapshots.joined(kept, replace(frame, epochs=(epoch,)))
    size = len(snapshots.to_bytes(kept))
    assert size < 500_000, f"{size} bytes for one run"
    assert kept.epochs[0] == 0 and kept.epochs[-1] == 59 and len(kept.epochs) <= snapshots.MAX_FRAMES
    assert kept.kernel_count == 256 and kept.map_counts == (256, 128, 64)  # what the network has, not what is kept
    back = snapshots.from_bytes(snapshots.to_bytes(kept))
    assert back.epochs == kept.epochs and np.array_equal(back.maps[2], kept.maps[2])


def test_epoch_0_is_the_random_start_and_training_changes_the_kernels(small_digits, tmp_path):
    store = RunStore(tmp_path / "runs")
    runner = Runner(store, config(), small_digits)
    runner.train()
    kept = store.snapshots(runner.run_id)
    assert kept.epochs == (0, 1, 2)
    torch.manual_seed(0)  # epoch 0 is the network before any step: built again from the run's seed
    fresh = build_model(config().model.for_data(small_digits.info))
    assert np.allclose(kept.kernels[0], snapshots.take(fresh, small_digits, 0).kernels[0], atol=1e-3)
    assert not np.allclose(kept.kernels[0], kept.kernels[-1], atol=1e-3)
    assert not np.array_equal(kept.maps[0][0], kept.maps[0][-1])
    assert kept.label == int(small_digits.test.labels[0])
    assert kept.outputs.shape == (3, 10) and np.allclose(kept.outputs.astype(float).sum(1), 1, atol=0.01)
    assert (tmp_path / "runs" / str(runner.run_id) / SNAPSHOTS).stat().st_size < 100_000


@pytest.mark.parametrize("layers", [NO_CONV, CONV_NOT_FIRST])
def test_any_built_network(layers, small_digits, tmp_path):
    store = RunStore(tmp_path / "runs")
    runner = Runner(store, config(layers, epochs=1), small_digits)
    runner.train()
    kept = store.snapshots(runner.run_id)
    assert kept.epochs == (0, 1) and kept.outputs.shape == (2, 10)
    if layers == NO_CONV:
        assert kept.kernels is None and kept.blocks == ()
    else:
        assert kept.kernels.shape == (2, 6, 1, 5, 5) and kept.blocks == ("conv1",)
        assert kept.maps[0].shape[2:] == (14, 14)  # after the pooling that comes first


def test_a_resumed_run_continues_its_snapshots(small_digits, tmp_path, monkeypatch):
    store = RunStore(tmp_path / "runs")
    breaking_in_epoch_2(monkeypatch, KeyboardInterrupt())
    runner = Runner(store, config(), small_digits)
    with pytest.raises(KeyboardInterrupt):
        runner.train()
    before = store.snapshots(runner.run_id)
    assert before.epochs == (0, 1)
    monkeypatch.undo()
    Runner(store, config(), small_digits, run_id=runner.run_id, resume=store.resume_state(runner.run_id)).train()
    after = store.snapshots(runner.run_id)
    assert after.epochs == (0, 1, 2)
    assert np.array_equal(after.kernels[:2], before.kernels)


def test_long_runs_keep_evenly_spaced_epochs_with_the_first_and_the_newest():
    for last in (20, 21, 45, 100):
        epochs = list(range(last + 1))
        kept = [epochs[i] for i in snapshots.thinned(epochs)]
        assert kept[0] == 0 and kept[-1] == last and len(kept) <= snapshots.MAX_FRAMES
        gaps = {b - a for a, b in zip(kept[:-2], kept[1:-1])}
        assert len(gaps) <= 1 and (last > 20 or gaps == {1})


def small_file(small_digits, **changes) -> bytes:
    model = build(parse_spec(CONV_NOT_FIRST), (1, 28, 28), 10)
    return snapshots.to_bytes(replace(snapshots.take(model, small_digits, 0), **changes))


@pytest.mark.parametrize(
    "damage",
    [
        lambda good: b"not a safetensors file at all",
        lambda good: good[: len(good) // 2],
        lambda good: good[:8] + good[8:].replace(b"conv1", b"conv1\x00", 1),
        lambda good: b"\xff" * 8 + good[8:],
    ],
)
def test_a_damaged_file_is_refused_with_the_run_named(damage, small_digits, tmp_path):
    store = RunStore(tmp_path / "runs")
    run_id = store.create(config())
    (store.folder(run_id) / SNAPSHOTS).write_bytes(damage(small_file(small_digits)))
    with pytest.raises(CnnkitError) as caught:
        store.snapshots(run_id)
    assert caught.value.key == "runs.errors.bad_snapshots" and f"{run_id}" in caught.value.message("en")


@pytest.mark.parametrize(
    "changes",
    [
        {"maps": (np.zeros((1, 8, 200, 200), np.uint8),)},  # maps larger than kept
        {"kernels": np.zeros((1, 999, 1, 5, 5), np.float16)},  # more kernels than kept
        {"label": 12},  # a class the run does not have
        {"outputs": np.full((1, 10), np.nan, np.float16)},
        {"epochs": (3,), "outputs": np.zeros((2, 10), np.float16)},  # frames that do not match
    ],
)
def test_a_file_out_of_bounds_is_refused(changes, small_digits):
    with pytest.raises(ValueError):
        snapshots.from_bytes(small_file(small_digits, **changes))


def test_a_run_without_snapshots_has_none(tmp_path):
    store = RunStore(tmp_path / "runs")
    assert store.snapshots(store.create(config())) is None


# The training page


@pytest.fixture
def kept_run(small_digits, runs_dir, page_digits, monkeypatch) -> int:
    """A finished 2-epoch run in the page's run store; its id."""
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(page_digits))
    runner = Runner(RunStore(runs_dir), config(), small_digits)
    runner.train()
    return runner.run_id


def charts(at) -> dict:
    """The page's snapshot charts by their key's end (``answer``, ``kernels``, ``maps_0``, …) as Plotly specs."""
    found = {}
    for chart in at.get("plotly_chart"):
        key = chart.proto.id.split("train_snap_")[-1] if "train_snap_" in chart.proto.id else None
        if key:
            found[key.split("-")[0]] = json.loads(chart.proto.spec)
    return found


def test_a_finished_run_goes_through_its_epochs_with_the_slider_and_play(kept_run):
    at = open_page("pages/train.py", run=str(kept_run))
    slider = at.select_slider(key=f"train_snap_epoch_{kept_run}")
    assert slider.options == ["0 (random start)", "1", "2"] and slider.value == 2
    last = charts(at)
    assert "**Epoch 2: the answer is" in texts(at.markdown)
    slider.set_value(0).run()
    start = charts(at)
    assert "**Epoch 0: the answer is" in texts(at.markdown)
    assert start["kernels"]["data"][0]["z"] != last["kernels"]["data"][0]["z"]
    assert start["maps_0"]["data"][0]["z"] != last["maps_0"]["data"][0]["z"]
    at.toggle(key=f"train_snap_play_{kept_run}").set_value(True).run()  # play: the next epoch at each step
    assert at.select_slider(key=f"train_snap_epoch_{kept_run}").value == 1
    assert not at.exception


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_an_old_run_without_snapshots_gets_a_note(kept_run, runs_dir, lang):
    (runs_dir / str(kept_run) / SNAPSHOTS).unlink()
    at = open_page("pages/train.py", lang, run=str(kept_run))
    note = {"en": "trained before cnnkit kept snapshots", "ru": "обучен до того, как cnnkit стал сохранять снимки"}
    assert note[lang] in " ".join(i.value for i in at.info) and not at.exception


def test_a_damaged_snapshot_file_gives_a_message_not_a_traceback(kept_run, runs_dir):
    (runs_dir / str(kept_run) / SNAPSHOTS).write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    at = open_page("pages/train.py", run=str(kept_run))
    assert f"The epoch snapshots of run {kept_run} are damaged" in " ".join(w.value for w in at.warning)
    assert not at.exception and "Traceback" not in str(at)


def test_the_live_pictures_colour_the_kernels_and_maps_as_the_figures_do_and_change_with_the_epoch(
    small_digits, tmp_path
):
    from cnnkit.train import snapshot_charts as charts

    store = RunStore(tmp_path / "runs")
    runner = Runner(store, config(), small_digits)
    runner.train()
    kept = store.snapshots(runner.run_id)
    figure = charts.maps_figures(kept, 2, "en")[0]
    (picture, title), *_ = charts.maps_pictures(kept, 2, "ru")
    assert title == charts.maps_figures(kept, 2, "ru")[0].layout.title.text
    z = np.asarray(figure.data[0].z, dtype=float)  # the heat map's values, NaN in the gaps
    scale = picture.shape[1] // z.shape[1]
    assert picture.shape[:2] == (z.shape[0] * scale, z.shape[1] * scale) and picture.dtype == np.uint8
    assert (picture[::scale, ::scale][np.isnan(z)] == 255).all()  # the gaps white
    darkest, brightest = np.unravel_index(np.nanargmin(z), z.shape), np.unravel_index(np.nanargmax(z), z.shape)
    viridis_low, viridis_high = (68, 1, 84), (253, 231, 37)
    assert np.abs(picture[darkest[0] * scale, darkest[1] * scale].astype(int) - viridis_low).max() <= 2
    assert np.abs(picture[brightest[0] * scale, brightest[1] * scale].astype(int) - viridis_high).max() <= 2
    first, _ = charts.kernels_picture(kept, 0, "en")
    last, kernels_title = charts.kernels_picture(kept, 2, "en")
    assert first.shape == last.shape and not np.array_equal(first, last)  # the kernels learned
    assert kernels_title == charts.kernels_figure(kept, 2, "en").layout.title.text
    again, _ = charts.kernels_picture(kept, 2, "en")
    assert np.array_equal(again, last)  # the same frame is the same picture: the browser keeps it
