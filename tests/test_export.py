"""A finished run taken out of cnnkit (cnnkit/train/export.py): the standalone PyTorch script trains and, with the
run's weights, answers as the run does; TorchScript and ONNX answer as the torch model; the CLI and the training
page offer them, and refuse a run without weights or a layer the export does not know, in one line."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from collections import OrderedDict

import onnxruntime
import pytest
import torch
from torch import nn

from cnnkit.data.datasets import load_dataset, to_tensor
from cnnkit.errors import CnnkitError
from cnnkit.i18n import text
from cnnkit.train.export import FORMATS, export_bytes, export_run, format_of
from cnnkit.train.loop import TrainConfig
from cnnkit.train.store import RunStore
from tests.support import cli
from tests.support.pages import open_page

FINISHED = (1, 2, 3)  # the kept runs: the notes' ConvNet, ConvNet + BatchNorm + Dropout, a network built layer by layer

# Runs an exported script's own functions where neither cnnkit nor safetensors can be imported: the script's
# network with the exported weights, on the script's own test images (its IDX reading, its normalization).
SCRIPT_OUTPUTS = """
import runpy, sys
from pathlib import Path
sys.modules["cnnkit"] = sys.modules["safetensors"] = None
import torch
script, weights, data_dir, out = map(Path, sys.argv[1:])
ns = runpy.run_path(str(script), run_name="exported")
model = ns["build_model"]()
model.load_state_dict(ns["load_weights"](weights))
images = ns["load_data"](data_dir)[2][:64]
with torch.no_grad():
    torch.save(model.eval()(torch.stack([ns["test_transform"](image) for image in images])), out)
"""


@pytest.fixture(scope="module")
def store(kept_runs) -> RunStore:
    return RunStore(kept_runs)


@pytest.fixture(scope="module")
def test_images(page_digits) -> torch.Tensor:
    """64 test images of the runs' data, as cnnkit normalizes them."""
    dataset = load_dataset(None, page_digits, download=False)
    return to_tensor(dataset.test.images[:64], dataset.info)


def run_script(script, *args) -> subprocess.CompletedProcess:
    """``python SCRIPT ARGS`` in the script's folder, as a user runs the exported file."""
    return subprocess.run(
        [sys.executable, script.name, *map(str, args)], cwd=script.parent, capture_output=True, text=True, timeout=600
    )


def run_outputs(store: RunStore, run_id: int, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return store.load(run_id).model.eval()(x)


@pytest.mark.parametrize("run_id, weights", [(1, "safetensors"), (2, "pt"), (3, "safetensors")])
def test_the_script_with_the_run_weights_answers_as_the_run(store, run_id, weights, page_digits, test_images, tmp_path):
    script = tmp_path / "model.py"
    script.write_bytes(export_run(store, run_id, "py", stem="model"))
    (tmp_path / f"model.{weights}").write_bytes(export_run(store, run_id, weights))
    out = tmp_path / "outputs.pt"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT_OUTPUTS, script, tmp_path / f"model.{weights}", page_digits, out],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert torch.allclose(torch.load(out), run_outputs(store, run_id, test_images), atol=1e-4)


@pytest.mark.slow
def test_the_script_trains_with_the_run_settings_and_loads_the_weights_beside_it(store, page_digits, tmp_path):
    (tmp_path / "net.py").write_bytes(export_run(store, 2, "py", stem="net"))
    (tmp_path / "net.safetensors").write_bytes(export_run(store, 2, "safetensors"))
    done = run_script(tmp_path / "net.py", "--data-dir", page_digits, "--from-scratch", "--epochs", "3")
    assert done.returncode == 0, done.stderr
    losses = [float(x) for x in re.findall(r"^epoch \d/3: train loss ([\d.]+)", done.stdout, re.M)]
    assert len(losses) == 3 and losses[-1] < losses[0], done.stdout
    checked = run_script(tmp_path / "net.py", "--data-dir", page_digits, "--epochs", "0")
    run = store.get(2)
    shown = re.search(r"weights net.safetensors: test loss [\d.]+, test accuracy ([\d.]+)%", checked.stdout)
    assert shown, checked.stdout + checked.stderr
    assert float(shown.group(1)) == pytest.approx(100 * store.load(2).metrics["test_accuracy"], abs=0.01)
    assert run.config["batch_size"] == 32 and "BATCH_SIZE = 32" in (tmp_path / "net.py").read_text()
    assert run.config["whiten"] and "WHITEN = True" in (tmp_path / "net.py").read_text()  # started whitened


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
@pytest.mark.parametrize("run_id", FINISHED)
def test_torchscript_and_onnx_answer_as_the_torch_model(store, run_id, test_images):
    expected = run_outputs(store, run_id, test_images)
    traced = torch.jit.load(io.BytesIO(export_run(store, run_id, "torchscript")))
    with torch.no_grad():
        assert torch.allclose(traced(test_images), expected, atol=1e-4)
    session = onnxruntime.InferenceSession(export_run(store, run_id, "onnx"), providers=["CPUExecutionProvider"])
    (answer,) = session.run(["logits"], {"images": test_images.numpy()})
    assert torch.allclose(torch.from_numpy(answer), expected, atol=1e-4)


