"""The shipped comparison figures are what a live computation gives (so the Compare tab shows true numbers)."""

import json

import pytest

from cnnkit.guide import precomputed
from cnnkit.guide.meta import weights_info
from cnnkit.guide.registry import builders
from cnnkit.guide.totals import comparison, totals


def test_the_shipped_file_covers_every_builder_for_these_versions():
    data = json.loads(precomputed.FILE.read_text(encoding="utf-8"))
    assert data["versions"] == precomputed.versions(), "regenerate: python -m tools.precompute_comparison"
    assert set(data["builders"]) == set(builders())


@pytest.mark.parametrize("builder", ["convnet", "lenet5", "resnet18", "mobilenet_v3_small", "squeezenet1_1"])
def test_shipped_figures_equal_the_live_ones(builder):
    shipped = precomputed.stored()[builder]
    live = totals(builder)
    assert (shipped["params"], shipped["macs"], shipped["input_size"]) == (live.params, live.macs, live.input_size)
    info = weights_info(builder)
    assert shipped["weights"] == (info and info.__dict__)


def test_the_comparison_rows_use_them():
    rows = {r.totals.builder: r for r in comparison()}
    assert rows["resnet50"].totals.params == 25_557_032 == rows["resnet50"].weights.num_params


def test_a_file_for_other_versions_is_ignored(tmp_path):
    stale = tmp_path / "comparison.json"
    stale.write_text(json.dumps({"versions": {"torch": "0.0", "torchvision": "0.0"}, "builders": {}}))
    assert precomputed.stored(stale) is None
    assert precomputed.stored(tmp_path / "absent.json") is None
