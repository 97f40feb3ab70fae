"""Tests of analog_eqprop.netlist.compiler where the owning tests left it loose.

Found by mutation testing (``benchmarks/mutation.py --modules netlist/compiler.py``): the
sweep's defaults and its repeated / bare / save-only decks (the ngspice backend's), the pwl
tables, transient decks, nodesets, ``.options`` values, reading results back from the
simulator's vectors, writing a deck to a file, and the errors that must name what is wrong.
Every check here is on deck text or on arrays, except one that runs ngspice.
"""

from __future__ import annotations

import codecs
import pathlib

import numpy as np
import pytest

from analog_eqprop.circuits import kendall_circuit, layered_circuit
from analog_eqprop.errors import ConfigError, DataError, NetlistError, SimulationError
from analog_eqprop.netlist import compile_netlist, compile_sweep
from analog_eqprop.netlist.compiler import Deck, Netlist, Transient
from analog_eqprop.solvers.ngspice_shared import ngspice_available, run_netlist


def _small():
    """3 free nodes (h1_0, h1_1, y0); sources x0p, x0n, x1p, x1n (gains +1, -1), rails +-1 V."""
    return layered_circuit([2, 2, 1], seed=0, clamp=None)


def _pwl(name: str, nodes: str, kind: str, ys, r: int = 1) -> list[str]:
    """The documented pwl table of one swept element (module docstring of the compiler):
    example k holds v(idx) = k r .. k r + r - 1, the table ends at B r with the last value;
    4 points a line for r == 1, 2 examples a line otherwise."""
    ys = [repr(float(y)) for y in ys]
    if r == 1:
        pts = [f"{k}, {y}" for k, y in enumerate(ys)]
        per = 4
    else:
        pts = [f"{k * r}, {y}, {k * r + r - 1}, {y}" for k, y in enumerate(ys)]
        per = 2
    pts.append(f"{len(ys) * r}, {ys[-1]}")
    lines = [f"b{name} {nodes} {kind}=pwl(v(idx),"]
    lines += ["+ " + ", ".join(pts[i:i + per]) + "," for i in range(0, len(pts), per)]
    lines[-1] = lines[-1][:-1] + ")"
    return lines


# ------------------------------------------------------------------------------ sweeps
def test_sweep_defaults_are_full_form_one_solve_per_point_with_comments_and_no_probes():
    c = _small()
    X = [[0.0, 1.0], [1.0, 0.5]]
    net = compile_sweep(c, None, X)
    assert (net.form, net.analysis, net.n_points, net.repeats, net.sweep_source) == ("full", "dc", 2, 1, "vidx")
    lines = net.lines
    assert ".dc vidx 0 1 1" in lines and lines[-1] == ".end"
    assert not any(line.startswith((".save", ".print")) for line in lines)  # probes=False
    assert "* analog_eqprop netlist, format 1" in lines and "* @sweep points=2 source=vidx" in lines  # comments
    assert not any(line.startswith(("by", "bz", "iy", "iz")) for line in lines)  # beta = 0: no nudge
    assert lines[-3:-1] == ["* models, options, outputs, analysis", ".dc vidx 0 1 1"]
    assert lines[2].startswith("* circuit layered-2-2-1: 3 free nodes (2 hidden, 1 output), 6 sources (4 input, 2 bias)")
    assert lines[3] == "* 16 conductances, 0 diodes; full form, a .dc sweep over 2 examples."
    explicit = compile_sweep(c, None, X, beta=0.0, form="full", probes=False, repeats=1, comments=True)
    assert net.text == explicit.text
    # one example is a sweep too
    one = compile_sweep(c, None, [[0.25, 0.5]])
    assert one.n_points == 1 and ".dc vidx 0 0 1" in one.lines and _pwl("s0", "x0p 0", "V", [0.25]) == \
        one.lines[one.lines.index("bs0 x0p 0 V=pwl(v(idx),"):][:2]


