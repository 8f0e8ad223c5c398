"""A large JPEG is decoded at 1/2, 1/4 or 1/8 of its size by libjpeg (``cnnkit.data.images.draft_jpeg``), never
below the working size, and the answers stay those of the full-size decode: the tests' photos and scans (fine pens
to bold markers, tiny to frame-filling digits, uneven light, slanted strokes) and the non-digits, enlarged."""

import io

import numpy as np
import pytest
from PIL import Image

from cnnkit.data import images
from cnnkit.data.images import open_image
from cnnkit.data.preprocess import WORK_SIZE, prepare_digit
from cnnkit.infer.predict import answers, read_digit
from tests.support.drawing import digit_images, phone_photo, png
from tests.support.photos import ALL, non_digits, paper_photo, scanned

FACTORS = (1.6, 2, 3, 4.5, 8.2)  # 400 px photos become 640 (no scale, gray only) to 3280 px (1/8)
LARGEST = 4000  # px on the longer side, within the pixel limit


def enlarged(data: bytes, factor: float, **save) -> bytes:
    """The picture ``factor`` times larger (at most ``LARGEST`` px), as an RGB JPEG."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    factor = min(factor, LARGEST / max(img.size))
    size = (round(img.width * factor), round(img.height * factor))
    return png(img.resize(size, Image.Resampling.BICUBIC), "JPEG", quality=90, **save)


def _sets() -> dict[str, list[bytes]]:
    digits = digit_images(12, seed=7)[0]
    rotated = Image.Exif()
    rotated[0x0112] = 6  # a phone held upright
    return {
        "paper photos": [enlarged(paper_photo(**case), FACTORS[i % 5]) for i, case in enumerate(ALL[::5])],
        "scans": [
            scanned(digit, (500, 800, 1200, 1700, 2500, 3300)[i % 6], seed=i, light=0.3 + 0.05 * i)
            for i, digit in enumerate(digits)
        ],
        "phone photos": [enlarged(phone_photo(str(d), seed=d), FACTORS[d % 5]) for d in range(5)]
        + [enlarged(phone_photo("7", seed=1), 3, exif=rotated.tobytes())],
        "non-digits": [enlarged(data, FACTORS[i % 5]) for i, data in enumerate(non_digits().values())],
    }


SETS = _sets()


@pytest.mark.parametrize("name", SETS)
def test_drafted_jpegs_get_the_answers_of_full_size_decoding(shipped, name):
    full = [prepare_digit(open_image(data)) for data in SETS[name]]  # reduced to the working size after decoding
    drafted = [read_digit(data) for data in SETS[name]]  # as predict and the pages open them
    assert [steps.problem for steps in drafted] == [steps.problem for steps in full]
    names = [str(i) for i in range(len(full))]
    before = answers(shipped, np.array([steps.centered for steps in full]), names)
    after = answers(shipped, np.array([steps.centered for steps in drafted]), names)
    for old, new in zip(before, after, strict=True):
        assert (new.label, new.reasons) == (old.label, old.reasons), (name, new.path)
        np.testing.assert_allclose(new.probabilities, old.probabilities, atol=0.02, err_msg=f"{name} {new.path}")


@pytest.mark.parametrize(
    ("size", "fmt", "decoded"),
    [
        ((1200, 1200), "JPEG", (600, 600)),  # 1/4 would be 300 < 400
        ((1600, 900), "JPEG", (400, 225)),
        ((3300, 3300), "JPEG", (413, 413)),  # 1/8
        ((1200, 500), "JPEG", (600, 250)),  # the shorter side still holds the reduction's 167
        ((799, 500), "JPEG", (799, 500)),
        ((1200, 1200), "PNG", (1200, 1200)),
    ],
)
def test_a_large_jpeg_is_decoded_at_the_smallest_scale_that_holds_the_working_size(monkeypatch, size, fmt, decoded):
    seen = []

    def spy(img, wanted):
        draft(img, wanted)
        seen.append(img.size)

    draft = images.draft_jpeg
    monkeypatch.setattr(images, "draft_jpeg", spy)
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 256, size[::-1], dtype=np.uint8)).convert("RGB")
    loaded = open_image(png(picture, fmt), longest=WORK_SIZE)
    assert seen == [decoded] and max(loaded.gray.shape) == WORK_SIZE
