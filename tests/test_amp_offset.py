"""Amplifier offsets: an input-referred V_os per amplifier makes the copy A (V + V_os), the
same in the NumPy system, the netlist (and so ngspice), the parser and EqProp."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from analog_eqprop.circuits import circuit_graph, circuit_from_graph, kendall_circuit
from analog_eqprop.eqprop import gradcheck
from analog_eqprop.errors import ConfigError, GraphError
from analog_eqprop.hardware import HardwareNetwork
from analog_eqprop.models import ResistiveNetwork
from analog_eqprop.netlist import compile_netlist, parse_netlist
from analog_eqprop.solvers.backends import NumpyBackend
from analog_eqprop.solvers.bcd import check_bcd_circuit
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.solvers.ngspice_backend import TIGHT_OPTIONS, NgspiceBackend
from analog_eqprop.solvers.ngspice_shared import ngspice_available

from eqprop_bounds import K_CIRCUIT, assert_rows_within_bound

needs_ngspice = [pytest.mark.ngspice, pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")]


def _offset(c, scale=0.02, seed=0):
    return replace(c, amp_offset=scale * np.random.default_rng(seed).standard_normal(c.n_amps))


def _x(c, n=4, seed=1):
    return np.random.default_rng(seed).random((n, c.n_features))


def test_offsets_shift_the_copies_and_the_operating_point():
    c0 = kendall_circuit(8, 5, 3, seed=0)
    c = _offset(c0)
    x = _x(c)
    op0 = NumpyBackend().operating_point(MNASystem(c0), c0.edge_g, x)
    op = NumpyBackend().operating_point(MNASystem(c), c.edge_g, x)
    assert np.max(np.abs(op.voltages - op0.voltages)) > 1e-3  # not a no-op
    w = c.terminal_voltages(op.voltages[:, : c.n_free], c.source_voltages(x))
    copies = w[:, c.n_free + c.n_sources: -1]
    np.testing.assert_allclose(copies, c.amp_gain * (op.voltages[:, c.amp_node] + c.amp_offset))
    assert np.max(op.residual) < 1e-12  # KCL holds with the offset drive


@pytest.mark.parametrize("phase", ["free", "nudged"])
def test_numpy_and_ngspice_agree_with_offsets(phase, request):
    for mark in needs_ngspice:
        request.applymarker(mark)
    c = _offset(kendall_circuit(16, 8, 4, seed=0))
    x, system = _x(c, 6), MNASystem(c)
    kw = {}
    if phase == "nudged":
        free = NumpyBackend().operating_point(system, c.edge_g, x)
        kw = dict(beta=1e-6, target_v=np.eye(c.n_outputs)[np.arange(6) % c.n_outputs] * 0.1, ref=free.voltages)
    ref = NumpyBackend().operating_point(system, c.edge_g, x, **kw).voltages[:, : c.n_free]
    for form in ("norton", "full"):
        got = NgspiceBackend(form=form, options=TIGHT_OPTIONS).operating_point(system, c.edge_g, x, **kw).voltages
        assert np.max(np.abs(got - ref)) < 1e-9, form


def test_netlist_writes_the_offset_and_the_parser_reads_it_back():
    c = _offset(kendall_circuit(4, 3, 2, seed=0))
    net = compile_netlist(c, x=[0.1, 0.2, 0.3, 0.4])
    va = [line for line in net.lines if line.startswith("va")]
    assert len(va) == 3 and all(float(line.split()[-1]) != 0.0 for line in va)
    back, _, _ = parse_netlist(net.text).to_circuit()
    np.testing.assert_allclose(back.amp_offset, c.amp_offset, rtol=1e-12)
    plain = compile_netlist(kendall_circuit(4, 3, 2, seed=0), x=[0.1, 0.2, 0.3, 0.4])
    assert all(line.endswith(" 0") for line in plain.lines if line.startswith("va"))  # decks without offsets unchanged


def test_graph_attribute_and_validation():
    G = circuit_graph([4, 3, 2], amplifier=4.0, seed=0)
    amp_nodes = [n for n, d in G.nodes(data=True) if d.get("amplifier")]
    G.nodes[amp_nodes[0]]["amp_offset"] = 0.004
    c = circuit_from_graph(G)
    assert c.amp_offset[0] == pytest.approx(0.004) and not np.any(c.amp_offset[1:])
    G.nodes[amp_nodes[1]]["amp_offset"] = float("nan")
    with pytest.raises(GraphError, match="attribute .amp_offset. must be a finite number"):
        circuit_from_graph(G)
    with pytest.raises(GraphError, match="amplifier arrays differ in length"):
        replace(kendall_circuit(4, 3, 2, seed=0), amp_offset=np.zeros(2))


def test_eqprop_is_still_the_gradient_with_reciprocal_offset_amplifiers():
    """An offset only shifts the copy: a reciprocal circuit keeps its energy, so EqProp still
    matches the implicit gradient (the edge-by-edge gradient path is used with offsets)."""
    net = ResistiveNetwork(_offset(kendall_circuit(4, 5, 3, seed=0, amplifier_back="reciprocal"), 0.05))
    rng = np.random.default_rng(0)
    x, t = rng.random((4, 4)), np.eye(3)[rng.integers(0, 3, 4)]
    scale = float(np.mean(net.g))
    for mode in ("centered", "positive"):  # measured relative errors 2.0e-12 and 3.2e-5
        assert_rows_within_bound(gradcheck(net, x, t, betas=(1e-3 * scale,), mode=mode), scale=scale, k=K_CIRCUIT)


def test_bcd_refuses_offsets_by_name():
    c = _offset(kendall_circuit(4, 3, 2, seed=0, amplifier_back="reciprocal"))
    with pytest.raises(ConfigError, match="has an offset"):
        check_bcd_circuit(c)


def test_hardware_amplifier_offsets_are_sampled_per_instance():
    c = kendall_circuit(8, 5, 3, seed=0)
    a = HardwareNetwork(c, "ideal", seed=1, overrides=["amplifier=lm358"])
    b = HardwareNetwork(c, "ideal", seed=1, overrides=["amplifier=lm358"])
    assert np.array_equal(a.circuit.amp_offset, b.circuit.amp_offset)
    assert 1e-4 < np.std(a.circuit.amp_offset) < 1e-2  # LM358: 3 mV typical
    same_gain = HardwareNetwork(c, "ideal", seed=1, overrides=["amplifier=lm358", "offset=0"])
    np.testing.assert_array_equal(same_gain.circuit.amp_gain, a.circuit.amp_gain)
    assert not np.any(same_gain.circuit.amp_offset)
