"""Teaching the model the user's own drawings: transfer learning with the conv layers frozen.

The convolutional layers (the features learned from MNIST) stay as they are; only the fully connected
head learns, for a few steps, on the drawings and light random shifts, turns and scales of them. The result is a
new model: the checkpoint it started from is not changed.

So that it does not forget what it knew, half of each batch is *rehearsal*: images of the original training
data, and a fixed sample of the test set is read before and after; a drop of more than ``MAX_DROP`` must be
confirmed before the model is kept (``kept_checkpoint``). A kept model is stored as a finished run of the run
store (``keep_as_run``), so that it is there tomorrow on the drawing page and among the training page's runs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnkit.data.datasets import Split, augment, subset
from cnnkit.data.preprocess import normalize
from cnnkit.errors import CnnkitError
from cnnkit.infer.predict import one_thread, probabilities
from cnnkit.nets.builder import count_parameters
from cnnkit.nets.checkpoints import Checkpoint
from cnnkit.train.store import FINETUNE, RunStore

MAX_DROP = 0.01  # a fall in test accuracy above this (1 point) needs the learner's confirmation
REHEARSAL = 2000  # training images mixed in
CHECK = 1000  # test images of the fixed sample read before and after


@dataclass(kw_only=True)
class FinetuneResult:
    checkpoint: Checkpoint  # the new model with its card
    before: np.ndarray  # N×classes: the original model's probabilities for each drawing
    after: np.ndarray  # the same for the fine-tuned model
    losses: list[float]  # per step
    trainable: int  # parameters that learned (the head)
    frozen: int  # parameters kept (the conv layers)
    accuracy_before: float | None = None  # on the fixed test sample, None without data
    accuracy_after: float | None = None
    checked_on: int = 0  # images in that sample
    rehearsed: int = 0  # training images mixed in

    @property
    def drop(self) -> float:
        """How much accuracy the fixed test sample lost (0 when it gained or was not checked)."""
        if self.accuracy_before is None or self.accuracy_after is None:
            return 0.0
        return max(0.0, round(self.accuracy_before - self.accuracy_after, 6))

    @property
    def needs_confirmation(self) -> bool:
        return self.drop > MAX_DROP


def sample(split: Split, size: int, seed: int = 0) -> Split:
    """A fixed random sample (the same for the same seed) of raw images and labels."""
    return subset(split, size, seed)


def _normalized(ckpt: Checkpoint, split: Split) -> torch.Tensor:
    return (split.images.unsqueeze(1).float() / 255 - ckpt.mean) / ckpt.std


def accuracy(ckpt: Checkpoint, split: Split) -> float:
    """The share of ``split`` (raw images) that ``ckpt`` reads right."""
    probs = probabilities(ckpt, _normalized(ckpt, split))
    return float((probs.argmax(1) == split.labels.numpy()).mean())


def kept_checkpoint(result: FinetuneResult, confirmed: bool = False) -> tuple[Checkpoint, float | None]:
    """The fine-tuned model to keep, its card holding the accuracy measured on the fixed test sample, and
    that accuracy; refused when it fell by more than ``MAX_DROP`` and the learner did not confirm."""
    if result.needs_confirmation and not confirmed:
        raise CnnkitError("answers.finetune.confirm", drop=result.drop)
    ckpt = result.checkpoint
    if result.accuracy_after is not None:
        ckpt = replace(
            ckpt,
            metrics={**ckpt.metrics, "test_accuracy": result.accuracy_after, "test_accuracy_sample": result.checked_on},
        )
    return ckpt, result.accuracy_after


def keep_as_run(
    store: RunStore, result: FinetuneResult, *, parent: str, name: str, owner: str | None, confirmed: bool = False
) -> int:
    """Keep the fine-tuned model (``kept_checkpoint``) in ``store`` as a finished run of source ``finetune``
    named ``name``: its test accuracy is the one measured on the fixed test sample, and its settings are those
    of the model it started from, with ``fine_tune``: that ``parent`` model, the accuracy before and after,
    the drawings and steps. The run's id."""
    ckpt, _ = kept_checkpoint(result, confirmed)
    facts = {
        "parent": parent,
        "accuracy_before": result.accuracy_before,
        "accuracy_after": result.accuracy_after,
        "checked_on": result.checked_on,
        "rehearsed": result.rehearsed,
        "drawings": ckpt.metrics["fine_tuned_on"],
        "steps": ckpt.metrics["fine_tune_steps"],
    }
    return store.add_model(
        ckpt,
        {**ckpt.train_config, "fine_tune": facts},
        name=name,
        source=FINETUNE,
        owner=owner,
        train_images=facts["drawings"],
        test_images=result.checked_on,
    )


