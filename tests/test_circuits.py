"""Circuits: builders, the description's checks, diode physics, the NumPy system and EqProp on circuits."""

from __future__ import annotations

from dataclasses import replace

import networkx as nx
import numpy as np
import pytest

from analog_eqprop.circuits import (
    Circuit,
    DiodeModel,
    circuit_from_graph,
    circuit_graph,
    diode_current,
    drn_circuit,
    kendall_circuit,
    layered_circuit,
    parse_model_cards,
    random_circuit,
    thermal_voltage,
)
from analog_eqprop.circuits.config import CircuitConfig, build_circuit
from analog_eqprop.eqprop import cosine, finite_difference_gradient, flatten, gradcheck
from analog_eqprop.errors import ConfigError, ConvergenceError, GraphError
from analog_eqprop.models import ResistiveNetwork
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.solvers.newton import NewtonSolver, solve_dc

from eqprop_bounds import K_CIRCUIT, assert_rows_within_bound, relative_error


# -- builders and the description ---------------------------------------------------------
def test_layered_circuit_counts():
    c = layered_circuit([3, 4, 2], seed=0)
    assert c.n_features == 3 and c.n_sources == 6 + 2  # +/-x pairs and two bias rails
    assert c.n_free == 6 and c.n_outputs == 2
    assert c.n_edges == 6 * 4 + 4 * 2 + 2 * 6
    assert c.n_diodes == 4  # one clamp (from ground at 0 V) per hidden node
    assert c.n_layers == 2 and set(c.edge_layer) == {0, 1}


def test_kendall_circuit_has_amplifiers_and_differential_outputs():
    c = kendall_circuit(16, 5, 3, seed=0)
    assert c.n_features == 16 and c.n_sources == 32 + 2 + 2  # inputs, bias rails, clamp rails
    assert c.n_amps == 5 and np.allclose(c.amp_gain, 4.0) and np.allclose(c.amp_back, 0.25)
    assert c.differential and c.n_outputs == 3 and np.all(c.out_neg >= 0)
    assert c.n_diodes == 10 and c.models[0].name == "D1N4148"
    # hidden->output edges go through the amplified copies
    amp_terms = set(range(c.n_free + c.n_sources, c.n_terminals))
    assert sum(int(a in amp_terms or b in amp_terms) for a, b in zip(c.edge_a, c.edge_b)) == 5 * 6


def test_full_size_kendall_is_1568_100_20():
    c = kendall_circuit(seed=0)
    assert c.name == "kendall-1568-100-20" and c.n_free == 120


def test_random_circuit_is_connected_and_has_lateral_edges():
    for seed in range(5):
        c = random_circuit(4, 6, 3, 0.4, seed=seed)
        same = (c.terminal_kind(c.edge_a) == 0) & (c.terminal_kind(c.edge_b) == 0)
        assert c.n_free == 9
        if seed == 0:
            assert same.any()


def test_build_circuit_presets():
    c = build_circuit([8, 4, 3], CircuitConfig.preset("kendall"), seed=1)
    assert c.differential and c.n_amps == 4
    with pytest.raises(ConfigError, match="unknown circuit builder"):
        CircuitConfig.preset("spiral")
    with pytest.raises(ConfigError, match="g_min"):
        CircuitConfig(g_min=1.0, g_max=0.5)


def _tiny_graph():
    G = nx.Graph()
    G.add_node("x", role="input")
    G.add_node("h", role="hidden")
    G.add_node("y", role="output")
    G.add_edge("x", "h", weight=1e-5)
    G.add_edge("h", "y", weight=2e-5)
    return G


@pytest.mark.parametrize("mutate, msg", [
    (lambda G: G.edges["x", "h"].update(weight=-1e-5), "x"),
    (lambda G: G.edges["x", "h"].update(weight=float("nan")), "nan"),
    (lambda G: (G.add_node("b", role="bias"), G.add_edge("b", "h", weight=1e-5)), "no 'voltage'"),
    (lambda G: G.nodes["y"].update(polarity=2), "polarity"),
    (lambda G: G.nodes["h"].update(diode="NOPE", clamp_low=0.0), "unknown diode model 'NOPE'"),
])
def test_bad_circuit_graphs_are_named(mutate, msg):
    G = _tiny_graph()
    mutate(G)
    with pytest.raises(GraphError, match=msg):
        circuit_from_graph(G)


