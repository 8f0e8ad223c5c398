"""The crawler: every page of the app, in one language, with every control on it operated as a user would, in
AppTest. Its inventory comes from the pages themselves (the app's navigation, each page's element tree), so a
new page, tab or control is crawled without anyone listing it here.

Each control is operated once, in the order the page shows it: a button clicked; a checkbox or toggle turned
both ways; each option of a select box, radio, segmented control, pills or select slider chosen; a slider and a
number input at both ends; a text field given a typed value that is not what it asks for; a file uploader given a
file; a table's selection of zero, several and one rows; each tab of a tab bar that reruns. A choice goes back
to its earlier value afterwards, so the page stays where the user left it; the controls that one choice reveals
are crawled at once, before the next choice hides them. After every step the page must show no exception, no
message key (``⟨…⟩``), no "None"/"nan"/"inf", no Latin prose in Russian, and the step must take at most
``STEP_LIMIT_S`` seconds.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from PIL import Image, ImageDraw
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Widget
from streamlit.testing.v1.util import patch_config_options

from tests.support import ROOT
from tests.support.texts import english_words, visible_texts

STEP_LIMIT_S = 10.0
MAX_STEPS = 800  # per page: a crawl that does not end has found a control that keeps making new ones
TYPED = "~nosuchuser/x"  # what a clumsy user types in a text field: a home folder that does not exist
KEY_SHOWN = re.compile(r"⟨[^⟩]*⟩")
EMPTY_SHOWN = re.compile(r"(?<![\w.])(None|nan|NaN|inf|-inf|Infinity)(?![\w.])")
INSTANCE = re.compile(r"(_)\d+(_|$)")
CHOICES = ("selectbox", "radio", "button_group", "select_slider", "multiselect")


@dataclass(frozen=True, kw_only=True)
class Step:
    """One operation and its rerun: on which page, in which language, what was done, how long it took."""

    page: str
    lang: str
    control: str
    kind: str
    action: str
    seconds: float


@dataclass(kw_only=True)
class Control:
    """A control the page shows: its identity across reruns, its kind, and the steps that operate it (each
    stages a change on the current element tree, or sets the session state, before a rerun)."""

    name: str
    kind: str
    steps: list[tuple[str, Callable[[AppTest], None]]]


@dataclass(kw_only=True)
class Crawl:
    lang: str
    names: frozenset[str] = frozenset()  # the users' own words the pages show (run names), in lower case
    steps: list[Step] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (the step, what it showed)
    controls: dict[str, set[str]] = field(default_factory=dict)  # page → the controls operated there

    def page(self, path: str) -> None:
        """Open ``path`` in a new session and operate every control it shows."""
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.session_state["lang"] = self.lang
        at.run()
        at.switch_page(path)
        self.run(at, path, Control(name="page", kind="page", steps=[]), "open")
        operated = self.controls.setdefault(path, set())
        while control := next((c for c in inventory(at) if c.name not in operated), None):
            self.operate(at, path, control, operated)

    def operate(self, at: AppTest, path: str, control: Control, operated: set[str]) -> None:
        """Each step of ``control``, then at once whatever it revealed (before the next step hides it)."""
        operated.add(control.name)
        for action, stage in control.steps:
            if not available(at, control.name):
                return
            before = {c.name for c in inventory(at)}
            stage(at)
            self.run(at, path, control, action)
            for revealed in [c for c in inventory(at) if c.name not in before | operated]:
                if available(at, revealed.name):
                    self.operate(at, path, revealed, operated)

    def findings(self) -> list[str]:
        """Each problem once, with the first step that showed it and how many steps did."""
        seen: dict[str, list[str]] = {}
        for where, problem in self.problems:
            seen.setdefault(problem, []).append(where)
        return [f"{problem}\n    at {wheres[0]} ({len(wheres)} steps)" for problem, wheres in seen.items()]

    def run(self, at: AppTest, path: str, control: Control, action: str) -> None:
        """Rerun the page as the browser would after ``action``, and check what it shows."""
        if len(self.steps) > MAX_STEPS * len(self.controls or [path]):
            raise AssertionError(f"{path}: the crawl does not end (the last control: {control.name})")
        at.session_state["lang"] = self.lang  # AppTest runs the page itself, without app.py's language switch
        where = f"{path} [{self.lang}] {control.name} → {action}"
        start = time.perf_counter()
        try:
            with patch_config_options({"client.showErrorDetails": "full"}):  # the error itself, not "redacted"
                at.run()
        except Exception as exc:  # noqa: BLE001 - AppTest's own failure (a timeout) is a finding too
            self.problems.append((where, f"{type(exc).__name__}: {exc}"))
            return
        seconds = time.perf_counter() - start
        self.steps.append(
            Step(page=path, lang=self.lang, control=control.name, kind=control.kind, action=action, seconds=seconds)
        )
        self.problems += [(where, problem) for problem in self.check(at, seconds)]

    def check(self, at: AppTest, seconds: float) -> Iterator[str]:
        for exc in at.exception:
            yield f"exception {exc.value} ({(list(exc.stack_trace) or ['?'])[-1].strip()})"
        shown = visible_texts(at)
        for value in shown:
            if KEY_SHOWN.search(value):
                yield f"a message key is shown: {KEY_SHOWN.search(value).group()}"
            if EMPTY_SHOWN.search(value):
                yield f"an empty value is shown: {value[:120]!r}"
        if self.lang == "ru" and (words := english_words(at, self.names)):
            yield f"Latin words in Russian: {sorted(words)[:12]}"
        if seconds > STEP_LIMIT_S:
            yield f"a step took over {STEP_LIMIT_S:.0f} s"


def app_pages() -> list[str]:
    """The pages of the app's navigation (each file once, hidden twins too), relative to app.py."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    paths = [info["script_path"] for info in at._registered_pages.values()]  # noqa: SLF001 - AppTest's own list
    return list(dict.fromkeys(str(p).removeprefix(f"{ROOT}/") for p in paths))


