"""The training page's network builder: the layer list as rows of controls, a live table of shapes,
parameters and multiply–adds, the chain-of-blocks diagram, and the invalid layer with its reason.

The list lives in ``st.session_state["build_layers"]`` as plain dicts with a stable ``id`` each, so a row's
controls keep their values when rows move.
"""

from __future__ import annotations

import streamlit as st

from cnnkit.errors import CnnkitError
from cnnkit.guide.diagram import architecture_diagram
from cnnkit.guide.profiles import plan_chain
from cnnkit.nets.builder import NETWORK_PRESETS, ModelConfig, preset_spec
from cnnkit.nets.layers import KINDS, MOST_WHOLE, Plan, make_layer, parse_spec, plan, to_compact
from pages.ui import error_text, lang, names, num, t

LAYERS = "build_layers"
OPTIONAL = {"stride": "build.ui.same_as_window", "out": "build.ui.classes"}  # empty means …


def _rows(spec) -> list[dict]:
    start = st.session_state.get("build_next_id", 0)
    st.session_state["build_next_id"] = start + len(spec)
    return [{"id": start + i, "type": layer.type, **dict(layer.values)} for i, layer in enumerate(spec)]


def fill(name: str, size: int) -> None:
    """Replace the list with a preset network's layers."""
    fill_spec(preset_spec(name, size))


def fill_spec(spec) -> None:
    """Replace the list with ``spec``'s layers; "Start from" names the preset that is this layer list."""
    st.session_state[LAYERS] = _rows(spec)
    named = [name for name, config in NETWORK_PRESETS.items() if config.layers == spec]
    if named:
        st.session_state["build_preset"] = named[0]


def _fill_chosen(size: int) -> None:
    fill(st.session_state["build_preset"], size)


def _read_typed() -> None:
    """Replace the list with the typed compact or JSON form (a message when it cannot be read)."""
    try:
        st.session_state[LAYERS] = _rows(parse_spec(st.session_state.get("build_typed", "")))
        st.session_state.pop("build_typed_error", None)
    except CnnkitError as exc:
        st.session_state["build_typed_error"] = exc


def _move(index: int, step: int) -> None:
    rows = st.session_state[LAYERS]
    other = index + step
    if 0 <= other < len(rows):
        rows[index], rows[other] = rows[other], rows[index]


def _remove(index: int) -> None:
    del st.session_state[LAYERS][index]


def _add() -> None:
    """Add the chosen layer type before the last layer (the class scores), or at the end."""
    rows = st.session_state[LAYERS]
    kind = st.session_state["build_add_type"]
    defaults = {
        "conv": {"out": 16, "kernel": 3, "padding": 1},
        "maxpool": {"kernel": 2},
        "avgpool": {"kernel": 2},
        "linear": {"out": 64},
    }.get(kind, {})
    row = {"id": st.session_state.get("build_next_id", 0), "type": kind, **dict(make_layer(kind, **defaults).values)}
    st.session_state["build_next_id"] = row["id"] + 1
    at = len(rows) - 1 if rows and rows[-1]["type"] == "linear" else len(rows)
    rows.insert(at, row)


def _retype(index: int) -> None:
    """A row whose type changed starts from that type's defaults."""
    row = st.session_state[LAYERS][index]
    kind = st.session_state[f"build_type_{row['id']}"]
    defaults = {"conv": {"out": 16, "kernel": 3}, "maxpool": {"kernel": 2}, "avgpool": {"kernel": 2}}.get(kind, {})
    st.session_state[LAYERS][index] = {"id": row["id"], "type": kind, **dict(make_layer(kind, **defaults).values)}
    for name in ("out", "kernel", "stride", "padding", "p", "slope"):
        st.session_state.pop(f"build_{row['id']}_{name}", None)


def _value_input(row: dict, name: str, where) -> None:
    key = f"build_{row['id']}_{name}"
    if key not in st.session_state:
        st.session_state[key] = row.get(name)
    label = t(f"build.settings.{name}")
    if name in ("p", "slope"):
        row[name] = where.number_input(label, 0.0, 0.99 if name == "p" else 10.0, step=0.05, key=key, format="%.2f")
    else:
        low = 0 if name == "padding" else 1
        row[name] = where.number_input(
            label, low, MOST_WHOLE, step=1, key=key, placeholder=t(OPTIONAL[name]) if name in OPTIONAL else None
        )


