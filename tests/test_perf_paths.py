"""The fast paths give the reference numbers (never timed here; timings live in benchmarks/).

* ResistiveNetwork.energy_grad_diff (dense edge blocks as matrix products) against
  energy_grad_diff_edges (per-edge voltage drops), on every circuit family;
* parameters as views of the conductance vector, rebinding included;
* BCD: the memoised Norton currents and the "same g" promise of a prepared batch, folding of
  +x / -x pairs for large batches, kkt=False, float32 against float64;
* trainable bias currents: the EqProp gradient against finite differences.
"""

from __future__ import annotations

import numpy as np
import pytest

from analog_eqprop.circuits import (circuit_from_graph, circuit_graph, drn_circuit, kendall_circuit,
                                    layered_circuit, random_circuit)
from analog_eqprop.errors import ConfigError
from analog_eqprop.eqprop.core import eqprop_gradient
from analog_eqprop.models import ResistiveNetwork
from analog_eqprop.solvers import bcd as bcd_mod
from analog_eqprop.solvers.bcd import BCDBackend
from analog_eqprop.training import TrainConfig, Trainer


def _grounded():
    """A layered graph with a ground node wired to the hidden layer (ground edges)."""
    G = circuit_graph([3, 4, 2], seed=3)
    G.add_node("gnd", role="ground")
    G.add_edges_from(("gnd", f"h1_{i}", {"weight": 2e-6}) for i in range(4))
    return circuit_from_graph(G, name="grounded", clamp=(0.0, None))


CIRCUITS = {
    "drn": lambda: drn_circuit([5, 6, 3], seed=0),
    "drn-deep": lambda: drn_circuit([4, 5, 6, 3], seed=1),
    "layered": lambda: layered_circuit([3, 4, 2], seed=0, clamp=(-0.5, 0.5)),
    "lateral": lambda: layered_circuit([3, 4, 2], seed=0, graph_kw={"lateral": True}),
    "kendall": lambda: kendall_circuit(4, 5, 3, seed=0),
    "reciprocal-amps": lambda: kendall_circuit(4, 5, 3, seed=2, amplifier_back="reciprocal"),
    "random": lambda: random_circuit(4, 5, 3, 0.4, seed=0),
    "grounded": _grounded,
}


def _states(net, B=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((B, net.n_inputs))
    return x, rng.normal(size=(B, net.system.n)), rng.normal(size=(B, net.system.n))


@pytest.mark.parametrize("name", sorted(CIRCUITS))
def test_block_gradient_matches_edges(name):
    net = ResistiveNetwork(CIRCUITS[name]())
    x, s1, s2 = _states(net)
    fast, ref = net.energy_grad_diff(x, s1, s2), net.energy_grad_diff_edges(x, s1, s2)
    assert sorted(fast) == sorted(ref)
    for k in ref:
        scale = np.abs(ref[k]).max()
        np.testing.assert_allclose(fast[k], ref[k], rtol=0, atol=1e-12 * scale, err_msg=k)


def test_block_gradient_uses_blocks_where_dense():
    net = ResistiveNetwork(drn_circuit([5, 6, 3], seed=0))
    net.energy_grad_diff(*_states(net))
    assert net._grad_plan.rest.size == 0  # every edge of a layered net lies in a dense block
    sparse = ResistiveNetwork(random_circuit(6, 8, 3, 0.2, seed=0))
    sparse.energy_grad_diff(*_states(sparse))
    assert sparse._grad_plan.rest.size > 0


def test_float32_gradient_close_to_float64():
    c = drn_circuit([5, 6, 3], seed=0)
    n64, n32 = ResistiveNetwork(c), ResistiveNetwork(c, dtype="float32")
    x, s1, s2 = _states(n64)
    for k, ref in n64.energy_grad_diff(x, s1, s2).items():
        got = n32.energy_grad_diff(x, s1, s2)[k]
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5 * np.abs(ref).max())


@pytest.mark.parametrize("builder", [lambda: drn_circuit([3, 4, 2], seed=0),
                                     lambda: layered_circuit([3, 4, 2], seed=0)])
def test_params_are_live(builder):
    """In-place updates, rebinding and set_conductances all reach the solver."""
    c = builder()
    net = ResistiveNetwork(c, backend="bcd")
    x = np.random.default_rng(0).random((3, 3))
    g = net.g.copy()
    net.params["g0"] *= 1.5
    g[net._layer_idx[0]] *= 1.5
    ref = ResistiveNetwork(c, backend="bcd", g=g)
    np.testing.assert_allclose(net.relax(x).state, ref.relax(x).state, atol=1e-13)
    np.testing.assert_array_equal(net.g, g)
    net.params["g1"] = net.params["g1"] * 0.5  # rebound, not in place
    g[net._layer_idx[1]] *= 0.5
    ref.set_conductances(g)
    np.testing.assert_allclose(net.relax(x).state, ref.relax(x).state, atol=1e-13)
    out = net.g
    out[:] = 1.0  # a copy: the model is untouched
    np.testing.assert_array_equal(net.g, g)


