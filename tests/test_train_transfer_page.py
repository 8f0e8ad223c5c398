"""The training page's third network, "A pretrained network" (issue 22): an ImageNet architecture of the guide
with a new last layer. Nothing downloads: random weights are written under torchvision's own file name into a
temporary ``$TORCH_HOME``, or the folder is left empty to be offline without them."""

from __future__ import annotations

import io
import re

import pytest
import torch
import torchvision
from streamlit.testing.v1 import AppTest

from cnnkit.i18n import text
from cnnkit.nets.transfer import weights_file_name
from tests.support.pages import metric, open_page, start, stored, texts, wait_until

ARCH = "mobilenet_v3_small"  # the page's default: the small one a CPU trains in seconds


def imagenet_bytes() -> bytes:
    """Random weights of ``ARCH`` in the shape of its ImageNet file."""
    torch.manual_seed(1)
    out = io.BytesIO()
    torch.save(torchvision.models.get_model(ARCH, weights=None).state_dict(), out)
    return out.getvalue()


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """A ``$TORCH_HOME`` whose hub cache holds ``ARCH``'s weights file."""
    folder = tmp_path / "torch" / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    (folder / weights_file_name(ARCH)).write_bytes(imagenet_bytes())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch"


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """A ``$TORCH_HOME`` without any weights, on a machine that cannot download them."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch"))
    return tmp_path / "empty-torch"


def pretrained(at: AppTest, **controls) -> AppTest:
    at.segmented_control(key="train_network").set_value("pretrained").run()
    for key, value in controls.items():
        at.radio(key=key).set_value(value).run()
    assert not at.exception, at.exception
    return at


def count(at: AppTest, label: str) -> int:
    return int(re.sub(r"\D", "", metric(at, label)))


def start_disabled(at: AppTest) -> bool:
    return at.button(key="train_start").disabled


def test_the_notes_recipe_is_the_default_with_its_counts_code_and_preprocessing(train_at, torch_home):
    at = pretrained(train_at)
    assert at.selectbox(key="train_backbone").value == ARCH
    assert count(at, "Trainable parameters") == 1024 * 10 + 10  # the new last layer only: 1,024 features → 10
    assert count(at, "Frozen parameters") > 900_000
    code = at.code[0].value
    assert 'models.mobilenet_v3_small(weights="DEFAULT")' in code and "p.requires_grad = False" in code
    assert "model.classifier[3] = nn.Linear(1024, 10)" in code
    shown = texts(at.markdown) + texts(at.info)
    assert "resized to 256 px (bilinear), centre-cropped to 224 × 224 px" in shown
    assert "(0.485, 0.456, 0.406)" in shown  # ImageNet's channel means
    assert "takes milliseconds" in shown and metric(at, "Each further epoch") == "< 0.1 s"
    assert "MobileNetV3-Small" in texts(at.caption)  # the small ones suggested on the CPU
    assert not at.warning and not start_disabled(at)


def test_what_learns_changes_the_trainable_count(train_at, torch_home):
    at = pretrained(train_at)
    head = count(at, "Trainable parameters")
    total = head + count(at, "Frozen parameters")
    pretrained(at, train_freeze="blocks")
    at.number_input(key="train_unfreeze").set_value(2).run()
    two = count(at, "Trainable parameters")
    assert head < two < total
    assert "the last 2 blocks learn again" in at.code[0].value
    pretrained(at, train_freeze="none")
    assert count(at, "Trainable parameters") == total and count(at, "Frozen parameters") == 0
    assert "requires_grad = False" not in at.code[0].value
    assert metric(at, "Each further epoch").endswith(" s")  # the whole network runs in every epoch


def test_the_fast_recipe_on_a_pretrained_network_keeps_its_first_weights(train_at, offline):
    train_at.segmented_control(key="train_recipe").set_value("fast").run()
    at = pretrained(train_at, train_weights="scratch")
    assert at.toggle(key="train_whiten").value and at.toggle(key="train_whiten").disabled  # shown, not applied
    assert not at.error and not start_disabled(at)  # TrainConfig.validate would refuse a whitened pretrained start


def test_from_scratch_needs_no_weights_file_and_pretrained_does(train_at, offline):
    at = pretrained(train_at, train_weights="scratch")
    assert "(weights=None)" in at.code[0].value
    assert not at.warning and not start_disabled(at)
    pretrained(at, train_weights="imagenet")
    assert weights_file_name(ARCH) in texts(at.warning) and start_disabled(at)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_absent_weights_name_the_file_in_the_pages_language_and_no_server_path(
    page_digits, runs_dir, offline, monkeypatch, lang
):
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(page_digits))
    at = open_page("pages/train.py", lang)
    at.session_state["lang"] = lang
    at = pretrained(at)
    assert len(at.warning) == 1
    message = at.warning[0].value
    assert weights_file_name(ARCH) in message and message.startswith(
        text("errors.transfer_weights_missing", lang, model=ARCH, file="", url="", size=0)[:20]
    )
    assert str(offline) not in message and str(runs_dir.parent) not in message and "--" not in message
    assert start_disabled(at)


def test_an_uploaded_weights_file_is_checked_kept_and_used(train_at, offline, runs_dir):
    at = pretrained(train_at)
    at.file_uploader(key="train_weights_file").set_value(("junk.pth", b"not weights" * 8, "application/octet-stream"))
    at.run()
    assert len(at.warning) == 1 and start_disabled(at)  # one message: the file, not the absent weights too
    assert weights_file_name(ARCH) not in at.warning[0].value
    at.file_uploader(key="train_weights_file").set_value(("mine.pth", imagenet_bytes(), "application/octet-stream"))
    at.run()
    assert not at.warning and not start_disabled(at)
    assert "Training starts from the uploaded weights in mine.pth." in texts(at.caption)
    assert str(runs_dir) not in " ".join(texts(e) for e in (at.caption, at.markdown, at.info))
    assert len(list((runs_dir / "weights").glob("*.pth"))) == 1


def test_a_tiny_pretrained_run_trains_the_new_last_layer_and_is_stored(train_at, torch_home):
    at = pretrained(train_at)
    at.number_input(key="train_batch_size").set_value(50).run()
    start(at, subset=300)
    wait_until(at, lambda snap: snap.done, timeout=300)
    run = stored(at)
    assert run.status == "finished", run.reason
    model = run.train_config.model
    assert (model.backbone, model.pretrained, model.freeze_mode) == (ARCH, True, "all")
    assert "trained, test accuracy" in texts(at.success)
