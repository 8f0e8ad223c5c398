"""The drawing page speaks of what the chosen model's pictures show: digits for MNIST, clothing for a
Fashion-MNIST model (the prompt, the canvas, the upload, the answer, the steps, teaching), in both languages."""

import pytest
from streamlit.testing.v1 import AppTest

from cnnkit.i18n import text
from cnnkit.nets.checkpoints import to_bytes
from tests.support.drawing import SEVEN
from tests.support.models import random_checkpoint
from tests.support.pages import draw_page, upload
from tests.support.texts import visible_texts

DIGIT = {"en": "digit", "ru": "цифр"}


def shown(at: AppTest) -> str:
    assert not at.exception, at.exception
    return " ".join(visible_texts(at)).lower()


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_fashion_mnist_model_is_drawn_and_uploaded_as_clothing(lang, shipped):
    words = {form: text(f"draw.subject.clothes.{form}", lang) for form in ("a", "single")}
    at = draw_page(lang)
    assert text("draw.answer.empty", lang, a=text("draw.subject.digit.a", lang)).lower() in shown(at)  # MNIST: digits
    at.session_state["lang"] = lang
    at.selectbox(key="draw_model").set_value("upload").run()
    at.session_state["lang"] = lang
    upload(at, "fashion.pt", to_bytes(random_checkpoint(dataset="fashion-mnist")), key="draw_model_file")
    page = shown(at)
    assert "fashion-mnist" in page and DIGIT[lang] not in page, page
    assert text("draw.answer.empty", lang, **words).lower() in page
    assert text("draw.canvas.toolbar", lang, **words).lower() in page
    at.session_state["lang"] = lang
    at.segmented_control(key="draw_mode").set_value("upload").run()
    assert text("draw.upload.label", lang, **words).lower() in shown(at)
    at.session_state["lang"] = lang
    upload(at, "seven.png", SEVEN)
    page = shown(at)
    assert (
        at.metric and text("draw.steps.title", lang).lower() in page and text("draw.teach.title", lang).lower() in page
    )
    assert DIGIT[lang] not in page, page
