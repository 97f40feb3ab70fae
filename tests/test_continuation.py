"""The Newton solver's homotopies step by step: each example's gmin / lambda sequence, its
iteration count and its outcome against a scalar transcription of ngspice 39's ``cktop.c``.

``gmin_stepping`` and ``source_stepping`` run every example of a batch at its own step size
through one callback. Here the callback is scripted (each example answers each call with a
given success flag and iteration count), so the test can replay, for one example at a time,
what ngspice's ``dynamic_gmin`` and ``gillespie_src`` would do with the same answers, and
demand the same sequence of shunt conductances [S] / source factors, the same states kept
(a failed step must restore the last good one), the same totals and the same verdicts. The
end-to-end checks (the aids solve what plain Newton gives up on) are in
``test_newton_convergence.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from analog_eqprop.elements.diode import DiodeModel, diode_model
from analog_eqprop.solvers.continuation import JunctionTable, gmin_stepping, pnjlim, source_stepping

STEP_ITER = 40  # ngspice's CKTdcTrcvMaxIter in these scripts: <= 10 is fast, > 30 is slow


# -- scalar references, one example at a time (ngspice 39, src/spicelib/analysis/cktop.c) ------
def ref_dynamic_gmin(answers, *, gmin, step_iter, final_iter, g_start=1e-2, factor0=10.0, max_rounds=1000):
    """``dynamic_gmin``: the shunt of every solve, then the verdict. ``answers`` yields
    ``(ok, iterations)`` per solve."""
    shunts, total = [], 0
    factor, old = factor0, g_start
    diag = old / factor
    for _ in range(max_rounds):
        shunts.append(diag)
        ok, iters = next(answers)
        total += iters
        if ok:
            if diag <= gmin:
                break
            if iters <= step_iter // 4:
                factor = min(factor * math.sqrt(factor), factor0)
            if iters > 3 * step_iter // 4:
                factor = math.sqrt(factor)
            old = diag
            if diag < factor * gmin:
                factor, diag = diag / gmin, gmin
            else:
                diag = diag / factor
        else:
            if factor < 1.00005:
                return shunts, total, False
            factor = math.sqrt(math.sqrt(factor))
            diag = old / factor
    else:
        return shunts, total, False
    shunts.append(None)  # the final solve without the shunt
    ok, iters = next(answers)
    return shunts, total + iters, ok


def ref_gillespie(answers, *, step_iter, raise0=1e-3, max_rounds=1000):
    """``gillespie_src`` from the lambda = 0 state: the factor of every solve, the verdict."""
    facts, total = [], 0
    conv, rise = 0.0, raise0
    for _ in range(max_rounds):
        lam = min(conv + rise, 1.0)
        facts.append(lam)
        ok, iters = next(answers)
        total += iters
        if ok:
            conv = lam
            if iters <= step_iter // 4:
                rise *= 1.5
            if iters > 3 * step_iter // 4:
                rise *= 0.5
            if conv >= 1.0:
                return facts, total, True
        else:
            if lam - conv < 1e-8:
                return facts, total, False
            rise = min(rise / 10, 0.01)
        if rise < 1e-7:
            return facts, total, False
    return facts, total, False


# -- the scripted callback -------------------------------------------------------------------
class Script:
    """Answers each row's calls from its own script; records what each row was asked and
    hands back states that count the successful solves (failures hand back NaN garbage, which a
    correct stepper never keeps)."""

    def __init__(self, scripts):
        self.scripts = [iter(s) for s in scripts]
        self.asked = [[] for _ in scripts]
        self.given_u = [[] for _ in scripts]
        self.max_iters = [[] for _ in scripts]

    def __call__(self, rows, u, vj, *, gshunt, lam, max_iter):
        n = rows.size
        ok, its = np.zeros(n, bool), np.zeros(n, np.int64)
        un, vn, res = np.full_like(u, np.nan), np.full_like(vj, np.nan), np.full(n, np.nan)
        for k, r in enumerate(rows):
            self.asked[r].append(None if gshunt is None and lam is None else
                                 float(gshunt[k] if gshunt is not None else lam[k]))
            self.given_u[r].append(float(u[k, 0]))
            self.max_iters[r].append(max_iter)
            ok[k], its[k] = next(self.scripts[r])
            if ok[k]:
                un[k], vn[k], res[k] = u[k] + 1.0, vj[k] - 1.0, 1e-15 * (r + 1)
        return un, vn, res, ok, its


def _answers(seed: int, n: int, p_fail: float, most: int = STEP_ITER):
    rng = np.random.default_rng(seed)
    return [(bool(rng.random() >= p_fail), int(rng.integers(1, most + 1))) for _ in range(n)]


def _padded(answers, n: int = 1100):
    """The answers, then the last one again: long enough for any stepper's max_rounds."""
    return answers + [answers[-1]] * (n - len(answers))


