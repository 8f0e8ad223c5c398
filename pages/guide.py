"""Architecture guide: a card per architecture with figures computed live, comparisons, how to choose,
building blocks to play with, transfer learning, and how training works."""

from functools import partial

import streamlit as st
from streamlit.errors import StreamlitAPIException

from cnnkit.errors import CnnkitError
from cnnkit.guide import blocks, charts, comparison_charts, convolution
from cnnkit.guide.comparison_charts import compact_text
from cnnkit.guide.layers import TABLE_DEPTH, chain, profile
from cnnkit.guide.meta import default_input_size, min_input_size, weights_info
from cnnkit.guide.registry import (
    ARCHITECTURES,
    CHOICES,
    FIRST_ARCHITECTURE,
    architecture,
    builders,
    is_cnnkit,
)
from cnnkit.guide.snippets import load_snippet, transfer_snippet
from cnnkit.guide.totals import TABLE_DIGITS, comparison, comparison_table, totals
from cnnkit.guide.transfer import transfer_learning
from cnnkit.i18n import text
from cnnkit.nets.builder import ModelConfig
from pages.ui import error_text, fmt, lang, latex_number, num, on_chart_select, open_card, page_navigation, t, table

page_navigation()  # a first request of the server to this page's URL: see pages/ui.py

SECTIONS = ("cards", "compare", "choose", "blocks", "transfer", "training")
# The output-size calculator's inputs: name, smallest, largest, first value.
CALCULATOR = (("n", 1, 4096, 28), ("k", 1, 64, 3), ("s", 1, 16, 1), ("p", 0, 64, 1), ("d", 1, 16, 1))


def labels(prefix: str):
    """A ``format_func`` for options labelled ``<prefix>.<option>``. The language is fixed when it is made,
    so the labels stay right wherever Streamlit calls it (AppTest calls it outside the script run)."""
    chosen = lang()
    return lambda option: text(f"{prefix}.{option}", chosen)


def train_link(label: str) -> None:
    """A link to the training page; plain markdown until that page is in the navigation."""
    try:
        st.page_link("pages/train.py", label=label, icon="🏋️")
    except StreamlitAPIException:
        st.markdown(f"🏋️ [{label}](/train)")


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
    prof = profile(builder, int(size))
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
    st.plotly_chart(charts.architecture_diagram(boxes, lang()), key="guide_diagram")
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


# ---------------------------------------------------------------- building blocks


def chosen_picture():
    sources = list(blocks.PICTURES) + (["mnist"] if blocks.mnist_count() else [])
    source = st.selectbox(
        t("guide.blocks.picture"),
        sources,
        format_func=labels("guide.blocks.pictures"),
        key="guide_picture",
        persist_state="page",
    )
    if source != "mnist":
        return blocks.picture(source)
    index = st.number_input(
        t("guide.blocks.digit_index"), 0, blocks.mnist_count() - 1, 0, key="guide_digit", persist_state="page"
    )
    image, label = blocks.mnist_digit(int(index))
    st.caption(t("guide.blocks.digit_label", label=label))
    return image


def chosen_kernel():
    names = list(blocks.KERNELS) + ["custom"]
    name = st.selectbox(
        t("guide.blocks.kernel"),
        names,
        format_func=labels("guide.blocks.kernels"),
        key="guide_kernel",
        persist_state="page",
    )
    if name != "custom":
        st.session_state["guide_kernel_text"] = blocks.format_kernel(blocks.kernel(name))
        return blocks.kernel(name)
    typed = st.text_area(
        t("guide.blocks.kernel_text"),
        key="guide_kernel_text",
        height=110,
        help=t("guide.blocks.kernel_text_help"),
        persist_state="page",
    )
    return blocks.parse_kernel(typed)


def on_pixel_click(chart_key: str, step_key: str, columns: int) -> None:
    """Callback of a clickable output: the clicked pixel becomes the kernel's position."""
    pixel = convolution.pixel_of(st.session_state[chart_key].selection.points)
    if pixel is not None:
        st.session_state[step_key] = pixel[0] * columns + pixel[1]


FRAME_SECONDS = 0.3  # between two frames of Play


def on_play(prefix: str, last: int) -> None:
    """Callback of Play/Stop: start (from the first position when the window is at the last) or stop."""
    playing = not st.session_state.get(f"{prefix}_playing", False)
    st.session_state[f"{prefix}_playing"] = playing
    if playing and st.session_state[f"{prefix}_step"] == last:
        st.session_state[f"{prefix}_step"] = 0


