"""Draw & predict: draw a digit or upload an image; see what the network answers, what it sees and why."""

from __future__ import annotations

from functools import partial

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from cnnkit.data.datasets import Split, class_names, default_data_dir, load_dataset
from cnnkit.data.images import canvas_png, open_rgb
from cnnkit.data.preprocess import DigitSteps, normalize
from cnnkit.errors import CnnkitError
from cnnkit.infer import charts, overview
from cnnkit.infer.explain import explain, explain_input
from cnnkit.infer.finetune import CHECK, REHEARSAL, finetune, keep_as_run, sample
from cnnkit.infer.imagenet import MODELS, classify_photo, find_weights, weights_for
from cnnkit.infer.predict import (
    Prediction,
    classify,
    load_model,
    load_upload,
    model_card,
    predict_input,
    predict_steps,
    read_digit,
    read_image,
    seen_picture,
    subject,
    takes_digits,
    weights_preprocessing,
)
from cnnkit.infer.unsure import confidence_text
from cnnkit.infer.uploads import IMAGENET_WEIGHTS_MB, UPLOAD_MB, SessionCache
from cnnkit.nets.checkpoints import Checkpoint
from cnnkit.paths import allowed_path
from pages import embedmap
from pages.ui import (
    error_text,
    fmt,
    lang,
    latex_number,
    latex_text,
    names,
    num,
    owner,
    page_navigation,
    private_runs,
    run_store,
    t,
    table,
)

page_navigation()  # a first request of the server to this page's URL: see pages/ui.py

IMAGES = ["png", "jpg", "jpeg", "bmp", "webp", "gif", "tif", "tiff"]
DRAWINGS = "draw_my_drawings"  # the learner's labelled pictures: [(28×28 array, class index)]
TUNED = "draw_finetune"  # (the model it started from, the last fine-tuning result), until kept or discarded
TAUGHT = "draw_taught_classes"  # the classes of the models the drawings were labelled for
LABEL = "draw_label_choice"  # the right label the learner chose, kept while the canvas is cleared
CANVAS = 280  # the drawing canvas's side in pixels


# ---------------------------------------------------------------- the model


@st.cache_resource(show_spinner=False, max_entries=8)
def stored_model(run_id: int, finished: float | None) -> Checkpoint:
    return run_store().load(run_id)


def stored_runs() -> dict[str, str]:
    """The finished and stopped runs of the store that this user may see, as model choices."""
    runs = run_store().list(owner=owner(), include_others=not private_runs())
    return {
        f"run:{r.id}": t(
            "draw.model.run",
            id=r.id,
            name=r.title(lang()),
            acc=fmt().percent(r.test_accuracy) if r.test_accuracy is not None else "—",
        )
        for r in runs
        if r.has_model
    }


def choose_model() -> Checkpoint | None:
    options = {"shipped": t("draw.model.shipped"), **stored_runs(), "upload": t("draw.model.upload")}
    if st.session_state.get("draw_model") not in options:
        st.session_state["draw_model"] = "shipped"
    left, right = st.columns([2, 3])
    choice = left.selectbox(t("draw.model.label"), list(options), format_func=options.get, key="draw_model")
    try:
        if choice == "upload":
            file = left.file_uploader(
                t("draw.model.file"),
                type=["pt", "pth", "safetensors"],
                key="draw_model_file",
                max_upload_size=UPLOAD_MB,
            )
            if file is None:
                right.info(t("draw.model.need_file"))
                return None
            ckpt = load_upload(file.getvalue(), file.name, uploads())
        elif choice.startswith("run:"):
            run = run_store().get(choice.removeprefix("run:"))
            ckpt = stored_model(run.id, run.finished)
        else:
            ckpt = load_model()
    except CnnkitError as exc:
        right.error(error_text(exc))
        return None
    show_card(ckpt, right)
    return ckpt


def dataset_name(ckpt: Checkpoint) -> str:
    """What the model learned from, in the page's words (a class folder is the learner's own images)."""
    return t("build.data.choice") if ckpt.dataset == "folder" else model_card(ckpt, lang())["dataset"]


def shown_classes(ckpt: Checkpoint) -> list[str]:
    """The model's class names in the page's language (a known dataset's translated)."""
    return class_names(ckpt.classes, lang())


