"""The NumPy Newton's contracts that its mutation run (issue 17 item 6) found untested.

* ``NewtonSolver.residual``: the residual-only path (``jac=False``) is the same residual as the
  Jacobian path, for diodes into rails and internal nodes and for transistors; it vanishes at the
  operating point; the Jacobian is the residual's derivative (finite differences).
* The result object: status, timing, the convergence report (``iterations``,
  ``example_iterations``, ``aids``), internal nodes, the stopping rule (an example stops at the
  first iteration whose step and KCL residual are within tolerance, never earlier or later).
* The pieces: the singular-Jacobian fall-back of the batched solve, the one-thread BLAS context,
  the settings' checks, the nudged and warm-started paths of ``solve_dc``.
"""

from __future__ import annotations

import time

import networkx as nx
import numpy as np
import pytest

from analog_eqprop.circuits import Circuit, circuit_from_graph, drn_circuit, kendall_circuit
from analog_eqprop.circuits.elements import diode_model
from analog_eqprop.elements import Conductances, Diodes, Outputs, Sources
from analog_eqprop.errors import ConfigError, DataError
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.solvers.newton import NewtonSolver, _batched_solve, single_thread_blas, solve_dc
from test_mosfet import transistor_circuit  # tests/ is on the path (rootdir conftest)
from test_newton_convergence import _issue_graph


def _full_system(c, x):
    """``(system, G, b, v_src)`` of the full (internal nodes included) formulation."""
    sysm = MNASystem(c)
    v_src = c.source_voltages(np.atleast_2d(x))
    return sysm, sysm.conductance_matrix(c.edge_g), sysm.source_drive(c.edge_g, v_src), v_src


def _clamped():
    """1N4148 clamps (series resistance: internal nodes) that conduct, and rails as terminals."""
    return kendall_circuit(6, 4, 2, seed=0, clamp=(0.1, -0.1))


def _diode_pairs(model: str = "D1N4148") -> Circuit:
    """Diodes between two free nodes (h0 -> h1 -> y0; y0 -> ground ideal), which no builder makes but a
    circuit's element tables may: the Jacobian's off-diagonal diode stamps."""
    nf = 3
    src = Sources(labels=("x0", "x1", "vdd"), role=("input", "input", "bias"), feature=[0, 1, -1], gain=[1, 1, 0],
                  offset=[0, 0, 1.0])
    cond = Conductances(a=[nf, nf + 1, 0, 1, 2, 2], b=[0, 1, nf + 2, -1, -1, nf + 2],
                        g=[1e-4, 2e-4, 5e-5, 1e-5, 3e-5, 1e-5], layer=[0, 0, 0, 1, 1, 1])
    # and ideal diodes from and into the first source (x0): the first column past the unknowns
    d = Diodes(anode=[0, 1, 2, nf, 1], cathode=[1, 2, -1, 0, nf], model=[0, 0, 1, 1, 1],
               models=(diode_model(model), diode_model("DIDEAL")))
    return Circuit("pairs", ("h0", "h1", "y0"), ("hidden", "hidden", "output"), [0, 0, 1], n_features=2,
                   target_on=0.2, target_off=-0.2,
                   elements=dict(source=src, conductance=cond, diode=d, nudge=Outputs(pos=[2], neg=[-1])))


def _transistors_and_rs_clamps(diode: str = "D1N4148", vb: float = -1.0) -> Circuit:
    """Transistor edges (bulk junctions) beside a 1N4148-clamped node (internal nodes): the
    junctions' indices in the reduced unknowns (DIDEAL: clamps limited beside transistors)."""
    G = nx.Graph()
    G.add_node("x0", role="input")
    G.add_node("x1", role="input")
    G.add_node("vb", role="bias", voltage=vb)
    G.add_node("h0", role="hidden", layer=1, clamp_high=0.3, clamp_low=-0.4, diode=diode)
    G.add_node("h1", role="hidden", layer=1)
    G.add_node("y0", role="output", layer=2)
    G.add_edge("x0", "h0", element="transistor", gate=1.5, bulk="vb")
    G.add_edge("x1", "h1", element="transistor", gate=1.2, bulk="vb")
    G.add_edge("x0", "h1", weight=2e-5)
    G.add_edge("h0", "y0", weight=1e-5)
    G.add_edge("h1", "y0", weight=1e-5)
    G.add_edge("vb", "y0", weight=1e-5)
    return circuit_from_graph(G)


