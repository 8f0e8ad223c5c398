"""The training page's "Your images" data choice: a class folder under the data roots or an uploaded zip,
how the images become tensors, and what was found (counts per class, samples as the network sees them,
warnings)."""

from __future__ import annotations

import streamlit as st

from cnnkit.data import folders
from cnnkit.data.charts import class_counts_figure
from cnnkit.data.datasets import DATASETS, Dataset, default_data_dir, load_dataset
from cnnkit.data.folders import FITS, SIZES, FolderOptions, FolderStats, load_folder, load_zip, samples
from cnnkit.errors import CnnkitError
from cnnkit.paths import allowed_path
from pages import collect
from pages.ui import error_text, lang, names, num, t

SHOWN_CLASSES = 12  # sample rows shown
PER_CLASS = 10


@st.cache_resource(show_spinner=False, max_entries=4)
def from_folder(path: str, options: FolderOptions) -> tuple[Dataset, FolderStats]:
    return load_folder(allowed_path(path, "folder"), options)


@st.cache_resource(show_spinner=False, max_entries=2)
def from_zip(data: bytes, name: str, options: FolderOptions) -> tuple[Dataset, FolderStats]:
    return load_zip(data, name, options)


def options() -> FolderOptions:
    size_col, channels_col = st.columns(2)
    size = size_col.selectbox(
        t("build.data.size"), SIZES, index=SIZES.index(32), key="train_image_size", format_func=lambda s: f"{s}×{s}"
    )
    channels = channels_col.selectbox(
        t("build.data.channels"), ("auto", 1, 3), key="train_channels", format_func=names("build.data.channels", "_")
    )
    fit = st.radio(
        t("build.data.fit"),
        FITS,
        key="train_fit",
        format_func=names("build.data.fit", "_"),
        help=t("build.data.fit_help"),
        horizontal=True,
    )
    return FolderOptions(
        size=size,
        channels=None if channels == "auto" else channels,
        fit=fit,
        seed=st.session_state.get("train_seed", 0),
    )


def folder_data() -> Dataset | None:
    """The folder or zip the user chose, loaded; None (with the reason shown) until it is usable."""
    where = st.radio(
        t("build.data.where"),
        ("folder", "zip", "collect"),
        horizontal=True,
        key="train_images_from",
        format_func=names("build.data.from", "_"),
    )
    chosen = options()
    st.session_state["train_folder_options"] = chosen
    st.session_state.pop("train_folder_stats", None)
    try:
        with st.spinner(t("build.data.loading")):
            if where == "folder":
                path = st.text_input(
                    t("build.data.path"), key="train_images_path", help=t("build.data.path_help")
                ).strip()
                if not path:
                    st.info(t("build.data.path_needed"))
                    return None
                dataset, stats = from_folder(path, chosen)
                st.session_state["train_data_dir"] = path
            elif where == "collect":
                collected = collect.data(chosen)
                if collected is None:
                    return None
                dataset, stats = collected
                st.session_state["train_data_dir"] = str(collect.collection().root.resolve())
            else:
                limits = t(
                    "build.data.limits",
                    mb=folders.MAX_ZIP_BYTES // 2**20,
                    files=num(folders.MAX_FILES),
                    pixels=folders.MAX_PIXELS_IN_ALL // 10**6,
                )
                upload = st.file_uploader(
                    t("build.data.zip"),
                    type=["zip"],
                    key="train_images_zip",
                    help=limits,
                    max_upload_size=folders.MAX_ZIP_BYTES // 2**20,  # the server's 30 MB is for one picture
                )
                st.caption(limits)
                if upload is None:
                    return None
                dataset, stats = from_zip(upload.getvalue(), upload.name, chosen)
                st.session_state["train_data_dir"] = None
    except CnnkitError as exc:
        st.error(error_text(exc))
        return None
    st.session_state["train_folder_stats"] = stats
    st.caption(
        t(
            "build.data.found",
            classes=len(stats.classes),
            train=num(len(dataset.train)),
            test=num(len(dataset.test)),
            channels=t(f"build.data.channels_{dataset.info.channels}"),
        )
    )
    return dataset


def collecting() -> bool:
    """Whether the training page collects the user's pictures (then it shows ``collect.editor``)."""
    return st.session_state.get("train_dataset") == "folder" and st.session_state.get("train_images_from") == "collect"


def reopen_collection() -> None:
    """A new session whose URL names a collection (``?ds=``: a reload, a bookmark) opens on it."""
    if "train_dataset" not in st.session_state and st.query_params.get("ds"):
        st.session_state["train_dataset"] = "folder"
        st.session_state["train_images_from"] = "collect"


def overview(dataset: Dataset) -> None:
    """Before training: the images per class, samples as the network sees them, and the warnings."""
    stats: FolderStats | None = st.session_state.get("train_folder_stats")
    if stats is None:
        return
    with st.expander(t("build.data.overview", name=dataset.info.title), expanded=True):
        for code, values in stats.warnings:
            st.warning(t(f"build.warn.{code}", **values))
        if stats.skipped:
            st.caption(" · ".join(f"{name}: {t(f'build.skip.{reason}')}" for name, reason in stats.skipped[:5]))
        chart_col, samples_col = st.columns([2, 3], gap="large")
        chart_col.plotly_chart(class_counts_figure(stats, lang()), key="build_counts")
        with samples_col:
            st.caption(t("build.data.samples", size=dataset.info.size))
            for name, images in list(samples(dataset, PER_CLASS).items())[:SHOWN_CLASSES]:
                label_col, images_col = st.columns([1, 5], vertical_alignment="center")
                label_col.markdown(f"**{name}**")
                if images:
                    images_col.image(images, width=40)


def run_data(run) -> Dataset:
    """A stored folder run's data again (its folder read as it was), for its mistakes; an error for a zip."""
    saved = run.config.get("folder")
    if not run.config.get("data_dir") or not saved:
        raise CnnkitError("build.folder.no_classes")
    return from_folder(run.config["data_dir"], FolderOptions(**saved))[0]


def run_classes(run) -> list[str] | None:
    """The class names of a stored folder run, from its data when it can be read again."""
    try:
        return list(run_data(run).info.classes)
    except CnnkitError:
        return None


@st.cache_resource(show_spinner=False, max_entries=2)
def named_data(name: str | None, folder: str) -> Dataset:
    """A known dataset (or custom IDX data: ``name`` None) from ``folder``, without downloading."""
    return load_dataset(name, folder, False, progress=lambda message: None)


def run_dataset(run) -> Dataset:
    """A stored run's data again: its class folder, or its IDX data (custom IDX data by whatever its folder
    holds); a CnnkitError when it is not on this machine."""
    if run.dataset == "folder":
        return run_data(run)
    named = run.config.get("dataset")
    return named_data(named if named in DATASETS else None, run.config.get("data_dir") or str(default_data_dir()))
