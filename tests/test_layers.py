"""The one network builder: layer lists read, checked and built, presets, messages, checkpoints, the CLI."""

import json
import subprocess
import sys

import pytest
import torch
from torch import nn

from cnnkit.errors import CnnkitError
from cnnkit.infer.predict import DEFAULT_CHECKPOINT
from cnnkit.nets.builder import NETWORK_PRESETS, ModelConfig, build_model, count_parameters, preset_spec, spec_of
from cnnkit.nets.checkpoints import Checkpoint, from_bytes, load_checkpoint, to_bytes
from cnnkit.nets.layers import build, parse_spec, plan, to_compact, to_json
from tests.support import ROOT

OWN = (
    "conv(16,3,padding=1) batchnorm leakyrelu(0.1) maxpool(2) conv(8,5,stride=2) gelu avgpool(2) flatten "
    "dropout(0.3) linear(20) sigmoid linear"
)


def test_the_convnet_preset_has_exactly_the_notebooks_421642_parameters():
    rows = plan(preset_spec("convnet"), (1, 28, 28), 10).rows
    assert sum(r.params for r in rows) == 421_642
    assert [(r.name, r.output) for r in rows if r.name.startswith(("pool", "fc"))] == [
        ("pool1", (32, 14, 14)),
        ("pool2", (64, 7, 7)),
        ("fc1", (128,)),
        ("fc2", (10,)),
    ]


# The counts of the networks the earlier, fixed builder made for each switch (its test suite held them).
@pytest.mark.parametrize(
    "name, params",
    [
        ("convnet", 421_642),
        ("lenet5", 61_706),
        ("extra_conv", 241_546),
        ("no_pooling", 6_442_762),
        ("no_padding", 225_034),
        ("extra_fc", 429_258),
        ("batchnorm", 421_834),
        ("dropout", 421_642),
    ],
)
def test_every_preset_counts_as_the_network_it_replaces(name, params):
    model = build_model(NETWORK_PRESETS[name])
    assert count_parameters(model) == params == plan(preset_spec(name), (1, 28, 28), 10).params
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_plan_shapes_params_and_macs_match_the_built_network():
    spec = parse_spec(OWN)
    checked = plan(spec, (3, 32, 32), 5)
    assert checked.ok
    model = build(spec, (3, 32, 32), 5)
    shapes, x = [], torch.zeros(1, 3, 32, 32)
    for module in model:
        x = module(x)
        shapes.append(tuple(x.shape[1:]))
    assert [r.output for r in checked.rows] == shapes
    assert checked.params == count_parameters(model)
    conv1 = checked.rows[0]
    assert conv1.macs == 16 * 32 * 32 * 3 * 9 and conv1.module == "Conv2d"
    assert [r.module for r in checked.rows if r.layer.type == "batchnorm"] == ["BatchNorm2d"]
    assert isinstance(model.leakyrelu1, nn.LeakyReLU) and model.leakyrelu1.negative_slope == 0.1


def test_json_and_compact_forms_round_trip():
    spec = parse_spec(OWN)
    assert parse_spec(to_compact(spec)) == spec
    assert parse_spec(json.dumps(to_json(spec))) == spec
    assert to_json(parse_spec("conv(32,3,padding=1) maxpool(2) flatten linear"))[:2] == [
        {"type": "conv", "out": 32, "kernel": 3, "padding": 1},
        {"type": "maxpool", "kernel": 2},
    ]


@pytest.mark.parametrize(
    "spec, shape, message",
    [
        (
            "conv(8,3) maxpool(2) maxpool(2) maxpool(2) maxpool(2) maxpool(2) flatten linear",
            (1, 28, 28),
            "Layer 6: MaxPool 2×2 on 1×1: the input is smaller than the window",
        ),
        ("conv(8,3) relu linear", (1, 28, 28), "Layer 3: Linear after a conv without Flatten: its input is a 8×26×26"),
        ("linear", (1, 28, 28), "Layer 1: Linear on an image without Flatten"),
        ("conv(4,7) flatten linear", (1, 5, 5), "Layer 1: Conv 7×7 on 5×5 with padding 0: the input is smaller"),
        ("flatten conv(4,3) linear", (1, 28, 28), "Layer 2: Conv 3×3 after Flatten"),
        ("flatten linear(5)", (1, 28, 28), "the last Linear gives 5 outputs but the data has 10 classes"),
        ("flatten linear linear", (1, 28, 28), "Layer 2: only the last Linear may leave its outputs out"),
        ("flatten linear relu", (1, 28, 28), "The network ends with ReLU"),
        ("flatten linear(100000) linear", (1, 28, 28), "78,500,000 parameters, more than the 50,000,000"),
        ("conv(4096,3,padding=1) conv(4096,1) flatten linear", (3, 64, 64), "values per image"),
    ],
)
def test_each_invalid_network_names_its_layer_and_the_reason(spec, shape, message):
    problem = plan(parse_spec(spec), shape, 10).problem
    assert problem is not None and message in problem.message()
    with pytest.raises(CnnkitError, match=message.split(":")[0]):
        build(parse_spec(spec), shape, 10)
    assert problem.message("ru") != problem.message()  # said in Russian too


