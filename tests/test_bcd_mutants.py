"""Block coordinate descent (solvers/bcd.py): the paths the mutation run (benchmarks/mutation.py)
found untested -- dense weight blocks read as slices of g, a block another edge clashes with,
a layer with no free neighbours, explicit precision, the refusals -- each against the
independent BVLS solution of the same QP (tests/test_bcd.py)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from analog_eqprop.circuits import circuit_from_graph, circuit_graph, drn_circuit
from analog_eqprop.errors import ConfigError, DataError
from analog_eqprop.solvers.bcd import BCDBackend
from analog_eqprop.solvers.mna import MNASystem

from test_bcd import _batch, _differential, _qp


def _reordered(extra: int = 0):
    """drn [8, 10, 8] with its hidden -> output conductances moved to the end in row-major order
    (one dense 10 x 8 block: a slice of g), plus ``extra`` parallel copies of its first edges."""
    c = drn_circuit([8, 10, 8], seed=0)
    t = c.element("conductance")
    hid = (t.a < 10) & (t.b >= 10) & (t.b < c.n_free)
    idx = np.flatnonzero(hid)
    idx = idx[np.lexsort((t.b[idx], t.a[idx]))]
    return c.with_element(t.take(np.r_[np.flatnonzero(~hid), idx, idx[:extra]]))


@pytest.mark.parametrize("extra, kind", [(0, "slice"), (3, "sum")], ids=["dense", "clash"])
def test_dense_free_block_and_a_block_other_edges_share(extra, kind):
    c = _reordered(extra)
    p = BCDBackend().plan(MNASystem(c))
    assert {k: gat.kind for k, gat in p.blocks.items()} == {(0, 1): kind}
    assert (("free", 0, 1) in p._fast_ids) == (extra == 0)
    assert ("drive", 0, True) in p._fast_ids  # the input block: a whole dense block of input sources
    x, t = _batch(c, n=4, seed=1)
    free = BCDBackend().operating_point(MNASystem(c), c.edge_g, x)
    assert free.converged.all()
    np.testing.assert_allclose(free.voltages, _qp(c, x)[0], rtol=0, atol=1e-9)
    beta = 0.5 * float(np.mean(c.edge_g))
    nudged = BCDBackend().operating_point(MNASystem(c), c.edge_g, x, beta=beta, target_v=t, ref=free.voltages)
    np.testing.assert_allclose(nudged.voltages, _qp(c, x, beta=beta, target_v=t, ref=free.voltages)[0],
                               rtol=0, atol=1e-9)
    if not extra:  # the same circuit as drn_circuit's edge order: the same operating point
        base = drn_circuit([8, 10, 8], seed=0)
        np.testing.assert_allclose(BCDBackend().operating_point(MNASystem(base), base.edge_g, x).voltages,
                                   free.voltages, rtol=0, atol=1e-12)
    g = c.edge_g * np.linspace(0.5, 1.5, c.n_edges)  # a new g: the slice is read again
    moved = BCDBackend().operating_point(MNASystem(c), g, x).voltages
    np.testing.assert_allclose(moved, _qp(c.with_values({"conductance": g}), x)[0], rtol=0, atol=1e-9)


def test_a_layer_without_free_neighbours():
    c = drn_circuit([4, 3], seed=0)  # outputs only: every neighbour is a source or ground
    p = BCDBackend().plan(MNASystem(c))
    assert p.n_layers == 1 and p.neighbours == [[]]
    x, t = _batch(c, n=3)
    op = BCDBackend().operating_point(MNASystem(c), c.edge_g, x)
    np.testing.assert_allclose(op.voltages, _qp(c, x)[0], rtol=0, atol=1e-12)
    assert op.residual.max() < 1e-15 and op.iterations <= 2


def test_repr_and_an_explicit_precision():
    assert repr(BCDBackend()) == "BCDBackend(max_iter=1000, tol=1e-12, throw=True, kkt=True, dtype=None)"
    assert repr(BCDBackend(max_iter=5, tol=0.5, throw=False, kkt=False, dtype="float32", xp="torch",
                           device="cpu")) == ("BCDBackend(max_iter=5, tol=0.5, throw=False, kkt=False, "
                                              "dtype='float32', xp='torch', device='cpu')")
    c = drn_circuit([6, 5, 3], seed=1)
    s = MNASystem(c)
    x, _ = _batch(c)
    ref = BCDBackend().operating_point(s, c.edge_g, x).voltages
    f32 = BCDBackend(dtype="float32", tol=1e-6).operating_point(s, c.edge_g, x)  # float64 g, float32 sweeps
    assert f32.voltages.dtype == np.float32 and np.abs(f32.voltages - ref).max() < 1e-4
    assert f32.extra["max_change"].dtype == np.float32  # the sweeps' bookkeeping in the run's precision too
    f64 = BCDBackend(dtype="float64").operating_point(s, c.edge_g.astype(np.float32), x)
    assert f64.voltages.dtype == np.float64
    follow = BCDBackend().operating_point(s, c.edge_g.astype(np.float32), x, same_g=False)
    assert follow.voltages.dtype == np.float32


@pytest.mark.parametrize("bad, msg", [(dict(max_iter=0), "max_iter"), (dict(max_iter=-3), "max_iter"),
                                      (dict(tol=-1e-9), "tol"), (dict(tol=np.inf), "tol"),
                                      (dict(dtype="float16"), "dtype"), (dict(dtype="int64"), "dtype")])
def test_backend_settings_are_checked(bad, msg):
    with pytest.raises(ConfigError, match=msg):
        BCDBackend(**bad)


def test_backend_edge_settings_are_accepted():
    be = BCDBackend(max_iter=1, tol=0.0, throw=False)
    assert be.max_iter == 1 and be.tol == 0.0
    c = drn_circuit([6, 5, 3], seed=1)
    op = be.operating_point(MNASystem(c), c.edge_g, _batch(c)[0])
    assert op.iterations == 1 and op.status == "max_iter"


def test_nudge_refusals():
    c = drn_circuit([6, 5, 3], seed=1)  # current-mode nudging
    x, t = _batch(c, n=2)
    with pytest.raises(DataError, match="reference"):
        BCDBackend().operating_point(MNASystem(c), c.edge_g, x, beta=1e-6, target_v=t)
    d = _differential("resistive")
    x, t = _batch(d, n=2)
    with pytest.raises(ConfigError, match="one beta per example"):
        BCDBackend().operating_point(MNASystem(d), d.edge_g, x, beta=np.array([1e-6, -1e-6]), target_v=t)


def test_torch_sweeps_move_blocks_once_per_g_and_follow_a_new_g():
    pytest.importorskip("torch")
    c = drn_circuit([5, 6, 4, 3], seed=0)
    s = MNASystem(c)
    x = np.random.default_rng(0).random((3, 5))
    be = BCDBackend(xp="torch")
    first = be.operating_point(s, c.edge_g, x).voltages
    memo = be.plan(s)._xp_blocks
    again = be.operating_point(s, c.edge_g, x).voltages
    assert be.plan(s)._xp_blocks is memo  # the same g: the device blocks are reused, not moved again
    np.testing.assert_array_equal(again, first)
    g = c.edge_g * np.linspace(0.5, 1.5, c.n_edges)
    moved = be.operating_point(s, g, x).voltages
    assert be.plan(s)._xp_blocks is not memo
    np.testing.assert_allclose(moved, BCDBackend().operating_point(s, g, x).voltages, rtol=0, atol=1e-12)
    assert np.abs(moved - first).max() > 1e-4


def test_torch_sweeps_on_a_single_layer():
    pytest.importorskip("torch")
    c = drn_circuit([4, 3], seed=0)
    x, _ = _batch(c, n=3)
    op = BCDBackend(xp="torch").operating_point(MNASystem(c), c.edge_g, x)
    assert op.converged.all() and op.extra["max_change"].shape == (3,)
    np.testing.assert_allclose(op.voltages, _qp(c, x)[0], rtol=0, atol=1e-12)


def _kkt_by_hand(v, G, b, lo, hi):
    """Largest projected gradient [A] per example: KCL where a node is inside its bounds, only the
    part a clamp could not supply on a rail."""
    grad = v @ G - b
    grad = np.where(v <= lo, np.minimum(grad, 0.0), grad)
    grad = np.where(v >= hi, np.maximum(grad, 0.0), grad)
    return np.abs(grad).max(axis=1)


@pytest.mark.parametrize("start", [None, 0.5, -0.5], ids=["cold", "above", "below"])
@pytest.mark.parametrize("sweeps", [1, 2, 1000])
def test_kkt_residual_is_the_projected_gradient_by_hand(sweeps, start):
    from analog_eqprop.circuits import layered_circuit

    c = layered_circuit([6, 5, 4], seed=4, clamp=(-0.03, 0.03))
    x, _ = _batch(c, seed=5)
    u0 = None if start is None else np.full((len(x), c.n_free), start)  # sweeps from both sides
    op = BCDBackend(max_iter=sweeps, throw=False).operating_point(MNASystem(c), c.edge_g, x, u0=u0)
    _, G, b, lo, hi = _qp(c, x)
    v = op.voltages
    if start is None:
        assert (v <= lo).any() and (v >= hi).any()  # both kinds of clamp are active
    expected = _kkt_by_hand(v, G, b, lo, hi)
    np.testing.assert_allclose(op.residual, expected, rtol=1e-9, atol=1e-12 * np.diag(G).max())
    if sweeps == 1 and start is None:
        assert expected.min() > 1e-9 * np.diag(G).max()  # not converged: the residual has teeth


def test_kkt_residual_with_coupled_pairs():
    c = _differential("resistive")
    x, t = _batch(c, seed=3)
    beta = 20 * float(np.mean(c.edge_g))
    free = BCDBackend().operating_point(MNASystem(c), c.edge_g, x)
    _, G, b, lo, hi = _qp(c, x, beta=beta, target_v=t, ref=free.voltages)
    for sweeps in (2, 1000):
        op = BCDBackend(max_iter=sweeps, throw=False).operating_point(MNASystem(c), c.edge_g, x, beta=beta,
                                                                       target_v=t, ref=free.voltages)
        np.testing.assert_allclose(op.residual, _kkt_by_hand(op.voltages, G, b, lo, hi), rtol=1e-8,
                                   atol=1e-12 * np.diag(G).max())


def test_conductances_to_ground_enter_the_diagonal_with_their_values():
    from dataclasses import replace

    c = drn_circuit([6, 5, 3], seed=1)
    nodes = np.arange(c.n_free)  # every free node (hidden and output) leaks to ground
    g_leak = np.linspace(1e-6, 9e-6, c.n_free)
    leaky = replace(c, edge_a=np.r_[c.edge_a, nodes], edge_b=np.r_[c.edge_b, np.full(c.n_free, -1)],
                    edge_g=np.r_[c.edge_g, g_leak], edge_layer=np.r_[c.edge_layer, np.zeros(c.n_free, int)])
    p = BCDBackend().plan(MNASystem(leaky))
    assert p.ground_e.size == c.n_free
    x, t = _batch(leaky, seed=2)
    op = BCDBackend().operating_point(MNASystem(leaky), leaky.edge_g, x)
    np.testing.assert_allclose(op.voltages, _qp(leaky, x)[0], rtol=0, atol=1e-9)


def test_same_g_is_a_promise_the_solver_trusts():
    """same_g=True skips even looking at g: the previous call's blocks are used as they are."""
    c = drn_circuit([6, 5, 3], seed=1)
    s = MNASystem(c)
    x, _ = _batch(c)
    be = BCDBackend()
    first = be.operating_point(s, c.edge_g, x).voltages
    built = be.plan(s)._built
    trusted = be.operating_point(s, c.edge_g * 2.0, x, same_g=True)  # a broken promise is not detected
    assert be.plan(s)._built is built
    np.testing.assert_array_equal(trusted.voltages, first)
    fresh = be.operating_point(s, c.edge_g * 2.0, x)  # no promise: g is compared, and blocks rebuilt
    assert be.plan(s)._built is not built
    np.testing.assert_allclose(fresh.voltages, first, rtol=0, atol=1e-12)  # (g scaled: the same voltages)
    other = c.edge_g * np.linspace(0.5, 1.5, c.n_edges)
    assert np.abs(be.operating_point(s, other, x).voltages - first).max() > 1e-4


