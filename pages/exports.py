"""The download buttons that take a finished run out of cnnkit: its PyTorch script, its weights, TorchScript and
ONNX (the bytes made by ``cnnkit.train.export`` when a button is clicked)."""

from __future__ import annotations

from functools import partial

import streamlit as st

from cnnkit.train.export import export_problem, export_run, file_name
from cnnkit.train.store import Run
from pages.ui import error_text, lang, run_store, t

OFFERED = ("py", "safetensors", "torchscript", "onnx")  # the checkpoint (.pt) has its own button beside the run
MIME = {"py": "text/x-python"}


@st.cache_data(show_spinner=False, max_entries=64)
def _problem(root: str, run_id: int, finished: float | None, fmt: str, language: str) -> str | None:
    """Why the run cannot be exported as ``fmt``, in words; None when it can."""
    problem = export_problem(run_store(), run_id, fmt)
    return error_text(problem) if problem else None


def downloads(run: Run, place: str) -> None:
    """A button per format beside a run with a model (``place``: the tab that shows them, for unique keys)."""
    if not run.has_model:
        return
    st.caption(f"**{t('export.page.title')}** · {t('export.page.help')}")
    problems = {fmt: _problem(str(run_store().root), run.id, run.finished, fmt, lang()) for fmt in OFFERED}
    for fmt, column in zip(OFFERED, st.columns(len(OFFERED))):
        column.download_button(
            t(f"export.page.{fmt}"),
            partial(export_run, run_store(), run.id, fmt),
            file_name=file_name(run.id, fmt),
            mime=MIME.get(fmt, "application/octet-stream"),
            disabled=problems[fmt] is not None,
            help=problems[fmt] or t(f"export.page.{fmt}_help"),
            key=f"{place}_export_{fmt}_{run.id}",
            on_click="ignore",
            icon="📦",
        )
    blocked = next((reason for reason in problems.values() if reason), None)
    if blocked:
        st.caption(blocked)  # a sentence saying what is not offered, and why
