"""Big nets from arrays: the array builder against the graph route, dense blocks, lean plans.

* ``dense_circuit`` gives the circuit ``circuit_graph`` + ``circuit_from_graph`` give, table by
  table (values, dtypes, edge order, seeded draws), for every layout it covers; ``drn_circuit``,
  ``layered_circuit`` and ``kendall_circuit`` (now array-built) give the graph route's circuit;
  the peer-comparison circuit (``benchmarks/drn_models.py``) is the one its former hand-written
  builder made;
* ``find_blocks`` partitions any conductance table into dense blocks (checked edge by edge);
* the set-up that works per dense block (connectivity and BCD checks, the BCD and gradient
  plans) gives what the per-edge set-up gives (``MIN_BLOCK`` moved both ways), and training
  is bitwise the same;
* what a big net must not hold (per-conductance index arrays in the plans, the MNA stamps,
  int64 terminal columns, second copies of handed-over columns).

The memory and build-time figures themselves live in ``benchmarks/memory.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from analog_eqprop.circuits import (Circuit, circuit_from_graph, circuit_graph, dense_circuit, drn_circuit,
                                    kendall_circuit, layered_circuit, random_circuit)
from analog_eqprop.elements import Conductances, blocks
from analog_eqprop.elements.base import column, index_column
from analog_eqprop.elements.blocks import find_blocks
from analog_eqprop.errors import ConfigError, GraphError
from analog_eqprop.models import ResistiveNetwork
from analog_eqprop.models.grad_plan import GradPlan
from analog_eqprop.solvers.bcd import BCDBackend, BCDPlan, check_bcd_circuit
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.training import TrainConfig, Trainer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from drn_models import peer_circuit  # noqa: E402


def assert_same_circuit(c1: Circuit, c2: Circuit) -> None:
    """Equal element table by element table: every column's values and dtype, every setting."""
    for name in ("name", "nodes", "node_role", "n_features", "g_min", "g_max", "target_on", "target_off",
                 "layer_names"):
        assert getattr(c1, name) == getattr(c2, name), name
    np.testing.assert_array_equal(c1.node_layer, c2.node_layer)
    assert [t.kind for t in c1.tables()] == [t.kind for t in c2.tables()]
    for t1, t2 in zip(c1.tables(), c2.tables()):
        for f in t1.__dataclass_fields__:
            v1, v2 = getattr(t1, f), getattr(t2, f)
            if isinstance(v1, np.ndarray):
                assert v1.dtype == v2.dtype, (t1.kind, f)
                np.testing.assert_array_equal(v1, v2, err_msg=f"{t1.kind}.{f}")
            else:
                assert v1 == v2, (t1.kind, f)


LAYOUTS = [
    ([4, 3, 2], {}, dict(clamp=(0.0, None))),
    ([4, 3, 2], dict(input_encoding="single", bias_voltages=()), dict(clamp=None)),
    ([4, 5, 3, 2], dict(outputs="differential", amplifier=3.0), dict(diode="D1N4148", clamp=(-0.5, 0.5))),
    ([4, 5, 3, 2], dict(amplifier=2.0, input_gain=3.0, bias_voltages=(0.5,)),
     dict(clamp=(0.2, 0.7), amplifier_back="reciprocal", nudge="resistive")),
    ([5, 2], dict(input_encoding="pm-blocks"), dict(clamp=(None, 0.3))),
    ([3, 4, 4, 2], dict(input_encoding="pm-blocks", g_init=(1e-3, 2e-3)),
     dict(amplifier_back=0.5, target_on=0.3, clamp=(0.0, None), g_min=1e-9)),
]


@pytest.mark.parametrize("sizes,graph_kw,circuit_kw", LAYOUTS)
@pytest.mark.parametrize("seed", [0, 7])
def test_dense_circuit_is_the_graph_routes_circuit(sizes, graph_kw, circuit_kw, seed):
    ref = circuit_from_graph(circuit_graph(sizes, seed=seed, **graph_kw), name="net", **circuit_kw)
    got = dense_circuit(sizes, seed=seed, name="net", **graph_kw, **circuit_kw)
    assert_same_circuit(ref, got)
    assert got.edge_a.dtype == np.int32 and not got.edge_g.flags.writeable