@pytest.mark.parametrize("make", [_diode_pairs, lambda: _diode_pairs("DIDEAL"), _transistors_and_rs_clamps])
def test_both_formulations_solve_diodes_between_free_nodes_and_transistors_beside_rs(make):
    c = make()
    X = 3.0 * np.random.default_rng(3).uniform(-1, 1, (4, c.n_features))
    a = solve_dc(c, c.edge_g, X)
    b = solve_dc(c, c.edge_g, X, solver=NewtonSolver(eliminate_rs=False))
    assert np.abs(a.state - b.state).max() < 1e-10
    sysm, G, bb, v_src = _full_system(c, X)
    r = NewtonSolver().residual(sysm, G, bb, a.state, v_src, jac=False)
    assert np.abs(r).max() < 1e-9 * (np.abs(bb).max() + np.abs(a.state @ G.T).max())


# -- the residual --------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["clamped", "ideal", "pairs", "ideal-pairs", "mosfet"])
def test_residual_only_path_is_the_jacobian_paths_residual(which):
    c = {"clamped": _clamped, "ideal": lambda: drn_circuit([3, 4, 2], seed=0), "pairs": _diode_pairs,
         "ideal-pairs": lambda: _diode_pairs("DIDEAL"), "mosfet": transistor_circuit}[which]()
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (3, c.n_features))
    sysm, G, b, v_src = _full_system(c, x)
    solver = NewtonSolver()
    # near the operating point: conducting junctions, but no exp overflow (DIDEAL: n V_T ~ 0.5 mV)
    u = solve_dc(c, c.edge_g, x).state + rng.uniform(-2e-4, 2e-4, (3, sysm.n))
    r_only = solver.residual(sysm, G, b, u, v_src, jac=False)
    r, J, vd = solver.residual(sysm, G, b, u, v_src)
    assert r_only.shape == r.shape == (3, sysm.n) and J.shape == (3, sysm.n, sysm.n)
    assert np.allclose(r_only, r, rtol=1e-13, atol=1e-18)
    # the diode currents and the transistors' really are in it (not just G u - b)
    assert np.abs(r - (u @ G.T - b)).max() > 1e-9
    if c.n_diodes:
        assert vd.shape == (3, c.n_diodes)
    # J is dr/du (central differences of the residual-only path)
    h = 1e-8
    for k in range(3):
        fd = np.stack([(solver.residual(sysm, G, b, u[[k]] + h * e, v_src[[k]], jac=False)
                        - solver.residual(sysm, G, b, u[[k]] - h * e, v_src[[k]], jac=False))[0] / (2 * h)
                       for e in np.eye(sysm.n)], axis=1)
        assert np.allclose(J[k], fd, rtol=1e-5, atol=1e-9 * np.abs(J[k]).max())


def test_residual_takes_the_trained_columns_of_other_kinds():
    """``values`` (the transistors' gate voltages, as ``implicit_gradient`` passes them) in both paths."""
    m = transistor_circuit()
    mos = m.element("mosfet")
    vg = np.asarray(mos.vg, dtype=float) + 0.3
    rebuilt = m.with_element(mos.replace(vg=vg))
    x = np.random.default_rng(7).uniform(-1, 1, (2, m.n_features))
    sysm, G, b, v_src = _full_system(m, x)
    u = solve_dc(rebuilt, rebuilt.edge_g, x).state
    solver = NewtonSolver()
    want = solver.residual(MNASystem(rebuilt), G, b, u, v_src, jac=False)
    assert np.abs(want).max() < 1e-15  # A: the rebuilt circuit's operating point (the drive is the transistors')
    for r in (solver.residual(sysm, G, b, u, v_src, jac=False, values={"mosfet": vg}),
              solver.residual(sysm, G, b, u, v_src, values={"mosfet": vg})[0]):
        assert np.allclose(r, want, rtol=1e-12, atol=1e-20)
    assert np.abs(solver.residual(sysm, G, b, u, v_src, jac=False)).max() > 1e-9  # A: the circuit's own gates


@pytest.mark.parametrize("which", ["clamped", "mosfet"])
def test_residual_vanishes_at_the_operating_point(which):
    c = _clamped() if which == "clamped" else transistor_circuit()
    x = np.random.default_rng(1).uniform(-1, 1, (4, c.n_features))
    op = solve_dc(c, c.edge_g, x)
    sysm, G, b, v_src = _full_system(c, x)
    u = op.state
    scale = np.abs(b).max() + np.abs(u @ G.T).max()
    for r in (NewtonSolver().residual(sysm, G, b, u, v_src, jac=False),
              NewtonSolver().residual(sysm, G, b, u, v_src)[0]):
        assert np.abs(r).max() < 1e-9 * scale
    # ... and not away from it
    assert np.abs(NewtonSolver().residual(sysm, G, b, u + 0.01, v_src, jac=False)).max() > 1e-6 * scale


