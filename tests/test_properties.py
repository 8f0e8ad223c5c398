"""Property-based tests (Hypothesis): whatever bytes or values a user or an attacker supplies, the readers of
images, IDX files, checkpoints and kernel text return a value or raise the project's own CnnkitError — never
another exception — and what they return is bounded (pixels, bytes, parameters) whatever the input claims."""

import gzip
import io
import json
import struct
import zlib
from datetime import timedelta

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnkit.data.idx import read_idx
from cnnkit.data.images import MAX_PIXELS, open_image
from cnnkit.errors import CnnkitError
from cnnkit.guide.blocks import MAX_KERNEL_VALUE, parse_kernel
from cnnkit.nets.builder import ModelConfig, build_model, count_parameters
from cnnkit.nets.checkpoint_schema import MAX_PARAMETERS, MODEL_FIELDS
from cnnkit.nets.checkpoints import Checkpoint, from_bytes

# Generous per-example time bound: the readers refuse bad input up front instead of working through it.
BOUNDED = settings(
    max_examples=150,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)


def _png(width: int, height: int, body: bytes, color_type: int, depth: int) -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(body))
        + chunk(b"IEND", b"")
    )


def _valid_images() -> list[bytes]:
    from PIL import Image

    out = []
    for mode, fmt in (("L", "PNG"), ("RGB", "JPEG"), ("RGBA", "PNG"), ("P", "GIF"), ("RGB", "BMP")):
        buffer = io.BytesIO()
        Image.new(mode, (30, 20)).save(buffer, fmt)
        out.append(buffer.getvalue())
    return out


VALID_IMAGES = _valid_images()


def _image_outcome(data: bytes) -> None:
    try:
        image = open_image(data, "upload")
    except CnnkitError:
        return
    assert image.gray.size <= MAX_PIXELS and np.isfinite(image.gray).all()


@BOUNDED
@given(st.binary(max_size=4000))
def test_any_bytes_as_an_image(data):
    _image_outcome(data)


@BOUNDED
@given(
    st.sampled_from(VALID_IMAGES),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8),
    st.integers(0, 400),
)
def test_damaged_images(image, flips, cut):
    data = bytearray(image)
    for where, value in flips:
        data[where % len(data)] = value
    _image_outcome(bytes(data[: len(data) - cut]))


@BOUNDED
@given(
    st.integers(0, 2**31 - 1),
    st.integers(0, 2**31 - 1),
    st.binary(max_size=200),
    st.sampled_from([0, 2, 3, 4, 6, 7]),
    st.sampled_from([1, 2, 4, 8, 16, 3]),
)
def test_png_headers_that_claim_any_size(width, height, body, color_type, depth):
    _image_outcome(_png(width, height, body, color_type, depth))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("idx")


def _idx(magic: tuple[int, int, int], dims: list[int], payload: bytes) -> bytes:
    return struct.pack(">HBB", *magic) + b"".join(struct.pack(">I", d) for d in dims) + payload


@BOUNDED
@given(
    st.tuples(st.sampled_from([0, 0, 0, 1, 0xFFFF]), st.sampled_from([8, 8, 9, 0x0D, 0]), st.integers(0, 255)),
    st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 40), max_size=5),
    st.binary(max_size=3000),
    st.booleans(),
)
def test_any_idx_header(folder, magic, dims, payload, gzipped):
    raw = _idx(magic, dims, payload)
    path = folder / ("f-idx.gz" if gzipped else "f-idx")
    path.write_bytes(gzip.compress(raw) if gzipped else raw)
    try:
        array = read_idx(path)
    except CnnkitError:
        return
    assert array.dtype == np.uint8 and array.nbytes <= len(raw)  # never more than the file holds


@BOUNDED
@given(st.binary(max_size=3000))
def test_any_bytes_as_a_gzipped_idx_file(folder, data):
    path = folder / "g-idx.gz"
    path.write_bytes(data)
    try:
        read_idx(path)
    except CnnkitError:
        pass