@pytest.mark.parametrize(
    "spec, message",
    [
        ('[{"type": "conv", "out": 32}]', "Layer 1 (Conv): “kernel” is missing"),
        ('[{"type": "pool"}]', "Layer 1: unknown type “pool”"),
        ('[{"type": "relu", "inplace": true}]', "unknown setting “inplace”"),
        ('{"type": "relu"}', "must be a JSON list of layers"),
        ('[{"type": "conv", "out": 32, "kernel": 3,]', "not valid JSON"),
        ("conv(-4,3) flatten linear", "“out” must be a whole number from 1 to 100,000, got -4"),
        ('[{"type": "conv", "out": null, "kernel": 3}]', "“out” must be a whole number from 1 to 100,000, got None"),
        ("conv(null,3) flatten linear", "“out” must be a whole number from 1 to 100,000, got None"),
        ("conv(8,0) flatten linear", "“kernel” must be a whole number from 1 to 100,000, got 0"),
        ("conv(8,2.5) flatten linear", "“kernel” must be a whole number"),
        ("dropout(1) linear", "p must be at least 0 and below 1, got 1"),
        ("relu(3)", "Layer 1 (ReLU): too many values"),
        ("conv(8,3) %% linear", "Cannot read “%% linear”"),
        ("[]", "The network has no layers"),
        ("conv(8,3,stride=1e30) flatten linear", "“stride” must be a whole number from 1 to 100,000, got 1e"),
        ("conv(8,3,padding=100001) flatten linear", "“padding” must be a whole number from 0 to 100,000"),
        ("[" * 5000 + "]" * 5000, "nests lists or objects more than 3 levels deep"),
        ("conv(8," + "[" * 5000 + "3" + "]" * 5000 + ") flatten linear", "more than 3 levels deep"),
        ("relu " * 5000 + "linear", "The layer list has 25,006 characters, more than the 20,000"),
    ],
)
def test_each_unreadable_spec_is_one_clear_message(spec, message):
    with pytest.raises(CnnkitError, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        parsed = parse_spec(spec)
        build(parsed, (1, 28, 28), 10)
    assert "⟨" not in caught.value.message("ru")


def test_a_spec_round_trips_through_a_checkpoint_and_rebuilds_its_network():
    config = ModelConfig(layers=parse_spec(OWN), in_channels=3, image_size=32, num_classes=5)
    torch.manual_seed(0)
    model = build_model(config).eval()
    ckpt = Checkpoint(model, config, "folder", list("abcde"), 0.5, 0.25)
    for fmt in ("pt", "safetensors"):
        loaded = from_bytes(to_bytes(ckpt, fmt), "m")
        assert loaded.model_config == config and loaded.model_config.layers == parse_spec(OWN)
        x = torch.randn(2, 3, 32, 32)
        assert torch.equal(loaded.model(x), model(x))


def test_switch_checkpoints_save_their_layer_list_and_the_shipped_model_still_loads():
    meta = ModelConfig(extra_fc=True).to_dict()
    assert meta["layers"] == to_json(spec_of(ModelConfig(extra_fc=True)))
    assert ModelConfig.from_dict(meta) == ModelConfig(extra_fc=True)  # still described by its switches
    shipped = load_checkpoint(DEFAULT_CHECKPOINT)
    assert shipped.model_config.layers is None and count_parameters(shipped.model) == 421_642


def test_cli_trains_a_network_given_as_layers_and_reports_parameters(tiny_idx, tmp_path):
    spec_file = tmp_path / "net.json"
    spec_file.write_text(
        json.dumps(
            [
                {"type": "conv", "out": 4, "kernel": 3},
                {"type": "relu"},
                {"type": "maxpool", "kernel": 2},
                {"type": "flatten"},
                {"type": "linear"},
            ]
        )
    )
    out = tmp_path / "own.pt"
    runs = ["--runs-dir", tmp_path / "runs"]
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "cnnkit",
            "train",
            "--dataset",
            "mnist",
            "--data-dir",
            tiny_idx,
            "--offline",
            "--layers",
            spec_file,
            "--device",
            "cpu",
            "--batch-size",
            "16",
            "--out",
            out,
            "--json",
            *runs,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["parameters"] == 4 * 9 + 4 + 4 * 13 * 13 * 10 + 10
    assert "params" not in result  # one name for one figure (the run store's)
    assert load_checkpoint(out).model_config.layers == parse_spec("conv(4,3) relu maxpool(2) flatten linear")
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "cnnkit",
            "train",
            "--data-dir",
            tiny_idx,
            "--offline",
            "--layers",
            "conv(4,3) relu linear",
            *runs,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "error: Layer 3: Linear after a conv without Flatten: its input is a 4×26×26 image. "
        "Add a Flatten layer before it."
    ]


def test_a_message_with_a_json_example_shows_single_braces():
    with pytest.raises(CnnkitError) as caught:
        parse_spec('{"type": "relu"}')
    for lang in ("en", "ru"):
        shown = caught.value.message(lang)
        assert '[{"type": "conv", "out": 32, "kernel": 3}, {"type": "relu"}' in shown and "{{" not in shown


def test_a_strided_network_within_the_bounds_runs():
    import torch

    model = build(parse_spec("conv(8,3,stride=100000) flatten linear"), (1, 28, 28), 10)
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)  # the largest stride allowed still computes