def subject_words(ckpt: Checkpoint) -> dict[str, str]:
    """What the model's pictures show, for the page's sentences: ``a`` (a digit), ``single`` (a single digit)."""
    key, classes = f"draw.subject.{subject(ckpt)}", ", ".join(shown_classes(ckpt))
    return {form: t(f"{key}.{form}", classes=classes) for form in ("a", "single")}


def show_card(ckpt: Checkpoint, where) -> None:
    values = model_card(ckpt, lang())
    shown = {
        **values,
        "dataset": dataset_name(ckpt),
        "parameters": num(values["parameters"]),
        "test_accuracy": values["test_accuracy"] and fmt().percent(values["test_accuracy"]),
    }
    if ckpt.dataset == "mnist":
        shown.pop("classes")
    where.markdown(" · ".join(f"**{t(f'draw.card.{k}')}** {v}" for k, v in shown.items() if v))


# ---------------------------------------------------------------- one digit: answer, steps, inside


def show_answer(ckpt: Checkpoint, steps: DigitSteps, empty_hint: str) -> Prediction | None:
    """The top prediction and the probability bars; None when there is nothing to recognise."""
    if steps.problem:
        (st.info if steps.problem == "empty" else st.warning)(
            t("draw.answer.full", **subject_words(ckpt)) if steps.problem == "full" else empty_hint
        )
        return None
    pred = predict_steps(ckpt, steps)
    show_prediction(ckpt, pred)
    return pred


def show_prediction(ckpt: Checkpoint, pred: Prediction) -> None:
    """The top class, how sure, why it may be wrong, and the probability of every class."""
    shown = shown_classes(ckpt)
    st.metric(t("draw.answer.label"), shown[ckpt.classes.index(pred.label)])
    st.progress(pred.probability, text=confidence_text(pred.probability, pred.reasons, lang()))
    if pred.unsure:
        st.warning(
            "\n".join([f"**{t('answers.unsure_title')}**"] + [f"- {t(f'answers.reason.{r}')}" for r in pred.reasons])
        )
    if ckpt.dataset != "mnist":
        st.info(t("draw.answer.not_digits", dataset=dataset_name(ckpt), classes=", ".join(shown)))
    st.plotly_chart(
        charts.probability_bars(shown, pred.probabilities, t("draw.answer.chart"), lang=lang()), key="draw_probs"
    )


def show_picture(where, image: np.ndarray, caption: str) -> None:
    where.image(image, caption=caption, width=int(image.shape[1]), output_format="PNG")


def read_picture(source: bytes, name: str, invert: bool | None = None) -> tuple[DigitSteps, np.ndarray]:
    """The prepared digit and a small preview of the picture it came from."""
    preview, _ = open_rgb(source, name)
    preview.thumbnail((112, 112))
    return read_digit(source, name, invert), np.asarray(preview)


# The canvas and an upload are read again at each rerun (any click on the page): remember the last few by
# content.
read_upload = st.cache_data(max_entries=4, show_spinner=False)(read_picture)


def show_steps(ckpt: Checkpoint, pred: Prediction, preview: np.ndarray) -> None:
    steps = pred.steps
    st.subheader(t("draw.steps.title"))
    st.caption(t("draw.steps.why"))
    pictures = [
        (preview, "input"),
        (charts.picture(steps.gray), "gray_inverted" if steps.inverted else "gray"),
        (charts.picture(steps.cropped), "cropped"),
        (charts.picture(steps.fitted, box=20), "fitted"),
        (charts.picture(steps.centered), "centered"),
    ]
    columns = st.columns([1] * len(pictures) + [1.4])
    for column, (image, key) in zip(columns, pictures):  # as wide as its column, however narrow, keeping its shape
        column.image(charts.square(image), caption=t(f"draw.steps.{key}"), width="stretch", output_format="PNG")
    x = normalize(steps.centered, ckpt.mean, ckpt.std)[0, 0].numpy()
    columns[-1].plotly_chart(charts.values_map(x, lang=lang()), key="draw_normalized")
    columns[-1].caption(t("draw.steps.normalized", mean=ckpt.mean, std=ckpt.std))

    st.markdown(f"**{t('draw.steps.naive_title')}**")
    naive, styled, why = st.columns([1, 1, 2])
    for column, image, probs, key in (
        (naive, steps.naive, classify(ckpt, steps.naive), "naive"),
        (styled, steps.centered, np.asarray(pred.probabilities), "mnist_style"),
    ):
        column.markdown(t("draw.steps.verdict", label=shown_classes(ckpt)[int(probs.argmax())], p=float(probs.max())))
        show_picture(column, charts.picture(image, 140), t(f"draw.steps.{key}"))
    why.caption(t("draw.steps.naive_why"))