def test_bare_repeated_save_only_sweep_is_exactly_the_backends_deck():
    """compile_sweep(..., repeats=2, comments=False, probes="save") -- what the ngspice backend
    writes: no comment line, pwl tables with a flat segment per example, .save only, and a
    .dc over B * repeats points."""
    c = _small()
    X = np.array([[0.0, 1.0], [1.0, 0.5], [0.2, 0.3]])
    net = compile_sweep(c, None, X, repeats=2, comments=False, probes="save")
    assert net.repeats == 2 and net.n_points == 3
    lines = net.lines
    assert lines[0] == "analog_eqprop layered-2-2-1" and not any(line.startswith("*") for line in lines)
    want = []
    for s, (f, gain) in enumerate([(0, 1.0), (0, -1.0), (1, 1.0), (1, -1.0)]):
        want += _pwl(f"s{s}", f"{('x0p', 'x0n', 'x1p', 'x1n')[s]} 0", "V", gain * X[:, f] + 0.0, r=2)  # + offset 0: no -0.0
    want += ["vs4 vbias0 0 1.0", "vs5 vbias1 0 -1.0", "vidx idx 0 0"]
    assert lines[1:len(want) + 1] == want
    assert sum(line.startswith("r") for line in lines) == c.n_edges
    assert lines[-3:] == [".save v(h1_0) v(h1_1) v(y0)", ".dc vidx 0 5 1", ".end"]
    # repeats=3: 3 solves per example, the table's points at 0, 2 | 3, 5 | 6, 8 | 9
    three = compile_sweep(c, None, X, repeats=3, comments=False)
    start = three.lines.index("bs0 x0p 0 V=pwl(v(idx),")
    assert three.lines[start:start + 3] == ["bs0 x0p 0 V=pwl(v(idx),", "+ 0, 0.0, 2, 0.0, 3, 1.0, 5, 1.0,",
                                            "+ 6, 0.2, 8, 0.2, 9, 0.2)"]
    assert ".dc vidx 0 8 1" in three.lines
    # comments=False drops the comments, nothing else
    full = compile_sweep(c, None, X, repeats=2, probes="save")
    assert [line for line in full.lines if not line.startswith("*")] == lines


def test_sweep_pwl_tables_of_inputs_norton_currents_and_nudges():
    c = _small()
    X = np.arange(10).reshape(5, 2) / 10
    lines = compile_sweep(c, None, X, comments=False).lines
    start = lines.index("bs1 x0n 0 V=pwl(v(idx),")
    assert lines[start:start + 3] == _pwl("s1", "x0n 0", "V", -X[:, 0] + 0.0) == [
        "bs1 x0n 0 V=pwl(v(idx),", "+ 0, 0.0, 1, -0.2, 2, -0.4, 3, -0.6,", "+ 4, -0.8, 5, -0.8)"]
    # current-mode nudge: I = -beta (V_out(ref) - target) into y0, one table (B examples)
    ref = np.array([[0.0, 0.0, 0.25], [0.0, 0.0, -0.5]])
    swept = compile_sweep(c, None, X[:2], beta=0.5, target=[[1.0], [0.0]], nudge_ref=ref, comments=False).lines
    start = swept.index("by0 0 y0 I=pwl(v(idx),")
    assert swept[start:start + 2] == _pwl("y0", "0 y0", "I", [-0.5 * (0.25 - 1.0), -0.5 * (-0.5 - 0.0)])
    # resistive nudge: the target voltage source is the table
    res = layered_circuit([2, 2, 1], seed=0, clamp=None, nudge="resistive")
    swept = compile_sweep(res, None, X[:3], beta=0.5, target=[[1.0], [0.0], [1.0]], comments=False).lines
    start = next(i for i, line in enumerate(swept) if line.startswith("by0 "))
    assert swept[start:start + 2] == _pwl("y0", swept[start].split()[1] + " 0", "V", [1.0, 0.0, 1.0])
    # Norton form: one current table per free node the inputs touch, values sum(g V)
    nort = compile_sweep(c, None, X[:2], form="norton", comments=False).lines
    g = c.edge_g
    v_src = c.source_voltages(X[:2])
    for j in range(2):  # h1_0, h1_1: the hidden nodes the inputs reach
        on = [(k, c.edge_a[k] - c.n_free) for k in range(c.n_edges)
              if c.edge_b[k] == j and c.n_free <= c.edge_a[k] < c.n_free + 4]
        cur = [sum(g[k] * v_src[b, s] for k, s in on) for b in range(2)]
        start = nort.index(f"bn{j} 0 h1_{j} I=pwl(v(idx),")
        got = [float(v) for v in nort[start + 1][2:-1].split(", ")[1::2]]
        np.testing.assert_allclose(got, cur + [cur[-1]], rtol=1e-14, atol=0)


