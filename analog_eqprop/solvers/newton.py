"""Batched damped Newton on the nodal equations: the NumPy reference solver of any circuit.

Solves ``G u - b + i_D(u) = 0`` for a batch of examples at once (no Python loop over
examples): one batched dense LU per iteration, junction-voltage limiting in the spirit of
SPICE's ``pnjlim`` (a diode's voltage may not jump more than a few ``n V_T`` above its knee
per step) and backtracking on the residual norm. Linear circuits converge in one step.

Converged means ``|du| <= reltol |u| + vntol`` *and* the KCL residual below ``abstol``, which
is tighter than ngspice's test, so a converged answer is the operating point to ~1e-12 V.

Examples
--------
>>> import numpy as np
>>> from analog_eqprop.circuits import layered_circuit
>>> c = layered_circuit([2, 3, 1], seed=0)
>>> res = solve_dc(c, c.edge_g, np.array([[0.2, 0.9], [1.0, 0.0]]))
>>> res.status, res.voltages.shape
('converged', (2, 4))
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analog_eqprop.circuits.description import Circuit
from analog_eqprop.errors import ConvergenceError
from analog_eqprop.solvers.mna import MNASystem

__all__ = ["NewtonSolver", "OperatingPoint", "solve_dc"]


@dataclass(frozen=True)
class OperatingPoint:
    """DC operating points of a batch.

    Attributes
    ----------
    voltages : ndarray, (batch, n_free)
        Free-node voltages [V], in the circuit's node order.
    internal : ndarray, (batch, n_internal)
        Voltages of the diodes' internal nodes [V] (series resistance), if any.
    status : str
        ``"converged"`` or ``"max_iter"``.
    converged : ndarray of bool, (batch,)
    iterations : int
    residual : ndarray, (batch,)
        Largest KCL residual [A] per example.
    backend : str
    log : str
    seconds : float
    """

    voltages: np.ndarray
    internal: np.ndarray
    status: str
    converged: np.ndarray
    iterations: int
    residual: np.ndarray
    backend: str = "numpy-newton"
    log: str = ""
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def state(self) -> np.ndarray:
        """All unknowns ``[voltages, internal]`` (what warm starts take)."""
        return np.concatenate([self.voltages, self.internal], axis=1)


@dataclass(frozen=True)
class NewtonSolver:
    """Settings of the batched Newton solver.

    Parameters
    ----------
    max_iter : int
        Newton iterations before giving up.
    reltol, vntol : float
        Step tolerance ``|du| <= reltol * |u| + vntol`` [V] (ngspice's defaults: 1e-3, 1e-6).
    abstol : float
        KCL residual tolerance [A] (ngspice's default: 1e-12).
    gmin : float
        Conductance across every junction [S] (ngspice's default: 1e-12).
    max_junction_step : float
        Largest rise of a forward-biased junction per step, in units of ``n V_T``.
    throw : bool
        Raise :class:`~analog_eqprop.errors.ConvergenceError` if some example did not converge.
    """

    max_iter: int = 200
    reltol: float = 1e-9
    vntol: float = 1e-12
    abstol: float = 1e-12
    gmin: float = 1e-12
    max_junction_step: float = 10.0
    throw: bool = True

    def solve(self, system: MNASystem, g: np.ndarray, v_src: np.ndarray, *, u0: np.ndarray | None = None,
              nudge: tuple[np.ndarray | None, np.ndarray] | None = None) -> OperatingPoint:
        """Operating points for source voltages ``v_src`` (batch, n_sources) [V].

        ``nudge = (dG, db)`` from :meth:`MNASystem.nudge_terms`; ``u0`` warm-starts (batch, n) or
        (batch, n_free) (internal nodes then start at their anode's voltage).
        """
        import time

        t0 = time.perf_counter()
        B, n, nf = v_src.shape[0], system.n, system.circuit.n_free
        G = system.conductance_matrix(g)
        b = system.source_drive(g, v_src)
        if nudge is not None:
            dG, db = nudge
            if dG is not None:
                G = G + dG
            b = b + db
        u = self._start(system, u0, v_src, B)
        if system.circuit.n_diodes == 0:
            u = np.linalg.solve(G, b.T).T
            res = np.max(np.abs(u @ G.T - b), axis=1) if n else np.zeros(B)
            return self._result(system, u, res, np.ones(B, bool), 1, t0)
        vte = np.array([system.models[m].vte() for m in system.d_model])
        converged = np.zeros(B, bool)
        res_norm = np.full(B, np.inf)
        it = 0
        for it in range(1, self.max_iter + 1):
            r, J, vd = self._residual(system, G, b, u, v_src)
            res_norm = np.max(np.abs(r), axis=1)
            du = -np.linalg.solve(J, r[:, :, None])[:, :, 0]
            du = self._limit(system, u, du, v_src, vd, vte)
            u_new = u + du
            # backtrack where the residual grew a lot (rare: limiting already tames the exponentials)
            r_new = self._residual(system, G, b, u_new, v_src, jac=False)
            worse = np.max(np.abs(r_new), axis=1) > 10 * res_norm + 1e-9
            for _ in range(8):
                if not worse.any():
                    break
                du[worse] *= 0.5
                u_new[worse] = u[worse] + du[worse]
                r_new = self._residual(system, G, b, u_new, v_src, jac=False)
                worse &= np.max(np.abs(r_new), axis=1) > 10 * res_norm + 1e-9
            step_ok = np.all(np.abs(du) <= self.reltol * np.maximum(np.abs(u), np.abs(u_new)) + self.vntol, axis=1)
            u = u_new
            res_norm = np.max(np.abs(r_new), axis=1)
            converged = step_ok & (res_norm <= self.abstol + 1e-9 * np.max(np.abs(b), axis=1, initial=0.0))
            if converged.all():
                break
        out = self._result(system, u, res_norm, converged, it, t0)
        if self.throw and not converged.all():
            bad = np.flatnonzero(~converged)
            raise ConvergenceError(f"Newton did not converge for {bad.size} of {B} examples (first: {bad[0]}) in "
                                   f"{self.max_iter} iterations; largest residual {res_norm.max():.3g} A")
        return out

    # -- pieces ---------------------------------------------------------------------------
    def _start(self, system: MNASystem, u0, v_src, B) -> np.ndarray:
        n, nf = system.n, system.circuit.n_free
        if u0 is not None and u0.shape == (B, n):
            return np.array(u0, dtype=np.float64)
        u = np.zeros((B, n))
        if u0 is not None:
            u[:, :nf] = u0[:, :nf]
        if system.n_internal:
            w = system.extended(u, v_src)
            idx = system.d_internal[system.has_rs]
            u[:, idx] = w[:, system.d_anode_term[system.has_rs]]
        return u

    def _residual(self, system: MNASystem, G, b, u, v_src, jac: bool = True):
        w = system.extended(u, v_src)
        vd, idd, gd = system.diode_currents(w, gmin=self.gmin)
        r = u @ G.T - b
        if not jac:
            _scatter_currents(system, idd, r)
            return r
        J = np.broadcast_to(G, (u.shape[0],) + G.shape).copy()
        system.scatter_diodes(idd, gd, r, J)
        return r, J, vd

    def _limit(self, system: MNASystem, u, du, v_src, vd, vte) -> np.ndarray:
        """Scale each example's step so no forward junction rises more than the cap above its knee."""
        w_new = system.extended(u + du, v_src)
        vd_new = w_new[:, system.d_anode] - w_new[:, system.d_cathode]
        rise = vd_new - np.maximum(vd, 0.0)
        knee = 15 * vte  # below ~15 n V_T the exponential is harmless
        cap = self.max_junction_step * vte
        over = (vd_new > knee) & (rise > cap)
        if not over.any():
            return du
        ratio = np.where(over, cap / np.maximum(np.abs(vd_new - vd), 1e-300), 1.0)
        scale = np.clip(ratio.min(axis=1), 1e-6, 1.0)
        return du * scale[:, None]

    def _result(self, system: MNASystem, u, res, conv, it, t0) -> OperatingPoint:
        import time

        nf = system.circuit.n_free
        return OperatingPoint(voltages=u[:, :nf].copy(), internal=u[:, nf:].copy(),
                              status="converged" if conv.all() else "max_iter", converged=conv, iterations=it,
                              residual=res, seconds=time.perf_counter() - t0)


def _scatter_currents(system: MNASystem, idd: np.ndarray, r: np.ndarray) -> None:
    n = system.n
    a, k = system.d_anode, system.d_cathode
    ai, ki = a < n, k < n
    np.add.at(r, (slice(None), a[ai]), idd[:, ai])
    np.add.at(r, (slice(None), k[ki]), -idd[:, ki])


def solve_dc(circuit: Circuit, g: np.ndarray, x: np.ndarray, *, solver: NewtonSolver | None = None,
             beta: float = 0.0, target: np.ndarray | None = None, ref: np.ndarray | None = None,
             u0: np.ndarray | None = None, system: MNASystem | None = None) -> OperatingPoint:
    """DC operating points of ``circuit`` with conductances ``g`` [S] for features ``x`` (batch, n_features).

    With ``beta != 0`` the outputs are nudged towards ``target`` (one-hot, (batch, n_outputs));
    in ``current`` mode ``ref`` (the free-phase voltages) sets the nudging currents.
    """
    system = system or MNASystem(circuit)
    solver = solver or NewtonSolver()
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    v_src = circuit.source_voltages(x)
    nudge = None
    if beta:
        if target is None:
            raise ValueError("a nonzero beta needs a target")
        nudge = system.nudge_terms(beta, circuit.targets(target), ref)
    return solver.solve(system, np.asarray(g, dtype=np.float64), v_src, u0=u0, nudge=nudge)
