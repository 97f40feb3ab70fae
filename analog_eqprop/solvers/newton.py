"""Batched damped Newton on the nodal equations: the NumPy reference solver of any circuit.

Solves ``G u - b + i_D(u) = 0`` for a batch of examples at once (no Python loop over
examples): one batched dense LU per iteration, junction-voltage limiting in the spirit of
SPICE's ``pnjlim`` (a diode's voltage may not jump more than a few ``n V_T`` above its knee
per step) and backtracking on the residual norm. Linear circuits converge in one step.

Converged means ``|du| <= reltol |u| + vntol`` *and* the KCL residual below ``abstol``, which
is tighter than ngspice's test, so a converged answer is the operating point to ~1e-12 V.

Series resistances are eliminated exactly (``eliminate_rs=True``, the default): ngspice gives
a diode with ``RS > 0`` an internal node, which for a 1N4148-clamped MNIST net (200 diodes, 120
free nodes) makes the system 320 x 320. Here each diode is instead one *branch* whose current
``i(v)`` solves ``i = I_D(v - RS i)`` per element (a scalar safeguarded Newton to machine
precision), with conductance ``di/dv = g_D / (1 + RS g_D)``; the outer Newton then works on the
free nodes only (120 x 120, ~19x less LU work) and the internal node voltages follow as
``v_anode - RS i``. The KCL equations solved are the same; only their unknowns differ.

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

import contextlib
import time
import weakref
from dataclasses import dataclass, field

import numpy as np

from analog_eqprop.circuits.description import Circuit
from analog_eqprop.circuits.elements import DiodeModel, diode_current
from analog_eqprop.errors import ConvergenceError
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.validation import solve_args

__all__ = ["NewtonSolver", "OperatingPoint", "solve_dc", "branch_current", "single_thread_blas"]


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


def branch_current(v: np.ndarray, model: DiodeModel, *, gmin: float = 1e-12, reltol: float = 1e-3,
                   max_iter: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Current [A], conductance ``di/dv`` [S] and junction voltage [V] of a diode *with* its
    series resistance, for branch voltages ``v`` [V] (anode terminal minus cathode).

    Solves ``h(v_j) = I_D(v_j) + (v_j - v) / RS = 0`` for the junction voltage ``v_j``, whose
    root lies between 0 and ``v``: Newton from ``v_T n log(1 + v / (RS IS))`` (the junction
    voltage if all of ``v / RS`` flowed, an upper bound where ``h`` is convex), falling back to
    bisection whenever a step leaves the bracket, until the next step would be below rounding.

    Examples
    --------
    >>> m = DiodeModel("D1", IS=4.352e-9, N=1.906, RS=0.6458)
    >>> i, g, vj = branch_current(np.array([1.0]), m)
    >>> bool(abs(vj[0] + m.RS * i[0] - 1.0) < 1e-15), bool(g[0] < 1 / m.RS)
    (True, True)
    """
    v = np.asarray(v, dtype=np.float64)
    rs = float(model.RS)
    if rs == 0.0:
        i, g = diode_current(v, model, gmin=gmin, reltol=reltol)
        return i, g, v
    lo, hi = np.minimum(v, 0.0), np.maximum(v, 0.0)
    est = model.vte() * np.log1p(np.maximum(v, 0.0) / (rs * model.IS))
    vj = np.where(v > 0, np.minimum(v, est), v)
    small = 1e-7 * model.vte()
    i_out, g_out, vj_out = np.empty_like(v), np.empty_like(v), vj.copy()
    act = np.arange(v.size)  # flat indices still iterating
    vf, vj, lo, hi = v.reshape(-1), vj.reshape(-1), lo.reshape(-1), hi.reshape(-1)
    for _ in range(max_iter):
        i, g = diode_current(vj, model, gmin=gmin, reltol=reltol)
        h = i + (vj - vf) / rs
        step = h / (g + 1.0 / rs)
        # done: after a step s <= 1e-7 n V_T the next Newton step, ~s^2 / (2 n V_T), is below
        # rounding, and so is the error of carrying i linearly to the new point (g s^2 / 2 n V_T):
        # take that point without another evaluation (for most junctions this saves one of two)
        done = np.abs(step) <= small
        idx = act[done]
        vj_out.flat[idx] = vj[done] - step[done]
        i_out.flat[idx] = i[done] - g[done] * step[done]
        g_out.flat[idx] = g[done]
        keep = ~done
        if not keep.any():
            break
        act, vj, vf, step, h = act[keep], vj[keep], vf[keep], step[keep], h[keep]
        hi = np.where(h > 0, np.minimum(hi[keep], vj), hi[keep])
        lo = np.where(h < 0, np.maximum(lo[keep], vj), lo[keep])
        new = vj - step
        vj = np.where((new < lo) | (new > hi), 0.5 * (lo + hi), new)  # Newton left the bracket: bisect
    else:
        i, g = diode_current(vj, model, gmin=gmin, reltol=reltol)
        vj_out.flat[act], i_out.flat[act], g_out.flat[act] = vj, i, g
    return i_out, g_out / (1.0 + rs * g_out), vj_out


