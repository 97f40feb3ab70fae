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
from analog_eqprop.elements.diode import DiodeModel, branch_current
from analog_eqprop.elements.library import GMIN
from analog_eqprop.errors import DataError

__all__ = ["PowerBreakdown", "PowerContext", "power_breakdown", "diode_branch_current"]


def diode_branch_current(v: np.ndarray, model: DiodeModel, *, gmin: float = GMIN) -> np.ndarray:
    """Current [A] through a diode *branch* (junction plus ``RS``) for branch voltages ``v``
    [V] (:func:`~analog_eqprop.elements.diode.branch_current`, the one branch law)."""
    return branch_current(np.asarray(v, dtype=np.float64), model, gmin=gmin)[0]


class PowerContext:
    """What the element kinds' :meth:`~analog_eqprop.elements.base.ElementTable.power` read at
    one operating point, and ``out``: the current [A] each terminal drives into the network
    ``(batch, n_terminals + 1)``, which the connecting kinds fill and the terminal owners read."""

    def __init__(self, circuit: Circuit, g, x, v_free, beta, target_v, ref):
        self.circuit, self.g = circuit, g
        self.v_free = v_free
        self.v_src = circuit.source_voltages(x)
        self.w = circuit.terminal_voltages(v_free, self.v_src)  # ground last (index -1)
        self.out = np.zeros((x.shape[0], circuit.n_terminals + 1))
        self.beta, self.target_v, self.ref = beta, target_v, ref
        self.per_source = np.zeros((x.shape[0], 0))


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
    others : dict of str to ndarray
        Dissipated in the other element kinds (transistor channels, users' devices...), by part name.
    """

    conductances: dict[str, np.ndarray]
    diodes: np.ndarray
    sources: np.ndarray
    amplifiers: np.ndarray
    nudge_sources: np.ndarray
    nudge_resistors: np.ndarray
    per_source: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0)))
    others: dict[str, np.ndarray] = field(default_factory=dict)

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
        out = self.devices + self.wires + self.diodes + self.nudge_resistors
        return out + sum(self.others.values()) if self.others else out

    @property
    def delivered(self) -> np.ndarray:
        return self.sources + self.amplifiers + self.nudge_sources

    @property
    def balance(self) -> np.ndarray:
        """Delivered minus dissipated [W]: zero at an exact operating point."""
        return self.delivered - self.dissipated

    def mean(self) -> dict[str, float]:
        """Batch means [W] of every part and the totals (a JSON-friendly dict)."""
        out = {**self.others, "devices": self.devices, "wires": self.wires, "diodes": self.diodes,
               "nudge_resistors": self.nudge_resistors, "sources": self.sources, "amplifiers": self.amplifiers,
               "nudge_sources": self.nudge_sources, "dissipated": self.dissipated, "delivered": self.delivered,
               "balance": self.balance}
        return {k: float(np.mean(v)) for k, v in out.items()}


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
    pc = PowerContext(c, g, x, v_free, beta, target_v, ref)
    parts: dict[str, np.ndarray] = {}
    # the terminal owners (sources, amplifiers) last: they read the currents the others drive
    for table in sorted(c.tables(), key=lambda t: t.owns_terminals):
        parts.update(table.power(pc))
    conductances = {k.split(":", 1)[1]: v for k, v in parts.items() if k.startswith("layer:")}
    named = {"diodes", "sources", "amplifiers", "nudge_sources", "nudge_resistors"}
    zero = np.zeros(x.shape[0])
    others = {k: v for k, v in parts.items() if not k.startswith("layer:") and k not in named}
    return PowerBreakdown(conductances=conductances, diodes=parts.get("diodes", zero),
                          sources=parts.get("sources", zero), amplifiers=parts.get("amplifiers", zero),
                          nudge_sources=parts.get("nudge_sources", zero),
                          nudge_resistors=parts.get("nudge_resistors", zero), per_source=pc.per_source,
                          others=others)
