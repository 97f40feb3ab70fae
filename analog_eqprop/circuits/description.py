"""The one circuit description both backends read.

A :class:`Circuit` is its **free nodes** (hidden and output neurons, whose voltages are the
unknowns: labels, roles, layers) plus **one table per element kind** (:mod:`analog_eqprop.elements`,
one module per kind): the sources (inputs ``V = gain * x[feature] + offset`` and bias rails),
the amplifiers (Kendall et al. 2020), the conductances (the trainable weights, S), the diodes,
the outputs with their nudge, and any kind registered since. Circuit-wide settings: the
number of features, the conductance range ``[g_min, g_max]`` training clips to, the output
targets ``target_on`` / ``target_off`` [V] and the names of the learning-rate layers.

Terminals index the free nodes ``0 .. n_free-1``, then the terminals the owning kinds create
(sources, then amplified copies: :meth:`Circuit.terminal_offset`); ground is ``-1``. Nothing
about a circuit is written anywhere else: the netlist compiler and the NumPy system are both
built from this object (and the conductance vector being trained).

Earlier versions held every element as flat arrays on the circuit (``edge_a``, ``edge_g``,
``diode_anode``, ``amp_gain``, ``out_pos``, ``nudge``...); those names remain, as keywords of
the constructor and of :func:`dataclasses.replace` and as read-only attributes, each one a
column of its kind's table (the kind's ``legacy`` map).

Examples
--------
>>> from analog_eqprop.circuits import layered_circuit
>>> c = layered_circuit([2, 3, 1], seed=0)
>>> c.n_free, c.n_sources, c.n_edges, c.n_diodes
(4, 6, 23, 3)
>>> c.element("conductance").g is c.edge_g, [t.kind for t in c.tables()]
(True, ['source', 'amplifier', 'conductance', 'diode', 'mosfet', 'device', 'nudge'])
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterator, Mapping

import numpy as np

from analog_eqprop.elements import KINDS, NUDGE_MODES, ElementTable
from analog_eqprop.elements import kind as kind_table
from analog_eqprop.defaults import CIRCUIT_DEFAULTS
from analog_eqprop.elements.base import GROUND, column
from analog_eqprop.errors import GraphError

__all__ = ["Circuit", "GROUND", "NUDGE_MODES"]

# legacy keyword -> (kind, column), from every kind's table
_LEGACY = {name: (k.kind, col) for k in KINDS for name, col in k.legacy.items()}


@dataclass(frozen=True, eq=False, init=False)
class Circuit:
    """A resistive EqProp circuit (see the module docstring for the conventions).

    Parameters
    ----------
    name : str
    nodes, node_role : tuple of str
        Free-node labels and roles (``hidden``, ``output``, ``line``...).
    node_layer : array of int
        Each free node's layer (the block-wise solvers and gradient plans group by it).
    n_features : int
        Input features the sources read.
    g_min, g_max : float
        Conductance range [S] (training clips to it).
    target_on, target_off : float
        Target output [V] of the correct and the other classes.
    layer_names : tuple of str
        Names of the learning-rate layers.
    elements : mapping of kind -> table, optional
        The element tables; a kind left out is empty.
    **columns
        The flat names of earlier versions (``edge_a``, ``diode_model``, ``amp_gain``,
        ``out_pos``, ``nudge``...), each overriding one column of its kind's table.

    All arrays are read-only copies. Conductances ``edge_g`` are the *initial* values; a
    model trains its own copy and passes it to the backends.
    """

    name: str
    nodes: tuple[str, ...]
    node_role: tuple[str, ...]
    node_layer: np.ndarray
    n_features: int
    g_min: float = CIRCUIT_DEFAULTS["g_min"]
    g_max: float = CIRCUIT_DEFAULTS["g_max"]
    target_on: float = 1.0
    target_off: float = 0.0
    layer_names: tuple[str, ...] = ()
    elements: Mapping[str, ElementTable] = field(default_factory=dict)

    def __init__(self, name: str, nodes, node_role, node_layer, n_features: int = 0,
                 g_min: float = CIRCUIT_DEFAULTS["g_min"], g_max: float = CIRCUIT_DEFAULTS["g_max"],
                 target_on: float = 1.0, target_off: float = 0.0, layer_names=(),
                 elements: Mapping[str, ElementTable] | None = None, **columns: Any):
        unknown = sorted(set(columns) - set(_LEGACY))
        if unknown:
            raise TypeError(f"Circuit() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}")
        given = dict(elements or {})
        bad = sorted(set(given) - {k.kind for k in KINDS})
        if bad:
            raise GraphError(f"circuit: unknown element kind(s) {bad}; known: {[k.kind for k in KINDS]}")
        tables: dict[str, ElementTable] = {}
        for k in KINDS:
            table = given.get(k.kind)
            if table is not None and not isinstance(table, k):
                raise GraphError(f"circuit: the {k.kind} table must be a {k.__name__}, got {type(table).__name__}")
            changes = {col: columns[leg] for leg, col in k.legacy.items() if leg in columns}
            if table is None:
                table = k(**changes)
            elif changes:
                table = dataclasses.replace(table, **changes)
            tables[k.kind] = table
        set_ = object.__setattr__
        set_(self, "name", name)
        set_(self, "nodes", tuple(nodes))
        set_(self, "node_role", tuple(node_role))
        set_(self, "node_layer", column(node_layer, np.int64))
        set_(self, "n_features", n_features)
        set_(self, "g_min", g_min)
        set_(self, "g_max", g_max)
        set_(self, "target_on", target_on)
        set_(self, "target_off", target_off)
        set_(self, "layer_names", tuple(layer_names))
        set_(self, "elements", MappingProxyType(tables))
        owners = [t for t in tables.values() if t.owns_terminals]
        offsets, first = {}, len(self.nodes)
        for t in owners:
            offsets[t.kind] = first
            first += len(t)
        set_(self, "_offsets", offsets)
        set_(self, "_n_terminals", first)
        self._check()

    # -- tables ------------------------------------------------------------------------------
    def element(self, kind: str) -> ElementTable:
        """The table of ``kind`` (``"conductance"``, ``"diode"``...)."""
        try:
            return self.elements[kind]
        except KeyError:
            raise KeyError(f"unknown element kind {kind!r}; known: {', '.join(self.elements)}") from None

    def tables(self, *, nonempty: bool = False) -> Iterator[ElementTable]:
        """Every kind's table, in registry order (only the non-empty ones with ``nonempty``)."""
        return (t for t in self.elements.values() if len(t) or not nonempty)

    def with_element(self, table: ElementTable) -> "Circuit":
        """The circuit with one kind's table replaced."""
        return dataclasses.replace(self, elements={**self.elements, table.kind: table})

    def with_values(self, values: Mapping[str, np.ndarray] | None) -> "Circuit":
        """The circuit with the trainable column of each kind in ``values`` set (what the
        backends receive from a model that trains more than conductances)."""
        if not values:
            return self
        tables = dict(self.elements)
        for kind, v in values.items():
            t = self.element(kind)
            tables[kind] = dataclasses.replace(t, **{t.trainable: v})
        return dataclasses.replace(self, elements=tables)

    # -- sizes ---------------------------------------------------------------------------
    @property
    def n_free(self) -> int:
        return len(self.nodes)

    @property
    def n_sources(self) -> int:
        return len(self.elements["source"])

    @property
    def n_amps(self) -> int:
        return len(self.elements["amplifier"])

    @property
    def n_terminals(self) -> int:
        return self._n_terminals

    @property
    def n_edges(self) -> int:
        return len(self.elements["conductance"])

    @property
    def n_diodes(self) -> int:
        return len(self.elements["diode"])

    @property
    def n_outputs(self) -> int:
        return len(self.elements["nudge"])

    @property
    def differential(self) -> bool:
        return self.elements["nudge"].differential

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
        return dataclasses.replace(self, edge_param=np.zeros(0, np.int64)) if self.tied else self

    @property
    def n_layers(self) -> int:
        """Number of learning-rate layers (conductance groups)."""
        return self.elements["conductance"].n_layers

    @property
    def nonlinear(self) -> bool:
        """Whether any nonlinear element (a diode, a transistor...) is present."""
        return any(not t.linear and len(t) for t in self.elements.values())

    # -- terminals -------------------------------------------------------------------------
    def terminal_offset(self, kind: str) -> int:
        """Index of the first terminal owned by ``kind`` (sources, amplifier copies)."""
        return self._offsets[kind]

    def terminal_kind(self, t: np.ndarray) -> np.ndarray:
        """0 free node, 1 source, 2 amplified copy (1 + the owner's position), -1 ground, per terminal."""
        t = np.asarray(t)
        kind = np.full(t.shape, -1)
        kind[(t >= 0) & (t < self.n_free)] = 0
        for i, (k, first) in enumerate(self._offsets.items(), start=1):
            kind[(t >= first) & (t < first + len(self.elements[k]))] = i
        return kind

    def is_fixed(self, t: np.ndarray) -> np.ndarray:
        """Per terminal: whether it holds a fixed voltage (ground, or a fixed-voltage owner's: a source)."""
        t = np.asarray(t)
        out = t == GROUND
        for k, first in self._offsets.items():
            if self.elements[k].fixed_voltage:
                out = out | ((t >= first) & (t < first + len(self.elements[k])))
        return out

    def terminal_name(self, t: int) -> str:
        """The label of a terminal (``"0"`` for ground)."""
        t = int(t)
        if t == GROUND:
            return "0"
        if t < self.n_free:
            return self.nodes[t]
        for k, first in self._offsets.items():
            if t < first + len(self.elements[k]):
                return self.elements[k].owned_labels()[t - first]
        raise IndexError(f"terminal {t} out of range (the circuit has {self.n_terminals})")

    def terminal_labels(self) -> list[str]:
        """Labels of all terminals, in terminal order (free nodes, then every owner's)."""
        out = list(self.nodes)
        for k in self._offsets:
            out += list(self.elements[k].owned_labels())
        return out

    def source_voltages(self, x: np.ndarray) -> np.ndarray:
        """Source voltages [V], ``(batch, n_sources)``, for features ``x`` ``(batch, n_features)``."""
        return self.elements["source"].voltages(x)

    def terminal_voltages(self, v_free: np.ndarray, v_src: np.ndarray) -> np.ndarray:
        """Voltages of all terminals plus ground (last column), ``(batch, n_terminals + 1)``."""
        parts = [v_free]
        parts += [self.elements[k].owned_voltages(self, v_free, v_src) for k in self._offsets]
        parts.append(np.zeros((v_free.shape[0], 1)))
        return np.concatenate(parts, axis=1)

    def edge_drops(self, v_term: np.ndarray) -> np.ndarray:
        """Voltage across every conductance, ``V(a) - V(b)`` [V], from :meth:`terminal_voltages`."""
        return self.elements["conductance"].drops(v_term)

    def outputs(self, v_free: np.ndarray) -> np.ndarray:
        """Output voltages [V]: ``V(pos)``, minus ``V(neg)`` for differential pairs."""
        return self.elements["nudge"].read_out(v_free)

    def targets(self, onehot: np.ndarray) -> np.ndarray:
        """Target output voltages [V] from one-hot (or soft) targets in [0, 1]."""
        return self.target_off + (self.target_on - self.target_off) * np.asarray(onehot, dtype=np.float64)

    def with_name(self, name: str) -> "Circuit":
        return dataclasses.replace(self, name=name)

    # -- plain data ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The circuit as JSON-friendly data: the circuit's own fields and the kinds' columns
        under their flat names where they have them (the layout of earlier versions), the
        other kinds' tables under ``"elements"`` (only non-empty ones)."""
        out: dict[str, Any] = {}
        for name in ("name", "nodes", "node_role", "node_layer", "n_features", "g_min", "g_max", "target_on",
                     "target_off", "layer_names"):
            v = getattr(self, name)
            out[name] = v.tolist() if isinstance(v, np.ndarray) else list(v) if isinstance(v, tuple) else v
        extra = {}
        for t in self.tables():
            d = t.to_dict()
            if t.legacy:
                out.update({leg: d[col] for leg, col in t.legacy.items()})
            elif len(t):
                extra[t.kind] = d
        if extra:
            out["elements"] = extra
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Circuit":
        """The circuit :meth:`to_dict` described (checked like any new circuit)."""
        kw = dict(d)
        tables = {name: kind_table(name).from_dict(td) for name, td in (kw.pop("elements", None) or {}).items()}
        for k in KINDS:
            cols = {col: kw.pop(leg) for leg, col in k.legacy.items() if leg in kw}
            if cols:
                tables[k.kind] = k.from_dict(cols)
        for name in ("nodes", "node_role", "layer_names"):
            kw[name] = tuple(kw.get(name, ()))
        return cls(elements=tables, **kw)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "elements": dict(self.elements)}  # a mappingproxy does not pickle

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, elements=MappingProxyType(dict(state["elements"])))

    # -- validation ------------------------------------------------------------------------
    def _check(self) -> None:
        if len(self.node_role) != self.n_free or len(self.node_layer) != self.n_free:
            raise GraphError("circuit: node_role / node_layer must have one entry per free node")
        self._check_labels()
        for name in ("target_on", "target_off", "g_min", "g_max"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and np.isfinite(v)):
                raise GraphError(f"circuit: {name} must be a finite number, got {v!r}")
        for t in self.tables():
            t.check(self)
        if not (0 < self.g_min < self.g_max < np.inf):
            raise GraphError(f"circuit: need 0 < g_min < g_max < inf, got {self.g_min!r}, {self.g_max!r}")
        if self.target_on == self.target_off:
            raise GraphError(f"circuit: target_on and target_off are both {self.target_on!r} V; the classes' "
                             "targets must differ")
        self.elements["conductance"].check_params()
        self._check_connected()

    def _check_labels(self) -> None:
        """Every label once: a collision is named with both owners (the netlist and the results
        are keyed by label, so two elements sharing one would be confused)."""
        owner: dict[str, str] = {}
        kinds = [("free node", n) for n in self.nodes]
        for k in self._offsets:
            t = self.elements[k]
            kinds += list(zip(t.owned_roles(self), t.owned_labels()))
        for what, label in kinds:
            if not isinstance(label, str):
                raise GraphError(f"circuit: {what} label {label!r} is not a string")
            if label in owner:
                raise GraphError(f"circuit: labels must be distinct, but {owner[label]} {label!r} and {what} "
                                 f"{label!r} share one; rename one of them")
            owner[label] = what

    def _check_connected(self) -> None:
        """Every free node needs a DC path to a fixed voltage, or the operating point is singular."""
        import scipy.sparse as sp
        from scipy.sparse.csgraph import connected_components

        nt = self.n_terminals + 1  # ground last
        pairs = [p for t in self.tables() for p in t.links(self)]
        a = np.concatenate([np.asarray(p[0], np.int64) for p in pairs]) if pairs else np.zeros(0, np.int64)
        b = np.concatenate([np.asarray(p[1], np.int64) for p in pairs]) if pairs else np.zeros(0, np.int64)
        a = np.where(a == GROUND, nt - 1, a)
        b = np.where(b == GROUND, nt - 1, b)
        adj = sp.coo_matrix((np.ones(len(a)), (a, b)), shape=(nt, nt))
        _, labels = connected_components(adj, directed=False)
        floating = np.flatnonzero(labels[: self.n_free] != labels[nt - 1])
        if floating.size:
            raise GraphError(f"circuit: node {self.nodes[floating[0]]} has no path to a voltage source or ground "
                             f"(its voltage would be undefined)")


def _legacy_accessor(kind: str, col: str) -> property:
    return property(lambda self: getattr(self.elements[kind], col),
                    doc=f"The ``{col}`` column of the {kind} table (the flat name of earlier versions).")


for _name, (_kind, _col) in _LEGACY.items():  # edge_a, diode_model, amp_gain, out_pos, nudge, ...
    setattr(Circuit, _name, _legacy_accessor(_kind, _col))
del _name, _kind, _col
