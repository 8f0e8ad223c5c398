"""The guide's Transfer learning tab: what the recipe trains and freezes in a chosen torchvision network, and the
code. Imported when the tab first opens (``pages/guide.py``): the recipe is done on ``meta`` with torch."""

import streamlit as st

from cnnkit.errors import CnnkitError
from cnnkit.guide.registry import builders, is_cnnkit
from cnnkit.guide.snippets import transfer_snippet
from cnnkit.guide.transfer import transfer_learning
from pages.ui import error_text, fmt, num, t


def transfer() -> None:
    st.markdown(t("guide.transfer.intro"))
    st.markdown("\n".join(f"{i}. {step}" for i, step in enumerate(t("guide.transfer.steps"), 1)))
    tv = [b for b in builders() if not is_cnnkit(b)]
    left, right = st.columns(2)
    builder = left.selectbox(
        t("guide.transfer.model"), tv, index=tv.index("resnet50"), key="guide_tl_model", persist_state="page"
    )
    classes = right.number_input(
        t("guide.transfer.classes"), 1, 100_000, 10, key="guide_tl_classes", persist_state="page"
    )
    try:
        plan = transfer_learning(builder, int(classes))
    except CnnkitError as error:
        st.error(error_text(error))
        return
    cols = st.columns(4)
    cols[0].metric(t("guide.transfer.trainable"), num(plan.trainable))
    cols[1].metric(t("guide.transfer.frozen"), num(plan.frozen))
    cols[2].metric(t("guide.transfer.total"), num(plan.total))
    cols[3].metric(t("guide.transfer.share"), fmt().percent(plan.trainable / plan.total, 3))
    st.caption(t("guide.transfer.head", head=plan.head, in_features=plan.in_features, classes=plan.num_classes))
    st.code(transfer_snippet(plan), language="python")
    st.markdown(t("guide.transfer.after"))
