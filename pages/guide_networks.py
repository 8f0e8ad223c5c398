"""The guide's tabs about whole networks: the comparison of every builder, how to choose one, and transfer
learning. Imported when one of them first opens (``pages/guide.py``): they measure networks with torch."""

from functools import partial

import streamlit as st

from cnnkit.errors import CnnkitError
from cnnkit.guide import comparison_charts
from cnnkit.guide.comparison import weights_info
from cnnkit.guide.comparison_charts import compact_text
from cnnkit.guide.registry import CHOICES, builders, is_cnnkit
from cnnkit.guide.snippets import transfer_snippet
from cnnkit.guide.totals import TABLE_DIGITS, comparison, comparison_table, totals
from cnnkit.guide.transfer import transfer_learning
from pages.ui import error_text, fmt, lang, num, on_chart_select, open_card, t, table

# ---------------------------------------------------------------- comparison


def compare() -> None:
    st.markdown(t("guide.compare.intro"))
    with st.spinner(t("guide.compare.measuring", count=len(builders()))):
        rows = comparison()
    for name, build in (
        ("guide_chart_accuracy", comparison_charts.accuracy_vs_compute),
        ("guide_chart_years", comparison_charts.params_by_year),
    ):
        st.plotly_chart(
            build(rows, lang()), key=name, on_select=partial(on_chart_select, name), selection_mode="points"
        )
    st.caption(t("guide.compare.click"))
    digits = {t(f"guide.compare.col_{c}"): partial(num, digits=d) for c, d in TABLE_DIGITS.items() if d is not None}
    table([{t(f"guide.compare.col_{c}"): value for c, value in row.items()} for row in comparison_table(rows)], digits)


# ---------------------------------------------------------------- how to choose


def choose() -> None:
    st.markdown(t("guide.choose.intro"))
    for goal, picks in CHOICES.items():
        goal_col, picks_col = st.columns([2, 3])
        goal_col.markdown(f"**{t(f'guide.choose.{goal}.goal')}**  \n{t(f'guide.choose.{goal}.why')}")
        cells = picks_col.columns(max(len(p) for p in CHOICES.values()))
        for cell, pick in zip(cells, picks):
            if pick.builder:
                f, w = totals(pick.builder), weights_info(pick.builder)
                cell.button(
                    pick.label,
                    key=f"guide_pick_{goal}_{pick.builder}",
                    on_click=open_card,
                    args=(pick.builder,),
                    width="stretch",
                )
                cell.caption(
                    t(
                        "guide.choose.figures",
                        params=compact_text(f.params, lang()),
                        gflops=num(f.gflops, 2),
                        top1=num(w.top1, 1),
                    )
                )
            else:
                cell.markdown(f"**{pick.label}**  \n`{pick.where}`")
        st.divider()


# ---------------------------------------------------------------- transfer learning


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
