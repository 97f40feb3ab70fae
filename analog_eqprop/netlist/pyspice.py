r"""Circuit -> a PySpice ``Circuit`` object, built with PySpice's own element API.

:func:`to_pyspice` hands a compiled network to a PySpice user: the same elements, names and
values as :func:`~analog_eqprop.netlist.compile_netlist`'s full form (one example, one
operating point), made by PySpice's element methods -- ``circuit.V`` for the sources,
``circuit.R`` for the conductances, ``circuit.model`` and ``circuit.D`` for the diodes,
``circuit.VCVS``, ``circuit.V`` (the 0 V ammeter) and ``circuit.CCCS`` for each amplifier,
``circuit.I`` (current nudging) or ``circuit.R`` + ``circuit.V`` (resistive nudging) -- so it
can be edited element by element (``ckt.R3.resistance = 1e5``), combined with the user's own
subcircuits and simulated from their own scripts. :func:`pyspice_free_voltages` reads the free
nodes back from a PySpice operating point, in the circuit's order.

PySpice is imported only when these functions run (``pip install analog_eqprop[spice]``).

What PySpice 1.5 does with ngspice 39 (see the README's "PySpice" section):

* its ``ngspice-shared`` simulator works (the tests compare it with the NumPy twin to 1e-6 V
  at ``reltol=1e-6 vntol=1e-9``); it logs "Unsupported Ngspice version 39", which is harmless;
* its ``ngspice-subprocess`` simulator does not (ngspice 39 prints "Note: No compatibility
  mode selected!", which PySpice 1.5 cannot parse);
* it raises ``NgSpiceCommandError`` on some informational stderr lines of ngspice (e.g.
  "Trying gmin = ..." when ngspice falls back to gmin stepping; PySpice issues #379, #399);
* it takes any ngspice output line containing "error" for a failure, and ngspice echoes the
  title: :func:`to_pyspice` refuses such a title (and leaves such a circuit name out of its
  default title);
* one libngspice per process: do not use PySpice's simulator in a process that also ran
  analog_eqprop's ngspice backend (or the reverse); use a subprocess for one of them.

The sweep and Norton forms and transient decks are analog_eqprop's own speed-ups for its
ngspice backend; they are not exported.

Examples
--------
>>> from analog_eqprop.circuits import kendall_circuit
>>> c = kendall_circuit(2, 1, 1, seed=0)
>>> ckt = to_pyspice(c, x=[0.5, 0.5])
>>> [str(e) for e in ckt.elements if e.name in ("R0", "D0", "E0", "Va0", "F0")]
['E0 h1_0_amp_int 0 h1_0 0 4.0', 'Va0 h1_0_amp_int h1_0_amp 0.0', 'F0 h1_0 0 Va0 0.25', 'R0 x0p h1_0 148529.8106600345', 'D0 h1_0 vclamp1 D1N4148']

Simulated by PySpice (in a process that has not loaded libngspice otherwise):

>>> sim = ckt.simulator(simulator="ngspice-shared")  # doctest: +SKIP
>>> sim.options(reltol=1e-6, vntol=1e-9)  # doctest: +SKIP
>>> v = pyspice_free_voltages(sim.operating_point(), c)  # (n_free,) V  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np

from analog_eqprop.circuits.description import Circuit
from analog_eqprop.errors import ConfigError, DataError, NetlistError, SimulationError
from analog_eqprop.netlist.compiler import Deck, checked_conductances
from analog_eqprop.spice.names import NameMap, format_number, title_text, unique_name
from analog_eqprop.validation import real

__all__ = ["to_pyspice", "pyspice_node_names", "pyspice_free_voltages"]


def _pyspice_circuit_class():
    try:
        from PySpice.Spice.Netlist import Circuit as PySpiceCircuit
    except ImportError as exc:
        raise ImportError("to_pyspice needs PySpice: pip install 'analog_eqprop[spice]' (or PySpice>=1.5)") from exc
    return PySpiceCircuit


def _num(value: float, what: str) -> float:
    """A finite Python float (PySpice writes ``str(float)``, which round-trips exactly)."""
    format_number(value, what)  # raises NetlistError on nan / inf
    return float(value)


def pyspice_node_names(circuit: Circuit) -> NameMap:
    """Labels of the free nodes, sources and amplified copies -> the node names used by
    :func:`to_pyspice` (the same as :func:`~analog_eqprop.netlist.compile_netlist`'s)."""
    return NameMap(circuit.terminal_labels())


def to_pyspice(
    circuit: Circuit,
    g: np.ndarray | None = None,
    x: np.ndarray | None = None,
    *,
    beta: float = 0.0,
    target: np.ndarray | None = None,
    nudge_ref: np.ndarray | None = None,
    nudge_current: np.ndarray | None = None,
    title: str | None = None,
) -> Any:
    """Build ``circuit`` (conductances ``g``, one example ``x``) as a PySpice ``Circuit``.

    Parameters are those of :func:`~analog_eqprop.netlist.compile_netlist` (full form, one
    operating point): ``x=None`` puts 0 V on every input source; ``beta != 0`` adds the
    nudging elements (``target`` and, for current nudging, ``nudge_ref``, the free-phase
    free-node voltages; or explicit ``nudge_current`` [A]).

    Element names are PySpice's (the kind letter first) around the compiler's numbering:
    ``Vs<k>`` sources, ``R<k>`` conductances (``1/g`` ohm), ``D<k>`` diodes, ``E<k>`` /
    ``Va<k>`` / ``F<k>`` amplifier ``k``, ``Iy<k>`` / ``Iz<k>`` nudge currents, ``Ry<k>`` /
    ``Vy<k>`` resistive nudging. Other element kinds (transistors ``m<k>`` with their gate
    sources ``vg<k>``, users' devices ``bd<k>``) are written as the compiler writes them, in
    the circuit's raw SPICE. Node names: :func:`pyspice_node_names`.

    Returns
    -------
    PySpice.Spice.Netlist.Circuit
        No analysis and no options: the caller's simulator sets those (for comparisons,
        ``simulator.options(reltol=1e-6, vntol=1e-9)``).

    Raises
    ------
    ImportError
        Without PySpice.
    DataError, ConfigError, NetlistError
        As :func:`~analog_eqprop.netlist.compile_netlist`: wrong shapes, non-finite values,
        missing targets, unsafe model names; and a title containing "error" (see the module
        docstring).
    """
    if not isinstance(circuit, Circuit):
        raise NetlistError(f"expected a Circuit, got {type(circuit).__name__}")
    c = circuit
    g = checked_conductances(c, g)
    beta = real(beta, "beta")
    for table in c.tables():
        table.model_cards()  # the compiler's checks of model names and parameters
    v_src = np.asarray(c.source_offset, dtype=np.float64).copy()
    is_input = np.array([k == "input" for k in c.source_kind], dtype=bool)
    v_src[is_input] = 0.0
    if x is not None:
        v_src = c.source_voltages(Deck.rows(x, c.n_features, "x", 1))[0]
    names = pyspice_node_names(c)
    taken = set(names.names)
    term = list(names.names) + ["0"]  # index -1 is ground

    if title is None:
        title = f"analog_eqprop {c.name}" if "error" not in c.name.lower() else "analog_eqprop circuit"
    elif "error" in title.lower():
        raise NetlistError(f"title {title!r}: PySpice 1.5 takes any ngspice output line containing 'error' "
                           "(ngspice echoes the title) for a failed simulation; choose another title")
    ckt = _pyspice_circuit_class()(title_text(title))
    node = lambda t: term[int(t)]  # noqa: E731
    for s in range(c.n_sources):
        ckt.V(f"s{s}", node(c.n_free + s), ckt.gnd, _num(v_src[s], f"source {s}"))
    for k in range(c.n_amps):
        n_in, copy = node(c.amp_node[k]), node(c.n_free + c.n_sources + k)
        internal = unique_name(f"{copy}_int", taken)
        ckt.VCVS(str(k), internal, ckt.gnd, n_in, ckt.gnd, voltage_gain=_num(c.amp_gain[k], f"amplifier {k} gain"))
        # V(copy) = V(internal) - V(Va) = A (V(node) + V_os): Va holds -A V_os (0 V: an ammeter)
        ckt.V(f"a{k}", internal, copy, _num(-c.amp_gain[k] * c.amp_offset[k], f"amplifier {k} offset") + 0.0)
        ckt.CCCS(str(k), n_in, ckt.gnd, f"Va{k}", current_gain=_num(c.amp_back[k], f"amplifier {k} back gain"))
    for k in range(c.n_edges):
        ckt.R(str(k), node(c.edge_a[k]), node(c.edge_b[k]), _num(1.0 / g[k], f"conductance {k}"))
    for m in c.models:
        params = {"IS": m.IS, "N": m.N}
        if m.RS:
            params["RS"] = m.RS
        if m.BV is not None:
            params.update(BV=m.BV, IBV=m.IBV)
        if m.NBV is not None:
            params["NBV"] = m.NBV
        params.update(dict(m.extra))
        ckt.model(m.name, "D", **{k: _num(v, f"diode model {m.name} {k}") for k, v in params.items()})
    for k in range(c.n_diodes):
        ckt.D(str(k), node(c.diode_anode[k]), node(c.diode_cathode[k]), model=c.models[c.diode_model[k]].name)
    _other_kinds(ckt, c, g, v_src, taken)
    if beta != 0.0:
        _nudge(ckt, c, term, taken, beta, target, nudge_ref, nudge_current)
    return ckt


def _other_kinds(ckt: Any, c: Circuit, g: np.ndarray, v_src: np.ndarray, taken: set[str]) -> None:
    """Kinds PySpice has no call for here (transistors, users' devices): their own cards, as
    the compiler writes them, in the circuit's raw SPICE (comments dropped)."""
    others = [t for t in c.tables(nonempty=True) if not t.legacy]
    if not others:
        return
    deck = Deck(c, g, "full", False, v_src[None, :], np.zeros(c.n_sources, bool))
    deck.taken = taken  # helper nodes (gate sources) avoid the names taken here
    for table in others:
        table.write(deck)
    lines = [line for line in deck.lines if not line.lstrip().startswith("*")]
    lines += [line for table in others for line in table.model_cards()]
    ckt.raw_spice += "\n".join(lines) + "\n"


def _nudge(ckt: Any, c: Circuit, term: list[str], taken: set[str], beta: float, target, nudge_ref,
           nudge_current) -> None:
    if nudge_current is not None and c.nudge != "current":
        raise ConfigError("explicit nudge currents need a current-mode circuit (nudge='current'); resistive "
                          "nudging is a conductance to the target")
    if nudge_current is not None:
        current = Deck.rows(nudge_current, c.n_outputs, "nudge_current", 1)[0]
    else:
        if target is None:
            raise DataError("a nudged phase (beta != 0) needs its target: pass target (one-hot or soft, shape "
                            f"({c.n_outputs},))")
        t = c.targets(Deck.rows(target, c.n_outputs, "target", 1))[0]
        if c.nudge == "current":
            if nudge_ref is None:
                raise DataError("current-mode nudging needs the free state as reference: pass nudge_ref, the "
                                "free-phase free-node voltages")
            ref = Deck.rows(nudge_ref, c.n_free, "nudge_ref", 1)
            current = -beta * (c.outputs(ref)[0] - t)
    for k in range(c.n_outputs):
        pos = term[c.out_pos[k]]
        neg = term[c.out_neg[k]] if c.out_neg[k] >= 0 else None
        if c.nudge == "current":
            # an I source's current leaves through its second node: into the output node
            ckt.I(f"y{k}", ckt.gnd, pos, _num(current[k], f"nudge current {k}"))
            if neg is not None:
                ckt.I(f"z{k}", ckt.gnd, neg, _num(-current[k], f"nudge current {k}"))
        else:
            mid = unique_name(f"{pos}_target", taken)
            ckt.R(f"y{k}", pos, mid, _num(1.0 / beta, "nudge resistance"))
            ckt.V(f"y{k}", mid, neg if neg is not None else ckt.gnd, _num(t[k], f"target {k}"))


def pyspice_free_voltages(analysis: Any, circuit: Circuit) -> np.ndarray:
    """Free-node voltages [V], ``(n_free,)`` in the circuit's order, from a PySpice operating
    point (``simulator.operating_point()`` of a :func:`to_pyspice` circuit).

    Reads ``node[0]`` (``float(node)`` fails under numpy 2 in PySpice 1.5).
    """
    nodes = {str(k).lower(): v for k, v in analysis.nodes.items()}
    out = np.empty(circuit.n_free)
    for j, name in enumerate(pyspice_node_names(circuit).names[: circuit.n_free]):
        if name.lower() not in nodes:
            raise SimulationError(f"node {name!r} is not in the PySpice analysis ({len(nodes)} nodes)")
        out[j] = float(np.asarray(nodes[name.lower()]).reshape(-1)[0])
    return out
