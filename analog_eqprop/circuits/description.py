"""The one circuit description both backends read.

A :class:`Circuit` lists, as flat arrays, every element of a resistive EqProp network:

* **free nodes** (hidden and output neurons): unknown voltages;
* **sources**: ideal voltage sources to ground, either *inputs* (``V = gain * x[feature] +
  offset``, so +x / -x pairs are two sources of gains +g and -g) or *bias rails* (constant);
* **amplifiers** (Kendall et al. 2020): the amplified copy ``A * V(node)`` of a free node,
  made by a VCVS of gain ``A``, and a CCCS that draws ``back_gain * I_out`` from the node,
  ``I_out`` being the VCVS output current. ``back_gain == A`` keeps the circuit reciprocal
  (an energy-based model); Kendall's ``1 / A`` does not. An input-referred offset ``V_os``
  [V] per amplifier (``amp_offset``, default 0) makes the copy ``A (V(node) + V_os)``;
* **conductances** (the trainable weights, S) between two *terminals*; optionally mapped onto
  fewer *parameters* (``edge_param``: the index of the parameter that sets each conductance,
  ``-1`` for a fixed one): tied conductances (shared convolution weights) and non-trainable
  ones (average pooling). Empty (the default) means one parameter per conductance. It is a
  statement about *training* only: every backend and every netlist still has one resistor per
  conductance, and real hardware one device per resistor -- a tied parameter is programmed
  into each of its devices;
* **diodes** between two terminals, each with a model card;
* **outputs**: single-ended (``V(pos)``) or differential (``V(pos) - V(neg)``), nudged by
  current sources (``nudge="current"``: ``I = -beta dC/dV`` at the free state) or by a
  conductance ``beta`` to a source at the target (``nudge="resistive"``: ``F = E + beta C``).

Terminals index free nodes ``0 .. n_free-1``, then sources, then amplified copies; ground
is ``-1``. Nothing about a circuit is written anywhere else: the netlist compiler and the
NumPy system are both built from this object (and the conductance vector being trained).

Examples
--------
>>> from analog_eqprop.circuits import layered_circuit
>>> c = layered_circuit([2, 3, 1], seed=0)
>>> c.n_free, c.n_sources, c.n_edges, c.n_diodes
(4, 6, 23, 3)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from analog_eqprop.circuits.elements import DiodeModel
from analog_eqprop.defaults import CIRCUIT_DEFAULTS
from analog_eqprop.errors import GraphError

__all__ = ["Circuit", "GROUND", "NUDGE_MODES"]

GROUND = -1
NUDGE_MODES = ("current", "resistive")


def _arr(x, dtype) -> np.ndarray:
    a = np.array(x, dtype=dtype, copy=True).reshape(-1)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Circuit:
    """A resistive EqProp circuit (see the module docstring for the conventions).

    All array fields are read-only copies. Conductances ``edge_g`` are the *initial* values;
    a model trains its own copy and passes it to the backends.
    """

    name: str
    nodes: tuple[str, ...]
    node_role: tuple[str, ...]
    node_layer: np.ndarray
    sources: tuple[str, ...]
    source_kind: tuple[str, ...]
    source_feature: np.ndarray
    source_gain: np.ndarray
    source_offset: np.ndarray
    n_features: int
    edge_a: np.ndarray
    edge_b: np.ndarray
    edge_g: np.ndarray
    edge_layer: np.ndarray
    g_min: float = CIRCUIT_DEFAULTS["g_min"]
    g_max: float = CIRCUIT_DEFAULTS["g_max"]
    amp_node: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    amp_gain: np.ndarray = field(default_factory=lambda: np.zeros(0))
    amp_back: np.ndarray = field(default_factory=lambda: np.zeros(0))
    amp_names: tuple[str, ...] = ()
    amp_offset: np.ndarray = field(default_factory=lambda: np.zeros(0))
    diode_anode: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    diode_cathode: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    diode_model: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    models: tuple[DiodeModel, ...] = ()
    out_pos: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    out_neg: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    target_on: float = 1.0
    target_off: float = 0.0
    nudge: Literal["current", "resistive"] = "current"
    layer_names: tuple[str, ...] = ()
    edge_param: np.ndarray = field(default_factory=lambda: np.zeros(0, int))

    def __post_init__(self) -> None:
        ints = ("node_layer", "source_feature", "edge_a", "edge_b", "edge_layer", "amp_node", "diode_anode",
                "diode_cathode", "diode_model", "out_pos", "out_neg", "edge_param")
        for name in ints:
            object.__setattr__(self, name, _arr(getattr(self, name), np.int64))
        if len(self.amp_offset) == 0:
            object.__setattr__(self, "amp_offset", np.zeros(len(self.amp_node)))
        for name in ("source_gain", "source_offset", "edge_g", "amp_gain", "amp_back", "amp_offset"):
            object.__setattr__(self, name, _arr(getattr(self, name), np.float64))
        self._check()

    # -- sizes ---------------------------------------------------------------------------
    @property
    def n_free(self) -> int:
        return len(self.nodes)

    @property
    def n_sources(self) -> int:
        return len(self.sources)

    @property
    def n_amps(self) -> int:
        return len(self.amp_node)

    @property
    def n_terminals(self) -> int:
        return self.n_free + self.n_sources + self.n_amps

    @property
    def n_edges(self) -> int:
        return len(self.edge_g)

    @property
    def n_diodes(self) -> int:
        return len(self.diode_model)

    @property
    def n_outputs(self) -> int:
        return len(self.out_pos)

    @property
    def differential(self) -> bool:
        return bool(np.any(self.out_neg >= 0))

    @property
    def tied(self) -> bool:
        """Whether conductances map onto parameters other than one to one (``edge_param``)."""
        return bool(self.edge_param.size)

    @property
    def n_params(self) -> int:
        """Number of trainable conductance parameters (``n_edges`` unless :attr:`tied`)."""
        return int(self.edge_param.max(initial=-1)) + 1 if self.tied else self.n_edges

    def untied(self) -> "Circuit":
        """The same circuit with one parameter per conductance: the physical view the backends
        and transforms work on (their edge lists may then change freely)."""
        from dataclasses import replace

        return replace(self, edge_param=np.zeros(0, np.int64)) if self.tied else self

    @property
    def n_layers(self) -> int:
        """Number of learning-rate layers (conductance groups)."""
        return int(self.edge_layer.max()) + 1 if self.n_edges else 0

    # -- terminals -------------------------------------------------------------------------
    def terminal_kind(self, t: np.ndarray) -> np.ndarray:
        """0 free node, 1 source, 2 amplified copy, -1 ground, per terminal index."""
        t = np.asarray(t)
        kind = np.full(t.shape, -1)
        kind[(t >= 0) & (t < self.n_free)] = 0
        kind[(t >= self.n_free) & (t < self.n_free + self.n_sources)] = 1
        kind[t >= self.n_free + self.n_sources] = 2
        return kind

    def terminal_name(self, t: int) -> str:
        """The label of a terminal (``"0"`` for ground)."""
        t = int(t)
        if t == GROUND:
            return "0"
        if t < self.n_free:
            return self.nodes[t]
        if t < self.n_free + self.n_sources:
            return self.sources[t - self.n_free]
        return self.amp_names[t - self.n_free - self.n_sources]

    def source_voltages(self, x: np.ndarray) -> np.ndarray:
        """Source voltages [V], ``(batch, n_sources)``, for features ``x`` ``(batch, n_features)``."""
        x = np.asarray(x, dtype=np.float64)
        feat = np.where(self.source_feature >= 0, self.source_feature, 0)
        vals = x[:, feat] * self.source_gain
        return np.where(self.source_feature >= 0, vals, 0.0) + self.source_offset

    def terminal_voltages(self, v_free: np.ndarray, v_src: np.ndarray) -> np.ndarray:
        """Voltages of all terminals plus ground (last column), ``(batch, n_terminals + 1)``."""
        amps = (v_free[:, self.amp_node] + self.amp_offset) * self.amp_gain
        zero = np.zeros((v_free.shape[0], 1))
        return np.concatenate([v_free, v_src, amps, zero], axis=1)

    def edge_drops(self, v_term: np.ndarray) -> np.ndarray:
        """Voltage across every conductance, ``V(a) - V(b)`` [V], from :meth:`terminal_voltages`."""
        return v_term[:, self.edge_a] - v_term[:, self.edge_b]

    def outputs(self, v_free: np.ndarray) -> np.ndarray:
        """Output voltages [V]: ``V(pos)``, minus ``V(neg)`` for differential pairs."""
        out = v_free[:, self.out_pos]
        if self.differential:
            neg = np.where(self.out_neg >= 0, self.out_neg, 0)
            out = out - np.where(self.out_neg >= 0, v_free[:, neg], 0.0)
        return out

    def targets(self, onehot: np.ndarray) -> np.ndarray:
        """Target output voltages [V] from one-hot (or soft) targets in [0, 1]."""
        return self.target_off + (self.target_on - self.target_off) * np.asarray(onehot, dtype=np.float64)

    def with_name(self, name: str) -> "Circuit":
        from dataclasses import replace

        return replace(self, name=name)

    # -- validation ------------------------------------------------------------------------
    def _check(self) -> None:
        nt = self.n_terminals
        if len(self.node_role) != self.n_free or len(self.node_layer) != self.n_free:
            raise GraphError("circuit: node_role / node_layer must have one entry per free node")
        self._check_labels()
        for name in ("source_kind", "source_feature", "source_gain", "source_offset"):
            if len(getattr(self, name)) != self.n_sources:
                raise GraphError(f"circuit: {name} must have one entry per source")
        self._check_finite()
        if np.any(self.source_feature >= self.n_features):
            k = int(np.argmax(self.source_feature >= self.n_features))
            raise GraphError(f"circuit: source {self.sources[k]} reads feature {self.source_feature[k]} "
                             f"but there are only {self.n_features}")
        for arrs, what in (((self.edge_a, self.edge_b), "conductance"), ((self.diode_anode, self.diode_cathode),
                                                                            "diode")):
            for a in arrs:
                if a.size and (a.min() < GROUND or a.max() >= nt):
                    raise GraphError(f"circuit: a {what} terminal index is out of range")
        if not (len(self.edge_b) == len(self.edge_a) == self.n_edges == len(self.edge_layer)):
            raise GraphError("circuit: edge arrays differ in length")
        same = self.edge_a == self.edge_b
        if np.any(same):
            k = int(np.argmax(same))
            raise GraphError(f"circuit: conductance {k} joins {self.terminal_name(self.edge_a[k])} to itself")
        fixed = lambda t: (self.terminal_kind(t) == 1) | (t == GROUND)  # noqa: E731
        both = fixed(self.edge_a) & fixed(self.edge_b)
        if np.any(both):
            k = int(np.argmax(both))
            raise GraphError(f"circuit: conductance {k} joins two fixed-voltage terminals "
                             f"({self.terminal_name(self.edge_a[k])}, {self.terminal_name(self.edge_b[k])}); "
                             f"it has no effect on the network and cannot learn")
        if np.any(~np.isfinite(self.edge_g)) or np.any(self.edge_g <= 0):
            k = int(np.argmax(~np.isfinite(self.edge_g) | (self.edge_g <= 0)))
            raise GraphError(f"circuit: conductance between {self.terminal_name(self.edge_a[k])} and "
                             f"{self.terminal_name(self.edge_b[k])} is {self.edge_g[k]!r} S; conductances must be "
                             f"finite and > 0")
        if not (0 < self.g_min < self.g_max < np.inf):
            raise GraphError(f"circuit: need 0 < g_min < g_max < inf, got {self.g_min!r}, {self.g_max!r}")
        if len(self.amp_gain) != self.n_amps or len(self.amp_back) != self.n_amps or len(self.amp_names) != self.n_amps \
                or len(self.amp_offset) != self.n_amps:
            raise GraphError("circuit: amplifier arrays differ in length")
        if not np.all(np.isfinite(self.amp_offset)):
            k = int(np.argmax(~np.isfinite(self.amp_offset)))
            raise GraphError(f"circuit: amplifier {self.amp_names[k]} has offset {self.amp_offset[k]!r} V; "
                             "offsets must be finite")
        if self.n_amps and (self.amp_node.min() < 0 or self.amp_node.max() >= self.n_free):
            raise GraphError("circuit: an amplifier input must be a free node")
        amp_t = self.terminal_kind(self.diode_anode) == 2
        amp_t |= self.terminal_kind(self.diode_cathode) == 2
        if np.any(amp_t):
            raise GraphError("circuit: diodes cannot attach to amplifier outputs; attach them to the neuron node")
        if len(self.diode_cathode) != self.n_diodes or len(self.diode_anode) != self.n_diodes:
            raise GraphError("circuit: diode arrays differ in length")
        if self.n_diodes and (self.diode_model.min() < 0 or self.diode_model.max() >= len(self.models)):
            raise GraphError("circuit: a diode refers to an unknown model")
        if len(self.out_neg) != self.n_outputs or self.n_outputs == 0:
            raise GraphError("circuit: needs at least one output, and out_neg must match out_pos")
        if self.out_pos.min() < 0 or self.out_pos.max() >= self.n_free or self.out_neg.max() >= self.n_free:
            raise GraphError("circuit: outputs must be free nodes")
        if self.nudge not in NUDGE_MODES:
            raise GraphError(f"circuit: nudge must be one of {NUDGE_MODES}, got {self.nudge!r}")
        self._check_params()
        self._check_connected()

    def _check_labels(self) -> None:
        """Every label once: a collision is named with both owners (the netlist and the results
        are keyed by label, so two elements sharing one would be confused)."""
        owner: dict[str, str] = {}
        kinds = [("free node", n) for n in self.nodes]
        kinds += [(f"{k} source", n) for k, n in zip(self.source_kind, self.sources)]
        nodes = self.nodes
        kinds += [(f"amplifier output (of node {nodes[j]!r})" if 0 <= j < len(nodes) else "amplifier output", n)
                  for j, n in zip(self.amp_node, self.amp_names)]
        for what, label in kinds:
            if not isinstance(label, str):
                raise GraphError(f"circuit: {what} label {label!r} is not a string")
            if label in owner:
                raise GraphError(f"circuit: labels must be distinct, but {owner[label]} {label!r} and {what} "
                                 f"{label!r} share one; rename one of them")
            owner[label] = what

    def _check_finite(self) -> None:
        """No NaN or inf in any number of the description (a NaN rail would solve to NaN voltages)."""
        for name in ("source_gain", "source_offset", "amp_gain", "amp_back"):
            a = getattr(self, name)
            if not np.all(np.isfinite(a)):
                k = int(np.argmax(~np.isfinite(a)))
                who = self.sources[k] if name.startswith("source") and k < self.n_sources else \
                    self.amp_names[k] if k < len(self.amp_names) else str(k)
                raise GraphError(f"circuit: {name}[{k}] ({who}) is {a[k]!r}; it must be finite")
        if np.any(self.amp_gain <= 0):
            k = int(np.argmax(self.amp_gain <= 0))
            raise GraphError(f"circuit: amplifier {self.amp_names[k] if k < len(self.amp_names) else k} has gain "
                             f"{self.amp_gain[k]!r}; amplifier gains must be > 0")
        for name in ("target_on", "target_off", "g_min", "g_max"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and np.isfinite(v)):
                raise GraphError(f"circuit: {name} must be a finite number, got {v!r}")
        if self.target_on == self.target_off:
            raise GraphError(f"circuit: target_on and target_off are both {self.target_on!r} V; the classes' "
                             "targets must differ")

    def _check_params(self) -> None:
        """``edge_param``: one entry per edge, parameters numbered 0..P-1, each used, each within one
        layer, and tied conductances starting equal (they are one parameter)."""
        ep = self.edge_param
        if not ep.size:
            return
        if ep.size != self.n_edges:
            raise GraphError(f"circuit: edge_param has {ep.size} entries but there are {self.n_edges} conductances "
                             f"(give one per conductance, -1 for a fixed one, or none at all)")
        if ep.min() < -1:
            raise GraphError(f"circuit: edge_param entries must be >= -1 (-1: fixed), got {int(ep.min())}")
        train = np.flatnonzero(ep >= 0)
        n = int(ep.max(initial=-1)) + 1
        used = np.bincount(ep[train], minlength=n)
        if np.any(used == 0):
            raise GraphError(f"circuit: edge_param must number its parameters 0..{n - 1} without gaps; "
                             f"parameter {int(np.argmax(used == 0))} drives no conductance")
        _, first = np.unique(ep[train], return_index=True)  # each parameter's first edge
        ref = train[first][ep[train]]
        bad = self.edge_layer[train] != self.edge_layer[ref]
        if np.any(bad):
            k = int(train[np.argmax(bad)])
            raise GraphError(f"circuit: conductances {int(ref[np.argmax(bad)])} and {k} share parameter {int(ep[k])} "
                             f"but lie in different layers; a parameter belongs to one layer")
        bad = self.edge_g[train] != self.edge_g[ref]
        if np.any(bad):
            k = int(train[np.argmax(bad)])
            raise GraphError(f"circuit: conductances {int(ref[np.argmax(bad)])} and {k} share parameter {int(ep[k])} "
                             f"but start at different values ({self.edge_g[ref[np.argmax(bad)]]!r}, "
                             f"{self.edge_g[k]!r} S)")

    def _check_connected(self) -> None:
        """Every free node needs a DC path to a fixed voltage, or the operating point is singular."""
        import scipy.sparse as sp
        from scipy.sparse.csgraph import connected_components

        nt = self.n_terminals + 1  # ground last
        a = np.concatenate([self.edge_a, self.diode_anode, self.amp_node])
        b = np.concatenate([self.edge_b, self.diode_cathode, self.n_free + self.n_sources + np.arange(self.n_amps)])
        a = np.where(a == GROUND, nt - 1, a)
        b = np.where(b == GROUND, nt - 1, b)
        src = np.arange(self.n_free, self.n_free + self.n_sources)
        a = np.concatenate([a, src])
        b = np.concatenate([b, np.full(self.n_sources, nt - 1)])
        adj = sp.coo_matrix((np.ones(len(a)), (a, b)), shape=(nt, nt))
        _, labels = connected_components(adj, directed=False)
        floating = np.flatnonzero(labels[: self.n_free] != labels[nt - 1])
        if floating.size:
            raise GraphError(f"circuit: node {self.nodes[floating[0]]} has no path to a voltage source or ground "
                             f"(its voltage would be undefined)")
