"""The fast paths give the reference numbers (never timed here; timings live in benchmarks/).

* ResistiveNetwork.energy_grad_diff (dense edge blocks as matrix products) against
  energy_grad_diff_edges (per-edge voltage drops), on every circuit family, and both against
  the co-content's derivative written out here (1/2 dV^2 per conductance) and, in size, against
  the exact gradient;
* parameters as views of the conductance vector, rebinding included;
* BCD: the memoised Norton currents and the "same g" promise of a prepared batch, folding of
  +x / -x pairs for large batches, kkt=False, float32 against float64;
* trainable bias currents: the EqProp gradient against finite differences;
* the fused SGD step (gradient, scale, update, clip in one pass; numba kernel and NumPy tiles)
  against SGD.step + project on every circuit family and over training runs, its hand-over of
  a checked g to the BCD solver, the compiled skinny products against BLAS;
* the device-resident step (torch on the CPU) against the NumPy step, skipped without torch.
"""

from __future__ import annotations

import dataclasses

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
from analog_eqprop.eqprop import flatten, gradcheck

from eqprop_bounds import K_CIRCUIT, assert_rows_within_bound, eqprop_error_bound, relative_error


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


@pytest.mark.parametrize("name", ["drn", "lateral", "random", "grounded"])
def test_edge_gradient_is_the_co_content_derivative(name):
    """dE/dg of one conductance is 1/2 dV^2 across it (E = 1/2 sum g dV^2 + diode terms): the
    difference of two states, batch mean, per parameter, from the drops alone."""
    net = ResistiveNetwork(CIRCUITS[name]())
    x, s1, s2 = _states(net)
    d1, d2 = net.edge_drops(x, s1), net.edge_drops(x, s2)
    by_hand = 0.5 * np.mean(d1 ** 2 - d2 ** 2, axis=0)  # [V^2], in edge order
    flat = np.concatenate([net.energy_grad_diff(x, s1, s2)[k].ravel() for k in [f"g{j}" for j in range(net.n_layers)]])
    order = np.concatenate([np.flatnonzero(net.circuit.edge_layer == k) for k in range(net.n_layers)])
    np.testing.assert_allclose(flat, by_hand[order], rtol=1e-12, atol=1e-14 * np.abs(by_hand).max())


@pytest.mark.parametrize("name", ["drn", "drn-deep", "reciprocal-amps"])
def test_block_gradient_has_the_exact_gradients_size(name):
    """The fast path is what gradcheck uses: EqProp through it matches the implicit gradient in
    size too (measured relative errors <= 3.2e-4 one-sided, <= 1e-5 centered at beta = 1e-3 mean g)."""
    net = ResistiveNetwork(CIRCUITS[name]())
    rng = np.random.default_rng(3)
    x, t = rng.random((4, net.n_inputs)), np.eye(net.n_outputs)[rng.integers(0, net.n_outputs, 4)]
    scale = float(np.mean(net.g))
    for mode in ("positive", "centered"):
        assert_rows_within_bound(gradcheck(net, x, t, betas=(1e-3 * scale,), mode=mode), scale=scale, k=K_CIRCUIT)
    assert net._grad_plan is not None and net._grad_plan.rest.size == 0  # the block path ran


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
        def __init__(self, **kw):
            super().__init__(**kw)
            self.capabilities = dataclasses.replace(self.capabilities, same_conductances=False)

        def plan(self, system):
            return bcd_mod.BCDPlan(system)

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
    assert net.backend.plan(net.system)._folded
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


# -- the fused training step (gradient, EqProp scale, SGD update and clip in one pass) ---------
from analog_eqprop import kernels  # noqa: E402
from analog_eqprop.circuits.description import Circuit  # noqa: E402,F401
from analog_eqprop.eqprop.core import eqprop_phases  # noqa: E402
from analog_eqprop.training.optim import SGD  # noqa: E402


def _tied():
    """A layered graph with two input conductances tied into one parameter."""
    G = circuit_graph([3, 4, 2], seed=3)
    e = [(u, v) for u, v in G.edges() if G.edges[u, v].get("layer", 0) == 0][:2]
    for u, v in e:
        G.edges[u, v]["weight"] = 3e-6
        G.edges[u, v]["tie"] = "shared"
    return circuit_from_graph(G, name="tied")


FUSED_CIRCUITS = dict(CIRCUITS, tied=_tied)