def show_inside(ckpt: Checkpoint, ex, overlay) -> None:
    """The maps of each conv block, and saliency and Grad-CAM drawn by ``overlay(heat, title)`` on the input
    (on the picture the network read instead, when that is not its input: a transfer network's crop)."""
    if ex.seen is not None:
        overlay = partial(charts.photo_heat, ex.seen, lang=lang())
    st.subheader(t("draw.inside.title"))
    st.caption(t("draw.inside.maps_why"))
    for layer in ex.layers:
        count, size = layer.maps.shape[0], layer.maps.shape[1]
        st.plotly_chart(
            charts.feature_grid(
                layer.maps, t("draw.inside.maps", layer=layer.name, count=count, size=size), lang=lang()
            ),
            key=f"draw_maps_{layer.name}",
        )
    label = shown_classes(ckpt)[ex.target]
    saliency, gradcam, why = st.columns(3, vertical_alignment="center")
    saliency.plotly_chart(overlay(ex.saliency, t("draw.inside.saliency", label=label)), key="draw_saliency")
    if ex.gradcam is None:
        gradcam.caption(t("draw.inside.no_gradcam"))
    else:
        gradcam.plotly_chart(
            overlay(ex.gradcam, t("draw.inside.gradcam", layer=ex.gradcam_layer, label=label)), key="draw_gradcam"
        )
    why.caption(t("draw.inside.why"))


# ---------------------------------------------------------------- the whole network at once

OVERVIEW_PICK = "draw_overview_pick"  # the (stage, map) opened large


def on_overview_click(view) -> None:
    """Callback of the overview chart: a click on a map opens it (a click on a dot or outside changes nothing)."""
    for point in st.session_state["draw_overview"].selection.points:
        tile = overview.tile_at(view, point["x"], point["y"])
        if tile and view.stage(tile.stage).maps and tile.stage != "input":
            st.session_state[OVERVIEW_PICK] = (tile.stage, tile.unit)
            return


def stage_names(view) -> dict[str, str]:
    return {
        s.name: t("explore.overview.input")
        if s.kind == "input"
        else t("explore.overview.outputs")
        if s.kind == "output"
        else f"{s.name} · {'×'.join(map(str, s.values.shape))}"
        for s in view.stages
    }


def show_map(ckpt: Checkpoint, image28: np.ndarray, view, stage: str, channel: int) -> None:
    """One feature map large: its kernels, its receptive field and the input pixel that excites it most."""
    try:
        detail = overview.map_detail(ckpt, image28, view, stage, channel)
    except CnnkitError as exc:
        st.info(error_text(exc))
        return
    st.markdown(t("explore.overview.map_title", stage=stage, channel=channel))
    big, kernels, field = st.columns(3)
    big.plotly_chart(
        charts.map_figure(
            detail.map, t("explore.overview.map", size="×".join(map(str, detail.map.shape))), detail.peak, lang=lang()
        ),
        key="draw_overview_map",
    )
    count, k = detail.kernels.shape[0], detail.kernels.shape[1]
    kernels.plotly_chart(
        charts.kernels_figure(
            detail.kernels,
            t(
                "explore.overview.kernels" if count > 1 else "explore.overview.kernel",
                layer=detail.kernel_layer,
                count=count,
                k=k,
            ),
            lang=lang(),
        ),
        key="draw_overview_kernels",
    )
    field.plotly_chart(
        charts.field_figure(
            image28, detail.field, detail.best_pixel, t("explore.overview.field", size=detail.field.size), lang=lang()
        ),
        key="draw_overview_field",
    )
    st.caption(
        t(
            "explore.overview.map_why",
            peak=detail.peak,
            best=detail.best_pixel,
            size=detail.field.size,
            layer=detail.kernel_layer,
            pooled=t("explore.overview.pooled", layer=detail.kernel_layer) if stage != detail.kernel_layer else "",
        )
    )


