"""The NumPy Newton converges wherever ngspice does (issue 13, item 3).

* The cases that plain damped Newton could not solve: an ideal-diode (DIDEAL) clamp rail more
  than ~0.11 V on the forward side of 0 V, a 1e3 S conductance into a DIDEAL clamp, and the
  model API's ``Dense(16, clamp=DiodeClamp(low=0.2))`` on the digits -- each solved and equal
  to ngspice's operating point at tight tolerances.
* The aids themselves: ngspice's ``DEVpnjlim`` to the letter, gmin and source stepping each
  solving a case on its own, and the aids named in the result.
* A property test: random legal circuits (clamp rails anywhere in +/-2 V, conductances over 12
  decades, amplifiers, DIDEAL and D1N4148 clamps, differing sizes): Newton converges and
  agrees with ngspice to 1e-6 V, or both refuse. A bounded, derandomised run by default; a
  larger sweep behind ``-m slow``.

:func:`legal_circuit` is also the corpus of ``benchmarks/newton_convergence.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analog_eqprop.circuits import circuit_from_graph, drn_circuit, kendall_circuit
from analog_eqprop.circuits.elements import diode_model
from analog_eqprop.errors import ConvergenceError
from analog_eqprop.solvers.backends import NumpyBackend
from analog_eqprop.solvers.continuation import JunctionTable, pnjlim, vcrit
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.solvers.newton import NewtonSolver, solve_dc
from analog_eqprop.solvers.ngspice_shared import ngspice_available

BOUND = 1e-6  # V, Newton vs ngspice at reltol=1e-6 vntol=1e-9


def _ngspice(c, X, **kw):
    from analog_eqprop.solvers.ngspice_backend import TIGHT_OPTIONS, NgspiceBackend

    return NgspiceBackend(options=TIGHT_OPTIONS, **kw).operating_point(MNASystem(c), c.edge_g, X)


def _issue_graph(g_xh: float = 1e-5, rail: float = 0.2) -> nx.Graph:
    G = nx.Graph()
    G.add_node("x", role="input")
    G.add_node("h", role="hidden", clamp_low=rail, diode="DIDEAL")
    G.add_node("y", role="output")
    G.add_edge("x", "h", weight=g_xh)
    G.add_edge("h", "y", weight=1e-5)
    G.add_edge("x", "y", weight=1e-5)
    return G


# -- the issue's cases ----------------------------------------------------------------------
@pytest.mark.parametrize("rail", [0.12, 0.2, 1.0, 2.0])
def test_ideal_clamp_rail_far_forward_converges_without_fallbacks(rail):
    c = circuit_from_graph(_issue_graph(rail=rail))
    op = solve_dc(c, c.edge_g, [[0.0], [0.5], [-1.0]])
    assert op.status == "converged" and op.extra["aids"] == []
    assert op.iterations <= 40, op.iterations  # the old iteration crept at 0.5 mV per step: >= 200
    # the clamp holds h up to (a few mV below) the rail
    assert np.all(op.voltages[:, 0] > rail - 0.02)


def test_1e3_siemens_into_an_ideal_clamp_converges():
    c = circuit_from_graph(_issue_graph(g_xh=1e3))
    op = solve_dc(c, c.edge_g, [[0.0], [-2.0], [0.19]])
    assert op.status == "converged" and op.residual.max() < 1e-6  # amperes flow: 1e-9 of them


@pytest.mark.ngspice
@pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")
@pytest.mark.parametrize("g_xh, rail", [(1e-5, 0.2), (1e3, 0.2), (1e-5, 1.5), (1e3, -0.7)])
def test_issue_cases_match_ngspice(g_xh, rail):
    c = circuit_from_graph(_issue_graph(g_xh=g_xh, rail=rail))
    X = np.array([[0.0], [0.5], [-1.0], [2.0]])
    ours = solve_dc(c, c.edge_g, X)
    theirs = _ngspice(c, X)
    assert np.abs(ours.voltages - theirs.voltages).max() <= BOUND


def test_model_api_dense_clamp_low_0_2_evaluates_on_digits():
    from analog_eqprop.api import Dense, DiodeClamp, Input, Sequential
    from analog_eqprop.data import load_digits

    data = load_digits()
    model = Sequential([Input(64), Dense(16, clamp=DiodeClamp(low=0.2)), Dense(10)], seed=0)
    out = model.evaluate(data)  # raised ConvergenceError on all 360 examples before
    assert 0.0 <= out["accuracy"] <= 1.0 and np.isfinite(out["cost"])


def test_nodeset_aid_of_the_ngspice_backend_still_gets_the_twin_solution():
    from analog_eqprop.solvers.ngspice_backend import _nodesets

    c = circuit_from_graph(_issue_graph())
    X = np.array([[0.0], [1.0]])
    start = _nodesets(c, c.edge_g, X, 0.0, None, None, None)
    assert np.allclose(start, solve_dc(c, c.edge_g, X).voltages)


# -- the aids -------------------------------------------------------------------------------
def test_pnjlim_is_ngspice_devpnjlim():
    vt, vc = 0.05, 0.7
    # transcribed from ngspice 39 src/spicelib/devices/devsup.c, one branch per case
    cases = [(0.5, 0.0, 0.5, False),  # below vcrit: untouched
             (0.9, 0.0, vt * np.log(0.9 / vt), True),  # from off: vt ln(vnew / vt)
             (1.5, 0.6, 0.6 + vt * (2 + np.log((1.5 - 0.6) / vt - 2)), True),  # rising
             (0.75, 1.2, 1.2 - vt * (2 + np.log(2 - (0.75 - 1.2) / vt)), True),  # falling above vcrit
             (0.75, 0.72, 0.75, False)]  # within 2 vt
    for vnew, vold, want, lim in cases:
        got, flag = pnjlim(np.array([vnew]), np.array([vold]), vt, vc)
        assert abs(got[0] - want) < 1e-15 and bool(flag[0]) is lim, (vnew, vold)
    # the reverse bound ngspice applies (2 vold - 1 from off, -vold - 1 from on)
    got, flag = pnjlim(np.array([-3.0, -3.0, -0.5]), np.array([0.0, 0.5, 0.0]), vt, vc, reverse=True)
    assert np.allclose(got, [-1.0, -1.5, -0.5]) and flag.tolist() == [True, True, False]


def test_vcrit_is_ngspice_diotemp():
    m = diode_model("DIDEAL")
    assert abs(vcrit(m.vte(), m.IS) - m.vte() * np.log(m.vte() / (np.sqrt(2) * m.IS))) < 1e-18
    t = JunctionTable.of([m], np.zeros(1, int))
    assert 6e-3 < t.vcrit[0] < 7e-3 and np.isinf(t.bv[0])


@pytest.mark.parametrize("aid", ["gmin", "source"])
@pytest.mark.parametrize("case", ["ideal", "1n4148", "1n4148-internal-nodes"])
def test_each_fallback_solves_what_plain_newton_gives_up_on(aid, case):
    if case == "ideal":
        c = circuit_from_graph(_issue_graph(g_xh=1e3, rail=1.5))
        X = np.array([[0.0], [-1.0]])
    else:
        c = kendall_circuit(8, 4, 2, seed=0, clamp=(0.3, -0.3))  # conducting clamps: 5 iterations
        X = np.random.default_rng(0).uniform(-1, 1, (2, 8))
    want = solve_dc(c, c.edge_g, X).state
    # two plain iterations are not enough; the fall-back alone must get there
    solver = NewtonSolver(max_iter=2, continuation=(aid,), eliminate_rs=case != "1n4148-internal-nodes")
    op = solve_dc(c, c.edge_g, X, solver=solver)
    assert op.status == "converged"
    assert np.abs(op.state - want).max() < 1e-9
    names = {"gmin": "gmin stepping", "source": "source stepping"}
    assert [k for k, _ in op.extra["aids"]] == [0, 1]
    assert all(t[-1] == names[aid] and t[0].startswith("as configured") for _, t in op.extra["aids"])


def test_without_fallbacks_non_convergence_is_raised_with_what_was_tried():
    c = circuit_from_graph(_issue_graph(g_xh=1e3, rail=1.5))
    with pytest.raises(ConvergenceError, match="did not converge"):
        solve_dc(c, c.edge_g, [[0.0]], solver=NewtonSolver(max_iter=2, continuation=()))
    op = solve_dc(c, c.edge_g, [[0.0]], solver=NewtonSolver(max_iter=2, continuation=(), throw=False))
    assert op.status == "max_iter" and not op.converged[0]
    with pytest.raises(ConvergenceError, match="tried, in order: as configured .*gmin stepping"):
        solve_dc(c, c.edge_g, [[0.0]], solver=NewtonSolver(max_iter=2, continuation=("gmin",), step_iter=1))


def test_a_batch_with_one_hard_example_reports_aids_for_that_example_only():
    c = circuit_from_graph(_issue_graph(g_xh=1e3, rail=1.5))
    X = np.array([[2.0], [0.0], [1.9]])  # x above the rail: the clamp is off, 3 iterations; at 0 V: 7
    op = solve_dc(c, c.edge_g, X, solver=NewtonSolver(max_iter=5))
    assert op.status == "converged" and [k for k, _ in op.extra["aids"]] == [1]
    assert op.extra["example_iterations"][[0, 2]].tolist() == [3, 3]
    assert np.abs(op.voltages - solve_dc(c, c.edge_g, X).voltages).max() < 1e-9


def test_homotopies_end_when_every_step_fails_or_crawls():
    from analog_eqprop.solvers.continuation import gmin_stepping, source_stepping

    calls = []

    def run(rows, u, vj, *, gshunt, lam, max_iter, ok=False, it=50):
        calls.append(rows.size)
        n = rows.size
        return u, vj, np.zeros(n), np.full(n, ok), np.full(n, it)

    rows, u, vj = np.arange(3), np.zeros((3, 2)), np.zeros((3, 1))
    for stepper, kw in ((gmin_stepping, dict(gmin=1e-12, final_iter=5)), (source_stepping, {})):
        calls.clear()
        *_, conv, its = stepper(run, rows, u, vj, step_iter=50, **kw)
        assert not conv.any() and 1 < len(calls) < 20  # every step fails: the step shrinks to nothing
    calls.clear()  # every step succeeds, but at the iteration limit: steps shrink towards 1; bounded
    *_, conv, _ = gmin_stepping(lambda *a, **k: run(*a, **k, ok=True), rows, u, vj, gmin=1e-12, step_iter=50,
                                final_iter=5, max_rounds=40)
    assert len(calls) == 40 and not conv.any()


def test_branch_current_in_deep_breakdown_solves_the_junction():
    from analog_eqprop.circuits.elements import diode_current
    from analog_eqprop.solvers.newton import branch_current

    m = diode_model("D1N4148")  # BV 110 V, RS 0.6458 ohm
    v = np.array([-224.0, -150.0, -111.0, 2.0])
    i, g, vj = branch_current(v, m)
    i_d, _ = diode_current(vj, m)
    assert np.allclose(i, i_d, rtol=1e-12) and np.allclose(vj + m.RS * i, v, rtol=0, atol=1e-12)
    assert abs(i[0] + (224 - 110) / m.RS) < 2.0  # ~ -(|v| - BV) / RS: a resistor, not 1e295 A
    assert np.all((g > 0) & (g <= 1 / m.RS))


def test_solver_settings_are_checked():
    from analog_eqprop.errors import ConfigError

    assert NewtonSolver(continuation=["source"]).continuation == ("source",)
    for bad in [dict(continuation="gmin"), dict(continuation=("gmin", "homotopy")), dict(max_iter=0),
                dict(step_iter=-1)]:
        with pytest.raises(ConfigError, match="NewtonSolver"):
            NewtonSolver(**bad)


def test_warm_start_at_the_solution_takes_one_or_two_iterations():
    c = kendall_circuit(16, 6, 3, seed=0, clamp=(0.05, -0.05))  # 1N4148 clamps that conduct
    X = np.random.default_rng(1).random((5, 16))
    op = solve_dc(c, c.edge_g, X)
    again = solve_dc(c, c.edge_g, X, u0=op.state)
    assert again.iterations <= 2 and np.abs(again.state - op.state).max() < 1e-12
    c = circuit_from_graph(_issue_graph(g_xh=1e3))
    op = solve_dc(c, c.edge_g, [[0.0]])
    assert solve_dc(c, c.edge_g, [[0.0]], u0=op.state).iterations <= 2


def test_both_formulations_agree_with_conducting_rs_diodes():
    c = kendall_circuit(8, 4, 2, seed=0, clamp=(1.5, -1.5), amplifier=6.0)
    X = np.random.default_rng(0).uniform(-1, 1, (4, 8))
    a = solve_dc(c, c.edge_g, X)
    b = solve_dc(c, c.edge_g, X, solver=NewtonSolver(eliminate_rs=False))
    assert np.abs(a.state - b.state).max() < 1e-10


# -- random legal circuits ------------------------------------------------------------------
@dataclass(frozen=True)
class Knobs:
    """The shape of a random legal circuit; everything else comes from ``seed``."""

    n_in: int = 2
    hidden: tuple[int, ...] = (3,)
    n_out: int = 2
    g_decade: float = -5.0  #: log10 of the smallest conductance [S]
    g_span: float = 2.0  #: decades the conductances span
    diodes: str = "DIDEAL"  #: "DIDEAL", "D1N4148" or "mixed"
    clamp_p: float = 0.8  #: chance a node gets each clamp
    amplifier: float | None = None  #: gain of an amplifier on every node of the amplified layers
    amp_layers: int = 1  #: how many hidden layers (from the first) are amplified
    amp_back: str = "inverse"
    input_gain: float = 1.0  #: volts per unit feature, times a random +/-1 or +/-2
    lateral: bool = False
    seed: int = 0


def legal_circuit(k: Knobs):
    """A circuit any user could build: inputs and +/-2 V bias rails, layered (optionally with
    lateral edges), clamp rails anywhere in +/-2 V (``low < high`` where a node has both, as
    :class:`~analog_eqprop.api.DiodeClamp` asks), conductances log-uniform over
    ``[10^g_decade, 10^(g_decade + g_span)]`` S, optional amplifiers. Returns ``(circuit, X)``,
    X three input rows in [-1, 1]."""
    rng = np.random.default_rng(k.seed)
    G = nx.Graph()
    ins = [f"x{i}" for i in range(k.n_in)]
    for i, n in enumerate(ins):
        G.add_node(n, role="input", feature=i, gain=k.input_gain * float(rng.choice([-2.0, -1.0, 1.0, 2.0])))
    G.add_node("vb0", role="bias", voltage=float(rng.uniform(0.2, 2.0)))
    G.add_node("vb1", role="bias", voltage=float(rng.uniform(-2.0, -0.2)))
    layers = [ins]
    for li, width in enumerate(k.hidden, start=1):
        names = [f"h{li}_{i}" for i in range(width)]
        for n in names:
            attrs: dict = {"role": "hidden", "layer": li}
            lo, hi = np.sort(rng.uniform(-2.0, 2.0, 2))
            if rng.random() < k.clamp_p:
                attrs["clamp_low"] = float(lo)
            if rng.random() < k.clamp_p:
                attrs["clamp_high"] = float(hi)
            if "clamp_low" in attrs or "clamp_high" in attrs:
                attrs["diode"] = k.diodes if k.diodes != "mixed" else str(rng.choice(["DIDEAL", "D1N4148"]))
            if k.amplifier and li <= k.amp_layers:
                attrs.update(amplifier=float(k.amplifier), amplifier_back=k.amp_back)
            G.add_node(n, **attrs)
        layers.append(names)
    outs = [f"y{i}" for i in range(k.n_out)]
    for i, n in enumerate(outs):
        attrs = {"role": "output", "layer": len(k.hidden) + 1, "output_index": i}
        if rng.random() < k.clamp_p / 2:  # outputs are mostly linear
            attrs.update(clamp_low=float(rng.uniform(-2.0, 0.0)), diode="DIDEAL")
        G.add_node(n, **attrs)
    layers.append(outs)
    for a, b in zip(layers[:-1], layers[1:]):
        G.add_edges_from((u, v) for u in a for v in b)
    if k.lateral:
        for lay in layers[1:]:
            G.add_edges_from((lay[i], lay[j]) for i in range(len(lay)) for j in range(i + 1, len(lay))
                             if rng.random() < 0.5)
    free = [n for lay in layers[1:] for n in lay]
    for bias in ("vb0", "vb1"):
        G.add_edge(bias, free[int(rng.integers(len(free)))])
        G.add_edges_from((bias, n) for n in free if rng.random() < 0.5)
    for u, v in G.edges():
        G.edges[u, v]["weight"] = float(10 ** (k.g_decade + k.g_span * rng.random()))
    c = circuit_from_graph(G, name=f"legal-{k.seed}")
    return c, rng.uniform(-1.0, 1.0, (3, k.n_in))


knobs = st.builds(
    Knobs,
    n_in=st.integers(1, 4),
    hidden=st.lists(st.integers(1, 8), min_size=1, max_size=3).map(tuple),
    n_out=st.integers(1, 3),
    g_decade=st.floats(-9.0, 1.0),
    g_span=st.floats(0.0, 12.0),
    diodes=st.sampled_from(["DIDEAL", "D1N4148", "mixed"]),
    clamp_p=st.sampled_from([0.5, 1.0]),
    amplifier=st.one_of(st.none(), st.floats(0.5, 8.0)),
    amp_layers=st.integers(1, 2),
    amp_back=st.sampled_from(["inverse", "reciprocal"]),
    input_gain=st.sampled_from([1.0, 5.0]),
    lateral=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
).filter(lambda k: k.g_decade + k.g_span <= 3.0)  # conductances within [1e-9, 1e3] S: 12 decades


def check_against_ngspice(k: Knobs) -> str:
    """Newton converges and agrees with ngspice to BOUND, or both refuse; the outcome's name."""
    c, X = legal_circuit(k)
    try:
        ours = NumpyBackend().operating_point(MNASystem(c), c.edge_g, X)
    except ConvergenceError:
        ours = None
    try:
        theirs = _ngspice(c, X, per_analysis=1)
    except ConvergenceError:
        theirs = None
    if ours is None or theirs is None:
        assert ours is None and theirs is None, f"{k}: Newton {'refused' if ours is None else 'converged'}, " \
                                                f"ngspice {'refused' if theirs is None else 'converged'}"
        return "both refused"
    err = float(np.abs(ours.voltages - theirs.voltages).max())
    assert err <= BOUND, f"{k}: max |V_newton - V_ngspice| = {err:.3g} V"
    return "agree"


@pytest.mark.ngspice
@pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")
@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(knobs)
def test_random_legal_circuits_converge_and_agree_with_ngspice(k):
    check_against_ngspice(k)


@pytest.mark.slow
@pytest.mark.ngspice
@pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")
@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(knobs)
def test_random_legal_circuits_sweep(k):
    check_against_ngspice(k)


def test_common_circuits_take_as_many_iterations_as_before():
    # measured with the damped Newton this replaced: drn 12, kendall 3 (the batch's slowest example)
    from analog_eqprop.data import load_digits

    X = load_digits().x_test[:40]
    dc = drn_circuit([64, 32, 10], seed=0)
    assert solve_dc(dc, dc.edge_g, X).iterations <= 12
    kc = kendall_circuit(64, 16, 10, seed=0)
    assert solve_dc(kc, kc.edge_g, X).iterations <= 3
