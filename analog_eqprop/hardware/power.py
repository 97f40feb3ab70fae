"""Power at an operating point: who delivers it, who dissipates it, per example.

From the circuit, the conductances, the inputs and the free-node voltages of a solved phase,
:func:`power_breakdown` returns, per example [W]:

* dissipated in the **conductances** (per layer; wires separately when the circuit has a
  ``"wires"`` layer), ``g (V_a - V_b)^2``;
* dissipated in the **diodes**, ``i V`` across each branch (junction plus series
  resistance; the branch current is solved from the terminal voltages, so it is exact for
  ngspice states too, whose internal diode nodes are not read back);
* delivered by the **voltage sources** (inputs and rails), ``V_s`` times the current each
  drives into the network;
* delivered by the **amplifiers**: the VCVS delivers ``V_copy I_out``, the CCCS absorbs
  ``V_node c I_out``; a reciprocal amplifier (``c = A``) delivers nothing net;
* the **nudge**: delivered by the current sources (``nudge="current"``), or, for
  ``nudge="resistive"``, dissipated in the ``1/beta`` resistors and delivered by the target
  sources.

Energy conservation (Tellegen): delivered = dissipated, to the solver's residual; the
tests check it on every kind of circuit.

Examples
--------
>>> import numpy as np
>>> from analog_eqprop.circuits import layered_circuit
>>> from analog_eqprop.solvers.newton import solve_dc
>>> c = layered_circuit([2, 3, 1], seed=0)
>>> x = np.array([[0.2, 0.9]])
>>> p = power_breakdown(c, c.edge_g, x, solve_dc(c, c.edge_g, x).voltages)
>>> bool(abs(p.balance[0]) < 1e-12 * p.dissipated[0]), bool(p.dissipated[0] > 0)
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analog_eqprop.circuits.description import Circuit
from analog_eqprop.circuits.elements import GMIN, DiodeModel, diode_current
from analog_eqprop.errors import DataError

__all__ = ["PowerBreakdown", "power_breakdown", "diode_branch_current"]


def diode_branch_current(v: np.ndarray, model: DiodeModel, *, gmin: float = GMIN) -> np.ndarray:
    """Current [A] through a diode *branch* (junction plus ``RS``) for branch voltages ``v``
    [V]: the root of ``I_D(v_j) = (v - v_j) / RS``, which lies between 0 and ``v``, by
    bisection to the last bit (ngspice's and the NumPy solver's junction law, gmin included)."""
    v = np.asarray(v, dtype=np.float64)
    if model.RS == 0.0:
        return diode_current(v, model, gmin=gmin)[0]
    lo, hi = np.minimum(v, 0.0), np.maximum(v, 0.0)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        h = diode_current(mid, model, gmin=gmin)[0] - (v - mid) / model.RS  # increasing in mid
        lo, hi = np.where(h > 0, lo, mid), np.where(h > 0, mid, hi)
        if np.all(hi - lo <= 4e-16 * np.maximum(np.abs(hi), 1e-300)):
            break
    vj = 0.5 * (lo + hi)
    return (v - vj) / model.RS if model.RS else diode_current(vj, model, gmin=gmin)[0]


@dataclass(frozen=True)
class PowerBreakdown:
    """Power per example [W], each array ``(batch,)``; see the module docstring.

    Attributes
    ----------
    conductances : dict of str to ndarray
        Dissipated in each conductance layer (by layer name; ``"wires"`` for line resistance).
    diodes, nudge_resistors : ndarray
        Dissipated in the diode branches and in resistive-nudge resistors.
    sources, amplifiers, nudge_sources : ndarray
        Delivered by the voltage sources, the amplifiers (net), the nudge's sources.
    """

    conductances: dict[str, np.ndarray]
    diodes: np.ndarray
    sources: np.ndarray
    amplifiers: np.ndarray
    nudge_sources: np.ndarray
    nudge_resistors: np.ndarray
    per_source: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0)))

    @property
    def devices(self) -> np.ndarray:
        """Dissipated in the trainable conductances (every layer but the wires) [W]."""
        parts = [v for k, v in self.conductances.items() if k != "wires"]
        return np.sum(parts, axis=0) if parts else np.zeros_like(self.diodes)

    @property
    def wires(self) -> np.ndarray:
        return self.conductances.get("wires", np.zeros_like(self.diodes))

    @property
    def dissipated(self) -> np.ndarray:
        return self.devices + self.wires + self.diodes + self.nudge_resistors

    @property
    def delivered(self) -> np.ndarray:
        return self.sources + self.amplifiers + self.nudge_sources

    @property
    def balance(self) -> np.ndarray:
        """Delivered minus dissipated [W]: zero at an exact operating point."""
        return self.delivered - self.dissipated

    def mean(self) -> dict[str, float]:
        """Batch means [W] of every part and the totals (a JSON-friendly dict)."""
        out = {"devices": self.devices, "wires": self.wires, "diodes": self.diodes,
               "nudge_resistors": self.nudge_resistors, "sources": self.sources, "amplifiers": self.amplifiers,
               "nudge_sources": self.nudge_sources, "dissipated": self.dissipated, "delivered": self.delivered,
               "balance": self.balance}
        return {k: float(np.mean(v)) for k, v in out.items()}


def _nudge_terms(c: Circuit, beta: float, target_v, ref, v_free):
    """Per output: (current into pos [A] for current mode, or None; the resistive mode's node
    voltage V_target + V_neg), both (batch, n_outputs)."""
    has_neg = c.out_neg >= 0
    neg = np.where(has_neg, c.out_neg, 0)
    v_neg = np.where(has_neg, v_free[:, neg], 0.0)
    if c.nudge == "current":
        if ref is None:
            raise DataError("current-mode nudging needs the free state (ref) to know its currents")
        return -beta * (c.outputs(np.asarray(ref)[:, : c.n_free]) - target_v), None, v_neg
    return None, target_v + v_neg, v_neg


def power_breakdown(circuit: Circuit, g: np.ndarray, x: np.ndarray, state: np.ndarray, *, beta: float = 0.0,
                    target_v: np.ndarray | None = None, ref: np.ndarray | None = None) -> PowerBreakdown:
    """Power of every part of ``circuit`` at the operating point ``state`` (module docstring).

    Parameters
    ----------
    circuit : Circuit
    g : ndarray (n_edges,)
        The conductances [S] the phase was solved with.
    x : ndarray (batch, n_features)
    state : ndarray (batch, >= n_free)
        Free-node voltages [V] first (extra columns, internal diode nodes, are ignored).
    beta, target_v, ref
        The phase's nudge: strength, target output voltages [V] ``(batch, n_outputs)`` and,
        for current nudging, the free state the currents were set from.
    """
    c = circuit
    g = np.asarray(g, dtype=np.float64)
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    v_free = np.atleast_2d(np.asarray(state, dtype=np.float64))[:, : c.n_free]
    if g.shape != (c.n_edges,) or v_free.shape != (x.shape[0], c.n_free):
        raise DataError(f"power_breakdown: g must be ({c.n_edges},) and state (batch, >= {c.n_free}); got "
                        f"{g.shape}, {np.shape(state)}")
    B = x.shape[0]
    v_src = c.source_voltages(x)
    w = c.terminal_voltages(v_free, v_src)  # (B, n_terminals + 1), ground last (index -1)
    nf, ns, nt = c.n_free, c.n_sources, c.n_terminals
    dv = w[:, c.edge_a] - w[:, c.edge_b]
    i_edge = g * dv
    p_edge = i_edge * dv
    names = list(c.layer_names) + [f"layer{k}" for k in range(len(c.layer_names), c.n_layers)]
    conductances = {names[k]: p_edge[:, c.edge_layer == k].sum(axis=1) for k in range(c.n_layers)}

    # current leaving every terminal into the network, from edges and diode branches
    out = np.zeros((B, nt + 1))
    np.add.at(out, (slice(None), c.edge_a), i_edge)
    np.add.at(out, (slice(None), c.edge_b), -i_edge)
    p_diode = np.zeros(B)
    if c.n_diodes:
        vd = w[:, c.diode_anode] - w[:, c.diode_cathode]
        i_d = np.empty_like(vd)
        for k, model in enumerate(c.models):
            sel = c.diode_model == k
            i_d[:, sel] = diode_branch_current(vd[:, sel], model)
        p_diode = np.sum(i_d * vd, axis=1)
        np.add.at(out, (slice(None), c.diode_anode), i_d)
        np.add.at(out, (slice(None), c.diode_cathode), -i_d)
    per_source = v_src * out[:, nf:nf + ns]
    p_amp = np.zeros(B)
    if c.n_amps:
        i_copy = out[:, nf + ns:nt]
        v_copy = w[:, nf + ns:nt]
        p_amp = np.sum(i_copy * (v_copy - c.amp_back * v_free[:, c.amp_node]), axis=1)

    p_nudge_src = np.zeros(B)
    p_nudge_res = np.zeros(B)
    if beta:
        if target_v is None:
            raise DataError("a nudged phase (beta != 0) needs target_v")
        target_v = np.asarray(target_v, dtype=np.float64)
        current, v_node, v_neg = _nudge_terms(c, beta, target_v, ref, v_free)
        v_pos = v_free[:, c.out_pos]
        if current is not None:
            p_nudge_src = np.sum(current * (v_pos - v_neg), axis=1)
        else:
            i_r = beta * (v_pos - v_node)  # from the output through 1/beta into the target source
            p_nudge_res = np.sum(i_r * (v_pos - v_node), axis=1)
            p_nudge_src = -np.sum(target_v * i_r, axis=1)
    return PowerBreakdown(conductances=conductances, diodes=p_diode, sources=per_source.sum(axis=1),
                          amplifiers=p_amp, nudge_sources=p_nudge_src, nudge_resistors=p_nudge_res,
                          per_source=per_source)
