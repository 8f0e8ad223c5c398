"""Opening what users upload: every common format and mode reads the same picture; bad files give one
clear message and are refused before any work (a decompression bomb is never decoded)."""

import base64
import io
import time

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnnkit.data.images import MAX_PIXELS, canvas_png, open_image, open_rgb
from cnnkit.errors import CnnkitError
from tests.support.drawing import NOISE, png_header


def square(mode="L", size=(60, 40), ink=255, background=0):
    """A light square (the "ink") at rows 10–20, columns 30–45 of a dark picture."""
    img = Image.new("L", size, background)
    img.paste(ink, (30, 10, 45, 20))
    return img.convert(mode)


def encode(img, fmt, **options):
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def assert_square(gray, ink_is_bright=True):
    inside, outside = gray[12:18, 32:43].mean(), gray[25:, :].mean()
    assert gray.shape == (40, 60)
    assert (inside > outside + 0.8) if ink_is_bright else (inside < outside - 0.8), (inside, outside)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "WEBP", "GIF", "TIFF"])
def test_common_formats_read_the_same_picture(fmt):
    loaded = open_image(encode(square("RGB"), fmt), f"square.{fmt.lower()}")
    assert_square(loaded.gray)
    assert loaded.notes == ([("converted", {"mode": "P"})] if fmt == "GIF" else [])  # GIFs have a palette


def test_animated_gif_uses_its_first_frame_and_says_so():
    frames = [square("P"), square("P", ink=0, background=255), square("P", ink=128)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    loaded = open_image(data, "anim.gif")
    assert_square(loaded.gray)
    assert ("animated", {"frames": 3}) in loaded.notes


@pytest.mark.parametrize(
    "mode, note", [("CMYK", "converted"), ("P", "converted"), ("I;16", "high_depth"), ("LA", None), ("1", None)]
)
def test_modes_are_converted(mode, note):
    img = (
        square("L").convert(mode) if mode != "I;16" else Image.fromarray(np.asarray(square("L"), dtype=np.uint16) * 257)
    )
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    loaded = open_image(encode(img, fmt), f"square.{fmt.lower()}")
    assert_square(loaded.gray)
    assert [code for code, _ in loaded.notes] == ([note] if note else [])


def test_sixteen_bit_uses_its_full_range():
    img = Image.fromarray(np.linspace(1000, 3000, 40 * 60).reshape(40, 60).astype(np.uint16))
    gray = open_image(encode(img, "PNG")).gray
    assert gray.max() == pytest.approx(1.0) and gray.min() > 0.3  # scaled to its own range, not 65535


def test_transparent_png_reads_the_opaque_pixels_as_ink():
    rgba = Image.new("RGBA", (60, 40), (0, 0, 0, 0))
    rgba.paste((20, 20, 200, 255), (30, 10, 45, 20))  # dark blue ink on a transparent layer
    loaded = open_image(encode(rgba, "PNG"))
    assert loaded.alpha_ink and ("alpha_ink", {}) in loaded.notes
    assert_square(loaded.gray)
    palette = open_image(encode(rgba.convert("P"), "PNG", transparency=0))
    assert palette.alpha_ink


def test_a_few_transparent_pixels_do_not_make_a_layer():
    """A screenshot of dark ink on white with transparent rounded corners is read by its colours."""
    rgba = Image.new("RGBA", (60, 40), (255, 255, 255, 255))
    rgba.paste((0, 0, 0, 255), (30, 10, 45, 20))
    for corner in ((0, 0), (59, 0), (0, 39), (59, 39)):
        rgba.putpixel(corner, (255, 255, 255, 0))
    loaded = open_image(encode(rgba, "PNG"))
    assert not loaded.alpha_ink and loaded.gray[15, 35] < 0.1 and loaded.gray[30, 5] > 0.9


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90° clockwise, as phones record
    loaded = open_image(encode(square("RGB"), "JPEG", exif=exif.tobytes()))
    assert loaded.gray.shape == (60, 40) and ("rotated", {}) in loaded.notes


def test_rgb_for_photos_puts_transparency_on_white():
    rgba = Image.new("RGBA", (60, 40), (0, 0, 0, 0))
    image, _ = open_rgb(encode(rgba, "PNG"))
    assert image.mode == "RGB" and np.asarray(image).min() == 255
    sixteen, notes = open_rgb(encode(Image.fromarray(np.full((40, 60), 4000, np.uint16)), "PNG"))
    assert sixteen.mode == "RGB" and notes == [("high_depth", {"mode": "I;16"})]


@pytest.mark.parametrize("width, height", [(8000, 8000), (30000, 30000)])
def test_huge_images_are_refused_before_decoding(width, height):
    assert width * height > MAX_PIXELS
    start = time.perf_counter()
    with pytest.raises(CnnkitError, match="million pixels"):
        open_image(png_header(width, height), "bomb.png")
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    "data, message",
    [
        (b"just some text, not a picture", "not an image"),
        (b"", "not an image"),
        (encode(NOISE, "PNG")[:2000], "damaged or truncated"),
        (encode(NOISE, "JPEG")[:1000], "damaged or truncated"),
    ],
)
def test_bad_files_get_one_clear_message(data, message):
    with pytest.raises(CnnkitError, match=message) as info:
        open_image(data, "upload.png")
    assert "upload.png" in str(info.value)


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CnnkitError, match="Cannot read"):
        open_image(tmp_path / "nope.png")


@pytest.fixture(scope="module")
def canvas_result():
    """streamlit-drawable-canvas's CanvasResult: the package registers its component as it is imported, which only
    a running app can do (an AppTest imports it here)."""
    AppTest.from_string("import streamlit_drawable_canvas").run()
    from streamlit_drawable_canvas import CanvasResult

    return CanvasResult


def drawn(result, png: bytes | None, prefix: str = "data:image/png;base64,"):
    """What st_canvas(..., return_image_data=True) returns once the browser sent this PNG (None: not yet)."""
    url = None if png is None else prefix + base64.b64encode(png).decode()
    return result(json_data={"objects": []}, image_data_url=url, return_image_data=True)


def test_the_canvas_value_is_its_png_and_anything_else_is_refused(canvas_result):
    png = encode(square("RGBA", size=(60, 60)), "PNG")
    assert canvas_png(drawn(canvas_result, png), 60) == png
    assert open_image(canvas_png(drawn(canvas_result, png), 60)).gray[15, 35] == 1.0  # the ink is read as ink
    assert canvas_png(drawn(canvas_result, None), 60) is None  # nothing drawn yet
    forged = [
        drawn(canvas_result, b"\x89PNG junk"),
        drawn(canvas_result, png, prefix="data:image/png,"),
        drawn(canvas_result, encode(square(size=(60, 60)), "JPEG")),
        drawn(canvas_result, png[:30]),
        drawn(canvas_result, encode(Image.new("L", (60, 50_000)), "PNG")),  # another size: never decoded
        drawn(canvas_result, png_header(20_000, 10_000)),  # beyond Pillow's own bomb limit
        *(
            canvas_result(json_data=None, image_data_url=url, return_image_data=True)
            for url in ("data:image/png;base64,not base64!", "data:image/png;base64,AAAA=", 5)
        ),
        {"png": png},
    ]
    for value in forged:
        with pytest.raises(CnnkitError) as info:
            canvas_png(value, 60)
        assert info.value.message("ru", "page") == "Холст прислал не рисунок; очистите его и нарисуйте снова."
