"""The notes' models and their experiments: parameter counts, shapes, clear errors."""

import pytest
import torch

from cnnkit.errors import CnnkitError
from cnnkit.nets.builder import ModelConfig, build_model, count_parameters
from cnnkit.nets.summary import layer_table


def test_convnet_is_the_notebooks_exactly():
    model = build_model(ModelConfig("convnet"))
    assert count_parameters(model) == 421_642
    rows = {r.name: r for r in layer_table(model, (1, 1, 28, 28))}
    assert rows["pool1"].output_shape == (1, 32, 14, 14)
    assert rows["pool2"].output_shape == (1, 64, 7, 7)
    assert rows["fc1"].output_shape == (1, 128) and rows["fc1"].params == 3136 * 128 + 128
    assert [type(m).__name__ for m in model] == [
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Flatten",
        "Linear",
        "ReLU",
        "Linear",
    ]


def test_lenet5_uses_5x5_tanh_avgpool_and_120_84_10():
    model = build_model(ModelConfig("lenet5"))
    kinds = {type(m).__name__ for m in model}
    assert {"Tanh", "AvgPool2d"} <= kinds and "ReLU" not in kinds
    assert [m.out_features for m in model if isinstance(m, torch.nn.Linear)] == [120, 84, 10]
    assert all(m.kernel_size == (5, 5) for m in model if isinstance(m, torch.nn.Conv2d))
    assert count_parameters(model) == 61_706


@pytest.mark.parametrize(
    "option, check",
    [
        (dict(extra_conv=True), lambda rows: rows["conv3"].output_shape == (2, 128, 7, 7)),
        (dict(pooling=False), lambda rows: "pool1" not in rows and rows["flatten"].output_shape == (2, 64 * 28 * 28)),
        (dict(padding=False), lambda rows: rows["conv1"].output_shape == (2, 32, 26, 26)),
        (dict(extra_fc=True), lambda rows: rows["fc2"].output_shape == (2, 64) and rows["fc3"].output_shape == (2, 10)),
        (dict(batchnorm=True), lambda rows: rows["bn1"].type == "BatchNorm2d"),
        (dict(dropout=0.25), lambda rows: rows["dropout1"].type == "Dropout"),
    ],
)
def test_each_experiment_changes_the_network_and_still_outputs_10(option, check):
    model = build_model(ModelConfig(**option))
    rows = {r.name: r for r in layer_table(model, (2, 1, 28, 28))}
    assert check(rows)
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert count_parameters(model) != 421_642 or option.get("dropout")


def test_invalid_options_are_clear():
    with pytest.raises(CnnkitError, match="Unknown model"):
        build_model(ModelConfig("resnet"))
    with pytest.raises(CnnkitError, match="Dropout"):
        build_model(ModelConfig(dropout=1.5))
