"""The training page's collected images (Teachable-Machine style): classes named here, pictures added by upload or
webcam into the chosen class, a grid of each class with a delete button per picture. The files are kept by
``cnnkit.data.collection`` under the run store, in the folder the URL names (``?ds=``); every change is made in a
widget's callback, so the page's run that follows reads the collection as it now is."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from cnnkit.data.collection import (
    MAX_BYTES,
    MAX_IMAGES,
    MAX_NAME,
    MAX_SIDE,
    Added,
    Collection,
    datasets_dir,
    new_id,
    thumbnail,
    valid_id,
)
from cnnkit.data.datasets import Dataset
from cnnkit.data.folders import IMAGE_SUFFIXES, FolderOptions, FolderStats
from cnnkit.errors import CnnkitError
from pages.ui import error_text, keep_in_url, num, t

ID_KEY = "collect_id"
CLASS_KEY = "collect_class"
NOTICE_KEY = "collect_notice"
PER_ROW = 8  # thumbnails in a row of a class's grid
SHOWN = 24  # thumbnails shown per class


def collection() -> Collection:
    """This session's collection: the URL's ``?ds=``, else a new one; kept in the session and the URL."""
    ident = st.session_state.get(ID_KEY) or st.query_params.get("ds", "")
    if not valid_id(ident):
        ident = new_id()
    st.session_state[ID_KEY] = ident
    keep_in_url("ds", ident)
    return Collection(ident)


@st.cache_resource(show_spinner=False, max_entries=2)
def _loaded(base: str, ident: str, signature: tuple, options: FolderOptions, title: str) -> tuple[Dataset, FolderStats]:
    return Collection(ident, Path(base)).load(options, title)


def data(options: FolderOptions) -> tuple[Dataset, FolderStats] | None:
    """The collection as a dataset; None, with what is missing said, until it has two classes of two pictures."""
    found = collection()
    try:
        found.check_ready()
    except CnnkitError as exc:
        st.info(error_text(exc))
        return None
    return _loaded(str(datasets_dir().resolve()), found.id, found.signature(), options, t("collect.title"))


# --- what the controls do (callbacks: they run before the page does) ----------------------------------------------


def _say(kind: str, message: str) -> None:
    st.session_state.setdefault(NOTICE_KEY, []).append((kind, message))


def _current() -> Collection:
    return Collection(st.session_state[ID_KEY])


def _next_widget(name: str) -> None:
    """A fresh upload or camera widget (an empty one, ready for the next pictures)."""
    st.session_state[name] = st.session_state.get(name, 0) + 1


def _add_class() -> None:
    try:
        name = _current().add_class(st.session_state.get("collect_new", ""))
    except CnnkitError as exc:
        _say("error", error_text(exc))
        return
    st.session_state[CLASS_KEY] = name
    st.session_state.pop("collect_new", None)  # the next default name
    _say("success", t("collect.created", name=name))


def _rename() -> None:
    try:
        name = _current().rename_class(st.session_state[CLASS_KEY], st.session_state.get("collect_rename", ""))
    except CnnkitError as exc:
        _say("error", error_text(exc))
        return
    st.session_state[CLASS_KEY] = name
    _say("success", t("collect.renamed", name=name))


def _remove() -> None:
    name = st.session_state[CLASS_KEY]
    try:
        _current().remove_class(name)
    except CnnkitError as exc:
        _say("error", error_text(exc))
        return
    st.session_state.pop(CLASS_KEY, None)
    _say("success", t("collect.removed", name=name))


def _store(files: list, counter: str) -> None:
    """Add the uploaded files (or the webcam's shot) to the chosen class; say what was added and refused."""
    name, result = st.session_state[CLASS_KEY], Added()
    for upload in files:
        try:
            one = _current().add_upload(name, upload.getvalue(), upload.name)
        except CnnkitError as exc:
            one = Added(refused=[(upload.name, exc)])
        result.added += one.added
        result.refused += one.refused
    _next_widget(counter)
    if result.added:
        _say("success", t("collect.added", count=result.added, name=name))
    if result.refused:
        more = len(result.refused) - 1
        _say("error", error_text(result.refused[0][1]) + (f" {t('collect.refused_more', count=more)}" if more else ""))


def _uploaded(key: str) -> None:
    _store(st.session_state.get(key) or [], "collect_uploads")


def _shot(key: str) -> None:
    shot = st.session_state.get(key)
    if shot is not None:
        _store([shot], "collect_shots")


def _delete(name: str, file_name: str) -> None:
    try:
        _current().delete_image(name, file_name)
    except CnnkitError as exc:
        _say("error", error_text(exc))
        return
    _say("success", t("collect.deleted", name=name))


# --- the layout ----------------------------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=2000)
def _thumbnail(path: str, modified: int) -> bytes:
    return thumbnail(Path(path))


def editor() -> None:
    """The collection's controls and its pictures, class by class."""
    found = collection()
    classes = found.classes()
    with st.container(border=True):
        st.subheader(t("collect.title"))
        st.caption(t("collect.intro"))
        for kind, message in st.session_state.pop(NOTICE_KEY, []):
            (st.success if kind == "success" else st.error)(message)
        if "collect_new" not in st.session_state:
            st.session_state["collect_new"] = t("collect.default_name", n=len(classes) + 1)
        name_col, add_col = st.columns([3, 1], vertical_alignment="bottom")
        name_col.text_input(t("collect.new"), key="collect_new", max_chars=MAX_NAME)
        add_col.button(t("collect.add_class"), on_click=_add_class, key="collect_add_class", icon="➕", width="stretch")
        chosen = _chosen_class([c.name for c in classes]) if classes else None
        if chosen:
            _adders()
        _usage(found)
        for index, group in enumerate(classes):
            _grid(group, index)
        if chosen:
            _manage(chosen)
            st.caption(t("collect.cli"))
            st.code(f"python -m cnnkit train --dataset folder --data-dir runs/datasets/{found.id}", language="bash")


def _chosen_class(names: list[str]) -> str:
    """The class that new pictures go into (the newest one at first)."""
    if st.session_state.get(CLASS_KEY) not in names:
        st.session_state[CLASS_KEY] = names[-1]
    return st.radio(t("collect.chosen"), names, key=CLASS_KEY, horizontal=True)


def _manage(chosen: str) -> None:
    """Rename or remove the chosen class (below its pictures: a removal takes them all)."""
    if st.session_state.get("collect_rename_of") != chosen:  # the name field shows the chosen class's name
        st.session_state["collect_rename"] = chosen
        st.session_state["collect_rename_of"] = chosen
    st.markdown(t("collect.manage", name=chosen))
    name_col, rename_col, remove_col = st.columns([3, 1, 1], vertical_alignment="bottom")
    name_col.text_input(t("collect.rename"), key="collect_rename", max_chars=MAX_NAME)
    rename_col.button(t("collect.rename_button"), on_click=_rename, key="collect_rename_class", width="stretch")
    remove_col.button(
        t("collect.remove"),
        on_click=_remove,
        key="collect_remove_class",
        help=t("collect.remove_help"),
        width="stretch",
    )


def _adders() -> None:
    upload_col, camera_col = st.columns(2, gap="large")
    uploads = f"collect_upload_{st.session_state.get('collect_uploads', 0)}"
    upload_col.file_uploader(
        t("collect.upload"),
        type=[s.lstrip(".") for s in sorted(IMAGE_SUFFIXES)] + ["zip"],
        accept_multiple_files=True,
        key=uploads,
        on_change=_uploaded,
        args=(uploads,),
        help=t("collect.upload_help", side=MAX_SIDE),
    )
    shots = f"collect_camera_{st.session_state.get('collect_shots', 0)}"
    camera_col.camera_input(t("collect.camera"), key=shots, on_change=_shot, args=(shots,))


def _usage(found: Collection) -> None:
    images, size = found.usage()
    st.caption(
        t(
            "collect.usage",
            images=num(images),
            max_images=num(MAX_IMAGES),
            mb=num(size / 2**20, 2),
            max_mb=num(MAX_BYTES // 2**20),
        )
    )


def _grid(group, index: int) -> None:
    """A class's pictures as thumbnails, each with its delete button."""
    st.markdown(f"**{group.name}** · {t('collect.count', count=group.count)}")
    if not group.files:
        st.caption(t("collect.empty"))
        return
    shown = group.files[-SHOWN:]
    for start in range(0, len(shown), PER_ROW):
        for col, (place, path) in zip(st.columns(PER_ROW), enumerate(shown[start : start + PER_ROW], start)):
            col.image(_thumbnail(str(path), path.stat().st_mtime_ns), width=72)
            col.button(
                "",
                icon="🗑️",
                key=f"collect_delete_{index * SHOWN + place}",
                on_click=_delete,
                args=(group.name, path.name),
                help=t("collect.delete"),
            )
    if len(group.files) > SHOWN:
        st.caption(t("collect.more", count=len(group.files) - SHOWN))