def show_softmax(view, classes: list[str]) -> None:
    """The scores before softmax, divided by the model's temperature, and the softmax with these numbers."""
    steps = overview.softmax_steps(view.logits, view.temperature)
    st.markdown(f"**{t('explore.softmax.title')}**")
    st.caption(t("explore.softmax.why"))
    st.caption(t("explore.softmax.temperature", temperature=num(steps.temperature, 3)))
    c = view.prediction
    st.latex(
        rf"p_k = \frac{{e^{{z_k/T}}}}{{\sum_j e^{{z_j/T}}}} = \frac{{e^{{z_k/T - m}}}}{{\sum_j e^{{z_j/T - m}}}},"
        rf"\quad T = {latex_number(steps.temperature)},"
        rf"\quad m = \max_j z_j/T = {latex_number(float((steps.logits / steps.temperature).max()))}"
    )
    terms = sorted(steps.exps, reverse=True)
    shown = " + ".join(latex_number(float(e)) for e in terms[:3]) + (r" + \dots" if len(terms) > 3 else "")
    st.latex(
        rf"p_{{{latex_text(classes[c])}}} = \frac{{e^{{{latex_number(float(steps.shifted[c]))}}}}}{{{shown}}}"
        rf" = \frac{{{latex_number(float(steps.exps[c]))}}}{{{latex_number(steps.total)}}}"
        rf" = {latex_number(float(steps.probabilities[c]))}"
    )
    exponent = fmt().scientific
    table(
        [
            {t("explore.softmax.class"): str(k), "z": z, "z/T − m": shifted, "e^(z/T − m)": e, "p": p}
            for k, z, shifted, e, p in zip(classes, steps.logits, steps.shifted, steps.exps, steps.probabilities)
        ],
        {"z": partial(num, digits=3), "z/T − m": partial(num, digits=3), "e^(z/T − m)": exponent, "p": exponent},
        key="draw_softmax_table",
    )


@st.fragment
def show_overview(ckpt: Checkpoint, image28: np.ndarray) -> None:
    """The whole network for this drawing, Harley-style; a click on a map opens it (only this part reruns)."""
    st.subheader(t("explore.overview.title"))
    st.caption(t("explore.overview.intro"))
    try:
        view = overview.overview(ckpt, image28)
    except CnnkitError as exc:
        st.info(error_text(exc))
        return
    pick = st.session_state.get(OVERVIEW_PICK)
    st.plotly_chart(
        charts.overview_figure(
            view,
            overview.columns(view),
            overview.tiles(view),
            view.path(),
            shown_classes(ckpt),
            stage_names(view),
            pick,
            lang=lang(),
        ),
        key="draw_overview",
        on_select=partial(on_overview_click, view),
        selection_mode="points",
        config={"displayModeBar": False},
    )
    st.caption(t("explore.overview.click"))
    if pick:
        show_map(ckpt, image28, view, *pick)
    show_softmax(view, shown_classes(ckpt))


# ---------------------------------------------------------------- teaching


@st.cache_resource(show_spinner=False)
def teaching_data(dataset: str, folder: str) -> tuple[Split | None, Split | None]:
    """Rehearsal images of the original training data and the fixed test sample from the data ``folder``, or
    (None, None) when the dataset is not there."""
    try:
        data = load_dataset(dataset, folder, download=False, progress=lambda _: None)
    except CnnkitError:
        return None, None
    return sample(data.train, REHEARSAL), sample(data.test, CHECK)


def parent_model() -> tuple[str, str]:
    """The model chosen now: as the run store records it (``shipped``, ``run:ID``, ``file:NAME``) and by name."""
    choice = st.session_state["draw_model"]
    if choice == "upload":
        name = st.session_state["draw_model_file"].name
        return f"file:{name}", name
    if choice.startswith("run:"):
        return choice, run_store().get(choice.removeprefix("run:")).title(lang())
    return choice, t("draw.model.shipped")


def keep_tuned(confirmed: bool) -> None:
    """Keep the fine-tuned model as a run of the store, and draw with it."""
    parent, parent_name = parent_model()
    try:
        run_id = keep_as_run(
            run_store(),
            st.session_state[TUNED][1],
            parent=parent,
            owner=owner(),
            name=t("draw.teach.run_name", parent=parent_name),
            confirmed=confirmed,
        )
    except CnnkitError as exc:
        st.error(error_text(exc))
        return
    st.session_state.pop(TUNED)
    st.session_state["draw_model"] = f"run:{run_id}"
    st.toast(t("draw.teach.kept", id=run_id))