def test_sweep_refuses_bad_batches_naming_them():
    c = _small()
    with pytest.raises(DataError, match=r"X must have shape \(B, 2\) with B >= 1, got \(0, 2\)"):
        compile_sweep(c, None, np.zeros((0, 2)))
    with pytest.raises(DataError, match=r"X must have shape \(B, 2\) with B >= 1, got \(2,\)"):
        compile_sweep(c, None, np.zeros(2))
    with pytest.raises(DataError, match=r"X must have shape \(3, 2\), got \(3, 4\)"):
        compile_sweep(c, None, np.zeros((3, 4)))
    with pytest.raises(DataError, match=r"X\[1, 0\] is nan; X must be finite"):
        compile_sweep(c, None, [[0.0, 0.0], [np.nan, 0.0]])
    with pytest.raises(DataError, match=r"target must have shape \(2, 1\), got \(3, 1\)"):
        compile_sweep(c, None, np.zeros((2, 2)), beta=0.1, target=np.zeros((3, 1)), nudge_ref=np.zeros((2, 3)))
    with pytest.raises(DataError, match=r"nudge_ref must have shape \(2, 3\), got \(1, 3\)"):
        compile_sweep(c, None, np.zeros((2, 2)), beta=0.1, target=np.zeros((2, 1)), nudge_ref=np.zeros((1, 3)))
    with pytest.raises(NetlistError, match="repeats must be >= 1, got 0"):
        compile_sweep(c, None, np.zeros((2, 2)), repeats=0)
    with pytest.raises(NetlistError, match="probes must be True, False or 'save'"):
        compile_sweep(c, None, np.zeros((2, 2)), probes="print")
    # text or ragged rows: a DataError naming X, never a NumPy traceback (found by this file's review)
    with pytest.raises(DataError, match=r"X must be an array of numbers of shape \(B, 2\)"):
        compile_sweep(c, None, [[0.1, 0.2], [0.3]])
    with pytest.raises(DataError, match=r"X must be an array of numbers of shape \(B, 2\)"):
        compile_sweep(c, None, [["a", "b"]])
    # integer features are features: the same deck as their float values
    assert compile_sweep(c, None, [[0, 1], [1, 0]]).text == compile_sweep(c, None, [[0.0, 1.0], [1.0, 0.0]]).text


def test_sweep_probes_print_dc_and_op_decks_print_op():
    c = _small()
    sweep = compile_sweep(c, None, np.zeros((2, 2)), probes=True).lines
    assert ".save v(h1_0) v(h1_1) v(y0)" in sweep and ".print dc v(h1_0) v(h1_1) v(y0)" in sweep
    op = compile_netlist(c, x=[0.1, 0.2]).lines  # probes=True by default
    assert op[-4:] == [".save v(h1_0) v(h1_1) v(y0)", ".print op v(h1_0) v(h1_1) v(y0)", ".op", ".end"]
    assert not any(line.startswith((".save", ".print")) for line in compile_netlist(c, probes=False).lines)
    save = compile_netlist(c, probes="save").lines
    assert ".save v(h1_0) v(h1_1) v(y0)" in save and not any(line.startswith(".print") for line in save)
    # more than 8 free nodes: 8 a line
    k = kendall_circuit(6, 6, 3, seed=0)
    lines = compile_netlist(k).lines
    saves = [line for line in lines if line.startswith(".save")]
    assert saves == [".save " + " ".join(f"v({n})" for n in k.nodes[:8]),
                     ".save " + " ".join(f"v({n})" for n in k.nodes[8:])]


def test_sweep_index_node_avoids_a_free_node_called_idx():
    import networkx as nx

    from analog_eqprop.circuits import circuit_from_graph

    G = nx.Graph()
    G.add_node("in", role="input", feature=0)
    G.add_node("idx", role="hidden", layer=1)
    G.add_node("out", role="output", layer=2, output_index=0)
    G.add_edge("in", "idx", weight=1e-6)
    G.add_edge("idx", "out", weight=2e-6)
    c = circuit_from_graph(G)
    lines = compile_sweep(c, None, [[0.1], [0.2]], comments=False).lines
    index = [line for line in lines if line.startswith("vidx ")]
    assert index == ["vidx idx_1 0 0"] and lines[1].endswith("=pwl(v(idx_1),")