def editor() -> list[dict]:
    """One row of controls per layer: its type, its settings, and buttons to move or remove it."""
    rows = st.session_state[LAYERS]
    kinds = list(KINDS)
    for i, row in enumerate(rows):
        cols = st.columns([0.6, 2.1, 1.5, 1.1, 0.9, 1.1, 0.5, 0.5, 0.5], vertical_alignment="bottom")
        cols[0].markdown(f"**{i + 1}**")
        cols[1].selectbox(
            t("build.ui.type"),
            kinds,
            index=kinds.index(row["type"]),
            key=f"build_type_{row['id']}",
            format_func=lambda k: KINDS[k].label,
            on_change=_retype,
            args=(i,),
            label_visibility="visible" if i == 0 else "collapsed",
        )
        for name, col in zip(KINDS[row["type"]].settings, cols[2:6]):
            _value_input(row, name, col)
        cols[6].button(
            "",
            icon=":material/arrow_upward:",
            key=f"build_up_{row['id']}",
            on_click=_move,
            args=(i, -1),
            disabled=i == 0,
            help=t("build.ui.up"),
        )
        cols[7].button(
            "",
            icon=":material/arrow_downward:",
            key=f"build_down_{row['id']}",
            on_click=_move,
            args=(i, 1),
            disabled=i == len(rows) - 1,
            help=t("build.ui.down"),
        )
        cols[8].button(
            "",
            icon=":material/close:",
            key=f"build_remove_{row['id']}",
            on_click=_remove,
            args=(i,),
            help=t("build.ui.remove"),
        )
    add_type, add_button = st.columns([2, 1], vertical_alignment="bottom")
    add_type.selectbox(t("build.ui.add_type"), kinds, key="build_add_type", format_func=lambda k: KINDS[k].label)
    add_button.button(
        t("build.ui.add"), key="build_add", on_click=_add, icon=":material/add:", help=t("build.ui.add_help")
    )
    return rows


def checked(
    rows: list[dict], input_shape: tuple[int, int, int], classes: int
) -> tuple[tuple, Plan | None, CnnkitError | None]:
    """The layers of the rows, their plan, or the error of the first row that is not a layer."""
    spec = []
    for n, row in enumerate(rows, 1):
        try:
            spec.append(
                make_layer(
                    row["type"], n, **{k: v for k, v in row.items() if k not in ("id", "type") and v is not None}
                )
            )
        except CnnkitError as exc:
            return tuple(spec), None, exc
    return tuple(spec), plan(tuple(spec), input_shape, classes), None


def table(result: Plan) -> None:
    """Per layer and in total: output shape, parameters, multiply–adds; the invalid layer flagged."""
    records = [
        {
            t("build.table.n"): str(r.index + 1),
            t("build.table.layer"): r.layer.compact(),
            t("build.table.module"): r.module,
            t("build.table.shape"): "×".join(map(str, r.output)),
            t("build.table.params"): num(r.params),
            t("build.table.macs"): num(r.macs),
        }
        for r in result.rows
    ]
    input_row = {
        t("build.table.n"): "",
        t("build.table.layer"): t("build.table.input"),
        t("build.table.module"): "",
        t("build.table.shape"): "×".join(map(str, result.input_shape)),
        t("build.table.params"): "",
        t("build.table.macs"): "",
    }
    total = {
        t("build.table.n"): "",
        t("build.table.layer"): t("build.table.total"),
        t("build.table.module"): "",
        t("build.table.shape"): "",
        t("build.table.params"): num(result.params),
        t("build.table.macs"): num(result.macs),
    }
    if result.problem and result.problem.index is not None:
        records.append(
            {
                **{k: "" for k in total},
                t("build.table.n"): str(result.problem.index + 1),
                t("build.table.layer"): "⚠️ " + t("build.table.invalid"),
            }
        )
    shown = [input_row, *records, total]
    st.dataframe(shown, hide_index=True, key="build_table", height=35 * len(shown) + 40)


def network_section(input_shape: tuple[int, int, int], classes: int) -> ModelConfig | None:
    """The builder; the network it describes, or None while a layer is invalid (Train stays disabled)."""
    if LAYERS not in st.session_state:
        fill("convnet", input_shape[1])
    st.subheader(t("build.ui.title"))
    st.caption(t("build.ui.intro", shape="×".join(map(str, input_shape)), classes=classes))
    preset_col, fill_col, typed_col, read_col = st.columns([4, 1.4, 2.6, 1], vertical_alignment="bottom")
    preset_col.selectbox(
        t("build.ui.preset"), list(NETWORK_PRESETS), key="build_preset", format_func=names("build.presets")
    )
    fill_col.button(
        t("build.ui.fill"),
        key="build_fill",
        on_click=_fill_chosen,
        args=(input_shape[1],),
        help=t("build.ui.fill_help"),
    )
    typed_col.text_input(
        t("build.ui.typed"),
        key="build_typed",
        placeholder="conv(16,3,padding=1) relu maxpool(2) flatten linear",
        help=t("build.ui.typed_help"),
    )
    read_col.button(t("build.ui.read"), key="build_read", on_click=_read_typed)
    if "build_typed_error" in st.session_state:
        st.error(error_text(st.session_state["build_typed_error"]))
    edit_col, view_col = st.columns([3, 2], gap="large")
    with edit_col:
        rows = editor()
    spec, result, error = checked(rows, input_shape, classes)
    with view_col:
        if error is not None:
            st.error(error_text(error), icon="⚠️")
            return None
        if result.problem:
            st.error(result.problem.message(lang()), icon="⚠️")
        else:
            st.success(t("build.ui.valid", params=num(result.params), macs=num(result.macs)))
        if result.rows:
            st.plotly_chart(architecture_diagram(plan_chain(result), lang(), per_row=4), key="build_diagram")
    table(result)
    st.code(to_compact(spec), language=None, wrap_lines=True)
    st.caption(t("build.ui.compact_help"))
    return ModelConfig(layers=spec) if result.ok else None
