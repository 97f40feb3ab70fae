"""A device of the user's own: its law in Python and as an ngspice expression, checked to agree,
simulated alike by both backends, written to decks and read back, trained."""

from __future__ import annotations

import pickle

import networkx as nx
import numpy as np
import pytest

from analog_eqprop.circuits import Circuit, circuit_from_graph
from analog_eqprop.elements import Conductances, DeviceLaw, Devices, Outputs, Sources
from analog_eqprop.elements.expression import parse_expression
from analog_eqprop.eqprop.gradcheck import gradcheck
from analog_eqprop.errors import ConfigError, GraphError, NetlistError
from analog_eqprop.hardware.power import power_breakdown
from analog_eqprop.models import ResistiveNetwork
from analog_eqprop.netlist import compile_netlist, parse_netlist
from analog_eqprop.netlist.deck_policy import check_deck
from analog_eqprop.solvers.newton import solve_dc
from analog_eqprop.solvers.ngspice_shared import ngspice_available

SAT = DeviceLaw.tanh("SAT", i_max=1e-4, v_scale=0.1)
MEAS = DeviceLaw.table("MEAS", [-1, -0.2, 0, 0.3, 1], [-2e-5, -1e-6, 0, 5e-6, 8e-5])


def device_circuit(laws=(SAT, MEAS)) -> Circuit:
    """h0, y0 free; a tanh-like device h0 -> ground (trained), a measured one y0 -> ground (fixed),
    a tanh-like one h0 -> y0 (trained); conductances from +/-x and a 0.5 V rail."""
    src = Sources(labels=("x0p", "x0n", "vb"), role=("input", "input", "bias"), feature=[0, 0, -1],
                  gain=[1, -1, 0], offset=[0, 0, 0.5])
    cond = Conductances(a=[2, 3, 0, 4], b=[0, 0, 1, 1], g=[1e-4, 5e-5, 1e-4, 2e-5], layer=[0, 0, 1, 1])
    dev = Devices(a=[0, 1, 0], b=[-1, -1, 1], law=[0, 1, 0], p=[1e-4, 1.0, 5e-5], laws=laws, layer=[0, -1, 1])
    return Circuit("dev", ("h0", "y0"), ("hidden", "output"), [0, 1], n_features=1, target_on=0.2, target_off=0.0,
                   elements=dict(source=src, conductance=cond, device=dev, nudge=Outputs(pos=[1], neg=[-1])))


def test_expression_reads_as_ngspice():
    e = parse_expression("-2^2 + 2^3^2 + log(exp(1)) + pwl(v, 0, 0, 1, 2) + u(0) + min(p, 1k)")
    val, dv, dp = e.evaluate(np.array([3.0]), np.array(5.0))
    # ^ binds above unary minus and associates left (inpptree-parser.y); pwl extends its last segment
    assert val[0] == pytest.approx(-4 + 64 + 1 + 6 + 0.5 + 5) and dv[0] == 2.0 and dp[0] == 1.0
    assert parse_expression("pwr(v, 2)").evaluate(np.array([-3.0]))[0][0] == -9.0
    assert parse_expression("pow(v, 0.5)").evaluate(np.array([-4.0]))[0][0] == 2.0  # |a|^b, as PTpower
    for bad, match in [("v(a)", "unknown name 'a'"), ("v(1)", "unknown function 'v'"), ("i + 1", "unknown name 'i'"),
                       ("v > 0", "cannot read"),
                       ("shell(1)", "unknown function"), ("pwl(v, 1, 0, 0, 1)", "must increase"), ("", "non-empty")]:
        with pytest.raises(ConfigError, match=match):
            parse_expression(bad)


def test_derivatives_of_the_expression():
    e = parse_expression("p*tanh(v/25m) + sqrt(1 + v*v)*atan(v) - pwr(v, 3)/(2 + cosh(v))")
    v, p = np.linspace(-0.9, 0.9, 7), 3e-4
    val, dv, dp = e.evaluate(v, p)
    h = 1e-6
    np.testing.assert_allclose(dv, (e.evaluate(v + h, p)[0] - e.evaluate(v - h, p)[0]) / (2 * h), rtol=1e-6)
    np.testing.assert_allclose(dp, (e.evaluate(v, p + h)[0] - e.evaluate(v, p - h)[0]) / (2 * h), rtol=1e-6)


def test_laws_are_checked_when_the_circuit_is_built():
    s = 0.1
    bad = DeviceLaw("BAD", lambda v, p: (p * np.tanh(v / s), p * (1 - np.tanh(v / s) ** 2) / s),
                    "p*tanh(v/0.11)", dparam=lambda v, p: np.tanh(v / s), p_default=1e-4)
    with pytest.raises(GraphError, match=r"device law BAD: the Python law and the expression .* differ in current"):
        device_circuit((bad, MEAS))
    wrong_slope = DeviceLaw("W", lambda v, p: (p * v, np.full_like(v, 2 * p)), "p*v", dparam=lambda v, p: v,
                            p_default=1e-5)
    with pytest.raises(GraphError, match="differ in di/dv"):
        device_circuit((wrong_slope, MEAS))
    with pytest.raises(GraphError, match="no dparam, so its p cannot be trained"):
        device_circuit((DeviceLaw("ND", lambda v, p: (p * v, p + 0 * v), "p*v", p_default=1e-5), MEAS))