@pytest.mark.parametrize("sizes", [[4, 5, 3], [3, 4, 5, 2], [3, 1, 2]])
def test_split_clamps_are_node_attributes_of_the_graph(sizes):
    G = circuit_graph(sizes, seed=1, input_encoding="pm-blocks", bias_voltages=())
    for _, d in G.nodes(data=True):
        if d["role"] == "hidden":
            low = d["index"] < sizes[d["layer"]] // 2
            d["clamp_low"], d["clamp_high"] = (0.0, None) if low else (None, 0.25)
    ref = circuit_from_graph(G, name="net", clamp=(0.0, 0.25))
    got = dense_circuit(sizes, seed=1, input_encoding="pm-blocks", bias_voltages=(), clamp=(0.0, 0.25),
                        clamp_split=True, name="net")
    assert_same_circuit(ref, got)


def test_given_conductances_and_refusals():
    E = dense_circuit([4, 3, 2]).n_edges
    g = np.linspace(1e-6, 2e-6, E)
    c = dense_circuit([4, 3, 2], g=g)
    np.testing.assert_array_equal(c.edge_g, g)
    g[0] = 5.0
    assert c.edge_g[0] == 1e-6  # a writable array is copied
    with pytest.raises(GraphError, match=r"g\[3\] is -1.0"):
        dense_circuit([4, 3, 2], g=np.where(np.arange(E) == 3, -1.0, 1e-6))
    with pytest.raises(GraphError, match="one conductance per edge"):
        dense_circuit([4, 3, 2], g=np.ones(3))
    with pytest.raises(GraphError, match="input_encoding"):
        dense_circuit([4, 3, 2], input_encoding="x")
    with pytest.raises(GraphError, match="sizes"):
        dense_circuit([4])
    with pytest.raises(GraphError, match="MOSFET"):
        dense_circuit([4, 3, 2], diode="NCLAMP")


def _graph_drn(sizes, seed, **kw):
    G = circuit_graph(list(sizes), seed=seed, input_encoding="pm")
    base = dict(diode="DIDEAL", clamp=(0.0, None), target_on=0.1, target_off=0.0)
    base.update(kw)
    return circuit_from_graph(G, name=f"drn-{'-'.join(map(str, sizes))}", **base)


def test_library_builders_give_the_graph_routes_circuits():
    assert_same_circuit(drn_circuit([6, 5, 4, 3], seed=2), _graph_drn([6, 5, 4, 3], 2))
    assert_same_circuit(drn_circuit([6, 5, 3], seed=1, nudge="resistive", clamp=(0.0, 0.5)),
                        _graph_drn([6, 5, 3], 1, nudge="resistive", clamp=(0.0, 0.5)))
    G = circuit_graph([5, 4, 3], seed=3, input_encoding="pm", outputs="differential", amplifier=4.0)
    ref = circuit_from_graph(G, name="kendall-10-4-6", diode="D1N4148", clamp=(-0.5, 0.5), target_on=0.1,
                             target_off=-0.1)
    assert_same_circuit(kendall_circuit(5, 4, 3, seed=3), ref)
    G = circuit_graph([4, 6, 2], seed=4, input_encoding="single")
    assert_same_circuit(layered_circuit([4, 6, 2], seed=4, graph_kw=dict(input_encoding="single")),
                        circuit_from_graph(G, name="layered-4-6-2", clamp=(0.0, None)))
    # what the array builder does not cover still takes the graph (lateral edges, MOSFET clamps)
    lat = layered_circuit([3, 4, 2], seed=0, graph_kw=dict(lateral=True))
    assert lat.n_edges == circuit_from_graph(circuit_graph([3, 4, 2], seed=0, lateral=True), clamp=(0.0, None)).n_edges
    assert drn_circuit([3, 4, 2], seed=0, diode="NCLAMP").element("mosfet").n == 4