def test_free_node_layer_comments_count_runs_and_roles():
    """One comment per run of free nodes in one layer: its size and its roles (a layer may mix
    hidden and output nodes; a circuit's free nodes may leave a layer and come back to it)."""
    from dataclasses import replace

    import networkx as nx

    from analog_eqprop.circuits import circuit_from_graph

    G = nx.Graph()
    G.add_node("in", role="input", feature=0)
    for name, layer in (("a", 1), ("b", 2), ("c", 1)):
        G.add_node(name, role="hidden", layer=layer)
    G.add_node("out", role="output", layer=2, output_index=0)
    G.add_weighted_edges_from((u, v, 1e-6) for u, v in [("in", "a"), ("in", "c"), ("a", "b"), ("c", "b"),
                                                        ("b", "out"), ("a", "out")])
    c = circuit_from_graph(G)
    assert c.nodes == ("a", "c", "b", "out")
    heads = lambda circuit: [line for line in compile_netlist(circuit).lines  # noqa: E731
                             if line.startswith("* layer") and line.endswith(" nodes")]
    assert heads(c) == ["* layer 0 (layer1): 2 hidden nodes", "* layer 1 (layer2): 2 hidden/output nodes"]
    back_and_forth = replace(c, node_layer=np.array([0, 1, 0, 1]))
    assert heads(back_and_forth) == ["* layer 0 (layer1): 1 hidden nodes", "* layer 1 (layer2): 1 hidden nodes",
                                     "* layer 0 (layer1): 1 hidden nodes", "* layer 1 (layer2): 1 output nodes"]


# ------------------------------------------------------------------------------ reading results
def test_free_voltages_of_a_repeated_sweep_keep_the_last_solve_in_example_order():
    c = _small()
    net = compile_sweep(c, None, np.zeros((3, 2)), repeats=2)
    points = np.array([4.0, 5.0, 0.0, 1.0, 2.0, 3.0])  # any order; point p = example p // 2
    vec = {"v-sweep": points, **{n: 10 * points + j for j, n in enumerate(net.free_nodes)}}
    got = net.free_voltages(vec)
    assert got.dtype == np.float64 and got.shape == (3, 3)
    as_ints = net.free_voltages({k: v.astype(np.int64) for k, v in vec.items()})
    assert as_ints.dtype == np.float64 and as_ints.tolist() == got.tolist()
    assert got.tolist() == [[10.0, 11.0, 12.0], [30.0, 31.0, 32.0], [50.0, 51.0, 52.0]]  # points 1, 3, 5
    with pytest.raises(SimulationError, match="expected 6 points, got 5"):
        net.free_voltages({k: v[:5] for k, v in vec.items()})
    with pytest.raises(SimulationError, match="not the examples"):
        net.free_voltages({**vec, "v-sweep": np.array([0.0, 1.0, 2.0, 3.0, 1.0, 5.0])})  # example 2 missing
    with pytest.raises(SimulationError, match="node 'y0' is not among"):
        net.free_voltages({k: v for k, v in vec.items() if k != "y0"})


def test_free_voltages_of_op_and_transient_decks():
    c = _small()
    net = compile_netlist(c, x=[0.1, 0.2])
    # a .op's vectors as plain numbers or integer arrays: one float64 row
    got = net.free_voltages({"h1_0": 0.5, "h1_1": np.array([1]), "y0": np.array([[2]])})
    assert got.dtype == np.float64 and got.tolist() == [[0.5, 1.0, 2.0]]
    ints = net.free_voltages({n: np.array([j]) for j, n in enumerate(net.free_nodes)})
    assert ints.dtype == np.float64 and ints.tolist() == [[0.0, 1.0, 2.0]]  # volts are floats whatever came in
    with pytest.raises(SimulationError, match="expected 1 points, got 2"):
        net.free_voltages({n: np.zeros(2) for n in net.free_nodes})
    tr = compile_netlist(c, x=[0.1, 0.2], transient=Transient(t_stop=1e-9, t_step=1e-10, capacitance=[1e-15] * 3))
    time_rows = {n: np.arange(7.0) + j for j, n in enumerate(tr.free_nodes)}
    got = tr.free_voltages(time_rows)  # every time point, in time order
    assert got.shape == (7, 3) and got[:, 2].tolist() == list(np.arange(7.0) + 2)


