"""The map of the test images (``cnnkit.infer.embedding``): on a stored run's results, the first and last
epochs side by side; on the drawing page, with the drawing placed on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from cnnkit.data.datasets import DATASETS, Dataset, class_names, default_data_dir
from cnnkit.data.preprocess import normalize
from cnnkit.errors import CnnkitError
from cnnkit.infer.charts import images_map_figure, picture
from cnnkit.infer.embedding import (
    METHODS,
    NEIGHBOURS,
    TSNE_JOBS,
    FeatureMap,
    cached_map,
    load_map,
    map_file,
    picked_point,
    place_input,
    with_tsne,
)
from cnnkit.nets.checkpoints import DEFAULT_CHECKPOINT, Checkpoint
from cnnkit.train.store import Run
from pages import images
from pages.ui import error_text, lang, names, num, run_store, t


def method_choice(key: str) -> str:
    return st.segmented_control(
        t("embedding.method"),
        METHODS,
        default="pca",
        required=True,
        format_func=names("embedding.methods"),
        key=key,
        help=t("embedding.method_help"),
    )


@st.fragment(run_every=1)
def tsne_progress(path: Path) -> None:
    """The background t-SNE's progress, redrawn every second; the page again once it has ended."""
    state = TSNE_JOBS.state(path)
    if state is None or state.status != "running":
        st.rerun()
    st.progress(state.fraction, text=t("embedding.computing", images=num(state.points), seconds=num(state.seconds, 0)))


def show_map(
    fmap: FeatureMap, path: Path | None, method: str, classes: list[str], title: str, key: str, placed=None
) -> tuple[FeatureMap, int | None]:
    """One map; t-SNE from its file, or the PCA map while it is computed. The map shown and the point clicked."""
    if method == "tsne" and path is not None:
        fmap, state = with_tsne(path, fmap)
        if state is not None and state.status == "failed":
            st.warning(t("embedding.failed"))
        elif state is not None:
            tsne_progress(path)
    shown = method if fmap.coords(method) is not None else "pca"
    heading = t(
        "embedding.map_title",
        method=t(f"embedding.methods.{shown}"),
        images=num(len(fmap.labels)),
        wrong=num(int(fmap.wrong.sum())),
    )
    figure = images_map_figure(
        fmap.coords(shown),
        fmap.labels,
        fmap.answers,
        classes,
        f"{title}<br><sup>{heading}</sup>" if title else heading,
        placed=placed(fmap, shown) if placed else None,
        lang=lang(),
    )
    event = st.plotly_chart(figure, on_select="rerun", selection_mode="points", key=key)
    return fmap, picked_point(event.selection.points if event else [])


def show_picked(fmap: FeatureMap, at: int | None, data: Dataset, classes: list[str]) -> None:
    if at is None:
        return
    image = data.test.images[int(fmap.indices[at])].numpy()
    image = image.transpose(1, 2, 0) if image.ndim == 3 else image
    st.image(
        picture(image / 255.0, 112) if image.ndim == 2 else image,
        caption=t(
            "embedding.picked",
            index=num(int(fmap.indices[at])),
            label=classes[fmap.labels[at]],
            answer=classes[fmap.answers[at]],
        ),
    )


@st.cache_resource(show_spinner=False, max_entries=4)
def run_model(run_id: int, finished: float | None) -> Checkpoint:
    return run_store().load(run_id)


def run_section(run: Run, classes: list[str], place: str) -> None:
    """A stored run's map: after the first and after the last epoch side by side where the run kept both."""
    st.caption(t("embedding.intro"))
    if not st.toggle(t("embedding.show"), key=f"{place}_map_show"):
        return
    try:
        data = images.run_dataset(run)
    except CnnkitError:
        st.info(t("embedding.no_data"))
        return
    store = run_store()
    try:
        source = store.checkpoint_path(run.id)
        ckpt = run_model(run.id, run.finished)
        with st.spinner():
            last = cached_map(
                map_file(store.folder(run.id), source.stem), source, ckpt.model, data.test, ckpt.mean, ckpt.std
            )
    except CnnkitError as exc:
        st.info(error_text(exc))
        return
    method = method_choice(f"{place}_map_method")
    first_path = map_file(store.folder(run.id), "epoch1")
    first = load_map(first_path) if len(run.epochs) > 1 else None
    picked = None
    if first is not None:
        left, right = st.columns(2)
        with left:
            first, at = show_map(first, first_path, method, classes, t("embedding.first"), f"{place}_map_first")
            picked = (first, at) if at is not None else picked
        target = right
    else:
        target = st.container()
        if len(run.epochs) > 1:
            st.caption(t("embedding.no_first"))
    with target:
        title = t("embedding.last", epochs=num(len(run.epochs))) if first is not None else ""
        path = map_file(store.folder(run.id), source.stem)
        last, at = show_map(last, path, method, classes, title, f"{place}_map_last")
        picked = (last, at) if at is not None else picked
    if picked:
        show_picked(*picked, data, classes)


def drawing_source(ckpt: Checkpoint) -> tuple[Dataset, Path, Path]:
    """The data, map file and checkpoint file of the drawing page's model (the shipped one or a stored run)."""
    choice = st.session_state.get("draw_model", "shipped")
    store = run_store()
    if choice.startswith("run:"):
        run = store.get(choice.removeprefix("run:"))
        source = store.checkpoint_path(run.id)
        return images.run_dataset(run), map_file(store.folder(run.id), source.stem), source
    name = ckpt.dataset if ckpt.dataset in DATASETS else None
    return images.named_data(name, str(default_data_dir())), store.root / "maps" / "shipped.npz", DEFAULT_CHECKPOINT


def drawing_section(ckpt: Checkpoint, image28: np.ndarray) -> None:
    """The drawing placed on the map of its model's test images."""
    if not st.toggle(t("embedding.draw_title"), key="draw_map_show"):
        return
    if st.session_state.get("draw_model") == "upload":
        st.caption(t("embedding.no_upload"))
        return
    try:
        data, path, source = drawing_source(ckpt)
    except CnnkitError:
        st.info(t("embedding.no_data"))
        return
    try:
        with st.spinner():
            fmap = cached_map(path, source, ckpt.model, data.test, ckpt.mean, ckpt.std)
    except CnnkitError as exc:
        st.info(error_text(exc))
        return
    method = method_choice("draw_map_method")
    x = normalize(image28, ckpt.mean, ckpt.std)
    st.caption(t("embedding.placed_pca" if method == "pca" else "embedding.placed_tsne", neighbours=NEIGHBOURS))
    classes = class_names(ckpt.classes, lang())
    fmap, at = show_map(
        fmap, path, method, classes, "", "draw_map", placed=lambda m, shown: place_input(m, ckpt.model, x, shown)
    )
    show_picked(fmap, at, data, classes)