SCRIPTS = {
    "all fast": _padded([(True, 3)]),
    "all slow": _padded([(True, 35)]),
    "middling": _padded([(True, 20)]),
    "fails then recovers": _padded([(True, 3), (False, 40), (False, 40), (True, 12), (True, 38), (True, 2), (True, 5)]),
    "never converges": _padded([(False, 40)]),
    "fast, then one failure late": _padded([(True, 3)] * 12 + [(False, 40), (True, 3)]),
    **{f"random {s}": _answers(s, 1100, 0.3) for s in range(4)},
    **{f"mostly good {s}": _answers(s, 1100, 0.1, most=32) for s in range(4, 10)},
    **{f"fast, some fail {s}": _answers(s, 1100, 0.06, most=10) for s in range(10, 14)},
}


@pytest.mark.parametrize("gmin", [1e-12, 3.3e-9])
def test_gmin_stepping_follows_ngspice_dynamic_gmin_per_example(gmin):
    scripts = dict(SCRIPTS)
    # every step succeeds, then the final solve without the shunt fails
    steps = len(ref_dynamic_gmin(iter(SCRIPTS["all fast"]), gmin=gmin, step_iter=STEP_ITER, final_iter=7)[0]) - 1
    scripts["last solve fails"] = _padded([(True, 4)] * steps + [(False, 40)])
    names = list(scripts)
    script = Script([scripts[n] for n in names])
    rows = np.arange(len(names))
    u0 = np.arange(len(names), dtype=float)[:, None] * 10.0 + np.zeros((1, 3))
    vj0 = np.zeros((len(names), 2))
    u, vj, res, conv, its = gmin_stepping(script, rows, u0, vj0, gmin=gmin, step_iter=STEP_ITER, final_iter=7)
    for r, name in enumerate(names):
        shunts, total, ok = ref_dynamic_gmin(iter(scripts[name]), gmin=gmin, step_iter=STEP_ITER, final_iter=7)
        asked = script.asked[r]
        assert len(asked) == len(shunts), name
        assert all((a is None) == (s is None) for a, s in zip(asked, shunts)), name
        got = np.array([a for a in asked if a is not None])
        want = np.array([s for s in shunts if s is not None])
        assert np.allclose(got, want, rtol=1e-12, atol=0), name
        assert its[r] == total and bool(conv[r]) is ok, name
        # the final solve (no shunt) gets final_iter, the steps step_iter
        assert script.max_iters[r] == [7 if a is None else STEP_ITER for a in asked], name
        # every solve starts from the last good state: the count of good solves before it
        good = np.cumsum([0] + [bool(a) for a, _ in scripts[name][: len(asked) - 1]])
        assert np.allclose(script.given_u[r], 10.0 * r + good), name
        if ok:  # (the solver keeps a failed example's state from before the homotopy)
            n_good = sum(bool(a) for a, _ in scripts[name][: len(asked)])
            assert np.all(u[r] == 10.0 * r + n_good) and np.all(vj[r] == -n_good), name
            assert res[r] == 1e-15 * (r + 1), name
        elif len(asked) == len([a for a in asked if a is not None]):  # never reached the final solve
            assert res[r] == np.inf, name
    assert res.dtype == np.float64
    assert conv[names.index("all fast")] and not conv[names.index("never converges")]
    assert not conv[names.index("last solve fails")]