def test_free_voltages_of_a_deck_without_free_nodes_is_empty():
    from analog_eqprop.spice.names import NameMap

    net = Netlist(text=".end\n", names=NameMap([]), free_labels=(), free_nodes=(), form="full", analysis="op")
    got = net.free_voltages({})
    assert got.shape == (1, 0)
    net3 = Netlist(text=".end\n", names=NameMap([]), free_labels=(), free_nodes=(), form="full", analysis=None,
                   n_points=3)
    assert net3.free_voltages({}).shape == (3, 0)


@pytest.mark.ngspice
@pytest.mark.skipif(not ngspice_available(), reason="libngspice not installed")
def test_repeated_bare_sweep_in_ngspice_gives_each_examples_operating_point():
    c = kendall_circuit(3, 3, 2, seed=2)
    X = np.random.default_rng(0).random((3, 3))
    opts = {"reltol": 1e-9, "vntol": 1e-12}
    net = compile_sweep(c, None, X, repeats=2, comments=False, probes="save", options=opts)
    swept = net.free_voltages(run_netlist(net.text).vectors)
    for b in range(3):
        one = compile_netlist(c, x=X[b], options=opts)
        np.testing.assert_allclose(swept[b], one.free_voltages(run_netlist(one.text).vectors)[0], atol=1e-9, rtol=0)


# ------------------------------------------------------------------------------ transients
def test_transient_deck_lines():
    c = kendall_circuit(6, 6, 3, seed=0)  # 12 free nodes: two .ic lines
    cap = np.zeros(c.n_free)
    cap[[0, 5, 11]] = [0.5, 1e-15, 2e-12]  # 0.5 F: any capacitance > 0 gets a capacitor
    v0 = np.linspace(-0.5, 0.6, c.n_free)
    net = compile_netlist(c, x=np.zeros(6), transient=Transient(t_stop=2e-9, t_step=2e-9, capacitance=cap, v0=v0))
    lines = net.lines
    assert [line for line in lines if line.startswith("cn")] == ["cn0 h1_0 0 0.5", "cn5 h1_5 0 1e-15",
                                                                 "cn11 y2n 0 2e-12"]
    ic = [f"v({n})={v!r}" for n, v in zip(c.nodes, v0.tolist())]
    assert [line for line in lines if line.startswith(".ic")] == [".ic " + " ".join(ic[:8]), ".ic " + " ".join(ic[8:])]
    assert ".print tran " + " ".join(f"v({n})" for n in c.nodes[8:]) in lines
    assert lines[-2:] == [".tran 2e-09 2e-09 0 2e-09", ".end"]
    assert net.analysis == "tran" and ".op" not in lines
    assert lines[2].startswith("* circuit kendall-12-6-6: 12 free nodes") and "a .tran step response." in lines[3]
    # v0 defaults to 0 V everywhere
    zero = compile_netlist(c, x=np.zeros(6), transient=Transient(t_stop=1e-9, t_step=1e-12, capacitance=cap))
    assert [line for line in zero.lines if line.startswith(".ic")][0] == \
        ".ic " + " ".join(f"v({n})=0.0" for n in c.nodes[:8])