@pytest.fixture(params=["numba", "numpy"])
def kernel_path(request, monkeypatch):
    """Run a test through the compiled kernel (forced for small blocks) and through the NumPy tiles."""
    if request.param == "numba":
        if not kernels.have_numba():
            pytest.skip("numba not installed: the NumPy path is the one in use")
        monkeypatch.setattr(kernels, "MIN_KERNEL_SIZE", 0)
    else:
        monkeypatch.setattr(kernels, "_state", {"numba": False})
        monkeypatch.setattr(kernels, "TILE_BYTES", 64)  # several row tiles even on small blocks
    return request.param


def _reference_step(net, x, s1, s2, scale, lrs):
    grads = {k: v * scale for k, v in net.energy_grad_diff(x, s1, s2).items()}
    SGD({k: lrs.get(k, 0.0) for k in net.params}).step(net.params, grads)
    net.project()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(FUSED_CIRCUITS))
def test_fused_sgd_step_matches_reference(name, dtype, kernel_path):
    c = FUSED_CIRCUITS[name]()
    kw = dict(bias_currents=True, backend="bcd") if name == "drn" else {}
    a, b = ResistiveNetwork(c, dtype=dtype, **kw), ResistiveNetwork(c, dtype=dtype, **kw)
    x, s1, s2 = _states(a, seed=1)
    s1, s2 = s1 * 0.3, s2 * 0.3
    # big enough steps that some conductances hit the range (the clip is part of the pass)
    lrs = {k: (1e-3 if k[0] == "g" else 1e-6) for k in a.params}
    lrs[sorted(lrs)[-1]] = 0.0  # a frozen layer is left as it is (only clipped)
    a.eqprop_sgd_step(x, s1, s2, 0.5, lrs)
    _reference_step(b, x, s1, s2, 0.5, lrs)
    assert any(np.any(v == c.g_min) for k, v in b.params.items() if k[0] == "g")
    for k in b.params:
        assert a.params[k].dtype == np.dtype(dtype)
        # to rounding of the largest conductance (a step that cancels a conductance loses digits)
        tol = 1e-15 if dtype == "float64" else 1e-6
        np.testing.assert_allclose(a.params[k], b.params[k], rtol=tol, atol=tol * np.abs(b.params[k]).max(),
                                   err_msg=k)
    np.testing.assert_array_equal(a.g, a._edge_g())  # the parameter views are the solver's vector


#: circuits whose every conductance layer the fused step covers, one per kind of dense block
#: (sources -> layer, layer -> layer, ground, amplified copies, lateral), and their backends
FUSED_EXACT = {"drn-deep": "bcd", "grounded": "numpy", "reciprocal-amps": "bcd", "lateral": "numpy"}


@pytest.mark.parametrize("mode", ["positive", "centered"])
@pytest.mark.parametrize("name", sorted(FUSED_EXACT))
def test_fused_step_moves_every_conductance_by_minus_lr_times_the_exact_gradient(name, mode, kernel_path):
    """The fused step's update in size, not only against the reference path (which shares the
    block factors): ``(g_after - g_before) / -lr`` is EqProp's estimate to rounding, and that is
    the implicit gradient within the eqprop_bounds bound at beta_rel 1e-3. A lost factor 1/2, a
    1/beta for 1/(2 beta), a scale or lr applied twice, in the kernel, its NumPy tiles, the
    block factors or SGD.step_phases, is an error of 0.5 or more, against bounds of 1e-3
    (one-sided) and 1e-6 (centered)."""
    c = CIRCUITS[name]()
    net = ResistiveNetwork(c, backend=FUSED_EXACT[name])
    rng = np.random.default_rng(4)
    B = 3  # ranks 4 and 8: every block takes an unrolled kernel (K <= kernels.MAX_UNROLLED)
    x, t = rng.random((B, net.n_inputs)), np.eye(net.n_outputs)[rng.integers(0, net.n_outputs, B)]
    s0 = net.relax(x, net.init_state(B)).state
    exact = net.implicit_gradient(x, t, s0)
    scale = float(np.mean(net.g))
    ph = eqprop_phases(net, x, t, s0, 1e-3 * scale, mode=mode)
    estimate = ph.gradient(net)
    before = {k: v.copy() for k, v in net.params.items()}
    # steps of ~1 % of a conductance: far from the clip, resolved to ~1e-14
    lrs = {k: 1e-2 * float(np.mean(before[k])) / float(np.abs(estimate.grads[k]).max()) for k in before}
    done, handoff = SGD(lrs).step_phases(net, ph)
    assert done and handoff is not None  # fused, every layer (a layer left to the reference gives no hand-over)
    names = sorted(exact)
    assert names == sorted(net.params)
    moved = {k: (net.params[k] - before[k]) / -lrs[k] for k in names}
    assert all(np.all((net.params[k] > c.g_min) & (net.params[k] < c.g_max)) for k in names)  # nothing clipped
    # the update is -lr times the estimate (rounding of a 1 % step: measured <= 2.3e-14)
    assert relative_error(flatten(moved, names), flatten(estimate.grads, names)) < 1e-10
    # and the estimate is the gradient (measured 1.9e-5..1.3e-4 one-sided, 2.8e-10..6.8e-8 centered)
    err = relative_error(flatten(moved, names), flatten(exact, names))
    assert err <= eqprop_error_bound(1e-3, mode, K_CIRCUIT[mode]), (name, mode, err)


