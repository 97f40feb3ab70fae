"""Exact block coordinate descent (BCD) for layered networks of resistors and ideal diodes.

With linear conductances and *ideal* diodes, the DC operating point of a reciprocal circuit
minimises the convex co-content (PHYSICS.md §3)::

    E(V) = 1/2 sum_edges g (V_a - V_b)^2 - I . V,    lo <= V <= hi,

where a diode from a rail at ``V_lo`` into node ``i`` is the bound ``V_i >= V_lo`` and one from
node ``i`` to a rail at ``V_hi`` the bound ``V_i <= V_hi``; ``I`` holds the nudging currents. If
no conductance joins two nodes of the same layer, the exact minimiser over one layer, the
others held, is closed form::

    v_i = clip((sum_j g_ij v_j + I_i) / sum_j g_ij, lo_i, hi_i)

(sums over *all* neighbours: free nodes, sources, bias rails, ground). Updating the layers in
turn (odd and even layers alternately for a plain chain; a greedy colouring of the layer graph
in general) is exact block coordinate descent (Scellier 2024, "A fast algorithm to simulate
nonlinear resistive networks"): the energy never rises and the iterates converge to the unique
minimiser of the box-constrained QP.

Conventions and choices:

* **Every diode is an ideal clamp at its rail's voltage, whatever its model card** (``IS``,
  ``N`` and ``RS`` are ignored; the ``DIDEAL`` card of ``hardware_models/diodes.lib`` is what
  SPICE simulates in its place). A diode's internal node (``RS > 0``) is reported at the voltage
  of its anode terminal, the ``RS -> 0`` limit, so states keep ``system.n`` columns.
* Reciprocal amplifiers (back gain == gain) are allowed: an amplified copy ``A V_j`` is a
  neighbour scaled by ``A`` (the coupling is ``g A`` and ``j``'s own share ``g A^2``).
* Resistive nudging of a differential pair adds a conductance ``beta`` between ``pos`` and
  ``neg``. When both nodes lie in one layer the layer is split into two blocks (everything but
  the ``neg`` nodes, then the ``neg`` nodes), each still diagonal, so every step stays exact;
  across layers the coupling is just one more neighbour.
* Applicability is checked once per circuit (:func:`check_bcd_circuit`); anything else raises
  :class:`~analog_eqprop.errors.ConfigError` naming the culprit and pointing to ``backend='numpy'``.
* Cost: the conductance blocks are dense per pair of adjacent layers, gathered from the edge
  vector with index arrays built once per circuit (cached per :class:`MNASystem`) and memoised
  for the last ``g`` (the free and nudged phases of a step share it). Sources enter once per
  call as Norton currents ``x @ Dx + d``; one sweep is then a few products of ``(batch, n_l)``
  by ``(n_l, n_l')`` matrices plus elementwise work, with no loop over examples, nodes or edges.
* Convergence: a sweep in which no voltage moves by more than ``tol`` [V]. The reported residual
  is the KKT residual [A] of the QP (the projected gradient), so it is ~0 at the answer even
  where a clamp conducts.

Examples
--------
>>> import numpy as np
>>> from analog_eqprop.circuits import drn_circuit
>>> from analog_eqprop.solvers.mna import MNASystem
>>> c = drn_circuit([4, 5, 2], seed=0)
>>> op = BCDBackend().operating_point(MNASystem(c), c.edge_g, np.array([[0.1, 0.9, 0.4, 0.0]]))
>>> op.status, op.voltages.shape, op.backend
('converged', (1, 7), 'numpy-bcd')
>>> bool(op.voltages[0, :5].min() >= 0.0)  # hidden nodes clamped from below at 0 V
True
"""

from __future__ import annotations

import time
import weakref
from typing import Any

import numpy as np

