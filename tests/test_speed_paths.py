"""The engine's speed levers change the speed, not what is learned: each optimized path against the plain one
on a fixed seed (the figures of the speed itself are in docs/speed.md, measured by ``python -m cnnkit bench``)."""

import pytest
import torch
import torch.nn.functional as F

from cnnkit import devices
from cnnkit.data.datasets import batches, subset, to_tensor
from cnnkit.devices import TORCH_BF16_CHECKS, cpu_computes_bf16
from cnnkit.nets.builder import ModelConfig, build_model
from cnnkit.train.evaluation import evaluate
from cnnkit.train.loop import BatchProgress, TrainConfig, autocast_dtype, train

PLAIN = dict(channels_last=False, precision="fp32")


def run(digits_data, **kw):
    """A short run; returns the result and its per-batch losses."""
    losses = []
    config = TrainConfig(
        dataset="mnist", epochs=1, batch_size=32, train_subset=640, device="cpu", report_seconds=0, **kw
    )
    result = train(
        config, callback=lambda e: losses.append(e.loss) if isinstance(e, BatchProgress) else None, dataset=digits_data
    )
    return result, torch.tensor(losses)


def test_the_plain_path_is_the_textbook_loop(digits_data):
    """fp32, NCHW: exactly what a hand-written loop over the same batches computes."""
    result, losses = run(digits_data, **PLAIN)
    split = subset(digits_data.train, 640, 0)
    x, y = to_tensor(split.images, digits_data.info), split.labels
    torch.manual_seed(0)
    model = build_model(ModelConfig())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    expected = []
    for xb, yb in batches(x, y, 32, True, torch.Generator().manual_seed(0)):
        loss = F.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        expected.append(loss.item())
    assert torch.allclose(losses, torch.tensor(expected), rtol=1e-5, atol=1e-6)
    assert all(torch.allclose(p, q, atol=1e-6) for p, q in zip(result.model.parameters(), model.parameters()))


def test_channels_last_learns_the_same(digits_data):
    plain, plain_losses = run(digits_data, **PLAIN)
    fast, fast_losses = run(digits_data, channels_last=True, precision="fp32")
    assert torch.allclose(plain_losses, fast_losses, rtol=1e-3, atol=1e-4)
    assert abs(plain.evaluation.accuracy - fast.evaluation.accuracy) < 0.002


def test_bf16_autocast_learns_the_same_within_rounding(digits_data):
    plain, plain_losses = run(digits_data, **PLAIN)
    fast, fast_losses = run(digits_data, channels_last=True, precision="bf16")
    assert (plain_losses - fast_losses).abs().max() < 0.1  # bf16 keeps ~3 significant digits
    assert abs(plain_losses[-5:].mean() - fast_losses[-5:].mean()) < 0.05
    assert abs(plain.evaluation.accuracy - fast.evaluation.accuracy) < 0.02


def test_reporting_less_often_changes_nothing(digits_data):
    every, every_losses = run(digits_data)
    sparse, sparse_losses = run(digits_data, report_every=7)
    # the first batch (the start a diverging loss is measured from), every 7th batch, and the last one
    assert len(sparse_losses) == len(every_losses[6::7]) + 2
    assert torch.equal(sparse_losses[1:-1], every_losses[6::7]) and sparse_losses[0] == every_losses[0]
    assert every.history[0].train_loss == sparse.history[0].train_loss
    assert all(torch.equal(p, q) for p, q in zip(every.model.parameters(), sparse.model.parameters()))


def test_evaluation_batch_size_does_not_change_the_result(digits_data):
    result, _ = run(digits_data)
    x = to_tensor(digits_data.test.images[:2000], digits_data.info)
    y = digits_data.test.labels[:2000]
    small, large = evaluate(result.model, x, y, batch_size=64), evaluate(result.model, x, y, batch_size=2000)
    assert small.accuracy == large.accuracy and small.confusion == large.confusion
    assert small.loss == pytest.approx(large.loss, rel=1e-5)


def test_auto_precision_is_bf16_only_on_native_hardware():
    cpu = torch.device("cpu")
    assert autocast_dtype("fp32", cpu) is None and autocast_dtype("bf16", cpu) is torch.bfloat16
    native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    assert autocast_dtype("auto", cpu) is (torch.bfloat16 if native else None)


def test_the_cpu_bf16_check_agrees_with_torch_and_reads_the_cpu_flags_where_torch_has_no_check(monkeypatch):
    assert cpu_computes_bf16() == any(getattr(torch.cpu, name)() for name in TORCH_BF16_CHECKS)
    for name in TORCH_BF16_CHECKS:  # private in torch: a later version may drop them
        monkeypatch.delattr(torch.cpu, name, raising=False)
    for flags, native in (
        ("fpu sse2 avx512f avx512_bf16", True),
        ("fpu amx_tile amx_bf16", True),
        ("fpu sse2 avx2 avx512f", False),
        (None, False),
    ):
        monkeypatch.setattr(devices, "_cpuinfo", lambda field, flags=flags: flags if field == "flags" else None)
        assert cpu_computes_bf16() is native, flags


@pytest.mark.slow
def test_compiled_training_learns_the_same(digits_data):
    plain, plain_losses = run(digits_data, channels_last=True, precision="fp32")
    compiled, compiled_losses = run(digits_data, channels_last=True, precision="fp32", compile=True)
    assert torch.allclose(plain_losses, compiled_losses, rtol=1e-3, atol=1e-4)
    assert abs(plain.evaluation.accuracy - compiled.evaluation.accuracy) < 0.002
