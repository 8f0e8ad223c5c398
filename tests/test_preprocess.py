"""Preprocessing on strokes the tests draw: the 28×28 result is centred and scaled as MNIST's digits are,
whatever the size, position, thickness or colours of the drawing."""

import numpy as np
import pytest

from cnnkit.data.images import LoadedImage
from cnnkit.data.preprocess import WORK_SIZE, prepare_digit
from tests.support.drawing import centre_of_mass, ink_box, strokes


def stroke_width(image):
    """≈ 2·area / perimeter of the ink, in pixels."""
    mask = np.pad(image > 0.5, 1)
    inner = mask[1:-1, 1:-1] & mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
    return 2 * mask.sum() / (mask.sum() - inner.sum())


CASES = {
    "centred": dict(box=(90, 60, 190, 220)),
    "off-centre": dict(box=(10, 10, 80, 110)),
    "tiny": dict(box=(200, 200, 215, 222), width=4),
    "huge": dict(box=(5, 5, 275, 275), width=30),
    "thin": dict(box=(60, 40, 220, 240), width=2),
    "thick": dict(box=(60, 40, 220, 240), width=45),
    "dark on light": dict(box=(30, 120, 130, 260), dark_on_light=True),
    "big photo": dict(box=(400, 300, 1400, 1900), width=60, size=2000, dark_on_light=True),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_digit_is_centred_and_scaled_as_mnist(case):
    steps = prepare_digit(strokes(**CASES[case]))
    digit = steps.centered
    assert digit.shape == (28, 28) and steps.problem is None
    cy, cx = centre_of_mass(digit)
    assert abs(cy - 13.5) <= 0.75 and abs(cx - 13.5) <= 0.75, (cy, cx)
    assert max(ink_box(digit)) in (19, 20, 21), ink_box(digit)  # the longer side fills the 20×20 box
    assert 1.3 <= stroke_width(digit) <= 7, stroke_width(digit)  # MNIST-like pen: thin ones thickened
    assert digit.max() == pytest.approx(1.0) and digit.min() == 0.0
    assert steps.inverted == CASES[case].get("dark_on_light", False)


def test_colours_do_not_matter():
    light = prepare_digit(strokes((30, 120, 130, 260))).centered
    dark = prepare_digit(strokes((30, 120, 130, 260), dark_on_light=True)).centered
    assert np.corrcoef(light.ravel(), dark.ravel())[0, 1] > 0.95


def test_aspect_ratio_is_kept():
    one = prepare_digit(strokes((130, 30, 150, 250), shape="one")).fitted
    bar = prepare_digit(strokes((30, 130, 250, 150), shape="bar")).fitted
    assert one.shape[0] == 20 and one.shape[1] <= 5
    assert bar.shape[1] == 20 and bar.shape[0] <= 5


def test_naive_resize_keeps_a_small_off_centre_digit_small_and_off_centre():
    steps = prepare_digit(strokes((10, 10, 60, 80), width=8))
    cy, cx = centre_of_mass(steps.naive)
    assert max(ink_box(steps.naive)) <= 8 and np.hypot(cy - 13.5, cx - 13.5) > 6
    assert max(ink_box(steps.centered)) >= 19


def test_intermediate_steps_are_what_the_page_shows():
    steps = prepare_digit(strokes((10, 10, 80, 110)))
    assert steps.gray.shape == (280, 280)
    assert 100 <= steps.cropped.shape[0] <= 120  # the stroke's box plus up to the brush's width
    assert max(steps.fitted.shape) == 20
    big = prepare_digit(strokes(**CASES["big photo"]))
    assert max(big.gray.shape) == WORK_SIZE  # photos are reduced before the work


def test_uneven_light_and_dust_on_paper():
    clean = prepare_digit(strokes((60, 40, 220, 240), width=14, dark_on_light=True)).centered
    photo = strokes((60, 40, 220, 240), width=14, dark_on_light=True).gray
    light = np.linspace(0.35, 1.0, 280)[None, :] * np.linspace(1.0, 0.8, 280)[:, None]
    photo = 0.2 + 0.7 * photo * light
    photo[250:254, 20:24] = photo[15:18, 250:253] = 0.2  # two specks of dust
    steps = prepare_digit(LoadedImage(photo))
    assert steps.inverted and ("specks", {"count": 2}) in steps.notes
    assert np.corrcoef(clean.ravel(), steps.centered.ravel())[0, 1] > 0.85


@pytest.mark.parametrize(
    "fill, invert, problem",
    [
        (0.0, False, "empty"),  # an untouched canvas
        (1.0, False, "full"),  # a canvas painted all white
        (1.0, None, "empty"),  # a blank sheet of paper
        (0.5, None, "empty"),  # a uniform grey picture
    ],
)
def test_nothing_to_recognise(fill, invert, problem):
    steps = prepare_digit(LoadedImage(np.full((280, 280), fill)), invert)
    assert steps.problem == problem
    assert not steps.centered.any()


def test_transparent_drawing_uses_alpha_as_ink():
    alpha = strokes((90, 60, 190, 220)).gray
    steps = prepare_digit(LoadedImage(alpha, alpha_ink=True))
    assert not steps.inverted and steps.problem is None
