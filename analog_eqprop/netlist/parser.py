r"""Read the project's own netlists back: elements, models, options, metadata, the circuit.

:func:`parse_netlist` reads what :func:`~analog_eqprop.netlist.compile_netlist` writes,
in either form, including hand-edited element *values*. It refuses everything else with
a :class:`~analog_eqprop.errors.NetlistError` that names the line: foreign netlists (no
``* analog_eqprop netlist, format 1`` on line 2), element names or shapes the compiler
never writes, ``.control``/``.include``/``.lib``/``.param`` and other cards, ``*#`` lines
(ngspice runs them as commands), and sweep decks from
:func:`~analog_eqprop.netlist.compile_sweep`. A deck it reads also passes the drivers' deck
policy (:func:`~analog_eqprop.netlist.deck_policy.check_deck`: title line, options).

Numbers, in element values, metadata and options, are read as ngspice reads them, by
:func:`~analog_eqprop.spice.numbers.spice_number` (``10mil`` is 2.54e-4, ``1meg``
1e6, ``10kohm`` 1e4), and what ngspice would read differently from what was written is
refused (``353_006``, which ngspice reads as 353; full-width digits), so that the NumPy twin
never solves another circuit than ngspice.

:meth:`ParsedNetlist.to_circuit` gives ``(circuit, g, x)``:

* **full form**: the original circuit, conductances (each ``g`` chosen so that ``1/g``
  prints as the netlist's resistance) and features, so that
  ``compile_netlist(circuit, g, x, **parsed.compile_kwargs())`` reproduces the text byte
  for byte. Element lines that the metadata contradicts (an input source's value that is
  not ``gain * x + offset``, an edited nudge current) are reported by line number;
* **Norton form**: an *equivalent* circuit for the deck's one example: each Norton pair
  ``rn<j>``, ``in<j>`` becomes a conductance ``1/rn<j>`` to a bias rail at
  ``in<j> * rn<j>`` volts (labelled ``norton_<node label>``); the input sources are gone.
  Its free-node voltages are the deck's.

What a NumPy solver needs (``analog-eqprop simulate NET.cir --backend numpy``): solve
``circuit`` with ``g`` and ``x`` (and ``beta``, ``target``, ``nudge_ref`` from
:meth:`ParsedNetlist.compile_kwargs` for a nudged deck); free node ``j`` of the circuit is
the netlist's node ``parsed.free_nodes[j]``, labelled ``circuit.nodes[j]``.

Examples
--------
>>> from analog_eqprop.circuits import layered_circuit
>>> from analog_eqprop.netlist import compile_netlist
>>> text = compile_netlist(layered_circuit([2, 2, 1], seed=0), x=[0.5, 0.25]).text
>>> p = parse_netlist(text)
>>> p.form, p.free_nodes, p.elements[0]
('full', ('h1_0', 'h1_1', 'y0'), Element(line=24, name='vs0', nodes=('x0p', '0'), value=0.5, ref=None, layer=None, params=()))
>>> parse_netlist(text.replace("\n.op\n", "\n.control\nshell ls\n.endc\n.op\n"))
Traceback (most recent call last):
...
analog_eqprop.errors.NetlistError: line 67: card '.control' is not supported (analog_eqprop netlists hold only .model, .options, .save, .print, .op and .end)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from analog_eqprop.circuits.description import GROUND, Circuit
from analog_eqprop.elements import KINDS
from analog_eqprop.elements.base import CardSpec
from analog_eqprop.elements.diode import DiodeModel, parse_model_cards
from analog_eqprop.spice.numbers import option_value, spice_number
from analog_eqprop.errors import AnalogEqpropError, NetlistError
from analog_eqprop.netlist.compiler import FORMAT_LINE, FORMS, compile_netlist
from analog_eqprop.netlist.deck_policy import check_deck
from analog_eqprop.spice.names import NameMap, decode_label

__all__ = ["Element", "ParsedNetlist", "Reader", "parse_netlist", "option_value"]

# element prefix -> how its card reads, from every kind's table (the parser knows no element by name)
_ELEMENTS: dict[str, CardSpec] = {prefix: spec for k in KINDS for prefix, spec in k.cards.items()}
_KIND_META = {key: k.kind for k in KINDS for key in k.meta}
_NAME = re.compile(r"([a-z]+?)(\d+)")
_NODE = re.compile(r"[a-z][a-z0-9_]*|0")
_CARDS = ".model, .options, .save, .print, .op and .end"


@dataclass(frozen=True)
class Element:
    """One element card.

    Attributes
    ----------
    line : int
        1-based line number (of the first line, for a continued card).
    name : str
        Lowercase element name, e.g. ``"r12"``.
    nodes : tuple of str
        Node names (``"0"`` is ground); ``E`` cards list out+, out-, in+, in-.
    value : float or None
        Resistance [ohm], voltage [V], current [A] or gain; None for model cards.
    ref : str or None
        A diode's or transistor's model name, a CCCS's controlling source, a behavioural
        source's expression.
    layer : int or None
        The conductance layer of an ``r<k>`` card (from its ``@conductances`` section).
    params : tuple of (str, float)
        ``KEY=VALUE`` parameters after a model name (``W``, ``L`` of a transistor), keys lower case.
    """

    line: int
    name: str
    nodes: tuple[str, ...]
    value: float | None
    ref: str | None = None
    layer: int | None = None
    params: tuple[tuple[str, float], ...] = ()

    @property
    def prefix(self) -> str:
        return _NAME.fullmatch(self.name).group(1)

    @property
    def index(self) -> int:
        return int(_NAME.fullmatch(self.name).group(2))


@dataclass(frozen=True, eq=False)
class ParsedNetlist:
    """A parsed analog_eqprop netlist (see the module docstring).

    Attributes
    ----------
    title : str
    form : {"full", "norton"}
    circuit_name : str
    info : dict
        ``n_features``, ``g_min``, ``g_max``, ``target_on``, ``target_off``, ``nudge``.
    layer_names : tuple of str
    names : NameMap
        Terminal labels (free nodes, sources, amplified copies) <-> node names.
    free_nodes : tuple of str
        Free-node names in circuit order.
    free_roles : tuple of str
    free_layers : tuple of int
    outputs : tuple of (str, str or None)
        (pos, neg) node names per class.
    sources : tuple of dict
        Per source, in order: ``node``, ``label``, ``kind``, ``feature``, ``gain``, ``offset``.
    amps : tuple of dict
        Per amplifier: ``copy``, ``label``, ``node``.
    elements : tuple of Element
    models : tuple of DiodeModel
    options : dict
    analysis : str or None
    probes : bool
        Whether the deck has ``.save``/``.print`` lines.
    x : numpy.ndarray or None
    beta : float
    target, nudge_ref : numpy.ndarray or None
    """

    title: str
    form: str
    circuit_name: str
    info: dict[str, Any]
    layer_names: tuple[str, ...]
    names: NameMap
    free_nodes: tuple[str, ...]
    free_roles: tuple[str, ...]
    free_layers: tuple[int, ...]
    outputs: tuple[tuple[str, str | None], ...]
    sources: tuple[dict[str, Any], ...]
    amps: tuple[dict[str, Any], ...]
    elements: tuple[Element, ...]
    models: tuple[DiodeModel, ...]
    options: dict[str, Any] = field(default_factory=dict)
    analysis: str | None = None
    probes: bool = False
    x: np.ndarray | None = None
    beta: float = 0.0
    target: np.ndarray | None = None
    nudge_ref: np.ndarray | None = None
    model_cards: tuple[str, ...] = ()
    kind_meta: dict[str, list] = field(default_factory=dict)

    def element(self, name: str) -> Element:
        """The element called ``name`` (case-insensitive); NetlistError if absent."""
        for el in self.elements:
            if el.name == name.lower():
                return el
        raise NetlistError(f"the netlist has no element {name!r}")

    def compile_kwargs(self) -> dict[str, Any]:
        """Keyword arguments that make ``compile_netlist(*to_circuit(), **kw)`` rewrite this deck."""
        return dict(beta=self.beta, target=self.target, nudge_ref=self.nudge_ref, form=self.form,
                    options=dict(self.options) or None, analysis=self.analysis, title=self.title,
                    probes=self.probes)

    def to_circuit(self) -> tuple[Circuit, np.ndarray, np.ndarray | None]:
        """``(circuit, g, x)``: exact for the full form, equivalent for the Norton form."""
        try:
            result = _build(self)
            if self.form == "full":
                _check_against(self, *result)  # recompiles: bad metadata arrays raise DataError there
        except NetlistError:
            raise
        except AnalogEqpropError as exc:  # a deck is text: whatever is wrong with it is a NetlistError
            raise NetlistError(f"the netlist describes no valid circuit: {exc}") from None
        return result


# ------------------------------------------------------------------------------ reading
def _fail(line: int, msg: str) -> NetlistError:
    return NetlistError(f"line {line}: {msg}")


def _number(token: str, line: int, what: str) -> float:
    """A number as ngspice reads it (:func:`~analog_eqprop.spice.numbers.spice_number`:
    ``10mil`` is 25.4e-5, ``353_006`` and ``１２３`` are refused), finite."""
    try:
        return spice_number(token)
    except NetlistError as exc:
        raise _fail(line, f"{what} {token!r} is not a number ({str(exc).split(': ', 1)[-1]})") from None


def _cards(text: str) -> list[tuple[int, str]]:
    """Logical cards (line number, text) after line 1, continuation lines joined."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not text.strip():
        raise NetlistError("the netlist is empty")
    if len(lines) < 2 or lines[1].rstrip() != FORMAT_LINE:
        raise _fail(2, f"not a netlist written by analog_eqprop (expected {FORMAT_LINE!r}); "
                       "foreign netlists are not supported")
    cards: list[tuple[int, str]] = []
    for i, raw in enumerate(lines[1:], start=2):
        line = raw.strip()
        if line.startswith("*#"):
            raise _fail(i, "'*#' lines are ngspice commands; refused")
        if line.startswith("+"):
            if not cards or cards[-1][1].startswith("*"):
                raise _fail(i, "continuation line '+' without a card to continue")
            cards[-1] = (cards[-1][0], cards[-1][1] + " " + line[1:].strip())
        elif line:
            cards.append((i, line))
    return cards


