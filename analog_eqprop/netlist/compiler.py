r"""Circuit -> SPICE netlist text, one example (``.op``) or many in one ``.dc`` sweep.

:func:`compile_netlist` writes a :class:`~analog_eqprop.circuits.Circuit` with a
conductance vector and one example's features as a deck that ``ngspice -b`` runs as it
is; :func:`compile_sweep` writes many examples into one analysis. Both return a
:class:`Netlist`, which also knows how to read the free-node voltages back from the
simulator's vectors.

Element stamps (ngspice sign conventions, checked against a dense solve in the tests):

* source ``k``: ``vs<k> node 0 V`` with ``V = gain * x[feature] + offset``;
* conductance ``k``: ``r<k> a b 1/g`` [ohm], the value printed with ``repr`` precision;
* diode ``k``: ``d<k> anode cathode MODEL``;
* amplifier ``k`` on neuron ``n`` with copy ``c``: ``e<k> c_int 0 n 0 A`` (VCVS),
  ``va<k> c_int c 0`` (ammeter: ``I(va<k>)`` is the current the copy drives into the
  network) and ``f<k> n 0 va<k> back_gain`` (CCCS: a current ``back_gain * I(va<k>)``
  flows from ``n`` through the source to ground, i.e. is drawn from the neuron);
* nudging, ``nudge="current"``: ``iy<k> 0 pos I`` injects ``I = -beta dC/dV(pos)`` into the
  output node (an ``I`` card's current leaves through its second node), ``iz<k> 0 neg -I``
  for a differential pair; ``nudge="resistive"``: ``ry<k> pos t 1/beta`` and
  ``vy<k> t neg|0 target``.

The *Norton form* (``form="norton"``) replaces every input source and its resistors by,
per free node ``j``, one conductance ``rn<j> j 0 1/sum(g)`` and one current source
``in<j> 0 j sum(g V)``: exact for ideal sources, and much faster in ngspice because the
sparse matrix loses all input rows (``docs/PHYSICS.md`` section 4). Bias rails stay.

The sweep form adds an index source ``vidx idx 0 0`` swept by ``.dc vidx 0 B-1 1`` and
writes every input-dependent value as a behavioural source ``B ... =pwl(v(idx), 0, y0, 1,
y1, ...)``. ngspice's ``pwl()`` (``PTpwl``) returns ``y_k`` exactly at an interior
abscissa ``k``, but interpolates at the last one, so the table repeats its last value at
``B``. With ``repeats`` r (r solves per example), example ``k`` is the points ``v(idx) = k r ..
k r + r - 1`` and its table holds ``(k r, y_k)`` and ``(k r + r - 1, y_k)``: a flat segment, on
which ``pwl()`` returns ``y_k`` exactly wherever the sweep lands, with two points per example
instead of r (shorter decks parse faster, the values ngspice sees are the same).

A *bare* sweep (``compile_sweep(..., comments=False)``) drops every comment and metadata line:
for decks only the simulator reads (the ngspice backend's), which parse faster.

Labels never reach the netlist verbatim (see :mod:`analog_eqprop.spice.names`).

A *transient* deck (``compile_netlist(..., transient=Transient(...))``, one example) adds a
capacitor ``cn<j> node 0 C`` to every free node with a capacitance, ``.ic`` lines holding the
free nodes at their starting voltages, and ``.tran t_step t_stop 0 t_step`` instead of
``.op``: ngspice finds the initial operating point with the free nodes held at the ``.ic``
values (so amplifier and diode internals start consistent), then lets them go with the
sources (and the nudge) on: the run is the step response of that phase. Decks without it are
unchanged, byte for byte.

Examples
--------
>>> from analog_eqprop.circuits import layered_circuit
>>> c = layered_circuit([2, 2, 1], seed=0, clamp=None)
>>> net = compile_netlist(c, x=[0.5, 1.0], options={"reltol": 1e-6})
>>> net.free_nodes, net.node_names["y0"]
(('h1_0', 'h1_1', 'y0'), 'y0')
>>> [line for line in net.lines if line.startswith(("vs0", "r0 ", ".o"))]
['vs0 x0p 0 0.5', 'r0 x0p h1_0 148529.8106600345', '.options reltol=1e-06', '.op']
>>> norton = compile_netlist(c, x=[0.5, 1.0], form="norton")
>>> sum(line.startswith("r") for line in norton.lines), sum(line.startswith("rn") for line in norton.lines)
(10, 2)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from analog_eqprop.circuits.description import Circuit
from analog_eqprop.errors import ConfigError, DataError, NetlistError, SimulationError
from analog_eqprop.spice.names import (
    NameMap,
    comment_text,
    encode_label,
    format_number,
    title_text,
    unique_name,
)
from analog_eqprop.validation import array, real

__all__ = ["Netlist", "Deck", "compile_netlist", "compile_sweep", "FORMS", "FORMAT_LINE", "Transient"]

FORMS = ("full", "norton")
#: Line 2 of every netlist written here; :func:`~analog_eqprop.netlist.parse_netlist` looks for it.
FORMAT_LINE = "* analog_eqprop netlist, format 1"
_PER_LINE = 8  # numbers per metadata or pwl line, nodes per .save/.print line
_OPTION_VALUE = r"[A-Za-z0-9_.+-]+"


@dataclass(frozen=True, eq=False)
class Transient:
    """What a transient deck adds (see the module docstring).

    Attributes
    ----------
    t_stop : float
        End of the simulated time [s].
    t_step : float
        Print step and largest internal time step [s].
    capacitance : array (n_free,)
        Capacitance from every free node to ground [F]; 0 writes no capacitor.
    v0 : array (n_free,), optional
        Starting free-node voltages [V] (the ``.ic`` values); default 0 V everywhere.
    """

    t_stop: float
    t_step: float
    capacitance: tuple[float, ...] | np.ndarray
    v0: tuple[float, ...] | np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class Netlist:
    """A compiled deck and what is needed to read its results.

    Attributes
    ----------
    text : str
        The deck, newline-terminated, ending with ``.end``.
    names : NameMap
        Labels of all terminals (free nodes, sources, amplified copies) <-> node names.
    free_labels, free_nodes : tuple of str
        The free nodes' labels and node names, in the circuit's free-node order.
    form : {"full", "norton"}
    analysis : {"op", "dc"} or None
        ``"dc"`` for a sweep.
    n_points : int
        Examples in the deck (1 for ``.op``).
    sweep_source : str or None
        The swept index source (``"vidx"``) of a sweep.
    """

    text: str
    names: NameMap
    free_labels: tuple[str, ...]
    free_nodes: tuple[str, ...]
    form: str
    analysis: str | None
    n_points: int = 1
    sweep_source: str | None = None
    repeats: int = 1

    @property
    def node_names(self) -> dict[str, str]:
        """Free-node label -> node name."""
        return dict(zip(self.free_labels, self.free_nodes))

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    @property
    def n_lines(self) -> int:
        return self.text.count("\n")

    def free_voltages(self, vectors: Mapping[str, np.ndarray]) -> np.ndarray:
        """Free-node voltages [V], ``(n_points, n_free)``, from a run's vectors.

        ``vectors`` is :attr:`NgspiceRun.vectors` (keys: lowercase node names, and
        ``"v-sweep"`` for a sweep, whose values say which example each point is). For a
        transient deck the rows are the time points (``vectors["time"]``).
        """
        try:
            cols = [np.asarray(vectors[name], dtype=np.float64).reshape(-1) for name in self.free_nodes]
        except KeyError as exc:
            raise SimulationError(f"node {exc.args[0]!r} is not among the simulator's vectors "
                                  f"({len(vectors)} present)") from None
        v = np.stack(cols, axis=1) if cols else np.zeros((self.n_points, 0))
        if self.analysis == "tran":
            return v
        if v.shape[0] != self.n_points * self.repeats:
            raise SimulationError(f"expected {self.n_points * self.repeats} points, got {v.shape[0]}")
        if self.sweep_source is not None:
            order = np.rint(np.asarray(vectors["v-sweep"], dtype=np.float64)).astype(np.int64)
            # each example is solved `repeats` times in a row; the last solve is the answer
            last = order % self.repeats == self.repeats - 1
            order, v = order[last] // self.repeats, v[last]
            if sorted(order.tolist()) != list(range(self.n_points)):
                raise SimulationError("the sweep points are not the examples 0 .. n_points-1")
            out = np.empty_like(v)
            out[order] = v
            return out
        return v

    def write(self, path: str | Path) -> Path:
        """Write :attr:`text` to ``path`` (UTF-8, ``\\n`` line ends); return the path."""
        p = Path(path)
        p.write_text(self.text, encoding="utf-8", newline="\n")
        return p


# ------------------------------------------------------------------------------ checks
def _batch(a, n: int, what: str, batch: int | None = None) -> np.ndarray:
    """``(batch, n)`` from ``(n,)`` (one example) or ``(batch, n)``: DataError naming ``what``
    for any other shape or a NaN / inf (the arrays a call hands over, as every backend checks them)."""
    want = f"({n},)" if batch in (None, 1) else f"({batch}, {n})"
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:  # text, ragged lists: a DataError like every backend's
        raise DataError(f"{what} must be an array of numbers of shape {want}: {exc}") from None
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != n or (batch is not None and arr.shape[0] != batch):
        raise DataError(f"{what} must have shape {want}, got {np.shape(a)}")
    array(a, what, np.shape(a))  # a NaN / inf, named by its index in the array as given
    return arr


def checked_conductances(circuit: Circuit, g) -> np.ndarray:
    """``g`` (default ``circuit.edge_g``) checked: ``(n_edges,)``, finite, > 0 [S]."""
    return array(circuit.edge_g if g is None else g, "g", (circuit.n_edges,), positive=True)


def _options_line(options: Mapping[str, object] | None) -> list[str]:
    if not options:
        return []
    parts = []
    for key, value in options.items():
        if not (isinstance(key, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key)):
            raise NetlistError(f"option name {key!r} is not letters, digits and '_'")
        key = key.lower()
        if value is True:
            parts.append(key)
        elif value is False or value is None:
            continue
        elif isinstance(value, (int, np.integer)):
            parts.append(f"{key}={int(value)}")
        elif isinstance(value, (float, np.floating)):
            parts.append(f"{key}={format_number(value, f'option {key}')}")
        elif isinstance(value, str) and re.fullmatch(_OPTION_VALUE, value):
            parts.append(f"{key}={value}")
        else:
            raise NetlistError(f"option {key}: value {value!r} must be a number, True, or a word of "
                               "letters, digits and _.+-")
    return [".options " + " ".join(parts)] if parts else []


def _chunks(items: list[str], n: int = _PER_LINE) -> list[list[str]]:
    return [items[i:i + n] for i in range(0, len(items), n)]


def _numbers(key: str, values: np.ndarray) -> list[str]:
    vals = [format_number(v, key) for v in np.asarray(values, dtype=np.float64).reshape(-1)]
    return [f"* @{key} " + " ".join(c) for c in _chunks(vals)] or [f"* @{key}"]


# ------------------------------------------------------------------------------ writer
@functools.lru_cache(maxsize=16)
def _name_map(labels: tuple[str, ...]) -> NameMap:
    """The terminals' node names: the same labels always give the same map, which nothing
    changes after it is built, so a worker compiling deck after deck of one circuit builds it once."""
    return NameMap(labels)


class Deck:
    """The lines of one deck being written, and what an element kind needs to write its cards
    (:meth:`analog_eqprop.elements.base.ElementTable.write`).

    Attributes
    ----------
    c : Circuit
    g : ndarray (n_edges,)
        The conductances [S] being written.
    v_src : ndarray (batch, n_sources)
        Every example's source voltages [V].
    form : {"full", "norton"}
    sweep : bool
        A ``.dc`` sweep over the examples: values that differ per example are ``pwl()`` tables
        (:meth:`value`).
    folded : ndarray of bool (n_sources,)
        Input sources the Norton form folds away (no element; nothing may touch them).
    names : NameMap
        Terminal labels <-> node names; :meth:`name` gives a terminal's.
    taken : set of str
        Node names in use (:func:`~analog_eqprop.spice.names.unique_name` adds helper nodes).
    idx : str or None
        The sweep's index node.
    beta, target, nudge_ref, nudge_current, batch
        The phase's nudge (see :func:`compile_netlist`) and the number of examples.
    """

    repeats = 1
    #: True: comment and metadata lines are dropped as they are added (a deck only a simulator reads)
    bare = False

    def __init__(self, circuit: Circuit, g: np.ndarray, form: str, sweep: bool, v_src: np.ndarray,
                 folded: np.ndarray):
        if form not in FORMS:
            raise ConfigError(f"netlist form must be one of {FORMS}, got {form!r}")
        self.c, self.g, self.form, self.sweep = circuit, g, form, sweep
        self.v_src, self.folded = v_src, folded
        self.batch = v_src.shape[0]
        self.beta, self.target, self.nudge_ref, self.nudge_current = 0.0, None, None, None
        self.names = _name_map(tuple(circuit.terminal_labels()))
        self.term = list(self.names.names) + ["0"]  # index -1 is ground
        self.taken = set(self.names.names)
        self.idx = unique_name("idx", self.taken) if sweep else None
        self.lines: list[str] = []

    def name(self, t: int) -> str:
        """The node name of terminal ``t`` (``"0"`` for ground)."""
        return self.term[int(t)]

    def add(self, *lines: str) -> None:
        if self.bare:
            self.lines.extend(line for line in lines if line[:1] != "*")
        else:
            self.lines.extend(lines)

    def section(self, *comments: str) -> None:
        if self.bare:
            return
        self.lines.append("*")
        self.lines.extend(f"* {comment_text(text, 300)}" for text in comments)

    @staticmethod
    def rows(a, n: int, what: str, batch: int | None = None) -> np.ndarray:
        """``a`` as ``(batch, n)``, checked (see :func:`_batch`)."""
        return _batch(a, n, what, batch)

    @staticmethod
    def numbers(key: str, values: np.ndarray) -> list[str]:
        """Metadata lines ``* @key v1 v2 ...`` (8 numbers per line)."""
        return _numbers(key, values)

    def value(self, name: str, nodes: str, kind: str, values: np.ndarray, what: str) -> None:
        """An element whose value may differ per example: a number, or a pwl B source."""
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        if not self.sweep:
            self.add(f"{name} {nodes} {format_number(values[0], what)}")
            return
        self.add(*self.tables([name], [nodes], kind, values[:, None], [what])[0])

    def tables(self, names: list[str], nodes: list[str], kind: str, values: np.ndarray,
               what: list[str]) -> list[list[str]]:
        """The lines of many per-example elements of a sweep at once: ``values`` ``(batch,
        len(names))``, column ``i`` the pwl table of element ``b<names[i]>`` between ``nodes[i]``."""
        values = np.asarray(values, dtype=np.float64)
        finite = np.isfinite(values)
        if not finite.all():
            format_number(values[~finite][0], what[int(np.argmin(finite.all(axis=0)))])  # raises, naming it
        r, idx = self.repeats, self.idx
        # example k holds v(idx) = k r .. k r + r - 1: a flat segment, so two points per example (see
        # the module docstring); the table ends one past the last point. repr: as format_number writes.
        xs = [(f"{k * r}, ", f", {k * r + r - 1}, ") for k in range(values.shape[0])]
        per_line = 4 if r == 1 else 2
        end = f"{values.shape[0] * r}, "
        out = []
        for name, node, col in zip(names, nodes, values.T.tolist()):
            ys = list(map(repr, col))
            pts = [f"{a}{y}{b}{y}" for (a, b), y in zip(xs, ys)] if r > 1 else [f"{a}{y}" for (a, _), y in zip(xs, ys)]
            pts.append(end + ys[-1])
            lines = [f"b{name} {node} {kind}=pwl(v({idx}),"]
            lines += ["+ " + ", ".join(pts[i:i + per_line]) + "," for i in range(0, len(pts), per_line)]
            lines[-1] = lines[-1][:-1] + ")"
            out.append(lines)
        return out


def _header(d: Deck, form: str, analysis: str | None, title: str | None, n_points: int,
            x: np.ndarray | None) -> None:
    c = d.c
    roles = {r: c.node_role.count(r) for r in dict.fromkeys(c.node_role)}
    kinds = {k: c.source_kind.count(k) for k in dict.fromkeys(c.source_kind)}
    d.lines.append(title_text(title if title is not None else f"analog_eqprop {c.name}"))  # kept when bare
    d.add(FORMAT_LINE)
    what = "one .op" if analysis == "op" else f"a .dc sweep over {n_points} examples" if d.sweep else \
        "a .tran step response" if analysis == "tran" else "no analysis"
    d.add(
        "* " + comment_text(f"circuit {c.name}: {c.n_free} free nodes ("
                            + ", ".join(f"{n} {r}" for r, n in roles.items()) + f"), {c.n_sources} sources ("
                            + ", ".join(f"{n} {k}" for k, n in kinds.items()) + f"), {c.n_amps} amplifiers,", 300),
        f"* {c.n_edges} conductances, {c.n_diodes} diodes; {form} form, {what}.",
    )
    others = [f"{len(t)} {t.noun}s" for t in c.tables(nonempty=True) if not t.legacy]
    if others:  # kinds of later versions: decks without them stay byte-identical
        d.add("* " + comment_text("also: " + ", ".join(others) + ".", 300))
    d.add(
        "* Node names are the circuit's labels made safe for SPICE (ngspice lowercases them).",
        "* Lines starting with '* @' are metadata that analog_eqprop.netlist.parse_netlist reads",
        "* back (labels percent-encoded): edit element values in place and keep those lines.",
    )
    d.add(f"* @circuit name={encode_label(c.name)} form={form} n_features={c.n_features} "
          f"g_min={format_number(c.g_min)} g_max={format_number(c.g_max)} "
          f"target_on={format_number(c.target_on)} target_off={format_number(c.target_off)} nudge={c.nudge}")
    d.add("* @layers " + " ".join(encode_label(s) for s in c.layer_names) if c.layer_names else "* @layers")
    if d.sweep:
        d.add(f"* @sweep points={n_points} source=vidx")
    else:
        d.add(*(_numbers("x", x) if x is not None else ["* @x none"]))


def _free_nodes(d: Deck) -> None:
    c = d.c
    d.section("free nodes: the unknown voltages [V]")
    layer = None
    for j, label in enumerate(c.nodes):
        lay = int(c.node_layer[j])
        if lay != layer:
            layer = lay
            run = [k for k in range(j, c.n_free) if int(c.node_layer[k]) == lay]
            run = run[: next((i for i, k in enumerate(run) if k != j + i), len(run))]
            roles = "/".join(dict.fromkeys(c.node_role[k] for k in run))
            lname = c.layer_names[lay] if 0 <= lay < len(c.layer_names) else f"layer {lay}"
            d.add("* " + comment_text(f"layer {lay} ({lname}): {len(run)} {roles} nodes"))
        d.add(f"* @free {d.name(j)} label={encode_label(label)} role={encode_label(c.node_role[j])} layer={lay}")
    for t in c.tables():
        t.header(d)


def _transient(d: Deck, tr: Transient) -> list[str]:
    """Write the node capacitors; return the ``.ic`` lines and the ``.tran`` card."""
    c = d.c
    cap = _batch(tr.capacitance, c.n_free, "transient capacitance")[0]
    v0 = np.zeros(c.n_free) if tr.v0 is None else _batch(tr.v0, c.n_free, "transient v0")[0]
    if np.any(cap < 0):
        raise NetlistError("transient capacitances must be >= 0 F")
    t_stop, t_step = (format_number(float(v), name) for v, name in ((tr.t_stop, "t_stop"), (tr.t_step, "t_step")))
    if not 0 < float(tr.t_step) <= float(tr.t_stop):
        raise NetlistError(f"transient needs 0 < t_step <= t_stop, got {tr.t_step!r}, {tr.t_stop!r} s")
    d.section("node capacitances to ground [F] (transient run)")
    for j in np.flatnonzero(cap > 0):
        d.add(f"cn{j} {d.name(j)} 0 {format_number(cap[j], f'capacitance {j}')}")
    ic = [f"v({d.name(j)})={format_number(v0[j], f'initial voltage {j}')}" for j in range(c.n_free)]
    return [".ic " + " ".join(ch) for ch in _chunks(ic)] + [f".tran {t_step} {t_stop} 0 {t_step}"]


def _compile(circuit: Circuit, g, X: np.ndarray | None, *, beta: float, target, nudge_ref, form: str,
             options, analysis: str | None, title: str | None, probes: bool | str, sweep: bool,
             repeats: int = 1, transient: Transient | None = None, nudge_current=None,
             nodeset=None, comments: bool = True) -> Netlist:
    if not isinstance(circuit, Circuit):
        raise NetlistError(f"expected a Circuit, got {type(circuit).__name__}")
    if analysis not in ("op", None):
        raise NetlistError(f"analysis must be 'op' or None, got {analysis!r}")
    beta = real(beta, "beta")
    c = circuit
    g = checked_conductances(c, g)
    batch = 1 if X is None else X.shape[0]
    v_src = np.broadcast_to(c.source_offset, (batch, c.n_sources)).copy()
    is_input = c.element("source").is_input
    v_src[:, is_input] = 0.0  # x=None: 0 V inputs
    if X is not None:
        v_src = c.source_voltages(X)
    d = Deck(c, g, form, sweep, v_src, is_input & (form == "norton"))
    d.bare = not comments
    if probes not in (True, False, "save"):
        raise NetlistError(f"probes must be True, False or 'save', got {probes!r}")
    if repeats < 1:
        raise NetlistError(f"repeats must be >= 1, got {repeats!r}")
    d.repeats = int(repeats)
    d.beta, d.target, d.nudge_ref, d.nudge_current = beta, target, nudge_ref, nudge_current
    _header(d, form, "tran" if transient is not None else "dc" if sweep else analysis, title, batch,
            None if X is None or sweep else X[0])
    _free_nodes(d)
    for table in c.tables():  # sources (and the sweep index), amplifiers, conductances, diodes, ..., the nudge
        table.write(d)
    tran = _transient(d, transient) if transient is not None else []
    tail = [line for table in c.tables() for line in table.model_cards()] + _options_line(options)
    if nodeset is not None:
        v = _batch(nodeset, c.n_free, "nodeset", 1)[0]
        ns = [f"v({d.name(j)})={format_number(v[j], f'nodeset {j}')}" for j in range(c.n_free)]
        tail += [".nodeset " + " ".join(ch) for ch in _chunks(ns)]
    if probes:
        probe = [f"v({n})" for n in d.names.names[: c.n_free]]
        tail += [".save " + " ".join(ch) for ch in _chunks(probe)]
        kind = "tran" if tran else "dc" if sweep else "op"
        if probes is True:
            tail += [f".print {kind} " + " ".join(ch) for ch in _chunks(probe)]
    if tran:
        tail += tran
    elif sweep:
        tail.append(f".dc vidx 0 {batch * d.repeats - 1} 1")
    elif analysis == "op":
        tail.append(".op")
    d.section("models, options, outputs, analysis")
    d.add(*tail, ".end")
    return Netlist(text="\n".join(d.lines) + "\n", names=d.names, free_labels=tuple(c.nodes),
                   free_nodes=d.names.names[: c.n_free], form=form,
                   analysis="tran" if tran else "dc" if sweep else analysis,
                   n_points=batch, sweep_source="vidx" if sweep else None, repeats=d.repeats)


def compile_netlist(
    circuit: Circuit,
    g: np.ndarray | None = None,
    x: np.ndarray | None = None,
    *,
    beta: float = 0.0,
    target: np.ndarray | None = None,
    nudge_ref: np.ndarray | None = None,
    form: Literal["full", "norton"] = "full",
    options: Mapping[str, object] | None = None,
    analysis: Literal["op"] | None = "op",
    title: str | None = None,
    probes: bool = True,
    transient: Transient | None = None,
    nudge_current: np.ndarray | None = None,
    nodeset: np.ndarray | None = None,
) -> Netlist:
    """Write one example's deck for ``circuit``.

    Parameters
    ----------
    circuit : Circuit
    g : array (n_edges,), optional
        Conductances [S]; default ``circuit.edge_g``.
    x : array (n_features,), optional
        The example's features; ``None`` writes 0 V on every input source.
    beta : float
        Nudge strength; 0 writes no nudging elements.
    target : array (n_outputs,), optional
        One-hot or soft target (mapped to volts by ``circuit.targets``); needed if beta != 0.
    nudge_ref : array (n_free,), optional
        Free-phase free-node voltages [V]; needed for ``circuit.nudge == "current"``.
    form : {"full", "norton"}
        ``"norton"`` folds the input sources (see the module docstring).
    options : mapping, optional
        ``.options`` entries, e.g. ``{"reltol": 1e-6, "vntol": 1e-9}`` (True: a bare flag).
    analysis : "op" or None
        The analysis card; None writes none (for drivers that run ``op`` themselves).
    title : str, optional
        Title line (made safe); default ``"analog_eqprop <circuit name>"``.
    probes : bool
        Write ``.save`` and ``.print`` lines for the free nodes, so that ``ngspice -b``
        prints them and the result holds no other vectors.
    transient : Transient, optional
        Write a transient run (node capacitors, ``.ic``, ``.tran``) instead of the
        ``.op`` (``analysis`` must then be ``"op"``, its default).
    nudge_current : array (n_outputs,), optional
        Current-mode nudging with these currents [A] into the outputs (``-beta dC/dV`` of any
        loss) instead of the squared error's from ``target`` and ``nudge_ref``, which are then
        not needed. Such decks carry ``@nudge_current`` metadata, which
        :func:`~analog_eqprop.netlist.parse_netlist` does not read back.
    nodeset : array (n_free,), optional
        Free-node voltages [V] written as ``.nodeset`` lines: ngspice's Newton iteration
        for the ``.op`` starts there (a convergence aid; the solution does not depend on it).

    Returns
    -------
    Netlist

    Raises
    ------
    DataError
        For an array of the wrong shape or with a NaN / inf (``g``, ``x``, ``target``, ...), a
        missing ``target`` (``beta != 0``) or ``nudge_ref`` (current-mode nudging).
    ConfigError
        For a non-finite ``beta``, nudge currents on a resistive-nudging circuit, or a circuit
        the Norton form cannot fold (as the ngspice backend's ``form="norton"``).
    NetlistError
        For unsafe model or option text.

    Examples
    --------
    >>> from analog_eqprop.circuits import kendall_circuit
    >>> c = kendall_circuit(2, 2, 1, seed=0)
    >>> net = compile_netlist(c, x=[0.5, 0.5], beta=1e-6, target=[1.0], nudge_ref=[0.0] * c.n_free)
    >>> [line for line in net.lines if line.startswith(("e0", "va0", "f0", "iy0", "iz0"))]
    ['e0 h1_0_amp_int 0 h1_0 0 4.0', 'va0 h1_0_amp_int h1_0_amp 0', 'f0 h1_0 0 va0 0.25', 'iy0 0 y0p 1e-07', 'iz0 0 y0n -1e-07']
    """
    X = None if x is None else _batch(x, circuit.n_features, "x", 1)
    if transient is not None and analysis != "op":
        raise NetlistError(f"a transient deck replaces the .op: leave analysis='op', got {analysis!r}")
    return _compile(circuit, g, X, beta=beta, target=target, nudge_ref=nudge_ref, form=form, options=options,
                    analysis=analysis, title=title, probes=probes, sweep=False, transient=transient,
                    nudge_current=nudge_current, nodeset=nodeset)


def compile_sweep(
    circuit: Circuit,
    g: np.ndarray | None,
    X: np.ndarray,
    *,
    beta: float = 0.0,
    target: np.ndarray | None = None,
    nudge_ref: np.ndarray | None = None,
    form: Literal["full", "norton"] = "full",
    options: Mapping[str, object] | None = None,
    title: str | None = None,
    probes: bool | Literal["save"] = False,
    repeats: int = 1,
    nudge_current: np.ndarray | None = None,
    comments: bool = True,
) -> Netlist:
    """Write ``B`` examples into one deck: a ``.dc`` sweep of the index source ``vidx``.

    Parameters are those of :func:`compile_netlist`, batched: ``X`` is ``(B, n_features)``,
    ``target`` ``(B, n_outputs)``, ``nudge_ref`` ``(B, n_free)`` and ``nudge_current``
    ``(B, n_outputs)``. The result's
    :meth:`Netlist.free_voltages` returns ``(B, n_free)`` in example order.

    ``repeats`` solves every example that many times in a row and keeps the last solve:
    ngspice converges a sweep point only to its tolerances *from the previous point's
    solution*, which with sharp diodes leaves ~1e-6 V at default options; a second solve of
    the same point, started from the first, polishes it to the level of a fresh ``.op``.

    ``comments=False`` writes no comment or metadata line (module docstring), and
    ``probes="save"`` only the ``.save`` lines of the free nodes (ngspice then keeps no other
    vector but the sweep scale): the ngspice backend's decks, which nobody reads.

    Examples
    --------
    >>> from analog_eqprop.circuits import layered_circuit
    >>> c = layered_circuit([2, 2, 1], seed=0, clamp=None)
    >>> net = compile_sweep(c, None, [[0.0, 1.0], [1.0, 0.5]], form="norton")
    >>> [line for line in net.lines if "pwl" in line or line.startswith((".dc", "+"))][:3]
    ['bn0 0 h1_0 I=pwl(v(idx),', '+ 0, 1.8597101708978342e-06, 1, 6.293748555916254e-06, 2, 6.293748555916254e-06)', 'bn1 0 h1_1 I=pwl(v(idx),']
    """
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"X must be an array of numbers of shape (B, {circuit.n_features}): {exc}") from None
    if X.ndim != 2 or X.shape[0] < 1:
        raise DataError(f"X must have shape (B, {circuit.n_features}) with B >= 1, got {X.shape}")
    X = _batch(X, circuit.n_features, "X", X.shape[0])
    return _compile(circuit, g, X, beta=beta, target=target, nudge_ref=nudge_ref, form=form, options=options,
                    analysis="op", title=title, probes=probes, sweep=True, repeats=repeats,
                    nudge_current=nudge_current, comments=comments)
