"""IDX parsing and dataset loading: real folders, torchvision's layout, and every kind of bad file."""

import gzip
import struct
import tracemalloc

import numpy as np
import pytest
import torch

from cnnkit.data.datasets import DATASETS, augment, batches, load_dataset, subset, to_tensor
from cnnkit.data.idx import read_idx, write_idx
from cnnkit.errors import CnnkitError


def test_idx_round_trip_plain_and_gzipped(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    for name in ("a-idx3-ubyte", "a-idx3-ubyte.gz"):
        write_idx(tmp_path / name, images)
        assert np.array_equal(read_idx(tmp_path / name), images)


def test_loads_a_folder_of_idx_files_of_any_size(tiny_idx):
    ds = load_dataset("mnist", tiny_idx, download=False)
    assert (len(ds.train), len(ds.test)) == (60, 20)
    assert ds.train.images.dtype == torch.uint8 and ds.train.images.shape == (60, 28, 28)
    assert ds.train.labels.tolist()[:12] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]


def test_finds_torchvision_layout_and_ungzipped_files(tiny_idx, tmp_path):
    raw = tmp_path / "root" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for f in tiny_idx.glob("*.gz"):
        (raw / f.name[:-3]).write_bytes(gzip.decompress(f.read_bytes()))
    ds = load_dataset("fashion-mnist", tmp_path / "root", download=False)
    assert len(ds.test) == 20 and ds.info.custom and ds.info.classes[9] == "9"  # random data: not Fashion-MNIST


def test_data_dir_from_environment(tiny_idx, monkeypatch):
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(tiny_idx))
    assert len(load_dataset("mnist", download=False).train) == 60


def test_missing_data_offline_names_files_places_and_remedy(tmp_path):
    with pytest.raises(CnnkitError) as err:
        load_dataset("mnist", tmp_path, download=False)
    msg = str(err.value)
    assert "train-images-idx3-ubyte" in msg and "t10k-labels-idx1-ubyte" in msg
    assert str(tmp_path) in msg and "--data-dir" in msg


def _corrupt(folder, name, data):
    (folder / name).write_bytes(gzip.compress(data))


def test_wrong_magic_is_reported(tiny_idx):
    _corrupt(tiny_idx, "train-images-idx3-ubyte.gz", b"\x00\x00\x0d\x03" + b"\x00" * 100)
    with pytest.raises(CnnkitError, match="wrong magic number"):
        load_dataset("mnist", tiny_idx, download=False)


def test_truncated_file_is_reported(tiny_idx):
    raw = gzip.decompress((tiny_idx / "t10k-images-idx3-ubyte.gz").read_bytes())
    _corrupt(tiny_idx, "t10k-images-idx3-ubyte.gz", raw[:-100])
    with pytest.raises(CnnkitError, match="truncated"):
        load_dataset("mnist", tiny_idx, download=False)


def test_truncated_gzip_stream_is_reported(tiny_idx):
    path = tiny_idx / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(CnnkitError, match="truncated|Cannot read"):
        load_dataset("mnist", tiny_idx, download=False)


def test_damaged_gzip_data_is_reported(tiny_idx):
    path = tiny_idx / "train-images-idx3-ubyte.gz"
    raw = bytearray(path.read_bytes())
    raw[20:40] = bytes(20)  # the header survives, the compressed stream does not
    path.write_bytes(bytes(raw))
    with pytest.raises(CnnkitError, match="Cannot read .*train-images.*copy it again"):
        load_dataset("mnist", tiny_idx, download=False)


@pytest.mark.parametrize("name", ["train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"])
def test_a_header_that_declares_too_much_is_refused_before_reading(tmp_path, name):
    """A billion 28×28 images declared (a 4 MB gzip bomb trained at 8.9 GB): refused from the header."""
    path = tmp_path / name
    header = struct.pack(">HBBIII", 0, 8, 3, 10**9, 28, 28) + bytes(4096)
    path.write_bytes(gzip.compress(header) if name.endswith(".gz") else header)
    with pytest.raises(CnnkitError) as err:
        read_idx(path)
    assert str(err.value) == (
        f"{path} declares 1,000,000,000 items, 747,681 MB of data, more than the 256 MB one IDX file may hold here; "
        "it was not read (nor decompressed)."
    )


def test_a_gzip_is_decompressed_no_further_than_its_header_declares(tmp_path):
    """Ten images declared, 64 MB of zeros behind them in a 64 KB gzip: the ten come back, in little memory."""
    images = np.arange(10 * 28 * 28, dtype=np.uint8).reshape(10, 28, 28)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(struct.pack(">HBBIII", 0, 8, 3, 10, 28, 28) + images.tobytes() + bytes(2**26)))
    tracemalloc.start()
    try:
        read = read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.array_equal(read, images) and peak < 2**23


def test_image_label_count_mismatch_is_reported(tiny_idx):
    write_idx(tiny_idx / "train-labels-idx1-ubyte.gz", np.zeros(59))
    with pytest.raises(CnnkitError, match="60 images but 59 labels"):
        load_dataset("mnist", tiny_idx, download=False)


def test_same_normalization_for_train_and_test(mnist5k):
    ds = load_dataset("mnist", mnist5k, download=False)
    info = DATASETS["mnist"]
    x_train, x_test = to_tensor(ds.train.images, info), to_tensor(ds.test.images, info)
    # Standardized with MNIST's statistics, both splits come out near mean 0 / std 1.
    for x in (x_train, x_test):
        assert abs(x.mean().item()) < 0.05 and abs(x.std().item() - 1) < 0.05
    assert (len(ds.train), len(ds.test)) == (5000, 10000)


def test_batches_cover_every_sample_once_and_subset_is_reproducible():
    x, y = torch.arange(10.0).view(10, 1, 1, 1), torch.arange(10)
    seen = torch.cat([yb for _, yb in batches(x, y, 3, True, torch.Generator().manual_seed(0))])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    from cnnkit.data.datasets import Split

    split = Split(torch.zeros(100, 28, 28, dtype=torch.uint8), torch.arange(100))
    assert subset(split, 10, seed=3).labels.tolist() == subset(split, 10, seed=3).labels.tolist()
    assert len(subset(split, 10)) == 10 and len(subset(split, None)) == 100


def test_augment_moves_ink_but_keeps_background():
    info = DATASETS["mnist"]
    img = torch.zeros(4, 28, 28, dtype=torch.uint8)
    img[:, 10:18, 12:16] = 255
    x = to_tensor(img, info)
    bg = -info.mean / info.std
    out = augment(x, bg, torch.Generator().manual_seed(0), degrees=15, shift=3)
    assert out.shape == x.shape
    assert torch.allclose(out[:, :, 0, 0], torch.full((4, 1), bg), atol=1e-4)  # corners stay background
    assert not torch.allclose(out, x)  # the digit moved
