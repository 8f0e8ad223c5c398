"""Checkpoints: round trip in both formats, pickled payloads refused, foreign or mismatched weights."""

import io
import os

import pytest
import torch

from cnnkit.errors import CnnkitError
from cnnkit.nets.builder import ModelConfig, build_model
from cnnkit.nets.checkpoints import Checkpoint, from_bytes, load_checkpoint, save_checkpoint, to_bytes


def make(config=ModelConfig()):
    torch.manual_seed(0)
    return Checkpoint(
        build_model(config),
        config,
        "fashion-mnist",
        [f"c{i}" for i in range(10)],
        0.286,
        0.353,
        {"test_accuracy": 0.9},
        [{"epoch": 1, "test_accuracy": 0.9}],
        {"lr": 0.001},
    )


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_round_trip_keeps_weights_and_card(tmp_path, suffix):
    original = make(ModelConfig(batchnorm=True, dropout=0.2))
    loaded = load_checkpoint(save_checkpoint(original, tmp_path / f"m{suffix}"))
    assert loaded.model_config == original.model_config
    assert (loaded.dataset, loaded.classes, loaded.mean, loaded.metrics) == (
        "fashion-mnist",
        original.classes,
        0.286,
        {"test_accuracy": 0.9},
    )
    x = torch.randn(3, 1, 28, 28)
    original.model.eval()
    assert torch.equal(loaded.model(x), original.model(x))


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickled_payload_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    buffer = io.BytesIO()
    torch.save({"meta": "{}", "state_dict": {}, "extra": Payload(marker)}, buffer)
    path = tmp_path / "evil.pt"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(CnnkitError, match="refused: it carries pickled Python objects"):
        load_checkpoint(path)
    assert not marker.exists()


def test_bare_state_dict_and_garbage_are_explained(tmp_path):
    buffer = io.BytesIO()
    torch.save(build_model().state_dict(), buffer)
    with pytest.raises(CnnkitError, match="not a cnnkit checkpoint"):
        from_bytes(buffer.getvalue(), "plain.pt")
    with pytest.raises(CnnkitError, match="not a readable checkpoint"):
        from_bytes(b"this is not a model at all", "notes.txt")
    with pytest.raises(CnnkitError, match="not a readable checkpoint"):
        from_bytes(to_bytes(make())[:5000], "truncated.pt")


def test_weights_of_another_architecture_are_explained():
    ckpt = make(ModelConfig("lenet5"))
    ckpt.model_config = ModelConfig("convnet")  # the card claims another architecture
    with pytest.raises(CnnkitError, match="do not fit the architecture"):
        from_bytes(to_bytes(ckpt), "mixed.pt")


@pytest.mark.parametrize("start, mask", [(b"\x80", 0xFF), (b"PK", 0xFFFF)])
def test_a_safetensors_file_whose_header_length_looks_like_a_torch_file_loads(start, mask):
    """A safetensors file starts with its header's length (8 bytes, little-endian): a length that starts
    with 0x80 (as a pickle does) or "PK" (as a zip does) is still a safetensors file, not a torch file."""
    base = make()
    epoch = {"epoch": 1, "seconds": 1.0, "train_loss": 0.5, "train_accuracy": 0.9, "test_loss": 0.4,
             "test_accuracy": 0.9, "images_per_s": 100.0}  # fmt: skip

    def card(epochs: int, pad: int) -> bytes:
        return to_bytes(
            Checkpoint(
                base.model,
                base.model_config,
                base.dataset,
                base.classes,
                base.mean,
                base.std,
                base.metrics,
                [epoch] * epochs,
                {"lr": 0.001, "data_dir": "x" * pad},
            ),
            "safetensors",
        )

    def pad_to_start(epochs: int) -> int:  # the header grows by one byte a character of data_dir
        return (int.from_bytes(start, "little") - int.from_bytes(card(epochs, 0)[:8], "little")) & mask

    epochs = next(e for e in range(1000) if pad_to_start(e) < 900)  # epochs for the coarse length, text for the rest
    pad = pad_to_start(epochs)
    data = card(epochs, pad)
    assert data.startswith(start)
    loaded = from_bytes(data, "m.safetensors")
    assert loaded.train_config["data_dir"] == "x" * pad and len(loaded.history) == epochs
    assert all(torch.equal(a, b) for a, b in zip(loaded.model.state_dict().values(), base.model.state_dict().values()))