def test_gmin_stepping_starting_values():
    """The first shunt is g_start / factor0, and a factor hovering near 1 is stopped by max_rounds."""
    script = Script([_padded([(True, 3)])])
    gmin_stepping(script, np.arange(1), np.zeros((1, 1)), np.zeros((1, 1)), gmin=1e-5, step_iter=STEP_ITER,
                  final_iter=3, g_start=2e-2, factor0=4.0)
    shunts, *_ = ref_dynamic_gmin(iter(_padded([(True, 3)])), gmin=1e-5, step_iter=STEP_ITER, final_iter=3,
                                  g_start=2e-2, factor0=4.0)
    assert np.allclose(script.asked[0][:-1], shunts[:-1], rtol=1e-12) and script.asked[0][0] == pytest.approx(5e-3)
    script = Script([_padded([(True, 35)])])
    *_, conv, its = gmin_stepping(script, np.arange(1), np.zeros((1, 1)), np.zeros((1, 1)), gmin=1e-12,
                                  step_iter=STEP_ITER, final_iter=3, max_rounds=9)
    assert len(script.asked[0]) == 9 and not conv[0] and its[0] == 9 * 35


def test_source_stepping_follows_ngspice_gillespie_per_example():
    names = list(SCRIPTS)
    script = Script([SCRIPTS[n] for n in names])
    rows = np.arange(len(names)) + 0  # rows as the solver passes them: the examples still stepping
    u0 = np.zeros((len(names), 2))
    vj0 = np.zeros((len(names), 1))
    u, vj, res, conv, its = source_stepping(script, rows, u0, vj0, step_iter=STEP_ITER)
    for r, name in enumerate(names):
        facts, total, ok = ref_gillespie(iter(SCRIPTS[name]), step_iter=STEP_ITER)
        assert np.allclose(script.asked[r], facts, rtol=1e-12, atol=0), name
        assert its[r] == total and bool(conv[r]) is ok, name
        assert script.max_iters[r] == [STEP_ITER] * len(facts), name
        good = np.cumsum([0] + [bool(a) for a, _ in SCRIPTS[name][: len(facts) - 1]])
        assert np.allclose(script.given_u[r], good), name  # each solve from the last good state
        if ok:
            n_good = sum(bool(a) for a, _ in SCRIPTS[name][: len(facts)])
            assert np.all(u[r] == n_good) and np.all(vj[r] == -n_good), name
            assert script.asked[r][-1] == 1.0 and res[r] == 1e-15 * (r + 1), name
    assert res.dtype == np.float64
    assert conv[names.index("all fast")] and not conv[names.index("never converges")]
    # slow steps halve the increment until it is below 1e-7: a failure, as in ngspice
    assert not conv[names.index("all slow")]


def test_source_stepping_first_factor_and_increase():
    script = Script([_padded([(True, 3)])])
    source_stepping(script, np.arange(1), np.zeros((1, 1)), np.zeros((1, 1)), step_iter=STEP_ITER, raise0=0.01)
    asked = script.asked[0]
    assert asked[0] == pytest.approx(0.01) and asked[1] == pytest.approx(0.01 + 0.015)
    assert asked[2] == pytest.approx(0.025 + 0.0225) and asked[-1] == 1.0
    script = Script([_padded([(True, 3)])])
    *_, conv, _ = source_stepping(script, np.arange(1), np.zeros((1, 1)), np.zeros((1, 1)), step_iter=STEP_ITER,
                                  max_rounds=4)
    assert len(script.asked[0]) == 4 and not conv[0]