# -- the result object -----------------------------------------------------------------------
def test_result_reports_status_time_and_both_node_sets():
    c = _clamped()
    x = np.random.default_rng(2).uniform(-1, 1, (3, c.n_features))
    t0 = time.perf_counter()
    op = solve_dc(c, c.edge_g, x)
    wall = time.perf_counter() - t0
    assert op.status == "converged" and op.converged.tolist() == [True] * 3
    assert 0.0 < op.seconds <= wall
    assert op.voltages.shape == (3, c.n_free) and op.internal.shape == (3, c.n_diodes)
    assert isinstance(op.iterations, int) and op.iterations == op.extra["example_iterations"].max()
    assert op.extra["aids"] == [] and op.residual.shape == (3,) and op.residual.dtype == np.float64
    # the internal nodes are the anodes less RS i: inside the clamps' rails' span
    assert np.all(np.isfinite(op.internal)) and np.abs(op.internal).max() < 2.0
    # a linear circuit: one step, the same report
    lin = drn_circuit([3, 4, 2], seed=0, clamp=None)
    op = solve_dc(lin, lin.edge_g, x[:, :3])
    assert op.status == "converged" and op.iterations == 1 and op.extra["example_iterations"].tolist() == [1] * 3
    assert op.internal.shape == (3, 0) and 0.0 < op.seconds
    assert op.extra["aids"] == [] and op.converged.dtype == bool and op.converged.all()
    assert op.extra["example_iterations"].dtype == np.int64
    # its residual is the direct solve's own, per example: rounding, far below the drive
    sysm, G, b, _ = _full_system(lin, x[:, :3])
    r = np.max(np.abs(op.voltages @ G.T - b), axis=1)
    assert op.residual.shape == (3,) and np.allclose(op.residual, r, rtol=1e-6, atol=0)
    assert op.residual.max() < 1e-12 * np.abs(b).max()


def test_max_iter_status_and_report():
    G = nx.Graph()
    G.add_node("x", role="input")
    G.add_node("h", role="hidden", clamp_low=1.5, diode="DIDEAL")
    G.add_node("y", role="output")
    G.add_edge("x", "h", weight=1e3)
    G.add_edge("h", "y", weight=1e-5)
    G.add_edge("x", "y", weight=1e-5)
    c = circuit_from_graph(G)
    op = solve_dc(c, c.edge_g, [[0.0], [2.0]], solver=NewtonSolver(max_iter=2, continuation=(), throw=False))
    assert op.status == "max_iter" and op.converged.tolist() == [False, False]
    assert op.extra["example_iterations"].tolist() == [2, 2] and op.iterations == 2
    assert op.residual[~op.converged].min() > 0.0


def _stopping_rule_holds(c, x, solver):
    """Check that each example stopped at the first iteration where the documented test held:
    the step within ``reltol |u| + vntol`` and the KCL residual within ``abstol`` plus rounding."""
    op = solve_dc(c, c.edge_g, x, solver=solver)
    its = op.extra["example_iterations"]
    assert op.status == "converged" and op.extra["aids"] == []
    for k, n_it in enumerate(its):
        xk = x[[k]]
        prev = [solve_dc(c, c.edge_g, xk, solver=NewtonSolver(max_iter=j, continuation=(), throw=False))
                for j in range(1, int(n_it) + 1)]
        assert all(not p.converged[0] for p in prev[:-1]) and prev[-1].converged[0]
        assert np.abs(prev[-1].voltages - op.voltages[[k]]).max() < 1e-10  # (the batch shares chord LUs)
    return op


@pytest.mark.parametrize("case", ["drn", "clamped", "mosfet"])
def test_each_example_stops_at_the_first_converged_iteration(case):
    c = {"drn": lambda: drn_circuit([3, 5, 2], seed=1), "clamped": _clamped, "mosfet": transistor_circuit}[case]()
    x = np.random.default_rng(3).uniform(-1, 1, (3, c.n_features))
    op = _stopping_rule_holds(c, x, NewtonSolver())
    assert op.iterations >= 2  # a nonlinear circuit: the rule was exercised