def _free_and_nudged_match_bvls(c, seed=1, scale=0.5):
    x, t = _batch(c, n=4, seed=seed)
    free = BCDBackend().operating_point(MNASystem(c), c.edge_g, x)
    np.testing.assert_allclose(free.voltages, _qp(c, x)[0], rtol=0, atol=1e-9)
    beta = scale * float(np.mean(c.edge_g))
    nudged = BCDBackend().operating_point(MNASystem(c), c.edge_g, x, beta=beta, target_v=t, ref=free.voltages)
    np.testing.assert_allclose(nudged.voltages, _qp(c, x, beta=beta, target_v=t, ref=free.voltages)[0],
                               rtol=0, atol=1e-9)
    assert np.abs(nudged.voltages - free.voltages).max() > 1e-5


def test_reciprocal_amplifiers_with_a_big_weight_block():
    G = circuit_graph([12, 8, 3], seed=3, outputs="differential", amplifier=2.0)
    c = circuit_from_graph(G, clamp=(0.0, None), nudge="resistive", amplifier_back="reciprocal", target_on=0.1,
                           target_off=-0.1)
    assert c.n_amps and c.element("conductance").blocks().size.max() >= 64  # a dense block, amplified copies
    p = BCDBackend().plan(MNASystem(c))
    assert not p._fast_ids  # with amplifiers every edge takes the per-edge set-up
    _free_and_nudged_match_bvls(c)


