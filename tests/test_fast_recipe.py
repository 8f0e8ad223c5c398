"""The fast recipe's levers change the speed, not what is learned: the pool-first network computes the ConvNet +
BatchNorm's function, label smoothing is the textbook loss (the recipe itself, the CLI and the bench:
tests/test_bench.py)."""

import pytest
import torch
import torch.nn.functional as F

from cnnkit.data.datasets import batches, load_dataset, to_tensor
from cnnkit.errors import CnnkitError
from cnnkit.nets.builder import POOL_FIRST, ModelConfig, build_model, count_parameters
from cnnkit.train.loop import BatchProgress, TrainConfig, train


def test_pooling_first_computes_what_the_convnet_with_batchnorm_computes():
    """Max-pool commutes with ReLU and with a BatchNorm of positive scale: the same weights give the same scores."""
    torch.manual_seed(0)
    reference = build_model(ModelConfig(batchnorm=True)).eval()
    pool_first = build_model(ModelConfig(layers=POOL_FIRST)).eval()
    for bn in (m for m in reference.modules() if isinstance(m, torch.nn.BatchNorm2d)):  # trained-looking statistics
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.uniform_(-0.2, 0.2)
    pool_first.load_state_dict(dict(zip(pool_first.state_dict(), reference.state_dict().values())))
    x = torch.randn(16, 1, 28, 28)
    assert torch.allclose(pool_first(x), reference(x), atol=1e-5)
    assert count_parameters(pool_first) == count_parameters(reference) == 421_834
    assert count_parameters(build_model(ModelConfig())) == 421_642  # the notes' ConvNet keeps its size


def first_loss(dataset: str, data_dir, **kw) -> tuple[float, TrainConfig]:
    losses = []
    config = TrainConfig(
        dataset=dataset,
        data_dir=str(data_dir),
        epochs=1,
        batch_size=20,
        device="cpu",
        channels_last=False,
        precision="fp32",
        report_seconds=0,
        **kw,
    )
    train(config, callback=lambda e: losses.append(e.loss) if isinstance(e, BatchProgress) else None)
    return losses[0], config


def test_label_smoothing_is_the_textbook_smoothed_cross_entropy(tiny_idx):
    plain, _ = first_loss("mnist", tiny_idx)
    smoothed, config = first_loss("mnist", tiny_idx, label_smoothing=0.2)
    data = load_dataset("mnist", tiny_idx, download=False)
    x, y = to_tensor(data.train.images, data.info), data.train.labels
    torch.manual_seed(0)
    model = build_model(ModelConfig())
    xb, yb = next(batches(x, y, 20, True, torch.Generator().manual_seed(0)))
    logits = model(xb)
    by_hand = (0.8 * F.nll_loss(logits.log_softmax(1), yb) - 0.2 * logits.log_softmax(1).mean(1).mean()).item()
    assert smoothed == pytest.approx(by_hand, rel=1e-5)
    assert smoothed != pytest.approx(plain, rel=1e-3)
    with pytest.raises(CnnkitError, match="Label smoothing must be at least 0 and below 1"):
        TrainConfig(label_smoothing=1.0).validate()
