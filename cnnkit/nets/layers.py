"""A network as a list of layers: read (JSON or compact text), checked for an input shape, built.

Canonical JSON: ``[{"type": "conv", "out": 32, "kernel": 3, "padding": 1}, {"type": "relu"},
{"type": "maxpool", "kernel": 2}, {"type": "flatten"}, {"type": "linear", "out": 128}, {"type": "relu"},
{"type": "linear"}]`` — the last Linear's ``out`` may be left out: it is then the class count.
Compact text: ``conv(32,3,padding=1) relu maxpool(2) flatten linear(128) relu linear``.

``plan()`` computes every layer's output shape, parameters and multiply–adds without building anything,
and stops at the first layer that cannot work, with the reason (a ``Problem``: a message key and values).
Layers are named as the notes' networks were (conv1, bn1, relu1, pool1, flatten, fc1, dropout1, …), so the
state dicts of older checkpoints fit the networks rebuilt from their specs.
"""

from __future__ import annotations

import json
import math
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from cnnkit.errors import CnnkitError
from cnnkit.files import read_limited
from cnnkit.i18n import DEFAULT_LANGUAGE, text

MAX_PARAMETERS = 50_000_000  # weights + gradients + Adam's two moments: 16 bytes each, 800 MB at the limit
MAX_VALUES = 20_000_000  # activations per image kept for the backward pass (80 MB per image in fp32)
MOST_WHOLE = 100_000  # the largest size setting: far above any image, far below what overflows torch's int64 maths
MAX_SPEC_CHARS = 20_000  # a layer list as text: a few hundred layers
MAX_SPEC_BYTES = 4 * MAX_SPEC_CHARS  # a --layers JSON file (UTF-8: at most 4 bytes a character)
MAX_NESTING = 3  # a list of layer objects is 2 levels deep; one more still gets the message of the wrong value


