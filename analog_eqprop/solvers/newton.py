"""Batched Newton on the nodal equations: the NumPy reference solver of any circuit.

Solves ``G u - b + i_D(u) = 0`` for a batch of examples at once (no Python loop over
examples): one batched dense LU per iteration (a shared chord LU where examples' Jacobians
agree), with the convergence aids of circuit simulators, as ngspice 39 has them
(:mod:`~analog_eqprop.solvers.continuation`):

* a junction-aware start: a cold start counts every junction the start would bias beyond
  its critical voltage as off (ngspice's ``MODEINITJCT``), so an ideal-diode clamp whose
  rail sits 0.2 V forward of the start is not linearised at ``1e-9 exp(386)`` A;
* junction limiting (ngspice's ``pnjlim``): above ``V_crit`` a junction moves only
  logarithmically per iteration and is linearised at its limited voltage (the companion
  model), never at the node voltages; a branch with a series resistance (eliminated, below)
  needs none, its conductance being at most ``1 / RS``;
* for examples that still do not converge in ``max_iter`` iterations, gmin stepping and
  then source stepping (``NewtonSolver.continuation``); the result names, per example,
  what was tried (``OperatingPoint.extra["aids"]``, in the ngspice backend's words).

Linear circuits converge in one step; examples that converge leave the batch.
Converged means ``|du| <= reltol |u| + vntol`` *and* the KCL residual below ``abstol`` (plus
rounding) *and* no junction limited in that step, which is tighter than ngspice's test, so a
converged answer is the operating point to ~1e-12 V.

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
import copy
import time
import warnings
import weakref
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from analog_eqprop.circuits.description import Circuit
from analog_eqprop.elements.diode import branch_current, diode_current
from analog_eqprop.errors import ConfigError, ConvergenceError
from analog_eqprop.results import OperatingPoint  # re-exported: its old home
from analog_eqprop.solvers.continuation import AIDS, JunctionTable, gmin_stepping, source_stepping
from analog_eqprop.solvers.memo import LastValue
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.validation import solve_args

__all__ = ["NewtonSolver", "OperatingPoint", "solve_dc", "branch_current", "single_thread_blas"]




class _Eval(NamedTuple):
    """The diodes at one iterate, each ``(batch, n_diodes)``: branch voltages ``v`` [V],
    junction voltages ``vj`` [V], branch currents ``i`` [A] and conductances ``g`` [S]; and the
    other nonlinear kinds' (transistors...) KCL currents ``r_extra`` ``(batch, m)`` [A] and
    Jacobian ``J_extra`` ``(batch, m, m)`` [S] (None without such kinds)."""

    v: np.ndarray
    vj: np.ndarray
    i: np.ndarray
    g: np.ndarray
    r_extra: np.ndarray | None = None
    J_extra: np.ndarray | None = None

    def take(self, rows) -> "_Eval":
        extra = (None, None) if self.r_extra is None else (self.r_extra[rows], self.J_extra[rows])
        return _Eval(self.v[rows], self.vj[rows], self.i[rows], self.g[rows], *extra)


class _Nodal:
    """The nodal equations in the unknowns Newton iterates on, every diode a *branch*.

    ``reduced=True``: the free nodes only, each diode a series (RS + junction) branch (see the
    module docstring). ``reduced=False``: ngspice's unknowns, the internal nodes included; a
    branch is then the bare junction and RS a linear conductance in ``G``. Either way the
    unknowns ``u`` extend to ``w = [u, V_src, 0]`` and a branch runs from ``w[anode]`` to
    ``w[cathode]``. Built once per :class:`MNASystem` and formulation (cached): terminal
    indices, and the dense incidence that scatters branch currents and conductances into rows
    (a product, not a Python loop).
    """

    def __init__(self, system: MNASystem, reduced: bool):
        c = system.circuit
        nf, n = c.n_free, system.n
        self.reduced = reduced
        self.m = m = nf if reduced else n
        models = list(system.models)
        if reduced:
            def remap(t: np.ndarray) -> np.ndarray:  # the system's extended index -> reduced one
                if np.any((t >= nf) & (t < n)):
                    raise AssertionError("a diode terminal is another diode's internal node")
                return np.where(t < nf, t, t - n + nf)

            self.anode, self.cathode = remap(system.d_anode_term), remap(system.d_cathode)
            # the linear stamps without the series resistances (those only ever touch internal
            # nodes and their anodes, so dropping them is exact, not a subtraction)
            self.g_flat = system.g_rows * nf + system.g_cols
            self.g_edge, self.g_coef = system.g_edge, system.g_coef
            self.rs = system.d_rs
        else:
            self.anode, self.cathode = system.d_anode, system.d_cathode
            models = [replace(mod, RS=0.0) for mod in models]  # RS is a conductance of G here
            self.rs = np.zeros(c.n_diodes)
        self.groups = [(models[k], np.flatnonzero(system.d_model == k)) for k in np.unique(system.d_model)]
        # a series resistance caps a branch's conductance at 1 / RS: the eliminated branches
        # need no limiting (and climbing pnjlim's logarithmic steps cost 2 to 4 iterations)
        self.junctions = JunctionTable.of(system.models, system.d_model, exempt=(self.rs > 0) if reduced else None)
        nd = c.n_diodes
        a_free, k_free = self.anode < m, self.cathode < m
        inc = np.zeros((nd, m))
        np.add.at(inc, (np.flatnonzero(a_free), self.anode[a_free]), 1.0)
        np.add.at(inc, (np.flatnonzero(k_free), self.cathode[k_free]), -1.0)
        self.inc, self.diag = inc, np.abs(inc)  # abs: a diode between two free nodes adds to both diagonals
        both = np.flatnonzero(a_free & k_free)
        self.pair_d = both
        self.pair_flat = np.concatenate([self.anode[both] * m + self.cathode[both],
                                         self.cathode[both] * m + self.anode[both]])
        self.has_rs = system.has_rs
        self._last = LastValue()  # shared with with_values() copies
        self.system = system
        self.values = None  # the trained columns of other kinds for this solve (with_values)
        # the other kinds' pn junctions (transistors' bulk junctions), in these coordinates
        ga, gk, self.g_vte = system.general_junctions()
        to_m = (lambda t: np.where(t < nf, t, t - n + nf)) if reduced else (lambda t: t)  # noqa: E731
        self.g_anode, self.g_cathode = to_m(ga), to_m(gk)

    def with_values(self, values) -> "_Nodal":
        """This formulation with other kinds' trained columns (``{kind: array}``) for one solve."""
        if not values:
            return self
        out = copy.copy(self)
        out.values = values
        return out

    def linear(self, system: MNASystem, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``G`` (m, m) and the drive ``D`` (n_sources, m) [S] for conductances ``g``; the free
        and nudged phases of a batch share ``g``, so the last pair is reused."""
        hit = self._last.get(g)
        if hit is not None:
            return hit
        if self.reduced:
            nf = self.m
            vals = g[self.g_edge] * self.g_coef
            G = np.bincount(self.g_flat, weights=vals, minlength=nf * nf).reshape(nf, nf)
            # the series resistances' drive stamps sit in internal-node columns only
            D = np.ascontiguousarray(system.drive_matrix(g)[:, :nf])
        else:
            G, D = system.conductance_matrix(g), system.drive_matrix(g)
        return self._last.put(g, (G, D))

    def evaluate(self, u: np.ndarray, v_src: np.ndarray, *, gmin: float) -> _Eval:
        """Branch voltages, junction voltages, currents and conductances at ``u``."""
        w = np.concatenate([u, v_src, np.zeros((u.shape[0], 1))], axis=1)
        v = w[:, self.anode] - w[:, self.cathode]
        vj, i, gd = np.empty_like(v), np.empty_like(v), np.empty_like(v)
        for model, sel in self.groups:
            i[:, sel], gd[:, sel], vj[:, sel] = branch_current(v[:, sel], model, gmin=gmin)
        if not self.system.general:
            return _Eval(v, vj, i, gd)
        un = u if u.shape[1] == self.system.n else np.pad(u, ((0, 0), (0, self.system.n - u.shape[1])))
        r_x, J_x = self.system.general_stamps(un, v_src, gmin=gmin, values=self.values)
        return _Eval(v, vj, i, gd, r_x[:, : self.m], J_x[:, : self.m, : self.m])

    def limit_general(self, u: np.ndarray, du: np.ndarray, v_src: np.ndarray) -> np.ndarray:
        """The step ``du`` scaled per example so that no junction of the other kinds rises more
        than 10 ``n V_T`` above ``15 n V_T`` in one step (the diodes have pnjlim and companion
        models; a transistor's bulk junctions need only not to overflow on the way)."""
        if not self.g_vte.size:
            return du
        zero = np.zeros((u.shape[0], 1))
        w0 = np.concatenate([u, v_src, zero], axis=1)
        w1 = np.concatenate([u + du, v_src, zero], axis=1)
        v0 = w0[:, self.g_anode] - w0[:, self.g_cathode]
        v1 = w1[:, self.g_anode] - w1[:, self.g_cathode]
        cap = 10 * self.g_vte
        over = (v1 > 15 * self.g_vte) & (v1 - np.maximum(v0, 0.0) > cap)
        if not over.any():
            return du
        ratio = np.where(over, cap / np.maximum(np.abs(v1 - v0), 1e-300), 1.0)
        return du * np.clip(ratio.min(axis=1), 1e-6, 1.0)[:, None]

    def kcl(self, rl: np.ndarray, ev: _Eval, i: np.ndarray | None = None) -> np.ndarray:
        """The KCL residual [A]: the linear part ``rl``, the diode branches' currents (``i``, else
        ``ev.i``) and the other nonlinear kinds'."""
        r = rl + (ev.i if i is None else i) @ self.inc
        return r if ev.r_extra is None else r + ev.r_extra

    def companion(self, ev: _Eval, vl: np.ndarray, lim: np.ndarray, *, gmin: float):
        """Branch currents and conductances with each limited junction linearised at its
        limited voltage ``vl`` (SPICE's companion model): ``i(vl) + g(vl) (v - v_l)``, ``v_l``
        the branch voltage that puts the junction at ``vl``."""
        i, g = ev.i.copy(), ev.g.copy()
        for model, sel in self.groups:
            rows, cols = np.nonzero(lim[:, sel])
            if not rows.size:
                continue
            d = sel[cols]
            ij, gj = diode_current(vl[rows, d], model, gmin=gmin)
            rs = self.rs[d]
            gb = gj / (1.0 + rs * gj)
            i[rows, d] = ij + gb * (ev.v[rows, d] - (vl[rows, d] + rs * ij))
            g[rows, d] = gb
        return i, g

    def linear_residual(self, G, b, u, gshunt) -> np.ndarray:
        """``G u - b`` [A] (plus the gmin-stepping shunt ``gshunt u``)."""
        r = u @ G.T - b
        return r if gshunt is None else r + gshunt[:, None] * u

    def direction(self, G, r, gd, gshunt, extra: np.ndarray | None = None) -> np.ndarray:
        """The Newton step ``-J^-1 r`` with ``J = G + diodes (+ shunt) (+ extra``, the other
        nonlinear kinds' Jacobian ``(batch, m, m)``, with which every example solves on its own).

        Most examples share one Jacobian to within 1e-3 (clamp diodes that are off add ~1e-12
        S to a diagonal of ~1e-2 S), so they take a *chord* step with one LU of ``G`` plus the
        batch-median diode conductances: the iteration still converges to the same root (the
        residual is exact), at least 1000-fold per step. The others get their own LU. A
        singular Jacobian gives NaN steps for its example (which then stops).
        """
        import scipy.linalg

        B, m = r.shape
        dg = gd @ self.diag
        if gshunt is not None:
            dg = dg + gshunt[:, None]
        du = np.empty_like(r)
        own = np.ones(B, bool)
        if extra is None and not self.pair_d.size:
            ref = np.median(dg, axis=0)
            d_ref = np.diag(G) + ref
            own = np.max(np.abs(dg - ref) / np.maximum(np.abs(d_ref), 1e-300), axis=1) > 1e-3
            if not own.all():
                J = G.copy()
                J.flat[:: m + 1] = d_ref
                with warnings.catch_warnings():
                    warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
                    try:
                        lu = scipy.linalg.lu_factor(J, check_finite=False)
                        du[~own] = -scipy.linalg.lu_solve(lu, r[~own].T, check_finite=False).T
                    except (scipy.linalg.LinAlgWarning, np.linalg.LinAlgError, ValueError):
                        own[:] = True
        if own.any():
            J = np.broadcast_to(G, (int(own.sum()),) + G.shape).copy()
            if extra is not None:
                J += extra[own]
            Jf = J.reshape(J.shape[0], m * m)
            Jf[:, :: m + 1] += dg[own]
            if self.pair_d.size:
                gp = gd[own][:, self.pair_d]
                np.add.at(Jf, (slice(None), self.pair_flat), -np.concatenate([gp, gp], axis=1))
            du[own] = -_batched_solve(J, r[own])
        return du

    def internal(self, u: np.ndarray, v_src: np.ndarray, *, gmin: float, i: np.ndarray | None = None) -> np.ndarray:
        """Internal node voltages ``v_anode - RS i`` [V], in the system's internal-node order
        (``i``: the branch currents at ``u``, if at hand)."""
        w = np.concatenate([u, v_src, np.zeros((u.shape[0], 1))], axis=1)
        if i is None:
            i = self.evaluate(u, v_src, gmin=gmin).i
        return w[:, self.anode[self.has_rs]] - self.rs[self.has_rs] * i[:, self.has_rs]


def _batched_solve(J: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``J^-1 r`` per example; NaN for an example whose ``J`` is singular."""
    try:
        return np.linalg.solve(J, r[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        out = np.full_like(r, np.nan)
        for k in range(r.shape[0]):
            with contextlib.suppress(np.linalg.LinAlgError):
                out[k] = np.linalg.solve(J[k], r[k])
        return out


_NODAL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _nodal(system: MNASystem, reduced: bool) -> _Nodal:
    cache = _NODAL.get(system)
    if cache is None:
        cache = _NODAL[system] = {}
    if reduced not in cache:
        cache[reduced] = _Nodal(system, reduced)
    return cache[reduced]


@dataclass(frozen=True)
class NewtonSolver:
    """Settings of the batched Newton solver.

    Parameters
    ----------
    max_iter : int
        Newton iterations before the fall-backs (and of their final solve).
    reltol, vntol : float
        Step tolerance ``|du| <= reltol * |u| + vntol`` [V] (ngspice's defaults: 1e-3, 1e-6).
    abstol : float
        KCL residual tolerance [A] (ngspice's default: 1e-12).
    gmin : float
        Conductance across every junction [S] (ngspice's default: 1e-12).
    continuation : tuple of {"gmin", "source"}
        Fall-backs, in order, for examples plain Newton leaves unconverged: gmin stepping and
        source stepping (:mod:`~analog_eqprop.solvers.continuation`); ``()`` for none.
    step_iter : int
        Newton iterations per continuation step (ngspice's ``itl2``: 50).
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
    continuation: tuple[str, ...] = ("gmin", "source")
    step_iter: int = 50
    throw: bool = True
    eliminate_rs: bool = True

    def __post_init__(self) -> None:
        for name in ("max_iter", "step_iter"):
            if not (isinstance(getattr(self, name), (int, np.integer)) and getattr(self, name) >= 1):
                raise ConfigError(f"NewtonSolver.{name} must be an integer >= 1, got {getattr(self, name)!r}")
        aids = self.continuation
        if isinstance(aids, str) or not isinstance(aids, (tuple, list)) or any(a not in AIDS for a in aids):
            raise ConfigError(f"NewtonSolver.continuation must be a tuple of {sorted(AIDS)} (or () for none), "
                              f"got {aids!r}")
        object.__setattr__(self, "continuation", tuple(aids))

    def solve(self, system: MNASystem, g: np.ndarray, v_src: np.ndarray, *, u0: np.ndarray | None = None,
              nudge: tuple[np.ndarray | None, np.ndarray] | None = None, values=None) -> OperatingPoint:
        """Operating points for source voltages ``v_src`` (batch, n_sources) [V].

        ``nudge = (dG, db)`` from :meth:`MNASystem.nudge_terms`; ``u0`` warm-starts (batch, n) or
        (batch, n_free) (internal nodes then start at their anode's voltage).
        """
        with single_thread_blas():
            return self._solve(system, g, v_src, u0, nudge, values)

    def _solve(self, system, g, v_src, u0, nudge, values=None) -> OperatingPoint:
        t0 = time.perf_counter()
        B, n, nf = v_src.shape[0], system.n, system.circuit.n_free
        reduced = self.eliminate_rs and system.n_internal > 0
        eq = _nodal(system, reduced).with_values(values)
        G, D = eq.linear(system, g)
        b = v_src @ D
        if system.has_offsets:
            b = b + system.offset_drive(g)[: eq.m]
        if nudge is not None:
            dG, db = nudge
            if dG is not None:
                G = G + dG[: eq.m, : eq.m]
            b = b + db[:, : eq.m]
        if not system.nonlinear:
            u = np.linalg.solve(G, b.T).T
            res = np.max(np.abs(u @ G.T - b), axis=1) if n else np.zeros(B)
            return self._result(system, u, res, np.ones(B, bool), np.ones(B, np.int64), t0, [])
        if reduced:
            u = np.zeros((B, nf)) if u0 is None else np.array(u0[:, :nf], dtype=np.float64)
        else:
            u = self._start(system, u0, v_src, B)
        ev = eq.evaluate(u, v_src, gmin=self.gmin)
        vj = eq.junctions.start(ev.vj, warm=u0 is not None)
        i_end = np.empty((B, eq.inc.shape[0]))  # the branch currents at the answer
        u, _, res, conv, its = self._newton(eq, G, b, v_src, u, vj, None, self.max_iter, ev, i_end)
        aided: list[tuple[int, tuple[str, ...]]] = []
        if not conv.all() and self.continuation:
            aided = self._continue(eq, G, b, v_src, u, res, conv, its)
            redo = np.array([k for k, _ in aided], dtype=np.int64)
            i_end[redo] = eq.evaluate(u[redo], v_src[redo], gmin=self.gmin).i
        if reduced:
            u = np.concatenate([u, eq.internal(u, v_src, gmin=self.gmin, i=i_end)], axis=1)
        out = self._result(system, u, res, conv, its, t0, aided)
        if self.throw and not conv.all():
            bad = np.flatnonzero(~conv)
            tried = dict(aided).get(int(bad[0]), ())
            raise ConvergenceError(
                f"Newton did not converge for {bad.size} of {B} examples (first: {bad[0]}) in {self.max_iter} "
                f"iterations; largest residual {res[bad].max():.3g} A"
                + (f"; tried, in order: {'; '.join(tried)}" if tried else ""))
        return out

    # -- the iteration --------------------------------------------------------------------
    def _newton(self, *args, **kw):
        """:meth:`_iterate`, with overflow left to it: an iterate that runs off to inf (an
        amplifier chain with its clamps off can ask for 1e3 V in one step) stops its example
        (which then goes to the fall-backs), it must not raise where warnings are errors."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self._iterate(*args, **kw)

    def _iterate(self, eq: _Nodal, G, b, v_src, u, vj, gshunt, max_iter, ev: _Eval | None = None,
                 i_end: np.ndarray | None = None):
        """Newton with junction limiting from ``u`` (and the junctions' previous limited
        voltages ``vj``; ``ev``, the diodes at ``u`` if at hand): ``(u, vj, residual norm [A],
        converged, iterations)``, per example; the branch currents at the returned ``u`` go
        into ``i_end`` if given.

        Each iteration limits every junction (:meth:`JunctionTable.limit`), linearises the
        limited ones at their limited voltage, solves, and evaluates the new iterate (that
        evaluation is the next iteration's, so each costs one). An example is done when its
        step is within ``reltol |u| + vntol``, its KCL residual within ``abstol`` (plus 1e-9
        of its largest drive, diode current or ``G_ii |u|``, for rounding: a DIDEAL clamp
        behind 1e3 S carries hundreds of amperes) and no junction was limited; it then leaves the
        batch, as does an example whose iterate is no longer finite (not converged).
        """
        B = u.shape[0]
        u, vj = u.copy(), vj.copy()
        res = np.full(B, np.inf)
        conv = np.zeros(B, bool)
        its = np.zeros(B, np.int64)
        tol = self.abstol + 1e-9 * np.max(np.abs(b), axis=1, initial=0.0)
        g_diag = float(np.max(np.abs(np.diag(G)), initial=0.0))
        act = np.arange(B)
        ua, vja, ba, va, tola, ga = u, vj, b, v_src, tol, gshunt
        ev = eq.evaluate(ua, va, gmin=self.gmin) if ev is None else ev
        rl = eq.linear_residual(G, ba, ua, ga)
        r = eq.kcl(rl, ev)  # the KCL residual [A]
        for it in range(1, max_iter + 1):
            vl, lim = eq.junctions.limit(ev.vj, vja)
            limited = False if lim is None else lim.any(axis=1)
            if np.any(limited):  # the companion model's residual (rl + i: i may be 1e295 A beside it)
                i_use, g_use = eq.companion(ev, vl, lim, gmin=self.gmin)
                du = eq.direction(G, eq.kcl(rl, ev, i_use), g_use, ga, ev.J_extra)
            else:
                du = eq.direction(G, r, ev.g, ga, ev.J_extra)
            if ev.J_extra is not None:
                du = eq.limit_general(ua, du, va)
            un = ua + du
            ev = eq.evaluate(un, va, gmin=self.gmin)
            rl = eq.linear_residual(G, ba, un, ga)
            r = eq.kcl(rl, ev)
            rn = np.max(np.abs(r), axis=1)
            step_ok = np.all(np.abs(du) <= self.reltol * np.maximum(np.abs(ua), np.abs(un)) + self.vntol, axis=1)
            # rounding: 1e-9 of the largest drive, diode current or conductance current
            scale = np.maximum(np.max(np.abs(ev.i), axis=1, initial=0.0), g_diag * np.max(np.abs(un), axis=1))
            if ev.r_extra is not None:  # the other kinds' currents
                scale = np.maximum(scale, np.max(np.abs(ev.r_extra), axis=1, initial=0.0))
            done = step_ok & (rn <= tola + 1e-9 * scale)
            if lim is not None:
                done &= ~limited
            stop = done | ~np.isfinite(rn)
            its[act] = it
            ua, vja = un, vl
            if stop.any():
                idx = act[stop]
                u[idx], vj[idx], res[idx], conv[idx] = ua[stop], vja[stop], rn[stop], done[stop]
                if i_end is not None:
                    i_end[idx] = ev.i[stop]
                keep = ~stop
                if not keep.any():
                    break
                act, ua, vja, ba, va, tola, rl, r = (a[keep] for a in (act, ua, vja, ba, va, tola, rl, r))
                ga = None if ga is None else ga[keep]
                ev = ev.take(keep)
        else:
            u[act], vj[act], res[act] = ua, vja, np.max(np.abs(r), axis=1)
            if i_end is not None:
                i_end[act] = ev.i
        return u, vj, res, conv, its

    def _continue(self, eq: _Nodal, G, b, v_src, u, res, conv, its) -> list[tuple[int, tuple[str, ...]]]:
        """Gmin and source stepping (``self.continuation``, in order) for the examples plain
        Newton left unconverged; updates ``u, res, conv, its`` in place and returns, per
        example that needed them, the aids tried (ngspice backend's wording)."""

        def run(rows, u_, vj_, *, gshunt, lam, max_iter):
            b_, v_ = b[rows], v_src[rows]
            if lam is not None:
                b_, v_ = b_ * lam[:, None], v_ * lam[:, None]
            return self._newton(eq, G, b_, v_, u_, vj_, gshunt, max_iter)

        bad = np.flatnonzero(~conv)
        tried = {int(k): [f"as configured (no convergence in {self.max_iter} iterations)"] for k in bad}
        for aid in self.continuation:
            if not bad.size:
                break
            zero = np.zeros((bad.size, eq.m))
            if aid == "gmin":
                vj0 = eq.junctions.start(eq.evaluate(zero, v_src[bad], gmin=self.gmin).vj, warm=False)
                uu, _, rr, ok, it = gmin_stepping(run, bad, zero, vj0, gmin=self.gmin, step_iter=self.step_iter,
                                                  final_iter=self.max_iter)
            else:
                vj0 = np.zeros((bad.size, eq.inc.shape[0]))
                uu, _, rr, ok, it = source_stepping(run, bad, zero, vj0, step_iter=self.step_iter)
            its[bad] += it
            u[bad[ok]], res[bad[ok]], conv[bad[ok]] = uu[ok], rr[ok], True
            for k, good in zip(bad, ok):
                tried[int(k)].append(AIDS[aid] if good else f"{AIDS[aid]} (no convergence)")
            bad = bad[~ok]
        return [(k, tuple(t)) for k, t in sorted(tried.items())]

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

    def residual(self, system: MNASystem, G, b, u, v_src, jac: bool = True, values=None):
        """KCL residual [A] (and Jacobian [S], junction voltages [V]) of the full system at the
        unknowns ``u`` (batch, system.n), internal nodes included -- the reference formulation,
        used by implicit gradients (``ResistiveNetwork.implicit_gradient``). ``values``: the
        trained columns of kinds other than conductances (``{kind: array}``, e.g. gate voltages [V])."""
        w = system.extended(u, v_src)
        vd, idd, gd = system.diode_currents(w, gmin=self.gmin)
        r = u @ G.T - b
        rg, Jg = system.general_stamps(u, v_src, gmin=self.gmin, values=values, jac=jac) if system.general \
            else (None, None)
        if rg is not None:
            r += rg
        if not jac:
            _scatter_currents(system, idd, r)
            return r
        J = np.broadcast_to(G, (u.shape[0],) + G.shape).copy()
        if Jg is not None:
            J += Jg
        system.scatter_diodes(idd, gd, r, J)
        return r, J, vd

    def _result(self, system: MNASystem, u, res, conv, its, t0, aided) -> OperatingPoint:
        nf = system.circuit.n_free
        return OperatingPoint(voltages=u[:, :nf].copy(), internal=u[:, nf:].copy(),
                              status="converged" if conv.all() else "max_iter", converged=conv,
                              iterations=int(its.max(initial=0)), residual=res, seconds=time.perf_counter() - t0,
                              extra={"aids": aided, "example_iterations": its})


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
             u0: np.ndarray | None = None, system: MNASystem | None = None, values=None) -> OperatingPoint:
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
    return solver.solve(system, g, v_src, u0=u0, nudge=nudge, values=values)