# -- solve_dc's arguments ------------------------------------------------------------------------
def test_solve_dc_nudges_with_beta_target_and_ref_and_takes_element_values():
    c = _clamped()
    x = np.random.default_rng(4).uniform(-1, 1, (2, c.n_features))
    t = np.eye(2)[[0, 1]]
    free = solve_dc(c, c.edge_g, x)
    # a target without beta is the free phase (beta defaults to 0)
    assert np.abs(solve_dc(c, c.edge_g, x, target=t, ref=free.voltages).state - free.state).max() < 1e-12
    beta = 1e-7  # A/V: a weak nudge beside ~1e-5 S
    up = solve_dc(c, c.edge_g, x, beta=beta, target=t, ref=free.voltages)
    dn = solve_dc(c, c.edge_g, x, beta=-beta, target=t, ref=free.voltages)
    move = up.voltages - free.voltages
    assert np.abs(move).max() > 1e-6
    assert np.abs((up.voltages + dn.voltages) / 2 - free.voltages).max() < 1e-3 * np.abs(move).max()  # odd in beta
    # the outputs move towards the target voltages (the cost falls)
    tv = c.targets(t)
    assert np.sum((c.outputs(up.voltages) - tv) ** 2) < np.sum((c.outputs(free.voltages) - tv) ** 2)
    # current mode: the injected currents are set by ref, not by the state the solve finds
    other = solve_dc(c, c.edge_g, x, beta=beta, target=t, ref=free.voltages * 1.5)  # (not a common shift)
    assert np.abs(other.voltages - up.voltages).max() > 1e-9
    # a system built once gives the same answer
    again = solve_dc(c, c.edge_g, x, beta=beta, target=t, ref=free.voltages, system=MNASystem(c))
    assert np.abs(again.state - up.state).max() < 1e-13
    # the trained columns of other kinds: the transistors' gate voltages
    m = transistor_circuit()
    xm = np.random.default_rng(5).uniform(-1, 1, (2, m.n_features))
    mos = m.element("mosfet")
    vg = np.asarray(mos.vg, dtype=float) + 0.3
    via_values = solve_dc(m, m.edge_g, xm, values={"mosfet": vg})
    rebuilt = m.with_element(mos.replace(vg=vg))
    assert np.abs(via_values.state - solve_dc(rebuilt, rebuilt.edge_g, xm).state).max() < 1e-10
    assert np.abs(via_values.state - solve_dc(m, m.edge_g, xm).state).max() > 1e-4


def test_gmin_is_a_conductance_across_every_junction():
    c = _diode_pairs("DIDEAL")
    x = np.random.default_rng(3).uniform(-1, 1, (4, c.n_features))
    sysm, G, b, v_src = _full_system(c, x)
    big = NewtonSolver(gmin=1e-2)
    op = solve_dc(c, c.edge_g, x, solver=big)
    assert np.abs(op.state - solve_dc(c, c.edge_g, x).state).max() > 0.1
    assert np.abs(big.residual(sysm, G, b, op.state, v_src, jac=False)).max() < 1e-12
    assert np.abs(NewtonSolver().residual(sysm, G, b, op.state, v_src, jac=False)).max() > 1e-4


@pytest.mark.parametrize("make", [lambda: drn_circuit([3, 5, 2], seed=1), _clamped], ids=["full", "reduced"])
def test_a_float32_warm_start_gives_the_float64_answer(make):
    c = make()  # ideal diodes: the full formulation's start; 1N4148 (RS): the reduced formulation's
    x = np.random.default_rng(8).uniform(-1, 1, (3, c.n_features))
    sysm = MNASystem(c)
    v_src = c.source_voltages(x)
    ref = NewtonSolver().solve(sysm, c.edge_g, v_src)
    u0 = (ref.state + 0.01).astype(np.float32)
    for start in (u0, u0[:, : c.n_free]):
        op = NewtonSolver().solve(sysm, c.edge_g, v_src, u0=start)
        assert op.voltages.dtype == np.float64 and np.abs(op.state - ref.state).max() < 1e-12


def test_an_iterate_that_overflows_stops_its_example_quietly():
    """A start 1 kV off on an amplified net overflows in the first steps: the example leaves plain Newton
    (no warning raised, even where warnings are errors) and gmin stepping solves it."""
    import warnings

    c = kendall_circuit(8, 4, 2, seed=0, clamp=(0.3, -0.3), amplifier=8.0, amplifier_back="reciprocal")
    x = np.random.default_rng(3).uniform(-1, 1, (2, c.n_features))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        op = solve_dc(c, c.edge_g, x, u0=np.full((2, MNASystem(c).n), -1000.0), solver=NewtonSolver(eliminate_rs=False))
    assert op.status == "converged" and [t[-1] for _, t in op.extra["aids"]] == ["gmin stepping"] * 2
    assert np.abs(op.state - solve_dc(c, c.edge_g, x).state).max() < 1e-12


def test_warm_start_from_the_free_nodes_or_the_full_state():
    c = _clamped()
    x = np.random.default_rng(6).uniform(-1, 1, (3, c.n_features))
    op = solve_dc(c, c.edge_g, x)
    for solver in (NewtonSolver(), NewtonSolver(eliminate_rs=False)):
        for u0 in (op.state, op.voltages):
            warm = solve_dc(c, c.edge_g, x, u0=u0, solver=solver)
            assert warm.iterations <= 2 and np.abs(warm.state - op.state).max() < 1e-11
        cold = solve_dc(c, c.edge_g, x, solver=solver)
        assert cold.iterations > 2


# -- the pieces ----------------------------------------------------------------------------------
def test_batched_solve_gives_nan_only_for_the_singular_example():
    J = np.stack([np.eye(2) * 2.0, np.ones((2, 2)), np.diag([4.0, 5.0])])  # 3 examples of 2 unknowns
    r = np.arange(6.0).reshape(3, 2)
    out = _batched_solve(J, r)
    assert out.shape == (3, 2) and np.allclose(out[0], r[0] / 2) and np.allclose(out[2], r[2] / [4, 5])
    assert np.isnan(out[1]).all()
    assert np.allclose(_batched_solve(J[[0, 2]], r[[0, 2]]), out[[0, 2]])