def show_teach(ckpt: Checkpoint, pred: Prediction) -> None:
    st.subheader(t("draw.teach.title"))
    st.caption(t("draw.teach.intro", dataset=dataset_name(ckpt)))
    if st.session_state.get(TAUGHT) != tuple(ckpt.classes):  # labels mean something for these classes only
        st.session_state[TAUGHT] = tuple(ckpt.classes)
        st.session_state[DRAWINGS] = []
    if st.session_state.get(TUNED, (None,))[0] is not ckpt.model:  # a result belongs to the model it tuned
        st.session_state.pop(TUNED, None)
    drawings = st.session_state[DRAWINGS]
    guess = ckpt.classes.index(pred.label)
    if st.session_state.get("draw_guess") != guess:  # a new answer: offer it as the label to correct
        st.session_state["draw_guess"] = st.session_state[LABEL] = guess
    # Streamlit forgets a widget's value while it is not shown (after Clear): it is kept beside it.
    st.session_state["draw_true_label"] = st.session_state.get(LABEL, guess)
    shown = shown_classes(ckpt)
    label_col, add_col, count_col = st.columns([2, 2, 3], vertical_alignment="bottom")
    label = label_col.selectbox(
        t("draw.teach.label"),
        range(len(ckpt.classes)),
        format_func=shown.__getitem__,
        key="draw_true_label",
        on_change=lambda: st.session_state.update({LABEL: st.session_state["draw_true_label"]}),
    )
    if add_col.button(t("draw.teach.add"), key="draw_add"):
        drawings.append((pred.steps.centered.astype(np.float32), label))
        st.toast(t("draw.teach.added", label=shown[label]))
    count_col.markdown(t("draw.teach.count", n=len(drawings)))
    if not drawings:
        st.caption(t("draw.teach.none"))
        return
    st.image(
        [charts.picture(img, 56) for img, _ in drawings],
        caption=[shown[y] for _, y in drawings],
        output_format="PNG",
    )
    steps_col, run_col, forget_col = st.columns([2, 2, 3], vertical_alignment="bottom")
    n_steps = steps_col.slider(t("draw.teach.steps"), 10, 200, 40, step=10, key="draw_tune_steps")
    if forget_col.button(t("draw.teach.forget"), key="draw_forget"):
        drawings.clear()
        st.session_state.pop(TUNED, None)
        st.rerun()
    if run_col.button(t("draw.teach.run"), type="primary", key="draw_tune"):
        try:
            with st.spinner(t("draw.teach.running")):
                rehearsal, check = teaching_data(ckpt.dataset, str(default_data_dir()))
                st.session_state[TUNED] = (
                    ckpt.model,
                    finetune(
                        ckpt,
                        np.stack([img for img, _ in drawings]),
                        [y for _, y in drawings],
                        steps=n_steps,
                        rehearsal=rehearsal,
                        check=check,
                    ),
                )
        except CnnkitError as exc:
            st.error(error_text(exc))
    if TUNED in st.session_state:
        show_tuned(st.session_state[TUNED][1], drawings)


def show_tuned(result, drawings: list) -> None:
    classes = class_names(result.checkpoint.classes, lang())
    labels = [y for _, y in drawings[: len(result.before)]]
    before, after = result.before.argmax(1), result.after.argmax(1)
    st.success(
        t(
            "draw.teach.before_after",
            n=len(labels),
            before=int((before == labels).sum()),
            after=int((after == labels).sum()),
        )
    )
    st.caption(t("draw.teach.params", trainable=num(result.trainable), frozen=num(result.frozen)))
    st.image(
        [charts.picture(img, 56) for img, _ in drawings[: len(labels)]],
        caption=[
            t(
                "draw.teach.item",
                label=classes[y],
                before=f"{classes[b]} {fmt().percent(result.before[i, b], 0)}",
                after=f"{classes[a]} {fmt().percent(result.after[i, a], 0)}",
            )
            for i, (y, b, a) in enumerate(zip(labels, before, after))
        ],
        output_format="PNG",
    )
    if result.checked_on:
        st.markdown(
            t(
                "answers.finetune.checked",
                n=num(result.checked_on),
                before=result.accuracy_before,
                after=result.accuracy_after,
            )
        )
        st.caption(t("answers.finetune.rehearsed", n=num(result.rehearsed)))
    else:
        st.info(t("answers.finetune.unchecked"))
    confirmed = True
    if result.needs_confirmation:
        st.warning(t("answers.finetune.dropped", drop=result.drop))
        confirmed = st.checkbox(t("answers.finetune.confirm_box"), key="draw_keep_anyway")
    keep, discard = st.columns(2)
    keep.button(t("draw.teach.keep"), on_click=keep_tuned, args=(confirmed,), disabled=not confirmed, key="draw_keep")
    if discard.button(t("draw.teach.discard"), key="draw_discard"):
        st.session_state.pop(TUNED)
        st.rerun()