class _State:
    def __init__(self, title: str):
        self.title = title
        self.meta: dict[str, Any] = {}
        self.layers: tuple[str, ...] = ()
        self.x: list[float] | None = None
        self.free: list[tuple[str, str, str, int]] = []
        self.outputs: dict[int, tuple[str, str | None]] = {}
        self.sources: list[dict[str, Any]] = []
        self.amps: list[dict[str, Any]] = []
        self.ideal: set[str] = set()
        self.kind_meta: dict[str, list[tuple[int, list[str]]]] = {}
        self.nudge: dict[str, Any] = {}
        self.target: list[float] = []
        self.nudge_ref: list[float] = []
        self.layer: int | None = None
        self.elements: list[Element] = []
        self.model_text: list[str] = []
        self.options: dict[str, Any] = {}
        self.analysis: str | None = None
        self.probes = False
        self.ended = False


def _kv(tokens: list[str], line: int, required: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for tok in tokens:
        if "=" not in tok:
            raise _fail(line, f"metadata token {tok!r} is not key=value")
        k, v = tok.split("=", 1)
        out[k] = v
    missing = [k for k in required if k not in out]
    if missing:
        raise _fail(line, f"metadata lacks {', '.join(missing)}")
    return out


def _meta(st: _State, line: int, text: str) -> None:
    tokens = text[3:].split()
    if not tokens:
        raise _fail(line, "empty metadata line")
    key, args = tokens[0], tokens[1:]
    num = lambda tok, what: _number(tok, line, what)  # noqa: E731
    if key == "circuit":
        kv = _kv(args, line, ("name", "form", "n_features", "g_min", "g_max", "target_on", "target_off", "nudge"))
        if kv["form"] not in FORMS:
            raise _fail(line, f"unknown form {kv['form']!r}")
        st.meta = dict(name=decode_label(kv["name"]), form=kv["form"], n_features=int(num(kv["n_features"], "n")),
                       g_min=num(kv["g_min"], "g_min"), g_max=num(kv["g_max"], "g_max"),
                       target_on=num(kv["target_on"], "target_on"), target_off=num(kv["target_off"], "target_off"),
                       nudge=kv["nudge"])
    elif key == "layers":
        st.layers = tuple(decode_label(a) for a in args)
    elif key == "x":
        if args == ["none"]:
            st.x = None
        else:
            st.x = (st.x or []) + [num(a, "feature") for a in args]
    elif key == "sweep":
        raise _fail(line, "this is a sweep netlist (compile_sweep); parse_netlist reads .op netlists only: "
                          "compile the examples one by one with compile_netlist")
    elif key in ("free", "source", "amp"):
        if not args:
            raise _fail(line, f"@{key} needs a node name")
        node, req = args[0].lower(), {"free": ("label", "role", "layer"), "amp": ("label", "node"),
                                      "source": ("label", "kind", "feature", "gain", "offset")}[key]
        kv = _kv(args[1:], line, req)
        if not _NODE.fullmatch(node) or node == "0":
            raise _fail(line, f"bad node name {node!r}")
        if key == "free":
            st.free.append((node, decode_label(kv["label"]), decode_label(kv["role"]), int(num(kv["layer"], "layer"))))
        elif key == "amp":
            st.amps.append(dict(copy=node, label=decode_label(kv["label"]), node=kv["node"].lower(), line=line))
        else:
            st.sources.append(dict(node=node, label=decode_label(kv["label"]), kind=decode_label(kv["kind"]),
                                   feature=int(num(kv["feature"], "feature")), gain=num(kv["gain"], "gain"),
                                   offset=num(kv["offset"], "offset"), line=line))
    elif key == "output":
        kv = _kv(args[1:], line, ("pos", "neg"))
        k = int(num(args[0], "output index"))
        st.outputs[k] = (kv["pos"].lower(), None if kv["neg"] == "-" else kv["neg"].lower())
    elif key == "conductances":
        st.layer = int(num(_kv(args, line, ("layer",))["layer"], "layer"))
    elif key == "model":
        if args[1:] == ["ideal=1"]:
            st.ideal.add(args[0].lower())
    elif key == "nudge":
        kv = _kv(args, line, ("beta", "mode"))
        st.nudge = dict(beta=num(kv["beta"], "beta"), mode=kv["mode"])
    elif key in ("target", "nudge_ref"):
        getattr(st, key).extend(num(a, key) for a in args)
    elif key in _KIND_META:  # a kind's own metadata: its read() interprets it
        st.kind_meta.setdefault(key, []).append((line, args))
    else:
        raise _fail(line, f"unknown metadata '@{key}'")


def _dot(st: _State, line: int, text: str) -> None:
    word = text.split()[0].lower()
    if word == ".model":
        st.model_text.append(text)
    elif word in (".options", ".option"):
        for tok in text.split()[1:]:
            k, _, v = tok.partition("=")
            st.options[k.lower()] = option_value(v) if v else True
    elif word in (".save", ".print"):
        st.probes = True
    elif word == ".op":
        if st.analysis is not None:
            raise _fail(line, "a second analysis card")
        st.analysis = "op"
    elif word == ".end":
        st.ended = True
    elif word == ".dc":
        raise _fail(line, "a .dc analysis: sweep netlists (compile_sweep) cannot be parsed back")
    else:
        raise _fail(line, f"card {word!r} is not supported (analog_eqprop netlists hold only {_CARDS})")


def _element(st: _State, line: int, text: str) -> None:
    tokens = text.split()
    low = [t.lower() for t in tokens]
    name = low[0]
    m = _NAME.fullmatch(name)
    if name == "vidx" or (name.startswith("b") and not (m and m.group(1) in _ELEMENTS)):
        raise _fail(line, f"element {name!r} belongs to a sweep netlist (compile_sweep), which cannot be parsed back")
    if not m or m.group(1) not in _ELEMENTS:
        raise _fail(line, f"element {tokens[0]!r} is not one that analog_eqprop writes")
    prefix = m.group(1)
    spec = _ELEMENTS[prefix]
    n_fields, tail = spec.fields, spec.tail
    if n_fields is not None and len(tokens) != 1 + n_fields:
        raise _fail(line, f"element {name} needs {n_fields} fields (nodes, then {tail}), got {len(tokens) - 1}")
    if n_fields is None and len(tokens) < 2 + spec.nodes:
        raise _fail(line, f"element {name} needs {spec.nodes} nodes, then {tail}; got {len(tokens) - 1} fields")
    nodes = tuple(low[1:1 + spec.nodes])
    for node in nodes:
        if not _NODE.fullmatch(node):
            raise _fail(line, f"node name {node!r} is not [a-z][a-z0-9_]* or 0")
    value: float | None = None
    ref = None
    params: tuple[tuple[str, float], ...] = ()
    rest = tokens[1 + spec.nodes:]
    if tail == "model":
        ref = rest[0]
    elif tail == "model and params":
        ref = rest[0]
        pairs = []
        for tok in rest[1:]:
            key, eq, val = tok.partition("=")
            if not eq or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key):
                raise _fail(line, f"element {name}: parameter {tok!r} is not KEY=VALUE")
            pairs.append((key.lower(), _number(val, line, f"parameter {key} of {name}")))
        params = tuple(pairs)
    elif tail == "expression":
        key, eq, expr = rest[0].partition("=")
        if key.lower() != "i" or not eq or not expr:
            raise _fail(line, f"element {name} needs I=<expression>, got {rest[0]!r}")
        ref = expr
    else:
        value = _number(tokens[-1], line, f"value of {name}")
        if prefix in ("r", "rn", "ry") and value == 0.0:
            raise _fail(line, f"resistor {name} has 0 ohm")
        if tail == "source and gain":
            ref = low[1 + spec.nodes]
    st.elements.append(Element(line, name, nodes, value, ref, st.layer if prefix == "r" else None, params))


