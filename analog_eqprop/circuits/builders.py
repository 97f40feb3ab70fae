"""The standard nets, built: layered, deep resistive (DRN), Kendall, transistor and random
circuits, and the circuit graphs they compile from.

Each builder returns a :class:`~analog_eqprop.circuits.description.Circuit`. Where the arrays
builder :func:`~analog_eqprop.circuits.dense.dense_circuit` covers the arguments, the circuit is
built from arrays (the same tables, without networkx in the hot path); otherwise
:func:`circuit_graph` builds the graph and :func:`~analog_eqprop.circuits.from_graph.circuit_from_graph`
compiles it (its module docstring lists the node and edge attributes a graph may carry).

Examples
--------
>>> c = layered_circuit([4, 3, 2], seed=0, clamp=(0.0, None))
>>> c.n_features, c.n_free, c.n_outputs, c.nodes[:2]
(4, 5, 2, ('h1_0', 'h1_1'))
"""

from __future__ import annotations

from typing import Any, Mapping

import networkx as nx
import numpy as np

from analog_eqprop.circuits.dense import INPUT_ENCODINGS, dense_circuit
from analog_eqprop.circuits.description import Circuit
from analog_eqprop.circuits.from_graph import circuit_from_graph, library_clamp_card, resolve_clamp_model
from analog_eqprop.defaults import CIRCUIT_DEFAULTS
from analog_eqprop.elements.diode import DiodeModel
from analog_eqprop.elements.library import is_library_spec
from analog_eqprop.elements.mosfet import mosfet_model
from analog_eqprop.errors import ConfigError, GraphError
from analog_eqprop.graphs import random_graph

_G_INIT = (CIRCUIT_DEFAULTS["g_init_low"], CIRCUIT_DEFAULTS["g_init_high"])  # S

__all__ = [
    "circuit_from_graph",
    "circuit_graph",
    "layered_circuit",
    "drn_circuit",
    "kendall_circuit",
    "random_circuit",
    "transistor_circuit",
    "init_conductances",
    "dense_circuit",
]



def init_conductances(G: nx.Graph, *, low: float, high: float, seed: int | None = None, weight: str = "weight",
                      fan_in_scaled: bool = False, role: str = "role") -> nx.Graph:
    """Draw every edge's conductance from U(low, high) [S], in place (``G.edges`` order).

    With ``fan_in_scaled`` the range is divided by the fan-in of the edge's later node, so
    that every neuron sees about the same total conductance whatever its width.
    """
    if not (0 < low < high):
        raise GraphError(f"need 0 < low < high for conductances, got {low!r}, {high!r}")
    rng = np.random.default_rng(seed)
    deg = dict(G.degree()) if fan_in_scaled else None
    for u, v, d in G.edges(data=True):
        g = rng.uniform(low, high)
        if deg is not None:
            free = [x for x in (u, v) if G.nodes[x][role] in ("hidden", "output")]
            g /= max(1, min(deg[x] for x in free)) if free else 1
        d[weight] = float(g)
    return G


def circuit_graph(
    sizes: list[int],
    *,
    input_encoding: str = "pm",
    input_gain: float = 1.0,
    bias_voltages: tuple[float, ...] = (1.0, -1.0),
    outputs: str = "single",
    amplifier: float | None = None,
    lateral: bool = False,
    g_init: tuple[float, float] = _G_INIT,
    seed: int | None = None,
) -> nx.Graph:
    """A layered circuit graph: ``sizes = [n_features, hidden..., n_classes]``.

    Inputs are +x / -x source pairs (``input_encoding="pm"``; ``"pm-blocks"``: every +x source,
    then every -x one) or +x only (``"single"``);
    ``bias_voltages`` rails connect to every hidden and output node; differential outputs
    (``outputs="differential"``) give each class a +/- node pair; ``amplifier`` puts a
    bidirectional amplifier of that gain on every hidden node.
    """
    if len(sizes) < 2 or min(sizes) < 1:
        raise GraphError(f"sizes must list at least two layers of size >= 1, got {sizes!r}")
    if input_encoding not in INPUT_ENCODINGS:
        raise GraphError(f"input_encoding must be one of {', '.join(map(repr, INPUT_ENCODINGS))}, "
                         f"got {input_encoding!r}")
    if outputs not in ("single", "differential"):
        raise GraphError(f"outputs must be 'single' or 'differential', got {outputs!r}")
    G = nx.Graph()
    layers: list[list[str]] = []
    ins = []
    if input_encoding == "pm-blocks":  # all the +x sources, then all the -x ones
        order = [(k, s) for s in (1, -1) for k in range(sizes[0])]
    else:
        order = [(k, s) for k in range(sizes[0]) for s in ((1, -1) if input_encoding == "pm" else (1,))]
    for k, s in order:
        n = f"x{k}" if input_encoding == "single" else f"x{k}{'p' if s > 0 else 'n'}"
        G.add_node(n, role="input", layer=0, feature=k, gain=s * input_gain)
        ins.append(n)
    layers.append(ins)
    for li, width in enumerate(sizes[1:-1], start=1):
        names = [f"h{li}_{i}" for i in range(width)]
        for i, n in enumerate(names):
            G.add_node(n, role="hidden", layer=li, index=i, **({"amplifier": amplifier} if amplifier else {}))
        layers.append(names)
    L = len(sizes) - 1
    outs = []
    for c in range(sizes[-1]):
        pols = (1, -1) if outputs == "differential" else (1,)
        for p in pols:
            n = f"y{c}{'p' if p > 0 else 'n'}" if outputs == "differential" else f"y{c}"
            G.add_node(n, role="output", layer=L, output_index=c, polarity=p)
            outs.append(n)
    layers.append(outs)
    for a, b in zip(layers[:-1], layers[1:]):
        G.add_edges_from((u, v) for u in a for v in b)
    if lateral:
        for lay in layers[1:]:
            G.add_edges_from((lay[i], lay[j]) for i in range(len(lay)) for j in range(i + 1, len(lay)))
    for i, v in enumerate(bias_voltages):
        b = f"vbias{i}"
        G.add_node(b, role="bias", voltage=float(v))
        G.add_edges_from((b, n) for lay in layers[1:] for n in lay)
    return init_conductances(G, low=g_init[0], high=g_init[1], seed=seed)


