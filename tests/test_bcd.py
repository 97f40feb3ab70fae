"""Exact block coordinate descent (solvers/bcd.py) against independent solutions of the same physics.

The references never share code with the solver: the box-constrained QP is rebuilt here from
:class:`MNASystem`'s dense matrices and solved by BVLS (an exact active-set method); linear
circuits are solved by Newton (one LU); sharp Shockley diodes approach the ideal clamp.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.optimize import lsq_linear

from analog_eqprop.circuits import circuit_from_graph, circuit_graph, drn_circuit, layered_circuit
from analog_eqprop.circuits.elements import DiodeModel
from analog_eqprop.data import load_xor
from analog_eqprop.eqprop.core import eqprop_gradient
from analog_eqprop.eqprop.gradcheck import cosine, finite_difference_gradient, flatten
from analog_eqprop.errors import ConfigError, ConvergenceError
from analog_eqprop.models import ResistiveNetwork
from analog_eqprop.solvers.backends import NumpyBackend, get_backend
from analog_eqprop.solvers.bcd import BCDBackend, check_bcd_circuit
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.training import TrainConfig, Trainer

from eqprop_bounds import K_CIRCUIT, eqprop_error_bound, relative_error


def _batch(c, n=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, c.n_features))
    return x, c.targets(np.eye(c.n_outputs)[rng.integers(0, c.n_outputs, n)])


def _bounds(c, v_src):
    """Per example ideal-diode bounds [V] in node order, diode by diode (the slow, obvious way)."""
    B, nf = v_src.shape[0], c.n_free
    lo, hi = np.full((B, nf), -np.inf), np.full((B, nf), np.inf)
    volts = lambda t: np.zeros(B) if t < 0 else v_src[:, t - nf]  # noqa: E731
    for a, k in zip(c.diode_anode, c.diode_cathode):
        if 0 <= k < nf:
            lo[:, k] = np.maximum(lo[:, k], volts(a))
        else:
            hi[:, a] = np.minimum(hi[:, a], volts(k))
    return lo, hi


def _qp(c, x, *, beta=0.0, target_v=None, ref=None):
    """G, b, bounds of the QP from MNASystem's dense matrices, and its BVLS solution (per example)."""
    s = MNASystem(c)
    v_src = c.source_voltages(x)
    G, b = s.conductance_matrix(c.edge_g), s.source_drive(c.edge_g, v_src)
    if beta:
        dG, db = s.nudge_terms(beta, target_v, ref)
        G, b = (G if dG is None else G + dG), b + db
    lo, hi = _bounds(c, v_src)
    L = np.linalg.cholesky(G)  # E = 1/2 |L^T v - L^-1 b|^2 + const
    sol = [lsq_linear(L.T, np.linalg.solve(L, bi), bounds=(lo[i], hi[i]), method="bvls", tol=1e-15).x
           for i, bi in enumerate(b)]
    return np.array(sol), G, b, lo, hi


def _bcd(c, x, **kw):
    return BCDBackend().operating_point(MNASystem(c), c.edge_g, x, **kw)


def _differential(nudge, clamp=(0.0, None), **graph_kw):
    G = circuit_graph([6, 5, 3], seed=3, outputs="differential", **graph_kw)
    return circuit_from_graph(G, clamp=clamp, nudge=nudge, amplifier_back="reciprocal", target_on=0.1,
                              target_off=-0.1)


# -- exactness ---------------------------------------------------------------------------------
@pytest.mark.parametrize("sizes", [[8, 6, 4], [8, 6, 5, 3]])
def test_bcd_satisfies_the_kkt_conditions(sizes):
    c = drn_circuit(sizes, seed=1)
    x, _ = _batch(c)
    op = _bcd(c, x)
    _, G, b, lo, hi = _qp(c, x)
    v = op.voltages
    grad = v @ G - b  # [A]: the current a diode must supply into each node
    volts = grad / np.diag(G)  # the same in volts: how far KCL is from holding
    on_rail = v == lo
    assert np.all(v >= lo) and np.all(v <= hi)
    assert 0.2 < on_rail.mean() < 0.8  # both kinds of node are exercised
    assert np.abs(volts[~on_rail]).max() < 1e-10  # inside: Kirchhoff's current law
    assert volts[on_rail].min() > -1e-10  # on the rail: the clamp diode conducts forward only
    assert op.residual.max() < 1e-10 * np.diag(G).max()
    assert op.status == "converged" and op.converged.all() and op.backend == "numpy-bcd"
    assert op.internal.shape == (5, 0)


