"""Checkpoints: weights plus everything needed to use them (model config, dataset, normalization,
class names, metrics, history), saved as a torch file or safetensors and loaded without unpickling code.

``.pt`` files are read with ``torch.load(weights_only=True)``, which refuses any pickled object other than
tensors and plain containers; ``.safetensors`` files hold no code at all.
"""

from __future__ import annotations

import io
import json
import pickle
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from cnnkit.data.folders import FolderOptions
from cnnkit.errors import CnnkitError, Term
from cnnkit.files import read_limited, write_atomic
from cnnkit.nets.builder import ModelConfig
from cnnkit.nets.checkpoint_schema import (
    build_checked,
    shown,
    validate_doubt_tensors,
    validate_meta,
    validate_weights,
)

FORMAT = "cnnkit-checkpoint"
VERSION = 1
CALIBRATION = "~calibration/"  # the names of the calibration's tensors among a safetensors file's weights
DEFAULT_CHECKPOINT = Path(str(resources.files("cnnkit.nets") / "shipped" / "mnist_convnet.pt"))  # the shipped model
MAX_FILE_BYTES = 800 * 2**20  # a checkpoint file: a transfer backbone's 200 million float32 weights (the schema's)
MAX_META = 8 * 2**20  # characters of a card's JSON, read before parsing it (the shipped model's is 10 KB)


@dataclass
class Checkpoint:
    """A loaded model with its card."""

    model: nn.Module
    model_config: ModelConfig
    dataset: str
    classes: list[str]
    mean: float
    std: float
    metrics: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    train_config: dict = field(default_factory=dict)
    source: str = ""
    temperature: float = 1.0  # the logits are divided by it before the softmax (``cnnkit.train.calibration``)
    calibration: dict = field(default_factory=dict)  # what the temperature was fitted on, ECE, feature statistics

    @property
    def folder(self) -> FolderOptions | None:
        """How a class-folder model's images were made (validated with the card); None for other models."""
        saved = self.train_config.get("folder")
        return FolderOptions(**saved) if saved else None

    def meta(self) -> dict:
        """The card as JSON; the calibration's tensors are stored beside the weights (``calibration_tensors``)."""
        facts = {k: v for k, v in self.calibration.items() if not isinstance(v, torch.Tensor)}
        return {
            "format": FORMAT,
            "version": VERSION,
            "model": self.model_config.to_dict(),
            "dataset": self.dataset,
            "classes": list(self.classes),
            "mean": self.mean,
            "std": self.std,
            "metrics": self.metrics,
            "history": self.history,
            "train_config": self.train_config,
            "temperature": self.temperature,
            "calibration": facts,
        }

    def calibration_tensors(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().contiguous() for k, v in self.calibration.items() if isinstance(v, torch.Tensor)}


def to_bytes(ckpt: Checkpoint, fmt: str = "pt") -> bytes:
    """Serialize to ``pt`` (torch) or ``safetensors`` bytes, e.g. for a download button."""
    state = {k: v.detach().cpu().contiguous() for k, v in ckpt.model.state_dict().items()}
    if fmt == "safetensors":
        tensors = {CALIBRATION + k: v for k, v in ckpt.calibration_tensors().items()}
        return st_save(state | tensors, metadata={"cnnkit": json.dumps(ckpt.meta())})
    buffer = io.BytesIO()
    torch.save(
        {"meta": json.dumps(ckpt.meta()), "state_dict": state, "calibration": ckpt.calibration_tensors()}, buffer
    )
    return buffer.getvalue()


def save_checkpoint(ckpt: Checkpoint, path: str | Path) -> Path:
    """Write ``ckpt`` atomically (a failed write leaves the previous file intact)."""
    path = Path(path)
    return write_atomic(path, to_bytes(ckpt, "safetensors" if path.suffix == ".safetensors" else "pt"))


def load_checkpoint(path: str | Path, name: str | None = None) -> Checkpoint:
    """The checkpoint in the file ``path``, called ``name`` (default: its path) in any message about it."""
    path = Path(path)
    name = name or str(path)
    try:
        data = read_limited(path, MAX_FILE_BYTES)
    except OSError as exc:
        raise CnnkitError("errors.checkpoint_unreadable_file", path=name, reason=exc.strerror or exc) from None
    return from_bytes(data, name)


