"""The drawing canvas: a small Streamlit component (``pages/canvas_frontend/index.html``) that sends the
drawing the moment a stroke ends. streamlit-drawable-canvas waited 200 ms after every stroke before sending."""
from __future__ import annotations

from pathlib import Path

import streamlit.components.v1 as components

from cnnkit.data.images import canvas_png
from pages.ui import t

_canvas = components.declare_component("cnnkit_canvas", path=str(Path(__file__).with_name("canvas_frontend")))


def drawing_canvas(*, stroke: int, size: int, key: str, words: dict[str, str]) -> bytes | None:
    """A ``size``×``size`` black canvas drawn on in white with a ``stroke``-pixel pen, undo and redo under it;
    the PNG of the drawing, None while it is empty (raises CnnkitError for a value that is no drawing).
    ``words``: what the model's pictures show (``pages.draw.subject_words``)."""
    labels = {name: t(f"draw.canvas.{name}", **words) for name in ("undo", "undo_help", "redo", "redo_help", "canvas")}
    return canvas_png(_canvas(stroke=stroke, size=size, labels=labels, key=key, default=None))