def test_floating_node_is_rejected():
    c = layered_circuit([2, 2, 1], seed=0)
    keep = c.edge_b != 0  # cut every edge into node 0 ... except its diode to ground
    keep &= c.edge_a != 0
    with pytest.raises(GraphError, match="no path"):
        replace(c, edge_a=c.edge_a[keep], edge_b=c.edge_b[keep], edge_g=c.edge_g[keep], edge_layer=c.edge_layer[keep],
                diode_anode=c.diode_anode[1:], diode_cathode=c.diode_cathode[1:], diode_model=c.diode_model[1:])


def test_conductance_between_two_sources_is_rejected():
    c = layered_circuit([2, 2, 1], seed=0)
    s0, s1 = c.n_free, c.n_free + 1
    with pytest.raises(GraphError, match="two fixed-voltage terminals"):
        replace(c, edge_a=np.append(c.edge_a, s0), edge_b=np.append(c.edge_b, s1), edge_g=np.append(c.edge_g, 1e-6),
                edge_layer=np.append(c.edge_layer, 0))


# -- diode physics ------------------------------------------------------------------------
def test_thermal_voltage_matches_ngspice_constants():
    assert thermal_voltage() == pytest.approx(0.025864917007157, rel=1e-12)


def test_diode_current_value_measured_in_ngspice():
    # ngspice 39.3 prints -1.18720e-04 A for V1 0.6 V across IS=1e-14, N=1 (PHYSICS.md gmin included)
    i, _ = diode_current(np.array([0.6]), DiodeModel("DX", IS=1e-14))
    assert float(i[0]) == pytest.approx(1.18720e-4, rel=5e-6)


@pytest.mark.parametrize("model", [DiodeModel("DA", IS=1e-14), DiodeModel("DB", IS=4.352e-9, N=1.906, BV=5.0, IBV=1e-4)])
def test_diode_conductance_is_the_derivative_in_every_region(model):
    vte = model.vte()
    v = np.concatenate([np.linspace(-8, 0.7, 400), [-3 * vte + 1e-4, -3 * vte - 1e-4]])
    h = 1e-7
    i_p, _ = diode_current(v + h, model)
    i_m, _ = diode_current(v - h, model)
    _, g = diode_current(v, model)
    num = (i_p - i_m) / (2 * h)
    assert np.allclose(g, num, rtol=1e-4, atol=1e-13)
    # the forward and reverse formulas meet at -3 n V_T
    a, _ = diode_current(np.array([-3 * vte + 1e-12]), model)
    b, _ = diode_current(np.array([-3 * vte - 1e-12]), model)
    assert abs(a[0] - b[0]) < 1e-3 * abs(a[0])


def test_model_cards_parse_suffixes_and_continuations():
    text = "* lib\n.model DZ D(IS=4.352n N=1.906\n+ RS=0.6458 BV=110 IBV=100u CJO=0.7p)\n.model Q1 NPN(BF=100)\n"
    m = parse_model_cards(text)
    assert list(m) == ["DZ"]
    assert m["DZ"].IS == pytest.approx(4.352e-9) and m["DZ"].IBV == pytest.approx(1e-4)
    assert dict(m["DZ"].extra)["CJO"] == pytest.approx(0.7e-12)


# -- the NumPy system -----------------------------------------------------------------------
def test_voltage_divider_by_hand():
    G = nx.Graph()
    G.add_node("vin", role="input", gain=2.0)
    G.add_node("mid", role="hidden")
    G.add_node("out", role="output")
    G.add_node("gnd", role="ground")
    G.add_edge("vin", "mid", weight=1e-3)
    G.add_edge("mid", "gnd", weight=1e-3)
    G.add_edge("mid", "out", weight=2e-3)
    G.add_edge("out", "gnd", weight=2e-3)
    c = circuit_from_graph(G)
    op = solve_dc(c, c.edge_g, np.array([[1.5]]))
    # mid sees 3 V through 1 mS; to ground: 1 mS || (0.5 mS + 0.5 mS ... ) -> solve by hand
    # KCL: (3 - m) g1 = m g1 + (m - o) g2, (m - o) g2 = o g2  =>  o = m/2, m = 3 / (2 + 1) * ... exact:
    g1, g2 = 1e-3, 2e-3
    A = np.array([[2 * g1 + g2, -g2], [-g2, 2 * g2]])
    expect = np.linalg.solve(A, [3.0 * g1, 0.0])
    assert np.allclose(op.voltages[0], expect, atol=1e-14)


