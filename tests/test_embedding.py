"""The map of test images: features and their projections, the colouring and the mistakes of the figure, the
map files of a run, the t-SNE in the background, a drawing placed on the map (engine and drawing page)."""

from __future__ import annotations

import io
import os
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from cnnkit.data.datasets import subset
from cnnkit.infer import embedding
from cnnkit.infer.charts import images_map_figure
from cnnkit.infer.embedding import (
    TSNE_JOBS,
    cached_map,
    feature_map,
    load_map,
    map_file,
    penultimate,
    place_input,
    with_tsne,
)
from cnnkit.nets.builder import ModelConfig
from cnnkit.train.loop import TrainConfig
from cnnkit.train.runner import Runner
from cnnkit.train.store import RunStore
from tests.support.pages import draw_page, upload


@pytest.fixture(scope="module")
def digit_map(shipped, digits_data):
    return feature_map(shipped.model, digits_data.test, shipped.mean, shipped.std)


def test_every_test_image_gets_a_point_with_its_own_label_and_the_models_answer(shipped, digits_data, digit_map):
    test = digits_data.test
    assert digit_map.reduced.shape[0] == len(test) and digit_map.reduced.shape[1] >= 2
    assert digit_map.coords("pca").shape == (len(test), 2)
    assert (digit_map.labels == test.labels.numpy()[digit_map.indices]).all()
    answers = shipped.model(((test.images[:50].float() / 255 - shipped.mean) / shipped.std).unsqueeze(1)).argmax(1)
    assert (digit_map.answers[:50] == answers.numpy()).all()


def test_at_most_the_limit_of_images_and_the_same_ones_each_time(shipped, digits_data):
    first = feature_map(shipped.model, digits_data.test, shipped.mean, shipped.std, limit=100)
    again = feature_map(shipped.model, digits_data.test, shipped.mean, shipped.std, limit=100)
    assert len(first.indices) == 100 and (first.indices == again.indices).all()


def test_the_figure_colours_by_true_class_and_marks_exactly_the_mistakes(digit_map):
    labels = digit_map.labels.copy()
    answers = labels.copy()
    answers[[3, 17, 40]] = (labels[[3, 17, 40]] + 1) % 10  # three known mistakes
    figure = images_map_figure(digit_map.coords("pca"), labels, answers, [str(i) for i in range(10)], "map")
    crosses, colour_of = [], {}
    for trace in figure.data:
        shown = np.asarray(trace.customdata)
        assert len(set(labels[shown])) == 1  # a trace holds one true class …
        assert colour_of.setdefault(int(labels[shown[0]]), trace.marker.color) == trace.marker.color  # … its colour
        if trace.marker.symbol == "x":
            crosses.extend(shown.tolist())
    assert sorted(crosses) == [3, 17, 40]
    assert len(set(colour_of.values())) == len(colour_of) == 10


def test_the_map_file_is_read_the_second_time_and_made_again_for_a_new_checkpoint(
    shipped, digits_data, tmp_path, monkeypatch
):
    source = tmp_path / "best.pt"
    source.write_bytes(b"weights")
    path = map_file(tmp_path, "best")
    made = cached_map(path, source, shipped.model, digits_data.test, shipped.mean, shipped.std)
    assert path.is_file() and path.stat().st_size < 1_500_000
    monkeypatch.setattr(embedding, "feature_map", lambda *a, **k: pytest.fail("made again instead of read"))
    read = cached_map(path, source, shipped.model, digits_data.test, shipped.mean, shipped.std)
    assert (read.labels == made.labels).all()
    assert np.allclose(read.coords("pca"), made.coords("pca"), rtol=1e-2, atol=0.05)  # kept as float16
    os.utime(source, ns=(1, 1))  # a newer checkpoint
    with pytest.raises(pytest.fail.Exception):
        cached_map(path, source, shipped.model, digits_data.test, shipped.mean, shipped.std)


def test_a_damaged_map_file_is_made_again(tmp_path):
    path = tmp_path / "map-best.npz"
    path.write_bytes(b"not an archive")
    assert load_map(path) is None


def test_tsne_runs_in_the_background_and_is_kept_in_the_file(shipped, digits_data, tmp_path):
    fmap = feature_map(shipped.model, digits_data.test, shipped.mean, shipped.std, limit=120)
    path = tmp_path / "map-best.npz"
    shown, state = with_tsne(path, fmap)
    assert shown.tsne is None and state.status == "running"
    assert TSNE_JOBS.wait(path, 120).status == "done"
    kept, state = with_tsne(path, fmap)
    assert state is None and kept.coords("tsne").shape == (120, 2)


def test_a_drawing_is_placed_by_the_pca_and_among_its_neighbours_on_tsne(shipped, digits_data, digit_map):
    x = ((digits_data.test.images[digit_map.indices[7]].float() / 255 - shipped.mean) / shipped.std)[None, None]
    assert np.allclose(place_input(digit_map, shipped.model, x, "pca"), digit_map.coords("pca")[7], atol=1e-3)
    spread = replace(digit_map, tsne=np.arange(len(digit_map.labels) * 2, dtype=np.float32).reshape(-1, 2))
    features, _ = penultimate(shipped.model, x)
    near = np.argsort(((digit_map.reduce(features) - digit_map.reduced) ** 2).sum(1))[: embedding.NEIGHBOURS]
    assert near[0] == 7
    assert np.allclose(place_input(spread, shipped.model, x, "tsne"), spread.tsne[near].mean(0))


def test_a_run_keeps_the_map_of_its_first_epoch(small_digits, tmp_path):
    store = RunStore(tmp_path / "runs")
    config = TrainConfig(model=ModelConfig(), epochs=2, batch_size=64, device="cpu")
    runner = Runner(store, config, small_digits)
    runner.train()
    first = load_map(map_file(store.folder(runner.run_id), "epoch1"))
    assert first is not None and (first.labels == small_digits.test.labels.numpy()[first.indices]).all()


def test_the_drawing_page_places_an_uploaded_drawing_on_the_map(shipped, digits, digits_data, monkeypatch, runs_dir):
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(digits))
    at = draw_page()
    at.segmented_control(key="draw_mode").set_value("upload").run()
    image = subset(digits_data.test, 1).images[0]
    buffer = io.BytesIO()
    Image.fromarray(255 - image.numpy()).save(buffer, format="PNG")
    upload(at, "seven.png", buffer.getvalue())
    at.toggle(key="draw_map_show").set_value(True).run()
    assert not at.exception
    chart = next(c for c in at.get("plotly_chart") if '"star"' in c.proto.spec)
    assert "your drawing" in chart.proto.spec