def _good() -> tuple[dict, dict]:
    config = ModelConfig(arch="lenet5")  # small: many examples per second
    ckpt = Checkpoint(build_model(config), config, "mnist", [str(d) for d in range(10)], 0.1307, 0.3081)
    return ckpt.meta(), {k: v.clone() for k, v in ckpt.model.state_dict().items()}


GOOD_META, GOOD_STATE = _good()
META_KEYS = ["classes", "mean", "std", "dataset", "metrics", "history", "train_config", "model", "format"]


def _torch_bytes(meta, state) -> bytes:
    buffer = io.BytesIO()
    torch.save({"meta": json.dumps(meta), "state_dict": state}, buffer)
    return buffer.getvalue()


def _checkpoint_outcome(data: bytes) -> None:
    try:
        ckpt = from_bytes(data, "upload.pt")
    except CnnkitError:
        return
    assert count_parameters(ckpt.model) <= MAX_PARAMETERS
    assert len(ckpt.classes) == ckpt.model_config.num_classes and ckpt.std > 0
    assert all(torch.isfinite(p).all() for p in ckpt.model.parameters())


@BOUNDED
@given(
    st.dictionaries(st.sampled_from(sorted(MODEL_FIELDS)), JSON, max_size=4),
    st.dictionaries(st.sampled_from(META_KEYS), JSON, max_size=3),
    st.sets(st.sampled_from(META_KEYS), max_size=2),
)
def test_checkpoint_metadata_with_any_values(model_values, meta_values, dropped):
    meta = {**GOOD_META, "model": {**GOOD_META["model"], **model_values}, **meta_values}
    for key in dropped:
        meta.pop(key, None)
    _checkpoint_outcome(_torch_bytes(meta, GOOD_STATE))


@BOUNDED
@given(st.integers(-10, 10**6), st.integers(-10, 10**6), st.integers(-10, 2000), st.booleans(), st.booleans())
def test_checkpoint_sizes_claimed_are_bounded_before_building(image_size, channels, classes, pooling, extra):
    meta = {
        **GOOD_META,
        "model": {
            **GOOD_META["model"],
            "image_size": image_size,
            "in_channels": channels,
            "num_classes": classes,
            "pooling": pooling,
            "extra_conv": extra,
        },
        "classes": [str(i) for i in range(max(min(classes, 1100), 0))],
    }
    _checkpoint_outcome(_torch_bytes(meta, GOOD_STATE))


@BOUNDED
@given(
    st.dictionaries(
        st.sampled_from(sorted(GOOD_STATE)) | st.text(max_size=8),
        JSON | st.builds(torch.tensor, st.lists(st.floats(), max_size=4)),
        max_size=4,
    )
)
def test_checkpoint_weights_with_any_values(replaced):
    _checkpoint_outcome(_torch_bytes(GOOD_META, {**GOOD_STATE, **replaced}))


@BOUNDED
@given(st.binary(max_size=3000))
def test_any_bytes_as_a_checkpoint(data):
    _checkpoint_outcome(data)


@BOUNDED
@given(JSON)
def test_any_json_as_checkpoint_metadata(meta):
    _checkpoint_outcome(_torch_bytes(meta, GOOD_STATE))


@BOUNDED
@given(
    st.text(max_size=400)
    | st.lists(
        st.sampled_from(
            ["1", "-2", "0.5", "1/9", "1e999", "1e10000000", "9" * 30, " ", "\n", ";", ",", "1/0", "nan", "inf"]
        ),
        max_size=20,
    ).map("".join)
)
def test_any_kernel_text(typed):
    try:
        weights = parse_kernel(typed)
    except CnnkitError:
        return
    assert weights.shape == (3, 3) and np.isfinite(weights).all() and np.abs(weights).max() <= MAX_KERNEL_VALUE
