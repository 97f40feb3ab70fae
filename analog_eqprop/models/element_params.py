"""Trainable columns of element kinds other than the conductances: transistor gate voltages,
the parameters of users' devices.

A kind with a trainable column (:attr:`~analog_eqprop.elements.base.ElementTable.trainable`)
trains its elements of ``layer >= 0``: one parameter array per (kind, layer), named
``<param_prefix><layer>`` (``vg0``, ``vg1`` for the gates of transistor layers 0 and 1), each a
learning-rate layer of its own after the conductance layers (the units differ: volts, not
siemens). The model hands the backends the full columns as ``values={kind: array}``; EqProp's
update of each comes from the kind's
:meth:`~analog_eqprop.elements.base.ElementTable.param_grad_diff` (the two phases' local
quantities), the exact gradient from its
:meth:`~analog_eqprop.elements.base.ElementTable.param_derivative` (the adjoint of the nodal
equations). Conductances are trained by :class:`~analog_eqprop.models.ResistiveNetwork` itself.

Examples
--------
>>> import networkx as nx
>>> from analog_eqprop.circuits import circuit_from_graph
>>> G = nx.Graph([("x0", "h0"), ("h0", "y0")])
>>> nx.set_node_attributes(G, {"x0": "input", "h0": "hidden", "y0": "output"}, "role")
>>> G.edges["x0", "h0"].update(element="transistor", gate=1.5)
>>> G.edges["h0", "y0"]["weight"] = 1e-5
>>> G.add_edge("y0", "gnd", weight=1e-5); G.nodes["gnd"]["role"] = "ground"
>>> p = ElementParams(circuit_from_graph(G), n_before=2)
>>> p.names, p.layer_of
(['vg0'], {'vg0': 2})
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ElementParams"]


class ElementParams:
    """The trainable non-conductance parameters of a circuit, grouped by (kind, layer).

    Parameters
    ----------
    circuit : Circuit
    n_before : int
        Learning-rate layers before these (the conductance layers).
    """

    def __init__(self, circuit, n_before: int):
        self.circuit = circuit
        self.groups: list[tuple[str, str, np.ndarray]] = []  # (kind, parameter name, rows)
        for t in circuit.tables(nonempty=True):
            if t.trainable is None or t.kind == "conductance":
                continue
            for k in np.unique(t.layer[t.layer >= 0]):
                self.groups.append((t.kind, f"{t.param_prefix}{int(k)}", np.flatnonzero(t.layer == k)))
        self.names = [name for _, name, _ in self.groups]
        self.layer_of = {name: n_before + i for i, name in enumerate(self.names)}

    def __bool__(self) -> bool:
        return bool(self.groups)

    def init(self, params: dict[str, np.ndarray], dtype: Any, values: dict[str, np.ndarray] | None = None) -> None:
        """Add the parameter arrays to ``params`` (from the circuit, or from full columns ``values``)."""
        for kind, name, rows in self.groups:
            t = self.circuit.element(kind)
            col = getattr(t, t.trainable) if values is None or kind not in values else np.asarray(values[kind])
            params[name] = np.array(col[rows], dtype=dtype)

    def values(self, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The full trained columns, ``{kind: (n,) array}``, as the backends take them."""
        out: dict[str, np.ndarray] = {}
        for kind, name, rows in self.groups:
            if kind not in out:
                t = self.circuit.element(kind)
                out[kind] = np.array(getattr(t, t.trainable), dtype=np.float64)
            out[kind][rows] = params[name]
        return out

    def project(self, params: dict[str, np.ndarray]) -> None:
        """Clip every parameter to its kind's range (a gate's drive range)."""
        for kind, name, _ in self.groups:
            lo, hi = self.circuit.element(kind).bounds()
            np.clip(params[name], lo, hi, out=params[name])

    def tables(self, params: dict[str, np.ndarray]) -> dict[str, Any]:
        """The trainable kinds' tables with the current parameters."""
        vals = self.values(params)
        return {kind: self.circuit.element(kind).replace(**{self.circuit.element(kind).trainable: v})
                for kind, v in vals.items()}

    def grad_diff(self, params, w1: np.ndarray, w2: np.ndarray) -> dict[str, np.ndarray]:
        """EqProp's ``dF(s_1) - dF(s_2)`` per parameter array, from terminal voltages (batch mean)."""
        tables = self.tables(params)
        diffs = {kind: t.param_grad_diff(w1, w2) for kind, t in tables.items()}
        return {name: diffs[kind][rows] for kind, name, rows in self.groups}

    def implicit(self, params, w: np.ndarray, lam_ext: np.ndarray, p: np.ndarray,
                 r: np.ndarray) -> dict[str, np.ndarray]:
        """Exact ``dJ/dtheta = -lam^T dR/dtheta`` per parameter array (batch mean): ``lam_ext``
        the adjoint with a zero column for "no row" (index -1), ``p``, ``r`` each terminal's KCL
        row and reflection (the MNA terminal map)."""
        out = {}
        for kind, t in self.tables(params).items():
            terms = t.currents(w[:1]).terms
            d = t.param_derivative(w)  # (batch, n, k)
            rows = np.where(p[terms] >= 0, p[terms], -1)
            g = -np.mean(np.sum(lam_ext[:, rows] * r[terms] * d, axis=2), axis=0)
            out.update({name: g[idx] for k2, name, idx in self.groups if k2 == kind})
        return out