def frame(prefix: str, shape: tuple[int, int], draw) -> None:
    """The slider that moves the window over the output row by row (a click on the output moves it too),
    and ``draw(step)``: the window at the position kept in ``<prefix>_step``."""
    step_key, slider_key = f"{prefix}_step", f"{prefix}_slider"
    st.session_state[slider_key] = st.session_state[step_key]
    st.slider(
        t("explore.step", count=shape[0] * shape[1]),
        0,
        shape[0] * shape[1] - 1,
        key=slider_key,
        on_change=lambda: st.session_state.update({step_key: st.session_state[slider_key]}),
    )
    draw(st.session_state[step_key])


@st.fragment(run_every=FRAME_SECONDS)
def playing_frame(prefix: str, shape: tuple[int, int], draw) -> None:
    """While Play is on: every ``FRAME_SECONDS`` this fragment alone reruns and moves the window one step,
    so the rest of the page stays responsive; past the last position the page reruns once, which stops the
    timer."""
    step_key = f"{prefix}_step"
    if st.session_state[step_key] >= shape[0] * shape[1] - 1:
        st.session_state[f"{prefix}_playing"] = False
        st.rerun()
    st.session_state[step_key] = convolution.next_step(st.session_state[step_key], shape)
    frame(prefix, shape, draw)


def explorer(prefix: str, output, draw) -> None:
    """Play/Stop and the window over ``output``, opened on its strongest answer. The charts keep their keys
    from frame to frame, so that they are updated in place."""
    last = output.size - 1
    step_key = f"{prefix}_step"
    st.session_state[step_key] = min(max(int(st.session_state.get(step_key, convolution.start_step(output))), 0), last)
    playing = st.session_state.get(f"{prefix}_playing", False)
    st.button(
        t("explore.stop" if playing else "explore.play"),
        key=f"{prefix}_play",
        on_click=on_play,
        args=(prefix, last),
        icon=":material/stop:" if playing else ":material/play_arrow:",
    )
    if playing:
        playing_frame(prefix, output.shape, draw)
    else:
        with st.container():  # where the playing fragment's container is: the charts keep their place
            frame(prefix, output.shape, draw)


def activation_label(chosen_lang: str):
    """A ``format_func`` for the activation choice, its language fixed (see ``labels``)."""
    return lambda k: (
        blocks.ACTIVATIONS[k].name if k in blocks.ACTIVATIONS else text("explore.no_activation", chosen_lang)
    )


def conv_settings() -> dict:
    """Stride, padding, dilation, bias and activation of the convolution demo."""
    return dict(
        stride=st.slider(t("guide.blocks.stride"), 1, 3, 1, key="guide_conv_stride", persist_state="page"),
        padding=st.slider(t("guide.blocks.padding"), 0, 2, 0, key="guide_conv_padding", persist_state="page"),
        dilation=st.slider(
            t("explore.dilation"),
            1,
            3,
            1,
            key="guide_conv_dilation",
            help=t("explore.dilation_help"),
            persist_state="page",
        ),
        bias=st.number_input(t("explore.bias"), -5.0, 5.0, 0.0, 0.1, key="guide_conv_bias", persist_state="page"),
        activation=st.selectbox(
            t("explore.activation"),
            [convolution.NO_ACTIVATION, *blocks.ACTIVATIONS],
            format_func=activation_label(lang()),
            key="guide_conv_activation",
            persist_state="page",
        ),
    )


def conv_panel(step: convolution.ConvStep) -> None:
    """The computation of one output pixel: window values ⊙ kernel = products, their sum, bias, activation."""
    win = step.window
    st.markdown(t("explore.conv_panel", row=win.row, col=win.col))
    cols = st.columns(3)
    for col, values, key in zip(cols, (win.values, step.kernel, step.products), ("patch", "kernel", "products")):
        col.plotly_chart(
            charts.image_figure(values, t(f"explore.{key}"), signed=key != "patch", values=True, height=230),
            key=f"guide_conv_{key}",
        )
    sign = "+" if step.bias >= 0 else "-"
    lines = [
        rf"\sum_{{i,j}} x_{{ij}}\,w_{{ij}} = {latex_number(step.total)}",
        rf"z = {latex_number(step.total)} {sign} {latex_number(abs(step.bias))} = {latex_number(step.before)}",
    ]
    if step.activation != convolution.NO_ACTIVATION:
        name = blocks.ACTIVATIONS[step.activation].name
        lines.append(rf"\mathrm{{{name.split('(')[0]}}}({latex_number(step.before)}) = {latex_number(step.value)}")
    st.latex(r" \qquad ".join(lines))