def test_fused_step_is_bitwise_on_layered_float64(monkeypatch):
    """The NumPy path (row tiles of the reference's own product) gives the reference's
    conductances to the bit in float64."""
    monkeypatch.setattr(kernels, "_state", {"numba": False})
    monkeypatch.setattr(kernels, "TILE_BYTES", 64)
    c = drn_circuit([6, 7, 5, 3], seed=0)
    a, b = ResistiveNetwork(c), ResistiveNetwork(c)
    x, s1, s2 = _states(a, B=4, seed=2)
    lrs = {k: 1e-7 for k in a.params}
    a.eqprop_sgd_step(x, s1, s2, 0.25, lrs)
    _reference_step(b, x, s1, s2, 0.25, lrs)
    for k in b.params:
        np.testing.assert_array_equal(a.params[k], b.params[k], err_msg=k)


def _peer_circuit(sizes):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from drn_models import peer_circuit

    return peer_circuit(sizes, input_gain=2.0, seed=0)


@pytest.mark.parametrize("builder", ["drn", "peer"])
def test_fused_step_hands_fresh_g_to_bcd(builder, kernel_path):
    """After a fused update the next solve neither checks, compares nor copies g (for the peer's
    contiguous layers: drn_circuit's layers are scattered by its bias rails), and is exact; an
    in-place change afterwards is still seen."""
    c = drn_circuit([5, 6, 4, 3], seed=0) if builder == "drn" else _peer_circuit([5, 6, 4, 3])
    net = ResistiveNetwork(c, backend=BCDBackend(max_iter=3, tol=0, throw=False))
    x, s1, s2 = _states(net, B=3)
    tok = net.eqprop_sgd_step(x, s1 * 0.1, s2 * 0.1, 1.0, {k: 1e-6 for k in net.params})
    assert tok is not None and tok.version == net._version
    g = net.g
    plan = net.backend.plan(net.system)
    static = net.prepare(x, handoff=tok)
    s = net.relax(x, static=static).state
    assert plan._borrowed and plan._g is net._gbuf  # no copy of g
    if builder == "peer":
        assert all(np.shares_memory(w, net._gbuf) for w in plan._built[0].values())
    fresh = ResistiveNetwork(c, backend=BCDBackend(max_iter=3, tol=0, throw=False), g=g).relax(x).state
    np.testing.assert_allclose(s, fresh, rtol=0, atol=1e-15)
    # a change made in place afterwards (outside a training step) is seen: no stale blocks
    net.params["g0"] *= 2.0
    g2 = net.g
    s2_ = net.relax(x).state
    assert not plan._borrowed
    ref2 = ResistiveNetwork(c, backend=BCDBackend(max_iter=3, tol=0, throw=False), g=g2).relax(x).state
    np.testing.assert_allclose(s2_, ref2, rtol=0, atol=1e-15)


def test_fused_step_no_handoff_after_non_finite_update():
    """A NaN gradient leaves NaN conductances as the reference does; the next solve names them."""
    c = drn_circuit([4, 5, 2], seed=0)
    net = ResistiveNetwork(c, backend="bcd")
    x, s1, s2 = _states(net)
    s1[0, 0] = np.nan
    tok = net.eqprop_sgd_step(x, s1, s2, 1.0, {k: 1e-6 for k in net.params})
    assert tok is None
    from analog_eqprop.errors import DataError

    with pytest.raises(DataError, match="g"):
        net.relax(x, static=net.prepare(x, handoff=tok))


