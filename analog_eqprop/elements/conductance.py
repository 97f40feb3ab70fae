"""Linear conductances between two terminals: the trainable weights of a resistive network.

Current ``i = g (V_a - V_b)`` [A] from ``a`` to ``b``; co-content ``1/2 g (V_a - V_b)^2``, so the
EqProp update of ``g`` is ``-(1/beta) 1/2 (dV_beta^2 - dV_0^2)``. Columns: terminals ``a``, ``b``,
the initial conductance ``g`` [S], the learning-rate ``layer``, and optionally ``param`` (the
parameter that sets each conductance, ``-1`` for a fixed one: tied convolution weights,
average pooling; empty for one parameter per conductance).

Card: ``r<k> a b 1/g`` [ohm] (the value printed with ``repr`` precision). In the Norton form
(``form="norton"``) the conductances from input sources become, per free node ``j``,
``rn<j> j 0 1/sum(g)`` and ``in<j> 0 j sum(g V)``. Hardware models: the conductances are the
devices (:class:`~analog_eqprop.hardware.DeviceArray`); line resistance re-indexes them onto
line nodes (:func:`~analog_eqprop.hardware.with_lines`).

Examples
--------
>>> t = Conductances(a=[0, 0], b=[1, -1], g=[1e-3, 2e-3], layer=[0, 0])
>>> w = np.array([[1.0, 0.25, 0.0]])  # V(0), V(1), ground
>>> t.cocontent(w).tolist()  # 1/2 (1e-3 * 0.75^2 + 2e-3 * 1^2)
[0.00128125]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from analog_eqprop.elements.base import CardSpec, ElementTable, column, index_column
from analog_eqprop.elements.blocks import CHUNK, DenseBlocks, find_blocks, groups
from analog_eqprop.errors import ConfigError, GraphError
from analog_eqprop.spice.names import format_number

__all__ = ["Conductances"]


@dataclass(frozen=True, eq=False)
class Conductances(ElementTable):
    """Conductances: terminals ``a``, ``b``, value ``g`` [S], ``layer``, ``param`` (see the module)."""

    a: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    b: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    g: np.ndarray = field(default_factory=lambda: np.zeros(0))
    layer: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    param: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    kind: ClassVar[str] = "conductance"
    noun: ClassVar[str] = "conductance"
    terminals: ClassVar[tuple[str, ...]] = ("a", "b")
    trainable: ClassVar[str | None] = "g"
    cards: ClassVar[dict[str, CardSpec]] = {"r": CardSpec(2, "value"), "rn": CardSpec(2, "value"),
                                            "in": CardSpec(2, "value")}
    legacy: ClassVar[dict[str, str]] = {"edge_a": "a", "edge_b": "b", "edge_g": "g", "edge_layer": "layer",
                                        "edge_param": "param"}

    def __post_init__(self) -> None:
        for name in ("a", "b", "layer", "param"):  # int32: a big net's tens of millions of indices
            object.__setattr__(self, name, index_column(getattr(self, name), f"conductance {name}"))
        object.__setattr__(self, "g", column(self.g, np.float64))

    def blocks(self) -> DenseBlocks:
        """The conductances as dense row-major blocks of terminal ranges
        (:func:`~analog_eqprop.elements.blocks.find_blocks`; found once per table)."""
        if self.__dict__.get("_blocks") is None:  # (a cache, not a field)
            if not (len(self.a) == len(self.b) == len(self.layer) == len(self)):
                raise GraphError("circuit: edge arrays differ in length")
            object.__setattr__(self, "_blocks", find_blocks(self.a, self.b, self.layer))
        return self._blocks

    def __len__(self) -> int:
        return len(self.g)

    def __getstate__(self) -> dict:
        # the caches (blocks, layer edges) are found again after unpickling
        return {k: v for k, v in self.__dict__.items() if k not in ("_blocks", "_layer_edges")}

    def layer_edges(self) -> list[slice | np.ndarray]:
        """Each learning-rate layer's conductances: a slice of the table when they are one
        contiguous run (a layered net's layers usually are), else their indices (increasing).
        Found once per table, in chunks."""
        if self.__dict__.get("_layer_edges") is None:
            object.__setattr__(self, "_layer_edges", groups(self.layer, self.n_layers))
        return list(self._layer_edges)

    @property
    def n_layers(self) -> int:
        return int(self.layer.max()) + 1 if len(self) else 0

    # -- validation -----------------------------------------------------------------------------
    def check(self, circuit) -> None:
        """Terminals in range, no conductance from a terminal to itself or between two fixed
        voltages, every value finite and > 0: in chunks of edges (a big net's temporaries stay
        small); the first offending conductance is named."""
        c = circuit
        super().check(c)
        if not (len(self.b) == len(self.a) == len(self) == len(self.layer)):
            raise GraphError("circuit: edge arrays differ in length")
        for s in range(0, len(self), CHUNK):
            a, b, g = self.a[s:s + CHUNK], self.b[s:s + CHUNK], self.g[s:s + CHUNK]
            same = a == b
            if np.any(same):
                k = s + int(np.argmax(same))
                raise GraphError(f"circuit: conductance {k} joins {c.terminal_name(self.a[k])} to itself")
            both = c.is_fixed(a) & c.is_fixed(b)
            if np.any(both):
                k = s + int(np.argmax(both))
                raise GraphError(f"circuit: conductance {k} joins two fixed-voltage terminals "
                                 f"({c.terminal_name(self.a[k])}, {c.terminal_name(self.b[k])}); "
                                 f"it has no effect on the network and cannot learn")
            bad = ~np.isfinite(g) | (g <= 0)
            if np.any(bad):
                k = s + int(np.argmax(bad))
                raise GraphError(f"circuit: conductance between {c.terminal_name(self.a[k])} and "
                                 f"{c.terminal_name(self.b[k])} is {float(self.g[k])!r} S; conductances must be "
                                 f"finite and > 0")

    def check_params(self) -> None:
        """``param``: one entry per edge, parameters numbered 0..P-1, each used, each within one
        layer, and tied conductances starting equal (they are one parameter)."""
        ep = self.param
        if not ep.size:
            return
        if ep.size != len(self):
            raise GraphError(f"circuit: edge_param has {ep.size} entries but there are {len(self)} conductances "
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
        bad = self.layer[train] != self.layer[ref]
        if np.any(bad):
            k = int(train[np.argmax(bad)])
            raise GraphError(f"circuit: conductances {int(ref[np.argmax(bad)])} and {k} share parameter {int(ep[k])} "
                             f"but lie in different layers; a parameter belongs to one layer")
        bad = self.g[train] != self.g[ref]
        if np.any(bad):
            k = int(train[np.argmax(bad)])
            raise GraphError(f"circuit: conductances {int(ref[np.argmax(bad)])} and {k} share parameter {int(ep[k])} "
                             f"but start at different values ({float(self.g[ref[np.argmax(bad)]])!r}, "
                             f"{float(self.g[k])!r} S)")

    def links(self, circuit):
        return [self.blocks().links()]  # a star per dense block: the same connectivity

    # -- physics --------------------------------------------------------------------------------
    def drops(self, w: np.ndarray) -> np.ndarray:
        """``V(a) - V(b)`` [V] per conductance, from terminal voltages ``w`` (ground last)."""
        return w[:, self.a] - w[:, self.b]

    def cocontent(self, w: np.ndarray, g: np.ndarray | None = None) -> np.ndarray:
        d = self.drops(w)
        return 0.5 * np.sum((self.g if g is None else g) * d * d, axis=1)

    # -- netlist --------------------------------------------------------------------------------
    def write(self, deck) -> None:
        c, g, v_src = deck.c, deck.g, deck.v_src
        kind_a, kind_b = c.terminal_kind(self.a), c.terminal_kind(self.b)
        is_in = np.append(c.element("source").is_input, False)

        def input_end(t, kind):
            return (kind == 1) & is_in[np.where(kind == 1, t - c.n_free, -1)]

        fold = np.zeros(len(self), dtype=bool)
        if deck.form == "norton":
            in_a, in_b = input_end(self.a, kind_a), input_end(self.b, kind_b)
            other = np.where(in_a, kind_b, kind_a)
            bad = (in_a | in_b) & (other != 0)
            if np.any(bad):
                k = int(np.argmax(bad))
                raise ConfigError(f"the Norton form cannot fold conductance {k} between "
                                  f"{c.terminal_name(self.a[k])!r} and {c.terminal_name(self.b[k])!r}: an input "
                                  "source must connect to free nodes only; use form='full'")
            fold = in_a | in_b
        names = c.layer_names
        for lay in sorted(set(self.layer.tolist())):
            ks = np.flatnonzero((self.layer == lay) & ~fold)
            if not ks.size:
                continue
            lname = names[lay] if 0 <= lay < len(names) else f"layer {lay}"
            deck.section(f"layer {lay} ({lname}): {ks.size} conductances [ohm = 1 / g]")
            deck.add(f"* @conductances layer={lay}")
            r = 1.0 / g[ks]
            if not np.isfinite(r).all():
                k = int(ks[np.argmin(np.isfinite(r))])
                format_number(1.0 / g[k], f"conductance {k}")  # raises, naming it
            term = deck.term  # names by terminal index; values as format_number writes them (repr)
            deck.add(*[f"r{k} {term[a]} {term[b]} {v!r}" for k, a, b, v in
                       zip(ks.tolist(), self.a[ks].tolist(), self.b[ks].tolist(), r.tolist())])
        if not fold.any():
            return
        ks = np.flatnonzero(fold)
        in_a = input_end(self.a[ks], kind_a[ks])
        node = np.where(in_a, self.b[ks], self.a[ks])
        src = np.where(in_a, self.a[ks], self.b[ks]) - c.n_free
        G = np.zeros(c.n_free)
        current = np.zeros((v_src.shape[0], c.n_free))
        # np.add.at sums in edge order: the same digits on every machine (golden netlists).
        np.add.at(G, node, g[ks])
        np.add.at(current, (slice(None), node), g[ks] * v_src[:, src])
        deck.section("Norton equivalents of the input sources: per node, rn<j> = 1 / sum(g) to ground",
                     "and in<j> = sum(g V_input) injected (exact for ideal sources)")
        if not deck.sweep:
            for j in np.unique(node):
                deck.add(f"rn{j} {deck.name(j)} 0 {format_number(1.0 / G[j], f'Norton conductance of node {j}')}")
                deck.value(f"in{j}", f"0 {deck.name(j)}", "I", current[:, j], f"Norton current {j}")
            return
        js = np.unique(node)  # a sweep: each rn<j>, then its pwl table; the tables formatted at once
        tables = deck.tables([f"n{j}" for j in js.tolist()], [f"0 {deck.name(j)}" for j in js.tolist()], "I",
                             current[:, js], [f"Norton current {j}" for j in js.tolist()])
        for j, table in zip(js.tolist(), tables):
            deck.add(f"rn{j} {deck.name(j)} 0 {format_number(1.0 / G[j], f'Norton conductance of node {j}')}", *table)

    @classmethod
    def read(cls, reader) -> "Conductances":
        """The ``r<k>`` cards in index order (each ``g`` chosen so that ``1/g`` prints as the card's
        resistance), then, in the Norton form, one conductance per ``rn<j>`` / ``in<j>`` pair
        to a bias rail at ``in<j> / g`` volts (its Thevenin twin)."""
        edges = [el for _, el in sorted(reader.by_prefix("r").items())]
        a = [reader.terminal(el.nodes[0]) for el in edges]
        b = [reader.terminal(el.nodes[1]) for el in edges]
        g = [reader.conductance(el.value) for el in edges]
        layers = [el.layer if el.layer is not None else 0 for el in edges]
        for node, gj, layer in reader.norton_pairs():
            a.append(node[0])
            b.append(node[1])
            g.append(gj)
            layers.append(layer)
        return cls(a=a, b=b, g=g, layer=layers)

    # -- power ----------------------------------------------------------------------------------
    def power(self, pc) -> dict[str, np.ndarray]:
        """Dissipated per layer, ``g (V_a - V_b)^2``, keyed ``"layer:<name>"``."""
        c = pc.circuit
        dv = self.drops(pc.w)
        i = pc.g * dv
        p = i * dv
        np.add.at(pc.out, (slice(None), self.a), i)
        np.add.at(pc.out, (slice(None), self.b), -i)
        names = list(c.layer_names) + [f"layer{k}" for k in range(len(c.layer_names), self.n_layers)]
        return {f"layer:{names[k]}": p[:, self.layer == k].sum(axis=1) for k in range(self.n_layers)}

    def check_bcd(self, circuit) -> None:
        return None  # the lateral-edge and grounding checks need every kind: solvers.bcd_checks

