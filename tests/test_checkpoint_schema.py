"""Crafted checkpoints: every bad metadata field or weight gets one clear message, before the network is
given memory (a file claiming image_size 100000 is refused without allocating its 20 TB)."""

import io
import json
import resource
import subprocess
import sys
import tracemalloc

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnkit.data.folders import FolderOptions
from cnnkit.errors import CnnkitError
from cnnkit.i18n import text
from cnnkit.infer.predict import predict_image
from cnnkit.nets.builder import ModelConfig, build_model, count_parameters
from cnnkit.nets.checkpoints import Checkpoint, from_bytes, to_bytes
from cnnkit.train.loop import EpochStats, TrainConfig
from cnnkit.train.store import RunStore
from tests.support import ROOT
from tests.support.drawing import SEVEN
from tests.support.pages import draw_page, upload


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
    "std_0": (
        lambda m, s: m.update(std=0),
        "evil.pt was refused: its normalization std must be at least 0.001, not 0.0.",
    ),
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
    with pytest.raises(CnnkitError, match="std must be at least 0.001, not -0.001"):
        from_bytes(bad, "evil.safetensors")


def test_imagenet_weights_with_an_int_inside_are_refused():
    from cnnkit.nets.checkpoints import read_state_dict

    buffer = io.BytesIO()
    torch.save({"conv1.weight": torch.zeros(1), "fc.bias": 7}, buffer)
    with pytest.raises(CnnkitError, match="its weight 'fc.bias' is not a tensor but a Python int"):
        read_state_dict(buffer.getvalue(), "w.pth")


# Every field of a real card: the shipped model's (a trained ConvNet with its calibration).


def shipped_parts(shipped) -> tuple[dict, dict, dict]:
    """The shipped model's card, weights and calibration tensors, as copies to edit."""
    meta = json.loads(json.dumps(shipped.meta()))
    return meta, dict(shipped.model.state_dict()), {k: v.clone() for k, v in shipped.calibration_tensors().items()}


def saved(meta: dict, state: dict, tensors) -> bytes:
    buffer = io.BytesIO()
    torch.save({"meta": json.dumps(meta), "state_dict": state, "calibration": tensors}, buffer)
    return buffer.getvalue()


def shipped_refusal(shipped, edit) -> CnnkitError:
    meta, state, tensors = shipped_parts(shipped)
    edit(meta, tensors)
    with pytest.raises(CnnkitError) as err:
        from_bytes(saved(meta, state, tensors), "evil.pt")
    return err.value


def folder_of(size: int, fit: str = "pad"):
    """An edit that makes the card a class-folder model's, its images ``size``×``size`` gray."""
    return lambda m, t: m["train_config"].update(folder={"size": size, "channels": 1, "fit": fit})


# the cases of issue 25 (the first five) and the calibration's tensors: (edit, the field the message names)
CARD_CASES = {
    "folder_size_3000": (folder_of(3000), "train_config.folder"),
    "folder_size_100000": (folder_of(100000), "train_config.folder"),
    "far_0": (lambda m, t: m["calibration"].update(far=0), "calibration.far"),
    "ink_text": (lambda m, t: m["calibration"].update(ink="ab"), "calibration.ink"),
    "centres_text": (lambda m, t: m["calibration"].update(centres="x"), "calibration.centres"),
    "ink_upside_down": (lambda m, t: m["calibration"].update(ink=[0.3, 0.03]), "calibration.ink"),
    "folder_other_size": (folder_of(32), "train_config.folder"),
    "folder_as_text": (lambda m, t: m["train_config"].update(folder="big"), "train_config.folder"),
    "folder_unknown_fit": (folder_of(28, "zoom"), "train_config.folder"),
    "seed_huge": (lambda m, t: m["train_config"].update(seed=10**30), "train_config.seed"),
    "history_junk": (lambda m, t: m.update(history=[{"epoch": "one"}]), "history[0].epoch"),
    "temperature_0": (lambda m, t: m.update(temperature=0), "temperature"),
    "centres_wrong_shape": (lambda m, t: t.update(centres=torch.zeros(3, 128)), "calibration.centres"),
    "precision_huge": (lambda m, t: t.update(precision=torch.zeros(4096, 4096)), "calibration.precision"),
    "precision_int": (lambda m, t: t.update(precision=torch.zeros(128, 128).long()), "calibration.precision"),
    "precision_nan": (lambda m, t: t["precision"].fill_(float("nan")), "calibration.precision"),
    "tensor_unknown": (lambda m, t: t.update(extra=torch.zeros(1)), "extra"),
    "tensor_missing": (lambda m, t: t.pop("pooled_centre"), "calibration.pooled_centre"),
    "tensor_not_tensor": (lambda m, t: t.update(centres=[1, 2]), "calibration.centres"),
}