def _old_peer_circuit(sizes, *, input_gain, seed=0, weight_gain=1.0):
    """The hand-written builder benchmarks/drn_models.py had before the library's array builder."""
    from analog_eqprop.circuits import GROUND, load_diode_models

    sizes = [int(s) for s in sizes]
    nx_, hidden, n_out = sizes[0], sizes[1:-1], sizes[-1]
    rng = np.random.default_rng(seed)
    widths = [2 * nx_] + sizes[1:]
    offs = np.concatenate([[0], np.cumsum(sizes[1:])])
    n_free = int(offs[-1])

    def term(k, i):
        return n_free + i if k == 0 else offs[k - 1] + i

    e_a, e_b, e_g, e_l = [], [], [], []
    for k in range(len(widths) - 1):
        m, n = widths[k], widths[k + 1]
        scale = weight_gain / np.sqrt(m)
        g = np.maximum(rng.uniform(-scale, scale, size=(m, n)), 1e-12)
        rows, cols = np.divmod(np.arange(m * n), n)
        e_a.append(term(k, rows))
        e_b.append(term(k + 1, cols))
        e_g.append(g.reshape(-1))
        e_l.append(np.full(m * n, k))
    d_an, d_ca = [], []
    for k, w in enumerate(hidden):
        nodes = offs[k] + np.arange(w)
        half = w // 2
        d_an += [np.full(half, GROUND), nodes[half:]]
        d_ca += [nodes[:half], np.full(w - half, GROUND)]
    return Circuit(
        name=f"peer-drn-{2 * nx_}-{'-'.join(map(str, sizes[1:]))}",
        nodes=tuple([f"h{k + 1}_{i}" for k, w in enumerate(hidden) for i in range(w)] + [f"y{i}" for i in range(n_out)]),
        node_role=tuple(["hidden"] * (n_free - n_out) + ["output"] * n_out),
        node_layer=np.repeat(np.arange(len(sizes) - 1), sizes[1:]),
        sources=tuple([f"x{i}p" for i in range(nx_)] + [f"x{i}n" for i in range(nx_)]),
        source_kind=("input",) * 2 * nx_, source_feature=np.concatenate([np.arange(nx_), np.arange(nx_)]),
        source_gain=np.concatenate([np.full(nx_, input_gain), np.full(nx_, -input_gain)]),
        source_offset=np.zeros(2 * nx_), n_features=nx_,
        edge_a=np.concatenate(e_a), edge_b=np.concatenate(e_b), edge_g=np.concatenate(e_g),
        edge_layer=np.concatenate(e_l), g_min=1e-12, g_max=1e6,
        diode_anode=np.concatenate(d_an), diode_cathode=np.concatenate(d_ca), diode_model=np.zeros(sum(hidden), int),
        models=(load_diode_models()["DIDEAL"],), out_pos=offs[-2] + np.arange(n_out), out_neg=np.full(n_out, -1),
        target_on=1.0, target_off=0.0, nudge="resistive", layer_names=tuple(f"layer{k}" for k in range(len(sizes) - 1)))


@pytest.mark.parametrize("sizes", [[6, 8, 6, 3], [20, 7, 5, 4, 3], [784, 100, 10]])
def test_peer_circuit_is_the_former_hand_built_one(sizes):
    for seed in (0, 5):
        assert_same_circuit(peer_circuit(sizes, input_gain=2.5, seed=seed),
                            _old_peer_circuit(sizes, input_gain=2.5, seed=seed))


# -- dense blocks -----------------------------------------------------------------------------
def _check_partition(a, b, layer, blk):
    covered = np.zeros(len(a), int)
    for k in range(len(blk)):
        e = blk.edges([k])
        covered[e] += 1
        i, j = np.divmod(np.arange(e.size), blk.cols[k])
        np.testing.assert_array_equal(a[e], blk.a0[k] + i)
        np.testing.assert_array_equal(b[e], np.where(blk.b0[k] < 0, -1, blk.b0[k] + j))
        assert np.all(layer[e] == blk.layer[k])
        if blk.b0[k] < 0:
            assert blk.cols[k] == 1
    assert np.all(covered == 1)


