"""Convergence aids of the NumPy Newton solver: junction limiting and homotopies, as ngspice has them.

A diode's current grows by e per ``n V_T`` of junction voltage: 0.52 mV for the ``DIDEAL``
card. Plain Newton linearises the junction where the last iterate put it, so a start that
biases a junction 0.2 V forward linearises ``1e-9 exp(386)`` A and then creeps back at about
one ``n V_T`` per step (measured before this module: 0.5 mV per step, out of iterations at
0.10 V). Circuit simulators avoid that with three aids, all mirrored here from ngspice 39:

* **junction limiting** (:func:`pnjlim`, ngspice's ``DEVpnjlim`` in ``devsup.c``, called by
  ``dioload.c``): above the critical voltage ``V_crit = n V_T ln(n V_T / (sqrt(2) IS))``
  (where the junction's current equals ``n V_T / sqrt(2)`` ohm^-1 x 1 V: 6.6 mV for DIDEAL,
  0.79 V for D1N4148) a junction may move only logarithmically per iteration, and the device
  is linearised at the *limited* voltage (its companion model), not at the node voltages;
* **gmin stepping** (ngspice's ``dynamic_gmin`` in ``cktop.c``): a conductance to ground on
  every node, from 1e-2 S down to ``gmin`` by adaptive factors (at most 10), each step
  started from the last solution, then a final solve without it;
* **source stepping** (ngspice's ``gillespie_src``): every source (inputs, rails, amplifier
  offsets, nudge currents) scaled by ``lambda`` from 0 (the trivial solution) up to 1 by
  adaptive increments, each step started from the last solution.

The homotopies here are batched: every example carries its own parameter (gmin or lambda)
and step, and each round runs one Newton solve over all examples still stepping, through a
callback ``run(rows, u, vj, gshunt=, lam=, max_iter=)`` the solver provides.

Examples
--------
>>> import numpy as np
>>> v, lim = pnjlim(np.array([0.2]), np.array([0.0]), np.array([0.5e-3]), np.array([6.6e-3]))
>>> round(1e3 * float(v[0]), 3), bool(lim[0])  # from off, 0.2 V is cut to n V_T ln(v / n V_T) [mV]
(2.996, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from analog_eqprop.elements.library import thermal_voltage

__all__ = ["pnjlim", "vcrit", "JunctionTable", "gmin_stepping", "source_stepping", "AIDS"]

#: Names of the fall-backs, as :class:`~analog_eqprop.solvers.newton.OperatingPoint` reports them
#: (``extra["aids"]``) -- the same words as the ngspice backend's :data:`RETRY_AIDS`.
AIDS = {"gmin": "gmin stepping", "source": "source stepping"}


def vcrit(vte: np.ndarray, IS: np.ndarray) -> np.ndarray:
    """ngspice's critical junction voltage [V] (``diotemp.c``): ``n V_T ln(n V_T / (sqrt 2 IS))``."""
    return vte * np.log(vte / (math.sqrt(2.0) * IS))