@pytest.mark.parametrize("case", CARD_CASES)
def test_every_field_of_a_real_card_is_checked(shipped, case):
    edit, field = CARD_CASES[case]
    err = shipped_refusal(shipped, edit)
    english, russian = err.message("en"), err.message("ru")
    assert english.startswith("evil.pt was refused") and field in english
    assert russian.startswith("evil.pt отклонён") and field in russian


def test_a_wrong_type_is_said_in_russian(shipped):
    err = shipped_refusal(shipped, lambda m, t: m["calibration"].update(far="x"))
    assert err.message("ru") == "evil.pt отклонён: поле метаданных «calibration.far» должно быть числом, а не 'x'."


def test_a_folder_models_options_are_read_from_its_card(shipped):
    """A valid card of a class-folder model (its images 28×28 gray, as its network reads them) loads, and an
    image is made as its training images were."""
    meta, state, tensors = shipped_parts(shipped)
    folder_of(28)(meta, tensors)
    ckpt = from_bytes(saved(meta, state, tensors), "folder.pt")
    assert ckpt.folder == FolderOptions(size=28, channels=1, fit="pad")
    assert predict_image(ckpt, SEVEN, "seven.png").label in ckpt.classes


def test_an_older_card_with_json_statistics_still_loads(shipped):
    meta, state, _ = shipped_parts(shipped)
    meta["calibration"] |= {"centres": [[0.0] * 128] * 10, "precision": [[0.0] * 128] * 128}
    old = from_bytes(saved(meta, state, None), "old.pt")
    assert "centres" not in old.calibration and old.calibration["far"] == shipped.calibration["far"]


# Hypothesis: any value in any field gives our own error or a model that answers, in bounded memory.

DELETED = object()
JUNK = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.sampled_from([0, -1, 0.0, 1e-300, 1e308, 3000, 100000, 10**30, "x" * 5000, "", "ab", [0.5] * 20000])
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=8,
)
TENSORS = st.builds(
    lambda shape, dtype, fill: torch.full(shape, fill).to(dtype),
    st.sampled_from([(), (0,), (128,), (10, 128), (128, 128), (128, 10), (3000,), (3000, 128), (1, 1, 1)]),
    st.sampled_from([torch.float32, torch.float16, torch.int64, torch.bool]),
    st.sampled_from([0.0, 1.0, float("nan"), float("inf"), -1e30]),
)


def paths(value, at=()) -> list[tuple]:
    """Every field of a card: each key of each table, and the first entry of each list, at every depth."""
    if isinstance(value, dict):
        children = [(k, value[k]) for k in value]
    elif isinstance(value, list) and value:
        children = [(0, value[0])]
    else:
        children = []
    return [at + (k,) for k, _ in children] + [p for k, child in children for p in paths(child, at + (k,))]


def replaced(meta: dict, path: tuple, value) -> None:
    *parents, last = path
    for key in parents:
        meta = meta[key]
    if value is DELETED:
        del meta[last]
    else:
        meta[last] = value


def answers_or_refuses(data: bytes) -> None:
    """Loading ``data`` and reading a drawn seven with it gives our own error, or an answer of its classes."""
    try:
        ckpt = from_bytes(data, "fuzzed.pt")
        assert predict_image(ckpt, SEVEN, "seven.png").label in ckpt.classes
    except CnnkitError as exc:
        assert exc.message("ru") != exc.message("en")