def test_reciprocal_amplifiers_give_a_symmetric_system():
    rec = MNASystem(kendall_circuit(6, 4, 2, seed=0, amplifier_back="reciprocal"))
    kend = MNASystem(kendall_circuit(6, 4, 2, seed=0))
    g = rec.circuit.edge_g
    Gr, Gk = rec.conductance_matrix(g), kend.conductance_matrix(g)
    assert np.allclose(Gr, Gr.T, rtol=1e-12, atol=0)
    assert not np.allclose(Gk, Gk.T)


def test_newton_converges_with_strongly_conducting_diodes():
    c = layered_circuit([4, 5, 2], seed=0, diode="DSHOCKLEY", clamp=(-0.2, 0.2),
                        graph_kw={"input_gain": 20.0, "g_init": (1e-4, 1e-3)})
    x = np.random.default_rng(0).random((6, 4))
    op = solve_dc(c, c.edge_g, x)
    assert op.status == "converged" and op.residual.max() < 1e-11
    sysm = MNASystem(c)
    w = sysm.extended(op.state, c.source_voltages(x))
    _, idd, _ = sysm.diode_currents(w, gmin=1e-12)
    assert np.abs(idd).max() > 1e-4  # the clamps really conduct


def test_newton_reports_non_convergence():
    c = layered_circuit([4, 5, 2], seed=0, diode="DSHOCKLEY", clamp=(-0.2, 0.2), graph_kw={"input_gain": 50.0})
    with pytest.raises(ConvergenceError, match="Newton did not converge"):
        solve_dc(c, c.edge_g, np.ones((2, 4)), solver=NewtonSolver(max_iter=2, continuation=()))  # no fall-backs
    # without throw: the result says so (residual measured 9.5e-4 A after 2 iterations)
    op = solve_dc(c, c.edge_g, np.ones((2, 4)), solver=NewtonSolver(max_iter=2, continuation=(), throw=False))
    assert op.status == "max_iter" and not op.converged.any() and op.iterations == 2
    assert op.residual.min() > 1e-6
    done = solve_dc(c, c.edge_g, np.ones((2, 4)))  # the same circuit does converge given the iterations
    assert done.status == "converged" and done.converged.all() and done.residual.max() < 1e-12


# -- EqProp on circuits ---------------------------------------------------------------------
RECIPROCAL = {
    "layered-shockley": lambda: layered_circuit([4, 5, 3], seed=0, diode="DSHOCKLEY", clamp=(0.0, None)),
    "drn": lambda: drn_circuit([4, 5, 3], seed=0),
    "kendall-reciprocal": lambda: kendall_circuit(4, 5, 3, seed=0, amplifier_back="reciprocal"),
    "random": lambda: random_circuit(4, 5, 3, 0.5, seed=1),
    "strong-diodes": lambda: layered_circuit([4, 5, 3], seed=2, diode="D1N4148", clamp=(-0.05, 0.05),
                                             graph_kw={"input_gain": 5.0}),
}


def _batch(n_features, n_out, seed=0, n=4):
    rng = np.random.default_rng(seed)
    return rng.random((n, n_features)), np.eye(n_out)[rng.integers(0, n_out, n)]


@pytest.mark.parametrize("kind", sorted(RECIPROCAL))
@pytest.mark.parametrize("nudge", ["current", "resistive"])
def test_eqprop_matches_implicit_gradient_on_reciprocal_circuits(kind, nudge):
    net = ResistiveNetwork(replace(RECIPROCAL[kind](), nudge=nudge))
    x, t = _batch(net.n_inputs, net.n_outputs)
    scale = float(np.mean(net.g))
    for mode in ("positive", "centered"):
        rep = gradcheck(net, x, t, betas=(1e-2 * scale, 1e-3 * scale), mode=mode)
        # magnitude too: measured relative errors 2e-5..3e-3 one-sided, <1e-5 centered (eqprop_bounds)
        assert_rows_within_bound(rep, scale=scale, k=K_CIRCUIT)


