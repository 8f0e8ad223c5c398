"""The guide's figures are computed, and they agree with torchvision's own metadata and with real models."""

import pytest
import torch
import torchvision

from cnnkit.errors import CnnkitError
from cnnkit.guide.comparison import comparison, weights_info
from cnnkit.guide.comparison_charts import accuracy_vs_compute, compact_text, params_by_year
from cnnkit.guide.diagram import architecture_diagram
from cnnkit.guide.meta import build_on_meta, input_shape
from cnnkit.guide.profiles import chain, profile
from cnnkit.guide.registry import ARCHITECTURES, CHOICES, builders, is_cnnkit
from cnnkit.guide.snippets import load_snippet, transfer_snippet
from cnnkit.guide.totals import totals
from cnnkit.guide.transfer import transfer_learning
from cnnkit.i18n import LANGUAGES, number, text
from cnnkit.nets.builder import ModelConfig, build_model, count_parameters

TORCHVISION = [b for b in builders() if not is_cnnkit(b)]
DEFAULTS = [a.default for a in ARCHITECTURES.values()]


@pytest.mark.parametrize("builder", TORCHVISION)
def test_figures_match_torchvision_metadata(builder):
    info, fig = weights_info(builder), totals(builder)
    assert fig.params == info.num_params
    assert round(fig.gmacs, 3) == pytest.approx(info.gmacs, abs=1e-9)  # torchvision's "GFLOPS" are multiply–adds
    assert fig.input_size == info.input_size


def test_the_figures_the_issue_names():
    assert totals("resnet50").params == weights_info("resnet50").num_params == 25_557_032
    assert totals("vgg16").params == weights_info("vgg16").num_params == 138_357_544
    assert totals("efficientnet_b7").input_size == 600 and totals("inception_v3").input_size == 299


@pytest.mark.parametrize("builder", ["convnet", "lenet5"])
def test_cnnkit_networks_on_meta_count_like_the_real_ones(builder):
    real = build_model(ModelConfig(builder))
    assert totals(builder).params == count_parameters(real)
    assert weights_info(builder) is None
    if builder == "convnet":
        assert totals(builder).params == 421_642  # the notebook's ConvNet


def test_every_torchvision_model_of_the_guides_families_has_a_card():
    prefixes = (
        "alexnet",
        "vgg",
        "googlenet",
        "inception",
        "resnet",
        "resnext",
        "wide_resnet",
        "densenet",
        "squeezenet",
        "mobilenet",
        "shufflenet",
        "efficientnet",
        "convnext",
    )
    listed = torchvision.models.list_models(module=torchvision.models)
    family = {m for m in listed if m.startswith(prefixes)}
    assert family == set(TORCHVISION)


def test_unknown_names_and_too_small_inputs_are_clear_errors():
    with pytest.raises(CnnkitError, match="not in the guide"):
        build_on_meta("resnet51")
    with pytest.raises(CnnkitError, match="at least 75"):
        input_shape("inception_v3", 64)


def test_a_smaller_input_costs_fewer_multiply_adds_and_the_same_parameters():
    small, full = profile("resnet50", 160), profile("resnet50")
    assert small.totals.params == full.totals.params
    assert small.totals.macs < full.totals.macs
    assert small.table(1)[0].output_shape == (1, 64, 80, 80)  # conv1 halves the side


@pytest.mark.parametrize("builder", DEFAULTS)
def test_layer_table_and_chain_account_for_the_whole_network(builder):
    prof = profile(builder)
    assert prof.totals == totals(builder)
    classes = 10 if is_cnnkit(builder) else 1000
    assert prof.layers[-1].output_shape[:2] == (1, classes)  # SqueezeNet flattens its (1, 1000, 1, 1) after
    seen = set()
    for layer in prof.layers:  # containers come before their contents
        parent = layer.name.rpartition(".")[0]
        assert not parent or parent in seen, f"{layer.name} listed before {parent}"
        seen.add(layer.name)
    blocks = chain(prof)
    assert sum(b.macs for b in blocks) == prof.totals.macs
    assert sum(b.params for b in blocks) == prof.totals.params
    diagram = architecture_diagram(blocks, "en")
    assert len(diagram.layout.shapes) == len(blocks)


def test_chain_folds_identical_blocks():
    model = build_on_meta("resnet50")
    bottlenecks = sum(type(m).__name__ == "Bottleneck" for m in model.modules())
    boxes = [b for b in chain(profile("resnet50")) if b.type == "Bottleneck"]
    assert sum(b.count for b in boxes) == bottlenecks
    assert len(boxes) == 4  # one box per stage: the stages differ in output shape