@pytest.mark.parametrize("tr, err, msg", [
    (dict(capacitance=[1e-15] * 2), DataError, r"transient capacitance must have shape \(3,\), got \(2,\)"),
    (dict(capacitance=[1e-15, np.nan, 0.0]), DataError, r"transient capacitance\[1\] is nan"),
    (dict(capacitance=[1e-15, -1e-15, 0.0]), NetlistError, "transient capacitances must be >= 0 F"),
    (dict(v0=[0.0, 0.0]), DataError, r"transient v0 must have shape \(3,\), got \(2,\)"),
    (dict(v0=[0.0, np.inf, 0.0]), DataError, r"transient v0\[1\] is inf"),
    (dict(t_stop=float("inf")), NetlistError, "t_stop is inf"),
    (dict(t_step=float("nan")), NetlistError, "t_step is nan"),
    (dict(t_step=0.0), NetlistError, "0 < t_step <= t_stop"),
    (dict(t_step=2e-9), NetlistError, "0 < t_step <= t_stop"),
])
def test_transient_refusals_name_the_problem(tr, err, msg):
    c = _small()
    kw = dict(t_stop=1e-9, t_step=1e-12, capacitance=[1e-15, 0.0, 2e-15], v0=None) | tr
    with pytest.raises(err, match=msg):
        compile_netlist(c, x=[0.5, 1.0], transient=Transient(**kw))


def test_transient_step_may_equal_the_stop_time_and_zero_capacitances_write_no_capacitor():
    c = _small()
    net = compile_netlist(c, transient=Transient(t_stop=0.5, t_step=0.5, capacitance=[0.0, 0.0, 0.0]))
    assert ".tran 0.5 0.5 0 0.5" in net.lines and not any(line.startswith("cn") for line in net.lines)


# ------------------------------------------------------------------------------ nodesets, options
def test_nodeset_lines_and_refusals():
    k = kendall_circuit(6, 6, 3, seed=0)
    v = np.linspace(-1.0, 1.0, k.n_free)
    lines = compile_netlist(k, x=np.zeros(6), nodeset=v, options={"reltol": 1e-6}).lines
    assert ".options reltol=1e-06" in lines  # the nodeset comes after the options, it does not replace them
    ns = [f"v({n})={x!r}" for n, x in zip(k.nodes, v.tolist())]
    assert [line for line in lines if line.startswith(".nodeset")] == [".nodeset " + " ".join(ns[:8]),
                                                                        ".nodeset " + " ".join(ns[8:])]
    assert not any(line.startswith(".nodeset") for line in compile_netlist(k, x=np.zeros(6)).lines)
    with pytest.raises(DataError, match=r"nodeset must have shape \(12,\), got \(2, 12\)"):
        compile_netlist(k, nodeset=np.zeros((2, 12)))
    with pytest.raises(DataError, match=r"nodeset\[3\] is nan"):
        compile_netlist(k, nodeset=np.r_[np.zeros(3), np.nan, np.zeros(8)])


def test_options_of_every_value_type():
    c = _small()
    opts = {"RELTOL": 1e-6, "noopiter": True, "skipped": False, "itl1": 400, "none": None, "gmin": np.float64(1e-12),
            "itl2": np.int64(7), "method": "gear"}
    lines = compile_netlist(c, options=opts).lines
    assert ".options reltol=1e-06 noopiter itl1=400 gmin=1e-12 itl2=7 method=gear" in lines
    for empty in (None, {}, {"a": False, "b": None}):  # nothing to write: no .options line
        assert not any(line.startswith(".options") for line in compile_netlist(c, options=empty).lines)
    with pytest.raises(NetlistError, match="option name 1 is not"):
        compile_netlist(c, options={1: 2})
    with pytest.raises(NetlistError, match=r"option a: value \[1\] must be a number"):
        compile_netlist(c, options={"a": [1]})
    with pytest.raises(NetlistError, match="option reltol is nan"):
        compile_netlist(c, options={"reltol": float("nan")})


