"""The training page's filters and maps through the epochs: a run's snapshots (``cnnkit.train.snapshots``) — the
followed test image and the answer for it, the first layer's kernels, the feature maps of its conv blocks — live
while it trains, and after it with a slider and play from epoch 0 (the random start) to the last."""

from __future__ import annotations

import streamlit as st

from cnnkit.data.datasets import class_names
from cnnkit.errors import CnnkitError
from cnnkit.train import snapshot_charts as charts
from cnnkit.train.snapshots import EpochSnapshots
from cnnkit.train.store import Run
from pages.ui import error_text, lang, run_store, t

PLAY_S = 1.0  # one epoch a second while playing
LIVE = {"staticPlot": True}  # while training, pictures: cheaper to redraw


def frame_view(snaps: EpochSnapshots, frame: int, place: str, live: bool = False) -> None:
    """One frame: the image and the answer, the kernels, the maps of each conv block; while live the kernels and
    the maps as pictures (the browser keeps a picture that did not change)."""
    config = LIVE if live else None
    image_col, answer_col, kernels_col = st.columns([1, 2, 2])
    label = class_names(snaps.classes, lang())[snaps.label]
    image_col.image(charts.followed_image(snaps), caption=t("snapshots.image", label=label))
    answer_col.markdown(f"**{charts.answer_text(snaps, frame, lang())}**")
    answer_col.plotly_chart(charts.answer_figure(snaps, frame, lang()), key=f"{place}_snap_answer", config=config)
    if snaps.kernels is None:
        kernels_col.info(t("snapshots.no_kernels"))
    elif live:
        picture, title = charts.kernels_picture(snaps, frame, lang())
        kernels_col.image(picture, caption=title)
    else:
        kernels_col.plotly_chart(charts.kernels_figure(snaps, frame, lang()), key=f"{place}_snap_kernels")
    if live:
        for picture, title in charts.maps_pictures(snaps, frame, lang()):
            st.image(picture, caption=title)
        return
    for i, figure in enumerate(charts.maps_figures(snaps, frame, lang())):
        st.plotly_chart(figure, key=f"{place}_snap_maps_{i}")


def live(run_id: int) -> None:
    """Beside the live charts of a training run (in their fragment): its newest snapshot."""
    try:
        snaps = run_store().snapshots(run_id)
    except CnnkitError:  # being rewritten by another process's older cnnkit, or damaged: the results will say
        snaps = None
    if snaps is not None:
        epoch = snaps.epochs[-1]
        st.caption(t("snapshots.live", epoch=epoch) if epoch else t("snapshots.live_start"))
        frame_view(snaps, len(snaps.epochs) - 1, "live", live=True)


def through_epochs(run: Run, place: str) -> None:
    """A finished run's snapshots with a slider over its epochs and a play switch; a note for a run without
    snapshots, the message for a damaged file."""
    try:
        snaps = run_store().snapshots(run.id)
    except CnnkitError as exc:
        st.warning(error_text(exc))
        return
    if snaps is None:
        st.info(t("snapshots.none"))
        return
    st.caption(t("snapshots.help"))
    play_key = f"{place}_snap_play_{run.id}"
    playing = st.toggle(t("snapshots.play"), key=play_key, help=t("snapshots.play_help")) and len(snaps.epochs) > 1
    st.fragment(_epochs_view, run_every=PLAY_S if playing else None)(snaps, place, run.id, playing)


def _epochs_view(snaps: EpochSnapshots, place: str, run_id: int, playing: bool) -> None:
    key, epochs = f"{place}_snap_epoch_{run_id}", list(snaps.epochs)
    if st.session_state.get(key) not in epochs:
        st.session_state[key] = epochs[-1]
    elif playing:  # the next epoch, from the last back to the start
        st.session_state[key] = epochs[(epochs.index(st.session_state[key]) + 1) % len(epochs)]
    language = lang()
    epoch = st.select_slider(
        t("snapshots.epoch"), epochs, key=key, format_func=lambda e: charts.epoch_label(snaps, e, language)
    )
    frame_view(snaps, epochs.index(epoch), place)
