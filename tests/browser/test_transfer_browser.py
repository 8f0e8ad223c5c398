"""Transfer learning as a teacher does it, in a real browser and in both languages: a class of webcam shots
(Chromium's fake camera) and a class of uploaded drawings collected on the training page, MobileNetV3-Small
trained with the notes' recipe from an uploaded weights file (random weights: the server is offline), then the
run answering a new picture on the drawing page, with Grad-CAM."""

import io
import re

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from cnnkit.devtools.browser import wait_for_app
from cnnkit.i18n import number, text
from cnnkit.nets.transfer import title, weights_file_name
from cnnkit.train.transfer import plan_transfer, recipe_code
from tests.browser.webcam import shoot_until

pytestmark = pytest.mark.browser

BACKBONE = "mobilenet_v3_small"
CHART_TITLES = """() => [...document.querySelectorAll("[data-testid='stPlotlyChart'] .gtitle")]
    .map(title => title.textContent)"""  # the titles as drawn (a title's second line follows its first)


def drawing(shape: str, seed: int) -> bytes:
    """A PNG of a dark shape on light paper, nothing like the fake camera's green test pattern."""
    picture = Image.new("RGB", (160, 120), (235, 230, 220))
    pen = ImageDraw.Draw(picture)
    x, y = 30 + 7 * seed, 20 + 5 * seed
    if shape == "box":
        pen.rectangle((x, y, x + 70, y + 60), fill=(20, 20, 30))
    elif shape == "disc":
        pen.ellipse((x, y, x + 65, y + 65), fill=(30, 10, 10))
    else:
        pen.polygon([(x, y + 70), (x + 40, y), (x + 80, y + 70)], fill=(10, 10, 40))
    data = io.BytesIO()
    picture.save(data, format="PNG")
    return data.getvalue()


def random_weights(folder) -> str:
    """MobileNetV3-Small's random weights under torchvision's own file name: what a teacher would upload."""
    import torch
    import torchvision

    path = folder / weights_file_name(BACKBONE)
    torch.save(torchvision.models.get_model(BACKBONE, weights=None).state_dict(), path)
    return str(path)


def pick(page, key: str, option: str) -> None:
    page.locator(f".st-key-{key}").get_by_test_id("stSelectbox").click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_app(page)


def count_line(lang: str, n: int, count: int) -> str:
    return f"{text('collect.default_name', lang, n=n)} · {text('collect.count', lang, count=count)}"


def collect_two_classes(page, lang: str) -> list[str]:
    """Class 1 from two different webcam shots, class 2 from three uploaded drawings; the class names."""
    pick(page, "train_dataset", text("build.data.choice", lang))
    page.get_by_text(text("build.data.from_collect", lang)).click()
    wait_for_app(page)
    adder = page.locator(".st-key-collect_add_class button")
    adder.click()
    wait_for_app(page)
    expect(page.get_by_text(count_line(lang, 1, 0))).to_be_visible(timeout=30_000)
    for count in (1, 2):
        shoot_until(page, page.get_by_text(count_line(lang, 1, count), exact=True))

    adder.click()
    wait_for_app(page)
    expect(page.get_by_text(count_line(lang, 2, 0))).to_be_visible(timeout=30_000)
    files = [
        {"name": f"{shape}.png", "mimeType": "image/png", "buffer": drawing(shape, seed)}
        for seed, shape in enumerate(("box", "disc", "triangle"))
    ]
    page.locator("[class*='st-key-collect_upload_'] input[type=file]").set_input_files(files)
    expect(page.get_by_text(count_line(lang, 2, 3), exact=True)).to_be_visible(timeout=30_000)
    wait_for_app(page)
    return [text("collect.default_name", lang, n=n) for n in (1, 2)]