def split_head(model: nn.Sequential) -> tuple[nn.Sequential, nn.Sequential]:
    """The feature extractor (every layer before ``flatten``) and the head; they share the model's layers."""
    names = [name for name, _ in model.named_children()]
    cut = names.index("flatten")
    return model[:cut], model[cut:]


@one_thread()
def finetune(
    ckpt: Checkpoint,
    images: np.ndarray,
    labels: list[int],
    steps: int = 40,
    lr: float = 1e-3,
    copies: int = 16,
    batch_size: int = 32,
    seed: int = 0,
    rehearsal: Split | None = None,
    check: Split | None = None,
) -> FinetuneResult:
    """Train a copy of ``ckpt``'s head on N 28×28 drawings in [0, 1] (ink bright) with their class indices.

    Each drawing is augmented into ``copies`` variants; as the features are frozen, they are computed once
    and the head then trains on them for ``steps`` mini-batches, half of each one drawn from ``rehearsal``
    (raw images of the original training data) when given. ``check`` (raw test images) is read before and
    after.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels) or not len(labels):
        raise CnnkitError("errors.finetune_drawings")
    if not all(0 <= y < len(ckpt.classes) for y in labels):
        raise CnnkitError("errors.finetune_labels", last=len(ckpt.classes) - 1)
    x = torch.cat([normalize(img, ckpt.mean, ckpt.std) for img in images])
    y = torch.tensor(labels, dtype=torch.long)
    model = copy.deepcopy(ckpt.model).eval()  # eval: dropout off and BatchNorm statistics kept
    features, head = split_head(model)
    for p in features.parameters():
        p.requires_grad = False
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        varied = augment(
            x.repeat(copies, 1, 1, 1), -ckpt.mean / ckpt.std, generator, degrees=8.0, shift=1.5, scale=(0.92, 1.08)
        )
        feats = features(torch.cat([x, varied]))
        old = features(_normalized(ckpt, rehearsal)) if rehearsal is not None and len(rehearsal) else None
    targets = y.repeat(copies + 1)
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    losses = []
    own = batch_size if old is None else batch_size - batch_size // 2
    for _ in range(steps):
        idx = torch.randint(len(targets), (own,), generator=generator)
        batch, batch_targets = feats[idx], targets[idx]
        if old is not None:
            ridx = torch.randint(len(old), (batch_size - own,), generator=generator)
            batch, batch_targets = torch.cat([batch, old[ridx]]), torch.cat([batch_targets, rehearsal.labels[ridx]])
        loss = F.cross_entropy(head(batch), batch_targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    for p in features.parameters():
        p.requires_grad = True
    metrics = {
        "fine_tuned_on": len(y),
        "fine_tune_steps": steps,
        "rehearsal": 0 if old is None else len(old),
        "base_test_accuracy": ckpt.metrics.get("test_accuracy"),
    }
    tuned = replace(ckpt, model=model, metrics=metrics, source=f"{ckpt.source or 'model'} + fine-tuned")
    checked = check is not None and len(check) > 0
    return FinetuneResult(
        checkpoint=tuned,
        before=probabilities(ckpt, x),
        after=probabilities(tuned, x),
        losses=losses,
        trainable=count_parameters(head),
        frozen=count_parameters(features),
        accuracy_before=accuracy(ckpt, check) if checked else None,
        accuracy_after=accuracy(tuned, check) if checked else None,
        checked_on=len(check) if checked else 0,
        rehearsed=0 if old is None else len(old),
    )