def show_digit(ckpt: Checkpoint, picture: tuple[DigitSteps, np.ndarray] | None, empty_hint: str, answer_box) -> None:
    with answer_box:
        st.subheader(t("draw.answer.title"))
        if picture is None:
            st.info(empty_hint)
            return
        pred = show_answer(ckpt, picture[0], empty_hint)
    if pred:
        show_steps(ckpt, pred, picture[1])
        show_inside(
            ckpt, explain(ckpt, pred.steps.centered), partial(charts.heat_overlay, pred.steps.centered, lang=lang())
        )
        show_overview(ckpt, pred.steps.centered)
        embedmap.drawing_section(ckpt, pred.steps.centered)
        show_teach(ckpt, pred)


# ---------------------------------------------------------------- the three inputs


def clear_canvas() -> None:
    st.session_state["draw_canvas_id"] = st.session_state.get("draw_canvas_id", 0) + 1


def drawing() -> bytes | None:
    """streamlit-drawable-canvas, white ink on black, its toolbar undoing, redoing and resetting strokes; the
    PNG of the drawing, None before the first stroke (raises CnnkitError for a value that is no drawing).
    Its key changes only on Clear: a new stroke width or language keeps the drawing."""
    drawn = st_canvas(
        stroke_width=st.session_state.get("draw_stroke", 20),
        stroke_color="#FFFFFF",
        background_color="#000000",
        width=CANVAS,
        height=CANVAS,
        return_image_data=True,
        key=f"draw_canvas_{st.session_state.get('draw_canvas_id', 0)}",
    )
    return canvas_png(drawn, CANVAS)


@st.fragment
def draw_mode(ckpt: Checkpoint) -> None:
    """The canvas and all that depends on the drawing: a stroke reruns this fragment alone, not the page."""
    left, right = st.columns([2, 3])
    with left:
        try:
            source = drawing()
        except CnnkitError as exc:
            st.error(error_text(exc))
            source = None
        stroke, clear = st.columns([5, 3], vertical_alignment="bottom")
        stroke.slider(t("draw.canvas.stroke"), 6, 40, 20, key="draw_stroke")
        clear.button(t("draw.canvas.clear"), on_click=clear_canvas, key="draw_clear")
        st.caption(t("draw.canvas.toolbar", **subject_words(ckpt)))
    show_digit(
        ckpt,
        read_upload(source, t("draw.canvas.name"), invert=False) if source else None,
        t("draw.answer.empty", **subject_words(ckpt)),
        right,
    )


def upload_mode(ckpt: Checkpoint) -> None:
    left, right = st.columns([2, 3])
    file = left.file_uploader(
        t("draw.upload.label", **subject_words(ckpt)), type=IMAGES, help=t("draw.upload.help"), key="draw_upload"
    )
    if file is None:
        left.caption(t("draw.upload.help"))
        return
    try:
        picture = read_upload(file.getvalue(), file.name)
    except CnnkitError as exc:
        left.error(error_text(exc))
        return
    for code, values in picture[0].notes:
        left.info(t(f"draw.notes.{code}", **values))
    show_digit(ckpt, picture, t("draw.answer.empty_upload", **subject_words(ckpt)), right)


