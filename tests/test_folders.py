"""Your own images: class folders and zips the tests draw, loaded, split, checked, trained on, predicted."""

import io
import json
import stat
import zipfile

import numpy as np
import pytest
from PIL import Image

from cnnkit.data import folders
from cnnkit.data.folders import FolderOptions, load_folder, load_zip, samples
from cnnkit.errors import CnnkitError
from cnnkit.i18n import text
from cnnkit.nets.builder import ModelConfig
from cnnkit.nets.layers import parse_spec
from cnnkit.train.loop import TrainConfig, train
from tests.support import cli, fifo
from tests.support.drawing import png_header
from tests.support.shapes import SHAPES, draw_folder, shape_image

SMALL_NET = (
    "conv(16,3,padding=1) batchnorm relu maxpool(2) conv(32,3,padding=1) batchnorm relu maxpool(2) "
    "conv(32,3,padding=1) relu avgpool(8) flatten linear"
)


@pytest.fixture(scope="module")
def rgb_folder(tmp_path_factory):
    return draw_folder(tmp_path_factory.mktemp("rgb"), mode="RGB")


@pytest.fixture(scope="module")
def gray_folder(tmp_path_factory):
    return draw_folder(tmp_path_factory.mktemp("gray"), mode="L")


def zip_of(folder, wrap="shapes") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{wrap}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


@pytest.mark.parametrize("size, fit", [(28, "pad"), (32, "crop"), (48, "pad"), (64, "crop")])
def test_colour_and_gray_folders_of_mixed_sizes_become_one_normalized_tensor(rgb_folder, gray_folder, size, fit):
    for folder, channels in ((rgb_folder, 3), (gray_folder, 1)):
        dataset, stats = load_folder(folder, FolderOptions(size=size, fit=fit))
        assert dataset.info.classes == SHAPES and stats.channels == channels == dataset.info.channels
        assert dataset.train.images.shape == (96, channels, size, size) and len(dataset.test) == 24
        train = dataset.train.images.double() / 255
        assert (dataset.info.mean, dataset.info.std) == (round(train.mean().item(), 4), round(train.std().item(), 4))
        grid = samples(dataset, per_class=4)
        assert list(grid) == list(SHAPES) and grid["circle"][0].shape == (
            (size, size, 3) if channels == 3 else (size, size)
        )
    gray_from_rgb, _ = load_folder(rgb_folder, FolderOptions(channels=1))
    assert gray_from_rgb.train.images.shape[1] == 1


def test_the_split_is_stratified_seeded_and_a_test_folder_is_kept(rgb_folder, tmp_path):
    one, stats = load_folder(rgb_folder, FolderOptions(test_share=0.25, seed=1))
    again, _ = load_folder(rgb_folder, FolderOptions(test_share=0.25, seed=1))
    other, _ = load_folder(rgb_folder, FolderOptions(test_share=0.25, seed=2))
    assert stats.test_counts == (10, 10, 10) and stats.train_counts == (30, 30, 30) and not stats.has_test_folder
    assert one.test.images.equal(again.test.images) and not one.test.images.equal(other.test.images)
    draw_folder(tmp_path / "train", per_class=20, seed=3)
    draw_folder(tmp_path / "test", per_class=6, seed=4)
    split, stats = load_folder(tmp_path)
    assert stats.has_test_folder and stats.train_counts == (20,) * 3 and stats.test_counts == (6,) * 3
    assert not stats.warnings


