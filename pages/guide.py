"""Architecture guide: a card per architecture with its figures, comparisons, how to choose, building blocks
to play with, transfer learning, and how training works.

The cards, the comparison, the picks and the training notes draw from the shipped figures
(``cnnkit.guide.precomputed``) without torch, so that a first visit does not wait for its import (~4 s on 2 cores
with torchvision); the building blocks and transfer learning compute with torch, in their own modules imported
when their tab first opens."""

import importlib
from functools import partial

import streamlit as st

from cnnkit.guide import comparison_charts, diagram
from cnnkit.guide.comparison import (
    TABLE_DIGITS,
    comparison,
    comparison_table,
    default_input_size,
    min_input_size,
    weights_info,
)
from cnnkit.guide.comparison_charts import compact_text
from cnnkit.guide.profiles import TABLE_DEPTH, chain, profile
from cnnkit.guide.registry import ARCHITECTURES, CHOICES, FIRST_ARCHITECTURE, architecture, builders, is_cnnkit
from cnnkit.guide.snippets import load_snippet
from pages.ui import fmt, lang, num, on_chart_select, open_card, page_navigation, t, table, train_link

page_navigation()  # a first request of the server to this page's URL: see pages/ui.py

SECTIONS = ("cards", "compare", "choose", "blocks", "transfer", "training")


# ---------------------------------------------------------------- the card


def arch_label(key: str) -> str:
    """Language-neutral, so that the pills keep their value when the language changes."""
    a = ARCHITECTURES[key]
    return f"{a.title} · {a.year}" if a.year else a.title


def architecture_card() -> None:
    st.session_state.setdefault("guide_arch", FIRST_ARCHITECTURE)
    key = st.pills(
        t("guide.card.choose"),
        list(ARCHITECTURES),
        format_func=arch_label,
        key="guide_arch",
        required=True,
        persist_state="page",
    )
    arch = architecture(key)
    if st.session_state.get("guide_variant") not in arch.variants:
        st.session_state["guide_variant"] = arch.default
    left, middle, right = st.columns(3)
    builder = left.selectbox(t("guide.card.variant"), list(arch.variants), key="guide_variant", persist_state="page")
    size = middle.number_input(
        t("guide.card.input_size"),
        min_value=min_input_size(builder),
        max_value=1024,
        step=16,
        value=default_input_size(builder),
        key=f"guide_size_{builder}",
        disabled=is_cnnkit(builder),
        help=t("guide.card.input_size_help", size=default_input_size(builder)),
        persist_state="page",
    )
    depth = right.slider(
        t("guide.card.depth"),
        1,
        TABLE_DEPTH,
        2,
        key="guide_depth",
        help=t("guide.card.depth_help"),
        persist_state="page",
    )
    with st.spinner(t("guide.card.measuring", builder=builder, size=int(size))):  # shown only when it is slow:
        prof = profile(builder, int(size))  # another size than the shipped one is measured, with torch
    card_figures(arch, builder, prof)
    card_facts(arch, builder)
    card_structure(prof, depth)


def card_figures(arch, builder: str, prof) -> None:
    """The card's title and its numbers: computed ones, then those of the weights' metadata."""
    fig, info = prof.totals, weights_info(builder)
    st.header(arch.title)
    if arch.year:
        st.caption(t("guide.card.byline", year=arch.year, authors=arch.authors, paper=arch.paper))
    cols = st.columns(4)
    cols[0].metric(t("guide.card.params"), num(fig.params), help=t("guide.card.params_help"))
    cols[1].metric(t("guide.card.gmacs"), compact_text(fig.macs, lang()), help=t("guide.card.gmacs_help"))
    cols[2].metric(t("guide.card.gflops"), compact_text(2 * fig.macs, lang()), help=t("guide.card.gflops_help"))
    cols[3].metric(t("guide.card.input"), "×".join(map(str, prof.input_shape[1:])))
    if not info:
        st.caption(t("guide.card.no_weights"))
        train_link(t("guide.card.train_it"))
        return
    cols = st.columns(4)
    cols[0].metric(t("guide.card.top1"), fmt().percent(info.top1 / 100))
    cols[1].metric(t("guide.card.top5"), fmt().percent(info.top5 / 100))
    cols[2].metric(t("guide.card.file"), t("guide.card.megabytes", mb=num(info.file_mb, 1)))
    cols[3].metric(t("guide.card.min_size"), f"{info.min_size}×{info.min_size}", help=t("guide.card.min_size_help"))
    if fig.input_size == info.input_size:
        same = info.num_params == fig.params and round(fig.gmacs, 3) == info.gmacs
        st.caption(
            t(
                "guide.card.cross_check" if same else "guide.card.cross_check_differs",
                weights=f"{info.enum}.{info.member}",
                params=num(info.num_params),
                ops=info.gmacs,
            )
        )