class _Reduced:
    """The nodal system on the free nodes only, each diode a series (RS + junction) branch.

    Built once per :class:`MNASystem` (cached): terminal indices in the reduced extended
    coordinates ``w = [u (n_free), V_src, 0]``, and the dense incidence that scatters branch
    currents and conductances into rows (a product, not a Python loop).
    """

    def __init__(self, system: MNASystem):
        c = system.circuit
        nf, n = c.n_free, system.n
        self.nf = nf

        def remap(t: np.ndarray) -> np.ndarray:  # the system's extended index -> reduced one
            if np.any((t >= nf) & (t < n)):
                raise AssertionError("a diode terminal is another diode's internal node")
            return np.where(t < nf, t, t - n + nf)

        self.anode, self.cathode = remap(system.d_anode_term), remap(system.d_cathode)
        # the linear stamps without the series resistances (those only ever touch internal
        # nodes and their anodes, so dropping them is exact, not a subtraction)
        self.g_flat = system._g_rows * nf + system._g_cols
        self.g_edge, self.g_coef = system._g_edge, system._g_coef
        self.groups = [(system.models[m], np.flatnonzero(system.d_model == m)) for m in np.unique(system.d_model)]
        nd = c.n_diodes
        a_free, k_free = self.anode < nf, self.cathode < nf
        inc = np.zeros((nd, nf))
        np.add.at(inc, (np.flatnonzero(a_free), self.anode[a_free]), 1.0)
        np.add.at(inc, (np.flatnonzero(k_free), self.cathode[k_free]), -1.0)
        self.inc, self.diag = inc, np.abs(inc)  # abs: a diode between two free nodes adds to both diagonals
        both = np.flatnonzero(a_free & k_free)
        self.pair_d = both
        self.pair_flat = np.concatenate([self.anode[both] * nf + self.cathode[both],
                                         self.cathode[both] * nf + self.anode[both]])
        self.vte = np.empty(nd)
        for model, sel in self.groups:
            self.vte[sel] = model.vte()
        self.has_rs = system.has_rs
        self.rs = system.d_rs
        self._last = None

    def linear(self, system: MNASystem, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``G`` (n_free, n_free) and the drive ``D`` (n_sources, n_free) [S] for conductances
        ``g``; the free and nudged phases of a batch share ``g``, so the last pair is reused."""
        last = self._last
        if last is not None and np.array_equal(last[0], g):
            return last[1], last[2]
        nf = self.nf
        vals = g[self.g_edge] * self.g_coef
        G = np.bincount(self.g_flat, weights=vals, minlength=nf * nf).reshape(nf, nf)
        # the series resistances' drive stamps sit in internal-node columns only
        D = np.ascontiguousarray(system.drive_matrix(g)[:, :nf])
        self._last = (np.array(g, copy=True), G, D)
        return G, D

    def branches(self, u: np.ndarray, v_src: np.ndarray, *, gmin: float):
        """Branch voltages, currents and conductances, each ``(batch, n_diodes)``."""
        w = np.concatenate([u, v_src, np.zeros((u.shape[0], 1))], axis=1)
        v = w[:, self.anode] - w[:, self.cathode]
        i, gd = np.empty_like(v), np.empty_like(v)
        for model, sel in self.groups:
            i[:, sel], gd[:, sel], _ = branch_current(v[:, sel], model, gmin=gmin)
        return v, i, gd

    def evaluate(self, G, b, u, v_src, *, gmin: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """KCL residual [A] ``(batch, n_free)``, branch voltages and branch conductances."""
        v, i, gd = self.branches(u, v_src, gmin=gmin)
        return u @ G.T - b + i @ self.inc, v, gd

    def direction(self, G, r, gd) -> np.ndarray:
        """The Newton step ``-J^-1 r`` with ``J = G + diodes``.

        Most examples share one Jacobian to within 1e-3 (clamp diodes that are off add ~1e-12
        S to a diagonal of ~1e-2 S), so they take a *chord* step with one LU of ``G`` plus the
        batch-median diode conductances: the iteration still converges to the same root (the
        residual is exact), at least 1000-fold per step. The others get their own LU.
        """
        import scipy.linalg

        B, nf = r.shape
        dg = gd @ self.diag
        du = np.empty_like(r)
        own = np.ones(B, bool)
        if not self.pair_d.size:
            ref = np.median(dg, axis=0)
            d_ref = np.diag(G) + ref
            own = np.max(np.abs(dg - ref) / np.maximum(np.abs(d_ref), 1e-300), axis=1) > 1e-3
            if not own.all():
                J = G.copy()
                J.flat[:: nf + 1] = d_ref
                lu = scipy.linalg.lu_factor(J, check_finite=False)
                du[~own] = -scipy.linalg.lu_solve(lu, r[~own].T, check_finite=False).T
        if own.any():
            J = np.broadcast_to(G, (int(own.sum()),) + G.shape).copy()
            Jf = J.reshape(J.shape[0], nf * nf)
            Jf[:, :: nf + 1] += dg[own]
            if self.pair_d.size:
                gp = gd[own][:, self.pair_d]
                np.add.at(Jf, (slice(None), self.pair_flat), -np.concatenate([gp, gp], axis=1))
            du[own] = -np.linalg.solve(J, r[own][:, :, None])[:, :, 0]
        return du

    def internal(self, u: np.ndarray, v_src: np.ndarray, *, gmin: float) -> np.ndarray:
        """Internal node voltages ``v_anode - RS i`` [V], in the system's internal-node order."""
        w = np.concatenate([u, v_src, np.zeros((u.shape[0], 1))], axis=1)
        _, i, _ = self.branches(u, v_src, gmin=gmin)
        return w[:, self.anode[self.has_rs]] - self.rs[self.has_rs] * i[:, self.has_rs]


_REDUCED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _reduced(system: MNASystem) -> _Reduced:
    red = _REDUCED.get(system)
    if red is None:
        red = _REDUCED[system] = _Reduced(system)
    return red


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
    eliminate_rs : bool
        Solve each diode's series resistance with its junction per element and iterate on
        the free nodes only (see the module docstring); False keeps ngspice's internal nodes
        as unknowns (the reference formulation, slower).

    Examples
    --------
    >>> from analog_eqprop.circuits import kendall_circuit
    >>> c = kendall_circuit(8, 4, 2, seed=0, clamp=(0.3, -0.3))  # 1N4148 clamps that conduct
    >>> x = np.random.default_rng(0).random((3, 8))
    >>> a = solve_dc(c, c.edge_g, x)
    >>> b = solve_dc(c, c.edge_g, x, solver=NewtonSolver(eliminate_rs=False))
    >>> a.state.shape == b.state.shape, bool(np.abs(a.state - b.state).max() < 1e-12)
    (True, True)
    """

    max_iter: int = 200
    reltol: float = 1e-9
    vntol: float = 1e-12
    abstol: float = 1e-12
    gmin: float = 1e-12
    max_junction_step: float = 10.0
    throw: bool = True
    eliminate_rs: bool = True

    def solve(self, system: MNASystem, g: np.ndarray, v_src: np.ndarray, *, u0: np.ndarray | None = None,
              nudge: tuple[np.ndarray | None, np.ndarray] | None = None) -> OperatingPoint:
        """Operating points for source voltages ``v_src`` (batch, n_sources) [V].

        ``nudge = (dG, db)`` from :meth:`MNASystem.nudge_terms`; ``u0`` warm-starts (batch, n) or
        (batch, n_free) (internal nodes then start at their anode's voltage).
        """
        with single_thread_blas():
            return self._solve(system, g, v_src, u0, nudge)

    def _solve(self, system, g, v_src, u0, nudge) -> OperatingPoint:
        t0 = time.perf_counter()
        B, n, nf = v_src.shape[0], system.n, system.circuit.n_free
        reduced = self.eliminate_rs and system.n_internal > 0
        if reduced:
            red = _reduced(system)
            G, D = red.linear(system, g)
            b = v_src @ D
            if system.has_offsets:
                b = b + system.offset_drive(g)[:nf]
        else:
            G, b = system.conductance_matrix(g), system.source_drive(g, v_src)
        if nudge is not None:
            dG, db = nudge
            if dG is not None:
                G = G + (dG[:nf, :nf] if reduced else dG)
            b = b + (db[:, :nf] if reduced else db)
        if system.circuit.n_diodes == 0:
            u = np.linalg.solve(G, b.T).T
            res = np.max(np.abs(u @ G.T - b), axis=1) if n else np.zeros(B)
            return self._result(system, u, res, np.ones(B, bool), 1, t0)
        if reduced:
            u = np.zeros((B, nf)) if u0 is None else np.array(u0[:, :nf], dtype=np.float64)
            evaluate = lambda u_: red.evaluate(G, b, u_, v_src, gmin=self.gmin)  # noqa: E731
            direction = lambda ev: red.direction(G, ev[0], ev[2])  # noqa: E731
            knee_idx = (red.anode, red.cathode, red.vte)
        else:
            u = self._start(system, u0, v_src, B)
            evaluate = lambda u_: self._residual(system, G, b, u_, v_src)  # noqa: E731
            direction = lambda ev: -np.linalg.solve(ev[1], ev[0][:, :, None])[:, :, 0]  # noqa: E731
            vte = np.array([system.models[m].vte() for m in system.d_model])
            knee_idx = (system.d_anode, system.d_cathode, vte)
        u, res_norm, converged, it = self._iterate(u, evaluate, direction, knee_idx, v_src, b)
        if reduced:
            u = np.concatenate([u, red.internal(u, v_src, gmin=self.gmin)], axis=1)
        out = self._result(system, u, res_norm, converged, it, t0)
        if self.throw and not converged.all():
            bad = np.flatnonzero(~converged)
            raise ConvergenceError(f"Newton did not converge for {bad.size} of {B} examples (first: {bad[0]}) in "
                                   f"{self.max_iter} iterations; largest residual {res_norm.max():.3g} A")
        return out

    # -- pieces ---------------------------------------------------------------------------
    def _iterate(self, u, evaluate, direction, knee_idx, v_src, b):
        """Damped Newton from ``u``: returns (u, residual norm, converged, iterations).

        ``evaluate(u)`` gives ``(r, ...)`` with the junction (branch) voltages last;
        ``direction(ev)`` the Newton step. The evaluation at the accepted point is reused
        by the next iteration, so each step costs one evaluation.
        """
        B = u.shape[0]
        converged = np.zeros(B, bool)
        scale = 1e-9 * np.max(np.abs(b), axis=1, initial=0.0)
        ev = evaluate(u)
        res_norm = np.max(np.abs(ev[0]), axis=1)
        it = 0
        for it in range(1, self.max_iter + 1):
            du = self._limit(u, direction(ev), v_src, ev[-1], knee_idx)
            u_new = u + du
            ev_new = evaluate(u_new)
            new_norm = np.max(np.abs(ev_new[0]), axis=1)
            # backtrack where the residual grew a lot (rare: limiting already tames the exponentials)
            worse = new_norm > 10 * res_norm + 1e-9
            for _ in range(8):
                if not worse.any():
                    break
                du[worse] *= 0.5
                u_new[worse] = u[worse] + du[worse]
                ev_new = evaluate(u_new)
                new_norm = np.max(np.abs(ev_new[0]), axis=1)
                worse &= new_norm > 10 * res_norm + 1e-9
            step_ok = np.all(np.abs(du) <= self.reltol * np.maximum(np.abs(u), np.abs(u_new)) + self.vntol, axis=1)
            u, ev, res_norm = u_new, ev_new, new_norm
            converged = step_ok & (res_norm <= self.abstol + scale)
            if converged.all():
                break
        return u, res_norm, converged, it

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
        """KCL residual (and Jacobian, junction voltages) of the full system, internal nodes
        included -- the reference formulation, also used by implicit gradients."""
        w = system.extended(u, v_src)
        vd, idd, gd = system.diode_currents(w, gmin=self.gmin)
        r = u @ G.T - b
        if not jac:
            _scatter_currents(system, idd, r)
            return r
        J = np.broadcast_to(G, (u.shape[0],) + G.shape).copy()
        system.scatter_diodes(idd, gd, r, J)
        return r, J, vd

    def _limit(self, u, du, v_src, vd, knee_idx) -> np.ndarray:
        """Scale each example's step so no forward junction rises more than the cap above its knee."""
        anode, cathode, vte = knee_idx
        w_new = np.concatenate([u + du, v_src, np.zeros((u.shape[0], 1))], axis=1)
        vd_new = w_new[:, anode] - w_new[:, cathode]
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
        nf = system.circuit.n_free
        return OperatingPoint(voltages=u[:, :nf].copy(), internal=u[:, nf:].copy(),
                              status="converged" if conv.all() else "max_iter", converged=conv, iterations=it,
                              residual=res, seconds=time.perf_counter() - t0)


def single_thread_blas():
    """A context in which BLAS runs on one thread. The products and LUs here are small (~100s of unknowns), and
    OpenBLAS's threads cost more than they save: on 2 cores, 100 solves of 120 x 120 took
    0.1-0.7 s threaded and 0.02 s on one thread, and a (20, 1572) x (1572, 320) product took
    60 ms threaded on a busy machine."""
    global _BLAS
    if _BLAS is None:
        try:
            from threadpoolctl import ThreadpoolController  # scikit-learn's dependency

            _BLAS = ThreadpoolController()
        except ImportError:  # pragma: no cover - without it the solve is only slower
            _BLAS = False
    return _BLAS.limit(limits=1, user_api="blas") if _BLAS else contextlib.nullcontext()


_BLAS = None


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

    Every argument is checked first (:func:`~analog_eqprop.validation.solve_args`): a wrong
    shape or a NaN / inf raises :class:`~analog_eqprop.errors.DataError` (arrays) or
    :class:`~analog_eqprop.errors.ConfigError` (``beta``) naming it, as every backend does.
    """
    system = system or MNASystem(circuit)
    solver = solver or NewtonSolver()
    g, x, beta, target, ref, u0 = solve_args(circuit, g, x, beta=beta, target=target, target_name="target", ref=ref,
                                             u0=u0, n_state=system.n)
    v_src = circuit.source_voltages(x)
    nudge = None if target is None else system.nudge_terms(beta, circuit.targets(target), ref)
    return solver.solve(system, g, v_src, u0=u0, nudge=nudge)
