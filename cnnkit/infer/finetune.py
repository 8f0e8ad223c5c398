"""Teaching the model the user's own drawings: transfer learning with the conv layers frozen.

The convolutional layers (the features learned from MNIST) stay as they are; only the fully connected
head learns, for a few steps, on the drawings and light random shifts, turns and scales of them. The result is a
new model: the checkpoint it started from is not changed.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnkit.nets.checkpoints import Checkpoint
from cnnkit.data.datasets import augment
from cnnkit.errors import CnnkitError
from cnnkit.infer.predict import one_thread, probabilities
from cnnkit.nets.builder import count_parameters
from cnnkit.infer.preprocess import normalize


@dataclass
class FinetuneResult:
    checkpoint: Checkpoint  # the new model with its card
    before: np.ndarray  # N×classes: the original model's probabilities for each drawing
    after: np.ndarray  # the same for the fine-tuned model
    losses: list[float]  # per step
    trainable: int  # parameters that learned (the head)
    frozen: int  # parameters kept (the conv layers)


def split_head(model: nn.Sequential) -> tuple[nn.Sequential, nn.Sequential]:
    """The feature extractor (every layer before ``flatten``) and the head; they share the model's layers."""
    names = [name for name, _ in model.named_children()]
    cut = names.index("flatten")
    return model[:cut], model[cut:]


@one_thread()
def finetune(ckpt: Checkpoint, images: np.ndarray, labels: list[int], steps: int = 40, lr: float = 1e-3,
             copies: int = 16, batch_size: int = 32, seed: int = 0) -> FinetuneResult:
    """Train a copy of ``ckpt``'s head on N 28×28 drawings in [0, 1] (ink bright) with their class indices.

    Each drawing is augmented into ``copies`` variants; as the features are frozen, they are computed once
    and the head then trains on them for ``steps`` mini-batches.
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
        varied = augment(x.repeat(copies, 1, 1, 1), -ckpt.mean / ckpt.std, generator, degrees=8.0, shift=1.5,
                         scale=(0.92, 1.08))
        feats = features(torch.cat([x, varied]))
    targets = y.repeat(copies + 1)
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        idx = torch.randint(len(targets), (batch_size,), generator=generator)
        loss = F.cross_entropy(head(feats[idx]), targets[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    for p in features.parameters():
        p.requires_grad = True
    metrics = {"fine_tuned_on": len(y), "fine_tune_steps": steps,
               "base_test_accuracy": ckpt.metrics.get("test_accuracy")}
    tuned = replace(ckpt, model=model, metrics=metrics, source=f"{ckpt.source or 'model'} + fine-tuned")
    trainable = count_parameters(head)
    return FinetuneResult(tuned, probabilities(ckpt, x), probabilities(tuned, x), losses, trainable,
                          count_parameters(features))