def card_facts(arch, builder: str) -> None:
    """What the architecture is about, where to get it, and the code that loads it."""
    text_col, code_col = st.columns(2)
    with text_col:
        st.markdown(f"**{t('guide.card.idea')}** {t(f'guide.arch.{arch.key}.idea')}")
        st.markdown(f"**{t('guide.card.features')}**")
        st.markdown("\n".join(f"- {item}" for item in t(f"guide.arch.{arch.key}.features")))
        st.markdown(f"**{t('guide.card.uses')}** {t(f'guide.arch.{arch.key}.uses')}")
        st.info(t(f"guide.arch.{arch.key}.note"), icon="📝")
    with code_col:
        libraries = ({} if is_cnnkit(builder) else {"torchvision": ", ".join(arch.variants)}) | arch.libraries
        st.markdown(f"**{t('guide.card.libraries')}**")
        st.markdown(
            "\n".join(f"- **{lib}**: `{names}`" for lib, names in libraries.items())
            if libraries
            else t("guide.card.no_library")
        )
        st.markdown(f"**{t('guide.card.snippet')}**")
        st.code(load_snippet(builder), language="python", wrap_lines=True)
        if is_cnnkit(builder):
            st.caption(t("guide.card.cnnkit_builder", builder=builder))


def card_structure(prof, depth: int) -> None:
    """The block diagram and the layer table."""
    st.subheader(t("guide.card.diagram"))
    boxes = chain(prof)
    st.plotly_chart(diagram.architecture_diagram(boxes, lang()), key="guide_diagram")
    unused = prof.totals.params - sum(b.params for b in boxes)
    if unused:
        st.caption(t("guide.card.unused_params", params=num(unused)))
    st.subheader(t("guide.card.layers"))
    table(
        [
            {
                t("guide.card.col_layer"): layer.name,
                t("guide.card.col_type"): layer.type,
                t("guide.card.col_shape"): "×".join(map(str, layer.output_shape[1:])),
                t("guide.card.col_params"): layer.params,
                t("guide.card.col_macs"): layer.macs,
            }
            for layer in prof.table(depth)
        ],
        height=320,
    )


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
    rows = {row.totals.builder: row for row in comparison()}
    for goal, picks in CHOICES.items():
        goal_col, picks_col = st.columns([2, 3])
        goal_col.markdown(f"**{t(f'guide.choose.{goal}.goal')}**  \n{t(f'guide.choose.{goal}.why')}")
        cells = picks_col.columns(max(len(p) for p in CHOICES.values()))
        for cell, pick in zip(cells, picks):
            if pick.builder:
                figures = rows[pick.builder]
                f, w = figures.totals, figures.weights
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


# ---------------------------------------------------------------- training


def training() -> None:
    for part in ("how", "where"):
        st.subheader(t(f"guide.training.{part}_title"))
        st.markdown("\n".join(f"- {item}" for item in t(f"guide.training.{part}")))
    st.markdown(t("guide.training.imagenet"))
    train_link(t("guide.training.train_link"))


def lazily(module: str, name: str):
    """A tab drawn by ``module.name``, imported when the tab first opens."""
    return lambda: getattr(importlib.import_module(module), name)()


# ---------------------------------------------------------------- the page

st.title(t("guide.title"))
st.markdown(t("guide.intro"))
tab_labels = {s: t(f"guide.tabs.{s}") for s in SECTIONS}
# The tabs keep their label in the session; after a language switch the old label is unknown, so the
# section is remembered by its id as well.
section = next(
    (s for s, label in tab_labels.items() if label == st.session_state.get("guide_tab")),
    st.session_state.get("guide_section", SECTIONS[0]),
)
st.session_state["guide_section"] = section
st.session_state["guide_tab"] = tab_labels[section]
tabs = st.tabs(list(tab_labels.values()), key="guide_tab", on_change="rerun")
renders = (
    architecture_card,
    compare,
    choose,
    lazily("pages.guide_blocks", "building_blocks"),
    lazily("pages.guide_transfer", "transfer"),
    training,
)
for tab, render in zip(tabs, renders):
    if tab.open:
        with tab:
            render()
