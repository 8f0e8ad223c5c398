"""Crafted checkpoints: every bad metadata field or weight gets one clear message, before the network is
given memory (a file claiming image_size 100000 is refused without allocating its 20 TB)."""

import io
import json
import subprocess
import sys

import pytest
import torch

from cnnkit.errors import CnnkitError
from cnnkit.nets.builder import ModelConfig, build_model, count_parameters
from cnnkit.nets.checkpoints import Checkpoint, from_bytes, to_bytes
from tests.support import ROOT


def good() -> tuple[dict, dict]:
    """A valid checkpoint's metadata and weights, its network described by the switches (as older
    checkpoints are), so that the crafted edits of the switches decide the network."""
    config = ModelConfig()
    ckpt = Checkpoint(build_model(config), config, "mnist", [str(d) for d in range(10)], 0.1307, 0.3081)
    meta = ckpt.meta()
    meta["model"].pop("layers")
    return meta, {k: v.clone() for k, v in ckpt.model.state_dict().items()}


def crafted(meta: dict, state: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save({"meta": json.dumps(meta), "state_dict": state}, buffer)
    return buffer.getvalue()


def refusal(edit) -> str:
    meta, state = good()
    edit(meta, state)
    with pytest.raises(CnnkitError) as err:
        from_bytes(crafted(meta, state), "evil.pt")
    assert err.value.message("ru") != err.value.message("en")
    return str(err.value)


CASES = {
    "image_size_1200": (
        lambda m, s: m["model"].update(image_size=1200),
        "evil.pt was refused: its metadata field “model.image_size” is 1200, outside 8..256.",
    ),
    "image_size_100000": (
        lambda m, s: m["model"].update(image_size=100000),
        "evil.pt was refused: its metadata field “model.image_size” is 100000, outside 8..256.",
    ),
    "no_classes": (
        lambda m, s: m.pop("classes"),
        "evil.pt was refused: its metadata has no “classes”. Save the model again with cnnkit.",
    ),
    "two_classes": (
        lambda m, s: m.update(classes=["cat", "dog"]),
        "evil.pt was refused: it names 2 classes, but its network has 10 outputs; each output needs one class name.",
    ),
    "class_not_text": (
        lambda m, s: m.update(classes=list(range(10))),
        "evil.pt was refused: its metadata field “classes[0]” must be text, not 0.",
    ),
    "mean_abc": (
        lambda m, s: m.update(mean="abc"),
        "evil.pt was refused: its metadata field “mean” must be a number, not 'abc'.",
    ),
    "std_0": (lambda m, s: m.update(std=0), "evil.pt was refused: its normalization std must be above 0, not 0.0."),
    "mean_nan": (
        lambda m, s: m.update(mean=float("nan")),
        "evil.pt was refused: its metadata field “mean” must be a finite number, not nan.",
    ),
    "channels": (
        lambda m, s: m["model"].update(in_channels=100000),
        "evil.pt was refused: its metadata field “model.in_channels” is 100000, outside 1..4.",
    ),
    "outputs": (
        lambda m, s: m["model"].update(num_classes=10**9),
        "evil.pt was refused: its metadata field “model.num_classes” is 1000000000, outside 1..1000.",
    ),
    "pooling_text": (
        lambda m, s: m["model"].update(pooling="no"),
        "evil.pt was refused: its metadata field “model.pooling” must be true or false, not 'no'.",
    ),
    "arch": (
        lambda m, s: m["model"].update(arch="resnet9000"),
        "evil.pt was refused: its model 'resnet9000' is unknown; known: convnet, lenet5.",
    ),
    "too_large": (
        lambda m, s: m["model"].update(image_size=256, pooling=False),
        "evil.pt was refused: its network convnet-pool would have {huge:,} parameters, above the limit of 50,000,000.",
    ),
    "nan_weights": (
        lambda m, s: s["conv1.weight"].fill_(float("nan")),
        "evil.pt was refused: its weight conv1.weight holds NaN or infinite values (the training "
        "that saved it diverged).",
    ),
    "int_in_state": (
        lambda m, s: s.update({"conv1.bias": 3}),
        "evil.pt was refused: its weight 'conv1.bias' is not a tensor but a Python int.",
    ),
    "int_tensor": (
        lambda m, s: s.update({"conv1.bias": torch.zeros(32, dtype=torch.int32)}),
        "evil.pt was refused: its weight conv1.bias holds torch.int32 values, not floating-point numbers.",
    ),
    "shape": (
        lambda m, s: s.update({"fc2.weight": torch.zeros(3, 128)}),
        "evil.pt: its weights do not fit the architecture it declares (convnet): different "
        "shapes for fc2.weight. It was saved from another model or config.",
    ),
    "accuracy_text": (
        lambda m, s: m["metrics"].update(test_accuracy="99%"),
        "evil.pt was refused: its metadata field “metrics.test_accuracy” must be a number, not '99%'.",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_crafted_checkpoint_is_refused_with_one_clear_message(case):
    edit, message = CASES[case]
    with torch.device("meta"):  # the no-pooling ConvNet on 256×256 inputs: 64·256²·128 weights in fc1 alone
        huge = count_parameters(build_model(ModelConfig(image_size=256, pooling=False)))
    assert refusal(edit) == message.format(huge=huge)


def test_the_valid_checkpoint_still_loads_and_predicts_alike():
    meta, state = good()
    ckpt = from_bytes(crafted(meta, state), "fine.pt")
    x = torch.randn(2, 1, 28, 28)
    reference = build_model(ModelConfig()).eval()
    reference.load_state_dict(state)
    assert torch.allclose(ckpt.model(x), reference(x))
    assert all(p.requires_grad for p in ckpt.model.parameters())  # fine-tuning trains them


def test_a_huge_image_size_is_refused_in_little_memory(tmp_path):
    """In a fresh process, the peak memory grows by far less than 200 MB (not 3.4 GB or 20 TB)."""
    meta, state = good()
    for size in (1200, 100000):
        meta["model"]["image_size"] = size
        (tmp_path / f"{size}.pt").write_bytes(crafted(meta, state))
    script = (
        "import resource, sys\n"
        "from cnnkit.nets.checkpoints import load_checkpoint\n"
        "from cnnkit.errors import CnnkitError\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        load_checkpoint(path)\n"
        "    except CnnkitError as exc:\n"
        "        print(exc)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, tmp_path / "1200.pt", tmp_path / "100000.pt"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = run.stdout.strip().splitlines()
    assert run.returncode == 0 and len(lines) == 3, run.stderr
    assert "outside 8..256" in lines[0] and "outside 8..256" in lines[1]
    assert int(lines[2]) < 200  # MB


def test_cli_predict_with_nan_weights_is_an_error_not_nan_percent(tmp_path):
    meta, state = good()
    state["fc2.bias"].fill_(float("inf"))
    (tmp_path / "nan.pt").write_bytes(crafted(meta, state))
    from PIL import Image

    Image.new("L", (28, 28), 0).save(tmp_path / "d.png")
    run = subprocess.run(
        [sys.executable, "-m", "cnnkit", "predict", tmp_path / "d.png", "--checkpoint", tmp_path / "nan.pt"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2 and "nan%" not in run.stdout
    assert run.stderr.strip() == (
        f"error: {tmp_path / 'nan.pt'} was refused: its weight fc2.bias holds NaN or "
        "infinite values (the training that saved it diverged)."
    )


def test_safetensors_metadata_is_validated_too():
    meta, state = good()
    ckpt = from_bytes(crafted(meta, state), "x")
    data = to_bytes(ckpt, "safetensors")
    bad = data.replace(b'\\"std\\": 0.3081', b'\\"std\\": -0.001')
    assert bad != data
    with pytest.raises(CnnkitError, match="std must be above 0, not -0.001"):
        from_bytes(bad, "evil.safetensors")


def test_imagenet_weights_with_an_int_inside_are_refused():
    from cnnkit.nets.checkpoints import read_state_dict

    buffer = io.BytesIO()
    torch.save({"conv1.weight": torch.zeros(1), "fc.bias": 7}, buffer)
    with pytest.raises(CnnkitError, match="its weight 'fc.bias' is not a tensor but a Python int"):
        read_state_dict(buffer.getvalue(), "w.pth")