def test_warnings_name_few_images_imbalance_duplicates_and_skipped_files(tmp_path):
    draw_folder(tmp_path / "train", per_class=30, classes=("big", "other"))
    draw_folder(tmp_path / "train", per_class=3, classes=("tiny",), seed=5)
    draw_folder(tmp_path / "test", per_class=3, classes=("big", "other", "tiny"), seed=6)
    (tmp_path / "test" / "big" / "copy.png").write_bytes((tmp_path / "train" / "big" / "001.png").read_bytes())
    (tmp_path / "train" / "big" / "notes.txt").write_text("not an image")
    (tmp_path / "train" / "other" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (tmp_path / "train" / "readme.md").write_text("loose")
    _, stats = load_folder(tmp_path)
    codes = dict(stats.warnings)
    assert codes["few_images"]["classes"] == "tiny (3)"
    assert (codes["imbalance"]["largest"], codes["imbalance"]["smallest"]) == ("big", "tiny")
    assert stats.duplicates == [("train/big/001.png", "test/big/copy.png")] and codes["duplicates"]["count"] == 1
    assert sorted(stats.skipped) == [
        ("train/big/notes.txt", "not_image"),
        ("train/other/broken.png", "unreadable"),
        ("train/readme.md", "no_class"),
    ]
    assert codes["skipped"]["count"] == 3 and "notes.txt" in codes["skipped"]["names"]


def test_hard_files_are_decoded_and_class_names_may_be_cyrillic(tmp_path):
    rng = np.random.default_rng(0)
    for kind, name in (("circle", "круг"), ("square", "квадрат")):
        folder = tmp_path / name
        folder.mkdir()
        for i in range(6):
            shape_image(kind, rng, (40, 30), "RGB").save(folder / f"{i}.png")
        base = shape_image(kind, rng, (40, 40), "L")
        Image.fromarray(np.asarray(base, dtype=np.uint16) * 257).save(folder / "deep16.png")  # 16-bit gray
        shape_image(kind, rng, (40, 40), "RGB").convert("CMYK").save(folder / "print.jpg")
        frames = [shape_image(kind, rng, (40, 40), "RGB") for _ in range(3)]
        frames[0].save(folder / "moving.gif", save_all=True, append_images=frames[1:])
        rgba = shape_image(kind, rng, (40, 40), "RGBA")
        rgba.putalpha(Image.fromarray(np.where(np.asarray(base) < 128, 255, 0).astype(np.uint8)))
        rgba.save(folder / "transparent.png")
    dataset, stats = load_folder(tmp_path, FolderOptions(channels=1, size=28))
    assert dataset.info.classes == ("квадрат", "круг") and not stats.skipped
    assert sum(stats.train_counts) + sum(stats.test_counts) == 20


@pytest.mark.parametrize(
    "make, key",
    [
        (lambda root: None, "no_classes"),
        (lambda root: draw_folder(root, per_class=4, classes=("only",)), "one_class"),
        (
            lambda root: (
                draw_folder(root, per_class=4, classes=("a",)),
                (root / "b").mkdir(),
                (root / "b" / "x.png").write_bytes(b"junk"),
            ),
            "empty_class",
        ),
    ],
)
def test_unusable_folders_get_one_clear_message(tmp_path, make, key):
    make(tmp_path)
    with pytest.raises(CnnkitError) as caught:
        load_folder(tmp_path)
    assert caught.value.key == f"build.folder.{key}" and "⟨" not in caught.value.message("ru")


def test_a_zip_of_a_wrapped_folder_loads_as_the_folder(rgb_folder):
    from_zip, _ = load_zip(zip_of(rgb_folder), "shapes.zip")
    from_folder, _ = load_folder(rgb_folder)
    assert from_zip.info.classes == SHAPES and from_zip.train.images.equal(from_folder.train.images)


def _zip(entries) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, attr in entries:
            info = zipfile.ZipInfo(name)
            if attr:
                info.external_attr = attr
            archive.writestr(info, data)
    return buffer.getvalue()


PNG = io.BytesIO()
Image.new("L", (8, 8)).save(PNG, "PNG")


@pytest.mark.parametrize(
    "entries, key",
    [
        ([("a/1.png", PNG.getvalue(), 0), ("../evil/1.png", PNG.getvalue(), 0)], "zip_unsafe_path"),
        ([("a/1.png", PNG.getvalue(), 0), ("/etc/cron.d/1.png", PNG.getvalue(), 0)], "zip_unsafe_path"),
        ([("a/1.png", PNG.getvalue(), 0), ("b\\..\\..\\1.png", PNG.getvalue(), 0)], "zip_unsafe_path"),
        ([("a/1.png", PNG.getvalue(), 0), ("b/link.png", b"/etc/passwd", (stat.S_IFLNK | 0o777) << 16)], "zip_link"),
        ([("a/big.png", b"\0" * (3 * 2**20), 0)], "zip_too_large"),
        ([(f"a/{i}.png", PNG.getvalue(), 0) for i in range(12)], "too_many_files"),
    ],
)
def test_a_malicious_zip_is_refused_whole_and_nothing_is_written(tmp_path, monkeypatch, entries, key):
    monkeypatch.setattr(folders, "MAX_ZIP_BYTES", 2 * 2**20)
    monkeypatch.setattr(folders, "MAX_FILES", 10)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CnnkitError) as caught:
        load_zip(_zip(entries), "evil.zip")
    assert caught.value.key == f"build.folder.{key}" and list(tmp_path.iterdir()) == []