from analog_eqprop.contracts import BackendCapabilities
from analog_eqprop.errors import ConfigError, ConvergenceError, DataError
from analog_eqprop.kernels import skinny_matmul
from analog_eqprop.solvers.bcd_checks import check_bcd_circuit
from analog_eqprop.solvers.bcd_device import Namespace
from analog_eqprop.solvers.bcd_device import operating_point_device
from analog_eqprop.solvers.bcd_plan import FOLD_BATCH, FOLD_REUSE, BCDPlan  # (re-exported: their old home)
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.results import OperatingPoint
from analog_eqprop.validation import array, solve_args

__all__ = ["BCDBackend", "BCDPlan", "check_bcd_circuit", "FOLD_BATCH", "FOLD_REUSE"]


class BCDBackend:
    """Exact block coordinate descent on layered ideal-diode networks (see the module docstring).

    Parameters
    ----------
    max_iter : int
        Sweeps (every layer once) before giving up.
    tol : float
        Converged when no voltage changes by more than ``tol`` [V] in a sweep.
    throw : bool
        Raise :class:`~analog_eqprop.errors.ConvergenceError` if some example did not converge.
    kkt : bool
        Compute the KKT residual of the answer (one more field evaluation per layer); without
        it ``residual`` is NaN. A fixed sweep count (``max_iter=4, tol=0, throw=False``, as
        Scellier 2024 trains) has no use for it.
    xp, device : str, optional
        Run the sweeps with another array library's operations (``"torch"``, ``"cupy"``, or
        any module with the array API's ``asarray``, ``matmul``, ``maximum``, ``minimum``,
        ``abs`` and ``max``), e.g. ``xp="torch", device="cuda"``. Set-up, nudging and results
        stay NumPy; blocks move once per g, currents once per call.
    dtype : {None, "float32", "float64"}
        Precision of the sweeps; ``None`` follows the conductances (float32 ``g``, as a
        ``ResistiveNetwork(dtype="float32")`` passes, runs in float32, anything else in float64).

    Examples
    --------
    >>> import numpy as np
    >>> from analog_eqprop.circuits import drn_circuit
    >>> from analog_eqprop.models import ResistiveNetwork
    >>> net = ResistiveNetwork(drn_circuit([3, 4, 2], seed=1), backend="bcd")
    >>> s0 = net.relax(np.array([[0.2, 0.5, 0.9]])).state
    >>> net.last_op.backend, bool(net.last_op.residual[0] < 1e-15)
    ('numpy-bcd', True)
    """

    name = "bcd"

    def __init__(self, max_iter: int = 1000, tol: float = 1e-12, throw: bool = True, kkt: bool = True,
                 dtype: str | None = None, xp: str | None = None, device: str | None = None):
        if int(max_iter) < 1:
            raise ConfigError(f"BCDBackend: max_iter must be >= 1, got {max_iter!r}")
        if not (np.isfinite(tol) and tol >= 0):
            raise ConfigError(f"BCDBackend: tol must be a finite number >= 0 (V), got {tol!r}")
        if dtype is not None and np.dtype(dtype) not in (np.float32, np.float64):
            raise ConfigError(f"BCDBackend: dtype must be float32, float64 or None, got {dtype!r}")
        self.max_iter, self.tol, self.throw, self.kkt = int(max_iter), float(tol), bool(throw), bool(kkt)
        self.dtype = None if dtype is None else np.dtype(dtype)
        self.xp, self.device = xp, device
        #: the device library's operations (``xp=``), else ``None``
        self.namespace = None if xp is None else Namespace(xp, device)
        self.capabilities = BackendCapabilities(current_sources=True, same_conductances=True,
                                                fresh_conductances=True, per_example_beta=True,
                                                device_arrays=self.namespace is not None)
        self.stats: dict[str, Any] = {}
        self._plans: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        dt = None if self.dtype is None else self.dtype.name
        xp = "" if self.xp is None else f", xp={self.xp!r}, device={self.device!r}"
        return (f"BCDBackend(max_iter={self.max_iter}, tol={self.tol!r}, throw={self.throw}, kkt={self.kkt}, "
                f"dtype={dt!r}{xp})")

    def _dtype(self, g: np.ndarray) -> np.dtype:
        if self.dtype is not None:
            return self.dtype
        return np.dtype(np.float32) if g.dtype == np.float32 else np.dtype(np.float64)

    def plan(self, system: MNASystem) -> BCDPlan:
        """The circuit's precomputed index arrays (checks applicability on first use)."""
        p = self._plans.get(system)
        if p is None:
            p = self._plans[system] = BCDPlan(system)
        return p

    def operating_point(self, system: MNASystem, g: np.ndarray, x: np.ndarray, *, beta: float = 0.0,
                        target_v: np.ndarray | None = None, ref: np.ndarray | None = None,
                        u0: np.ndarray | None = None, i_ext: np.ndarray | None = None,
                        same_g: bool = False, fresh_g=None) -> OperatingPoint:
        """Operating points of a batch: ``x`` (batch, n_features), ``target_v`` output targets [V].

        ``beta`` [S] nudges as :meth:`MNASystem.nudge_terms` does (``ref``: the free state, for
        current-mode nudging), or one beta per example (``(batch,)``: e.g. +beta and -beta phases
        stacked into one batch, which reads every weight block once for both); ``u0`` (batch, n_free or system.n) warm-starts the sweeps (the
        free state is a good start for the nudged phase); ``i_ext`` (n_free,) are currents [A]
        injected into the free nodes (node order) by ideal current sources; ``same_g=True``
        promises that ``g`` equals the previous call's (the nudged phases of a training step),
        which skips comparing a million conductances; ``fresh_g`` (``True`` or ``(n_free,)``
        totals) promises that ``g`` was just written by a caller that checked it (every value
        finite and > 0) and will not change it before its next call: ``g`` is then neither
        checked, compared nor copied, and with the totals (each free node's conductance [S],
        node order) the diagonal is not summed again (training steps after a fused update:
        ``ResistiveNetwork.eqprop_sgd_step``).

        Returns an :class:`~analog_eqprop.solvers.newton.OperatingPoint` whose ``iterations``
        counts sweeps, ``residual`` is the KKT residual [A] per example and ``extra["max_change"]``
        the largest voltage change [V] of the last sweep per example.
        """
        if self.namespace is not None and not isinstance(g, np.ndarray) and hasattr(g, "shape"):
            return operating_point_device(self, system, g, x, beta=beta, target_v=target_v, ref=ref, u0=u0,
                                          i_ext=i_ext, same_g=same_g, fresh_g=fresh_g)
        t0 = time.perf_counter()
        p = self.plan(system)
        c, nf = p.circuit, p.nf
        # same_g: g was checked by the call that built it (a million conductances need not be rescanned)
        g, x, beta, target_v, ref, u0 = solve_args(c, g, x, beta=beta, target=target_v, ref=ref, u0=u0,
                                                   n_state=system.n,
                                                   check_g=not (same_g or fresh_g is not None and fresh_g is not False),
                                                   per_example_beta=True, g_dtype=None)
        if i_ext is not None:
            i_ext = array(i_ext, "i_ext", (nf,))
        B = x.shape[0]
        g = np.asarray(g)
        dt = self._dtype(g)
        if isinstance(fresh_g, np.ndarray) or (fresh_g is not None and not isinstance(fresh_g, bool)):
            fresh_g = array(fresh_g, "fresh_g", (nf,))
        W, drive, diag = p.built(g, dt, same_g, fresh_g)
        b = p.norton(x)
        if i_ext is not None:  # current sources into the nodes
            i_ext = i_ext.astype(dt)[p.order]
            for bk, sl in zip(b, p.slices):
                bk += i_ext[sl]
        coupling = 0.0
        if target_v is not None:
            diag, coupling = self.nudge(p, system, beta, target_v, ref, diag, b)
            diag = diag.astype(dt, copy=False)
        v_src = None if p.bounds_const and not system.n_internal else c.source_voltages(x)
        lo, hi = p.bounds_as(dt) if p.bounds_const else (a.astype(dt, copy=False) for a in p.bounds(v_src))
        inv = 1.0 / diag
        v = np.zeros((B, nf), dt) if u0 is None else np.array(np.asarray(u0)[:, :nf][:, p.order], dtype=dt)
        v = np.minimum(np.maximum(v, lo), hi)

        if self.xp is not None:
            if coupling:
                raise ConfigError("BCD: the array-namespace sweeps (xp=...) do not handle resistive nudging of "
                                  "differential pairs; use xp=None")
            v, delta, it = self._sweeps_xp(p, v, b, W, inv, lo, hi)
            converged = delta <= self.tol
            res = self._kkt(p, v, b, W, diag, lo, hi, coupling, [(np.empty((B, sl.stop - sl.start), dt),
                            np.empty((B, sl.stop - sl.start), dt)) for sl in p.slices]) if self.kkt \
                else np.full(B, np.nan)
            return self.finish(system, p, v, v_src, res, converged, it, delta, t0)
        # work buffers reused by every sweep: fresh (batch, n_l) temporaries cost page faults
        work = [(np.empty((B, sl.stop - sl.start), dt), np.empty((B, sl.stop - sl.start), dt)) for sl in p.slices]
        delta = np.full(B, np.inf, dt)
        it = 0
        for it in range(1, self.max_iter + 1):
            # with tol = 0 (a fixed sweep count) only the last sweep's change is reported: the
            # early stop it gives up needs an exact fixed point, where more sweeps change nothing
            watch = self.tol > 0 or it == self.max_iter
            delta[:] = 0.0
            for k in p.sweep:
                sl, (new, tmp) = p.slices[k], work[k]
                self._update(p, k, v, b, W, inv, lo, hi, coupling, new, tmp)
                if watch:
                    np.abs(np.subtract(new, v[:, sl], out=tmp), out=tmp)
                    np.maximum(delta, tmp.max(axis=1, initial=0.0), out=delta)
                v[:, sl] = new
            if watch and delta.max(initial=0.0) <= self.tol:
                break
        converged = delta <= self.tol
        res = self._kkt(p, v, b, W, diag, lo, hi, coupling, work) if self.kkt else np.full(B, np.nan)
        return self.finish(system, p, v, v_src, res, converged, it, delta, t0)

    def finish(self, system, p, v, v_src, res, converged, it, delta, t0) -> OperatingPoint:
        """The result of sweeps that ended with voltages ``v`` (layer order), raising
        :class:`~analog_eqprop.errors.ConvergenceError` for examples that did not converge
        when ``throw`` is set (the host and device paths share it)."""
        out = self._result(system, p, v, v_src, res, converged, it, delta, t0)
        if self.throw and not converged.all():
            bad = np.flatnonzero(~converged)
            raise ConvergenceError(f"BCD did not converge for {bad.size} of {len(converged)} examples (first: "
                                   f"{bad[0]}) in {self.max_iter} sweeps; largest change in the last sweep "
                                   f"{delta.max():.3g} V")
        return out

    def _sweeps_xp(self, p: BCDPlan, v, b, W, inv, lo, hi):
        """The same sweeps with array-API operations only (torch, CuPy...): blocks, currents and
        bounds are moved once per call (the blocks once per g), voltages come back as NumPy."""
        X = self.namespace
        memo = p.__dict__.get("_xp_blocks")
        if memo is None or memo[0] is not p.last_built or memo[1] is not X:
            memo = p._xp_blocks = (p.last_built, X, {key: X.asarray(w) for key, w in W.items()})
        vs, delta, it = self.sweeps_device(p, [X.asarray(v[:, sl]) for sl in p.slices], [X.asarray(bk) for bk in b],
                                         memo[2], [X.asarray(inv[..., sl]) for sl in p.slices], lo, hi)
        return np.concatenate([X.to_numpy(a) for a in vs], axis=1), delta, it

    def sweeps_device(self, p: BCDPlan, vs, bx, Wx, invx, lo, hi):
        """The sweeps on device arrays: voltages ``vs``, currents ``bx`` and ``1 / diagonal``
        ``invx`` per layer, blocks ``Wx``; bounds ``lo`` / ``hi`` host arrays (moved here).
        Returns the device voltages per layer, the last sweep's change (host) and the count."""
        X = self.namespace
        layer_of = {sl.start: k for k, sl in enumerate(p.slices)}
        lox = [X.asarray(lo[:, sl]) if p.has_lo[k] else None for k, sl in enumerate(p.slices)]
        hix = [X.asarray(hi[:, sl]) if p.has_hi[k] else None for k, sl in enumerate(p.slices)]
        B = vs[0].shape[0] if vs else 0
        delta = np.full(B, np.inf)
        it = 0
        for it in range(1, self.max_iter + 1):
            watch = self.tol > 0 or it == self.max_iter  # as the host sweeps: see operating_point
            change = None
            for k in p.sweep:
                r = bx[k]
                for sl, key, transpose in p.neighbours[k]:
                    w = Wx[key]
                    r = r + X.matmul(vs[layer_of[sl.start]], X.T(w) if transpose else w)
                new = r * invx[k]
                if p.has_lo[k]:
                    new = X.maximum(new, lox[k])
                if p.has_hi[k]:
                    new = X.minimum(new, hix[k])
                if watch and new.shape[1]:
                    ck = X.max1(X.abs(new - vs[k]))
                    change = ck if change is None else X.maximum(change, ck)
                vs[k] = new
            if watch:
                delta = X.to_numpy(change) if change is not None else np.zeros(B)
                if delta.max(initial=0.0) <= self.tol:
                    break
        return vs, delta, it

    # -- pieces ---------------------------------------------------------------------------
    @staticmethod
    def nudge(p: BCDPlan, system: MNASystem, beta: float, target_v, ref, diag, b):
        """Add the nudge to the layers' currents ``b`` (in place); return the new diagonal and the
        pair coupling [S]."""
        c = p.circuit
        per_example = np.ndim(beta) == 1  # one beta per example: diagonal (batch, n_free)
        if c.nudge == "current":
            if ref is None:
                raise DataError("current-mode nudging needs the free state as reference (ref)")
            _, db = system.nudge_terms(1.0 if per_example else beta, target_v, np.asarray(ref, dtype=np.float64))
            db = db[:, : p.nf][:, p.order]
            if per_example:
                db = db * beta[:, None]  # the injected current is linear in beta
            for bk, sl in zip(b, p.slices):
                bk += db[:, sl]
            return diag, 0.0
        # resistive: a conductance beta to the target, between pos and neg for pairs (F = E + beta C);
        # MNASystem.nudge_terms would build it as a dense (n, n) matrix, which big nets cannot afford
        if per_example and p.coupled:
            raise ConfigError("BCD: one beta per example is not supported with resistive nudging of "
                              "differential pairs; relax the phases one by one")
        has = c.out_neg >= 0
        pos, neg = p.pos[c.out_pos], p.pos[c.out_neg[has]]
        bcol = beta[:, None] if per_example else beta
        diag = diag + np.bincount(np.concatenate([pos, neg]), minlength=p.nf) * bcol
        db = np.zeros((target_v.shape[0], p.nf))
        np.add.at(db, (slice(None), pos), bcol * target_v)
        np.add.at(db, (slice(None), neg), -bcol * target_v[:, has])
        for bk, sl in zip(b, p.slices):
            bk += db[:, sl]
        bad = diag <= 0
        if p.coupled:
            bad[p.pair_p] |= diag[p.pair_p] * diag[p.pair_n] <= beta * beta
        if np.any(bad):
            node = int(np.argmax(bad)) % p.nf
            raise ConfigError(f"BCD: beta={np.max(np.abs(beta)):g} S makes the energy non-convex at output node "
                              f"{c.nodes[p.order[node]]} (a negative nudge conductance larger than the "
                              f"node's own); use a smaller |beta| or current-mode nudging")
        return diag, 0.0 if per_example or not p.coupled else beta

    @staticmethod
    def _field(p: BCDPlan, k: int, v, b, W, out, tmp) -> np.ndarray:
        """``sum_j g_kj v_j + I_k`` [A] over all neighbours of layer ``k`` but a pair partner, into ``out``."""
        for i, (sl, key, transpose) in enumerate(p.neighbours[k]):
            skinny_matmul(v[:, sl], W[key].T if transpose else W[key], out=tmp if i else out)
            if i:
                out += tmp
        if p.neighbours[k]:
            return np.add(out, b[k], out=out)
        out[...] = b[k]
        return out

    def _update(self, p: BCDPlan, k: int, v, b, W, inv, lo, hi, coupling, out, tmp) -> np.ndarray:
        """The exact minimiser over layer ``k`` given all other layers, into ``out``."""
        sl = p.slices[k]
        r = self._field(p, k, v, b, W, out, tmp)
        pairs = p.layer_pairs[k] if coupling else None
        if pairs is not None:
            me, partner, defer, defer_partner = pairs
            r_defer = r[:, defer]
            r[:, me] += coupling * v[:, partner]
        new = self._clip(p, k, np.multiply(r, inv[..., sl], out=r), lo, hi)
        if pairs is not None and defer.size:
            # same-layer negs form a second block: updated after their (new) pos partners
            d = (r_defer + coupling * new[:, defer_partner]) * inv[sl][defer]
            new[:, defer] = np.minimum(np.maximum(d, lo[:, sl][:, defer]), hi[:, sl][:, defer])
        return new

    @staticmethod
    def _clip(p: BCDPlan, k: int, new, lo, hi) -> np.ndarray:
        sl = p.slices[k]
        if p.has_lo[k]:
            np.maximum(new, lo[:, sl], out=new)
        if p.has_hi[k]:
            np.minimum(new, hi[:, sl], out=new)
        return new

    def _kkt(self, p: BCDPlan, v, b, W, diag, lo, hi, coupling, work) -> np.ndarray:
        """Largest projected gradient [A] per example: the KCL residual where a node is inside its
        bounds; on a rail only the part its clamp could not supply (a diode conducts one way)."""
        res = np.zeros(v.shape[0])
        for k, sl in enumerate(p.slices):
            r, tmp = work[k]
            self._field(p, k, v, b, W, r, tmp)
            pairs = p.layer_pairs[k] if coupling else None
            if pairs is not None:
                r[:, pairs[0]] += coupling * v[:, pairs[1]]
            vk = v[:, sl]
            grad = np.subtract(np.multiply(vk, diag[..., sl], out=tmp), r, out=r)
            if p.has_lo[k]:
                np.minimum(grad, 0.0, out=grad, where=vk <= lo[:, sl])
            if p.has_hi[k]:
                np.maximum(grad, 0.0, out=grad, where=vk >= hi[:, sl])
            np.maximum(res, np.abs(grad, out=grad).max(axis=1, initial=0.0), out=res)
        return res

    @staticmethod
    def _result(system: MNASystem, p: BCDPlan, v, v_src, res, converged, it, delta, t0) -> OperatingPoint:
        volts = v[:, p.pos]  # back to the circuit's node order
        internal = np.zeros((v.shape[0], system.n_internal), v.dtype)
        if system.n_internal:  # RS ignored: the internal node sits at its anode terminal (RS -> 0)
            w = system.extended(np.concatenate([volts, internal], axis=1), v_src)
            internal = w[:, system.d_anode_term[system.has_rs]]
        return OperatingPoint(voltages=volts, internal=internal, status="converged" if converged.all() else "max_iter",
                              converged=converged, iterations=it, residual=res, backend="numpy-bcd",
                              seconds=time.perf_counter() - t0, extra={"max_change": delta.copy()})