def test_inception_aux_classifier_is_counted_but_not_drawn():
    prof = profile("inception_v3")
    aux = sum(p.numel() for p in build_on_meta("inception_v3").AuxLogits.parameters())
    assert prof.totals.params - sum(b.params for b in chain(prof)) == aux


def test_transfer_learning_numbers_for_resnet50():
    plan = transfer_learning("resnet50", 10)
    assert (plan.head, plan.in_features) == ("fc", 2048)
    assert plan.trainable == 2048 * 10 + 10
    assert plan.frozen == weights_info("resnet50").num_params - (2048 * 1000 + 1000)


def test_transfer_learning_bad_input():
    with pytest.raises(CnnkitError) as error:
        transfer_learning("squeezenet1_0")
    assert error.value.key == "guide.errors.no_linear_head"
    with pytest.raises(CnnkitError):
        transfer_learning("resnet50", 0)


def _fake_builder(monkeypatch, builder, seen):
    def build(weights):
        seen.append(weights)
        return build_on_meta(builder)

    monkeypatch.setattr(torchvision.models, builder, build)


@pytest.mark.parametrize("builder", [b for b in DEFAULTS if not is_cnnkit(b)])
def test_load_snippet_uses_the_current_default_weights(monkeypatch, builder):
    seen = []
    _fake_builder(monkeypatch, builder, seen)
    scope = {}
    exec(load_snippet(builder), scope)
    assert seen == [torchvision.models.get_model_weights(builder).DEFAULT]
    assert count_parameters(scope["model"]) == weights_info(builder).num_params
    assert len(scope["categories"]) == 1000


@pytest.mark.parametrize("builder", ["convnet", "lenet5"])
def test_plain_pytorch_snippet_is_the_same_network(builder):
    scope = {}
    exec(load_snippet(builder), scope)
    real = build_model(ModelConfig(builder))
    assert scope["model"].state_dict().keys() == real.state_dict().keys()  # cnnkit checkpoints load
    assert count_parameters(scope["model"]) == count_parameters(real)


@pytest.mark.parametrize("builder", ["resnet50", "efficientnet_b0", "vgg16"])
def test_transfer_snippet_trains_only_the_new_head(monkeypatch, builder):
    plan = transfer_learning(builder, 7)
    _fake_builder(monkeypatch, builder, [])
    scope = {}
    with torch.device("meta"):
        exec(transfer_snippet(plan), scope)
    assert count_parameters(scope["model"], trainable_only=True) == plan.trainable
    assert sum(p.numel() for g in scope["optimizer"].param_groups for p in g["params"]) == plan.trainable


def test_choices_link_to_cards():
    for picks in CHOICES.values():
        for pick in picks:
            assert (pick.builder in builders()) if pick.builder else pick.where


def test_comparison_charts_show_every_model_and_open_its_card():
    rows = comparison()
    assert [r.totals.builder for r in rows] == builders()
    for lang in LANGUAGES:
        accuracy, years = accuracy_vs_compute(rows, lang), params_by_year(rows, lang)
        plotted = {point[0] for trace in accuracy.data for point in trace.customdata}
        assert plotted == set(TORCHVISION)  # cnnkit's networks have no ImageNet accuracy
        assert "lenet5" in {point[0] for trace in years.data for point in trace.customdata}
        assert accuracy.layout.xaxis.title.text == text("guide.compare.gflops_axis", lang)
        assert len(accuracy.data) == len({r.architecture for r in rows if r.weights})  # one legend entry a family


def test_every_card_is_written_in_every_language():
    for key in ARCHITECTURES:
        for part in ("idea", "features", "uses", "note"):
            texts = [text(f"guide.arch.{key}.{part}", lang) for lang in LANGUAGES]
            assert not str(texts[0]).startswith("⟨"), (key, part)
            assert len(set(map(str, texts))) == len(texts), f"{key}.{part} is not translated"


def test_meta_models_hold_no_weights():
    assert all(p.is_meta for p in build_on_meta("vgg16").parameters())


def test_numbers_read_naturally_in_each_language():
    assert number(25_557_032, "en") == "25,557,032" and number(25_557_032, "ru") == "25\u00a0557\u00a0032"
    assert number(97.84, "ru", 1) == "97,8" and number(1234.5, "en", 1) == "1,234.5"
    assert compact_text(4_089_184_256, "en") == "4.09 G" and compact_text(4_089_184_256, "ru") == "4,09 млрд"
    assert compact_text(999_999, "en") == "1 M" and compact_text(416_520, "en") == "417 K"
