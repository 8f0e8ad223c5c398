"""Teaching the model the user's drawings: only the head learns, the drawings are then read as taught,
and the model it started from is not changed."""

import numpy as np
import pytest
import torch

from cnnkit.errors import CnnkitError
from cnnkit.infer.finetune import finetune, split_head
from cnnkit.infer.predict import classify, model_card, read_digit
from cnnkit.nets.builder import count_parameters
from tests.support.drawing import LETTERS, canvas_png, draw_digit, png
from tests.support.models import random_checkpoint


def drawings(digit, boxes=((75, 40, 130, 200), (20, 25, 90, 120), (140, 100, 110, 160))):
    return [read_digit(png(draw_digit(digit, box)), invert=False).centered for box in boxes]


@pytest.fixture(scope="module")
def taught():
    """A model taught that this user's "1"s are sevens and their "0"s are fours."""
    ckpt = random_checkpoint(seed=1)
    before = {k: v.clone() for k, v in ckpt.model.state_dict().items()}
    images = drawings("1") + drawings("0")
    result = finetune(ckpt, np.stack(images), [7, 7, 7, 4, 4, 4], steps=60)
    return ckpt, before, images, result


def test_the_drawings_are_read_as_taught(taught):
    ckpt, _, images, result = taught
    assert list(result.after.argmax(1)) == [7, 7, 7, 4, 4, 4]
    assert list(result.before.argmax(1)) == [int(classify(ckpt, img).argmax()) for img in images]
    assert [int(classify(result.checkpoint, img).argmax()) for img in images] == [7, 7, 7, 4, 4, 4]
    assert result.losses[-1] < result.losses[0] / 5


def test_only_the_head_learned(taught):
    ckpt, _, _, result = taught
    old_features, old_head = split_head(ckpt.model)
    new_features, new_head = split_head(result.checkpoint.model)
    assert all(torch.equal(a, b) for a, b in zip(old_features.parameters(), new_features.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(old_head.parameters(), new_head.parameters()))
    assert (result.trainable, result.frozen) == (count_parameters(old_head), count_parameters(old_features))
    assert all(p.requires_grad for p in result.checkpoint.model.parameters())  # usable for training again


def test_the_original_model_is_untouched(taught):
    ckpt, before, images, _ = taught
    assert all(torch.equal(before[k], v) for k, v in ckpt.model.state_dict().items())
    assert model_card(ckpt)["fine_tuned_on"] is None


def test_the_new_model_says_what_it_is(taught):
    ckpt, _, _, result = taught
    tuned = model_card(result.checkpoint)
    assert tuned["fine_tuned_on"] == 6 and tuned["test_accuracy"] is None  # not measured on MNIST again
    assert result.checkpoint.classes == ckpt.classes and result.checkpoint.model is not ckpt.model


@pytest.mark.parametrize(
    "images, labels, message",
    [
        (np.zeros((0, 28, 28)), [], "at least one"),
        (np.zeros((2, 20, 20)), [1, 2], "28×28"),
        (np.zeros((2, 28, 28)), [1], "each with its label"),
        (np.zeros((1, 28, 28)), [10], "0…9"),
    ],
)
def test_bad_requests_are_clear(images, labels, message):
    with pytest.raises(CnnkitError, match=message):
        finetune(random_checkpoint(), images, labels, steps=1)


def _issue_drawings():
    """The reported session: four 2s drawn without a base and an X labelled 8."""
    no_base = [[(0.2, 0.25), (0.5, 0.03), (0.8, 0.25), (0.2, 0.97)]]
    boxes = ((75, 40, 130, 200), (20, 25, 90, 120), (140, 100, 110, 160), (60, 60, 150, 180))
    images = [read_digit(canvas_png(no_base, box), invert=False).centered for box in boxes]
    images.append(read_digit(canvas_png(LETTERS["X"]), invert=False).centered)
    return np.stack(images), [2, 2, 2, 2, 8]


def test_rehearsal_keeps_what_the_model_knew_and_a_drop_needs_confirmation(mnist5k):
    from cnnkit.data.datasets import load_dataset
    from cnnkit.infer.finetune import CHECK, REHEARSAL, kept_checkpoint, sample
    from cnnkit.infer.predict import load_model

    shipped, data = load_model(), load_dataset("mnist", mnist5k, download=False)
    check = sample(data.test, CHECK)
    images, labels = _issue_drawings()
    alone = finetune(shipped, images, labels, steps=200, check=check)
    mixed = finetune(shipped, images, labels, steps=200, check=check, rehearsal=sample(data.train, REHEARSAL))
    assert mixed.accuracy_before == alone.accuracy_before > 0.97 and mixed.checked_on == CHECK
    assert mixed.drop < 0.02 and alone.drop > 0.2, (alone.accuracy_after, mixed.accuracy_after)
    assert list(mixed.after.argmax(1)[:4]) == [2, 2, 2, 2]  # it still learned the drawings
    with pytest.raises(CnnkitError):
        kept_checkpoint(alone)
    ckpt, acc = kept_checkpoint(alone, confirmed=True)
    assert acc == alone.accuracy_after == ckpt.metrics["test_accuracy"]
    assert kept_checkpoint(mixed)[1] == mixed.accuracy_after