def from_bytes(data: bytes, name: str = "checkpoint") -> Checkpoint:
    """Load a checkpoint from bytes (a file's content or an upload); safetensors or torch, never pickle code.
    Every field of the card, the calibration's tensors and the weights are validated (``checkpoint_schema``)
    before the network gets any memory."""
    meta, state, tensors = _read_safetensors(data, name) if _is_safetensors(data) else _read_torch(data, name)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CnnkitError("errors.checkpoint_not_cnnkit", name=name)
    card = validate_meta(meta, name)
    model = build_checked(card.model_config, name)
    statistics = validate_doubt_tensors(tensors, name, model, card)
    model.load_state_dict(validate_weights(model, state, name, card.model_config.describe()), assign=True)
    model.eval()
    return Checkpoint(
        model,
        card.model_config,
        card.dataset,
        card.classes,
        card.mean,
        card.std,
        card.metrics,
        card.history,
        card.train_config,
        name,
        card.temperature,
        card.calibration | statistics,
    )


def _card(text: str, name: str) -> dict:
    """The card's JSON text parsed, when it is of a sensible length and depth."""
    if not isinstance(text, str) or len(text) > MAX_META:
        raise CnnkitError("errors.checkpoint_corrupt_meta", name=name)
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise CnnkitError("errors.checkpoint_corrupt_meta", name=name) from None


def read_state_dict(data: bytes, name: str) -> dict:
    """A plain weights file (torch's or safetensors), read without running pickled code: its tensors."""
    kind = "weights"
    state = _read_safetensors(data, name, kind)[1] if _is_safetensors(data) else _torch_load(data, name, kind)
    if not isinstance(state, dict):
        raise CnnkitError("errors.weights_not_state_dict", name=name, kind=type(state).__name__)
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise CnnkitError("safety.ckpt_not_tensor", name=name, weight=shown(key), got=type(value).__name__)
    return state


def _is_safetensors(data: bytes) -> bool:
    """Torch files are zip archives (``PK``) or legacy pickles (``\\x80``); anything else is read as safetensors.
    A safetensors file starts with its JSON header's length (8 bytes, little-endian), whose first bytes can be
    those too: a ``{`` after them and a length that fits the file say safetensors first."""
    if len(data) > 8 and data[8:9] == b"{" and int.from_bytes(data[:8], "little") <= len(data) - 8:
        return True
    return bool(data[:8]) and not data.startswith(b"PK") and not data.startswith(b"\x80")


def _read_torch(data: bytes, name: str) -> tuple[dict, dict, dict]:
    obj = _torch_load(data, name)
    if not isinstance(obj, dict) or "state_dict" not in obj or not isinstance(obj.get("meta"), str):
        raise CnnkitError("errors.checkpoint_bare_state_dict", name=name)
    return _card(obj["meta"], name), obj["state_dict"], obj.get("calibration")


def _torch_load(data: bytes, name: str, kind: str = "checkpoint"):
    """``torch.load(weights_only=True)``: pickled Python objects are refused, never executed."""
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        raise CnnkitError("errors.pickle_refused", name=name, reference=found.group(1) if found else "?") from None
    except Exception as exc:  # zip/truncation errors surface as RuntimeError, EOFError, ...
        raise CnnkitError(
            "errors.unreadable",
            name=name,
            kind=Term(f"errors.kind.{kind}"),
            detail=(str(exc).splitlines() or [type(exc).__name__])[0][:200],
        ) from None


def _read_safetensors(data: bytes, name: str, kind: str = "checkpoint") -> tuple[dict, dict, dict]:
    """The card, the weights and the calibration's tensors of a safetensors file."""
    try:
        state = st_load(data)
        header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
        card = header.get("__metadata__", {}).get("cnnkit", "{}")
    except Exception as exc:  # SafetensorError, ValueError, UnicodeDecodeError, IndexError on a few bytes, ...
        raise CnnkitError("errors.unreadable", name=name, kind=Term(f"errors.kind.{kind}"), detail=exc) from None
    tensors = {k.removeprefix(CALIBRATION): state.pop(k) for k in list(state) if k.startswith(CALIBRATION)}
    return _card(card, name), state, tensors
