"""Layered circuits built straight from arrays: :func:`circuit_graph`'s nets without networkx.

A layered net of tens of millions of conductances does not fit in a networkx graph (a Python
dict per edge: DRN-1H's 1.6 M conductances take ~10 s and ~0.7 GB that way, DRN-XL's 51.7 M
cannot be built), yet its structure is a handful of dense blocks. :func:`dense_circuit` writes
the element tables directly, block by block: the terminal columns as int32 ranges, the
conductances drawn in place, each column handed to the :class:`~analog_eqprop.circuits.Circuit`
without a copy. The graph stays the user-facing description: for the same arguments the
result is *identical*, table by table and in the same edge order (hence the same seeded
conductance draws), to compiling :func:`~analog_eqprop.circuits.circuit_graph` with
:func:`~analog_eqprop.circuits.circuit_from_graph` (``tests/test_dense_builders.py``), which is
how :func:`~analog_eqprop.circuits.drn_circuit`, :func:`~analog_eqprop.circuits.layered_circuit`
and :func:`~analog_eqprop.circuits.kendall_circuit` now build their circuits.

Edge order (networkx's, for a graph built as :func:`circuit_graph` builds it): every input
source to every node of the first free layer (sources in order, row-major); then, node by
node and layer by layer, each free node to every node of the next layer (from its amplified
copy when it has an amplifier) and to every bias rail.

Two layouts beyond the graph builder's, for nets set up as in Scellier 2024's published code
(``benchmarks/drn_models.py``): ``input_encoding="pm-blocks"`` (the ``+x`` sources of all
features, then all the ``-x`` ones) and ``clamp_split=True`` (the first half of each hidden
layer clamped from below only, the second half from above only: excitatory and inhibitory
units); and ``g=`` to give the conductances in edge order rather than drawing them.

Examples
--------
>>> c = dense_circuit([4, 3, 2], seed=0, name="net")
>>> c.n_sources, c.n_free, c.n_edges, c.edge_a.dtype.name
(10, 5, 40, 'int32')
>>> from analog_eqprop.circuits import circuit_from_graph, circuit_graph
>>> ref = circuit_from_graph(circuit_graph([4, 3, 2], seed=0), name="net", clamp=(0.0, None))
>>> c.to_dict() == ref.to_dict()
True
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from analog_eqprop.circuits.description import GROUND, Circuit
from analog_eqprop.defaults import CIRCUIT_DEFAULTS
from analog_eqprop.elements.diode import DiodeModel, diode_model, load_diode_models
from analog_eqprop.errors import ConfigError, GraphError
from analog_eqprop.validation import real

__all__ = ["dense_circuit", "check_builder_args", "INPUT_ENCODINGS"]

#: ``"pm"``: ``x0p, x0n, x1p, ...`` (the graph builder's); ``"single"``: ``x0, x1, ...``;
#: ``"pm-blocks"``: ``x0p, x1p, ..., x0n, x1n, ...``.
INPUT_ENCODINGS = ("pm", "single", "pm-blocks")

_G_INIT = (CIRCUIT_DEFAULTS["g_init_low"], CIRCUIT_DEFAULTS["g_init_high"])  # S


def _frozen(a: np.ndarray) -> np.ndarray:
    """Hand ``a`` (ours, just made) to a table as it is: read-only, so it is not copied."""
    a.setflags(write=False)
    return a


def _sources(n_x: int, encoding: str, gain: float) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Input sources: labels, features and gains [V per unit]."""
    k = np.arange(n_x)
    if encoding == "single":
        return [f"x{i}" for i in range(n_x)], k, np.full(n_x, gain)
    if encoding == "pm":
        names = [f"x{i}{s}" for i in range(n_x) for s in "pn"]
        return names, np.repeat(k, 2), np.tile([gain, -gain], n_x)
    names = [f"x{i}p" for i in range(n_x)] + [f"x{i}n" for i in range(n_x)]
    return names, np.concatenate([k, k]), np.concatenate([np.full(n_x, gain), np.full(n_x, -gain)])


def _clamp_model(diode: Any, models: dict[str, DiodeModel] | None) -> DiodeModel:
    if isinstance(diode, DiodeModel):
        return diode
    lib = models if models is not None else load_diode_models()
    if isinstance(diode, str) and diode in lib:
        return lib[diode]
    try:
        return diode_model(diode)
    except ConfigError as exc:
        raise GraphError(f"dense_circuit: clamp card {diode!r}: {exc} (MOSFET clamp cards, diode-connected "
                         "transistors, need circuit_from_graph)") from None


