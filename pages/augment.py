"""The training page's augmentation settings (``cnnkit.data.augmentation``) and one training image under a dozen
draws of them, before training."""

from __future__ import annotations

import streamlit as st

from cnnkit.data.augmentation import Augmentation, preview
from cnnkit.data.datasets import Dataset
from cnnkit.infer.charts import picture
from pages.ui import t

SLIDERS = {  # setting: (most, step)
    "rotation": (45.0, 5.0),
    "shift": (0.3, 0.02),
    "scale": (0.3, 0.05),
    "shear": (30.0, 5.0),
    "erasing": (1.0, 0.1),
}
COLOUR = {"color_jitter": (0.5, 0.05)}


def settings(dataset: Dataset | None) -> Augmentation:
    """The sliders (flips and colour jitter for colour images), and the grid of their draws on one image."""
    colour = dataset is not None and dataset.info.channels == 3
    with st.expander(t("train.augmentation.title")):
        st.caption(t("train.augmentation.intro"))
        values = {
            name: st.slider(t(f"runs.settings.{name}"), 0.0, most, 0.0, step, key=f"train_aug_{name}")
            for name, (most, step) in (SLIDERS | (COLOUR if colour else {})).items()
        }
        if colour:
            values["flip"] = st.toggle(t("runs.settings.flip"), key="train_aug_flip")
        augmentation = Augmentation(**values)
        if dataset is not None and len(dataset.train):
            image = dataset.train.images[0]
            draws = preview(image, augmentation, seed=st.session_state.get("train_aug_seed", 0))
            st.image([picture(d / 255.0, 56) if d.ndim == 2 else d for d in draws], width=56)
            st.button(
                t("train.augmentation.again"),
                key="train_aug_again",
                on_click=lambda: st.session_state.update(train_aug_seed=st.session_state.get("train_aug_seed", 0) + 1),
            )
    return augmentation
