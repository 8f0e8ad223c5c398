"""A model of the learner's own pictures is calibrated as a digit model is, on the pictures its run held back:
its stated confidence comes down to what it earns, its answers stay, and the drawing page's card says on how
many pictures (or that there were too few to calibrate on)."""

import numpy as np
import torch

from cnnkit.cli import main
from cnnkit.data.datasets import Split
from cnnkit.data.folders import load_folder
from cnnkit.i18n import formatter
from cnnkit.infer.predict import model_card, probabilities, read_image
from cnnkit.nets.builder import ModelConfig, build_model
from cnnkit.nets.checkpoints import Checkpoint
from cnnkit.nets.layers import parse_spec
from cnnkit.train.calibration import MIN_PICTURES, calibrate_pictures
from cnnkit.train.store import RunStore
from tests.support.shapes import draw_folder

TWO = ("circle", "square")


def trained_run(tmp_path, per_class: int, classes=TWO, epochs: int = 3) -> tuple[RunStore, Checkpoint]:
    images = draw_folder(tmp_path / "shapes", per_class=per_class, classes=classes, seed=per_class)
    runs = tmp_path / "runs"
    train = ["train", "--dataset", "folder", "--data-dir", str(images), "--image-size", "28", "--device", "cpu"]
    assert main([*train, "--epochs", str(epochs), "--runs-dir", str(runs), "--seed", "1"]) == 0
    store = RunStore(runs)
    (run,) = store.list()
    return store, store.load(run.id, "best")


def test_a_folder_run_is_calibrated_on_its_test_pictures_and_says_so_in_both_languages(tmp_path):
    store, ckpt = trained_run(tmp_path, per_class=30, classes=("circle", "square", "triangle"))
    dataset, stats = load_folder(tmp_path / "shapes", ckpt.folder)
    held = sum(stats.test_counts)
    assert held >= MIN_PICTURES
    assert ckpt.calibration["images"] == held and ckpt.calibration["on"] == "the test pictures"
    assert ckpt.temperature != 1.0
    x = torch.cat([read_image(ckpt, path) for path in sorted((tmp_path / "shapes" / "circle").glob("*"))[:8]])
    calibrated = probabilities(ckpt, x)
    raw = ckpt.model(x).softmax(1).detach().numpy()
    assert not np.allclose(calibrated, raw, atol=1e-3)  # the stated confidences change …
    assert (calibrated.argmax(1) == raw.argmax(1)).all()  # … the answers do not
    assert model_card(ckpt, "en")["calibrated"].startswith(f"on {held} held-back images: calibration error")
    assert model_card(ckpt, "ru")["calibrated"].startswith(f"на {held} отложенных изображениях: ошибка калибровки")


def test_a_collection_too_small_to_hold_pictures_back_keeps_its_own_probabilities_and_says_why(tmp_path):
    _, ckpt = trained_run(tmp_path, per_class=6, epochs=1)  # 1 of each class held back: 2 pictures
    assert ckpt.temperature == 1.0 and ckpt.calibration == {}
    assert model_card(ckpt, "en")["calibrated"].startswith(f"no: fewer than {MIN_PICTURES} images were held back")
    assert model_card(ckpt, "ru")["calibrated"].startswith(f"нет: при обучении было отложено меньше {MIN_PICTURES}")


def linear_checkpoint(weight: torch.Tensor) -> Checkpoint:
    """A 1×1×1 'picture' model whose logits are ``weight × pixel`` (the pixel normalized to ±1): as sure as its
    weight is large."""
    config = ModelConfig(layers=parse_spec("flatten linear"), in_channels=1, image_size=1, num_classes=2)
    model = build_model(config).eval()
    with torch.no_grad():
        model[-1].weight.copy_(weight)
        model[-1].bias.zero_()
    return Checkpoint(model, config, "folder", ["a", "b"], 0.5, 0.5)


def pictures(labels: list[int], flip: int = 0) -> Split:
    """One-pixel pictures: bright for class 0, dark for class 1; the first ``flip`` of them labelled wrongly."""
    y = torch.tensor(labels)
    images = torch.where(y == 0, 255, 0).to(torch.uint8).view(-1, 1, 1, 1)
    y[:flip] = 1 - y[:flip]
    return Split(images, y)


def test_an_overconfident_picture_model_is_softened_to_about_its_accuracy():
    ckpt = linear_checkpoint(torch.tensor([[10.0], [-10.0]]))  # says ~100% for every picture
    held = pictures([0, 1] * 20, flip=8)  # but is right on 32 of 40
    info = type("Info", (), {"mean": 0.5, "std": 0.5})
    tuned = calibrate_pictures(ckpt, held, info, "the test pictures")
    x = held.images.float().div(255).sub(0.5).div(0.5).view(-1, 1, 1, 1)
    stated = probabilities(tuned, x).max(1).mean()
    assert tuned.temperature > 5 and abs(stated - 0.8) < 0.05
    assert tuned.calibration["ece_after"] < tuned.calibration["ece_before"] - 0.1


def test_a_few_pictures_all_answered_right_do_not_make_the_model_certain():
    ckpt = linear_checkpoint(torch.tensor([[1.0], [-1.0]]))  # right on every picture, 88% sure
    held = pictures([0, 1] * 6)
    info = type("Info", (), {"mean": 0.5, "std": 0.5})
    tuned = calibrate_pictures(ckpt, held, info, "the test pictures")
    stated = probabilities(tuned, held.images.float().div(255).sub(0.5).div(0.5).view(-1, 1, 1, 1)).max(1)
    assert tuned.temperature < 1  # sharper than before: it was right every time …
    assert (stated < 1 - 1 / (4 * 13)).all()  # … but not 100% sure after 12 pictures (Laplace: 12/13)


def test_the_calibration_count_is_written_as_each_language_writes_numbers(shipped):
    count = shipped.calibration["images"]
    assert count >= 1000  # the shipped model is calibrated on thousands of held-back digits
    en, ru = model_card(shipped, "en")["calibrated"], model_card(shipped, "ru")["calibrated"]
    assert en.startswith(f"on {count:,} held-back images")
    assert ru.startswith(f"на {formatter('ru').number(count)} отложенных")  # 5 000
