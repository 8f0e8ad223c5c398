"""General photos through an ImageNet model, offline: without weights the answer comes at once and says
how to get them; with a weights file (here a randomly initialised one) the top 5 comes back."""

import io
import os
import time
import urllib.request

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from safetensors.torch import save

from cnnkit.errors import CnnkitError
from cnnkit.infer.imagenet import MODELS, classify_photo, find_weights, load_classifier, weights_for

MODEL = "mobilenet_v3_small"  # the smallest of the list: a 10 MB weights file

PNG_BYTES = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010800000000")  # a PNG's start


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch hub cache, and any attempt to reach the network fails the test."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def no_network(*args, **kwargs):
        raise AssertionError("cnnkit tried to download")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    return tmp_path / "torch" / "hub" / "checkpoints"


@pytest.fixture(scope="module")
def random_weights() -> bytes:
    torch.manual_seed(0)
    buffer = io.BytesIO()
    torch.save(torchvision.models.get_model(MODEL, weights=None).state_dict(), buffer)
    return buffer.getvalue()


def photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 120, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


def assert_top5(top):
    categories = torchvision.models.get_model_weights(MODEL).DEFAULT.meta["categories"]
    probs = [p for _, p in top]
    assert len(top) == 5 and all(name in categories for name, _ in top)
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6


def test_without_weights_it_says_so_at_once_and_how_to_get_them(hub):
    assert find_weights(MODEL) is None
    start = time.perf_counter()
    with pytest.raises(CnnkitError) as info:
        classify_photo(MODEL, photo())
    assert time.perf_counter() - start < 5
    message = str(info.value)
    assert weights_for(MODEL).url in message and str(hub / os.path.basename(weights_for(MODEL).url)) in message


def test_weights_in_the_hub_cache_are_found_and_used(hub, random_weights):
    path = weights_for(MODEL).hub_path
    path.parent.mkdir(parents=True)
    path.write_bytes(random_weights)
    assert find_weights(MODEL) == path
    answer = classify_photo(MODEL, photo(), name="photo.jpg")
    assert_top5(answer.top5)
    assert answer.notes == [] and answer.image.size == (320, 240)


def test_an_uploaded_or_pointed_weights_file_is_used(hub, random_weights, tmp_path):
    assert_top5(classify_photo(MODEL, photo(), random_weights, weights_name="mine.pth").top5)
    (tmp_path / "mine.pth").write_bytes(random_weights)
    assert_top5(classify_photo(MODEL, photo(), tmp_path / "mine.pth").top5)
    state = torch.load(io.BytesIO(random_weights), weights_only=True)
    assert_top5(classify_photo(MODEL, photo(), save(state), weights_name="mine.safetensors").top5)


class Payload:
    def __reduce__(self):
        return (print, ("this would have run",))


def test_weights_with_a_pickled_payload_are_refused(hub):
    buffer = io.BytesIO()
    torch.save({"features.0.0.weight": Payload()}, buffer)
    with pytest.raises(CnnkitError, match="refused.*pickled"):
        load_classifier(MODEL, buffer.getvalue(), "evil.pth")


def test_other_models_weights_and_bad_files_are_clear_errors(hub, random_weights, tmp_path):
    with pytest.raises(CnnkitError, match="does not hold resnet18's weights"):
        load_classifier("resnet18", random_weights, "small.pth")
    with pytest.raises(CnnkitError, match="not a readable weights file"):
        load_classifier(MODEL, b"PK\x03\x04 not really a zip", "broken.pth")
    for junk in (b"just some text", b"abc", PNG_BYTES):  # e.g. the wrong file picked: never a traceback
        with pytest.raises(CnnkitError, match="not a readable weights file"):
            load_classifier(MODEL, junk, "picked.pth")
    with pytest.raises(CnnkitError, match="is not a file"):
        load_classifier(MODEL, tmp_path / "nowhere.pth")
    with pytest.raises(CnnkitError, match="Unknown ImageNet model"):
        weights_for("alexnet_v9")
    assert "mobilenet_v3_large" in MODELS and "resnet50" in MODELS


@pytest.mark.parametrize("model", ["mobilenet_v3_small", "resnet18"])
def test_gradcam_of_the_top_class_is_a_map_over_the_input_crop(model):
    """The top class's Grad-CAM is a [0, 1] map over the network's input crop, and the body and head it is
    taken through give the same top class as the whole network."""
    from cnnkit.infer.imagenet import _body_and_head, input_crop, photo_gradcam

    torch.manual_seed(0)
    net = torchvision.models.get_model(model, weights=None).eval()
    rng = np.random.default_rng(0)
    pixels = np.full((240, 320, 3), 128, dtype=np.uint8)
    pixels[60:180, 100:220] = rng.integers(0, 256, (120, 120, 3))
    image = Image.fromarray(pixels)
    cam, top = photo_gradcam(model, net, image)
    crop = input_crop(model, image)
    assert cam.shape == crop.shape[:2] == (224, 224) and 0 <= cam.min() and cam.max() <= 1
    x = torchvision.models.get_model_weights(model).DEFAULT.transforms()(image).unsqueeze(0)
    body, head = _body_and_head(net)
    with torch.no_grad():
        assert int(net(x).argmax(1)) == int(head(body(x)).argmax(1)) == top