@pytest.mark.ngspice
@pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")
def test_both_backends_simulate_the_same_device():
    from analog_eqprop.solvers.backends import NumpyBackend
    from analog_eqprop.solvers.mna import MNASystem
    from analog_eqprop.solvers.ngspice_backend import TIGHT_OPTIONS, NgspiceBackend

    c = device_circuit()
    X = np.linspace(-1, 1, 5)[:, None]
    sysm = MNASystem(c)
    for per_analysis in (1, 5):
        a = NumpyBackend().operating_point(sysm, c.edge_g, X)
        b = NgspiceBackend(options=TIGHT_OPTIONS, per_analysis=per_analysis).operating_point(sysm, c.edge_g, X)
        assert np.max(np.abs(a.voltages - b.voltages)) < 1e-9
    p = c.element("device").p * 1.5  # trained parameters reach ngspice (values=)
    a = NumpyBackend().operating_point(sysm, c.edge_g, X, values={"device": p})
    b = NgspiceBackend(options=TIGHT_OPTIONS).operating_point(sysm, c.edge_g, X, values={"device": p})
    assert np.max(np.abs(a.voltages - b.voltages)) < 1e-9


def test_cards_round_trip_pickle_and_power():
    c = device_circuit()
    text = compile_netlist(c, x=[0.4]).text
    check_deck(text)
    assert "bd1 y0 0 I=(1.0*pwl(v(y0,0),-1.0,-2e-05,-0.2,-1e-06,0.0,0.0,0.3,5e-06,1.0,8e-05))" in text
    p = parse_netlist(text)
    c2, g2, x2 = p.to_circuit()
    assert compile_netlist(c2, g2, x2, **p.compile_kwargs()).text == text
    X = np.linspace(-1, 1, 5)[:, None]
    v = solve_dc(c, c.edge_g, X).voltages
    np.testing.assert_allclose(solve_dc(c2, g2, X).voltages, v, atol=1e-15)  # the expression as the law
    c3 = pickle.loads(pickle.dumps(c))  # lambdas travel as their expression (process workers)
    np.testing.assert_allclose(solve_dc(c3, c3.edge_g, X).voltages, v, atol=1e-15)
    with pytest.raises(NetlistError, match="edit the '\\* @device' line's p"):
        parse_netlist(text.replace("I=(0.0001*tanh((v(h0,0)/0.1)))", "I=(0.0002*tanh((v(h0,0)/0.1)))")).to_circuit()
    pb = power_breakdown(c, c.edge_g, X, v)
    assert np.max(np.abs(pb.balance)) < 1e-12 * np.max(pb.dissipated)
    w = c.terminal_voltages(v, c.source_voltages(X))
    h = 1e-7  # the co-content's derivative along a node is the device current leaving it
    wp = w.copy()
    wp[:, 1] += h
    tab = c.element("device")
    d_e = (tab.cocontent(wp) - tab.cocontent(w)) / h
    i = tab.currents(w).i
    np.testing.assert_allclose(d_e, i[:, 1, 0] + i[:, 2, 1], rtol=1e-5)


def test_parameters_train_with_exact_eqprop():
    """A two-terminal device is reciprocal: EqProp's update of p tends to the gradient."""
    net = ResistiveNetwork(device_circuit())
    assert sorted(net.params) == ["g0", "g1", "p0", "p1"] and net.param_layer("p1") == 3
    X = np.linspace(-1, 1, 5)[:, None]
    rep = gradcheck(net, X, np.eye(1)[[0] * 5] * (X > 0), betas=(1e-5, 1e-6), mode="centered",
                    finite_differences=True)
    assert rep.fd_rel_error < 1e-8 and rep.rows[-1].rel_error < 1e-5 and rep.rows[-1].rel_error < rep.rows[0].rel_error
    net.params["p0"][...] = -1.0
    net.project()
    assert net.params["p0"][0] == 0.0  # tanh's p_range: a saturation current >= 0


def test_graph_device_edges():
    G = nx.Graph()
    G.add_node("x0", role="input")
    G.add_node("h0", role="hidden", layer=1)
    G.add_node("y0", role="output", layer=2)
    G.add_node("gnd", role="ground")
    G.add_edge("x0", "h0", weight=1e-4)
    G.add_edge("h0", "y0", element="device", law="SAT", p=2e-5)
    G.add_edge("y0", "gnd", element="device", law=MEAS, trainable=False)
    c = circuit_from_graph(G, laws={"SAT": SAT})
    d = c.element("device")
    assert d.p.tolist() == [2e-5, 1.0] and d.layer.tolist() == [1, -1]
    assert [law.name for law in d.laws] == ["SAT", "MEAS"]
    G.edges["h0", "y0"]["law"] = "NOPE"
    with pytest.raises(GraphError, match="unknown law 'NOPE'"):
        circuit_from_graph(G, laws={"SAT": SAT})
