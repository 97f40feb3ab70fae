"""Transistor edges whose gate voltages are the parameters: graphs, models, EqProp and the API."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from analog_eqprop.api import Dense, DiodeClamp, Input, Sequential, TransistorEdges, load_model
from analog_eqprop.circuits import circuit_from_graph, transistor_circuit
from analog_eqprop.elements import OWN_GATE, MosfetModel, Mosfets
from analog_eqprop.eqprop.core import eqprop_gradient
from analog_eqprop.eqprop.gradcheck import finite_difference_gradient, flatten, gradcheck
from analog_eqprop.errors import ConfigError, GraphError
from analog_eqprop.models import ResistiveNetwork
from analog_eqprop.solvers.ngspice_shared import ngspice_available


def _graph(**edge) -> nx.Graph:
    G = nx.Graph()
    G.add_node("x0", role="input")
    G.add_node("vb", role="bias", voltage=-1.0)
    G.add_node("h0", role="hidden", layer=1)
    G.add_node("y0", role="output", layer=2)
    G.add_edge("x0", "h0", element="transistor", gate=1.5, **edge)
    G.add_edge("h0", "y0", weight=1e-5)
    G.add_edge("vb", "y0", weight=1e-5)
    return G


def test_graph_attributes():
    c = circuit_from_graph(_graph(width=2e-6, bulk="vb"), clamp=(0.0, None), diode="NCLAMP")
    m = c.element("mosfet")
    assert len(m) == 2 and c.n_edges == 2
    edge, clamp = m.take(np.flatnonzero(m.gate == OWN_GATE)), m.take(np.flatnonzero(m.gate != OWN_GATE))
    assert edge.vg.tolist() == [1.5] and edge.width.tolist() == [2e-6] and edge.layer.tolist() == [0]
    assert c.terminal_name(edge.bulk[0]) == "vb" and c.terminal_name(edge.drain[0]) == "x0"
    # the clamp from ground (0 V) into h0: an n-channel device, gate and drain on the rail, source and bulk on h0
    assert clamp.gate[0] == clamp.drain[0] == -1 and c.terminal_name(clamp.source[0]) == "h0" == \
        c.terminal_name(clamp.bulk[0]) and clamp.layer[0] == -1
    assert circuit_from_graph(_graph(trainable=False)).element("mosfet").layer.tolist() == [-1]
    c = circuit_from_graph(_graph(bulk=-2.5))  # a voltage: a rail of its own
    assert c.source_offset[c.element("mosfet").bulk[0] - c.n_free] == -2.5 and "vclamp1" in c.sources


@pytest.mark.parametrize("edge, match", [
    (dict(model="NOPE"), "unknown MOSFET model 'NOPE'"),
    (dict(width=-1e-6), "attribute 'width' must be a finite number > 0"),
    (dict(bulk="h0"), "bulk 'h0' must be a bias or ground node"),
    (dict(tie="t"), "cannot be tied"),
    (dict(element="memristor"), "element='memristor'"),
])
def test_bad_transistor_attributes(edge, match):
    G = _graph()
    G.edges["x0", "h0"].update(edge)
    with pytest.raises(GraphError, match=match):
        circuit_from_graph(G)


def test_gate_parameters_train_and_clip():
    c = transistor_circuit([2, 3, 2], seed=0)
    net = ResistiveNetwork(c)
    assert sorted(net.params) == ["vg0", "vg1"] and net.n_layers == 2
    assert [net.param_layer(k) for k in ("vg0", "vg1")] == [0, 1]
    x = np.array([[0.2, 0.9]])
    before = net.relax(x).state
    net.params["vg1"] += 0.5
    after = net.relax(x).state
    assert np.max(np.abs(after - before)) > 1e-3  # the backend sees the trained gates
    net.params["vg0"][0] = 99.0
    net.project()
    assert net.params["vg0"][0] == c.element("mosfet").vg_max
    assert net.copy().element_values["mosfet"][net._extra.groups[0][2][0]] == c.element("mosfet").vg_max


def test_gate_gradients_exact_and_eqprop():
    """The implicit gradient of the gates matches finite differences; EqProp's gate update is
    the vector-field estimate (close to, not equal to, the gradient: the Jacobian is not
    symmetric) and is exact in the triode identity of the module docstring."""
    c = transistor_circuit([2, 3, 2], seed=1)
    net = ResistiveNetwork(c)
    rng = np.random.default_rng(0)
    x, t = rng.random((4, 2)), np.eye(2)[[0, 1, 1, 0]]
    s0 = net.relax(x).state
    exact = net.implicit_gradient(x, t, s0)
    fd = finite_difference_gradient(net, x, t, s0, n_iter=1000, tol=1e-13)
    names = sorted(exact)
    ev, fv = flatten(exact, names), flatten(fd, names)
    assert np.linalg.norm(fv - ev) < 1e-5 * np.linalg.norm(ev)
    rep = gradcheck(net, x, t, betas=(1e-6, 1e-8), mode="centered")
    assert all(r.cosine > 0.99 for r in rep.rows)
    assert rep.rows[-1].rel_error > 1e-4  # a bias that does not vanish with beta: non-reciprocal
    eq = flatten(eqprop_gradient(net, x, t, s0, 1e-8, mode="centered").grads, names)
    assert abs(np.linalg.norm(eq - ev) / np.linalg.norm(ev) - rep.rows[-1].rel_error) < 1e-6


def test_triode_update_is_the_conductance_rule():
    m = MosfetModel("N", VTO=0.5, KP=1e-4)
    t = Mosfets(drain=[0], gate=[OWN_GATE], source=[1], bulk=[-1], vg=[2.0], width=[1e-6], length=[1e-6],
                model=[0], models=(m,), layer=[0])
    w1, w2 = np.array([[0.5, 0.2, 0.0]]), np.array([[0.45, 0.25, 0.0]])  # both in triode
    d = t.param_grad_diff(w1, w2)
    assert d[0] == pytest.approx(1e-4 / 2 * (0.3 ** 2 - 0.2 ** 2), rel=1e-12)


def test_api_transistor_layers_fit_save_and_load(tmp_path):
    edges = TransistorEdges(gate=(1.0, 2.0))
    m = Sequential([Input(2), Dense(4, clamp=DiodeClamp(low=0.0, model="NCLAMP"), edges=edges), Dense(2, edges=edges)],
                   seed=0)
    mos = m.circuit.element("mosfet")
    assert m.circuit.n_edges == 0 and sorted(m.network.params) == ["vg0", "vg1"]
    assert np.all(m.circuit.source_offset[mos.bulk[mos.layer >= 0] - m.circuit.n_free] == -1.5)  # below -1 V
    x, y = np.array([[0, 0], [0, 1], [1, 0], [1, 1.0]]), np.array([0, 1, 1, 0])
    m.compile(optimizer="adam", learning_rate=0.1, beta=1e-6, batch_size=4)
    h = m.fit(x, y, epochs=3)
    assert h[-1]["train_cost"] < h[0]["train_cost"]
    m.save(tmp_path / "m")
    back = load_model(tmp_path / "m")
    for k in m.network.params:
        np.testing.assert_array_equal(back.network.params[k], m.network.params[k])
    np.testing.assert_allclose(back.outputs(x), m.outputs(x), atol=1e-12)
    with pytest.raises(ConfigError, match="cannot be tied"):
        from analog_eqprop.api import Conv2D

        Conv2D(2, kernel=2, edges=edges)


@pytest.mark.ngspice
@pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")
def test_api_evaluates_trained_gates_in_ngspice():
    m = Sequential([Input(2), Dense(3, clamp=DiodeClamp(low=0.0, model="NCLAMP"), edges=TransistorEdges()),
                    Dense(2, edges=TransistorEdges())], seed=1)
    m.network.params["vg1"] += 0.3  # trained away from the circuit's initial gates
    x = np.random.default_rng(1).random((3, 2))
    assert np.max(np.abs(m.outputs(x) - m.outputs(x, backend="ngspice"))) < 1e-6


def test_hardware_models_refuse_trained_gates():
    from analog_eqprop.hardware import HardwareNetwork

    with pytest.raises(ConfigError, match="also trains transistor parameters"):
        HardwareNetwork(transistor_circuit([2, 2, 2], seed=0))