# ---------------------------------------------------------------- what the page shows


def inventory(at: AppTest) -> list[Control]:
    """The controls on the page now, in the order it shows them (disabled ones are not operable)."""
    found: dict[str, Control] = {}
    for node in at._tree:  # noqa: SLF001 - the element tree, blocks (tab bars) included
        control = control_of(node)
        if control is not None and control.name not in found:
            found[control.name] = control
    return list(found.values())


def identity(node) -> str:
    """A control's name across reruns: its key, else its kind and label. The numbers in a key that name one of
    many alike (``train_dl_3``, ``build_29_kernel``: a run's, a layer's) are one control: operated once."""
    if node.key:
        return INSTANCE.sub("_#", node.key)
    return f"{node.type}:{getattr(node, 'label', '')}"


def available(at: AppTest, name: str) -> bool:
    node = find(at, name)
    return node is not None and not getattr(node.proto, "disabled", False)


def find(at: AppTest, name: str):
    return next((node for node in at._tree if _operable(node) and identity(node) == name), None)  # noqa: SLF001


def _operable(node) -> bool:
    kind = getattr(node, "type", "")
    return (
        isinstance(node, Widget)
        or kind == "tab_container"
        and bool(node.key)
        or kind in ("dataframe", "plotly_chart")
        and bool(node.key)
        and _selectable(node)
    )


def _selectable(node) -> bool:
    proto = node.proto
    modes = proto.selection_mode if node.type == "dataframe" else proto.selection_mode
    return bool(list(modes))


def control_of(node) -> Control | None:
    """The control ``node`` is, with its steps; None for what is not operable (or disabled)."""
    if not _operable(node) or getattr(node.proto, "disabled", False):
        return None
    name, kind = identity(node), node.type
    steps = STEPS.get(kind, lambda node, name: [])(node, name)
    return Control(name=name, kind=kind, steps=steps) if steps else None


# ---------------------------------------------------------------- how each kind is operated


def _staged(name: str, change: Callable) -> Callable[[AppTest], None]:
    """A step that finds the control on the current tree and stages ``change(widget)``."""
    return lambda at: change(find(at, name))


def _shown(name: str, shown: list[str]) -> Callable[[AppTest], None]:
    """Choose options by the texts the page shows (as a click does; AppTest's set_value wants the values)."""

    def stage(at: AppTest) -> None:
        widget = find(at, name)

        class Chosen(type(widget)):
            @property
            def _widget_state(self) -> WidgetState:
                state = WidgetState(id=self.id)
                if self.type in ("selectbox", "radio"):
                    state.string_value = shown[0]
                else:
                    state.string_array_value.data[:] = shown
                return state

        widget.__class__ = Chosen

    return stage


def _state(key: str, value) -> Callable[[AppTest], None]:
    def stage(at: AppTest) -> None:
        at.session_state[key] = value

    return stage


def _choice_steps(node, name: str) -> list:
    options = _options(node)
    current = _current_shown(node)
    if node.type == "multiselect":
        return [(f"only {o!r}", _shown(name, [o])) for o in options] + [
            ("all", _shown(name, options)),
            ("as before", _shown(name, current)),
        ]
    return [(repr(o), _shown(name, [o])) for o in options if [o] != current] + (
        [("as before", _shown(name, current))] if current else []
    )