def test_a_zip_bomb_that_lies_about_its_size_is_stopped(monkeypatch):
    monkeypatch.setattr(folders, "MAX_ZIP_BYTES", 2**20)
    data = bytearray(_zip([("a/1.png", b"\0" * (8 * 2**20), 0), ("b/1.png", PNG.getvalue(), 0)]))
    for header in (b"PK\x03\x04", b"PK\x01\x02"):  # declare 100 bytes in both headers: it inflates to 8 MB
        at = data.find(header)
        offset = 22 if header == b"PK\x03\x04" else 24
        data[at + offset : at + offset + 4] = (100).to_bytes(4, "little")
    with pytest.raises(CnnkitError) as caught:
        load_zip(bytes(data), "bomb.zip")
    assert caught.value.key in ("build.folder.zip_too_large", "build.folder.bad_zip")
    with pytest.raises(CnnkitError, match="not a readable zip"):
        load_zip(b"PK\x03\x04 not really", "bad.zip")


def test_an_encrypted_zip_gets_one_clear_message():
    """The encrypted flag set on a member (zipfile would raise a RuntimeError on opening it)."""
    data = bytearray(_zip([("a/1.png", PNG.getvalue(), 0), ("b/1.png", PNG.getvalue(), 0)]))
    for header, flags in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # general purpose flags, bit 0: encrypted
        for at in (i for i in range(len(data)) if data.startswith(header, i)):
            data[at + flags] |= 1
    with pytest.raises(CnnkitError) as err:
        load_zip(bytes(data), "secret.zip")
    assert str(err.value) == (
        "The zip was refused: its entry “a/1.png” is encrypted (password-protected); make the zip again without a "
        "password."
    )


def test_a_pipe_in_a_class_folder_is_skipped_without_waiting(tmp_path):
    draw_folder(tmp_path, per_class=4)
    with fifo(tmp_path / "circle" / "pipe.png"):
        _, stats = load_folder(tmp_path)
    assert stats.skipped == [("circle/pipe.png", "not_file")]
    assert text("build.skip.not_file") == "not a regular file (a device or a pipe)"


def test_images_of_too_many_pixels_in_all_are_refused_from_their_headers():
    """40 PNGs of 36 megapixels in a 1.9 MB zip took 35 s to decode; headers that claim as much are refused."""
    claims = [(f"{kind}/{i}.png", png_header(6000, 6000), 0) for kind in ("a", "b") for i in range(20)]
    with pytest.raises(CnnkitError) as err:
        load_zip(_zip(claims), "big.zip")
    assert str(err.value) == (
        "The images hold 1440 million pixels in all (read from their headers; nothing was decoded), above the "
        "limit of 500 million for one dataset here. Scale them down first (they are resized to at most 224×224 "
        "anyway) or use fewer."
    )


@pytest.mark.parametrize(
    "lang, count, start",
    [
        ("en", 1, "1 file was skipped"),
        ("en", 2, "2 files were skipped"),
        ("ru", 1, "Пропущен 1 файл"),
        ("ru", 3, "Пропущено 3 файла"),
        ("ru", 5, "Пропущено 5 файлов"),
        ("ru", 21, "Пропущен 21 файл"),
    ],
)
def test_the_skipped_files_warning_agrees_with_its_count(tmp_path, lang, count, start):
    draw_folder(tmp_path, per_class=3)
    for i in range(count):
        (tmp_path / "circle" / f"notes{i}.txt").write_text("not an image")
    _, stats = load_folder(tmp_path)
    assert text("build.warn.skipped", lang, **dict(stats.warnings)["skipped"]).startswith(start)