@pytest.mark.parametrize("chunk", [3, 1 << 20])
def test_find_blocks_partitions_any_table(chunk):
    rng = np.random.default_rng(0)
    for _ in range(20):
        E = int(rng.integers(1, 60))
        a = rng.integers(-1, 6, E)
        b = rng.integers(-1, 6, E)
        layer = rng.integers(0, 2, E)
        _check_partition(a, b, layer, find_blocks(a, b, layer, chunk=chunk))
    c = peer_circuit([6, 8, 6, 3], input_gain=2.0)
    blk = c.element("conductance").blocks()
    assert blk.rows.tolist() == [12, 8, 6] and blk.cols.tolist() == [8, 6, 3]  # one block per layer
    _check_partition(c.edge_a, c.edge_b, c.edge_layer, find_blocks(c.edge_a, c.edge_b, c.edge_layer, chunk=chunk))
    c = drn_circuit([5, 4, 3], seed=0)
    _check_partition(c.edge_a, c.edge_b, c.edge_layer, c.element("conductance").blocks())


CIRCUITS = {
    "peer": lambda: peer_circuit([6, 8, 6, 3], input_gain=2.0),
    "peer-wide": lambda: peer_circuit([20, 16, 10], input_gain=2.0),
    "drn": lambda: drn_circuit([10, 12, 3], seed=0),
    "layered": lambda: layered_circuit([10, 9, 8, 3], seed=1),
    "reciprocal-amps": lambda: layered_circuit([6, 5, 3], seed=2, graph_kw=dict(amplifier=2.0),
                                               amplifier_back="reciprocal"),
}


def _fresh(c: Circuit) -> Circuit:
    return Circuit.from_dict(c.to_dict())  # new tables: no blocks found yet


@pytest.mark.parametrize("name", sorted(CIRCUITS))
def test_bcd_plan_per_block_is_the_per_edge_plan(name, monkeypatch):
    c = CIRCUITS[name]()
    g = np.random.default_rng(0).uniform(1e-6, 1e-5, c.n_edges)
    built = {}
    for mb in (1, 10 ** 9):
        monkeypatch.setattr(blocks, "MIN_BLOCK", mb)
        p = BCDPlan(MNASystem(_fresh(c)))
        built[mb] = (p, *p.built(g))
    (p1, W1, d1, g1), (p2, W2, d2, g2) = built[1], built[10 ** 9]
    assert list(W1) == list(W2) and p1.sweep == p2.sweep
    assert [p1.blocks[k].kind for k in W1] == [p2.blocks[k].kind for k in W2]
    for k in W1:
        np.testing.assert_array_equal(W1[k], W2[k])
    np.testing.assert_array_equal(g1, g2)
    np.testing.assert_array_equal(p1.ground_e, p2.ground_e)
    for (in1, c1), (in2, c2) in zip(d1, d2):
        np.testing.assert_array_equal(c1, c2)
        for (D1, F1), (D2, F2) in zip(in1, in2):
            np.testing.assert_array_equal(D1, D2)
            assert (F1[0] != F2[0]).nnz == 0
    if name.startswith("peer"):  # whole layers: slices of g set up without index arrays
        assert p1._fast_ids and all(gat.edges is None for gat in p1.blocks.values())


def _same_blocks(p1, p2):
    assert len(p1.blocks) == len(p2.blocks)
    for b1, b2 in zip(p1.blocks, p2.blocks):
        assert b1.keys() == b2.keys()
        for k in b1:
            v1, v2 = b1[k], b2[k]
            if isinstance(v1, np.ndarray) or isinstance(v2, np.ndarray):
                np.testing.assert_array_equal(v1, v2, err_msg=k)
            else:
                assert v1 == v2, k
    for f in ("rest", "rest_layer", "rest_pos", "covered"):
        np.testing.assert_array_equal(getattr(p1, f), getattr(p2, f))