def _options(node) -> list[str]:
    """The options as the widget's state names them (a segmented control's leading icon included)."""
    if node.type == "button_group":
        return [" ".join(filter(None, (o.content_icon, o.content))) for o in node.proto.options]
    return list(node.options)


def _current_shown(node) -> list[str]:
    """The options chosen now, as the widget's state names them."""
    value = node.value
    values = [] if value is None else value if isinstance(value, (list, tuple)) else [value]
    return [str(node.format_func(v)) for v in values]


def _switch_steps(node, name: str) -> list:
    value = bool(node.value)
    return [
        (str(not value), _staged(name, lambda w: w.set_value(not value))),
        (str(value), _staged(name, lambda w: w.set_value(value))),
    ]


def _range_steps(node, name: str) -> list:
    """A slider or a number input at both ends (where it has them), then as before."""
    value = node.value
    if node.type == "number_input":
        low, high = node.min, node.max
    else:
        low, high = node.min, node.max
        low = int(low) if node.proto.data_type == node.proto.INT else low
        high = int(high) if node.proto.data_type == node.proto.INT else high
        if isinstance(value, (list, tuple)):
            return [
                ("whole range", _staged(name, lambda w: w.set_value([low, high]))),
                ("as before", _staged(name, lambda w: w.set_value(list(value)))),
            ]
    ends = [v for v in (low, high) if v is not None]
    return [(f"= {v}", _staged(name, lambda w, v=v: w.set_value(v))) for v in ends] + [
        ("as before", _staged(name, lambda w: w.set_value(value)))
    ]


def _text_steps(node, name: str) -> list:
    value = node.value or ""
    return [
        (f"typed {TYPED!r}", _staged(name, lambda w: w.set_value(TYPED))),
        ("as before", _staged(name, lambda w: w.set_value(value))),
    ]


def _click_steps(node, name: str) -> list:
    return [("click", _staged(name, lambda w: w.click()))]


def _upload_steps(node, name: str) -> list:
    """A drawn digit where pictures are taken; elsewhere a file of the first accepted kind that holds junk."""
    if node.type == "camera_input":  # a webcam's shot: always one JPEG
        return [("a shot", _staged(name, lambda w: w.set_value(("shot.jpg", digit_png("JPEG"), "image/jpeg"))))]
    types = [t.lstrip(".").lower() for t in node.proto.type]
    if not types or "png" in types:
        return [("a drawn digit", _staged(name, lambda w: w.set_value(("digit.png", digit_png(), "image/png"))))]
    junk = f"junk.{types[0]}"
    return [
        (
            junk,
            _staged(name, lambda w: w.set_value((junk, b"not what it claims to be" * 8, "application/octet-stream"))),
        )
    ]


def _tab_steps(node, name: str) -> list:
    labels = [tab.label for tab in node.children.values()]
    return [(label, _state(name, label)) for label in labels[1:] + labels[:1]]


def _selection_steps(node, name: str) -> list:
    """A table's rows: none, several, then one (the page stays on one, where its own controls are)."""
    if node.type == "plotly_chart":
        return []
    rows = len(node.value)

    def rows_of(chosen: list[int]) -> dict:
        return {"selection": {"rows": chosen, "columns": [], "cells": []}}

    several = list(range(min(rows, 3)))
    return [
        ("no rows", _state(name, rows_of([]))),
        (f"rows {several}", _state(name, rows_of(several))),
        ("row 0", _state(name, rows_of([0] if rows else []))),
    ]


STEPS: dict[str, Callable[[object, str], list]] = {
    **dict.fromkeys(CHOICES, _choice_steps),
    "checkbox": _switch_steps,
    "toggle": _switch_steps,
    "slider": _range_steps,
    "number_input": _range_steps,
    "text_input": _text_steps,
    "text_area": _text_steps,
    "button": _click_steps,
    "download_button": _click_steps,
    "file_uploader": _upload_steps,
    "camera_input": _upload_steps,
    "tab_container": _tab_steps,
    "dataframe": _selection_steps,
    "plotly_chart": _selection_steps,
}


def digit_png(kind: str = "PNG") -> bytes:
    """A 7 drawn in a bold marker on paper, as a photo would hold it (a PNG, or a file of ``kind``)."""
    picture = Image.new("L", (160, 160), 235)
    ImageDraw.Draw(picture).line([(40, 40), (120, 40), (70, 130)], fill=20, width=12)
    out = io.BytesIO()
    picture.save(out, kind)
    return out.getvalue()