# what dense_circuit builds exactly as circuit_graph + circuit_from_graph do (anything else: the graph)
_DENSE_GRAPH_KW = frozenset({"input_encoding", "input_gain", "bias_voltages", "outputs", "amplifier", "g_init"})
_DENSE_CIRCUIT_KW = frozenset({"diode", "clamp", "amplifier_back", "g_min", "g_max", "nudge", "target_on",
                               "target_off", "models"})


def _dense_route(sizes, graph_kw: Mapping[str, Any], circuit_kw: Mapping[str, Any]) -> bool:
    """Whether :func:`~analog_eqprop.circuits.dense.dense_circuit` builds this net (the same
    circuit as the graph, from arrays): plain layer sizes, the graph builder's own layout
    (no lateral edges), the compiler's defaults but for these keywords, a diode clamp card
    (not a diode-connected transistor). Anything else, bad input included, takes the graph
    route and its messages."""
    if set(graph_kw) - _DENSE_GRAPH_KW or set(circuit_kw) - _DENSE_CIRCUIT_KW:
        return False
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in sizes):
        return False
    if graph_kw.get("input_encoding", "pm") not in ("pm", "single", "pm-blocks"):
        return False
    diode = circuit_kw.get("diode", "DIDEAL")
    try:
        card = resolve_clamp_model(library_clamp_card(diode) if is_library_spec(diode) else diode,
                                   circuit_kw.get("models"))
    except (GraphError, ConfigError):
        return False
    return isinstance(card, DiodeModel)


def layered_circuit(sizes: list[int], *, seed: int | None = None, diode: str = "DIDEAL",
                    clamp: tuple[float | None, float | None] | None = (0.0, None), graph_kw: dict[str, Any] | None = None,
                    **circuit_kw) -> Circuit:
    """A layered circuit from :func:`circuit_graph` compiled by :func:`circuit_from_graph` (built
    from arrays by :func:`~analog_eqprop.circuits.dense.dense_circuit`, the same circuit, where
    that builder covers the arguments)."""
    name = f"layered-{'-'.join(map(str, sizes))}"
    if _dense_route(sizes, graph_kw or {}, dict(circuit_kw, diode=diode, clamp=clamp)):
        return dense_circuit(list(sizes), seed=seed, **(graph_kw or {}), name=name, diode=diode, clamp=clamp,
                             **circuit_kw)
    G = circuit_graph(list(sizes), seed=seed, **(graph_kw or {}))
    return circuit_from_graph(G, name=name, diode=diode, clamp=clamp, **circuit_kw)


def drn_circuit(sizes: list[int], *, seed: int | None = None, g_init=_G_INIT, **circuit_kw) -> Circuit:
    """A deep-resistive-network-style circuit (Scellier 2024): +/-x inputs, hidden nodes clamped
    at 0 V from below by ideal(-like) diodes (a ReLU), linear outputs, bias rails at +/-1 V.

    Built from arrays (:func:`~analog_eqprop.circuits.dense.dense_circuit`): the circuit that
    :func:`circuit_graph` compiled by :func:`circuit_from_graph` gives, without the graph.
    """
    kw = dict(diode="DIDEAL", clamp=(0.0, None), target_on=0.1, target_off=0.0)
    kw.update(circuit_kw)
    name = f"drn-{'-'.join(map(str, sizes))}"
    if _dense_route(sizes, {}, kw):
        return dense_circuit(list(sizes), seed=seed, input_encoding="pm", g_init=g_init, name=name, **kw)
    G = circuit_graph(list(sizes), seed=seed, input_encoding="pm", g_init=g_init)
    return circuit_from_graph(G, name=name, **kw)


