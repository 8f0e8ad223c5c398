"""The whitened first layer (the Fast recipe's start): its filters decorrelate the images' patches, a fresh run
starts from them and a continued one keeps its own weights, and where it cannot apply the user is told why."""

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from cnnkit.data.datasets import load_dataset, to_tensor
from cnnkit.errors import CnnkitError
from cnnkit.i18n import text
from cnnkit.nets.builder import POOL_FIRST, ModelConfig, build_model, parse_spec
from cnnkit.train.loop import Resume, TrainConfig, prepare, train
from cnnkit.train.presets import apply_preset
from cnnkit.train.whitening import first_conv, whiten_first_conv, whitening_filters


def test_the_first_filters_start_as_uncorrelated_unit_variance_views_of_the_patches(digits_data):
    images = to_tensor(digits_data.train.images[:400], digits_data.info)
    torch.manual_seed(0)
    model = build_model(ModelConfig(layers=POOL_FIRST))  # 32 filters of 3×3 = 9 values: 9 directions, ± each
    conv = first_conv(model)
    random_start = conv.weight.detach().clone()
    whiten_first_conv(model, images)
    out = F.conv2d(images, conv.weight, conv.bias).detach()  # every 3×3 patch of the 400 digits
    views = out[:, :9].permute(1, 0, 2, 3).reshape(9, -1)
    covariance = torch.cov(views)
    assert torch.all((covariance.diagonal() > 0.9) & (covariance.diagonal() < 1.05))  # unit variance (less eps)
    assert (covariance - torch.diag(covariance.diagonal())).abs().max() < 0.03  # uncorrelated
    assert views.mean(1).abs().max() < 0.05  # centred by their biases
    assert torch.equal(out[:, 9:18], -out[:, :9])  # each direction with its negative, for the ReLU after it
    assert torch.equal(conv.weight[18:], random_start[18:])  # the filters beyond them keep their random start


def test_a_fresh_run_starts_whitened_and_a_continued_one_keeps_its_weights(small_digits):
    config = TrainConfig(whiten=True, model=ModelConfig(layers=POOL_FIRST), device="cpu", channels_last=False)
    run = prepare(config, small_digits)
    conv = first_conv(run.model)
    weight, bias = whitening_filters(run.data.x_train, conv, config.seed)
    assert torch.equal(conv.weight[:18], weight) and torch.equal(conv.bias[:18], bias)
    kept = {name: torch.full_like(value, 0.5) for name, value in run.model.state_dict().items()}
    resume = Resume(
        model_state=kept, optimizer_state={}, scheduler_state=None, generator_state=None, history=[], seconds=0.0
    )
    continued = prepare(config, small_digits, resume=resume)
    assert torch.all(first_conv(continued.model).weight == 0.5)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_whitening_is_refused_with_a_reason_where_it_cannot_apply(small_digits, lang):
    dense = TrainConfig(whiten=True, model=ModelConfig(layers=parse_spec("flatten linear(32) relu linear")))
    with pytest.raises(CnnkitError) as no_conv:
        train(replace(dense, device="cpu"), dataset=small_digits)
    with pytest.raises(CnnkitError) as pretrained:
        TrainConfig(whiten=True, start_from="shipped").validate()
    for refused, key in ((no_conv, "errors.whiten_needs_conv"), (pretrained, "errors.whiten_pretrained")):
        assert refused.value.key == key
        assert refused.value.message(lang) == text(key, lang) and key not in refused.value.message(lang)


@pytest.mark.slow
def test_the_fast_recipe_reaches_90_percent_on_fashion_mnist_in_one_epoch(fashion):
    """What the guide and the training page promise for the Fast recipe, on the real data (docs/speed.md)."""
    data = load_dataset("fashion-mnist", fashion, download=False)
    result = train(apply_preset(TrainConfig(dataset="fashion-mnist", device="cpu"), "fast"), dataset=data)
    assert result.config.whiten and len(result.history) == 1
    assert result.evaluation.accuracy >= 0.90