def test_a_big_block_onto_part_of_a_layer_then_a_whole_one():
    """The input block covers 8 of the 10 hidden nodes (not a whole layer: edge by edge; the other
    two see only the bias rails), the hidden -> output block after it is whole (a slice of g)."""
    c = _reordered()
    t = c.element("conductance")
    first_src = c.terminal_offset("source")
    part = (t.a >= first_src) & (c.source_feature[np.clip(t.a - first_src, 0, c.n_sources - 1)] >= 0) & (t.b >= 8) \
        & (t.b < 10)
    c = c.with_element(t.take(np.flatnonzero(~part)))
    p = BCDBackend().plan(MNASystem(c))
    assert set(p._fast_ids) == {("free", 0, 1)}
    assert p.blocks[(0, 1)].kind == "slice"
    _free_and_nudged_match_bvls(c)


def test_differential_pairs_across_layers():
    c = _differential("resistive")
    layer = c.node_layer.copy()
    layer[c.out_neg] = 2  # the negative sides in a layer of their own: each pair couples two layers
    c = c.with_name("split").__class__.from_dict({**c.to_dict(), "node_layer": layer.tolist()})
    p = BCDBackend().plan(MNASystem(c))
    assert p.coupled and p.pair_links == {(1, 2)} and len(set(p.sweep)) == 3
    _free_and_nudged_match_bvls(c, scale=5.0)


def test_a_pair_nudge_at_the_convexity_limit_is_refused():
    """pos and neg with the same total conductance D: beta = -D/2 makes the pair's 2 x 2 block
    singular ((D - D/2)^2 == (D/2)^2 exactly), the edge of convexity, which is refused."""
    c = _differential("resistive")
    c = c.with_values({"conductance": np.full(c.n_edges, 2.0 ** -12)})  # every conductance alike: same totals
    s = MNASystem(c)
    be = BCDBackend()
    p = be.plan(s)
    diag = p.built(c.edge_g)[2]
    d_pos, d_neg = diag[p.pair_p], diag[p.pair_n]
    assert np.array_equal(d_pos, d_neg)
    x, t = _batch(c, n=2)
    free = be.operating_point(s, c.edge_g, x)
    with pytest.raises(ConfigError, match="non-convex"):
        be.operating_point(s, c.edge_g, x, beta=-float(d_pos[0]) / 2, target_v=t, ref=free.voltages)
    ok = be.operating_point(s, c.edge_g, x, beta=-float(d_pos[0]) / 2 * 0.99, target_v=t, ref=free.voltages)
    assert ok.converged.all()


def test_contradictory_clamps_name_the_node():
    from dataclasses import replace

    c = drn_circuit([3, 4, 2], seed=0)  # hidden nodes clamped from below at 0 V
    low_rail = int(np.flatnonzero((c.source_feature < 0) & (c.source_offset < 0))[0])  # the -1 V bias rail
    bad = replace(c, diode_anode=np.r_[c.diode_anode, 2], diode_cathode=np.r_[c.diode_cathode, c.n_free + low_rail],
                  diode_model=np.r_[c.diode_model, c.diode_model[0]])  # h1_2 also clamped from above at -1 V
    with pytest.raises(ConfigError, match=rf"node {c.nodes[2]} is clamped from below above its upper clamp"):
        BCDBackend().operating_point(MNASystem(bad), bad.edge_g, np.zeros((1, 3)))


def test_a_bad_fresh_g_is_named():
    c = drn_circuit([3, 4, 2], seed=0)
    with pytest.raises(DataError, match=r"^fresh_g must have shape"):
        BCDBackend().operating_point(MNASystem(c), c.edge_g, np.zeros((1, 3)), fresh_g=np.ones(c.n_free + 1))


def test_device_g_passes_the_reference_state_for_current_nudging():
    torch = pytest.importorskip("torch")
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from drn_models import peer_circuit

    from dataclasses import replace

    c = peer_circuit([5, 6, 3], input_gain=2.0, seed=0)  # contiguous weight blocks: g may live on the device
    c = replace(c, nudge="current")  # the injected current needs the free state
    s = MNASystem(c)
    x, t = _batch(c, n=3)
    host = BCDBackend()
    free = host.operating_point(s, c.edge_g, x).voltages
    beta = 0.5 * float(np.mean(c.edge_g))
    ref = host.operating_point(s, c.edge_g, x, beta=beta, target_v=t, ref=free).voltages
    dev = BCDBackend(xp="torch").operating_point(s, torch.tensor(np.array(c.edge_g)), x, beta=beta, target_v=t, ref=free)
    np.testing.assert_allclose(np.asarray(dev.voltages), ref, rtol=0, atol=1e-12)
    assert np.abs(ref - free).max() > 1e-5


def test_torch_sweeps_stop_once_the_change_is_below_tol():
    """With tol > 0 the device sweeps watch every sweep and stop at the first one that moves no
    node by more than tol, as the host sweeps do (not after max_iter)."""
    pytest.importorskip("torch")
    c = drn_circuit([5, 6, 4, 3], seed=0)
    s = MNASystem(c)
    x, _ = _batch(c, n=3)
    host = BCDBackend(tol=1e-10, max_iter=400).operating_point(s, c.edge_g, x)
    dev = BCDBackend(xp="torch", tol=1e-10, max_iter=400).operating_point(s, c.edge_g, x)
    assert 1 < host.iterations < 400 and 1 < dev.iterations < 400
    assert abs(dev.iterations - host.iterations) <= 1 and dev.converged.all()
    assert np.all(dev.extra["max_change"] <= 1e-10)
    np.testing.assert_allclose(dev.voltages, host.voltages, rtol=0, atol=1e-9)