def conv_explorer(image, weights, settings: dict):
    """The convolution demo: the padded input with the window, the output filling in, the chosen pixel's
    computation; click an output pixel or step through them. Returns the whole output."""
    output = convolution.convolve(image, weights, **settings)
    shape = output.shape

    def draw(step: int) -> None:
        row, col = convolution.position(step, shape)
        computed = convolution.conv_step(image, weights, row, col, **settings)
        left, right = st.columns(2)
        left.plotly_chart(
            charts.window_figure(
                image,
                settings["padding"],
                computed.window,
                t("explore.padded_input", shape=f"{image.shape[0]}×{image.shape[1]}", padding=settings["padding"]),
            ),
            key="guide_conv_window_chart",
        )
        right.plotly_chart(
            charts.clickable_output_figure(
                convolution.filled(output, step), (row, col), t("guide.blocks.output", shape=f"{shape[0]}×{shape[1]}")
            ),
            key="guide_conv_clicks",
            on_select=partial(on_pixel_click, "guide_conv_clicks", "guide_conv_step", shape[1]),
            selection_mode="points",
        )
        conv_panel(computed)

    explorer("guide_conv", output, draw)
    st.caption(t("explore.conv_caption"))
    return output


def pool_panel(step: convolution.PoolStep) -> None:
    win = step.window
    values_col, text_col = st.columns([1, 2], vertical_alignment="center")
    values_col.plotly_chart(
        charts.image_figure(win.values, t("explore.pool_window"), values=True, height=230), key="guide_pool_values"
    )
    k = win.values.size
    if step.kind == "max":
        text_col.markdown(
            t(
                "explore.pool_max",
                row=win.row,
                col=win.col,
                value=num(step.value, 3),
                at=f"({win.rows[step.taken[0]]}, {win.cols[step.taken[1]]})",
            )
        )
    else:
        text_col.markdown(t("explore.pool_avg", row=win.row, col=win.col, count=k))
        text_col.latex(rf"\frac{{{latex_number(float(win.values.sum()))}}}{{{k}}} = {latex_number(step.value)}")


def pool_explorer(source, kind: str, window: int, stride: int) -> None:
    pooled = blocks.pool(source, kind, window, stride)

    def draw(step: int) -> None:
        row, col = convolution.position(step, pooled.shape)
        taken = convolution.pool_step(source, kind, window, row, col, stride)
        left, right = st.columns(2)
        left.plotly_chart(
            charts.window_figure(
                source,
                0,
                taken.window,
                t("guide.blocks.input", shape=f"{source.shape[0]}×{source.shape[1]}"),
                taken=taken.taken,
            ),
            key="guide_pool_window_chart",
        )
        right.plotly_chart(
            charts.clickable_output_figure(
                convolution.filled(pooled, step),
                (row, col),
                t("guide.blocks.output", shape=f"{pooled.shape[0]}×{pooled.shape[1]}"),
                signed=False,
            ),
            key="guide_pool_clicks",
            on_select=partial(on_pixel_click, "guide_pool_clicks", "guide_pool_step", pooled.shape[1]),
            selection_mode="points",
        )
        pool_panel(taken)

    explorer("guide_pool", pooled, draw)


@st.fragment
def convolution_and_pooling() -> None:
    """Both demos in one fragment: a click, a slider or a setting reruns them alone, not the page."""
    st.subheader(t("guide.blocks.conv_title"))
    st.markdown(t("guide.blocks.conv_intro"))
    controls, shown = st.columns([1, 3])
    with controls:
        image = chosen_picture()
        try:
            weights = chosen_kernel()
        except CnnkitError as error:  # the message, and no convolution until the kernel is fixed
            st.error(error_text(error))
            weights = None
        settings = conv_settings()
    conv = None
    if weights is not None:
        with shown:
            try:
                conv = conv_explorer(image, weights, settings)
            except CnnkitError as error:
                st.error(error_text(error))

    st.subheader(t("guide.blocks.pool_title"))
    st.markdown(t("guide.blocks.pool_intro"))
    controls, shown = st.columns([1, 3])
    with controls:
        kind = st.radio(
            t("guide.blocks.pool_kind"),
            list(blocks.POOLS),
            horizontal=True,
            format_func=labels("guide.blocks.pools"),
            key="guide_pool_kind",
            persist_state="page",
        )
        window = st.slider(t("guide.blocks.window"), 2, 4, 2, key="guide_pool_window", persist_state="page")
        stride = st.slider(t("guide.blocks.stride"), 1, 4, 2, key="guide_pool_stride", persist_state="page")
        after_conv = st.checkbox(
            t("guide.blocks.pool_after_conv"),
            help=t("guide.blocks.pool_after_conv_help"),
            key="guide_pool_after_conv",
            persist_state="page",
            disabled=conv is None,
        )
    source = conv.clip(min=0) if after_conv and conv is not None else image
    with shown:
        pool_explorer(source, kind, window, stride)