@pytest.mark.parametrize(
    "lang, count, start",
    [
        ("en", 1, "1 test image is a byte-for-byte copy of a training image"),
        ("en", 2, "2 test images are byte-for-byte copies of training images"),
        ("ru", 1, "1 проверочное изображение побайтно совпадает с обучающим"),
        ("ru", 2, "2 проверочных изображения побайтно совпадают с обучающими"),
        ("ru", 5, "5 проверочных изображений побайтно совпадают с обучающими"),
    ],
)
def test_the_duplicates_warning_agrees_with_its_count(lang, count, start):
    assert text("build.warn.duplicates", lang, count=count, names="x.png").startswith(start)


def test_training_on_drawn_shapes_reaches_90_percent(gray_folder):
    dataset, _ = load_folder(gray_folder, FolderOptions(size=32))
    config = TrainConfig(
        dataset="folder",
        folder=FolderOptions(size=32),
        model=ModelConfig(layers=parse_spec(SMALL_NET)),
        epochs=15,
        batch_size=16,
        lr=3e-3,
        device="cpu",
    )
    result = train(config, dataset=dataset)
    assert result.evaluation.accuracy >= 0.9, [round(e.test_accuracy, 2) for e in result.history]
    ckpt = result.to_checkpoint()
    assert ckpt.dataset == "folder" and ckpt.classes == list(SHAPES)
    assert (ckpt.mean, ckpt.std, ckpt.model_config.in_channels, ckpt.model_config.image_size) == (
        dataset.info.mean,
        dataset.info.std,
        1,
        32,
    )


def test_cli_trains_evaluates_and_predicts_with_a_folder_model(rgb_folder, tmp_path):
    out = tmp_path / "shapes.safetensors"
    run = cli(
        "train",
        "--dataset",
        "folder",
        "--data-dir",
        rgb_folder,
        "--image-size",
        "32",
        "--channels",
        "3",
        "--layers",
        SMALL_NET,
        "--epochs",
        "15",
        "--batch-size",
        "16",
        "--lr",
        "0.003",
        "--device",
        "cpu",
        "--out",
        out,
        "--runs-dir",
        tmp_path / "runs",
        "--json",
    )
    assert run.returncode == 0, run.stderr
    trained = json.loads(run.stdout.strip().splitlines()[-1])
    assert trained["test_accuracy"] >= 0.9 and trained["parameters"] > 0
    ev = cli("evaluate", "--checkpoint", out, "--dataset", "folder", "--data-dir", rgb_folder, "--json")
    assert ev.returncode == 0, ev.stderr
    assert abs(json.loads(ev.stdout)["accuracy"] - trained["test_accuracy"]) < 1e-6
    rng = np.random.default_rng(42)
    files = []
    for kind in SHAPES:  # new drawings, larger and of another aspect than the training images
        for i in range(2):
            path = tmp_path / f"{kind}{i}.png"
            shape_image(kind, rng, (120, 90), "RGB").save(path)
            files.append(path)
    pred = cli("predict", *files, "--checkpoint", out, "--json")
    assert pred.returncode == 0, pred.stderr
    labels = [p["label"] for p in json.loads(pred.stdout)]
    assert sum(label == f.stem[:-1] for label, f in zip(labels, files)) >= 5, labels


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_more_images_than_fit_in_memory_at_the_size_asked_are_refused_before_decoding(tmp_path, lang, monkeypatch):
    per_class = folders.MAX_VALUES // (3 * 224 * 224) // 2 + 1  # 2 × 892 colour images at 224×224: over 1 GiB
    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(per_class):
            (tmp_path / c / f"{i}.png").write_bytes(b"never decoded")
    with monkeypatch.context() as patched:
        patched.setattr(folders, "image_array", lambda *a: pytest.fail("an image was decoded"))
        with pytest.raises(CnnkitError) as refused:
            load_folder(tmp_path, FolderOptions(size=224))
    digits = "".join(ch for ch in refused.value.message(lang, "page") if ch.isdigit() or ch == " ")
    assert f"{2 * per_class}" in digits.replace(" ", "") and "1783" in digits.replace(" ", "")  # asked, and what fits
    assert ("1.0 GB" if lang == "en" else "1,0 ГБ") in refused.value.message(lang, "page")
    with pytest.raises(CnnkitError) as smaller:  # at 64×64 the same count fits: the files are read (and refused)
        load_folder(tmp_path, FolderOptions(size=64))
    assert smaller.value.key != "build.folder.too_many_values"