# -- junction limiting per diode -------------------------------------------------------------
def test_junction_table_of_cards_and_exemptions():
    ideal, d4148 = diode_model("DIDEAL"), diode_model("D1N4148")
    t = JunctionTable.of([ideal, d4148], np.array([1, 0, 1]), exempt=np.array([False, False, True]))
    assert t.vte.tolist() == [d4148.vte(), ideal.vte(), d4148.vte()]
    assert t.vcrit[0] == pytest.approx(d4148.vte() * math.log(d4148.vte() / (math.sqrt(2) * d4148.IS)), rel=1e-15)
    assert 0.7 < t.vcrit[0] < 0.9 and 6e-3 < t.vcrit[1] < 7e-3 and np.isinf(t.vcrit[2])
    assert t.bv[0] == pytest.approx(d4148.breakdown_voltage()) and np.isinf(t.bv[1]) and np.isinf(t.bv[2])
    assert t.vtebrk[0] == pytest.approx(d4148.N * ideal.vte() / ideal.N)  # NBV absent: N V_T
    everything_exempt = JunctionTable.of([d4148], np.zeros(2, int), exempt=np.ones(2, bool))
    v = np.array([[5.0, -300.0]])
    out, lim = everything_exempt.limit(v, np.zeros((1, 2)))
    assert out is v and lim is None


def test_junction_limit_forward_and_breakdown_branches():
    d4148 = diode_model("D1N4148")
    t = JunctionTable.of([d4148], np.zeros(3, int))
    vte, vc, bv, vtb = t.vte[0], t.vcrit[0], t.bv[0], t.vtebrk[0]
    vnew = np.array([[1.5, -bv - 2.0, -bv + 20 * vtb]])  # forward jump; deep breakdown; reverse but not breaking
    vold = np.array([[0.0, -bv + 0.5, -bv + 25 * vtb]])
    out, lim = t.limit(vnew, vold)
    assert out[0, 0] == pytest.approx(vte * math.log(1.5 / vte), rel=1e-14) and lim[0, 0]
    # breakdown: ngspice limits -(v + BV) with the breakdown n V_T, from "off" (vold + BV > 0 -> -(vold+BV) < 0)
    t_new, t_old = -(vnew[0, 1] + bv), -(vold[0, 1] + bv)
    assert t_new > vc and t_old < 0
    assert out[0, 1] == pytest.approx(-(vtb * math.log(t_new / vtb) + bv), rel=1e-14) and lim[0, 1]
    assert out[0, 2] == vnew[0, 2] and not lim[0, 2]  # above the breakdown edge: plain (reverse) Newton
    assert vnew[0, 2] > t._brk_edge[2] > vnew[0, 1]


def test_junction_start_cold_and_warm():
    d4148 = diode_model("D1N4148")
    t = JunctionTable.of([d4148], np.zeros(3, int))
    vc, vte = t.vcrit[0], t.vte[0]
    vj = np.array([[vc - 0.01, vc + 0.01, vc + 25 * vte]])
    assert t.start(vj, warm=False).tolist() == [[vc - 0.01, 0.0, 0.0]]
    assert t.start(vj, warm=True).tolist() == [[vc - 0.01, vc + 0.01, 0.0]]
    edge = np.array([[vc + 20 * vte]])
    assert t.start(edge, warm=True)[0, 0] == edge[0, 0]  # exactly 20 n V_T beyond: kept


# -- the comparisons at their boundaries (ngspice's strict < and >=) ----------------------------
def _one(stepper, answers, **kw):
    script = Script([_padded(answers)])
    out = stepper(script, np.arange(1), np.zeros((1, 1)), np.zeros((1, 1)), step_iter=STEP_ITER, **kw)
    return script.asked[0], out