@pytest.mark.parametrize("name", sorted(CIRCUITS) + ["kendall", "random"])
def test_gradient_plan_per_block_is_the_per_edge_plan(name, monkeypatch):
    c = {"kendall": lambda: kendall_circuit(10, 8, 3, seed=0), "random": lambda: random_circuit(6, 10, 3, seed=0),
         **CIRCUITS}[name]()
    plans = []
    for mb in (1, 10 ** 9):
        monkeypatch.setattr(blocks, "MIN_BLOCK", mb)
        f = _fresh(c)
        plans.append(GradPlan(f, f.element("conductance").layer_edges()))
    _same_blocks(*plans)
    # layer selectors as index arrays give the same plan as slices
    f = _fresh(c)
    idx = [np.arange(s.start, s.stop) if isinstance(s, slice) else s for s in f.element("conductance").layer_edges()]
    _same_blocks(plans[0], GradPlan(f, idx))


def test_dense_block_sharing_its_sets_with_other_edges_goes_edge_by_edge(monkeypatch):
    """A whole dense block plus a stray (here parallel, reversed) conductance between the same
    two layers: that block takes the per-edge set-up in both plans, which then agree."""
    d = peer_circuit([6, 8, 6, 3], input_gain=2.0).to_dict()
    d["edge_a"] = d["edge_a"] + [14]  # y0 -> h2_1, parallel to h2_1 -> y0
    d["edge_b"] = d["edge_b"] + [9]
    d["edge_g"] = d["edge_g"] + [3e-2]
    d["edge_layer"] = d["edge_layer"] + [2]
    c = Circuit.from_dict(d)
    g = c.edge_g.copy()
    res = {}
    for mb in (1, 10 ** 9):
        monkeypatch.setattr(blocks, "MIN_BLOCK", mb)
        f = _fresh(c)
        p = BCDPlan(MNASystem(f))
        res[mb] = (p, p.built(g)[0], GradPlan(f, f.element("conductance").layer_edges()))
    (p1, W1, gp1), (_, W2, gp2) = res[1], res[10 ** 9]
    assert ("free", 1, 2) not in p1._fast_ids and ("free", 0, 1) in p1._fast_ids
    assert p1.blocks[(1, 2)].kind == "sum"
    for k in W1:
        np.testing.assert_array_equal(W1[k], W2[k])
    _same_blocks(gp1, gp2)


def test_bcd_checks_per_block_name_the_first_lateral_edge(monkeypatch):
    c = layered_circuit([3, 9, 2], seed=0, graph_kw=dict(lateral=True))
    msgs = []
    for mb in (1, 10 ** 9):
        monkeypatch.setattr(blocks, "MIN_BLOCK", mb)
        with pytest.raises(ConfigError, match="both in layer") as err:
            check_bcd_circuit(_fresh(c))
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1]
    # a block of edges from one layer to itself, found from its ranges alone
    G = circuit_graph([3, 8, 2], seed=0, bias_voltages=())
    for i in range(4):
        for j in range(4, 8):
            G.add_edge(f"h1_{i}", f"h1_{j}", weight=1e-6)
    c = circuit_from_graph(G, clamp=(0.0, None))
    msgs = []
    for mb in (4, 10 ** 9):  # the lateral rows are blocks of 4
        monkeypatch.setattr(blocks, "MIN_BLOCK", mb)
        with pytest.raises(ConfigError, match="joins h1_0 and h1_4") as err:
            check_bcd_circuit(_fresh(c))
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1]