@pytest.fixture(scope="module")
def card_fields(shipped) -> list[tuple]:
    meta, _, tensors = shipped_parts(shipped)
    answers_or_refuses(saved(meta, shipped.model.state_dict(), tensors))  # once before measuring: torch's own start
    return [p for p in paths(meta) if p != ("format",)] + [("~tensor", name) for name in tensors]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_value_in_any_field_gives_our_error_or_a_model(shipped, card_fields, data):
    path = data.draw(st.sampled_from(card_fields), label="field")
    meta, state, tensors = shipped_parts(shipped)
    if path[0] == "~tensor":
        value = data.draw(st.just(DELETED) | TENSORS | JUNK, label="tensor")
        replaced(tensors, path[1:], value)
    else:
        replaced(meta, path, data.draw(st.just(DELETED) | JUNK, label="value"))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    try:
        answers_or_refuses(saved(meta, state, tensors))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20  # bytes that Python and numpy took at most
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # KB: torch's too


# The drawing page: a bad card, uploaded or picked among the stored runs, gives one translated message.


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_bad_card_uploaded_on_the_drawing_page_gives_one_translated_message(shipped, lang):
    meta, state, tensors = shipped_parts(shipped)
    meta["calibration"]["ink"] = "ab"
    at = draw_page(lang)
    at.selectbox(key="draw_model").set_value("upload").run()
    upload(at, "evil.pt", saved(meta, state, tensors), key="draw_model_file")
    expected = text("safety.kinds.list", lang)
    refused = text("safety.ckpt_type", lang, name="evil.pt", field="calibration.ink", expected=expected, got="'ab'")
    assert [e.value for e in at.error] == [refused]
    assert not at.metric  # no answer from the refused model


def test_a_bad_card_picked_among_the_runs_gives_one_message(shipped, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(tmp_path))
    store = RunStore(tmp_path)
    run_id = store.create(TrainConfig(), name="tampered")
    meta, state, tensors = shipped_parts(shipped)
    folder_of(3000)(meta, tensors)
    (store.folder(run_id) / "best.pt").write_bytes(saved(meta, state, tensors))
    store.add_epoch(run_id, EpochStats(**meta["history"][0]), 1.0)
    store.finish(run_id, "finished")
    at = draw_page("ru")
    at.selectbox(key="draw_model").set_value(f"run:{run_id}").run()
    assert not at.exception and len(at.error) == 1
    reason = text("build.folder.bad_size", "ru", size=3000, sizes="28, 32, 48, 64, 96, 128, 224")
    assert at.error[0].value.endswith(f"«train_config.folder» недопустимо: {reason}")
    assert at.error[0].value.startswith(f"#{run_id}/best.pt") and str(tmp_path) not in at.error[0].value


def test_every_training_setting_is_kept_in_a_checkpoint_and_read_back():
    """A run's card keeps all of ``TrainConfig`` (an exported script trains as the run did): the augmentation's
    strengths too, within their bounds."""
    from dataclasses import fields

    from cnnkit.nets.checkpoint_schema import TRAIN_FIELDS, train_config

    assert set(TRAIN_FIELDS) == {f.name for f in fields(TrainConfig)}
    config = TrainConfig(rotation=15.0, shift=0.1, scale=0.2, shear=5.0, erasing=0.3, flip=True, color_jitter=0.2)
    values, _ = train_config(json.loads(json.dumps(config.to_dict())), "run.pt", ModelConfig())
    assert {k: values[k] for k in ("rotation", "erasing", "flip", "color_jitter")} == {
        "rotation": 15.0,
        "erasing": 0.3,
        "flip": True,
        "color_jitter": 0.2,
    }
    with pytest.raises(CnnkitError, match="rotation"):
        train_config({**config.to_dict(), "rotation": 1e9}, "run.pt", ModelConfig())
