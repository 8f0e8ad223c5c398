"""AppTest of the Draw & predict page: uploads read as the user expects, every bad file gets a clear
message and never a traceback, the model choice, teaching the model, and ImageNet photos offline."""

import io

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from cnnkit.data.datasets import DATASETS
from cnnkit.i18n import lookup, text
from cnnkit.infer.imagenet import weights_for
from cnnkit.nets.checkpoints import save_checkpoint, to_bytes
from cnnkit.train.loop import TrainConfig
from cnnkit.train.store import RunStore
from tests.support.drawing import NOISE, SEVEN, png, png_header
from tests.support.models import epoch_stats, random_checkpoint
from tests.support.pages import draw_page, texts, upload


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_page_opens_on_the_canvas_with_its_hint(lang, shipped):
    at = draw_page(lang)
    assert at.title[0].value == text("draw.title", lang)
    assert texts(at.info) == text("draw.answer.empty", lang, a=text("draw.subject.digit.a", lang))
    assert text("draw.card.test_accuracy", lang) in texts(at.markdown)
    # The network by its name, as the runs are named, not by the builder's id ("convnet").
    assert f"**{text('draw.card.model', lang)}** {text('runs.naming.arch.convnet', lang)} ·" in texts(at.markdown)
    assert not at.metric  # nothing drawn, nothing predicted


def test_an_uploaded_digit_is_read_and_explained(shipped):
    at = draw_page()
    at.segmented_control(key="draw_mode").set_value("upload").run()
    upload(at, "seven.png", SEVEN)
    assert at.metric[0].value == "7"
    assert text("draw.notes.inverted") in texts(at.info)
    charts = at.get("plotly_chart")
    assert len(charts) == 7  # probabilities, normalized input, 2 feature-map grids, saliency, Grad-CAM, overview
    assert [h.value for h in at.subheader][1:5] == [
        text(k) for k in ("draw.steps.title", "draw.inside.title", "explore.overview.title", "draw.teach.title")
    ]


def gif(frames):
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    return buffer.getvalue()


SEVEN_IMAGE = Image.open(io.BytesIO(SEVEN))
TRANSPARENT = Image.new("RGBA", SEVEN_IMAGE.size, (0, 0, 0, 0))
TRANSPARENT.putalpha(Image.eval(SEVEN_IMAGE.convert("L"), lambda v: 255 - v))