# ------------------------------------------------------------------------------ single decks
def test_single_deck_refusals_name_the_array():
    c = _small()
    with pytest.raises(DataError, match=r"x must have shape \(2,\), got \(2, 2\)"):
        compile_netlist(c, x=np.zeros((2, 2)))
    with pytest.raises(DataError, match=r"x\[1\] is nan; x must be finite"):
        compile_netlist(c, x=[0.0, np.nan])
    with pytest.raises(DataError, match=r"x must be an array of numbers of shape \(2,\)"):
        compile_netlist(c, x=["a", "b"])
    with pytest.raises(DataError, match=r"nodeset must be an array of numbers of shape \(3,\)"):
        compile_netlist(c, nodeset=[[0.0], [1.0, 2.0]])
    with pytest.raises(DataError, match=r"target must be an array of numbers of shape \(2, 1\)"):
        compile_sweep(c, None, np.zeros((2, 2)), beta=0.1, target="high", nudge_ref=np.zeros((2, 3)))
    with pytest.raises(DataError, match=r"g\[3\] is -1.0; g must be finite and > 0"):
        compile_netlist(c, g=np.r_[c.edge_g[:3], -1.0, c.edge_g[4:]])
    with pytest.raises(DataError, match=r"g must have shape \(16,\)"):
        compile_netlist(c, g=c.edge_g[:3])
    with pytest.raises(ConfigError, match="beta must be a finite number"):
        compile_netlist(c, beta=float("nan"), target=[1.0], nudge_ref=np.zeros(3))
    with pytest.raises(NetlistError, match="expected a Circuit, got dict"):
        compile_netlist({})
    # x=None: inputs at 0 V, rails at their offsets, x metadata "none"
    lines = compile_netlist(c).lines
    assert {"vs0 x0p 0 0.0", "vs1 x0n 0 0.0", "vs4 vbias0 0 1.0", "vs5 vbias1 0 -1.0", "* @x none"} <= set(lines)
    lines = compile_netlist(c, x=[0.25, 0.75]).lines
    assert "* @x 0.25 0.75" in lines and "* one .op" not in lines and "full form, one .op." in lines[3]
    assert "no analysis." in compile_netlist(c, analysis=None).lines[3]


def test_titles_and_explicit_nudge_currents_reach_both_kinds_of_deck():
    c = _small()
    assert compile_netlist(c, title="my deck").lines[0] == "my deck"
    assert compile_sweep(c, None, np.zeros((2, 2)), title="my sweep", comments=False).lines[0] == "my sweep"
    current = np.array([[1.5e-7], [-2.5e-7], [0.5e-7]])
    lines = compile_sweep(c, None, np.zeros((3, 2)), beta=1e-6, nudge_current=current, comments=False).lines
    start = lines.index("by0 0 y0 I=pwl(v(idx),")
    assert lines[start:start + 2] == _pwl("y0", "0 y0", "I", current[:, 0])
    lines = compile_netlist(c, beta=1e-6, nudge_current=current[1]).lines
    assert "iy0 0 y0 -2.5e-07" in lines and "* @nudge_current -2.5e-07" in lines


def test_long_names_are_cut_in_comments_and_kept_whole_in_metadata():
    """Comment lines are cut (300 characters for the circuit line and section heads, 200 for a
    free-node layer line); the metadata lines, which parse_netlist reads back, keep every label."""
    from dataclasses import replace

    c = replace(_small(), name="n" * 400, layer_names=("L" * 400, "M"))
    lines = compile_netlist(c).lines
    assert lines[2] == "* " + ("circuit " + "n" * 400)[:300]
    heads = [line for line in lines if line.startswith("* layer 0 (")]
    assert heads == ["* " + ("layer 0 (" + "L" * 400)[:200], "* " + ("layer 0 (" + "L" * 400)[:300]]
    assert "* @layers " + "L" * 400 + " M" in lines and any(("name=" + "n" * 400 + " ") in line for line in lines)


def test_defaults_of_a_single_deck():
    c = _small()
    net = compile_netlist(c)
    assert (net.form, net.analysis, net.n_points, net.repeats, net.sweep_source) == ("full", "op", 1, 1, None)
    assert net.text == compile_netlist(c, None, None, beta=0.0, form="full", analysis="op", probes=True).text
    assert net.lines[0] == "analog_eqprop layered-2-2-1" and net.lines[1] == "* analog_eqprop netlist, format 1"
    assert net.node_names == {"h1_0": "h1_0", "h1_1": "h1_1", "y0": "y0"} and net.n_lines == len(net.lines)
    assert net.names.to_spice("x0n") == "x0n" and net.names.to_label("vbias1") == "vbias1"  # every terminal
    from dataclasses import replace

    assert "* @layers" in compile_netlist(replace(c, layer_names=())).lines  # no names: no trailing space


def test_metadata_lines_hold_eight_numbers_each():
    k = kendall_circuit(10, 3, 2, seed=0)
    x = np.arange(10) / 8
    lines = compile_netlist(k, x=x).lines
    assert [line for line in lines if line.startswith("* @x")] == [
        "* @x " + " ".join(repr(v) for v in x[:8].tolist()), "* @x 1.0 1.125"]