def test_transistor_junction_step_limit():
    """``limit_general``: a step that takes a bulk junction more than 10 n V_T above max(15 n V_T,
    its voltage before) is scaled to rise by exactly 10 n V_T; falling or small steps are kept; the
    scale never goes below 1e-6."""
    from analog_eqprop.solvers.newton import _nodal

    c = transistor_circuit()
    eq = _nodal(MNASystem(c), False)
    vte = float(eq.g_vte[0])
    assert np.allclose(eq.g_vte, vte)
    node = int(eq.g_cathode[eq.g_anode >= eq.m][0])  # a free node that is a junction's cathode (bulk: a rail)
    u = np.zeros((5, eq.m))
    du = np.zeros((5, eq.m))
    v_src = np.zeros((5, c.n_sources))  # the bulk rail at 0 V: the junction's voltage is -u[node]
    du[0, node] = -15.5 * vte  # from 0 to 15.5 n V_T: scaled to a 10 n V_T rise
    u[1, node], du[1, node] = -30 * vte, 14 * vte  # falling from 30 to 16 n V_T: kept
    du[2, node] = -1e8 * vte  # an absurd step: scaled by the floor, 1e-6
    du[3, node] = -12 * vte  # ends below 15 n V_T: kept
    du[4, node] = -15 * vte  # ends at 15 n V_T exactly: kept (the bound is "above")
    out = eq.limit_general(u, du, v_src)
    assert np.allclose(out[0], du[0] * 10 / 15.5, rtol=1e-13, atol=0)
    assert np.array_equal(out[[1, 3, 4]], du[[1, 3, 4]])
    assert np.allclose(out[2], du[2] * 1e-6, rtol=1e-13, atol=0)


def test_a_bad_target_is_named_as_target():
    c = drn_circuit([3, 4, 2], seed=0)
    x = np.zeros((2, 3))
    with pytest.raises(DataError, match=r"^target must have shape \(2, 2\)"):
        solve_dc(c, c.edge_g, x, beta=1e-7, target=np.zeros((2, 3)), ref=np.zeros((2, c.n_free)))


def test_single_thread_blas_limits_blas_to_one_thread(monkeypatch):
    from analog_eqprop.solvers import newton

    threadpoolctl = pytest.importorskip("threadpoolctl")
    pytest.importorskip("torch")  # (brings an OpenMP pool, which must keep its threads)
    monkeypatch.setattr(newton, "_BLAS", None)  # a controller that knows the OpenMP pool

    def threads(api):
        return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == api]

    with threadpoolctl.threadpool_limits(limits=2):  # (even where the environment set 1)
        assert threads("blas") and threads("openmp") and all(n == 2 for n in threads("blas") + threads("openmp"))
        for _ in range(2):  # the controller is made once and reused
            with single_thread_blas():
                assert all(n == 1 for n in threads("blas")) and all(n == 2 for n in threads("openmp"))
            assert all(n == 2 for n in threads("blas"))  # and the limit is lifted on the way out


def test_without_threadpoolctl_blas_is_left_as_it_is(monkeypatch):
    import sys

    from analog_eqprop.solvers import newton

    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails
    monkeypatch.setattr(newton, "_BLAS", None)
    for _ in range(2):
        with single_thread_blas():
            pass
    assert newton._BLAS is False
    c = drn_circuit([3, 4, 2], seed=0)
    assert solve_dc(c, c.edge_g, np.ones((2, 3))).status == "converged"


def test_solver_settings_edges():
    assert NewtonSolver(max_iter=1, step_iter=1).max_iter == 1
    assert NewtonSolver(max_iter=np.int64(7)).max_iter == 7
    assert NewtonSolver(continuation=()).continuation == ()
    assert NewtonSolver(continuation=["source", "gmin"]).continuation == ("source", "gmin")
    for bad in [dict(max_iter=2.5), dict(step_iter=3.0), dict(max_iter=0), dict(step_iter=0), dict(continuation=5),
                dict(continuation=None), dict(continuation=("source", "bogus"))]:
        with pytest.raises(ConfigError, match="NewtonSolver"):
            NewtonSolver(**bad)


# -- the convergence report, pinned --------------------------------------------------------------
def _rail_clamp(g_xh: float = 1e3, rail: float = 1.5):
    """The convergence issue's graph (test_newton_convergence), with a stiff input edge and a high rail."""
    return circuit_from_graph(_issue_graph(g_xh=g_xh, rail=rail))