def parse_netlist(text: str) -> ParsedNetlist:
    """Parse a netlist written by :func:`~analog_eqprop.netlist.compile_netlist`.

    Raises
    ------
    NetlistError
        Naming the line and the problem, for anything the compiler does not write.
    """
    if not isinstance(text, str):
        raise NetlistError(f"netlist must be str, got {type(text).__name__}")
    title = text.replace("\r", "\n").split("\n", 1)[0].strip()
    st = _State(title)
    seen: set[str] = set()
    for line, card in _cards(text):
        if st.ended:
            raise _fail(line, "text after .end")
        if card.startswith("* @"):
            _meta(st, line, card)
        elif card.startswith("*"):
            continue
        elif card.startswith("."):
            _dot(st, line, card)
        elif card[0].isalpha():
            name = card.split()[0].lower()
            if name in seen:
                raise _fail(line, f"element {name} is defined twice")
            seen.add(name)
            _element(st, line, card)
        else:
            raise _fail(line, f"cannot read {card[:40]!r}")
    if not st.ended:
        raise NetlistError("the netlist has no .end line")
    if not st.meta:
        raise NetlistError("the netlist has no '* @circuit' metadata line")
    # What parse_netlist admits, the ngspice drivers admit too (the title line, the options).
    check_deck(text)
    return _finish(st)