def choose_pretrained(page, lang: str, weights: str) -> None:
    """MobileNetV3-Small, the notes' recipe (the default), the uploaded weights; what learns and the code shown."""
    page.locator(".st-key-train_network").get_by_role("radio", name=text("build.ui.mode_pretrained", lang)).click()
    wait_for_app(page)
    pick(page, "train_backbone", title(BACKBONE))
    recipe = page.locator(".st-key-train_freeze").get_by_role("radio", name=text("train.transfer.mode_all", lang))
    expect(recipe).to_be_checked()  # the notes' recipe is the default
    page.locator(".st-key-train_weights_file input[type=file]").set_input_files(weights)
    given = text("train.transfer.file_given", lang, name=weights_file_name(BACKBONE))
    expect(page.get_by_text(given)).to_be_visible(timeout=60_000)
    wait_for_app(page)

    found = plan_transfer(BACKBONE, 2)  # the notes' recipe on ImageNet weights, two classes
    for key, value in (("trainable", found.trainable), ("frozen", found.frozen)):
        metric = page.get_by_test_id("stMetric").filter(has_text=text(f"train.transfer.{key}", lang))
        expect(metric.get_by_test_id("stMetricValue")).to_have_text(number(value, lang))
    code = page.get_by_test_id("stCode").filter(has_text="requires_grad = False")
    expect(code).to_contain_text(recipe_code(BACKBONE, "all", 2).splitlines()[-1])
    expect(page.get_by_test_id("stAlert").filter(has_text=text("train.transfer.fix_first", lang))).to_have_count(0)


def train_and_use(page, lang: str) -> None:
    """Train; once the run has finished, choose it for drawing."""
    page.locator(".st-key-train_start button").click()
    use = page.locator("[class*='st-key-train_use_'] button")
    expect(use).to_have_text(re.compile(re.escape(text("train.use", lang))), timeout=300_000)
    expect(page.get_by_test_id("stMetric").filter(has_text=text("train.test_accuracy", lang))).to_be_visible()
    wait_for_app(page)
    use.click()
    expect(use).to_have_text(re.compile(re.escape(text("train.used", lang))), timeout=30_000)
    wait_for_app(page)


def answer_a_new_picture(page, lang: str, classes: list[str]) -> None:
    page.get_by_role("link", name=text("nav.draw", lang)).click()
    wait_for_app(page)
    chosen = page.locator(".st-key-draw_model").get_by_role("combobox")  # the run, chosen for drawing
    expect(chosen).to_have_value(re.compile(re.escape(title(BACKBONE))))  # the run is named as the guide names it
    page.locator(".st-key-draw_image input[type=file]").set_input_files(
        {"name": "new.png", "mimeType": "image/png", "buffer": drawing("triangle", 4)}
    )
    answer = page.get_by_test_id("stMetric").filter(has_text=text("draw.answer.label", lang))
    expect(answer).to_be_visible(timeout=120_000)
    wait_for_app(page)
    assert answer.get_by_test_id("stMetricValue").inner_text() in classes
    prefix = text("draw.inside.gradcam", lang, label="\0", layer="").split("\0")[0]  # "Grad-CAM for «"
    page.wait_for_function(f"({CHART_TITLES})().some(t => t.startsWith({prefix!r}))", timeout=60_000)
    titles = page.evaluate(CHART_TITLES)
    assert any(t.startswith(prefix) and t[len(prefix) :].split("»")[0] in classes for t in titles), titles
    charts = page.get_by_test_id("stPlotlyChart")
    charts.filter(has=page.locator(".gtitle", has_text=prefix)).scroll_into_view_if_needed()  # for the screenshot


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_pretrained_network_learns_webcam_shots_and_uploads(page, tmp_path, lang):
    weights = random_weights(tmp_path)
    if lang == "ru":
        page.get_by_test_id("stSidebar").get_by_text("Русский").click()
        wait_for_app(page)
    page.get_by_role("link", name=text("nav.train", lang)).click()
    wait_for_app(page)
    classes = collect_two_classes(page, lang)
    choose_pretrained(page, lang, weights)
    train_and_use(page, lang)
    assert "/tmp" not in page.locator("body").inner_text()
    answer_a_new_picture(page, lang, classes)

    assert page.locator("[data-testid='stException']").count() == 0
    shown = page.locator("body").inner_text()
    assert "/tmp" not in shown and "runs/weights" not in shown
    page.screenshot(path=f"/tmp/e2e22-{lang}.png")