_RAIL_X = np.array([[2.0], [0.0], [-1.0]])
#: six examples within 1e-3 of each other: their Jacobians agree to ~1e-3, the shared chord LU's edge
_CLOSE_X = np.random.default_rng(5).uniform(-1, 1, (1, 6)) + 1e-3 * np.random.default_rng(6).uniform(-1, 1, (6, 6))
#: name -> (circuit, features (or a scale of 4 random rows in [-1, 1]), solver settings, each example's iterations)
_ITERATIONS = {
    "drn": (lambda: drn_circuit([3, 5, 2], seed=1), 1.0, {}, [9, 9, 9, 9]),
    "kendall-rs": (_clamped, 1.0, {}, [5, 5, 4, 4]),
    "kendall-rs-internal-nodes": (_clamped, 1.0, dict(eliminate_rs=False), [5, 5, 4, 4]),
    "kendall-rs-close-examples": (_clamped, _CLOSE_X, {}, [5, 5, 5, 5, 5, 5]),
    "kendall-amplified": (lambda: kendall_circuit(8, 4, 2, seed=0, clamp=(1.5, -1.5), amplifier=6.0), 1.0, {},
                          [2, 2, 2, 2]),
    "kendall-amplified-internal-nodes": (lambda: kendall_circuit(8, 4, 2, seed=0, clamp=(1.5, -1.5), amplifier=6.0),
                                         1.0, dict(eliminate_rs=False), [9, 9, 9, 9]),
    "ideal-clamp": (_rail_clamp, np.array([[2.0], [0.0], [1.9], [-1.0]]), {}, [3, 6, 3, 6]),
    "ideal-clamp-gmin-stepping": (_rail_clamp, _RAIL_X, dict(max_iter=2, continuation=("gmin",)), [26, 29, 29]),
    "ideal-clamp-source-stepping": (_rail_clamp, _RAIL_X, dict(max_iter=2, continuation=("source",)), [50, 160, 171]),
    # a rail just past V_crit (6.6 mV) of the start: gmin stepping's cold start counts the junction off
    "ideal-clamp-near-vcrit-gmin-stepping": (lambda: _rail_clamp(rail=0.01), np.array([[2.0], [0.0], [-1.0], [-0.5]]),
                                             dict(max_iter=3, continuation=("gmin",)), [3, 33, 34, 34]),
    "mosfet": (transistor_circuit, 1.0, {}, [12, 9, 11, 12]),
    "mosfet-clm": (lambda: transistor_circuit(lam=0.05, seed=2), 1.0, {}, [9, 9, 9, 8]),
    "diode-pairs": (_diode_pairs, 3.0, {}, [13, 7, 13, 12]),
    "diode-pairs-internal-nodes": (_diode_pairs, 3.0, dict(eliminate_rs=False), [11, 10, 11, 11]),
    "ideal-diode-pairs": (lambda: _diode_pairs("DIDEAL"), 1.0, {}, [9, 48, 9, 9]),
    # a large gmin (a setting like any other): the companion model's linearisation includes it
    "ideal-diode-pairs-gmin": (lambda: _diode_pairs("DIDEAL"), 1.0, dict(gmin=1e-2), [4, 47, 4, 7]),
    # inputs of +-3 V and +-5 V forward-bias bulk junctions on the way: the step scaling of limit_general acts
    "mosfet-bulk-junctions": (transistor_circuit, 5.0, {}, [9, 14, 14, 11]),
    "mosfet-clm-bulk-junctions": (lambda: transistor_circuit(lam=0.05, seed=2), 3.0, {}, [13, 10, 15, 11]),
    "transistors-beside-rs-clamps": (_transistors_and_rs_clamps, 3.0, {}, [13, 6, 10, 13]),
    # ideal clamps limited beside transistors: the companion step keeps the transistors' Jacobian
    "transistors-beside-ideal-clamps": (lambda: _transistors_and_rs_clamps("DIDEAL"), 1.0, {}, [9, 8, 9, 5]),
    # bulks at -2 V: the step limit of the bulk junctions into free nodes acts, in the reduced unknowns
    # (a bulk rail's index shifted past the eliminated internal nodes)
    "transistors-beside-rs-clamps-bulk-rail": (lambda: _transistors_and_rs_clamps(vb=-2.0), 1.0, {}, [13, 5, 12, 5]),
    "transistors-beside-rs-clamps-internal-nodes": (_transistors_and_rs_clamps, 3.0, dict(eliminate_rs=False),
                                                    [13, 6, 10, 13]),
}