def test_gmin_last_step_when_the_shunt_is_exactly_factor_times_gmin():
    """At ``gshunt == factor * gmin`` ngspice divides once more (``<``, not ``<=``); here that
    quotient rounds to just above gmin, so it takes one more shunt step before gmin itself."""
    gmin = 3.9161960890916066e-07
    g_start = 10 * (10 * gmin)
    assert g_start / 10 == 10 * gmin and (10 * gmin) / 10 > gmin  # the case: one rounding above
    asked, (*_, conv, its) = _one(gmin_stepping, [(True, 3)], gmin=gmin, final_iter=3, g_start=g_start)
    shunts, total, ok = ref_dynamic_gmin(iter(_padded([(True, 3)])), gmin=gmin, step_iter=STEP_ITER,
                                         final_iter=3, g_start=g_start)
    assert asked == shunts and len(asked) == 4 and asked[2] == gmin and conv[0] and its[0] == total


def test_gmin_a_factor_of_exactly_1_00005_still_retries():
    asked, _ = _one(gmin_stepping, [(False, 40), (True, 3)], gmin=1e-3, final_iter=3, factor0=1.00005,
                    max_rounds=3)
    # "factor < 1.00005" fails; 1.00005 itself retries, at its fourth root
    assert len(asked) == 3 and asked[1] == pytest.approx(1e-2 / 1.00005 ** 0.25, rel=1e-15)


def test_source_step_bounds_at_their_edges():
    # a failed step after the increment had grown past 0.1: the next is capped at 0.01
    asked, _ = _one(source_stepping, [(True, 3)] * 12 + [(False, 40), (True, 3)])
    assert asked[13] - asked[11] == pytest.approx(0.01)
    # an increment of exactly 1e-7 is still taken (ngspice stops below it), after a failure...
    asked, (*_, conv, _) = _one(source_stepping, [(False, 40), (True, 3)], raise0=1e-6)
    assert asked[:2] == [1e-6, 1e-7] and conv[0]
    # ... and after a slow step that halved it
    asked, (*_, conv, _) = _one(source_stepping, [(True, 35), (True, 3)], raise0=2e-7)
    assert asked[:2] == [2e-7, 2e-7 + 1e-7] and conv[0]
    # a failure within 1e-8 of the last good factor ends the homotopy at once (here at 1)
    asked, (*_, conv, _) = _one(source_stepping, [(True, 3), (False, 40)], raise0=1 - 5e-9)
    assert asked == [1 - 5e-9, 1.0] and not conv[0]


# -- junction limiting: ngspice 39's DEVpnjlim, transcribed one scalar at a time ---------------
def ref_devpnjlim(vnew: float, vold: float, vt: float, vcrit: float) -> tuple[float, bool]:
    """src/spicelib/devices/devsup.c (ngspice 39), the forward and the reverse part."""
    if vnew > vcrit and abs(vnew - vold) > vt + vt:
        if vold > 0:
            arg = (vnew - vold) / vt
            if arg > 0:
                return vold + vt * (2 + math.log(arg - 2)), True
            return vold - vt * (2 + math.log(2 - arg)), True
        return vt * math.log(vnew / vt), True
    if vnew < 0:
        arg = -1 * vold - 1 if vold > 0 else 2 * vold - 1
        if vnew < arg:
            return arg, True
    return vnew, False


def test_pnjlim_is_devpnjlim_on_a_grid_and_at_its_boundaries():
    vt, vc = 0.25, 0.7  # 2 vt = 0.5 exactly
    grid = np.array([-7.0, -3.1, -2.0, -1.5, -1.0, -0.6, -0.2, 0.0, 0.3, 0.7, 0.75, 0.9, 1.2, 1.45, 1.5, 1.55,
                     1.7, 2.0, 3.3, 9.0])
    vnew, vold = (a.ravel() for a in np.meshgrid(grid, grid))
    # the boundaries: vnew == vcrit, a change of exactly 2 vt, the reverse bound itself
    vnew = np.concatenate([vnew, [vc, 1.5, 1.0, -3.0, -2.0, 1.5, 1.6]])
    vold = np.concatenate([vold, [-2.0, 1.0, 1.5, 1.0, -0.5, 0.9, 1.0]])
    for reverse in (True, False):
        out, lim = pnjlim(vnew, vold, vt, vc, reverse=reverse)
        assert out.dtype == np.float64
        for k in range(vnew.size):
            want, wl = ref_devpnjlim(float(vnew[k]), float(vold[k]), vt, vc)
            if not reverse and not (vnew[k] > vc and abs(vnew[k] - vold[k]) > 2 * vt):
                want, wl = float(vnew[k]), False  # the forward part only
            assert out[k] == pytest.approx(want, rel=1e-15, abs=1e-15) and bool(lim[k]) is wl, (vnew[k], vold[k])
    # reverse limiting is off unless asked for (the solver's forward junctions)
    out, lim = pnjlim(np.array([-5.0]), np.array([0.0]), vt, vc)
    assert out[0] == -5.0 and not lim[0]