def test_operating_point_reports_its_own_solve_time():
    import time

    c = drn_circuit([5, 6, 3], seed=0)
    x, _ = _batch(c, n=4)
    t0 = time.perf_counter()
    op = BCDBackend().operating_point(MNASystem(c), c.edge_g, x)
    wall = time.perf_counter() - t0
    assert 0.0 < op.seconds <= wall


def test_a_nudge_that_cancels_a_node_exactly_is_refused():
    """beta = -(the output node's total conductance) leaves it with none (diag 0): not a convex
    energy any more; refused, as a larger negative beta is."""
    G = nx.Graph()
    G.add_node("x0", role="input")
    G.add_node("y0", role="output")
    G.add_edge("x0", "y0", weight=1e-3)
    c = circuit_from_graph(G, nudge="resistive")
    s, x, t = MNASystem(c), np.array([[0.5]]), np.array([[0.1]])
    ok = BCDBackend().operating_point(s, c.edge_g, x, beta=-0.5e-3, target_v=t)  # a partial cancel solves
    assert np.isfinite(ok.voltages).all()
    for beta in (-1e-3, -2e-3):
        with pytest.raises(ConfigError, match="non-convex"):
            BCDBackend().operating_point(s, c.edge_g, x, beta=beta, target_v=t)


# -- orientation, one-row blocks and clashes on every key (the 2026-12-03 full run's survivors) ----
def _reversed(c):
    """The same circuit with every conductance's terminals swapped (a conductance has no direction)."""
    t = c.element("conductance")
    return c.with_element(t.replace(a=t.b, b=t.a))


def _amplified():
    G = circuit_graph([12, 8, 3], seed=3, outputs="differential", amplifier=2.0)
    return circuit_from_graph(G, clamp=(0.0, None), nudge="resistive", amplifier_back="reciprocal", target_on=0.1,
                              target_off=-0.1)