def test_floating_node_found_through_block_stars():
    c = peer_circuit([6, 8, 6, 3], input_gain=2.0)
    d = c.to_dict()
    keep = np.asarray(d["edge_b"]) != 14  # y0's edges go: it floats
    for k in ("edge_a", "edge_b", "edge_g", "edge_layer"):
        d[k] = np.asarray(d[k])[keep]
    with pytest.raises(GraphError, match="node y0 has no path"):
        Circuit.from_dict(d)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_training_is_bitwise_the_same_per_block_and_per_edge(dtype, monkeypatch):
    rng = np.random.default_rng(0)
    x, y = rng.random((24, 6)), rng.integers(0, 3, 24)
    out = []
    for mb in (1, 10 ** 9):
        monkeypatch.setattr(blocks, "MIN_BLOCK", mb)
        for c, lrs in ((_fresh(peer_circuit([6, 8, 6, 3], input_gain=2.0)), (0.02, 0.006, 0.018)),
                       (_fresh(drn_circuit([6, 8, 6, 3], seed=0)), (2e-7, 1e-7, 3e-7))):
            net = ResistiveNetwork(c, backend=BCDBackend(max_iter=4, tol=0, throw=False, kkt=False), dtype=dtype,
                                   bias_currents=True, centered_pairs=True)
            cfg = TrainConfig(epochs=2, batch_size=4, learning_rates=lrs, beta=0.1,
                              beta_mode="centered", optimizer="sgd", persistent=False, shuffle=True, seed=3)
            tr = Trainer(net, cfg, progress=False)
            for _ in range(2):
                tr.train_epoch(x, y)
            out.append({k: v.copy() for k, v in net.params.items()})
    for a, b in zip(out[:2], out[2:]):
        assert a.keys() == b.keys()
        for k in a:
            assert np.all(np.isfinite(a[k]))
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert not np.array_equal(out[1]["g0"], drn_circuit([6, 8, 6, 3], seed=0).edge_g[:96])  # it trained


# -- what a big net must not hold ------------------------------------------------------------------
def test_a_layered_step_builds_no_per_conductance_index_arrays():
    """After a BCD training step on a net of whole dense layers: the gathers are slices, the
    gradient blocks write into slices, the layers are slices of one vector, the MNA stamps were
    never built, and the terminal columns are int32."""
    c = peer_circuit([30, 40, 20, 5], input_gain=2.0)
    net = ResistiveNetwork(c, backend=BCDBackend(max_iter=4, tol=0, throw=False, kkt=False), dtype="float32",
                           bias_currents=True, centered_pairs=True)
    cfg = TrainConfig(epochs=1, batch_size=4, learning_rates=(0.01, 0.01, 0.01), beta=0.5, beta_mode="centered",
                      optimizer="sgd", persistent=False)
    rng = np.random.default_rng(0)
    Trainer(net, cfg, progress=False).train_epoch(rng.random((8, 30)), rng.integers(0, 5, 8))
    plan = net.backend.plan(net.system)
    assert all(gat.kind == "slice" and gat.edges is None for gat in plan.blocks.values())
    assert all(gat.kind == "slice" and gat.edges is None for parts in plan.drive for gat, _, _ in parts)
    assert all(b["out"] is not None and b["flat"] is None for b in net._grad_plan.blocks) and not net._grad_plan.rest.size
    assert all(isinstance(s, slice) for s in net._layer_sel) and "_layer_idx_cache" not in net.__dict__
    assert net.system._stamp_arrays is None
    t = c.element("conductance")
    assert {t.a.dtype, t.b.dtype, t.layer.dtype} == {np.dtype(np.int32)}
    # the numpy backend still builds the stamps when asked
    assert MNASystem(c).g_rows.size


def test_columns_adopt_frozen_arrays_and_check_the_int32_range():
    a = np.arange(5, dtype=np.int32)
    assert column(a, np.int32) is not a  # writable: copied
    a.setflags(write=False)
    assert column(a, np.int32) is a and index_column(a) is a  # read-only and its own: taken
    v = a[1:]
    assert index_column(v) is not v  # a view: copied
    t = Conductances(a=[0, 1], b=[-1, 0], g=[1e-6, 2e-6], layer=[0, 0])
    t2 = t.replace(g=[3e-6, 4e-6])
    assert t2.a is t.a and t2.b is t.b  # replace shares the unchanged columns
    with pytest.raises(GraphError, match="out of range"):
        Conductances(a=[0, 2 ** 31], b=[-1, 0], g=[1e-6, 2e-6], layer=[0, 0])