def test_pnjlim_computes_in_float64():
    # float32 inputs are computed in float64 (the limited voltage is not rounded to float32)
    v32, o32 = np.array([1.3, 1.3], np.float32), np.array([-0.2, 0.1], np.float32)  # from off; from on
    out, _ = pnjlim(v32, o32, 0.05, 0.7)
    for k in range(2):
        want, _ = ref_devpnjlim(float(v32[k]), float(o32[k]), 0.05, 0.7)
        assert out.dtype == np.float64 and out[k] == pytest.approx(want, rel=1e-15)
    o32 = o32[1:]
    out, _ = pnjlim(np.array([-3.0]), o32, 0.05, 0.7, reverse=True)
    assert out[0] == -float(o32[0]) - 1.0  # the reverse bound from a float32 vold, in float64


def test_breakdown_limiting_at_and_below_its_edge():
    """A card whose breakdown n V_T is large (NBV = 5): near the edge of the breakdown region
    the reverse bound of DEVpnjlim acts on ``-(v + BV)``."""
    m = DiodeModel(name="DBRK", IS=1e-9, N=1.5, BV=10.0, IBV=1e-3, NBV=5.0)
    t = JunctionTable.of([m], np.zeros(1, int))
    bv, vtb, edge = t.bv[0], t.vtebrk[0], t._brk_edge[0]
    assert edge == pytest.approx(-bv + 10 * vtb) and 10 * vtb > 1.2
    vold = np.array([[-bv - 0.1]])  # in breakdown: -(vold + BV) = 0.1
    out, lim = t.limit(np.array([[-bv + 1.2]]), vold)  # below the edge: breakdown limiting
    assert out[0, 0] == pytest.approx(-(-1.1 + bv), rel=1e-14) and lim[0, 0]  # the reverse bound -0.1 - 1
    out, lim = t.limit(np.array([[edge]]), vold)  # at the edge: forward limiting (nothing to do)
    assert out[0, 0] == edge and not lim[0, 0]
    warm = t.start(np.array([[t.vcrit[0] + 20.5 * t.vte[0]]]), warm=True)
    assert warm[0, 0] == 0.0  # more than 20 n V_T beyond V_crit: counted as off


def test_a_low_breakdown_card_limits_forward_steps_as_forward():
    """BV = 0.2 V with the breakdown region's 10 NBV V_T (0.26 V) reaching above 0 V: the edge is
    clipped at 0 V, so a forward step (here from -0.25 V to +30 mV, past V_crit) gets forward
    limiting, vte ln(v / vte), not the breakdown branch."""
    m = DiodeModel(name="DLOW", IS=1e-9, N=0.02, BV=0.2, IBV=1e-9, NBV=1.0)
    t = JunctionTable.of([m], np.zeros(1, int))
    assert t.bv[0] == pytest.approx(0.2) and -t.bv[0] + 10 * t.vtebrk[0] > 0 and t._brk_edge[0] == 0.0
    out, lim = t.limit(np.array([[0.03]]), np.array([[-0.25]]))
    assert out[0, 0] == pytest.approx(t.vte[0] * math.log(0.03 / t.vte[0]), rel=1e-14) and lim[0, 0]