def _finish(st: _State) -> ParsedNetlist:
    labels = [(lab, node) for node, lab, _, _ in st.free] + [(s["label"], s["node"]) for s in st.sources] + \
        [(a["label"], a["copy"]) for a in st.amps]
    names = NameMap.from_pairs(labels)
    known = set(names.names) | {"0"}
    helpers = set()
    for el in st.elements:  # nodes the compiler adds: amplifier internals, nudge targets, gate nodes
        if _ELEMENTS[el.prefix].helper:
            helpers.add(el.nodes[0])
    for el in st.elements:
        for node in el.nodes:
            if node not in known and node not in helpers:
                raise _fail(el.line, f"node {node!r} is not declared in the metadata")
    model_map = parse_model_cards("\n".join(st.model_text), source="netlist") if st.model_text else {}
    models = tuple(replace(m, ideal=True) if m.name.lower() in st.ideal else m for m in model_map.values())
    lower = {m.name.lower() for m in models}
    for el in st.elements:
        if el.prefix == "d" and el.ref.lower() not in lower:
            raise _fail(el.line, f"diode {el.name} uses model {el.ref!r}, which has no .model card")
    if sorted(st.outputs) != list(range(len(st.outputs))):
        raise NetlistError(f"output metadata must number 0..n-1, got {sorted(st.outputs)}")
    nudge = st.nudge
    return ParsedNetlist(
        title=st.title, form=st.meta["form"], circuit_name=st.meta["name"],
        info={k: st.meta[k] for k in ("n_features", "g_min", "g_max", "target_on", "target_off", "nudge")},
        layer_names=st.layers, names=names, free_nodes=tuple(f[0] for f in st.free),
        free_roles=tuple(f[2] for f in st.free), free_layers=tuple(f[3] for f in st.free),
        outputs=tuple(st.outputs[k] for k in sorted(st.outputs)), sources=tuple(st.sources), amps=tuple(st.amps),
        elements=tuple(st.elements), models=models, options=st.options, analysis=st.analysis, probes=st.probes,
        x=None if st.x is None else np.array(st.x), beta=float(nudge.get("beta", 0.0)),
        target=np.array(st.target) if nudge else None,
        nudge_ref=np.array(st.nudge_ref) if nudge and nudge["mode"] == "current" else None,
        model_cards=tuple(st.model_text), kind_meta=dict(st.kind_meta),
    )