def _peer_like(dtype, **kw):
    c = _peer_circuit([6, 8, 6, 3])  # conductances ~ 1/sqrt(fan-in) S, beta 1 S: float32 is meaningful
    return ResistiveNetwork(c, backend=BCDBackend(max_iter=4, tol=0, throw=False, kkt=False), dtype=dtype,
                            bias_currents=True, centered_pairs=True, **kw)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fused_training_matches_reference_run(dtype, kernel_path, monkeypatch):
    """Two epochs of SGD (centered, paired phases, bias currents, BCD): the fused steps with the
    hand-over to the solver give the reference run's conductances, currents and errors."""
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 6)), rng.integers(0, 3, 40)
    cfg = TrainConfig(epochs=2, batch_size=4, learning_rates=(0.02, 0.006, 0.018), beta=0.1, beta_mode="centered",
                      optimizer="sgd", persistent=False, shuffle=True, seed=3)

    def run():
        net = _peer_like(dtype)
        tr = Trainer(net, cfg, progress=False)
        out = [tr.train_epoch(x, y) for _ in range(2)]
        return net, out

    calls = []
    orig = ResistiveNetwork.eqprop_sgd_step
    monkeypatch.setattr(ResistiveNetwork, "eqprop_sgd_step",
                        lambda self, *a, **k: calls.append(1) or orig(self, *a, **k))
    fused, out_f = run()
    assert len(calls) == 20
    monkeypatch.setattr(SGD, "step_phases", lambda self, *a, **k: (False, None))
    ref, out_r = run()
    for f, r in zip(out_f, out_r):  # the same errors; costs to rounding
        assert f["train_error"] == r["train_error"] or dtype == "float32"
        assert f["train_cost"] == pytest.approx(r["train_cost"], rel=1e-12 if dtype == "float64" else 1e-4)
    for k in ref.params:
        rtol = 1e-12 if dtype == "float64" else 1e-5
        np.testing.assert_allclose(fused.params[k], ref.params[k], rtol=rtol, atol=rtol * np.abs(ref.params[k]).max(),
                                   err_msg=k)


def test_non_sgd_and_rules_take_the_reference_path():
    net = _peer_like("float64")
    ph = eqprop_phases(net, *(_states(net, B=2)[:1]), np.eye(3)[[0, 1]], net.init_state(2), 1e-6, mode="centered")
    from analog_eqprop.training.optim import make_optimizer
    from analog_eqprop.training.update_rules import make_update_rule

    assert make_optimizer("adam", {k: 1e-3 for k in net.params}).step_phases(net, ph) == (False, None)
    sgd = make_optimizer("sgd", {k: 1e-3 for k in net.params})
    assert sgd.step_phases(net, ph, rules={"g0": make_update_rule("sign")}) == (False, None)
    done, tok = sgd.step_phases(net, ph)
    assert done and sgd.t == 1


def test_generated_kernels_are_current():
    """analog_eqprop/_sgd_kernels.py is what kernels.generated_source() writes (regenerate it after
    changing the generator)."""
    from pathlib import Path

    path = Path(kernels.__file__).with_name("_sgd_kernels.py")
    assert path.read_text(encoding="utf-8") == kernels.generated_source()


@pytest.mark.parametrize("K", [1, 5, 10])
def test_sgd_block_kernel_matches_numpy_tiles(K, monkeypatch):
    if not kernels.have_numba():
        pytest.skip("numba not installed")
    rng = np.random.default_rng(K)
    for dt in (np.float64, np.float32):
        G = (rng.random((37, 129)) + 0.5).astype(dt)
        L, R = rng.normal(size=(K, 37)).astype(dt), rng.normal(size=(K, 129)).astype(dt)
        out = {}
        for path in ("numba", "numpy"):
            g, cs = G.copy(), np.zeros(129)
            monkeypatch.setattr(kernels, "MIN_KERNEL_SIZE", 0 if path == "numba" else 1 << 40)
            kernels.sgd_block(g, L, R, scale=0.5, lr=0.1, lo=0.4, hi=1.2, colsum=cs)
            out[path] = g, cs
        tol = 1e-15 if dt == np.float64 else 3e-7  # the same operations; BLAS may fuse multiply-adds
        np.testing.assert_allclose(out["numba"][0], out["numpy"][0], rtol=tol)
        assert np.any(out["numpy"][0] == dt(0.4)) and np.any(out["numpy"][0] == dt(1.2))
        tol = 1e-13 if dt == np.float64 else 1e-6
        np.testing.assert_allclose(out["numba"][1], out["numpy"][1], rtol=tol)
        np.testing.assert_allclose(out["numpy"][1], out["numpy"][0].sum(axis=0, dtype=np.float64), rtol=tol)


