"""Other inputs a clumsy or hostile user types: kernel text, subset sizes, an empty device, huge images, paths
that are no files (a device, a pipe) or too large ones."""

import time

import pytest
from PIL import Image

from cnnkit.data.datasets import subset_choices
from cnnkit.data.idx import read_idx
from cnnkit.data.images import open_image, open_rgb
from cnnkit.errors import CnnkitError
from cnnkit.guide.blocks import parse_kernel
from cnnkit.infer.imagenet import load_classifier
from cnnkit.nets.checkpoints import load_checkpoint
from cnnkit.nets.layers import read_spec
from cnnkit.train.loop import TrainConfig
from tests.support import cli, fifo
from tests.support.drawing import png_header

NOT_A_FILE = "is not a regular file (a device, a pipe or a folder); it was not read. Give the path of a file."
READERS = {  # each reader of a path a user names, and a file name it takes
    "image": (open_image, "digit.png"),
    "photo": (open_rgb, "photo.jpg"),
    "checkpoint": (load_checkpoint, "model.pt"),
    "idx": (read_idx, "train-images-idx3-ubyte"),
    "layers": (lambda path: read_spec(str(path)), "layers.json"),
    "imagenet weights": (lambda path: load_classifier("resnet18", path), "resnet18.pth"),
}


def kernel_message(typed: str) -> str:
    with pytest.raises(CnnkitError) as err:
        parse_kernel(typed)
    return str(err.value)


@pytest.mark.parametrize("number", ["1e999", "1e39", "1e10000000", "-1e-10000000"])
def test_kernel_numbers_with_huge_exponents_are_refused_at_once(number):
    start = time.process_time()
    assert kernel_message(f"{number} 0 0\n0 1 0\n0 0 0") == (
        f"“{number}”: exponents beyond ±30 are not read; kernel weights lie between -1000 and 1000."
    )
    assert time.process_time() - start < 1  # not 6.6 s of CPU


def test_kernel_weights_are_bounded_and_the_text_is_short():
    assert kernel_message("1e20 0 0; 0 1 0; 0 0 0") == (
        "“1e20” is too large for a kernel weight: use numbers between -1000 and 1000."
    )
    assert kernel_message("123456789012345678901234567890 0 0; 0 1 0; 0 0 0") == (
        "“123456789012…” is too long for a number (at most 24 characters). Write numbers like 1, -2, 0.5 or 1/9."
    )
    assert kernel_message("0 " * 400) == "The kernel text is 800 characters long; nine numbers fit in 300."
    assert parse_kernel("1000 -1000 1/9; 0 0 0; 1e2 0 0").max() == 1000  # the bounds themselves are fine


def test_subset_slider_offers_only_sizes_below_the_training_set():
    sizes = (300, 1000, 3000, 10_000, 30_000, None)
    assert subset_choices(sizes, 5000) == (300, 1000, 3000, None)
    assert subset_choices(sizes, 200) == (None,)
    assert subset_choices(sizes, 60_000) == sizes


def test_cli_says_what_an_oversized_subset_uses(tiny_idx):
    run = cli(
        "train", "--data-dir", tiny_idx, "--subset", "10000", "--epochs", "1", "--batch-size", "20", "--device", "cpu"
    )
    assert run.returncode == 0, run.stderr
    assert "10,000 training images were asked for, but the training set has 60: all 60 are used." in run.stderr


def test_an_empty_device_is_refused():
    with pytest.raises(CnnkitError) as err:
        TrainConfig(device="").validate()
    assert str(err.value) == "No device was given: choose auto, cpu, cuda, cuda:N or mps."
    run = cli("train", "--device", "", "--epochs", "1")
    assert run.returncode == 2
    assert run.stderr.strip() == "error: No device was given: choose auto, cpu, cuda, cuda:N or mps."


def test_the_far_too_large_message_states_the_real_limit():
    """200 million pixels: Pillow's own bomb check refuses it on open; the message names cnnkit's limit."""
    with pytest.raises(CnnkitError) as err:
        open_image(png_header(20_000, 10_000), "bomb.png")
    assert str(err.value) == "bomb.png is far too large (over 40 million pixels); it was not decoded."
    assert Image.MAX_IMAGE_PIXELS != 40_000_000  # Pillow's limit is another one


@pytest.mark.parametrize("reader", [r for r in READERS if r != "imagenet weights"])  # that one checks is_file()
def test_a_pipe_is_refused_at_once_by_every_reader(tmp_path, reader):
    read, name = READERS[reader]
    with fifo(tmp_path / name) as pipe, pytest.raises(CnnkitError) as err:
        read(pipe)
    assert str(err.value) == f"{pipe} {NOT_A_FILE}"


@pytest.mark.parametrize("reader", ["image", "checkpoint", "imagenet weights"])
def test_a_file_beyond_its_reader_limit_is_not_read(tmp_path, reader):
    read, name = READERS[reader]
    huge = tmp_path / name
    with open(huge, "wb") as f:
        f.truncate(2**30)  # 1 GB that takes no disk
    with pytest.raises(CnnkitError) as err:
        read(huge)
    assert err.value.key == "files.errors.too_large" and str(err.value).startswith(f"{huge} is larger than ")


def test_predict_on_a_device_says_so_in_one_line():
    """``/dev/zero`` is endless: reading it grew to 9 GB."""
    run = cli("predict", "/dev/zero")
    assert run.returncode != 0
    assert run.stderr.strip() == f"error: /dev/zero {NOT_A_FILE}"