BAD_FILES = {  # name: (bytes, the error shown or None, the note shown or None)
    "notes.png": (b"this is not a picture", "not an image", None),
    "truncated.png": (png(NOISE)[:2000], "damaged or truncated", None),
    "bomb.png": (png_header(30000, 30000), "million pixels", None),
    "anim.gif": (gif([SEVEN_IMAGE.convert("P"), Image.new("P", SEVEN_IMAGE.size, 0)]), None, "animated"),
    "cmyk.jpg": (png(SEVEN_IMAGE.convert("CMYK"), "JPEG"), None, "converted"),
    "deep.png": (png(Image.fromarray(np.asarray(SEVEN_IMAGE, np.uint16) * 257)), None, "high_depth"),
    "palette.png": (png(SEVEN_IMAGE.convert("P")), None, "converted"),
    "transparent.png": (png(TRANSPARENT), None, "alpha_ink"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_and_unusual_files_get_a_clear_message(name, shipped):
    data, error, note = BAD_FILES[name]
    at = draw_page()
    at.segmented_control(key="draw_mode").set_value("upload").run()
    upload(at, name, data)
    if error:
        assert error in texts(at.error) and name in texts(at.error) and not at.metric
    else:
        assert not at.error and at.metric[0].value == "7"
        assert any(e.value.startswith(lookup(f"draw.notes.{note}").split("{")[0]) for e in at.info)


def test_a_blank_image_says_there_is_nothing_to_read(shipped):
    at = draw_page()
    at.segmented_control(key="draw_mode").set_value("upload").run()
    upload(at, "white.png", png(Image.new("L", (200, 200), 255)))
    assert texts(at.info).endswith(text("draw.answer.empty_upload", single=text("draw.subject.digit.single")))
    assert not at.metric


class Payload:
    def __reduce__(self):
        return (print, ("this would have run",))


def test_model_choice_upload_refuses_pickles_and_shows_fashion_classes(shipped):
    at = draw_page()
    at.selectbox(key="draw_model").set_value("upload").run()
    assert text("draw.model.need_file") in texts(at.info)
    buffer = io.BytesIO()
    torch.save({"meta": Payload(), "state_dict": {}}, buffer)
    upload(at, "evil.pt", buffer.getvalue(), key="draw_model_file")
    assert "refused" in texts(at.error)

    upload(at, "fashion.pt", to_bytes(random_checkpoint(dataset="fashion-mnist")), key="draw_model_file")
    assert "Fashion-MNIST" in texts(at.markdown) and "Ankle boot" in texts(at.markdown)
    at.segmented_control(key="draw_mode").set_value("upload").run()
    upload(at, "seven.png", SEVEN)
    assert at.metric[0].value in random_checkpoint(dataset="fashion-mnist").classes
    assert "Fashion-MNIST" in texts(at.info)


def test_a_stored_run_is_offered_and_used(shipped, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNKIT_RUNS_DIR", str(tmp_path))
    store = RunStore(tmp_path)
    run_id = store.create(TrainConfig(dataset="fashion-mnist"), name="my first run")
    save_checkpoint(random_checkpoint(dataset="fashion-mnist", seed=3), store.folder(run_id) / "best.pt")
    store.add_epoch(
        run_id,
        epoch_stats(accuracy=0.71),
        1.0,
    )
    store.finish(run_id, "finished")
    at = draw_page()
    choice = at.selectbox(key="draw_model")
    assert choice.options[1] == text("draw.model.run", id=run_id, name="my first run", acc="71.00%")
    at.segmented_control(key="draw_mode").set_value("upload").run()
    upload(at, "seven.png", SEVEN)
    assert at.metric[0].value == "7"  # the shipped model
    at.button(key="draw_add").click().run()
    assert text("draw.teach.count", n=1) in texts(at.markdown)
    at.selectbox(key="draw_model").set_value(f"run:{run_id}").run()
    assert "Fashion-MNIST" in texts(at.markdown) and "Fashion-MNIST" in texts(at.info)  # its card, its classes
    assert at.metric[0].value in DATASETS["fashion-mnist"].classes
    assert text("draw.teach.count", n=0) in texts(at.markdown)  # digit labels do not carry over to clothes


def teach_a_one(at, steps: int | None = None):
    """Upload the seven, say it is a one, and fine-tune on it (``steps``: the page's slider, else its default)."""
    at.segmented_control(key="draw_mode").set_value("upload").run()
    upload(at, "seven.png", SEVEN)
    at.selectbox(key="draw_true_label").set_value(1).run()  # "no, this is how I write a one"
    at.button(key="draw_add").click().run()
    assert text("draw.teach.count", n=1) in texts(at.markdown)
    if steps:
        at.slider(key="draw_tune_steps").set_value(steps).run()
    at.button(key="draw_tune").click().run()
    assert not at.exception, at.exception
    return at


def test_teach_fine_tune_and_keep(shipped):
    at = teach_a_one(draw_page(), steps=30)
    assert text("draw.teach.before_after", n=1, before=0, after=1) == texts(at.success)
    at.button(key="draw_keep").click().run()
    run_id = int(at.selectbox(key="draw_model").value.removeprefix("run:"))  # kept as a run of the store
    assert text("draw.teach.kept", id=run_id) in texts(at.toast)
    assert at.metric[0].value == "1"  # the kept model reads the drawing as taught
    assert text("draw.card.fine_tuned_on") in texts(at.markdown)


def test_teaching_reads_the_data_folder_set_now_not_one_seen_before(shipped, page_digits, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(page_digits))
    with_data = teach_a_one(draw_page())
    assert text("answers.finetune.rehearsed", n=400) in texts(with_data.caption)  # the folder's 400 training images
    monkeypatch.setenv("CNNKIT_DATA_DIR", str(tmp_path))  # a folder without the data: nothing to rehearse with
    assert text("answers.finetune.unchecked") in texts(teach_a_one(draw_page()).info)


def shown_texts(at) -> str:
    return texts([*at.markdown, *at.caption, *at.info, *at.success, *at.warning, *at.error])


@pytest.fixture
def hub(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return weights_for("mobilenet_v3_small").hub_path


def test_photo_mode_offline_says_how_to_get_weights_and_uses_them_once_there(hub):
    at = draw_page()
    at.segmented_control(key="draw_mode").set_value("photo").run()
    at.selectbox(key="draw_imagenet_model").set_value("mobilenet_v3_small").run()
    assert weights_for("mobilenet_v3_small").url in texts(at.warning)
    upload(at, "photo.jpg", png(Image.new("RGB", (300, 200), (30, 120, 200)), "JPEG"), key="draw_photo")
    assert not at.get("plotly_chart")
    assert str(hub.parents[2]) not in shown_texts(at)  # the server's paths are not the visitor's business

    hub.parent.mkdir(parents=True)
    torch.save(torchvision.models.get_model("mobilenet_v3_small", weights=None).state_dict(), hub)
    at.run()
    assert text("draw.photo.found", model="mobilenet_v3_small") == texts(at.success)
    assert str(hub.parents[2]) not in shown_texts(at)
    assert len(at.get("plotly_chart")) == 1 and not at.error
    assert text("draw.photo.names") in texts(at.caption)  # whose names they are (English on a Russian page)


def test_the_right_label_survives_a_picture_going_away_and_coming_back(shipped):
    """After Clear the teaching controls are not shown for a while; the label the learner chose stays."""
    at = draw_page()
    at.segmented_control(key="draw_mode").set_value("upload").run()
    upload(at, "seven.png", SEVEN)
    assert at.selectbox(key="draw_true_label").value == 7  # the guess is offered
    at.selectbox(key="draw_true_label").set_value(1).run()
    at.segmented_control(key="draw_mode").set_value("draw").run()  # the canvas is empty: no teaching controls
    at.segmented_control(key="draw_mode").set_value("upload").run()
    upload(at, "seven.png", SEVEN)
    assert at.selectbox(key="draw_true_label").value == 1


def test_photo_offline_shows_the_photo_and_what_is_missing_then_answers_with_uploaded_weights(hub):
    at = draw_page()
    at.segmented_control(key="draw_mode").set_value("photo").run()
    at.selectbox(key="draw_imagenet_model").set_value("mobilenet_v3_small").run()
    upload(at, "photo.jpg", png(Image.new("RGB", (300, 200), (30, 120, 200)), "JPEG"), key="draw_photo")
    assert len(at.get("image")) == 1 and not at.get("plotly_chart")  # the photo, and no answer yet
    assert text(
        "answers.photo.no_weights", model="mobilenet_v3_small", size=weights_for("mobilenet_v3_small").size_mb
    ) in texts(at.warning)
    buffer = io.BytesIO()
    torch.save(torchvision.models.get_model("mobilenet_v3_small", weights=None).state_dict(), buffer)
    upload(at, "weights.pth", buffer.getvalue(), key="draw_imagenet_weights")
    assert not at.warning and not at.error  # the "not on this machine" warning is gone
    assert text("answers.photo.given", name="weights.pth") in texts(at.success)
    assert len(at.get("plotly_chart")) == 1 and len(at.get("image")) == 2  # top 5 and the Grad-CAM


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_confidence_and_the_doubt_tell_one_story(lang, shipped):
    """A sure-looking answer that is doubted says, in the confidence itself, why a high share does not vouch
    for the picture; an answer nothing doubts states its confidence plainly, without a warning (issue 20)."""
    from tests.support.photos import non_digits

    def answer(name: str, data: bytes) -> tuple[str, str]:
        at = draw_page(lang)
        at.segmented_control(key="draw_mode").set_value("upload").run()
        upload(at, name, data)
        return at.get("progress")[0].proto.text, texts(at.warning)

    confidence, warning = answer("x.png", non_digits()["letter X"])
    assert text("answers.unsure_title", lang) in warning
    plain = text("answers.confidence", lang, p=0.5)
    explained = text("answers.confidence_unusual", lang, p=0.5).removeprefix(plain)  # the sentence after it
    assert explained.strip() and confidence.endswith(explained)
    confidence, warning = answer("seven.png", SEVEN)
    assert confidence.startswith(plain[:5]) and not confidence.endswith(explained)
    assert text("answers.unsure_title", lang) not in warning