def image_mode(ckpt: Checkpoint, mode: str) -> None:
    """A model of other images than 28×28 digits: an upload, made as its training images were, and its answer."""
    config = ckpt.model_config
    shape = dict(channels=config.in_channels, size=config.image_size)
    left, right = st.columns([2, 3])
    if mode == "draw":
        left.info(t("draw.image.no_canvas", classes=", ".join(shown_classes(ckpt)), **shape))
    file = left.file_uploader(t("draw.image.label", **shape), type=IMAGES, key="draw_image")
    left.caption(t("draw.image.help", **shape))
    if file is None:
        return
    try:
        x = read_image(ckpt, file.getvalue(), file.name)
    except CnnkitError as exc:
        left.error(error_text(exc))
        return
    seen = seen_picture(ckpt, x)
    show_picture(left, charts.picture(seen, 168), t("draw.image.seen", **shape))
    ex = explain_input(ckpt, x)
    prep = weights_preprocessing(ckpt)
    if prep:
        show_picture(left, charts.picture(ex.seen, 168), t("draw.image.prep", **prep))
    with right:
        st.subheader(t("draw.answer.title"))
        show_prediction(ckpt, predict_input(ckpt, x, file.name))
    show_inside(ckpt, ex, partial(charts.photo_heat, seen, lang=lang()))


def photo_mode() -> None:
    st.caption(t("draw.photo.intro"))
    choice, info = st.columns([2, 3], vertical_alignment="bottom")
    model = choice.selectbox(t("draw.photo.model"), MODELS, key="draw_imagenet_model")
    weights = weights_for(model)
    info.caption(t("draw.photo.info", accuracy=weights.accuracy, size=weights.size_mb))
    found = find_weights(model)
    status = st.empty()  # said above the weights controls, once their values are known
    with st.expander(t("draw.photo.own"), expanded=found is None):
        upload = st.file_uploader(
            t("draw.photo.weights_file"),
            type=["pth", "pt", "safetensors"],
            max_upload_size=IMAGENET_WEIGHTS_MB,
            key="draw_imagenet_weights",
        )
        path = st.text_input(t("draw.photo.weights_path"), key="draw_imagenet_path").strip()
    if found:
        status.success(t("draw.photo.found", model=model))
    elif upload or path:
        status.success(t("answers.photo.given", name=upload.name if upload else path))
    else:
        status.warning(t("draw.photo.missing", model=model, url=weights.url, size=weights.size_mb))
    left, right = st.columns([2, 3])
    photo = left.file_uploader(t("draw.photo.file"), type=IMAGES, key="draw_photo")
    if photo is None:
        return
    try:
        preview, notes = open_rgb(photo.getvalue(), photo.name)
    except CnnkitError as exc:
        left.error(error_text(exc))
        return
    for code, values in notes:
        left.info(t(f"draw.notes.{code}", **values))
    preview.thumbnail((320, 320))
    left.image(preview)
    if not (found or upload or path):
        right.warning(t("answers.photo.no_weights", model=model, size=weights.size_mb))
        return
    try:
        weights_file = upload.getvalue() if upload else allowed_path(path) if path else None
        answer = classify_photo(
            model, photo.getvalue(), weights_file, photo.name, upload.name if upload else "", uploads()
        )
    except CnnkitError as exc:
        right.error(error_text(exc))
        return
    right.markdown(f"**{t('draw.photo.top5')}**")
    right.plotly_chart(
        charts.top_bars([name for name, _ in answer.top5], [p for _, p in answer.top5], lang=lang()), key="draw_top5"
    )
    right.caption(t("draw.photo.names"))
    right.image(
        charts.heat_on_photo(answer.crop, answer.gradcam),
        width=280,
        caption=t("answers.photo.gradcam", label=answer.top5[0][0]),
    )


# ---------------------------------------------------------------- the page


def uploads() -> SessionCache:
    """This browser session's models decoded from uploads (the last two)."""
    return st.session_state.setdefault("draw_uploads", SessionCache(2))


st.title(t("draw.title"))
st.markdown(t("draw.intro"))
mode = st.segmented_control(
    t("draw.mode.label"),
    ["draw", "upload", "photo"],
    default="draw",
    required=True,
    format_func=names("draw.mode"),
    key="draw_mode",
)
if mode == "photo":
    photo_mode()
else:
    model = choose_model()
    if model is not None and not takes_digits(model):
        image_mode(model, mode)
    elif model is not None:
        (draw_mode if mode == "draw" else upload_mode)(model)