def test_skinny_matmul_matches_blas(monkeypatch):
    rng = np.random.default_rng(0)
    for dt in (np.float64, np.float32):
        D = rng.random((203, 170)).astype(dt)
        for B in (1, 4, 5, 9):  # 5: two passes (4 + 1 rows); 9: BLAS
            X = rng.normal(size=(B, 203)).astype(dt)
            monkeypatch.setattr(kernels, "MIN_SKINNY_SIZE", 0)
            got = kernels.skinny_matmul(X, D)
            tol = 1e-13 if dt == np.float64 else 1e-5
            np.testing.assert_allclose(got, X @ D, rtol=0, atol=tol * np.abs(X @ D).max())
            assert got.dtype == dt
            W = D.T.copy()  # X @ W.T with W C-contiguous: the dot-product kernel
            out = np.empty((B, 170), dt)
            assert kernels.skinny_matmul(X, W.T, out=out) is out
            np.testing.assert_allclose(out, X @ D, rtol=0, atol=tol * np.abs(X @ D).max())


# -- the device-resident step (torch on the CPU stands in for a GPU) --------------------------
def _resident_run(xp, dtype="float64", epochs=2):
    c = _peer_circuit([6, 8, 6, 3])
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 6)), rng.integers(0, 3, 40)
    cfg = TrainConfig(epochs=epochs, batch_size=4, learning_rates=(0.02, 0.006, 0.018), beta=0.1,
                      beta_mode="centered", optimizer="sgd", persistent=False, shuffle=True, seed=3)
    kw = {} if xp is None else {"xp": xp}
    net = ResistiveNetwork(c, backend=BCDBackend(max_iter=4, tol=0, throw=False, **kw), bias_currents=True,
                           centered_pairs=True, dtype=dtype)
    tr = Trainer(net, cfg, progress=False)
    out = [tr.train_epoch(x, y) for _ in range(epochs)]
    return net, tr, out, (x, y)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_device_resident_step_matches_numpy_step(dtype):
    """The whole step on torch tensors (sweeps, gradient, update, clip), g staying there between
    steps: the NumPy step's training run, and g crossed the bus once (the first upload)."""
    pytest.importorskip("torch")
    import torch

    ref, _, out_r, _ = _resident_run(None, dtype)
    net, tr, out_d, (x, y) = _resident_run("torch", dtype)
    dev = net._resident
    assert dev and isinstance(dev.g, torch.Tensor)
    assert dev.uploads == 1 and dev.downloads == 0 and dev.device_newer  # never left the device
    tol = 1e-12 if dtype == "float64" else 1e-4
    for f, r in zip(out_d, out_r):
        assert f["train_cost"] == pytest.approx(r["train_cost"], rel=tol)
    for k in ref.params:  # reading params brings g to the host
        np.testing.assert_allclose(net.params[k], ref.params[k], rtol=tol, atol=tol * np.abs(ref.params[k]).max(),
                                   err_msg=k)
    assert dev.downloads == 1 and dev.host_newer
    # a host write after that (a checkpoint loaded, set_conductances, a user's edit) reaches the device
    net.params["g0"][...] *= 0.5
    ref.params["g0"][...] *= 0.5
    s_d = net.relax(x[:4]).state
    s_r = ref.relax(x[:4]).state
    assert dev.uploads == 2
    np.testing.assert_allclose(s_d, s_r, rtol=0, atol=tol * np.abs(s_r).max())
    assert tr.evaluate(x, y)["error"] == Trainer(ref, tr.config, progress=False).evaluate(x, y)["error"]


def test_device_resident_only_where_the_blocks_allow():
    pytest.importorskip("torch")
    c = drn_circuit([4, 5, 3], seed=0)  # bias rails: layers interleaved in the edge vector
    net = ResistiveNetwork(c, backend=BCDBackend(xp="torch", max_iter=4, tol=0, throw=False))
    assert "contiguous" in net.resident_reason()
    x = np.random.default_rng(0).random((2, 4))
    ref = ResistiveNetwork(c, backend=BCDBackend(max_iter=4, tol=0, throw=False))
    np.testing.assert_allclose(net.relax(x).state, ref.relax(x).state, rtol=0, atol=1e-13)  # host path
    assert net._resident is False
