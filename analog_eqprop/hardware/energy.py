"""Settling time from ngspice transients, and energy per inference and per training example.

A phase of EqProp is a step response: the inputs (free phase) or the nudge (nudged phase)
switch on, and the node capacitances charge through the network until the operating point
is reached. :func:`settling_time` writes the phase's transient deck (the netlist compiler's
``transient`` option: a capacitor per free node, ``.ic`` starting voltages, ``.tran``),
runs it in ngspice and returns the time after which *every* free node stays within

    ``tol_j = rel_tol * max(|V_j(end) - V_j(start)|, floor * max_k |V_k(end) - V_k(start)|) + abs_tol``

of its final value: each node within ``rel_tol`` of its *own* change (a node that barely
moves counts as moving ``floor`` = 0.1 % of the largest change, so integration noise on it
cannot hold the clock). The final value is the transient's own end point (ngspice's
integration tolerances would otherwise show up as a bias against the DC solve; the gap is
returned as ``dc_gap``), and the response must stay settled over at least the second half of
the simulated span, which starts at 12 slowest RC time constants of the linear network
(``G`` restricted to capacitive nodes, the others eliminated) and doubles until it does.

:func:`energy_report` puts it together for a model: power per example of each phase
(:mod:`~analog_eqprop.hardware.power`), settling times, and

* energy per inference = P_free * t_free,
* energy per training example = P_free * t_free + P_nudged * t_nudged,

plus, separately, the energy drawn to charge the node capacitances (``sum C dV^2`` per
phase: half stored, half lost in the resistors) and the amplifiers' quiescent supply power
times the same time. What is neglected is listed in :data:`NEGLECTED`.

Examples
--------
>>> import numpy as np
>>> from analog_eqprop.circuits import layered_circuit
>>> from analog_eqprop.solvers.newton import solve_dc
>>> from analog_eqprop.solvers.ngspice_shared import ngspice_available
>>> c = layered_circuit([2, 3, 1], seed=0, clamp=None)
>>> x = np.array([0.5, 1.0])
>>> v = solve_dc(c, c.edge_g, x[None]).voltages[0]
>>> cap = np.full(c.n_free, 1e-12)
>>> tau = slowest_time_constant(c, c.edge_g, cap)
>>> if ngspice_available():
...     s = settling_time(c, c.edge_g, x, v, capacitance=cap)
...     print(s.settled, 1.0 < s.time / tau < 6.0)
... else:
...     print(True, True)
True True
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import numpy as np

from analog_eqprop.circuits.description import Circuit
from analog_eqprop.errors import ConvergenceError, DataError, GraphError, SimulationError
from analog_eqprop.netlist.compiler import Transient, compile_netlist
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.solvers.ngspice_shared import run_netlist
from analog_eqprop.training.trainer import one_hot_targets

__all__ = ["Settling", "settling_time", "slowest_time_constant", "energy_report", "NEGLECTED", "TRANSIENT_OPTIONS"]

#: ngspice options of the transient runs, tightest first: the nudged phase moves nodes by
#: ~1 mV, so the integration should be good to well under 1 % of that; circuits whose
#: junction charge makes ngspice give up ("timestep too small", seen with 1N4148 clamps)
#: fall back to the next entry (the result records which one ran).
TRANSIENT_OPTIONS = ({"reltol": 1e-6, "vntol": 1e-10}, {"reltol": 1e-5, "vntol": 1e-9}, {"reltol": 1e-4}, {})

#: What the energy figures leave out.
NEGLECTED = (
    "peripheral circuits: input DACs / drivers, output sensing, control and clocking",
    "programming (write) energy of the conductance updates",
    "power during the settling itself (DC power times settling time is used)",
    "leakage and static power of anything but the modelled amplifiers",
)


def _junction_capacitance(circuit: Circuit) -> np.ndarray:
    """Each free node's share of its diodes' zero-bias junction capacitance ``CJO`` [F]."""
    out = np.zeros(circuit.n_free)
    for k, m in enumerate(circuit.models):
        cjo = dict(m.extra).get("CJO", 0.0)
        if not cjo:
            continue
        sel = circuit.diode_model == k
        for ends in (circuit.diode_anode[sel], circuit.diode_cathode[sel]):
            free = ends[(ends >= 0) & (ends < circuit.n_free)]
            np.add.at(out, free, cjo)
    return out


def slowest_time_constant(circuit: Circuit, g: np.ndarray, capacitance: np.ndarray) -> float:
    """The slowest RC time constant [s] of the linear network: ``1 / min Re(lambda)`` of
    ``C^-1 G`` over the capacitive nodes, the others eliminated (Schur). Diodes count as
    open circuits with their zero-bias junction capacitance (``CJO``) to ground (every other
    nonlinear element open too) -- an
    estimate to size the simulated span, not the answer."""
    cap = np.asarray(capacitance, dtype=np.float64) + _junction_capacitance(circuit)
    g = np.asarray(g, dtype=np.float64)
    try:
        linear = replace(circuit, elements={t.kind: t if t.linear else type(t)() for t in circuit.tables()})
        G = MNASystem(linear).conductance_matrix(g)
    except GraphError:  # a node held only by diodes: keep them (their series resistance overstates G)
        G = MNASystem(circuit).conductance_matrix(g)[: circuit.n_free, : circuit.n_free]
    on = cap > 0
    if not on.any():
        return 0.0
    Gs = G[np.ix_(on, on)]
    if (~on).any():
        Gs = Gs - G[np.ix_(on, ~on)] @ np.linalg.solve(G[np.ix_(~on, ~on)], G[np.ix_(~on, on)])
    lam = np.linalg.eigvals(Gs / cap[on][:, None])
    lam_min = float(np.min(lam.real))
    if not lam_min > 0:
        raise SimulationError("the network has a capacitive node with no resistive path to a fixed voltage")
    return 1.0 / lam_min


@dataclass(frozen=True)
class Settling:
    """A phase's step response and its settling time.

    Attributes
    ----------
    time : float
        Settling time [s] (``inf`` if it never settled within the simulated span).
    options : dict
        The ngspice options the run used (see :data:`TRANSIENT_OPTIONS`).
    dc_gap : float
        ``max_j |V_j(end) - V_j(DC)|`` [V]: how far the transient's end lies from the DC solve.
    settled : bool
    tol : ndarray (n_free,)
        Each node's tolerance [V].
    t : ndarray
        Time points [s] of the transient.
    v : ndarray (n_times, n_free)
        Free-node voltages [V] along the transient.
    """

    time: float
    settled: bool
    tol: np.ndarray = field(repr=False)
    t: np.ndarray = field(repr=False)
    v: np.ndarray = field(repr=False)
    options: dict = field(default_factory=dict)
    dc_gap: float = 0.0


def _crossing(t: np.ndarray, err: np.ndarray) -> float:
    """When ``err`` (error over tolerance, worst node) last falls to 1; inf if it never stays below."""
    out = np.flatnonzero(err > 1.0)
    if not out.size:
        return 0.0
    k = int(out[-1])
    if k + 1 >= t.size:
        return float("inf")
    e0, e1 = err[k], err[k + 1]  # linear interpolation of the last crossing
    return float(t[k] + (t[k + 1] - t[k]) * (e0 - 1.0) / (e0 - e1)) if e0 > e1 else float(t[k + 1])


def settling_time(circuit: Circuit, g: np.ndarray, x: np.ndarray, v_final: np.ndarray, *,
                  capacitance: np.ndarray, v_start: np.ndarray | None = None, beta: float = 0.0,
                  target: np.ndarray | None = None, nudge_ref: np.ndarray | None = None, rel_tol: float = 0.01,
                  floor: float = 1e-3, abs_tol: float = 1e-12, options: Mapping[str, Any] | None = None,
                  form: str = "norton",
                  max_doublings: int = 6, points: int = 2000) -> Settling:
    """Settling time of one example's phase, from an ngspice transient (module docstring).

    Parameters
    ----------
    circuit, g, x
        The circuit, its conductances [S] and the example's features ``(n_features,)``.
    v_final : ndarray (n_free,)
        The phase's DC free-node voltages [V] (from either backend); the result's ``dc_gap``
        says how far the transient ends from them.
    capacitance : ndarray (n_free,)
        Node capacitances to ground [F].
    v_start : ndarray (n_free,), optional
        Voltages at ``t = 0`` [V]: 0 V (default) for a free phase, the free state for a nudged one.
    beta, target, nudge_ref
        The nudge (``target`` one-hot ``(n_outputs,)``, ``nudge_ref`` the free state for current nudging).
    rel_tol, floor, abs_tol : float
        Tolerance of each node (module docstring); ``abs_tol`` in volts.
    options : mapping or sequence of mappings, optional
        ngspice options, or several to try in turn (default :data:`TRANSIENT_OPTIONS`).
    """
    n = circuit.n_free
    v_final = np.asarray(v_final, dtype=np.float64).reshape(-1)[:n]
    v0 = np.zeros(n) if v_start is None else np.asarray(v_start, dtype=np.float64).reshape(-1)[:n]
    cap = np.asarray(capacitance, dtype=np.float64)
    if v_final.shape != (n,) or v0.shape != (n,) or cap.shape != (n,):
        raise DataError(f"settling_time: v_final, v_start and capacitance need {n} entries each")
    tau = slowest_time_constant(circuit, g, cap)
    if tau == 0.0:
        return Settling(0.0, True, np.full(n, abs_tol), np.zeros(1), v_final[None, :])
    t_stop = 12.0 * tau
    tries = TRANSIENT_OPTIONS if options is None else (options,) if isinstance(options, Mapping) else options

    def run(t_stop: float):
        nonlocal tries
        tr = Transient(t_stop=t_stop, t_step=t_stop / points, capacitance=cap, v0=v0)
        for k, opts in enumerate(tries):
            net = compile_netlist(circuit, g, x, beta=beta, target=target, nudge_ref=nudge_ref, form=form,
                                  options=opts or None, transient=tr, probes=True)
            try:
                res = run_netlist(net.text)
            except ConvergenceError:
                if k + 1 == len(tries):
                    raise
                continue
            tries = tries[k:]  # what failed once will fail on the longer spans too
            return np.asarray(res.vectors["time"], dtype=np.float64), net.free_voltages(res.vectors), dict(opts)

    for _ in range(max_doublings + 1):
        t, v, used = run(t_stop)
        change = np.abs(v[-1] - v0)
        tol = rel_tol * np.maximum(change, floor * change.max(initial=0.0)) + abs_tol
        time = _crossing(t, np.max(np.abs(v - v[-1]) / tol, axis=1))
        gap = float(np.max(np.abs(v[-1] - v_final)))
        if time <= 0.5 * t[-1]:
            return Settling(time, True, tol, t, v, used, gap)
        t_stop *= 2.0
    return Settling(float("inf"), False, tol, t, v, used, gap)


def _phase_settling(model, x, v_final, v_start, g, beta, target, ref, n, rel_tol) -> tuple[np.ndarray, float]:
    cap = model.node_capacitances()
    out, tries, gap = [], TRANSIENT_OPTIONS, 0.0
    for k in range(min(n, x.shape[0])):
        s = settling_time(model.physical, g, x[k], v_final[k], capacitance=cap,
                          v_start=None if v_start is None else v_start[k], beta=beta,
                          target=None if target is None else target[k],
                          nudge_ref=None if ref is None else ref[k, : model.physical.n_free], rel_tol=rel_tol,
                          options=tries)
        tries = TRANSIENT_OPTIONS[TRANSIENT_OPTIONS.index(s.options):]  # the same circuit fails the same way
        out.append(s.time)
        gap = max(gap, s.dc_gap)
    return np.asarray(out), gap


def _source_capacitance(model) -> np.ndarray:
    """Line capacitance [F] on each source terminal: ``c_cell`` per device attached to it."""
    c = model.physical
    count = np.zeros(c.n_sources)
    for ends in (c.edge_a[: model.n_devices], c.edge_b[: model.n_devices]):
        src = ends[(ends >= c.n_free) & (ends < c.n_free + c.n_sources)] - c.n_free
        np.add.at(count, src, 1.0)
    return model.hardware.wire.c_cell * count


def energy_report(model, x: np.ndarray, labels: np.ndarray, *, beta: float = 1e-6, n_settle: int = 3,
                  rel_tol: float = 0.01, transient: bool = True) -> dict[str, Any]:
    """Power, settling time and energy per example of a :class:`HardwareNetwork` on ``x``.

    Parameters
    ----------
    model : HardwareNetwork
    x : ndarray (n, n_features)
        Examples; power figures average over all of them.
    labels : ndarray (n,)
        Their classes (the nudged phase's targets).
    beta : float
        Nudge strength [S].
    n_settle : int
        Examples whose phases are simulated in ngspice for the settling times.
    transient : bool
        False skips ngspice (power only).

    Returns
    -------
    dict
        JSON-friendly: ``error`` (misclassified fraction of ``x``), ``power_free`` /
        ``power_nudged`` (mean W per part), ``settling_free_s``
        / ``settling_nudged_s`` (per simulated example), ``energy_inference_J``,
        ``energy_training_example_J``, ``charge_energy_*_J``, ``amplifier_supply_W``,
        ``neglected`` and the sizes.
    """
    x = model.check_inputs(x)
    target = one_hot_targets(np.asarray(labels), model.n_outputs)
    s_free = model.relax(x, model.init_state(x.shape[0])).state
    g_free = model.last_g.copy()
    p_free = model.power(x, s_free, g=g_free)
    s_nud = model.relax(x, s_free, beta=beta, target=target).state
    g_nud = model.last_g.copy()
    p_nud = model.power(x, s_nud, g=g_nud, beta=beta, target=target, ref=s_free)
    cap = model.node_capacitances()
    nf = model.physical.n_free
    # devices sitting right on a source (no line resistance) put their line capacitance there:
    # the source charges it at once, which costs C V^2 but no settling time
    c_src = _source_capacitance(model)
    v_src = model.physical.source_voltages(x)
    charge_free = np.sum(cap * s_free[:, :nf] ** 2, axis=1) + np.sum(c_src * v_src ** 2, axis=1)
    charge_nud = np.sum(cap * (s_nud[:, :nf] - s_free[:, :nf]) ** 2, axis=1)
    out: dict[str, Any] = {
        "hardware": model.hardware.name,
        "examples": int(x.shape[0]),
        "free_nodes": int(nf),
        "devices": int(model.n_devices),
        "beta_S": float(beta),
        "error": float(np.mean(np.argmax(model.output(s_free), axis=1) != np.asarray(labels))),
        "power_free": p_free.mean(),
        "power_nudged": p_nud.mean(),
        "amplifier_supply_W": model.amplifier_supply_power(),
        "charge_energy_free_J": float(np.mean(charge_free)),
        "charge_energy_nudged_J": float(np.mean(charge_nud)),
        "total_capacitance_F": float(np.sum(cap) + np.sum(c_src)),
        "neglected": list(NEGLECTED),
    }
    if not transient:
        return out
    m = min(n_settle, x.shape[0])
    t_free, gap_free = _phase_settling(model, x, s_free, None, g_free, 0.0, None, None, m, rel_tol)
    t_nud, gap_nud = _phase_settling(model, x, s_nud, s_free, g_nud, beta, target, s_free, m, rel_tol)
    e_inf = p_free.dissipated[:m] * t_free
    e_nud = p_nud.dissipated[:m] * t_nud
    out.update({
        "settle_rel_tol": rel_tol,
        "settling_free_s": t_free.tolist(),
        "settling_nudged_s": t_nud.tolist(),
        "transient_dc_gap_V": max(gap_free, gap_nud),
        "energy_inference_J": float(np.mean(e_inf)),
        "energy_training_example_J": float(np.mean(e_inf + e_nud)),
        "amplifier_supply_energy_training_example_J": float(model.amplifier_supply_power()
                                                            * np.mean(t_free + t_nud)),
    })
    return out