CASES = {
    "drn-4-layers": lambda nudge: drn_circuit([8, 6, 5, 3], seed=2, nudge=nudge),
    "differential": lambda nudge: _differential(nudge),
    "reciprocal-amps": lambda nudge: _differential(nudge, amplifier=2.0),
    "clamps-both-sides": lambda nudge: layered_circuit([6, 5, 4], seed=4, clamp=(-0.1, 0.2), nudge=nudge),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("nudge", ["current", "resistive"])
def test_bcd_matches_bvls_free_and_nudged(case, nudge):
    c = CASES[case](nudge)
    x, t = _batch(c, seed=5)
    free = _bcd(c, x)
    assert np.abs(free.voltages - _qp(c, x)[0]).max() < 1e-9
    beta = 0.5 * float(np.mean(c.edge_g))
    for b in (beta, -beta):
        nudged = _bcd(c, x, beta=b, target_v=t, ref=free.voltages, u0=free.voltages)
        ref = _qp(c, x, beta=b, target_v=t, ref=free.voltages)[0]
        assert np.abs(nudged.voltages - ref).max() < 1e-9
        assert np.abs(nudged.voltages - free.voltages).max() > 1e-4  # the nudge did something


def test_sparse_layers_parallel_edges_and_skip_connections():
    c = drn_circuit([6, 5, 4, 3], seed=0)
    keep = np.flatnonzero(np.random.default_rng(0).random(c.n_edges) > 0.3)
    idx = np.r_[keep, keep[::7]]  # a partial block per layer pair, and parallel conductances
    sparse = replace(c, edge_a=c.edge_a[idx], edge_b=c.edge_b[idx], edge_g=c.edge_g[idx],
                     edge_layer=c.edge_layer[idx])
    kinds = {gat.kind for gat in BCDBackend().plan(MNASystem(sparse)).blocks.values()}
    assert kinds == {"put", "sum"}
    G = circuit_graph([6, 5, 4, 3], seed=0)
    G.add_edge("h1_0", "y0", weight=3e-6)  # free layers 0 and 2: the sweep needs a third colour
    G.add_edge("h1_1", "y2", weight=5e-6)
    skip = circuit_from_graph(G, clamp=(0.0, None))
    assert BCDBackend().plan(MNASystem(skip)).sweep == [0, 1, 2]
    for circuit in (sparse, skip):
        x, _ = _batch(circuit, seed=4)
        assert np.abs(_bcd(circuit, x).voltages - _qp(circuit, x)[0]).max() < 1e-9


def test_diodes_from_input_sources_bound_each_example():
    c = drn_circuit([5, 4, 3], seed=0)
    # hidden clamps from x0 (a per-example rail) instead of ground
    c = replace(c, diode_anode=np.full(c.n_diodes, c.n_free))
    x, _ = _batch(c, n=6)
    assert np.abs(_bcd(c, x).voltages - _qp(c, x)[0]).max() < 1e-9


def test_sharper_diodes_converge_to_the_ideal_clamp():
    G = circuit_graph([8, 6, 4], seed=0)
    x = np.random.default_rng(0).random((5, 8))
    ideal = _bcd(circuit_from_graph(G, clamp=(0.0, None)), x).voltages
    errors = []
    for n in (0.02, 0.002, 0.0005):
        # tiny IS: the reverse leakage must not hide the forward drop, which scales with N
        c = circuit_from_graph(G, diode=DiodeModel("DSHARP", IS=1e-15, N=n), clamp=(0.0, None))
        op = NumpyBackend().operating_point(MNASystem(c), c.edge_g, x)
        errors.append(np.abs(op.voltages - ideal).max())
    # the forward drop, hence the error, shrinks like N (0.012, 0.0012, 0.0003 V)
    assert errors[0] > 8 * errors[1] and errors[1] > 3 * errors[2] and errors[2] < 5e-4


@pytest.mark.parametrize("make", [lambda n: drn_circuit([6, 5, 3], seed=1, clamp=None, nudge=n),
                                  lambda n: _differential(n, clamp=None),
                                  lambda n: _differential(n, clamp=None, amplifier=3.0)],
                         ids=["single", "differential", "reciprocal-amps"])
@pytest.mark.parametrize("nudge", ["current", "resistive"])
def test_linear_circuits_match_newton_in_both_phases(make, nudge):
    c = make(nudge)
    assert c.n_diodes == 0
    s = MNASystem(c)
    x, t = _batch(c)
    newton, bcd = NumpyBackend(), BCDBackend()
    f_n = newton.operating_point(s, c.edge_g, x)
    f_b = bcd.operating_point(s, c.edge_g, x)
    assert np.abs(f_b.voltages - f_n.voltages).max() < 1e-10
    beta = 0.3 * float(np.mean(c.edge_g))
    for b in (beta, -beta):
        kw = dict(beta=b, target_v=t, ref=f_n.voltages)
        n_b = bcd.operating_point(s, c.edge_g, x, u0=f_b.voltages, **kw)
        assert np.abs(n_b.voltages - newton.operating_point(s, c.edge_g, x, **kw).voltages).max() < 1e-10


# -- the solver object ---------------------------------------------------------------------
def test_warm_start_convergence_flags_and_throw():
    c = drn_circuit([8, 6, 5, 3], seed=1)
    s = MNASystem(c)
    x, _ = _batch(c)
    cold = BCDBackend().operating_point(s, c.edge_g, x)
    warm = BCDBackend().operating_point(s, c.edge_g, x, u0=cold.state)
    assert warm.iterations < cold.iterations and np.abs(warm.voltages - cold.voltages).max() < 1e-11
    short = BCDBackend(max_iter=2, throw=False).operating_point(s, c.edge_g, x)
    assert short.status == "max_iter" and not short.converged.any() and short.iterations == 2
    with pytest.raises(ConvergenceError, match="BCD did not converge"):
        BCDBackend(max_iter=2).operating_point(s, c.edge_g, x)
    with pytest.raises(ConfigError, match="max_iter"):
        BCDBackend(max_iter=0)


def test_new_conductances_are_picked_up_and_cache_is_per_circuit():
    c = drn_circuit([6, 5, 3], seed=1)
    s = MNASystem(c)
    x, _ = _batch(c)
    be = get_backend("bcd")
    first = be.operating_point(s, c.edge_g, x).voltages
    g = c.edge_g * np.linspace(0.5, 2.0, c.n_edges)
    moved = be.operating_point(s, g, x).voltages
    assert np.abs(moved - first).max() > 1e-3
    assert np.abs(moved - _qp(replace(c, edge_g=g), x)[0]).max() < 1e-9
    other = drn_circuit([6, 4, 3], seed=2)
    assert be.operating_point(MNASystem(other), other.edge_g, x).voltages.shape == (5, 7)


def test_series_resistance_is_ignored_and_internal_nodes_follow_their_anode():
    c = layered_circuit([4, 5, 3], seed=2, diode="D1N4148", clamp=(-0.05, 0.05))
    s = MNASystem(c)
    x, _ = _batch(c)
    op = BCDBackend().operating_point(s, c.edge_g, x)
    assert op.state.shape == (5, s.n) and s.n_internal == c.n_diodes
    ideal = replace(c, models=(DiodeModel("DNORS"),))
    assert np.abs(op.voltages - _bcd(ideal, x).voltages).max() == 0.0
    w = s.extended(op.state, c.source_voltages(x))
    np.testing.assert_array_equal(op.internal, w[:, s.d_anode_term])


# -- applicability -------------------------------------------------------------------------
def test_unsupported_circuits_raise_clear_config_errors():
    lateral = layered_circuit([3, 4, 2], seed=0, graph_kw={"lateral": True})
    with pytest.raises(ConfigError, match=r"both in layer 0.*use backend='numpy'"):
        check_bcd_circuit(lateral)
    kendall = circuit_from_graph(circuit_graph([3, 4, 2], seed=0, amplifier=4.0), clamp=(0.0, None))
    with pytest.raises(ConfigError, match=r"back gain 0\.25.*reciprocal"):
        _bcd(kendall, np.zeros((1, 3)))
    c = drn_circuit([3, 4, 2], seed=0)
    # the message names the offending diode (not the first) and its two terminals
    between = replace(c, diode_anode=np.r_[c.diode_anode[:2], 1, c.diode_anode[3:]],
                      diode_cathode=np.r_[c.diode_cathode[:2], 0, c.diode_cathode[3:]])
    with pytest.raises(ConfigError, match=r"diode 2 joins two free nodes \(h1_1, h1_0\)"):
        _bcd(between, np.zeros((1, 3)))
    rails = replace(c, diode_cathode=np.r_[c.diode_cathode[:3], c.n_free])
    with pytest.raises(ConfigError, match=r"diode 3 joins two fixed-voltage terminals \(0, x0p\)"):
        check_bcd_circuit(rails)
    net = ResistiveNetwork(lateral, backend="bcd")
    with pytest.raises(ConfigError, match="use backend='numpy'"):
        net.relax(np.zeros((1, 3)))


def test_contradictory_clamps_and_non_convex_nudges_are_refused():
    c = layered_circuit([3, 4, 2], seed=0, clamp=(0.5, -0.5))
    with pytest.raises(ConfigError, match="short the rails"):
        _bcd(c, np.zeros((1, 3)))
    c = drn_circuit([3, 4, 2], seed=0, nudge="resistive")
    x, t = _batch(c, n=2)
    with pytest.raises(ConfigError, match="non-convex"):
        _bcd(c, x, beta=-1.0, target_v=t)


# -- training ------------------------------------------------------------------------------
def test_eqprop_gradient_on_ideal_diodes_matches_finite_differences():
    net = ResistiveNetwork(drn_circuit([3, 4, 2], seed=0), backend="bcd")
    x, t = np.random.default_rng(1).random((3, 3)), np.eye(2)[[0, 1, 1]]
    s0 = net.relax(x, net.init_state(3)).state
    scale = float(np.mean(net.g))
    fd = flatten(finite_difference_gradient(net, x, t, s0))
    # measured relative errors: 3.5e-8 centered, 1.3e-5 one-sided at beta = 1e-3 mean(g)
    for mode in ("centered", "positive"):
        eq = flatten(eqprop_gradient(net, x, t, s0, 1e-3 * scale, mode=mode).grads)
        assert cosine(eq, fd) > 0.99999
        assert relative_error(eq, fd) <= eqprop_error_bound(1e-3, mode, K_CIRCUIT[mode], floor=1e-8), mode


def test_training_through_the_trainer():
    data = load_xor()
    cfg = TrainConfig(epochs=3, batch_size=2, learning_rates=(2e-7, 1e-7), beta=1e-6, beta_mode="centered")
    # linear circuit: both backends are exact, so the whole training run must agree
    runs = {}
    for backend in ("numpy", "bcd"):
        net = ResistiveNetwork(drn_circuit([2, 6, 2], seed=0, clamp=None), backend=backend)
        hist = Trainer(net, cfg, progress=False).fit(data)
        runs[backend] = (net.g, hist[-1]["train_cost"])
    assert np.abs(runs["bcd"][0] - runs["numpy"][0]).max() < 1e-9 * np.abs(runs["numpy"][0]).max()
    # ideal diodes: trains end to end
    net = ResistiveNetwork(drn_circuit([2, 6, 2], seed=0), backend="bcd")
    g0 = net.g
    hist = Trainer(net, cfg, progress=False).fit(data)
    assert [r["epoch"] for r in hist] == [1, 2, 3]
    assert all(np.isfinite(r["train_cost"]) for r in hist)
    assert np.abs(net.g - g0).max() > 1e-9 and net.last_op.backend == "numpy-bcd"


@pytest.mark.parametrize("make", [lambda: drn_circuit([8, 6, 5, 3], seed=2),
                                  lambda: _differential("resistive")], ids=["drn", "differential-resistive"])
def test_every_sweep_lowers_the_energy(make):
    """Exact block minimisation never raises the co-content (a Jacobi step on a coupled pair can)."""
    c = make()
    x, t = _batch(c, seed=3)
    beta = 20 * float(np.mean(c.edge_g))  # strong pair coupling: the pair needs its two blocks
    free = _bcd(c, x)
    _, G, b, _, _ = _qp(c, x, beta=beta, target_v=t, ref=free.voltages)
    energy = []
    for sweeps in range(1, 12):
        v = BCDBackend(max_iter=sweeps, throw=False).operating_point(
            MNASystem(c), c.edge_g, x, beta=beta, target_v=t, ref=free.voltages).voltages
        energy.append(0.5 * np.einsum("bi,ij,bj->b", v, G, v) - np.sum(b * v, axis=1))
    energy = np.array(energy)
    assert np.all(np.diff(energy, axis=0) <= 1e-12 * np.abs(energy).max())
    assert np.any(np.diff(energy, axis=0) < -1e-9 * np.abs(energy).max())


def test_a_same_layer_pair_is_split_into_two_exact_blocks():
    """Resistive nudging couples pos and neg of a pair; each sweep ends by minimising over the negs
    given the just-updated pos nodes, so after any sweep the negs satisfy KCL exactly."""
    c = _differential("resistive")
    x, t = _batch(c, seed=3)
    beta = 20 * float(np.mean(c.edge_g))
    free = _bcd(c, x)
    _, G, b, _, _ = _qp(c, x, beta=beta, target_v=t, ref=free.voltages)
    for sweeps in (1, 2, 3):
        v = BCDBackend(max_iter=sweeps, throw=False).operating_point(
            MNASystem(c), c.edge_g, x, beta=beta, target_v=t, ref=free.voltages).voltages
        kcl = (v @ G - b) / np.diag(G)  # [V]
        assert np.abs(kcl[:, c.out_neg]).max() < 1e-12
        assert np.abs(kcl[:, c.out_pos]).max() > 1e-9  # not converged yet: the check above has teeth