def check_builder_args(clamp: Any, amplifier_back: Any,
                       ) -> tuple[tuple[float | None, float | None] | None, str | float]:
    """The builders' defaults every node falls back on, checked: ``clamp`` a pair of finite rail
    voltages [V] (either may be None) or None; ``amplifier_back`` ``'inverse'``, ``'reciprocal'``
    or a finite number. Returns both as floats where numeric; :class:`GraphError` names a bad one.

    Examples
    --------
    >>> check_builder_args([0.5, None], 2)
    ((0.5, None), 2.0)
    """
    if clamp is not None:
        if not isinstance(clamp, (tuple, list)) or len(clamp) != 2:
            raise GraphError(f"clamp must be a pair (low, high) of rail voltages [V] or None, got {clamp!r}")
        clamp = tuple(None if v is None else real(v, f"clamp[{i}]", error=GraphError, unit="V")
                      for i, v in enumerate(clamp))
    if isinstance(amplifier_back, str):
        if amplifier_back not in ("inverse", "reciprocal"):
            raise GraphError(f"amplifier_back must be 'inverse', 'reciprocal' or a number, got {amplifier_back!r}")
    else:
        amplifier_back = real(amplifier_back, "amplifier_back", error=GraphError)
    return clamp, amplifier_back


def dense_circuit(
    sizes: Sequence[int],
    *,
    input_encoding: str = "pm",
    input_gain: float = 1.0,
    bias_voltages: Sequence[float] = (1.0, -1.0),
    outputs: str = "single",
    amplifier: float | None = None,
    g: np.ndarray | None = None,
    g_init: tuple[float, float] = _G_INIT,
    seed: int | None = None,
    diode: str | DiodeModel = "DIDEAL",
    clamp: tuple[float | None, float | None] | None = (0.0, None),
    clamp_split: bool = False,
    amplifier_back: str | float = "inverse",
    models: dict[str, DiodeModel] | None = None,
    name: str | None = None,
    layer_names: Sequence[str] | None = None,
    g_min: float = CIRCUIT_DEFAULTS["g_min"],
    g_max: float = CIRCUIT_DEFAULTS["g_max"],
    nudge: str = "current",
    target_on: float = 1.0,
    target_off: float = 0.0,
) -> Circuit:
    """A layered circuit ``sizes = [n_features, hidden..., n_classes]`` built from arrays.

    The same circuit as ``circuit_from_graph(circuit_graph(sizes, input_encoding=...,
    input_gain=..., bias_voltages=..., outputs=..., amplifier=..., g_init=..., seed=...),
    diode=..., clamp=..., ...)`` (see the module docstring), in a fraction of the time and memory.

    Parameters
    ----------
    sizes : sequence of int
        Features, hidden widths, classes.
    input_encoding : {"pm", "single", "pm-blocks"}
        Sources per feature and their order (:data:`INPUT_ENCODINGS`).
    input_gain : float
        Volts per unit feature (the ``-x`` sources get ``-input_gain``).
    bias_voltages : sequence of float
        Bias rails [V], each joined to every hidden and output node (``()``: none).
    outputs : {"single", "differential"}
        One node per class, or a ``+`` / ``-`` pair.
    amplifier : float, optional
        Gain of a bidirectional amplifier on every hidden node (Kendall et al. 2020);
        ``amplifier_back`` as in :func:`circuit_from_graph`.
    g : array, optional
        The conductances [S] in edge order; default: drawn from ``U(*g_init)`` with ``seed``
        in edge order (the graph builder's draws).
    diode, clamp, models
        The hidden nodes' clamp card and rails [V] (``None`` entries: no diode on that side),
        as in :func:`circuit_from_graph`; ``clamp_split``: the first half of each hidden
        layer gets only the lower clamp, the rest only the upper one.
    name, layer_names
        Default ``"layered-<sizes>"`` and ``layer1, layer2, ...`` (the graph builder's).
    g_min, g_max, nudge, target_on, target_off
        As in :class:`~analog_eqprop.circuits.Circuit`.
    """
    sizes = list(sizes)
    if len(sizes) < 2 or any(not isinstance(s, (int, np.integer)) or isinstance(s, bool) for s in sizes) \
            or min(sizes) < 1:
        raise GraphError(f"sizes must list at least two layers of size >= 1, got {sizes!r}")
    sizes = [int(s) for s in sizes]
    if input_encoding not in INPUT_ENCODINGS:
        raise GraphError(f"input_encoding must be one of {', '.join(map(repr, INPUT_ENCODINGS))}, "
                         f"got {input_encoding!r}")
    if outputs not in ("single", "differential"):
        raise GraphError(f"outputs must be 'single' or 'differential', got {outputs!r}")
    clamp, amplifier_back = check_builder_args(clamp, amplifier_back)
    gain = real(input_gain, "input_gain", error=GraphError, unit="V")
    rails = [real(v, f"bias_voltages[{i}]", error=GraphError, unit="V") for i, v in enumerate(bias_voltages)]
    A = None if not amplifier else real(amplifier, "amplifier", error=GraphError, low=0.0, low_open=True)

    n_x, hidden, n_cls = sizes[0], sizes[1:-1], sizes[-1]
    per_class = 2 if outputs == "differential" else 1
    widths = hidden + [n_cls * per_class]  # free layers, in order
    first = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)  # first free node of each layer
    nf = int(first[-1])
    L = len(widths)
    in_names, in_feat, in_gain = _sources(n_x, input_encoding, gain)
    n_in, n_bias = len(in_names), len(rails)

    # free nodes, their roles and layers (ranks 0 .. L-1)
    names = [f"h{k + 1}_{i}" for k, w in enumerate(hidden) for i in range(w)]
    if outputs == "differential":
        names += [f"y{c}{s}" for c in range(n_cls) for s in "pn"]
    else:
        names += [f"y{c}" for c in range(n_cls)]
    n_hidden = nf - widths[-1]
    roles = ["hidden"] * n_hidden + ["output"] * widths[-1]

    # clamps: per hidden node (in order) its upper diode first, then its lower one; a rail other
    # than 0 V (ground) becomes a bias source, one per voltage in order of first use
    src_names = list(in_names) + [f"vbias{i}" for i in range(n_bias)]
    rail_of: dict[float, int] = {}
    model = None

    def rail(v: float) -> int:
        if v == 0.0:
            return GROUND
        if v not in rail_of:
            rail_of[v] = len(src_names)
            src_names.append(f"vclamp{len(rail_of)}")
        return nf + rail_of[v]

    d_an: list[np.ndarray] = []
    d_ca: list[np.ndarray] = []
    if clamp is not None and n_hidden and (clamp[0] is not None or clamp[1] is not None):
        model = _clamp_model(diode, models)
        for k, w in enumerate(hidden):
            nodes = first[k] + np.arange(w)
            if not clamp_split:  # per node: its upper diode, then its lower one
                sides = []
                if clamp[1] is not None:
                    t = rail(clamp[1])
                    sides.append((nodes, np.full(w, t)))
                if clamp[0] is not None:
                    t = rail(clamp[0])
                    sides.append((np.full(w, t), nodes))
                d_an.append(np.stack([an for an, _ in sides], axis=1).reshape(-1))
                d_ca.append(np.stack([ca for _, ca in sides], axis=1).reshape(-1))
                continue
            half = w // 2  # the first half: lower clamp only; the rest: upper clamp only
            if clamp[0] is not None and half:
                d_an.append(np.full(half, rail(clamp[0])))
                d_ca.append(nodes[:half])
            if clamp[1] is not None and w - half:
                d_an.append(nodes[half:])
                d_ca.append(np.full(w - half, rail(clamp[1])))
    n_src = len(src_names)
    d_an_a = np.concatenate(d_an).astype(np.int64) if d_an else np.zeros(0, np.int64)
    d_ca_a = np.concatenate(d_ca).astype(np.int64) if d_ca else np.zeros(0, np.int64)

    # amplifiers on the hidden nodes (copies after the sources)
    amp = {}
    if A is not None and n_hidden:
        back = (1.0 / A if amplifier_back == "inverse" else A) if isinstance(amplifier_back, str) else amplifier_back
        amp = dict(amp_node=np.arange(n_hidden), amp_gain=np.full(n_hidden, A), amp_back=np.full(n_hidden, back),
                   amp_names=tuple(f"{n}_amp" for n in names[:n_hidden]), amp_offset=np.zeros(n_hidden))
    copy0 = nf + n_src  # terminal of the first amplified copy

    # conductances in the graph's edge order (see the module docstring)
    bias_t = np.arange(nf + n_in, nf + n_in + n_bias, dtype=np.int32)
    rows_per = [widths[k + 1] + n_bias if k + 1 < L else n_bias for k in range(L)]
    E = n_in * widths[0] + sum(w * r for w, r in zip(widths, rows_per))
    a = np.empty(E, np.int32)
    b = np.empty(E, np.int32)
    lay = np.empty(E, np.int32)
    m, n = n_in, widths[0]
    a[:m * n].reshape(m, n)[...] = np.arange(nf, nf + n_in, dtype=np.int32)[:, None]  # (int32: no casting)
    b[:m * n].reshape(m, n)[...] = np.arange(n, dtype=np.int32)[None, :]
    lay[:m * n] = 0
    s = m * n
    for k, (w, r) in enumerate(zip(widths, rows_per)):
        if not r:
            continue
        nodes = np.arange(first[k], first[k] + w, dtype=np.int32)
        blk_a = a[s:s + w * r].reshape(w, r)
        blk_b = b[s:s + w * r].reshape(w, r)
        blk_l = lay[s:s + w * r].reshape(w, r)
        nxt = r - n_bias
        if nxt:  # to the next layer: from the amplified copy where there is one
            src = copy0 + nodes if (amp and k < len(hidden)) else nodes
            blk_a[:, :nxt] = src[:, None]
            blk_b[:, :nxt] = np.arange(first[k + 1], first[k + 1] + nxt, dtype=np.int32)[None, :]
            blk_l[:, :nxt] = k + 1
        if n_bias:
            blk_a[:, nxt:] = nodes[:, None]
            blk_b[:, nxt:] = bias_t[None, :]
            blk_l[:, nxt:] = k
        s += w * r
    if g is None:
        low, high = g_init
        if not (0 < low < high):
            raise GraphError(f"need 0 < low < high for conductances, got {low!r}, {high!r}")
        g = np.random.default_rng(seed).uniform(low, high, size=E)  # the graph's draws, edge by edge
    else:
        g = np.asarray(g, dtype=np.float64)
        if g.shape != (E,):
            raise GraphError(f"dense_circuit: g must hold one conductance per edge, shape ({E},), got {g.shape}")
        if g.size and not (np.isfinite(g.min()) and np.isfinite(g.max()) and g.min() > 0):
            k = int(np.argmax(~np.isfinite(g) | (g <= 0)))
            raise GraphError(f"dense_circuit: g[{k}] is {g[k].item()!r} S; conductances must be finite and > 0")
        if g.flags.writeable or not g.flags.owndata:
            g = g.copy()

    out_pos = first[-2] + np.arange(n_cls) * per_class
    out_neg = out_pos + 1 if per_class == 2 else np.full(n_cls, -1)
    gains = np.concatenate([in_gain, np.zeros(n_src - n_in)])
    offsets = np.concatenate([np.zeros(n_in), rails, [v for v in rail_of]]).astype(np.float64)
    return Circuit(
        name=name if name is not None else f"layered-{'-'.join(map(str, sizes))}",
        nodes=tuple(names), node_role=tuple(roles), node_layer=np.repeat(np.arange(L), widths),
        sources=tuple(src_names), source_kind=("input",) * n_in + ("bias",) * (n_src - n_in),
        source_feature=np.concatenate([in_feat, np.full(n_src - n_in, -1)]), source_gain=gains,
        source_offset=offsets, n_features=n_x,
        edge_a=_frozen(a), edge_b=_frozen(b), edge_g=_frozen(g), edge_layer=_frozen(lay), g_min=g_min, g_max=g_max,
        diode_anode=d_an_a, diode_cathode=d_ca_a, diode_model=np.zeros(d_an_a.size, np.int64),
        models=(model,) if model is not None and d_an_a.size else (),
        out_pos=out_pos, out_neg=out_neg, target_on=target_on, target_off=target_off, nudge=nudge,
        layer_names=tuple(layer_names) if layer_names is not None else tuple(f"layer{k + 1}" for k in range(L)),
        **amp,
    )