@pytest.mark.parametrize("name", list(_ITERATIONS))
def test_iteration_counts_are_pinned(name):
    """The convergence report is part of the result (``iterations``, ``example_iterations``; the
    models' ``RelaxResult.iterations``, the CLI's ``--json``), so a change in how Newton gets to
    the same root is a visible change. Counts measured on 2026-12-03, unchanged when the inputs
    move by 1e-10 relative (not on a knife edge of a tolerance)."""
    make, X, settings, want = _ITERATIONS[name]
    c = make()
    if np.isscalar(X):
        X = X * np.random.default_rng(3).uniform(-1, 1, (4, c.n_features))
    op = solve_dc(c, c.edge_g, X, solver=NewtonSolver(**settings))
    assert op.status == "converged"
    assert op.extra["example_iterations"].tolist() == want and op.iterations == max(want)
    aided = [k for k, _ in op.extra["aids"]]
    assert aided == ([k for k, n in enumerate(want) if n > settings["max_iter"]] if "continuation" in settings else [])


def test_failed_aids_are_named_and_the_next_aid_takes_only_the_failures():
    c = _rail_clamp()
    X = np.array([[2.0], [0.0], [-1.0], [-0.5]])
    op = solve_dc(c, c.edge_g, X, solver=NewtonSolver(max_iter=2, step_iter=5, continuation=("gmin", "source"),
                                                      throw=False))
    plain = "as configured (no convergence in 2 iterations)"
    assert op.status == "max_iter" and op.converged.tolist() == [True, False, False, True]
    assert op.extra["aids"] == [(0, (plain, "gmin stepping")),
                                (1, (plain, "gmin stepping (no convergence)", "source stepping (no convergence)")),
                                (2, (plain, "gmin stepping (no convergence)", "source stepping (no convergence)")),
                                (3, (plain, "gmin stepping"))]
    assert op.extra["example_iterations"].tolist() == [26, 3052, 3055, 45]  # measured; see the pinned counts
    good = solve_dc(c, c.edge_g, X[[0, 3]])
    assert np.abs(op.voltages[[0, 3]] - good.voltages).max() < 1e-9


# -- the stopping rule, term by term (on a stand-in formulation) ----------------------------------
class _Fixed:
    """A stand-in for the nodal formulation whose KCL residual ``R`` [A], branch currents ``i`` [A]
    and other kinds' currents ``r_extra`` [A] are fixed per example and whose Newton step is zero:
    one iteration of ``_iterate`` then tells exactly which examples its stopping rule accepts
    (the step test passes, so the residual test decides)."""

    class junctions:  # noqa: N801 - the attribute the solver reads
        @staticmethod
        def limit(vj, vj_prev):
            return vj, None  # no junction limited

    def __init__(self, R, i, r_extra=None):
        self.R, self.i, self.r_extra = (None if a is None else np.asarray(a, float) for a in (R, i, r_extra))

    def evaluate(self, u, v_src, *, gmin):
        from analog_eqprop.solvers.newton import _Eval

        B = u.shape[0]
        assert B == self.R.shape[0]  # one iteration: the whole batch, every call
        z = np.zeros_like(self.i)
        J = None if self.r_extra is None else np.zeros((B, u.shape[1], u.shape[1]))
        return _Eval(z, z, self.i.copy(), z, self.r_extra, J)

    def linear_residual(self, G, b, u, gshunt):
        return u @ G.T - b

    def kcl(self, rl, ev, i=None):
        return self.R.copy()

    def direction(self, G, r, gd, gshunt, extra=None):
        return np.zeros_like(r)

    def limit_general(self, u, du, v_src):
        return du


def _accepted(*, R, b=0.0, i=0.0, u=0.0, g=1.0, r_extra=None, abstol=1e-12, max_iter=1):
    """``(converged, residual, i_end)`` per example after one iteration; scalars are broadcast to
    two examples of one unknown, ``g`` [S] is G's diagonal."""
    R = np.asarray(R, float).reshape(-1, 1)
    B = R.shape[0]
    col = lambda a: np.broadcast_to(np.asarray(a, float).reshape(-1, 1), (B, 1)).copy()  # noqa: E731
    eq = _Fixed(R, col(i), None if r_extra is None else col(r_extra))
    i_end = np.full((B, 1), -7.0)
    u_, _, res, conv, its = NewtonSolver(abstol=abstol)._iterate(eq, np.array([[g]]), col(b), np.zeros((B, 0)),
                                                                 col(u), np.zeros((B, 1)), None, max_iter,
                                                                 i_end=i_end)
    assert its.tolist() == [1] * B and np.array_equal(u_, col(u))
    return conv.tolist(), res, i_end


