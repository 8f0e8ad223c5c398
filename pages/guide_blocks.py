"""The guide's Building blocks tab: convolution and pooling step by step on a picture, the output-size
calculator, activations, the receptive field and the notes' experiments. Imported when the tab first opens
(``pages/guide.py``): its figures are computed with torch."""

from functools import partial

import streamlit as st

from cnnkit.errors import CnnkitError
from cnnkit.guide import blocks, charts, convolution
from cnnkit.i18n import text
from cnnkit.nets.builder import ModelConfig
from pages.ui import error_text, lang, latex_number, names, num, t, train_link

# The output-size calculator's inputs: name, smallest, largest, first value.
CALCULATOR = (("n", 1, 4096, 28), ("k", 1, 64, 3), ("s", 1, 16, 1), ("p", 0, 64, 1), ("d", 1, 16, 1))


def chosen_picture():
    sources = list(blocks.PICTURES) + (["mnist"] if blocks.mnist_count() else [])
    source = st.selectbox(
        t("guide.blocks.picture"),
        sources,
        format_func=names("guide.blocks.pictures"),
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
    options = list(blocks.KERNELS) + ["custom"]
    name = st.selectbox(
        t("guide.blocks.kernel"),
        options,
        format_func=names("guide.blocks.kernels"),
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
    """A ``format_func`` for the activation choice, its language fixed (see ``pages.ui.names``)."""
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
            format_func=names("guide.blocks.pools"),
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
