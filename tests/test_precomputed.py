"""The shipped guide figures are what a live computation gives (so the Compare tab and the cards show true
numbers), and files made with other torch versions are ignored."""

import gzip
import json

import pytest

from cnnkit.guide import precomputed
from cnnkit.guide.comparison import comparison, weights_info
from cnnkit.guide.layers import measure
from cnnkit.guide.meta import read_weights_info
from cnnkit.guide.profiles import chain, profile, shipped_profile
from cnnkit.guide.registry import builders
from cnnkit.guide.totals import totals

REGENERATE = "regenerate: python -m tools.precompute_guide"


@pytest.mark.parametrize("path", [precomputed.COMPARISON, precomputed.PROFILES])
def test_the_shipped_files_cover_every_builder_for_these_versions(path):
    raw = path.read_bytes()
    data = json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)
    assert data["versions"] == precomputed.versions(), REGENERATE
    assert set(data["builders"]) == set(builders())


@pytest.mark.parametrize("builder", ["convnet", "lenet5", "resnet18", "mobilenet_v3_small", "squeezenet1_1"])
def test_shipped_figures_equal_the_live_ones(builder):
    shipped = precomputed.stored()[builder]
    live = totals(builder)
    assert (shipped["params"], shipped["macs"], shipped["input_size"]) == (live.params, live.macs, live.input_size)
    info = read_weights_info(builder)
    assert shipped["weights"] == (info and info.__dict__)
    assert weights_info(builder) == info


@pytest.mark.parametrize("builder", builders())
def test_every_shipped_layer_table_equals_the_live_one(builder):
    """Every card's diagram and layer table, as a visitor opens it at the network's own input size."""
    shipped, live = shipped_profile(builder), measure(builder)
    assert shipped == live, REGENERATE
    assert chain(shipped) == chain(live)


def test_another_input_size_is_measured_live():
    at_160 = profile("resnet18", 160)
    assert shipped_profile("resnet18", 160) is None
    assert at_160.input_shape == (1, 3, 160, 160) and at_160.totals.macs < profile("resnet18").totals.macs


def test_the_comparison_rows_use_them():
    rows = {r.totals.builder: r for r in comparison()}
    assert rows["resnet50"].totals.params == 25_557_032 == rows["resnet50"].weights.num_params


@pytest.mark.parametrize("name", ["comparison.json", "profiles.json.gz"])
def test_a_file_for_other_versions_or_unreadable_is_ignored(tmp_path, name):
    stale = tmp_path / name
    body = json.dumps({"versions": {"torch": "0.0", "torchvision": "0.0"}, "builders": {}}).encode()
    stale.write_bytes(gzip.compress(body) if name.endswith(".gz") else body)
    assert precomputed.stored(stale) is None
    stale.write_bytes(b"\x1f\x8b truncated")
    assert precomputed.stored(stale) is None
    assert precomputed.stored(tmp_path / "absent.json") is None