def _conv(layer: Layer, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> nn.Module:
    return nn.Conv2d(in_shape[0], layer.get("out"), layer.get("kernel"), layer.get("stride"), layer.get("padding"))


def _batchnorm(layer: Layer, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> nn.Module:
    return nn.BatchNorm2d(in_shape[0]) if len(in_shape) == 3 else nn.BatchNorm1d(in_shape[0])


class _Stop(Exception):
    """A layer that cannot work on its input: a ``Problem``'s message key and values."""

    def __init__(self, key: str, **values):
        super().__init__(key)
        self.key, self.values = key, values


@dataclass(frozen=True, kw_only=True)
class Planning:
    """What a layer's planning step knows besides its input shape: its number (1-based), the layers planned before
    it, whether it is the last Linear, the class count."""

    n: int
    before: tuple[Row, ...]
    last_linear: bool
    num_classes: int


Step = tuple[tuple[int, ...], int, int, str]  # output shape, parameters, multiply–adds, torch module name


def _conv_step(layer: Layer, shape: tuple[int, ...], at: Planning) -> Step:
    c, h, w = shape
    k, s, p, out = layer.get("kernel"), layer.get("stride"), layer.get("padding"), layer.get("out")
    if h + 2 * p < k or w + 2 * p < k:
        raise _Stop("kernel", n=at.n, label=layer.label(), h=h, w=w, padding=p)
    shape = (out, _out_size(h, k, s, p), _out_size(w, k, s, p))
    return shape, out * c * k * k + out, out * shape[1] * shape[2] * c * k * k, "Conv2d"


def _pool_step(layer: Layer, shape: tuple[int, ...], at: Planning) -> Step:
    c, h, w = shape
    k, s = layer.get("kernel"), layer.get("stride")
    if h < k or w < k:
        raise _Stop("window", n=at.n, label=layer.label(), h=h, w=w)
    return (c, _out_size(h, k, s), _out_size(w, k, s)), 0, 0, f"{KINDS[layer.type].label}2d"


def _batchnorm_step(layer: Layer, shape: tuple[int, ...], at: Planning) -> Step:
    return shape, 2 * shape[0], 0, "BatchNorm2d" if len(shape) == 3 else "BatchNorm1d"


def _flatten_step(layer: Layer, shape: tuple[int, ...], at: Planning) -> Step:
    return (math.prod(shape),), 0, 0, "Flatten"


def _linear_step(layer: Layer, shape: tuple[int, ...], at: Planning) -> Step:
    if len(shape) != 1:
        after_conv = any(row.layer.type == "conv" for row in at.before)
        raise _Stop("linear_after_conv" if after_conv else "linear_on_image", n=at.n, shape="×".join(map(str, shape)))
    out = layer.get("out")
    if out is None and not at.last_linear:
        raise _Stop("out_missing", n=at.n)
    if at.last_linear and out is not None and out != at.num_classes:
        raise _Stop("classes_mismatch", n=at.n, out=out, classes=at.num_classes)
    out = at.num_classes if out is None else out
    return (out,), shape[0] * out + out, shape[0] * out, "Linear"


@dataclass(frozen=True)
class Kind:
    """A layer type: its settings in positional order, their defaults, what it needs as input, the name prefix
    of its layers (conv1, pool1, fc1…), what it does to its input's shape (``step``: None keeps the shape, with no
    parameters) and the torch module it becomes (from the layer, its input and output shapes without the batch)."""

    label: str
    settings: tuple[str, ...] = ()
    defaults: tuple[tuple[str, float | int | None], ...] = ()
    image: bool = False  # needs channels × height × width
    prefix: str = ""  # "": the type itself
    module: Callable[[Layer, tuple[int, ...], tuple[int, ...]], nn.Module] | None = None  # None: ACTIVATIONS'
    step: Callable[[Layer, tuple[int, ...], Planning], Step] | None = None


def _plain(module: Callable[..., nn.Module], *settings: str):
    """A module built from the layer's ``settings`` alone."""
    return lambda layer, in_shape, out_shape: module(*(layer.get(name) for name in settings))


ACTIVATIONS = {"relu": nn.ReLU, "leakyrelu": nn.LeakyReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
POOL = (("kernel", "stride"), (("stride", None),), True, "pool")
KINDS: dict[str, Kind] = {
    "conv": Kind(
        "Conv",
        ("out", "kernel", "stride", "padding"),
        (("stride", 1), ("padding", 0)),
        True,
        module=_conv,
        step=_conv_step,
    ),
    "maxpool": Kind("MaxPool", *POOL, module=_plain(nn.MaxPool2d, "kernel", "stride"), step=_pool_step),
    "avgpool": Kind("AvgPool", *POOL, module=_plain(nn.AvgPool2d, "kernel", "stride"), step=_pool_step),
    "batchnorm": Kind("BatchNorm", prefix="bn", module=_batchnorm, step=_batchnorm_step),
    "relu": Kind("ReLU"),
    "leakyrelu": Kind("LeakyReLU", ("slope",), (("slope", 0.01),), module=_plain(nn.LeakyReLU, "slope")),
    "gelu": Kind("GELU"),
    "tanh": Kind("Tanh"),
    "sigmoid": Kind("Sigmoid"),
    "dropout": Kind("Dropout", ("p",), (("p", 0.5),), module=_plain(nn.Dropout, "p")),
    "flatten": Kind("Flatten", module=_plain(nn.Flatten), step=_flatten_step),
    "linear": Kind(
        "Linear",
        ("out",),
        (("out", None),),
        prefix="fc",
        module=lambda layer, in_shape, out_shape: nn.Linear(in_shape[0], out_shape[0]),
        step=_linear_step,
    ),
}
WHOLE = {"out": 1, "kernel": 1, "stride": 1, "padding": 0}  # whole-number settings and their smallest value


@dataclass(frozen=True)
class Layer:
    """One layer of a spec; ``values`` holds every setting of its kind (defaults filled in)."""

    type: str
    values: tuple[tuple[str, float | int | None], ...] = ()

    def get(self, name: str):
        return dict(self.values).get(name)

    def to_dict(self) -> dict:
        """The canonical JSON object: the type and the settings that differ from their defaults."""
        defaults = dict(KINDS[self.type].defaults)
        out = {"type": self.type}
        for name, value in self.values:
            if name == "stride" and self.type.endswith("pool") and value == self.get("kernel"):
                continue
            if name not in defaults or value != defaults[name]:
                out[name] = value
        return out

    def compact(self) -> str:
        """``conv(32,3,padding=1)``: the leading settings by position, those after a default by name."""
        shown = {k: v for k, v in self.to_dict().items() if k != "type"}
        args = []
        for name in KINDS[self.type].settings:
            if name not in shown:
                break
            args.append(f"{shown.pop(name):g}")
        args += [f"{k}={v:g}" for k, v in shown.items()]
        return f"{self.type}({','.join(args)})" if args else self.type

    def label(self) -> str:
        """What a message calls the layer: ``Conv 3×3``, ``MaxPool 2×2``, ``Linear``."""
        kernel = self.get("kernel")
        return f"{KINDS[self.type].label} {kernel}×{kernel}" if kernel else KINDS[self.type].label


Spec = tuple[Layer, ...]


def _fail(key: str, **values) -> CnnkitError:
    return CnnkitError(f"build.errors.{key}", **values)


def _number(layer: int, kind: str, name: str, value):
    """A setting's value checked: whole numbers for sizes, p in [0, 1), a finite slope."""
    if name in WHOLE:
        whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if isinstance(value, bool) or not whole or not WHOLE[name] <= value <= MOST_WHOLE:
            label = KINDS[kind].label
            raise _fail("not_whole", n=layer, type=label, setting=name, low=WHOLE[name], high=MOST_WHOLE, value=value)
        return int(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail("not_number", n=layer, type=KINDS[kind].label, setting=name, value=value)
    if name == "p" and not 0 <= value < 1:
        raise _fail("p_range", n=layer, value=value)
    return float(value)


def make_layer(kind: str, n: int = 1, **given) -> Layer:
    """A checked layer of type ``kind`` (the ``n``-th of its network, for messages)."""
    kind = str(kind).strip().lower()
    if kind not in KINDS:
        raise _fail("unknown_type", n=n, type=kind, known=", ".join(KINDS))
    spec = KINDS[kind]
    for name in given:
        if name not in spec.settings:
            raise _fail(
                "unknown_setting",
                n=n,
                type=spec.label,
                setting=name,
                known=", ".join(spec.settings) or text("build.none", DEFAULT_LANGUAGE),
            )
    defaults = dict(spec.defaults)
    values = []
    for name in spec.settings:
        value = given.get(name, defaults.get(name, ...))
        if value is ...:
            raise _fail("missing", n=n, type=spec.label, setting=name)
        if value is None and name == "stride":
            value = values[0][1]  # a pool's stride is its window unless given
        none_allowed = value is None and name in defaults and defaults[name] is None  # a linear's out: the classes
        values.append((name, None if none_allowed else _number(n, kind, name, value)))
    return Layer(kind, tuple(values))


def from_objects(items) -> Spec:
    """A spec from the canonical JSON list (already parsed)."""
    if not isinstance(items, list):
        raise _fail("not_list")
    layers = []
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict) or "type" not in item:
            raise _fail("not_object", n=n, got=json.dumps(item, ensure_ascii=False)[:60])
        layers.append(make_layer(item["type"], n, **{k: v for k, v in item.items() if k != "type"}))
    return tuple(layers)


_TOKEN = re.compile(r"\s*([A-Za-z]\w*)\s*(?:\(([^()]*)\))?\s*[,;>]?")


def from_compact(source: str) -> Spec:
    """A spec from the compact text ``conv(32,3,padding=1) relu maxpool(2) flatten linear``."""
    layers, pos = [], 0
    while pos < len(source.rstrip()):
        match = _TOKEN.match(source, pos)
        if not match or match.end() == pos:
            raise _fail("bad_compact", token=source[pos : pos + 20].strip())
        kind, args = match.group(1).lower(), match.group(2)
        n = len(layers) + 1
        if kind not in KINDS:
            make_layer(kind, n)  # raises: unknown type
        settings = KINDS[kind].settings
        given: dict = {}
        for i, arg in enumerate(a.strip() for a in (args or "").split(",") if a.strip()):
            name, _, value = arg.rpartition("=")
            if not name and i >= len(settings):
                raise _fail("too_many", n=n, type=KINDS[kind].label, known=", ".join(settings) or text("build.none"))
            try:
                given[name.strip() or settings[i]] = json.loads(value)
            except json.JSONDecodeError:
                raise _fail("bad_compact", token=arg) from None
        layers.append(make_layer(kind, n, **given))
        pos = match.end()
    return tuple(layers)


def _nesting(source: str, most: int) -> int:
    """How deep JSON text nests lists and objects, counted up to ``most + 1`` (brackets in strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in source:
        if in_string:
            in_string, escaped = (escaped or char != '"'), (not escaped and char == "\\")
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > most:
                break
        elif char in "]}":
            depth -= 1
    return deepest


def parse_spec(source) -> Spec:
    """A spec from the JSON list (text or parsed) or the compact text, of at most ``MAX_SPEC_CHARS`` characters
    and (JSON) ``MAX_NESTING`` levels: checked before parsing, so that no text exhausts the parser."""
    if isinstance(source, (list, tuple)):
        return from_objects(list(source))
    source = str(source).strip()
    if len(source) > MAX_SPEC_CHARS:
        raise _fail("too_long", length=len(source), limit=MAX_SPEC_CHARS)
    if _nesting(source, MAX_NESTING) > MAX_NESTING:
        raise _fail("too_deep", limit=MAX_NESTING)
    if source.startswith(("[", "{")):
        try:
            return from_objects(json.loads(source))
        except json.JSONDecodeError as exc:
            raise _fail("bad_json", reason=exc.msg, pos=exc.pos + 1) from None
    return from_compact(source)


def to_json(spec: Spec) -> list[dict]:
    return [layer.to_dict() for layer in spec]


def to_compact(spec: Spec) -> str:
    return " ".join(layer.compact() for layer in spec)


@dataclass(frozen=True)
class Row:
    """A layer as the plan sees it: its module name, output shape (without the batch), parameters, MACs."""

    index: int  # 0-based position in the spec
    name: str
    layer: Layer
    module: str  # the torch module it becomes: Conv2d, BatchNorm1d, …
    output: tuple[int, ...]
    params: int
    macs: int


@dataclass(frozen=True)
class Problem:
    """Why a spec cannot be built: the layer (0-based; None for the whole network), a message key, values."""

    index: int | None
    key: str
    values: tuple[tuple[str, object], ...]

    def error(self) -> CnnkitError:
        return _fail(self.key, **dict(self.values))

    def message(self, lang: str = DEFAULT_LANGUAGE) -> str:
        return self.error().message(lang)


@dataclass(frozen=True)
class Plan:
    input_shape: tuple[int, int, int]
    rows: tuple[Row, ...]  # up to the invalid layer, when there is one
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def macs(self) -> int:
        return sum(r.macs for r in self.rows)


def _out_size(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    return (size + 2 * padding - kernel) // stride + 1


class _Names:
    """conv1, conv2, …: one counter per prefix."""

    def __init__(self):
        self.counts: dict[str, int] = {}

    def __call__(self, prefix: str) -> str:
        self.counts[prefix] = self.counts.get(prefix, 0) + 1
        n = self.counts[prefix]
        return prefix if prefix == "flatten" and n == 1 else f"{prefix}{n}"


def plan(
    spec: Spec,
    input_shape: tuple[int, int, int],
    num_classes: int,
    max_params: int = MAX_PARAMETERS,
    max_values: int = MAX_VALUES,
) -> Plan:
    """Each layer's output shape, parameters and MACs for a C×H×W input; the first problem, if any."""
    rows: list[Row] = []
    shape = tuple(input_shape)
    names = _Names()
    last_linear = max((i for i, layer in enumerate(spec) if layer.type == "linear"), default=None)

    def stop(index, key, **values) -> Plan:
        return Plan(tuple(input_shape), tuple(rows), Problem(index, key, tuple(values.items())))

    if not spec:
        return stop(None, "empty")
    values_kept = 0
    for i, layer in enumerate(spec):
        kind = KINDS[layer.type]
        if kind.image and len(shape) != 3:
            return stop(i, "needs_image", n=i + 1, label=layer.label(), features=shape[0])
        at = Planning(n=i + 1, before=tuple(rows), last_linear=i == last_linear, num_classes=num_classes)
        try:
            shape, params, macs, module = kind.step(layer, shape, at) if kind.step else (shape, 0, 0, kind.label)
        except _Stop as problem:
            return stop(i, problem.key, **problem.values)
        rows.append(Row(i, names(kind.prefix or layer.type), layer, module, shape, params, macs))
        values_kept += math.prod(shape)
        total = sum(r.params for r in rows)
        if total > max_params:
            return stop(i, "too_many_params", params=total, limit=max_params)
        if values_kept > max_values:
            return stop(i, "too_many_values", n=i + 1, values=values_kept, limit=max_values)
    if spec[-1].type != "linear":
        return stop(len(spec) - 1, "last_not_linear", classes=num_classes, label=spec[-1].label())
    return Plan(tuple(input_shape), tuple(rows), None)


def _module(row: Row, in_shape: tuple[int, ...]) -> nn.Module:
    kind = KINDS[row.layer.type]
    return kind.module(row.layer, in_shape, row.output) if kind.module else ACTIVATIONS[row.layer.type]()


def build(
    spec: Spec,
    input_shape: tuple[int, int, int],
    num_classes: int,
    max_params: int = MAX_PARAMETERS,
    max_values: int = MAX_VALUES,
) -> nn.Sequential:
    """The network of ``spec`` for a C×H×W input; a ``CnnkitError`` naming the first invalid layer."""
    checked = plan(spec, input_shape, num_classes, max_params, max_values)
    if checked.problem:
        raise checked.problem.error()
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    shape: tuple[int, ...] = tuple(input_shape)
    for row in checked.rows:
        modules[row.name] = _module(row, shape)
        shape = row.output
    return nn.Sequential(modules)


def read_spec(argument: str) -> Spec:
    """The CLI's ``--layers``: a ``.json`` file's content, or the JSON or compact text itself; never empty."""
    if argument.strip().lower().endswith(".json"):
        try:
            argument = read_limited(argument.strip(), MAX_SPEC_BYTES).decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail("spec_file", path=argument, reason=getattr(exc, "strerror", None) or exc) from None
    spec = parse_spec(argument)
    if not spec:  # ``--layers ""`` is a mistake, not a wish for the default network
        raise _fail("empty")
    return spec