def test_a_layer_the_export_does_not_know_is_named_with_the_reason(store):
    ckpt = store.load(3)
    ckpt.model = nn.Sequential(OrderedDict(conv1=nn.Conv2d(1, 4, 3), up1=nn.Upsample(scale_factor=2)))
    for fmt in ("py", "torchscript", "onnx"):
        with pytest.raises(CnnkitError) as caught:
            export_bytes(ckpt, fmt)
        assert "layer 2 “up1” is a Upsample" in str(caught.value) and "\n" not in str(caught.value)
    assert "слой 2 «up1»" in caught.value.message("ru")
    assert export_bytes(ckpt, "safetensors")  # the weights themselves can always be taken


def test_the_format_is_the_one_asked_for_or_the_file_name_says():
    assert [format_of(f"m{end}") for end in FORMATS.values()] == list(FORMATS)
    assert format_of("m.pt", "onnx") == "onnx"
    with pytest.raises(CnnkitError, match="does not say the export format"):
        format_of("model.bin")


def test_the_cli_writes_each_format_and_refuses_a_run_without_weights(kept_runs, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(kept_runs, runs)
    out = tmp_path / "net.py"
    assert cli("runs", "--runs-dir", runs, "export", "3", "--format", "py", "--out", out).returncode == 0
    assert "nn.Sequential(" in out.read_text() and not list(tmp_path.glob(".net.py.*"))
    assert cli("runs", "--runs-dir", runs, "export", "3", "--out", tmp_path / "net.onnx").returncode == 0
    assert onnxruntime.InferenceSession(tmp_path / "net.onnx", providers=["CPUExecutionProvider"])
    empty = RunStore(runs).create(TrainConfig(), status="queued")
    refused = cli("runs", "--runs-dir", runs, "export", empty, "--format", "onnx", "--out", tmp_path / "x.onnx")
    assert refused.returncode == 2 and refused.stderr.strip().count("\n") == 0
    assert f"Run {empty} has no checkpoint yet" in refused.stderr and not (tmp_path / "x.onnx").exists()


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_training_page_offers_the_downloads_beside_a_finished_run(kept_runs, runs_dir, lang):
    shutil.copytree(kept_runs, runs_dir)
    at = open_page("pages/train.py", lang, run="3")
    labels = {b.proto.label: b.proto for b in at.get("download_button")}
    for fmt in ("py", "safetensors", "torchscript", "onnx"):
        button = labels[text(f"export.page.{fmt}", lang)]
        assert not button.disabled and button.deferred_file_id and button.help == text(f"export.page.{fmt}_help", lang)
    assert text("export.page.title", lang) in " ".join(c.value for c in at.caption)


@pytest.mark.parametrize("channels", [1, 3])
def test_the_script_augments_as_the_run_did(channels):
    """The exported script's transforms are the engine's own (``Augmentation.transform``), each with the run's
    strengths; flips and colour jitter only for colour images, as the engine does."""
    from torchvision.transforms import v2

    from cnnkit.train.export import augmentation_code

    config = TrainConfig(rotation=15.0, shift=0.1, scale=0.2, shear=5.0, erasing=0.3, flip=True, color_jitter=0.2)
    written = eval(augmentation_code(config, 28, channels), {"v2": v2})  # noqa: S307 - the code the script holds
    engine = config.augmentation.transform(channels).transforms
    assert [repr(t) for t in written] == [repr(t) for t in engine] and len(written) == (4 if channels == 3 else 2)
    assert eval(augmentation_code(TrainConfig(), 28, channels)) == []  # noqa: S307 - none set, none written


def test_a_run_trained_with_augmentation_exports_it(page_digits, tmp_path):
    from cnnkit.train.runner import Runner

    store = RunStore(tmp_path)
    dataset = load_dataset(None, page_digits, download=False)
    config = TrainConfig(
        dataset=dataset.info.name, train_subset=64, batch_size=32, rotation=12.0, erasing=0.25, device="cpu"
    )
    runner = Runner(store, config, dataset, source="cli")
    runner.train()
    script = export_run(store, runner.run_id, "py").decode()
    assert "v2.RandomAffine(degrees=12.0" in script and "v2.RandomErasing(p=0.25, value=0.0)" in script
    (tmp_path / "augmented.py").write_text(script)
    done = run_script(tmp_path / "augmented.py", "--data-dir", page_digits, "--from-scratch", "--epochs", "1")
    assert done.returncode == 0 and "epoch 1/1: train loss" in done.stdout, done.stderr  # it trains augmented


def test_the_script_whitens_a_fresh_network_as_the_engine_does(store, test_images, tmp_path):
    """The exported script's own ``whiten_first_conv`` (torch alone) gives the engine's whitening filters."""
    import runpy

    from cnnkit.train.whitening import first_conv, whitening_filters

    script = tmp_path / "net.py"
    script.write_bytes(export_run(store, 2, "py", stem="net"))  # run 2 started from a whitened first layer
    exported = runpy.run_path(str(script), run_name="exported")  # its definitions, not its main()
    model = exported["build_model"]()
    exported["whiten_first_conv"](model, test_images)
    conv = first_conv(model)
    weight, bias = whitening_filters(test_images, conv, exported["SEED"])
    assert exported["WHITEN"] and len(weight) == 18  # 9 directions of a 3×3 patch, and their negatives
    assert torch.allclose(conv.weight[:18], weight, atol=1e-5) and torch.allclose(conv.bias[:18], bias, atol=1e-4)