@pytest.mark.parametrize("kind", ["drn", "kendall-reciprocal", "random"])
def test_circuit_implicit_gradient_matches_finite_differences(kind):
    net = ResistiveNetwork(RECIPROCAL[kind]())
    x, t = _batch(net.n_inputs, net.n_outputs, seed=1, n=3)
    s0 = net.relax(x, net.init_state(3)).state
    exact = flatten(net.implicit_gradient(x, t, s0))
    fd = flatten(finite_difference_gradient(net, x, t, s0))
    assert cosine(exact, fd) > 0.999999
    assert relative_error(exact, fd) < 1e-8  # measured 4e-11 (drn) .. 2e-10 (random)


def test_kendall_inverse_amplifiers_break_the_eqprop_gradient_but_not_the_implicit_one():
    """With CCCS gain 1/A the circuit is not reciprocal: EqProp is no longer the gradient."""
    net = ResistiveNetwork(kendall_circuit(4, 5, 3, seed=0))
    x, t = _batch(net.n_inputs, net.n_outputs)
    rep = gradcheck(net, x, t, betas=(1e-3 * float(np.mean(net.g)),), mode="centered", finite_differences=True)
    assert rep.fd_cosine > 0.99999 and rep.fd_rel_error < 1e-8  # the reference itself is right (measured 5.5e-11)
    assert rep.rows[0].cosine < 0.99 and rep.rows[0].rel_error > 0.1  # measured cosine 0.889, relative error 0.46


@pytest.mark.parametrize("kind", sorted(RECIPROCAL))
def test_proposition2_on_circuits(kind):
    net = ResistiveNetwork(replace(RECIPROCAL[kind](), nudge="resistive"))
    x, t = _batch(net.n_inputs, net.n_outputs, n=6)
    s0 = net.relax(x, net.init_state(6)).state
    sb = net.relax(x, s0, beta=float(np.mean(net.g)), target=t).state
    assert np.all(net.cost(sb, t) <= net.cost(s0, t) + 1e-15)
    assert net.cost(sb, t).mean() < net.cost(s0, t).mean()


def test_project_clips_to_the_device_range():
    net = ResistiveNetwork(drn_circuit([4, 3, 2], seed=0))
    net.params["g0"][:] = 1.0
    net.params["g1"][:] = -1.0
    net.project()
    assert net.g.max() == net.circuit.g_max and net.g.min() == net.circuit.g_min


def test_gradcheck_compares_the_conductances_when_bias_currents_also_train():
    """The exact gradient covers conductances only: gradcheck must compare EqProp's and the finite
    differences' conductance entries with it, leaving the bias currents' entries out (a linear
    circuit: no clamp, see the next test)."""
    c = drn_circuit([3, 4, 2], seed=0, nudge="resistive", clamp=None)
    net = ResistiveNetwork(c, backend="bcd", bias_currents=np.random.default_rng(0).normal(scale=1e-6, size=c.n_free))
    assert {"i0", "i1"} <= set(net.params)
    x, t = _batch(net.n_inputs, net.n_outputs, n=3)
    scale = float(np.mean(net.g))
    rep = gradcheck(net, x, t, betas=(1e-3 * scale,), mode="centered", finite_differences=True)
    assert rep.n_params == c.n_edges and rep.fd_rel_error < 1e-6
    assert_rows_within_bound(rep, scale=scale, k=K_CIRCUIT, floor=1e-8)


def test_implicit_gradient_with_ideal_clamps_on_the_rail():
    """On the bcd backend a clamped node is held at its rail: the exact gradient fixes it (its row
    and column leave the adjoint system). Linearising the DIDEAL card instead (1.9 uS at the rail)
    was 6.7 % off finite differences, with cosine 0.998."""
    net = ResistiveNetwork(drn_circuit([3, 4, 2], seed=0, nudge="resistive"), backend="bcd")
    x, t = _batch(net.n_inputs, net.n_outputs, n=3)
    s0 = net.relax(x).state
    on = net.clamped_nodes(x, s0)
    assert on.sum() == 3 and np.array_equal(on, s0 == 0.0)  # three hidden nodes on ground's clamp, exactly
    scale = float(np.mean(net.g))
    rep = gradcheck(net, x, t, betas=(1e-3 * scale,), mode="centered", finite_differences=True)
    assert rep.fd_rel_error < 1e-6  # measured 8.9e-8 (the card's linearisation: 6.7e-2)
    assert_rows_within_bound(rep, scale=scale, k=K_CIRCUIT)  # EqProp measured 4.1e-8


