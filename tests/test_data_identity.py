"""Data recognised by content: the official test sets by their checksums (however gzipped), the other
dataset's files refused, unknown files loaded as custom IDX data under their own name; empty splits refused."""

import gzip
import shutil

import numpy as np
import pytest

import cnnkit.data.datasets as datasets
from cnnkit.data.datasets import DATASETS, load_dataset
from cnnkit.data.idx import idx_sha256, read_idx, write_idx
from cnnkit.errors import CnnkitError
from tests.support import cli


def _recompressed(source, dest, level=1):
    """``source``'s four IDX files gzipped anew (other bytes, the same content) into ``dest``."""
    dest.mkdir()
    for f in source.glob("*.gz"):
        (dest / f.name).write_bytes(gzip.compress(gzip.decompress(f.read_bytes()), compresslevel=level))
    return dest


def test_official_test_sets_are_recognised_even_recompressed(mnist5k, fashion, tmp_path):
    mnist = load_dataset("mnist", _recompressed(mnist5k, tmp_path / "m"), download=False)
    assert mnist.info is DATASETS["mnist"] and mnist.info.label() == "MNIST"
    for f in (fashion / "t10k-images-idx3-ubyte.gz", fashion / "t10k-labels-idx1-ubyte.gz"):
        plain = tmp_path / f.name.removesuffix(".gz")
        plain.write_bytes(gzip.decompress(f.read_bytes()))
        assert idx_sha256(read_idx(plain)) in DATASETS["fashion-mnist"].test_sha256


@pytest.mark.parametrize("wanted", ["fashion-mnist", "mnist"])
def test_a_folder_of_the_other_dataset_is_refused(tiny_idx, as_official, wanted):
    """The folder holds one known test set (by checksum); asking for the other one is refused, by name."""
    other = "mnist" if wanted == "fashion-mnist" else "fashion-mnist"
    as_official(other, tiny_idx)
    assert load_dataset(other, tiny_idx, download=False).info.name == other
    with pytest.raises(CnnkitError) as err:
        load_dataset(wanted, tiny_idx, download=False)
    title, wanted_title = DATASETS[other].title, DATASETS[wanted].title
    assert str(err.value) == (
        f"{tiny_idx} holds the official {title} test set, not {wanted_title}: choose "
        f"{title} as the dataset, or point the data folder at {wanted_title}'s files."
    )
    assert "не" in err.value.message("ru") and title in err.value.message("ru")


def test_cli_refuses_mnist_files_as_fashion_mnist(mnist5k):
    run = cli("train", "--dataset", "fashion-mnist", "--data-dir", mnist5k, "--epochs", "1", "--device", "cpu")
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1] == (
        f"error: {mnist5k} holds the official MNIST test set, not Fashion-MNIST: choose MNIST as the dataset, "
        "or point the data folder at Fashion-MNIST's files."
    )


def test_the_right_place_wins_over_the_other_datasets_files(digits, tiny_idx, as_official, tmp_path):
    """MNIST directly in the data folder, Fashion-MNIST in its subfolder: each choice finds its own."""
    as_official("mnist", digits)
    as_official("fashion-mnist", tiny_idx)
    root = tmp_path / "data"
    shutil.copytree(digits, root)
    (root / "fashion-mnist").mkdir()
    for f in tiny_idx.glob("t10k-*"):
        shutil.copy(f, root / "fashion-mnist" / f.name)
    for f in digits.glob("train-*"):  # the other's training files: only the test set identifies
        shutil.copy(f, root / "fashion-mnist" / f.name)
    assert load_dataset("mnist", root, download=False).info.name == "mnist"
    assert load_dataset("fashion-mnist", root, download=False).info.name == "fashion-mnist"


def test_unknown_files_are_custom_idx_data_under_their_own_name(tiny_idx):
    for name in ("mnist", "fashion-mnist", None):
        ds = load_dataset(name, tiny_idx, download=False)
        assert ds.info.custom and ds.info.name == "custom" and ds.info.title == tiny_idx.name
        assert ds.info.label() == f"custom IDX data “{tiny_idx.name}”"
        assert ds.info.label("ru") == f"свои данные IDX «{tiny_idx.name}»"
        assert ds.info.classes == tuple("0123456789")  # never T-shirt/top & co.
        pixels = ds.train.images.float() / 255  # its own normalization
        assert abs(ds.info.mean - pixels.mean().item()) < 1e-3 and abs(ds.info.std - pixels.std().item()) < 1e-3


def test_custom_class_names_come_from_the_labels(tiny_idx):
    write_idx(tiny_idx / "train-labels-idx1-ubyte.gz", np.arange(60) % 4)
    write_idx(tiny_idx / "t10k-labels-idx1-ubyte.gz", np.arange(20) % 3)
    assert load_dataset(None, tiny_idx, download=False).info.classes == ("0", "1", "2", "3")


def test_cli_trains_custom_data_and_names_it(tiny_idx, tmp_path):
    out = tmp_path / "c.pt"
    run = cli(
        "train",
        "--dataset",
        "fashion-mnist",
        "--data-dir",
        tiny_idx,
        "--epochs",
        "1",
        "--batch-size",
        "20",
        "--device",
        "cpu",
        "--out",
        out,
    )
    assert run.returncode == 0, run.stderr
    assert f"on custom IDX data “{tiny_idx.name}”" in run.stderr and "Fashion" not in run.stderr
    from cnnkit.nets.checkpoints import load_checkpoint

    ckpt = load_checkpoint(out)
    assert ckpt.dataset == f"custom IDX data “{tiny_idx.name}”" and ckpt.classes == list("0123456789")


@pytest.mark.parametrize("split,stem", [("train", "train-images-idx3-ubyte"), ("test", "t10k-labels-idx1-ubyte")])
def test_a_split_with_zero_items_is_refused_up_front(tiny_idx, split, stem):
    empty = np.zeros((0, 28, 28)) if "images" in stem else np.zeros(0)
    write_idx(tiny_idx / f"{stem}.gz", empty)
    with pytest.raises(CnnkitError) as err:
        load_dataset("mnist", tiny_idx, download=False)
    assert str(err.value) == (
        f"{tiny_idx}: the {split} split is empty ({stem} holds 0 items); it needs at least one image and label."
    )


def test_checksums_are_those_of_the_decompressed_content(tiny_idx, tmp_path):
    array = read_idx(tiny_idx / "t10k-images-idx3-ubyte.gz")
    import hashlib

    assert (
        idx_sha256(array)
        == hashlib.sha256(gzip.decompress((tiny_idx / "t10k-images-idx3-ubyte.gz").read_bytes())).hexdigest()
    )
    assert datasets.identify(load_dataset(None, tiny_idx, download=False).test) is None