@pytest.mark.parametrize("make", [lambda: drn_circuit([8, 10, 8], seed=0), _amplified], ids=["drn", "amplified"])
def test_a_conductance_has_no_direction(make):
    """Edges stored b -> a: free-free edges then end at the first free node (the coupling blocks'
    row/column choice) and at amplified copies (a copy's gain A on the diagonal as g A^2)."""
    c = make()
    r = _reversed(c)
    from analog_eqprop.solvers.bcd_checks import terminal_ends

    qa, _, _ = terminal_ends(r, r.edge_a)
    qb, mb, _ = terminal_ends(r, r.edge_b)
    assert np.any((qa >= 0) & (qb == 0))  # an edge into node 0 from another free node
    assert (np.any((qa >= 0) & (qb >= 0) & (mb != 1.0))) == bool(c.n_amps)  # copies at the b end
    x, _ = _batch(c, n=3, seed=1)
    want = BCDBackend().operating_point(MNASystem(c), c.edge_g, x).voltages
    np.testing.assert_allclose(want, _qp(c, x)[0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(BCDBackend().operating_point(MNASystem(r), r.edge_g, x).voltages, want,
                               rtol=0, atol=1e-12)
    _free_and_nudged_match_bvls(r)


def test_a_dense_block_of_one_source_row():
    """One input source (the -x side removed) wired to a whole 70-node layer: a dense 1 x 70 drive
    block, read as a slice of g."""
    c = drn_circuit([1, 70, 2], seed=0)
    t = c.element("conductance")
    c = c.with_element(t.take(np.flatnonzero(t.a != c.terminal_offset("source") + 1)))
    p = BCDBackend().plan(MNASystem(c))
    assert ("drive", 0, True) in p._fast_ids and p.drive[0][0][0].shape == (1, 70)
    _free_and_nudged_match_bvls(c)


@pytest.mark.parametrize("which", ["free-into-node-0", "drive"])
def test_an_edge_beside_a_dense_block_is_not_lost(which):
    """A parallel edge in a weight block that is otherwise one dense block (a slice of g): the block
    must take the per-edge set-up, whichever end of the extra edge is which -- here one whose free
    end 2 is node 0, and one from an input source into the input block's layer."""
    c = _reordered()
    t = c.element("conductance")
    if which == "drive":
        src = c.terminal_offset("source") + int(np.flatnonzero(c.source_feature >= 0)[0])
        k = int(np.flatnonzero((t.a == src) & (t.b < 10))[0])
        key = ("drive", 0, True)
    else:
        k = int(np.flatnonzero((t.a == 0) & (t.b >= 10) & (t.b < c.n_free))[0])
        key = ("free", 0, 1)
    base_fast = set(BCDBackend().plan(MNASystem(c))._fast_ids)
    assert key in base_fast
    more = t.take(np.r_[np.arange(t.n), k])  # a copy of edge k at the end
    if which != "drive":  # stored output -> node 0
        a, b = more.a.copy(), more.b.copy()
        a[-1], b[-1] = b[-1], a[-1]
        more = more.replace(a=a, b=b)
    both = c.with_element(more)
    p = BCDBackend().plan(MNASystem(both))
    assert set(p._fast_ids) == base_fast - {key}
    _free_and_nudged_match_bvls(both)


# -- precision, memos, promises and nudges (the full run's survivors, 2026-12-03) ------------------
def _node_totals(c) -> np.ndarray:
    """Each free node's total conductance [S] (what a fused update hands the solver as fresh_g)."""
    return np.bincount(np.r_[c.edge_a, c.edge_b], weights=np.r_[c.edge_g, c.edge_g],
                       minlength=c.n_free + c.n_sources + 1)[: c.n_free]


@pytest.mark.parametrize("make", [lambda: drn_circuit([6, 7, 4], seed=2), _amplified, lambda: _differential("current")],
                         ids=["drn", "amplified", "differential-current"])
def test_a_float32_run_computes_in_float32_whatever_the_inputs_dtypes(make):
    """``BCDBackend(dtype="float32")``: g, x, the free state and the fresh totals are rounded to
    float32 first, so float64 inputs, their float32 roundings and float32 arrays give the same
    voltages bit for bit, and every block, drive and diagonal the plan builds is float32."""
    c = make()
    s = MNASystem(c)
    x, t = _batch(c, n=4, seed=3)
    r32 = lambda a: np.asarray(a, np.float32).astype(np.float64)  # noqa: E731
    to32 = lambda a: np.asarray(a, np.float32)  # noqa: E731
    free = BCDBackend(dtype="float32").operating_point(s, c.edge_g, x).voltages.astype(np.float64)
    beta = 0.3 * float(np.mean(c.edge_g))
    runs = []
    for cast in (lambda a: a, r32, to32):
        be = BCDBackend(dtype="float32")
        f = be.operating_point(s, cast(c.edge_g), cast(x))
        n = be.operating_point(s, cast(c.edge_g), cast(x), beta=beta, target_v=t,
                               ref=cast(free) if c.nudge == "current" else None)
        W, drive, diag = be.plan(s)._built
        assert all(w.dtype == np.float32 for w in W.values()) and diag.dtype == np.float32
        assert all(D.dtype == np.float32 for inputs, const in drive for D, _ in inputs)
        assert all(const.dtype == np.float32 for _, const in drive)
        run = [f.voltages, n.voltages]
        if not c.n_amps:  # (the totals shortcut is for circuits whose diagonal is the blocks' sums)
            totals = _node_totals(c)
            g32 = np.array(cast(c.edge_g), np.float32)
            run.append(BCDBackend(dtype="float32").operating_point(s, g32, cast(x), fresh_g=cast(totals)).voltages)
        runs.append(run)
    for a, *others in zip(*runs):
        assert a.dtype == np.float32
        for b in others:
            np.testing.assert_array_equal(a, b)


def test_fresh_totals_are_a_promise_the_solver_trusts():
    """fresh_g with each node's total conductance: the diagonal is taken from the totals, not summed
    again (a training step after the fused update) -- so wrong totals give other voltages."""
    c = drn_circuit([6, 5, 3], seed=1)
    s = MNASystem(c)
    x, _ = _batch(c)
    totals = _node_totals(c)
    honest = BCDBackend().operating_point(s, c.edge_g.copy(), x, fresh_g=totals).voltages
    np.testing.assert_allclose(honest, BCDBackend().operating_point(s, c.edge_g, x).voltages, rtol=0, atol=1e-12)
    lied = BCDBackend().operating_point(s, c.edge_g.copy(), x, fresh_g=2.0 * totals).voltages
    assert np.abs(lied - honest).max() > 1e-3


def test_the_norton_currents_are_memoised_per_input_batch_and_folded_from_the_second():
    """The free and nudged phases of a step share x: its Norton currents are computed once (also
    for the +/-beta phases stacked); a new batch of >= FOLD_BATCH examples, the second one for
    this g, folds +x / -x pairs onto the features first -- the same currents to rounding."""
    from analog_eqprop.solvers.bcd import FOLD_BATCH

    c = drn_circuit([3, 6, 3], seed=0)  # 3 features: 2 x 20 stacked rows are no multiple of them
    s = MNASystem(c)
    p = BCDBackend().plan(s)
    p.built(np.asarray(c.edge_g, float), np.float64)
    x = np.random.default_rng(0).random((FOLD_BATCH + 4, c.n_features))
    first = p.norton(x)
    assert p._n_inputs_seen == 1 and not p._folded
    first[0][:] = 0.0  # the caller's copy: the memo keeps its own
    again = p.norton(x.copy())
    stacked = p.norton(np.vstack([x, x]))
    assert p._n_inputs_seen == 1 and not p._folded
    assert np.abs(again[0]).max() > 0
    for a, b in zip(again, stacked):
        np.testing.assert_array_equal(np.vstack([a, a]), b)
    x2 = np.random.default_rng(1).random((FOLD_BATCH, c.n_features))
    folded = p.norton(x2)
    assert p._n_inputs_seen == 2 and p._folded
    v_src = c.source_voltages(x2)
    want = s.source_drive(c.edge_g, v_src)[:, : c.n_free][:, p.order]
    np.testing.assert_allclose(np.concatenate(folded, axis=1), want, rtol=1e-12, atol=1e-18)
    p.norton(x2[:4])  # a short batch is never folded
    assert p._n_inputs_seen == 3


def test_input_offsets_and_bias_rails_drive_one_layer_together():
    """Input sources with an offset and bias rails feeding the same layer: both parts' constant
    currents add up."""
    G = circuit_graph([5, 40, 3], seed=4)
    for n, d in G.nodes(data=True):
        if d.get("role") == "input":
            d["offset"] = 0.25
    c = circuit_from_graph(G)
    p = BCDBackend().plan(MNASystem(c))
    assert sum(off is not None for _, off, _ in p.drive[0]) == 2  # inputs and rails, each with offsets
    _free_and_nudged_match_bvls(c)
    # in float32 each part's constant is rounded to float32, then added in float32
    g32 = np.asarray(c.edge_g, np.float32)
    _, drive, _ = p.built(g32, np.float32)
    for k, (parts, (_, const)) in enumerate(zip(p.drive, drive)):
        want = np.zeros(const.size, np.float32)
        for gat, off, _ in parts:
            if off is not None:
                want += (off @ gat.build(g32)).astype(np.float32)
        np.testing.assert_array_equal(const, want)


@pytest.mark.parametrize("tol, max_iter", [(0.0, 3), (0.0, 7), (1e-9, 400)])
def test_torch_sweeps_report_as_the_host_sweeps(tol, max_iter):
    """The device sweeps count and measure as the host's: with tol = 0 every sweep runs and the
    last one's change (the largest over all layers) is reported, also on a single layer, whose
    second sweep already changes nothing."""
    pytest.importorskip("torch")
    for c in (drn_circuit([5, 6, 4, 3], seed=0), drn_circuit([4, 3], seed=0)):
        s = MNASystem(c)
        x, _ = _batch(c, n=3)
        host = BCDBackend(tol=tol, max_iter=max_iter, throw=False).operating_point(s, c.edge_g, x)
        dev = BCDBackend(xp="torch", tol=tol, max_iter=max_iter, throw=False).operating_point(s, c.edge_g, x)
        assert dev.iterations == host.iterations and dev.converged.tolist() == host.converged.tolist()
        if tol == 0.0:
            assert host.iterations == max_iter
        np.testing.assert_allclose(dev.extra["max_change"], host.extra["max_change"], rtol=1e-6, atol=1e-15)


def _pairs_first():
    """Outputs only, differential, the first free node the negative side of class 0."""
    G = nx.Graph()
    for i in range(3):
        G.add_node(f"x{i}", role="input")
    rng = np.random.default_rng(7)
    for cls in range(2):
        for pol in (-1, 1):
            y = f"y{cls}{'n' if pol < 0 else 'p'}"
            G.add_node(y, role="output", output_index=cls, polarity=pol, clamp_low=0.0)
            for i in range(3):
                G.add_edge(f"x{i}", y, weight=float(rng.uniform(1e-6, 5e-6)))
    return circuit_from_graph(G, nudge="resistive", target_on=0.1, target_off=-0.1)


def _hidden_last(sizes=None):
    """_differential (or the same on ``sizes``) with its hidden layer numbered after the outputs: the
    outputs' positions in layer order come first, the last free node is hidden."""
    if sizes is None:
        c = _differential("resistive")
    else:
            c = circuit_from_graph(circuit_graph(sizes, seed=3, outputs="differential"), clamp=(0.0, None),
                               nudge="resistive", target_on=0.1, target_off=-0.1)
    layer = np.asarray(c.node_layer).copy()
    hidden = layer == layer.min()
    layer[hidden] = layer.max() + 1
    return c.__class__.from_dict({**c.to_dict(), "node_layer": layer.tolist()})


@pytest.mark.parametrize("make", [_pairs_first, _hidden_last], ids=["neg-is-node-0", "hidden-last"])
def test_resistive_pairs_wherever_their_nodes_sit(make):
    c = make()
    p = BCDBackend().plan(MNASystem(c))
    assert p.coupled
    if make is _pairs_first:
        assert 0 in c.out_neg
    else:
        assert max(p.pos[c.out_pos].max(), p.pos[c.out_neg].max()) < c.n_free - 1
    _free_and_nudged_match_bvls(c, scale=5.0)


def test_a_non_convex_nudge_names_the_node_it_cancels():
    G = nx.Graph()
    G.add_node("x0", role="input")
    G.add_node("y0", role="output")
    G.add_node("y1", role="output")
    G.add_edge("x0", "y0", weight=2e-3)
    G.add_edge("x0", "y1", weight=1e-3)
    c = circuit_from_graph(G, nudge="resistive")
    x, t = np.array([[0.5]]), np.array([[0.1, -0.1]])
    with pytest.raises(ConfigError, match="output node y1 "):
        BCDBackend().operating_point(MNASystem(c), c.edge_g, x, beta=-1e-3, target_v=t)


def test_a_float32_free_state_is_read_in_float64():
    """Current-mode nudging of differential outputs reads V(pos) - V(neg) of the free state in
    float64 (a float32 state's difference, rounded in float32, would move the nudge currents)."""
    c = _differential("current")
    s = MNASystem(c)
    x, t = _batch(c, n=4, seed=5)
    free = BCDBackend().operating_point(s, c.edge_g, x).voltages.astype(np.float32)
    beta = 0.3 * float(np.mean(c.edge_g))
    a = BCDBackend().operating_point(s, c.edge_g, x, beta=beta, target_v=t, ref=free).voltages
    b = BCDBackend().operating_point(s, c.edge_g, x, beta=beta, target_v=t, ref=free.astype(np.float64)).voltages
    np.testing.assert_array_equal(a, b)


# -- block plans of unusual layouts (the full run's last survivors) --------------------------------
def _leaky_reversed():
    """Every free node leaks to ground through a conductance stored ground -> node."""
    from dataclasses import replace

    c = drn_circuit([6, 5, 3], seed=1)
    nodes = np.arange(c.n_free)
    return replace(c, edge_a=np.r_[c.edge_a, np.full(c.n_free, -1)], edge_b=np.r_[c.edge_b, nodes],
                   edge_g=np.r_[c.edge_g, np.linspace(1e-6, 9e-6, c.n_free)],
                   edge_layer=np.r_[c.edge_layer, np.zeros(c.n_free, int)])


def _own_copy(node_first: bool = False):
    """A hidden node wired to its own amplified copy (g (A - 1)^2 on its diagonal), stored copy ->
    node (or node -> copy)."""
    a = _amplified()
    t = a.element("conductance")
    more = t.take(np.r_[np.arange(t.n), 0])
    A, B, g = more.a.copy(), more.b.copy(), more.g.copy()
    A[-1], B[-1], g[-1] = a.n_free + a.n_sources + 2, a.amp_node[2], 3e-6  # copy of amplifier 2 -> its node
    if node_first:
        A[-1], B[-1] = B[-1], A[-1]
    return a.with_element(more.replace(a=A, b=B, g=g))


def _interleaved():
    """drn [8, 10, 8] whose node 9 (hidden) joins the outputs' layer and node 10 (an output) the
    hidden one, the edges that would couple within a layer removed: the dense input block still
    covers nodes 0..9, ten nodes from the first of a ten-node layer -- which is not that layer."""
    c = drn_circuit([8, 10, 8], seed=0)
    t = c.element("conductance")
    drop = ((t.a < 9) & (t.b == 10)) | ((t.b < 9) & (t.a == 10)) | ((t.a == 9) & (t.b > 10) & (t.b < 18)) \
        | ((t.b == 9) & (t.a > 10) & (t.a < 18))
    c = c.with_element(t.take(np.flatnonzero(~drop)))
    layer = np.asarray(c.node_layer).copy()
    layer[9], layer[10] = layer[10], layer[9]
    return c.__class__.from_dict({**c.to_dict(), "node_layer": layer.tolist()})


def _partial_rows():
    """_reordered without hidden nodes 8 and 9's output edges: an 8 x 8 dense block from part of the
    hidden layer into the whole output layer."""
    c = _reordered()
    t = c.element("conductance")
    return c.with_element(t.take(np.flatnonzero(~((t.a >= 8) & (t.a < 10) & (t.b >= 10) & (t.b < c.n_free)))))


def _three_layers_row_major():
    """drn [8, 10, 10, 8] with every free-free block's edges in row-major order: slices of g between
    layers 0-1 and 1-2 as well."""
    c = drn_circuit([8, 10, 10, 8], seed=0)
    t = c.element("conductance")
    free = (t.a >= 0) & (t.a < c.n_free) & (t.b >= 0) & (t.b < c.n_free)
    idx = np.flatnonzero(free)
    idx = idx[np.lexsort((t.b[idx], t.a[idx]))]
    return c.with_element(t.take(np.r_[np.flatnonzero(~free), idx]))


def _rail_block(mixed: bool = False):
    """70 hidden nodes each wired to a 0.4 V rail (a dense 1 x 70 block of a constant source that is
    not the first source), the inputs to a few; ``mixed``: both inputs and the rail wired to all,
    one dense 3 x 70 block of input and constant rows."""
    G = nx.Graph()
    G.add_node("x0", role="input")
    G.add_node("x1", role="input")
    G.add_node("vb", role="bias", voltage=0.4)
    hs = [f"h{i}" for i in range(70)]
    for h in hs:
        G.add_node(h, role="hidden", clamp_low=0.0)
    G.add_node("y0", role="output")
    G.add_node("y1", role="output")
    rng = np.random.default_rng(0)
    for s in (["x0", "x1", "vb"] if mixed else ["vb"]):
        for h in hs:
            G.add_edge(s, h, weight=float(rng.uniform(1e-6, 5e-6)))
    if not mixed:
        for h in hs[:10]:
            G.add_edge("x0", h, weight=2e-6)
        for h in hs[10:20]:
            G.add_edge("x1", h, weight=2e-6)
    for h in hs:
        for y in ("y0", "y1"):
            G.add_edge(h, y, weight=float(rng.uniform(1e-6, 5e-6)))
    return circuit_from_graph(G)


_LAYOUTS = {
    "reversed-leaks": (_leaky_reversed, None),
    "own-amplified-copy": (_own_copy, None),
    "own-amplified-copy-stored-node-first": (lambda: _own_copy(node_first=True), None),
    "interleaved-layer": (_interleaved, set()),
    "partial-rows-into-a-whole-layer": (_partial_rows, {("drive", 0, True)}),
    "three-layers-of-slices": (_three_layers_row_major, {("free", 0, 1), ("free", 1, 2), ("drive", 0, True)}),
    "rail-block": (_rail_block, {("drive", 0, False), ("free", 0, 1)}),
    "mixed-input-and-rail-block": (lambda: _rail_block(mixed=True), {("free", 0, 1)}),
    # 40 hidden nodes first in node order but numbered after the outputs: the layer order must keep
    # each layer's nodes in node order (a stable sort), which the dense input block's slice assumes
    "big-hidden-layer-numbered-last": (lambda: _hidden_last([12, 40, 10]), {("drive", 1, True)}),
}


@pytest.mark.parametrize("name", list(_LAYOUTS))
def test_block_plans_of_unusual_layouts_solve_the_qp(name):
    make, fast = _LAYOUTS[name]
    c = make()
    p = BCDBackend().plan(MNASystem(c))
    if fast is not None:  # which blocks are read as slices of g (the rest edge by edge)
        assert set(p._fast_ids) == fast
    _free_and_nudged_match_bvls(c)


def test_a_layer_that_a_feature_does_not_drive_folds_its_inputs_too():
    """x4 drives the outputs only: layer 0's fold map still has a row per feature (the second batch
    of 16, for one g, is folded)."""
    G = nx.Graph()
    rng = np.random.default_rng(2)
    for i in range(5):
        G.add_node(f"x{i}", role="input")
    for j in range(6):
        G.add_node(f"h{j}", role="hidden", clamp_low=0.0)
        for i in range(4):
            G.add_edge(f"x{i}", f"h{j}", weight=float(rng.uniform(1e-6, 5e-6)))
    for y in ("y0", "y1"):
        G.add_node(y, role="output")
        G.add_edge("x4", y, weight=2e-6)
        for j in range(6):
            G.add_edge(f"h{j}", y, weight=float(rng.uniform(1e-6, 5e-6)))
    c = circuit_from_graph(G)
    s, be = MNASystem(c), BCDBackend()
    for seed in (0, 1):
        x = np.random.default_rng(seed).random((16, 5))
        v = be.operating_point(s, c.edge_g, x).voltages
    assert be.plan(s)._folded  # the second batch was folded
    np.testing.assert_allclose(v, _qp(c, x)[0], rtol=0, atol=1e-9)


def test_float32_norton_currents_are_float32_products():
    """A float32 plan's Norton currents: the inputs times their gains, times the block, in float32
    (as the float32 product of those arrays), and its fold maps float32."""
    from analog_eqprop.solvers.bcd import FOLD_BATCH

    c = drn_circuit([4, 6, 3], seed=0)
    p = BCDBackend().plan(MNASystem(c))
    g32 = np.asarray(c.edge_g, np.float32)
    _, drive, _ = p.built(g32, np.float32)
    x = np.random.default_rng(0).random((3, 4))
    b = p.norton(x)
    x32 = x.astype(np.float32)
    for bk, (inputs, const) in zip(b, drive):
        want = np.broadcast_to(const, bk.shape).copy()
        for D, F in inputs:
            want += np.matmul(x32[:, F[1]] * F[2].astype(np.float32), D)
        assert bk.dtype == np.float32
        np.testing.assert_array_equal(bk, want)
    for seed in (1, 2):  # two new batches of FOLD_BATCH: the second is folded
        p.norton(np.random.default_rng(seed).random((FOLD_BATCH, 4)))
    assert p._folded and all(Dx.dtype == np.float32 for Dx in p._folded.values())


# -- bounds, settings and paths (the full run's last batch) ---------------------------------------
def _input_rail():
    """A hidden node clamped from below by an ideal diode from input x0 (source 0; source 1 is a bias
    rail): a bound that moves with the input, so the plan's bounds are not constant."""
    from analog_eqprop.circuits import Circuit
    from analog_eqprop.circuits.elements import diode_model
    from analog_eqprop.elements import Conductances, Diodes, Outputs, Sources

    nf = 2  # h0 (layer 0), y0 (layer 1); sources x0 (input), vb (bias 0.2 V), x1 (input)
    src = Sources(labels=("x0", "vb", "x1"), role=("input", "bias", "input"), feature=[0, -1, 1], gain=[1, 0, 1],
                  offset=[0, 0.2, 0])
    cond = Conductances(a=[nf, nf + 2, nf + 1, 0], b=[0, 0, 1, 1], g=[1e-5, 2e-5, 1e-5, 3e-5], layer=[0, 0, 1, 1])
    d = Diodes(anode=[nf], cathode=[0], model=[0], models=(diode_model("DIDEAL"),))
    return Circuit("input-rail", ("h0", "y0"), ("hidden", "output"), [0, 1], n_features=2, target_on=0.2,
                   target_off=-0.2, elements=dict(source=src, conductance=cond, diode=d, nudge=Outputs(pos=[1], neg=[-1])))


def _graph_clamps(**clamp):
    G = nx.Graph()
    rng = np.random.default_rng(4)
    for i in range(3):
        G.add_node(f"x{i}", role="input")
    for j in range(4):
        G.add_node(f"h{j}", role="hidden", **clamp)
        for i in range(3):
            G.add_edge(f"x{i}", f"h{j}", weight=float(rng.uniform(1e-6, 5e-6)))
    for y in ("y0", "y1"):
        G.add_node(y, role="output")
        for j in range(4):
            G.add_edge(f"h{j}", y, weight=float(rng.uniform(1e-6, 5e-6)))
    return circuit_from_graph(G)


@pytest.mark.parametrize("make", [_input_rail, lambda: _graph_clamps(clamp_high=0.3),
                                  lambda: _graph_clamps(clamp_low=0.25, clamp_high=0.25)],
                         ids=["input-rail", "upper-clamps-only", "pinned-by-equal-clamps"])
def test_clamps_that_move_with_the_input_or_clamp_from_above_or_pin(make):
    c = make()
    p = BCDBackend().plan(MNASystem(c))
    assert p.bounds_const == (make is not _input_rail)
    x = np.random.default_rng(1).uniform(-0.2, 1, (6, c.n_features))
    v = BCDBackend().operating_point(MNASystem(c), c.edge_g, x).voltages
    if p.bounds_const and np.isfinite(p.hi).any():
        assert np.isclose(v, 0.3, rtol=0, atol=1e-12).any() or np.isclose(v, 0.25, rtol=0, atol=1e-12).all()
    fin = np.isfinite(p.lo) if p.bounds_const else np.zeros(1, bool)
    pinned = bool(fin.any()) and np.array_equal(p.lo[fin], p.hi[fin])
    # equal bounds (which BVLS refuses): every hidden node pinned at 0.25 V, and the outputs, fed only by them
    want = np.full_like(v, 0.25) if pinned else _qp(c, x)[0]
    np.testing.assert_allclose(v, want, rtol=0, atol=1e-9)
    assert np.ptp(v[:, 0]) > 1e-3 or make is not _input_rail  # the bound moved with x0


def test_backend_settings_reach_the_namespace_and_the_capabilities():
    pytest.importorskip("torch")
    assert BCDBackend(xp="torch", device="meta").namespace.device == "meta"
    cap = BCDBackend().capabilities
    assert (cap.current_sources, cap.same_conductances, cap.fresh_conductances, cap.per_example_beta) == (True,) * 4


def test_a_torch_g_on_each_path():
    """The host backend takes a (CPU) torch g as an array; a device backend keeps it on the device,
    which needs layered blocks (refused, naming the block, for a graph-built DRN)."""
    torch = pytest.importorskip("torch")
    c = drn_circuit([3, 4, 2], seed=0)
    s = MNASystem(c)
    x, _ = _batch(c, n=2)
    np.testing.assert_array_equal(BCDBackend().operating_point(s, torch.tensor(np.array(c.edge_g)), x).voltages,
                                  BCDBackend().operating_point(s, c.edge_g, x).voltages)
    with pytest.raises(ConfigError, match="keep g on the host"):
        BCDBackend(xp="torch").operating_point(s, torch.tensor(np.array(c.edge_g)), x)


def test_fresh_g_forms_are_checked_or_trusted_as_documented():
    c = drn_circuit([3, 4, 2], seed=0)
    s = MNASystem(c)
    x, _ = _batch(c, n=2)
    want = BCDBackend().operating_point(s, c.edge_g, x).voltages
    np.testing.assert_array_equal(BCDBackend().operating_point(s, c.edge_g.copy(), x, fresh_g=True).voltages, want)
    with pytest.raises(DataError, match=r"^fresh_g must have shape"):  # a list, the wrong length
        BCDBackend().operating_point(s, c.edge_g, x, fresh_g=[1.0] * (c.n_free + 1))
    bad = c.edge_g.copy()
    bad[3] = np.nan
    with pytest.raises(DataError, match=r"g\[3\] is nan"):  # fresh_g=False promises nothing: g is checked
        BCDBackend().operating_point(s, bad, x, fresh_g=False)


def test_torch_sweeps_on_internal_nodes_report_kkt_only_when_asked():
    """1N4148 clamps (internal nodes, RS taken as 0) with reciprocal amplifiers on the device
    sweeps: the internal nodes as the host's; kkt=False reports NaN residuals."""
    pytest.importorskip("torch")
    from analog_eqprop.circuits import kendall_circuit

    c = kendall_circuit(4, 3, 2, seed=0, clamp=(-0.3, 0.3), amplifier_back="reciprocal")
    s = MNASystem(c)
    x = np.random.default_rng(0).uniform(-1, 1, (3, 4))
    host = BCDBackend().operating_point(s, c.edge_g, x)
    dev = BCDBackend(xp="torch").operating_point(s, c.edge_g, x)
    assert s.n_internal and dev.internal.shape == (3, s.n_internal)
    np.testing.assert_allclose(dev.internal, host.internal, rtol=0, atol=1e-12)
    quiet = BCDBackend(xp="torch", kkt=False).operating_point(s, c.edge_g, x)
    assert np.isnan(quiet.residual).all() and quiet.residual.shape == (3,)
    assert np.isfinite(dev.residual).all()


def test_a_float32_warm_start_keeps_the_run_float32():
    c = drn_circuit([3, 4, 2], seed=0)
    s = MNASystem(c)
    x, _ = _batch(c, n=2)
    free = BCDBackend().operating_point(s, c.edge_g, x)
    op = BCDBackend(dtype="float32").operating_point(s, c.edge_g, x, u0=free.voltages)
    assert op.voltages.dtype == np.float32 and op.extra["max_change"].dtype == np.float32


@pytest.mark.parametrize("make", [_amplified, lambda: _reversed(_amplified()), _own_copy,
                                  lambda: _own_copy(node_first=True), _leaky_reversed],
                         ids=["amplified", "amplified-reversed", "own-copy", "own-copy-node-first", "leaks-reversed"])
def test_the_plans_diagonal_is_the_nodal_matrixs(make):
    """Each free node's total conductance as the plan sums it (edge by edge with amplified copies,
    g A^2 at a copy's end) is the diagonal of the nodal matrix MNASystem stamps -- whichever way
    the edges are stored, clamped or not."""
    c = make()
    s = MNASystem(c)
    p = BCDBackend().plan(s)
    _, _, diag = p.built(np.asarray(c.edge_g, float), np.float64)
    G = s.conductance_matrix(c.edge_g)
    np.testing.assert_allclose(diag, np.diag(G)[: c.n_free][p.order], rtol=1e-13, atol=0)