def test_implicit_gradient_with_ideal_clamps_both_ways_and_on_an_input():
    """Upper and lower clamps on bias rails and lower clamps on an input source (a rail that moves
    with x), every kind active somewhere: the ideal-clamp exact gradient against central
    differences and EqProp. beta_rel stays at 1e-4 and below: at 1e-3 the nudge moves a node
    that sits on its rail with a near-zero clamp current (the KKT multiplier) off it, a kink
    EqProp's finite beta straddles (measured 0.8 % there on a similar circuit)."""
    c = layered_circuit([3, 5, 2], seed=0, clamp=(-0.05, 0.05))
    anode = np.array(c.diode_anode)
    lower = np.flatnonzero(c.terminal_kind(anode) != 0)[:3]  # the lower clamps of hidden nodes 0, 1, 2 ...
    anode[lower] = c.n_free + 1  # ... from the source of -x0 instead of the -0.05 V rail
    c = replace(c, diode_anode=anode)
    net = ResistiveNetwork(c, backend="bcd")
    x, t = _batch(net.n_inputs, net.n_outputs, n=4)
    x = 0.1 * x
    s0 = net.relax(x).state
    on = net.clamped_nodes(x, s0)
    assert np.any(on[:, 0] & np.isclose(s0[:, 0], -x[:, 0], rtol=0, atol=1e-15))  # on the input's rail
    assert np.any(on & np.isclose(s0, 0.05, rtol=0, atol=1e-15)) and np.any(on & np.isclose(s0, -0.05, rtol=0, atol=1e-15))
    assert not np.any(on[:, 5:])  # the outputs have no clamps
    scale = float(np.mean(net.g))
    for mode in ("positive", "centered"):
        rep = gradcheck(net, x, t, betas=(1e-4 * scale, 1e-5 * scale), mode=mode, finite_differences=mode == "centered")
        # measured 1.4e-5 / 1.4e-6 one-sided; centered 8.9e-11 / 1.6e-9 (the relaxations' tolerance over beta)
        assert_rows_within_bound(rep, scale=scale, k=K_CIRCUIT, floor=1e-8)
    assert rep.fd_rel_error < 1e-7  # measured 4.1e-9


def test_current_nudge_follows_the_loss_gradient_on_differential_outputs():
    """I = -beta dC/d(out) into each positive output node and +beta dC/d(out) into its negative
    twin, for the default squared error and for a loss gradient given by the caller."""
    c = replace(kendall_circuit(4, 3, 2, seed=0), nudge="current")
    s = MNASystem(c)
    ref = np.random.default_rng(0).normal(scale=0.1, size=(3, s.n))
    t = np.array([[0.1, -0.1], [0.0, 0.1], [-0.1, 0.0]])
    out = c.outputs(ref[:, : c.n_free])
    for loss_grad, dc in ((None, out - t), (lambda o, tv: 3 * (o - tv) ** 3 + tv, 3 * (out - t) ** 3 + t)):
        dG, db = s.nudge_terms(0.5, t, ref, loss_grad=loss_grad)
        want = np.zeros((3, s.n))
        want[:, c.out_pos] -= 0.5 * dc
        want[:, c.out_neg] += 0.5 * dc
        assert dG is None and np.allclose(db, want, rtol=0, atol=1e-15)


def test_diode_currents_use_each_diodes_own_card():
    c = layered_circuit([3, 4, 2], seed=0, clamp=(-0.1, 0.1))
    a, b = DiodeModel("DA", IS=1e-14), DiodeModel("DB", IS=4.352e-9, N=1.906, BV=5.0, IBV=1e-4)
    c = replace(c, models=(a, b), diode_model=np.arange(c.n_diodes) % 2)
    s = MNASystem(c)
    w = s.extended(np.random.default_rng(1).normal(scale=0.6, size=(4, s.n)), c.source_voltages(np.full((4, 3), 0.5)))
    vd, idd, gd = s.diode_currents(w, gmin=1e-12)
    for d in range(c.n_diodes):
        i, g = diode_current(vd[:, d], (a, b)[d % 2])
        np.testing.assert_array_equal(idd[:, d], i)
        np.testing.assert_array_equal(gd[:, d], g)
    _, i_big_gmin, _ = s.diode_currents(w, gmin=1e-6)
    assert np.allclose(i_big_gmin - idd, (1e-6 - 1e-12) * vd, rtol=1e-6, atol=1e-18)