# ------------------------------------------------------------------------------ circuit
def _conductance(r: float) -> float:
    """A g with ``1.0 / g == r`` (the nearest such double to 1/r), so values round-trip."""
    g = 1.0 / r
    cand = [g]
    up = down = g
    for _ in range(4):
        up, down = np.nextafter(up, np.inf), np.nextafter(down, -np.inf)
        cand += [float(up), float(down)]
    for c in cand:
        if 1.0 / c == r:
            return c
    return g


class Reader:
    """A parsed deck as the element kinds read it back (:meth:`~analog_eqprop.elements.base.ElementTable.read`):
    its cards by prefix, node names as the rebuilt circuit's terminals, metadata.

    The rebuilt circuit's terminals are the deck's free nodes, then its sources -- the kept
    ones (the Norton form's folded inputs are gone) and, in the Norton form, one bias rail per
    ``rn<j>`` / ``in<j>`` pair (labelled ``norton_<node label>``, at ``in<j> / g`` volts) --
    then the amplified copies.
    """

    def __init__(self, p: ParsedNetlist):
        self.p = p
        self.info, self.amps, self.outputs = p.info, p.amps, p.outputs
        self.ideal = {m.name.lower() for m in p.models if m.ideal}
        self._by: dict[str, dict[int, Element]] = {}
        for el in p.elements:
            self._by.setdefault(el.prefix, {})[el.index] = el
        nf, ns = len(p.free_nodes), len(p.sources)
        self.nf, self.ns = nf, ns
        self._term = {name: i for i, name in enumerate(p.names.names)}
        vs = self.by_prefix("vs")
        sources = [dict(s) for s in p.sources]
        keep: dict[int, int] = {}  # source index -> its index in the rebuilt circuit
        for s, src in enumerate(sources):
            el = vs.get(s)
            if el is None:
                if p.form == "full" or src["kind"] != "input":
                    raise _fail(src["line"], f"source {src['node']} has no element vs{s}")
                continue
            if el.nodes != (src["node"], "0"):
                raise _fail(el.line, f"vs{s} must connect {src['node']} to 0")
            if src["kind"] != "input":
                src["offset"] = el.value  # a hand-edited rail voltage is honoured
            keep[s] = len(keep)
        self._keep = keep
        self._rows = [sources[s] for s in keep]
        self._norton: list[tuple[tuple[int, int], float, int]] = []
        if p.form == "norton":
            # Each Norton pair becomes its Thevenin twin: g_j to a rail at I_j / g_j.
            n_in, taken = self.by_prefix("in"), set(p.names)
            for j, rn in sorted(self.by_prefix("rn").items()):
                cur = n_in.get(j)
                if cur is None or rn.nodes[1] != "0" or cur.nodes != ("0", rn.nodes[0]) or \
                        rn.nodes[0] not in self._term or self._term[rn.nodes[0]] >= nf:
                    raise _fail(rn.line, f"Norton pair rn{j}, in{j} is not wired as the compiler writes it")
                base = label = f"norton_{p.names.to_label(rn.nodes[0])}"
                i = 0
                while label in taken:
                    i += 1
                    label = f"{base}_{i}"
                taken.add(label)
                gj = self.conductance(rn.value)
                self._rows.append(dict(label=label, kind="bias", feature=-1, gain=0.0, offset=cur.value / gj))
                node = self._term[rn.nodes[0]]
                self._norton.append(((node, nf + len(self._rows) - 1), gj, p.free_layers[node]))

    def by_prefix(self, prefix: str) -> dict[int, Element]:
        """The cards ``<prefix><k>`` by index ``k``."""
        return dict(self._by.get(prefix, {}))

    def terminal(self, node: str) -> int:
        """The rebuilt circuit's terminal of node ``node`` (ground: -1)."""
        if node == "0":
            return GROUND
        t = self._term[node]
        nf, ns = self.nf, self.ns
        if nf <= t < nf + ns:
            if t - nf not in self._keep:
                raise NetlistError(f"node {node} is a folded input source; only the full form can use it")
            return nf + self._keep[t - nf]
        return t if t < nf else t - ns + len(self._rows)

    def is_free(self, node: str) -> bool:
        return self._term.get(node, self.nf) < self.nf

    def source_rows(self) -> list[dict[str, Any]]:
        """The rebuilt circuit's sources: ``label, kind, feature, gain, offset`` each."""
        return self._rows

    def norton_pairs(self) -> list[tuple[tuple[int, int], float, int]]:
        """Per Norton pair: its (free node, rail) terminals, conductance [S] and layer."""
        return self._norton

    @staticmethod
    def conductance(r: float) -> float:
        """A g with ``1.0 / g == r`` (the nearest such double to 1/r), so values round-trip."""
        return _conductance(r)

    def model_text(self, types: tuple[str, ...]) -> str:
        """The deck's ``.model`` cards (all of them: a kind's reader picks its types)."""
        return "\n".join(self.p.model_cards)

    def meta(self, key: str) -> list[tuple[int, list[str]]]:
        """A kind's ``* @key ...`` metadata lines: (line number, tokens after the key)."""
        return list(self.p.kind_meta.get(key, ()))

    @staticmethod
    def number(token: str, line: int, what: str) -> float:
        """A number of the deck, as ngspice reads it (NetlistError naming the line)."""
        return _number(token, line, what)

    @staticmethod
    def fail(line: int, msg: str) -> NetlistError:
        return _fail(line, msg)


