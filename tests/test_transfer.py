"""Transfer learning for real (issue 22): torchvision weights found where torchvision keeps them, the notes'
recipe (frozen backbone, new head), features computed once, starting from the shipped model. Nothing downloads:
a random state dict is written under torchvision's own file name into a temporary ``$TORCH_HOME``."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image, ImageDraw

from cnnkit.data.datasets import load_dataset
from cnnkit.data.folders import FolderOptions, load_folder
from cnnkit.errors import CnnkitError
from cnnkit.guide.registry import builders
from cnnkit.nets.builder import ModelConfig
from cnnkit.nets.checkpoints import from_bytes, to_bytes
from cnnkit.nets.transfer import BACKBONES, weights_file_name
from cnnkit.train.loop import TrainConfig, train
from cnnkit.train.transfer import plan_transfer, starting_model
from tests.support import cli

ARCH = "mobilenet_v3_small"


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """A ``$TORCH_HOME`` whose hub cache holds random weights of ``ARCH`` under torchvision's file name."""
    home = tmp_path / "torch"
    folder = home / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.manual_seed(1)
    torch.save(torchvision.models.get_model(ARCH, weights=None).state_dict(), folder / weights_file_name(ARCH))
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """A class folder of drawn circles and squares (12 of each), different sizes and places."""
    root = tmp_path_factory.mktemp("shapes")
    rng = np.random.default_rng(0)
    for shape in ("circle", "square"):
        (root / shape).mkdir()
        for i in range(12):
            img = Image.new("RGB", (32, 32), "white")
            x, y, r = (int(v) for v in rng.integers([8, 8, 5], [24, 24, 8]))
            box = (x - r, y - r, x + r, y + r)
            (ImageDraw.Draw(img).ellipse if shape == "circle" else ImageDraw.Draw(img).rectangle)(box, fill="black")
            img.save(root / shape / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def shapes_data(shapes):
    return load_folder(shapes, FolderOptions(size=32))[0]


def _config(**changes) -> TrainConfig:
    model = ModelConfig(backbone=ARCH, pretrained=True)
    base = TrainConfig(dataset="folder", model=model, epochs=2, batch_size=8, precision="fp32", seed=3)
    return replace(base, folder=FolderOptions(size=32), **changes)


def test_the_backbones_are_the_guides_torchvision_classifiers():
    assert set(BACKBONES) <= set(builders())
    assert {"alexnet", "vgg16", "googlenet", "resnet18", "resnet50", "densenet121", "squeezenet1_1"} <= set(BACKBONES)
    assert {"mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0", "shufflenet_v2_x1_0", "convnext_tiny"} <= set(
        BACKBONES
    )


def test_the_frozen_backbone_keeps_its_weights_and_the_new_head_learns(torch_home, shapes_data):
    config = _config()
    before = {k: v.clone() for k, v in starting_model(config, shapes_data.info).state_dict().items()}
    imagenet = torch.load(torch_home / "hub" / "checkpoints" / weights_file_name(ARCH), weights_only=True)
    assert torch.equal(before["backbone.features.0.0.weight"], imagenet["features.0.0.weight"])  # the file's
    after = train(config, dataset=shapes_data).model.state_dict()
    for key, value in before.items():
        if key.startswith("backbone."):
            assert torch.equal(after[key].cpu(), value), key  # weights and BatchNorm statistics alike
    assert not torch.equal(after["head.weight"].cpu(), before["head.weight"])


def test_features_computed_once_train_the_head_as_the_whole_network_would(torch_home, shapes_data):
    cached = train(_config(), dataset=shapes_data)
    uncached = train(_config(cache_features=False), dataset=shapes_data)
    head, again = cached.model.head.weight.detach().cpu(), uncached.model.head.weight.detach().cpu()
    assert not torch.equal(head, starting_model(_config(), shapes_data.info).head.weight)
    torch.testing.assert_close(head, again, atol=2e-4, rtol=1e-3)
    for a, b in zip(cached.history, uncached.history):
        assert a.train_loss == pytest.approx(b.train_loss, rel=1e-3)
        assert a.test_accuracy == pytest.approx(b.test_accuracy, abs=1e-6)


def test_unfreezing_the_last_blocks_trains_them_and_only_them(torch_home, shapes_data):
    config = _config(model=ModelConfig(backbone=ARCH, pretrained=True, freeze="2"), epochs=1)
    start = starting_model(config, shapes_data.info)
    learning = {name for name, p in start.named_parameters() if p.requires_grad}
    last_two = ("backbone.features.12.", "backbone.classifier.0.")  # the last conv block, the hidden Linear
    assert {n for n in learning if n.startswith("backbone.")} == {
        n for n, _ in start.named_parameters() if n.startswith(last_two)
    }
    assert {"head.weight", "head.bias"} <= learning


def test_offline_without_the_weights_one_line_names_the_file(tmp_path, shapes):
    env = {**os.environ, "TORCH_HOME": str(tmp_path / "empty")}
    args = ("--arch", "resnet18", "--pretrained", "--dataset", "folder", "--data-dir", shapes, "--batch-size", "8")
    out = cli("train", *args, env=env)
    assert out.returncode != 0
    lines = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and weights_file_name("resnet18") in lines[0]
    assert "hub/checkpoints" in lines[0] and str(tmp_path) not in lines[0]


def test_shapes_in_a_folder_train_from_pretrained_weights_and_predict_by_name(torch_home, shapes, tmp_path):
    env = {**os.environ, "TORCH_HOME": str(torch_home)}
    args = ("--arch", ARCH, "--pretrained", "--dataset", "folder", "--data-dir", shapes, "--epochs", "2")
    out = cli("train", *args, "--batch-size", "8", "--json", env=env)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["status"] == "completed" and len(result["epochs"]) == 2
    assert result["config"]["model"]["backbone"] == ARCH and result["config"]["model"]["freeze"] is None
    answer = cli("predict", "--checkpoint", str(result["run_id"]), shapes / "circle" / "0.png", "--json", env=env)
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout)[0]["label"] in ("circle", "square")