def pnjlim(vnew: np.ndarray, vold: np.ndarray, vt: np.ndarray, vc: np.ndarray, *,
           reverse: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Limited junction voltages [V] and where the limit acted: ngspice 39's ``DEVpnjlim``.

    Above ``vc`` a change of more than ``2 vt`` becomes ``2 vt + vt ln(|change| / vt - 2)``
    (from a junction that was off: ``vt ln(vnew / vt)``). ``reverse=True`` adds ngspice's
    bound on reverse steps (``vnew >= 2 vold - 1`` from off, ``>= -vold - 1`` from on); the
    solver leaves it out away from breakdown, where the reverse current is flat (``-IS``) and
    the bound would only cost iterations. Every argument broadcasts.
    """
    vnew, vold = np.asarray(vnew, dtype=np.float64), np.asarray(vold, dtype=np.float64)
    fwd = (vnew > vc) & (np.abs(vnew - vold) > 2 * vt)
    if not reverse and not fwd.any():
        return vnew, fwd
    with np.errstate(divide="ignore", invalid="ignore"):
        arg = (vnew - vold) / vt
        up = vold + vt * (2 + np.log(np.where(arg > 2, arg - 2, 1.0)))
        down = vold - vt * (2 + np.log(np.where(arg < 2, 2 - arg, 1.0)))
        off = vt * np.log(np.where(vnew > 0, vnew / vt, 1.0))
    lim_f = np.where(vold > 0, np.where(arg > 0, up, down), off)
    out = np.where(fwd, lim_f, vnew)
    limited = fwd
    if reverse:
        bound = np.where(vold > 0, -vold - 1.0, 2 * vold - 1.0)
        rev = ~fwd & (vnew < 0) & (vnew < bound)
        out = np.where(rev, bound, out)
        limited = fwd | rev
    return out, limited


@dataclass(frozen=True)
class JunctionTable:
    """Per diode (``n_diodes,``): what limiting needs, from each diode's model card."""

    vte: np.ndarray  #: n V_T [V]
    vcrit: np.ndarray  #: critical voltage [V]
    bv: np.ndarray  #: effective breakdown voltage [V] (inf: none)
    vtebrk: np.ndarray  #: NBV V_T [V] (breakdown's n V_T)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_exempt_all", not np.isfinite(self.vcrit).any() and not np.isfinite(self.bv).any())
        object.__setattr__(self, "_any_bv", bool(np.isfinite(self.bv).any()))
        object.__setattr__(self, "_brk_edge", np.minimum(0.0, -self.bv + 10 * self.vtebrk))

    @classmethod
    def of(cls, models, model_index: np.ndarray, exempt: np.ndarray | None = None) -> "JunctionTable":
        """The table of ``models[model_index[d]]`` per diode; ``exempt`` diodes are never limited."""
        nd = len(model_index)
        vte, vc, bv, vtb = (np.empty(nd) for _ in range(4))
        for k, m in enumerate(models):
            sel = np.asarray(model_index) == k
            vte[sel] = m.vte()
            vc[sel] = vcrit(m.vte(), m.IS)
            b = m.breakdown_voltage()
            bv[sel] = np.inf if b is None else b
            vtb[sel] = (m.NBV if m.NBV is not None else m.N) * thermal_voltage()
        if exempt is not None:
            vc[exempt], bv[exempt] = np.inf, np.inf
        return cls(vte, vc, bv, vtb)

    def limit(self, vnew: np.ndarray, vold: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``dioload.c``'s choice: breakdown limiting on ``-(v + BV)`` where a junction is in
        (or heading into) breakdown, forward limiting elsewhere. ``(batch, n_diodes)`` each;
        ``None`` for where-limited when no junction can be (all exempt)."""
        if self._exempt_all:
            return vnew, None
        v, lim = pnjlim(vnew, vold, self.vte, self.vcrit)
        if not self._any_bv:
            return v, lim
        brk = vnew < self._brk_edge
        if brk.any():
            t, tl = pnjlim(-(vnew + self.bv), -(vold + self.bv), self.vtebrk, self.vcrit, reverse=True)
            v = np.where(brk, -(t + self.bv), v)
            lim = np.where(brk, tl, lim)
        return v, lim

    def start(self, vj: np.ndarray, warm: bool) -> np.ndarray:
        """The "previous" junction voltages of the first iteration (ngspice's ``MODEINITJCT``).

        A cold start counts every junction that the start biases beyond ``V_crit`` as off
        (0 V), so the first linearisation is at ``n V_T ln(v / n V_T)``, not at ``v``; a warm
        start keeps its junctions unless one sits more than 20 ``n V_T`` beyond ``V_crit`` (a
        start that far forward costs one iteration per ``n V_T`` to come back from).
        """
        far = vj > self.vcrit + (20 * self.vte if warm else 0.0)
        return np.where(far, 0.0, vj)


#: Most steps one homotopy may take per example (each a Newton solve of up to ``step_iter``
#: iterations): ngspice has no bound, and a factor hovering near 1 could step ~1e6 times.
MAX_ROUNDS = 1000

Run = Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


def gmin_stepping(run: Run, rows: np.ndarray, u: np.ndarray, vj: np.ndarray, *, gmin: float, step_iter: int,
                  final_iter: int, g_start: float = 1e-2, factor0: float = 10.0, max_rounds: int = MAX_ROUNDS):
    """ngspice's dynamic gmin stepping for the examples ``rows``, from the state ``(u, vj)``.

    Returns ``(u, vj, residual, converged, iterations)`` for those rows (iterations summed
    over all steps; the residual [A] is the final solve's, ``inf`` where no final solve was
    reached). An example fails when its factor shrinks below 1.00005 (or after ``max_rounds``
    steps, a bound ngspice does not have).
    """
    m = rows.size
    gsh = np.full(m, g_start / factor0)
    factor = np.full(m, factor0)
    g_old = np.full(m, g_start)
    u_ok, vj_ok = u.copy(), vj.copy()
    its = np.zeros(m, np.int64)
    state = np.zeros(m, np.int8)  # 0 stepping, 1 reached gmin, -1 failed
    for _ in range(max_rounds):
        a = np.flatnonzero(state == 0)
        if not a.size:
            break
        un, vn, _, ok, it = run(rows[a], u_ok[a], vj_ok[a], gshunt=gsh[a], lam=None, max_iter=step_iter)
        its[a] += it
        good, bad = a[ok], a[~ok]
        u_ok[good], vj_ok[good] = un[ok], vn[ok]
        reached = good[gsh[good] <= gmin]
        state[reached] = 1
        more = good[gsh[good] > gmin]
        if more.size:
            it_m = it[ok][gsh[good] > gmin]
            f = factor[more]
            f = np.where(it_m <= step_iter // 4, np.minimum(f * np.sqrt(f), factor0), f)
            f = np.where(it_m > 3 * step_iter // 4, np.sqrt(f), f)
            g_old[more] = gsh[more]
            last = gsh[more] < f * gmin
            factor[more] = np.where(last, gsh[more] / gmin, f)
            gsh[more] = np.where(last, gmin, gsh[more] / f)
        if bad.size:
            dead = factor[bad] < 1.00005
            state[bad[dead]] = -1
            retry = bad[~dead]
            factor[retry] = np.sqrt(np.sqrt(factor[retry]))
            gsh[retry] = g_old[retry] / factor[retry]
    state[state == 0] = -1
    res = np.full(m, np.inf)
    conv = np.zeros(m, bool)
    fin = np.flatnonzero(state == 1)
    if fin.size:  # the last solve without the shunt, as ngspice ends
        un, vn, r, ok, it = run(rows[fin], u_ok[fin], vj_ok[fin], gshunt=None, lam=None, max_iter=final_iter)
        u_ok[fin], vj_ok[fin], res[fin], conv[fin] = un, vn, r, ok
        its[fin] += it
    return u_ok, vj_ok, res, conv, its


def source_stepping(run: Run, rows: np.ndarray, u: np.ndarray, vj: np.ndarray, *, step_iter: int,
                    raise0: float = 1e-3, max_rounds: int = MAX_ROUNDS):
    """ngspice's Gillespie source stepping for the examples ``rows``: every source at
    ``lambda`` times its value, from ``lambda = 0`` (all nodes at 0 V, exactly) up to 1.

    ``u`` and ``vj`` are the lambda = 0 state (zeros). Returns like :func:`gmin_stepping`; an
    example fails when its increment falls below 1e-7 (or after ``max_rounds`` steps).
    """
    m = rows.size
    lam_ok = np.zeros(m)
    rise = np.full(m, raise0)
    u_ok, vj_ok = u.copy(), vj.copy()
    res = np.full(m, np.inf)
    its = np.zeros(m, np.int64)
    state = np.zeros(m, np.int8)
    for _ in range(max_rounds):
        a = np.flatnonzero(state == 0)
        if not a.size:
            break
        lam = np.minimum(lam_ok[a] + rise[a], 1.0)
        un, vn, r, ok, it = run(rows[a], u_ok[a], vj_ok[a], gshunt=None, lam=lam, max_iter=step_iter)
        its[a] += it
        good, bad = a[ok], a[~ok]
        u_ok[good], vj_ok[good], lam_ok[good], res[good] = un[ok], vn[ok], lam[ok], r[ok]
        it_g = it[ok]
        rise[good] = np.where(it_g <= step_iter // 4, rise[good] * 1.5,
                              np.where(it_g > 3 * step_iter // 4, rise[good] * 0.5, rise[good]))
        state[good[lam_ok[good] >= 1.0]] = 1
        if bad.size:
            stuck = lam[~ok] - lam_ok[bad] < 1e-8
            rise[bad] = np.minimum(rise[bad] / 10, 0.01)
            state[bad[stuck | (rise[bad] < 1e-7)]] = -1
        state[(state == 0) & (rise < 1e-7)] = -1
    return u_ok, vj_ok, res, state == 1, its