def output_size_calculator() -> None:
    st.subheader(t("guide.blocks.size_title"))
    st.markdown(t("guide.blocks.size_intro"))
    values = [
        column.number_input(
            name, low, high, start, key=f"guide_calc_{name}", help=t(f"guide.blocks.size_{name}"), persist_state="page"
        )
        for column, (name, low, high, start) in zip(st.columns(len(CALCULATOR)), CALCULATOR)
    ]
    st.latex(blocks.OUTPUT_SIZE_FORMULA)
    try:
        result = blocks.conv_output_size(*values)
    except CnnkitError as error:
        st.error(error_text(error))
        return
    st.latex(blocks.output_size_formula(*values))
    if result.skipped:
        st.info(t("guide.blocks.size_skipped", skipped=result.skipped))


def activations() -> None:
    st.subheader(t("guide.blocks.act_title"))
    keys = st.multiselect(
        t("guide.blocks.act_choose"),
        list(blocks.ACTIVATIONS),
        format_func=lambda k: blocks.ACTIVATIONS[k].name,
        default=["relu", "leakyrelu", "gelu", "tanh"],
        key="guide_acts",
        persist_state="page",
    )
    slope = st.toggle(t("guide.blocks.act_slope"), key="guide_act_slope", persist_state="page")
    st.plotly_chart(
        charts.activations_figure({k: blocks.activation_curve(k) for k in keys}, lang(), slope=slope),
        key="guide_activations",
    )
    st.markdown("\n".join(f"- **{blocks.ACTIVATIONS[k].name}** — {t(f'guide.blocks.acts.{k}')}" for k in keys))


def receptive_field() -> None:
    st.subheader(t("guide.blocks.field_heading"))
    st.markdown(t("guide.blocks.field_intro"))
    cols = st.columns(3)
    config = ModelConfig(
        extra_conv=cols[0].checkbox(t("guide.notes.extra_conv.title"), key="guide_rf_extra", persist_state="page"),
        pooling=not cols[1].checkbox(t("guide.blocks.no_pooling"), key="guide_rf_nopool", persist_state="page"),
        padding=not cols[2].checkbox(t("guide.blocks.no_padding"), key="guide_rf_nopad", persist_state="page"),
    )
    rows = blocks.receptive_field(config)
    picture_col, table_col = st.columns([3, 2])
    image = blocks.mnist_digit(0)[0] if blocks.mnist_count() else blocks.picture("digit", config.image_size)
    picture_col.plotly_chart(charts.receptive_field_figure(image, rows, lang()), key="guide_field")
    layer = {"input": t("guide.blocks.field_input")}
    table_col.dataframe(
        [
            {
                t("guide.card.col_layer"): layer.get(r.layer, r.layer),
                "k": r.kernel,
                "s": r.stride,
                "p": r.padding,
                t("guide.blocks.field_size"): f"{r.size}×{r.size}",
                t("guide.blocks.field_jump"): r.jump,
                t("guide.blocks.field_seen"): f"{r.field}×{r.field}",
            }
            for r in rows
        ],
        hide_index=True,
        column_config={name: st.column_config.NumberColumn(width=32) for name in "ksp"},
    )
    table_col.caption(t("guide.blocks.field_caption", field=rows[-1].field, size=config.image_size))


def notes() -> None:
    st.subheader(t("guide.notes.title"))
    st.markdown(t("guide.notes.intro"))
    for note in ("extra_conv", "pooling", "padding", "extra_fc"):
        with st.expander(t(f"guide.notes.{note}.title")):
            hard, simple = st.columns(2)
            hard.markdown(f"**{t('guide.notes.hard')}**\n\n{t(f'guide.notes.{note}.hard')}")
            simple.markdown(f"**{t('guide.notes.simple')}**\n\n{t(f'guide.notes.{note}.simple')}")
    train_link(t("guide.notes.try_them"))


def building_blocks() -> None:
    st.markdown(t("guide.blocks.intro"))
    for item in t("guide.blocks.glossary"):
        st.markdown(f"- {item}")
    convolution_and_pooling()
    output_size_calculator()
    activations()
    receptive_field()
    notes()


# ---------------------------------------------------------------- transfer learning, training


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


def training() -> None:
    for part in ("how", "where"):
        st.subheader(t(f"guide.training.{part}_title"))
        st.markdown("\n".join(f"- {item}" for item in t(f"guide.training.{part}")))
    st.markdown(t("guide.training.imagenet"))
    train_link(t("guide.training.train_link"))


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
for tab, render in zip(tabs, (architecture_card, compare, choose, building_blocks, transfer, training)):
    if tab.open:
        with tab:
            render()