def test_a_transfer_checkpoint_describes_its_network_and_is_checked(torch_home, shapes_data):
    ckpt = train(_config(epochs=1), dataset=shapes_data).to_checkpoint()
    again = from_bytes(to_bytes(ckpt), "t.pt")
    assert again.model_config.backbone == ARCH and again.model_config.freeze_mode == "all"
    x = torch.zeros(1, 3, 32, 32)
    torch.testing.assert_close(again.model(x), ckpt.model(x))
    meta = ckpt.meta()
    for field, bad in (("backbone", "resnet18; rm -rf"), ("freeze", "some")):
        meta_bad = {**meta, "model": {**meta["model"], field: bad}}
        with pytest.raises(CnnkitError) as caught:
            from_bytes(_with_meta(ckpt, meta_bad), "bad.pt")
        assert field in str(caught.value) or bad[:8] in str(caught.value)


def _with_meta(ckpt, meta) -> bytes:
    import io

    buffer = io.BytesIO()
    state = {k: v.contiguous() for k, v in ckpt.model.state_dict().items()}
    torch.save({"meta": json.dumps(meta), "state_dict": state}, buffer)
    return buffer.getvalue()


def test_the_plan_counts_codes_and_refuses_what_would_not_fit(monkeypatch):
    monkeypatch.setattr("cnnkit.train.transfer.available_bytes", lambda device: 8 * 2**30)  # not this machine's
    plan = plan_transfer("resnet18", 3)
    assert plan.trainable == 512 * 3 + 3 and plan.frozen == 11_176_512 and plan.cached
    assert "model.fc = nn.Linear(512, 3)" in plan.code and "requires_grad = False" in plan.code
    assert plan.epoch_seconds == 0 and plan.first_seconds > 0
    squeeze = plan_transfer("squeezenet1_1", 2, images=10)
    assert "model.classifier[1] = nn.Conv2d(512, 2, kernel_size=1)" in squeeze.code
    assert plan.memory_bytes < 2**29  # a frozen resnet18 computes its features batch by batch, without gradients
    monkeypatch.setattr("cnnkit.train.transfer.available_bytes", lambda device: 100 * 2**20)
    with pytest.raises(CnnkitError, match="MB"):
        plan_transfer("vgg16", 3, mode="none")


def test_the_shipped_models_features_learn_fashion_well_above_chance(fashion):
    from cnnkit.train.transfer import config_from, source_checkpoint

    data = load_dataset("fashion-mnist", fashion, download=False)
    config = TrainConfig(dataset="fashion-mnist", start_from="shipped", train_subset=1000, epochs=2, seed=0)
    config = config_from(config, source_checkpoint("shipped"))
    result = train(config, dataset=data)
    assert result.evaluation.accuracy > 0.6  # chance: 0.1


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_transfer_run_is_named_by_its_architecture_weights_and_what_learns(lang):
    from cnnkit.i18n import text
    from cnnkit.train.naming import default_name

    frozen = TrainConfig(model=ModelConfig(backbone="mobilenet_v3_small", pretrained=True))
    name = default_name(frozen, lang)
    assert name.startswith("MobileNetV3-Small") and text("runs.naming.imagenet", lang) in name  # the guide's name
    assert text("runs.naming.freeze.all", lang) in name and "ConvNet" not in name
    last = default_name(TrainConfig(model=ModelConfig(backbone="resnet18", pretrained=True, freeze="2")), lang)
    assert text("runs.naming.freeze.last", lang, count=2) in last and "2" in last
    scratch = default_name(TrainConfig(model=ModelConfig(backbone="resnet18")), lang)
    assert text("runs.naming.scratch", lang) in scratch and text("runs.naming.freeze.none", lang) in scratch
    shipped = default_name(TrainConfig(model=ModelConfig(freeze="features")), lang)
    assert text("runs.naming.freeze.features", lang) in shipped