def _build(p: ParsedNetlist) -> tuple[Circuit, np.ndarray, np.ndarray | None]:
    reader = Reader(p)
    tables = {k.kind: k.read(reader) for k in KINDS}
    circuit = Circuit(
        name=p.circuit_name, nodes=tuple(p.names.to_label(n) for n in p.free_nodes), node_role=p.free_roles,
        node_layer=list(p.free_layers), n_features=p.info["n_features"], g_min=p.info["g_min"],
        g_max=p.info["g_max"], target_on=p.info["target_on"], target_off=p.info["target_off"],
        layer_names=p.layer_names, elements=tables,
    )
    x = None if p.x is None else p.x.copy()
    if x is not None and x.shape != (circuit.n_features,):
        raise NetlistError(f"@x lists {x.size} features, the circuit has {circuit.n_features}")
    return circuit, np.array(circuit.edge_g, dtype=np.float64), x


def _check_against(p: ParsedNetlist, circuit: Circuit, g: np.ndarray, x: np.ndarray | None) -> None:
    """Recompile and compare every element: what the metadata implies must be what is written."""
    again = parse_netlist(compile_netlist(circuit, g, x, **p.compile_kwargs()).text)
    mine = {el.name: el for el in p.elements}
    for el in again.elements:
        have = mine.pop(el.name, None)
        if have is None:
            raise NetlistError(f"element {el.name} is missing from the netlist")
        if (have.nodes, have.ref) != (el.nodes, el.ref) or have.value != el.value:
            raise _fail(have.line, f"element {have.name} ({have.nodes}, {have.value!r}) differs from what the "
                                   f"metadata implies ({el.nodes}, {el.value!r}); edit the '* @' metadata "
                                   "(x, target, nudge_ref) rather than input or nudge values")
    if mine:
        el = min(mine.values(), key=lambda e: e.line)
        raise _fail(el.line, f"element {el.name} does not belong to the circuit the metadata describes")