# (name, arguments, which examples the rule accepts). The tolerance is abstol + 1e-9 max|b| per
# example, plus 1e-9 of the example's largest branch current, G_ii |u| or other kinds' current.
_STOP_CASES = [
    # the drive term: 1e-9 of max|b|, per example (1.001e-9 A here), nothing for a zero drive
    ("drive", dict(R=[0.5e-9, 2e-9], b=1.0), [True, False]),
    ("small-drive", dict(R=[1.5e-12, 5e-12], b=1e-3), [True, False]),
    ("no-drive", dict(R=[0.9e-12, 1.1e-12]), [True, False]),
    # the branch currents' term, per example: 1 A allows 1.001e-9 A, none allows only abstol
    ("branch-current", dict(R=[0.5e-9, 2e-9, 5e-12], i=[1.0, 1.0, 0.0]), [True, False, False]),
    # G_ii |u|: the largest diagonal of G [S] times the example's largest |u| [V]
    ("g-u", dict(R=[1.5e-12, 5e-12], g=1e-3, u=1.0), [True, False]),
    ("g-u-small", dict(R=[0.9e-12, 5e-12], g=1e-3, u=1e-3), [True, False]),
    ("g-u-per-example", dict(R=[0.5e-6, 5e-12], g=1.0, u=[1e3, 0.0]), [True, False]),
    # the other kinds' currents (transistors), per example
    ("other-kinds", dict(R=[0.5e-9, 5e-12, 5e-12], r_extra=[1.0, 0.0, 1e-6]), [True, False, False]),
    # the boundary is inclusive: a residual exactly at the tolerance passes
    ("boundary", dict(R=[2.0**-30, 2.0**-30 * (1 + 2**-20)], abstol=2.0**-30), [True, False]),
]


@pytest.mark.parametrize("name", [c[0] for c in _STOP_CASES])
def test_stopping_rule_term_by_term(name):
    kw, want = next((k, w) for n, k, w in _STOP_CASES if n == name)
    conv, res, _ = _accepted(**kw)
    assert conv == want
    assert np.array_equal(res[conv], np.asarray(kw["R"], float)[conv])  # an accepted example's residual [A]


def test_examples_out_of_iterations_report_their_own_residual_and_currents():
    conv, res, i_end = _accepted(R=[3e-3, 1e-6, 2e-9], i=[0.5, -2.0, 1e-3], abstol=1e-15)
    assert conv == [False, False, False]
    assert res.tolist() == [3e-3, 1e-6, 2e-9]  # each example's own max |r|, not the batch's
    assert i_end[:, 0].tolist() == [0.5, -2.0, 1e-3]  # the branch currents at the returned u


# -- the chord step's fall-back ------------------------------------------------------------------
def test_a_singular_chord_matrix_falls_back_to_each_examples_own_jacobian():
    """Two examples share a chord matrix that is exactly singular (LAPACK warns): every example then
    solves its own Jacobian -- the singular ones give NaN (and stop), the third its exact step."""
    import copy

    from analog_eqprop.solvers.newton import _nodal

    c = drn_circuit([2, 2, 1], seed=0)
    eq = copy.copy(_nodal(MNASystem(c), False))
    eq.diag, eq.pair_d = np.eye(2), np.zeros(0, np.int64)  # two unknowns, a branch on each diagonal
    G = np.array([[0.0, 0.0], [0.0, 1.0]])
    gd = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0]])  # the median is the first two rows': G itself
    r = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    du = eq.direction(G, r, gd, None)
    assert np.isnan(du[:2]).all()
    assert du[2].tolist() == [-5.0, -6.0]


def test_one_series_resistance_is_eliminated_too():
    """``eliminate_rs``: a circuit with a single 1N4148 (one internal node) is solved on the free nodes."""
    from analog_eqprop.solvers.newton import _NODAL

    G = nx.Graph()
    G.add_node("x", role="input")
    G.add_node("h", role="hidden", clamp_low=0.1, diode="D1N4148")
    G.add_node("y", role="output")
    G.add_edge("x", "h", weight=1e-3)
    G.add_edge("h", "y", weight=1e-4)
    c = circuit_from_graph(G)
    sysm = MNASystem(c)
    assert sysm.n_internal == 1
    op = solve_dc(c, c.edge_g, [[-1.0], [1.0]], system=sysm)
    assert set(_NODAL[sysm]) == {True}  # the reduced formulation only
    full = solve_dc(c, c.edge_g, [[-1.0], [1.0]], solver=NewtonSolver(eliminate_rs=False))
    assert np.abs(op.state - full.state).max() < 1e-12 and op.internal.shape == (2, 1)


def test_the_system_level_solve_of_an_empty_batch_reports_no_iterations():
    """``solve_dc`` refuses an empty batch (tests/test_bad_inputs.py); the system-level
    ``NewtonSolver.solve`` of a linear circuit returns an empty result with 0 iterations."""
    c = drn_circuit([3, 4, 2], seed=0, clamp=None)
    sysm = MNASystem(c)
    op = NewtonSolver().solve(sysm, c.edge_g, np.zeros((0, c.n_sources)))
    assert op.voltages.shape == (0, c.n_free) and op.iterations == 0 and op.status == "converged"
    with pytest.raises(DataError, match="x has no examples"):
        solve_dc(c, c.edge_g, np.zeros((0, c.n_features)))