def kendall_circuit(n_features: int = 784, n_hidden: int = 100, n_classes: int = 10, *, seed: int | None = None,
                    amplifier: float = 4.0, clamp: tuple[float, float] = (-0.5, 0.5), g_init=_G_INIT,
                    **circuit_kw) -> Circuit:
    """A Kendall-et-al.-2020-style net: 2*n_features +/-x inputs, ``n_hidden`` neurons with
    1N4148-like diode clamps and bidirectional amplifiers, 2*n_classes differential outputs
    (1568-100-20 for MNIST). Built from arrays, as :func:`drn_circuit`."""
    sizes = [n_features, n_hidden, n_classes]
    graph_kw = dict(input_encoding="pm", outputs="differential", amplifier=amplifier, g_init=g_init)
    kw = dict(diode="D1N4148", clamp=clamp, target_on=0.1, target_off=-0.1)
    kw.update(circuit_kw)
    name = f"kendall-{2 * n_features}-{n_hidden}-{2 * n_classes}"
    if _dense_route(sizes, graph_kw, kw):
        return dense_circuit(sizes, seed=seed, **graph_kw, name=name, **kw)
    G = circuit_graph(sizes, seed=seed, **graph_kw)
    return circuit_from_graph(G, name=name, **kw)


def transistor_circuit(sizes: list[int], *, seed: int | None = None, gate: tuple[float, float] = (1.0, 2.0),
                       transistor: str = "NEDGE", clamp: tuple[float | None, float | None] | None = (0.0, None),
                       diode: str = "NCLAMP", bulk: float | None = None, input_encoding: str = "pm",
                       outputs: str = "single", **circuit_kw) -> Circuit:
    """A layered network whose every edge is a transistor with a trainable gate voltage (after
    Dillavou et al., PNAS 2024): :func:`circuit_graph`'s layout (+/-x inputs, bias rails at +/-1 V),
    gates drawn from ``U(*gate)`` [V], hidden nodes clamped by diode-connected transistors
    (``diode="NCLAMP"``; any diode card works too), bulks on a rail at ``bulk`` [V] (default
    0.5 V below the lowest source voltage, -1.5 V, for n-channel edges; 0.5 V above the highest
    for p-channel ones).

    Examples
    --------
    >>> c = transistor_circuit([2, 3, 2], seed=0)
    >>> c.n_edges, len(c.element("mosfet")), sorted(set(c.element("mosfet").layer.tolist()))
    (0, 31, [-1, 0, 1])
    """
    sizes = [int(v) for v in sizes]
    G = circuit_graph(sizes, input_encoding=input_encoding, outputs=outputs, seed=seed)
    rng = np.random.default_rng(seed)
    lo, hi = gate
    for _, _, d in G.edges(data=True):
        d.clear()
        d.update(element="transistor", gate=float(rng.uniform(lo, hi)))
    if bulk is None:
        bulk = -1.5 if mosfet_model(transistor).type == "NMOS" else 1.5
    kw = dict(target_on=0.2, target_off=0.0)
    kw.update(circuit_kw)
    return circuit_from_graph(G, name=f"transistor-{'-'.join(map(str, sizes))}", transistor=transistor, bulk=bulk,
                              clamp=clamp, diode=diode, **kw)


def random_circuit(n_features: int, n_hidden: int, n_classes: int, p: float = 0.5, *, seed: int | None = None,
                   g_init=_G_INIT, **circuit_kw) -> Circuit:
    """A non-layered circuit: random edges (lateral ones included) among +/-x inputs, hidden
    and output nodes, plus bias rails, built on :func:`analog_eqprop.graphs.random_graph`."""
    H = random_graph(n_features, n_hidden, n_classes, p, seed=seed)
    G = nx.Graph()
    rename = {}
    for n, d in H.nodes(data=True):
        if d["role"] == "input":
            k = int(d.get("index", len(rename)))
            for s in (1, -1):
                name = f"{n}{'p' if s > 0 else 'n'}"
                G.add_node(name, role="input", feature=k, gain=float(s))
            rename[n] = (f"{n}p", f"{n}n")
        else:
            G.add_node(n, role=d["role"])
            rename[n] = (n,)
    for u, v in H.edges():
        G.add_edges_from((a, b) for a in rename[u] for b in rename[v])
    for i, volt in enumerate((1.0, -1.0)):
        G.add_node(f"vbias{i}", role="bias", voltage=volt)
        G.add_edges_from((f"vbias{i}", n) for n, d in H.nodes(data=True) if d["role"] != "input")
    init_conductances(G, low=g_init[0], high=g_init[1], seed=seed)
    kw = dict(diode="DIDEAL", clamp=(0.0, None))
    kw.update(circuit_kw)
    return circuit_from_graph(G, name=f"random-{n_features}-{n_hidden}-{n_classes}", **kw)
