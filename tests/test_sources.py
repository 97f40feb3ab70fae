"""Tests of analog_eqprop.elements.source where the circuit tests leave it loose.

Found by mutation testing (``benchmarks/mutation.py --modules elements/source.py``): sources
that are neither inputs nor rails (now refused: a rail that read a feature was written as a
constant in a sweep deck, its first example's voltage for every example), source voltages that
overflow (the error must name the source), the sweep deck's account of its index, and the
power each source delivers, per source.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from analog_eqprop.circuits import layered_circuit
from analog_eqprop.elements.source import Sources
from analog_eqprop.errors import GraphError, NetlistError
from analog_eqprop.hardware.power import power_breakdown
from analog_eqprop.netlist import compile_netlist, compile_sweep
from analog_eqprop.solvers.newton import solve_dc


def _small():
    """3 free nodes; sources x0p, x0n, x1p, x1n (gains +1, -1), rails vbias0 (+1 V), vbias1 (-1 V)."""
    return layered_circuit([2, 2, 1], seed=0, clamp=None)


def _with_sources(**changes):
    c = _small()
    return c.with_element(dataclasses.replace(c.element("source"), **changes))


@pytest.mark.parametrize("changes, fragment", [
    (dict(role=("input", "input", "input", "input", "rail", "bias")), "source vbias0 has role 'rail'"),
    (dict(feature=[0, 0, 1, 1, 0, -1]), r"source vbias0 \(bias\) has feature 0"),  # a rail reading x
    (dict(feature=[0, 0, 1, -2, -1, -1]), r"source x1n \(input\) has feature -2"),
])
def test_sources_that_are_neither_inputs_nor_rails_are_refused(changes, fragment):
    with pytest.raises(GraphError, match=fragment):
        _with_sources(**changes)


def test_an_input_without_a_feature_sits_at_its_offset():
    c = _with_sources(feature=[0, 0, 1, -1, -1, -1], offset=[0.0, 0.0, 0.0, 0.3, 1.0, -1.0])
    assert c.source_voltages(np.array([[0.5, 0.25]])).tolist() == [[0.5, -0.5, 0.25, 0.3, 1.0, -1.0]]


@pytest.mark.parametrize("sweep", [False, True])
def test_a_source_voltage_that_overflows_is_refused_by_name(sweep):
    c = _with_sources(gain=[1.0, -1.0, 1e300, -1.0, 0.0, 0.0])
    x = [0.5, 1e10]  # finite features; 1e300 * 1e10 V is not
    with np.errstate(over="ignore"), pytest.raises(NetlistError, match=r"^source 2 is inf"):
        compile_sweep(c, None, [x, x]) if sweep else compile_netlist(c, None, x)


def test_a_sweep_deck_says_how_it_indexes_its_examples():
    lines = compile_sweep(_small(), None, [[0.0, 1.0], [1.0, 0.5]]).lines
    i = lines.index("* sweep index: example k is the .dc point where v(idx) = k")
    assert lines[i + 1] == "vidx idx 0 0"
    assert "* bias rails" in lines and "* inputs: V = gain * x[feature] + offset" in lines


def test_power_delivered_by_each_source():
    """V_s times the current the source drives into the network, summed by hand over its
    conductances, at a Newton operating point; the per-source figures add up to ``sources``."""
    c = _small()
    x = np.array([[0.3, -0.6], [1.0, 0.2]])
    v = solve_dc(c, c.edge_g, x).voltages
    pb = power_breakdown(c, c.edge_g, x, v)
    t = c.element("conductance")
    v_src = c.source_voltages(x)
    w = np.concatenate([v, v_src, np.zeros((2, 1))], axis=1)  # terminals: free, sources, ground last
    want = np.zeros((2, c.n_sources))
    for k in range(len(t)):
        for s_end, o_end in ((t.a[k], t.b[k]), (t.b[k], t.a[k])):
            if c.n_free <= s_end < c.n_free + c.n_sources:
                s = s_end - c.n_free
                want[:, s] += v_src[:, s] * t.g[k] * (v_src[:, s] - w[:, o_end])
    assert pb.per_source.shape == (2, c.n_sources)
    np.testing.assert_allclose(pb.per_source, want, rtol=1e-12, atol=1e-20)
    np.testing.assert_allclose(pb.per_source.sum(axis=1), pb.sources, rtol=1e-12, atol=0)
    assert np.all(np.abs(want).max(axis=1) > 1e-6)  # the sources do drive the net (measured 1.8e-5, 2.0e-5 W)


def test_sources_table_round_trips_its_columns():
    s = Sources(labels=("a", "b"), role=("input", "bias"), feature=[0, -1], gain=[2.0, 0.0], offset=[0.1, 1.0])
    assert s.is_input.tolist() == [True, False]
    assert s.voltages(np.array([[0.25]])).tolist() == [[0.6, 1.0]]