def test_circuit_accessors_by_hand():
    """The description's small accessors against their definitions, on a differential circuit with amplifiers."""
    c = kendall_circuit(4, 3, 2, seed=0)
    names = [c.terminal_name(t) for t in range(c.n_terminals)]
    assert names == list(c.nodes) + list(c.sources) + list(c.amp_names) and c.terminal_name(-1) == "0"
    x = np.array([[0, 1, 0, 1], [1, 1, 0, 0]])  # integers: read as volts all the same
    v = c.source_voltages(x)
    by_hand = [[c.source_gain[s] * x[i, c.source_feature[s]] + c.source_offset[s] if c.source_feature[s] >= 0
                else c.source_offset[s] for s in range(c.n_sources)] for i in range(2)]
    assert v.dtype == np.float64 and np.array_equal(v, by_hand)
    u = np.random.default_rng(0).normal(size=(2, c.n_free))
    out = c.outputs(u)
    assert out.dtype == np.float64 and np.array_equal(out, u[:, c.out_pos] - u[:, c.out_neg])
    t = c.targets(np.eye(2, dtype=int))
    assert t.dtype == np.float64 and np.array_equal(t, [[c.target_on, c.target_off], [c.target_off, c.target_on]])
    renamed = c.with_name("mine")
    assert renamed.name == "mine" and renamed.nodes == c.nodes and np.array_equal(renamed.edge_g, c.edge_g)
    assert c.untied() is c and not c.tied
    pairs = np.arange(c.n_edges) // 2  # every two conductances share one parameter (and its value)
    tied = replace(c, edge_param=pairs, edge_g=c.edge_g[2 * pairs])
    assert tied.tied and tied.n_params == (c.n_edges + 1) // 2
    flat = tied.untied()
    assert not flat.tied and flat.n_params == c.n_edges and np.array_equal(flat.edge_g, tied.edge_g)


def test_conductance_cocontent_is_half_g_dv_squared_and_its_gradient_the_currents():
    """The conductances' co-content, 1/2 sum g (V_a - V_b)^2 [W] per example, with the table's
    own g or a caller's, and its derivative along a node is the current leaving that node."""
    from analog_eqprop.elements import Conductances

    t = Conductances(a=[0, 0, 1], b=[1, -1, -1], g=[1e-3, 2e-3, 5e-4], layer=[0, 0, 1])
    w = np.array([[1.0, 0.25, 0.0], [-0.5, 0.5, 0.0]])  # V(0), V(1), ground
    want = 0.5 * np.array([1e-3 * 0.75**2 + 2e-3 * 1.0 + 5e-4 * 0.25**2,
                           1e-3 * 1.0 + 2e-3 * 0.25 + 5e-4 * 0.25])
    np.testing.assert_allclose(t.cocontent(w), want, rtol=1e-15)
    g2 = np.array([3e-3, 1e-3, 1e-3])
    np.testing.assert_allclose(t.cocontent(w, g2), 0.5 * np.sum(g2 * t.drops(w) ** 2, axis=1), rtol=1e-15)
    h = 1e-6  # d/dV(0): current out of node 0 through edges 0 and 1 (exact: quadratic, central)
    wp, wm = w.copy(), w.copy()
    wp[:, 0] += h
    wm[:, 0] -= h
    i0 = 1e-3 * (w[:, 0] - w[:, 1]) + 2e-3 * w[:, 0]
    np.testing.assert_allclose((t.cocontent(wp) - t.cocontent(wm)) / (2 * h), i0, rtol=1e-8)


def test_a_pickled_conductance_table_leaves_its_caches_behind():
    """A circuit goes to worker processes by pickle: the conductance table's caches (dense blocks,
    layer edges: index arrays as big as the table) stay behind and are found again after."""
    import pickle

    t = drn_circuit([8, 70, 4], seed=0).element("conductance")
    blocks, layers = t.blocks(), t.layer_edges()
    state = t.__getstate__()
    assert "_blocks" not in state and "_layer_edges" not in state and {"a", "b", "g", "layer"} <= set(state)
    back = pickle.loads(pickle.dumps(t))
    assert "_blocks" not in back.__dict__ and "_layer_edges" not in back.__dict__
    for f in ("a", "b", "g", "layer"):
        np.testing.assert_array_equal(getattr(back, f), getattr(t, f))
    assert np.array_equal(back.blocks().edges(), blocks.edges()) and len(back.layer_edges()) == len(layers)