def test_overflowing_nudge_currents_are_refused_by_name():
    """-beta (V(ref) - target) can overflow for a finite but absurd reference: a NetlistError
    naming the element, never 'inf' in a deck."""
    c = _small()
    ref = np.array([0.0, 0.0, 1e308])
    with np.errstate(over="ignore"), pytest.raises(NetlistError, match="nudge current 0 is -inf"):
        compile_netlist(c, beta=10.0, target=[0.0], nudge_ref=ref)
    with np.errstate(over="ignore"), pytest.raises(NetlistError, match="nudge current 0 is -inf"):
        compile_sweep(c, None, np.zeros((2, 2)), beta=10.0, target=np.zeros((2, 1)),
                      nudge_ref=np.stack([np.zeros(3), ref]))  # example 1 only


def test_overflowing_norton_currents_are_refused_by_name():
    """sum(g V) of a finite but absurd input and conductance overflows: the refusal names the
    free node whose Norton current it is (node 1 here; node 0's current stays finite)."""
    c = _small()
    g = c.edge_g.copy()
    g[c.edge_b == 1] *= 1e20  # every edge into h1_1 (index 1)
    x_bad = [0.0, 1e300]
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(NetlistError, match="Norton current 1 is "):
        compile_netlist(c, g, x=x_bad, form="norton")
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(NetlistError, match="Norton current 1 is "):
        compile_sweep(c, g, [x_bad, [0.0, 0.0]], form="norton")


def test_deck_rows_are_float64():
    rows = Deck.rows([1, 2], 2, "t")
    assert rows.dtype == np.float64 and rows.shape == (1, 2)
    assert Deck.rows([[1, 2], [3, 4]], 2, "t", 2).dtype == np.float64
    with pytest.raises(DataError, match=r"t must have shape \(2, 2\), got \(3, 2\)"):
        Deck.rows(np.zeros((3, 2)), 2, "t", 2)
    assert Deck.numbers("k", np.arange(3)) == ["* @k 0.0 1.0 2.0"] and Deck.numbers("k", []) == ["* @k"]


def test_small_goldens_compiled_here_match_the_files():
    """The recipes of netlists/regenerate.py's small goldens, compiled in this test's own body
    (the golden test in test_netlist.py compiles them in a fixture, which a mutation run does
    not attribute to it), byte for byte against the files."""
    from analog_eqprop.circuits import transistor_circuit

    goldens = pathlib.Path(__file__).resolve().parent.parent / "netlists"
    opts = {"reltol": 1e-6, "vntol": 1e-9}
    x = [0.25, 0.75]
    decks = {
        "tiny_layered-2-2-1.cir": compile_netlist(layered_circuit([2, 2, 1], seed=0), x=x, options=opts),
        "tiny_kendall-4-2-4_resistive-nudge.cir": compile_netlist(
            kendall_circuit(2, 2, 2, seed=0, nudge="resistive"), x=x, beta=1e-5, target=[1.0, 0.0], options=opts),
        "tiny_transistor-4-3-2.cir": compile_netlist(transistor_circuit([2, 3, 2], seed=0), x=x, options=opts),
    }
    for name, net in decks.items():
        assert net.text == (goldens / name).read_text(encoding="utf-8"), name


# ------------------------------------------------------------------------------ files
def test_write_asks_for_utf8_and_lf_line_ends(tmp_path, monkeypatch):
    """Netlist.write must give the same bytes on every platform: UTF-8 and '\\n' line ends
    whatever the locale and os.linesep (this machine's defaults are the same, so the test
    checks what write asks of the file, and the bytes)."""
    net = compile_netlist(_small(), x=[0.1, 0.2])
    calls = []
    real = pathlib.Path.write_text

    def spy(self, data, *args, **kwargs):
        calls.append(kwargs)
        return real(self, data, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "write_text", spy)
    p = net.write(str(tmp_path / "deck.cir"))
    assert isinstance(p, pathlib.Path) and p.read_bytes() == net.text.encode("utf-8")
    (kw,) = calls
    assert codecs.lookup(kw["encoding"]).name == "utf-8" and kw["newline"] == "\n"