def _train(net, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((24, net.n_inputs))
    y = rng.integers(0, net.n_outputs, 24)
    tr = Trainer(net, TrainConfig(epochs=1, batch_size=4, learning_rates=(2e-5,), beta=1e-6,
                                  beta_mode="centered"), progress=False)
    tr.train_epoch(x, y)
    return net


def test_prepared_batch_and_memo_match_fresh_solves():
    """A training run through prepare()/same_g and the Norton memo equals one re-solving everything."""
    c = drn_circuit([4, 5, 2], seed=0, nudge="resistive")

    class Fresh(BCDBackend):  # a new plan on every call: nothing memoised
        supports_same_g = False

        def _plan(self, system):
            return bcd_mod._Plan(system)

    a = _train(ResistiveNetwork(c, backend=BCDBackend(max_iter=4, tol=0, throw=False)))
    b = _train(ResistiveNetwork(c, backend=Fresh(max_iter=4, tol=0, throw=False)))
    for k in a.params:
        np.testing.assert_allclose(a.params[k], b.params[k], rtol=1e-12, err_msg=k)


def test_set_conductances_voids_a_prepared_batch():
    c = drn_circuit([4, 5, 2], seed=0)
    net = ResistiveNetwork(c, backend="bcd")
    x = np.random.default_rng(0).random((3, 4))
    tok = net.prepare(x)
    net.relax(x, static=tok)
    g = net.g * 2.0
    net.set_conductances(g)
    ref = ResistiveNetwork(c, backend="bcd", g=g).relax(x).state
    np.testing.assert_allclose(net.relax(x, static=tok).state, ref, rtol=0, atol=1e-13)


@pytest.mark.parametrize("nudge", ["resistive", "current"])
def test_centered_pairs_match_separate_phases(nudge):
    """+beta and -beta relaxed as one stacked batch train exactly as phase by phase."""
    c = drn_circuit([4, 5, 3, 2], seed=0, nudge=nudge)
    kw = dict(max_iter=5, tol=0.0, throw=False)
    a = _train(ResistiveNetwork(c, backend=BCDBackend(**kw), centered_pairs=True))
    b = _train(ResistiveNetwork(c, backend=BCDBackend(**kw)))
    assert a.centered_pairs and not b.centered_pairs
    for k in a.params:
        np.testing.assert_allclose(a.params[k], b.params[k], rtol=1e-12, err_msg=k)


def test_per_example_beta_matches_scalar():
    c = drn_circuit([4, 5, 2], seed=1, nudge="resistive")
    net = ResistiveNetwork(c, backend="bcd")
    x = np.random.default_rng(0).random((3, 4))
    t = c.targets(np.eye(2)[[0, 1, 0]])
    s0 = net.relax(x).state
    be = BCDBackend()
    both = be.operating_point(net.system, c.edge_g, np.concatenate([x, x]), beta=np.r_[[1e-6] * 3, [-1e-6] * 3],
                              target_v=np.concatenate([t, t]), ref=np.concatenate([s0, s0]),
                              u0=np.concatenate([s0, s0])).voltages
    for half, beta in ((both[:3], 1e-6), (both[3:], -1e-6)):
        one = be.operating_point(net.system, c.edge_g, x, beta=beta, target_v=t, ref=s0, u0=s0).voltages
        np.testing.assert_allclose(half, one, rtol=0, atol=1e-14)


def test_folded_drive_matches_unfolded():
    c = drn_circuit([6, 5, 3], seed=0)
    net = ResistiveNetwork(c, backend="bcd")
    x = np.random.default_rng(1).random((bcd_mod.FOLD_BATCH + 3, 6))
    net.relax(x[::-1])  # a second batch for the same g: the fold pays, and is used
    big = net.relax(x).state
    assert net.backend._plan(net.system)._folded
    small = np.concatenate([net.relax(x[i:i + 4]).state for i in range(0, len(x), 4)])
    np.testing.assert_allclose(big, small, rtol=0, atol=1e-13)


def test_kkt_off_same_voltages():
    c = drn_circuit([4, 5, 2], seed=0)
    x = np.random.default_rng(0).random((3, 4))
    on = ResistiveNetwork(c, backend=BCDBackend(max_iter=6, tol=0, throw=False)).relax(x)
    net = ResistiveNetwork(c, backend=BCDBackend(max_iter=6, tol=0, throw=False, kkt=False))
    off = net.relax(x)
    np.testing.assert_array_equal(on.state, off.state)
    assert np.isnan(net.last_op.residual).all()


def test_float32_bcd_close_to_float64():
    c = drn_circuit([5, 6, 3], seed=0, nudge="resistive")
    x = np.random.default_rng(0).random((4, 5))
    t = c.targets(np.eye(3)[[0, 1, 2, 0]])
    n64 = ResistiveNetwork(c, backend="bcd")
    n32 = ResistiveNetwork(c, backend=BCDBackend(max_iter=10000, tol=1e-6), dtype="float32")
    for beta in (0.0, 1e-6):
        s64 = n64.relax(x, beta=beta, target=t).state
        s32 = n32.relax(x, beta=beta, target=t).state
        assert s32.dtype == np.float32
        np.testing.assert_allclose(s32, s64, rtol=0, atol=1e-4 * np.abs(s64).max())


def test_bias_currents_eqprop_matches_finite_differences():
    c = drn_circuit([3, 4, 2], seed=0, nudge="resistive")
    rng = np.random.default_rng(0)
    i0 = rng.normal(scale=1e-6, size=c.n_free)
    net = ResistiveNetwork(c, backend="bcd", bias_currents=i0)
    assert {"i0", "i1"} <= set(net.params)
    np.testing.assert_allclose(net.bias_currents, i0)
    x, y = rng.random((3, 3)), np.eye(2)[[0, 1, 0]]

    def J(cur):
        m = ResistiveNetwork(c, backend="bcd", bias_currents=cur)
        return float(np.mean(m.cost(m.relax(x).state, y)))

    s0 = net.relax(x).state
    g = eqprop_gradient(net, x, y, s0, 1e-7, mode="centered").grads
    est = np.empty(c.n_free)
    for k, idx in enumerate(net._bias_idx):
        est[idx] = g[f"i{k}"]
    h = 1e-9
    fd = np.array([(J(i0 + h * e) - J(i0 - h * e)) / (2 * h) for e in np.eye(c.n_free)])
    np.testing.assert_allclose(est, fd, rtol=1e-4, atol=1e-6 * np.abs(fd).max())


def test_bias_currents_need_bcd():
    with pytest.raises(ConfigError, match="bias currents"):
        ResistiveNetwork(drn_circuit([3, 4, 2], seed=0), bias_currents=True)


def test_bias_currents_survive_copy_and_project():
    net = ResistiveNetwork(drn_circuit([3, 4, 2], seed=0), backend="bcd", bias_currents=True)
    net.params["i0"][:] = -5.0  # currents are not clipped to the conductance range
    net.project()
    assert np.all(net.params["i0"] == -5.0)
    np.testing.assert_array_equal(net.copy().bias_currents, net.bias_currents)


def test_graph_edges_are_one_block_per_layer_pair():
    """The row-major drn blocks need no gather: the gradient is written in place."""
    net = ResistiveNetwork(drn_circuit([5, 6, 3], seed=0))
    net.energy_grad_diff(*_states(net))
    big = [b for b in net._grad_plan.blocks if b["shape"][0] == 10]
    assert big and all(b["out"] is not None for b in big)




@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_torch_sweeps_match_numpy(dtype):
    """The array-namespace sweeps (xp="torch", on the CPU) give the NumPy sweeps' voltages."""
    pytest.importorskip("torch")
    c = drn_circuit([5, 6, 4, 3], seed=0, nudge="resistive")
    x = np.random.default_rng(0).random((4, 5))
    t = c.targets(np.eye(3)[[0, 1, 2, 0]])
    kw = dict(max_iter=7, tol=0.0, throw=False)
    ref = ResistiveNetwork(c, backend=BCDBackend(**kw), dtype=dtype)
    tor = ResistiveNetwork(c, backend=BCDBackend(xp="torch", **kw), dtype=dtype)
    tol = 1e-13 if dtype == "float64" else 1e-5
    s_ref, s_tor = ref.relax(x).state, tor.relax(x).state
    assert s_tor.dtype == np.dtype(dtype)
    np.testing.assert_allclose(s_tor, s_ref, rtol=0, atol=tol * np.abs(s_ref).max())
    n_ref = ref.relax(x, s_ref, beta=1e-6, target=t).state
    n_tor = tor.relax(x, s_tor, beta=1e-6, target=t).state
    np.testing.assert_allclose(n_tor, n_ref, rtol=0, atol=tol * np.abs(n_ref).max())
    conv = BCDBackend(xp="torch")  # to convergence, with the KKT residual
    op = conv.operating_point(ref.system, c.edge_g, x)
    assert op.status == "converged" and op.residual.max() < 1e-12


def test_xp_refuses_coupled_pairs_and_unknown_modules():
    pytest.importorskip("torch")
    c = kendall_circuit(3, 4, 2, seed=0, amplifier_back="reciprocal", nudge="resistive", diode="DIDEAL")
    net = ResistiveNetwork(c, backend=BCDBackend(xp="torch"))
    s0 = net.relax(np.full((1, 3), 0.5)).state
    with pytest.raises(ConfigError, match="differential"):
        net.relax(np.full((1, 3), 0.5), s0, beta=1e-6, target=np.eye(2)[[0]])
    with pytest.raises(ConfigError, match="no_such_array_lib"):
        BCDBackend(xp="no_such_array_lib")
