"""Tests of analog_eqprop.elements.nudge: the outputs and their nudge, on the cases the circuit
tests never build.

Found by mutation testing (``benchmarks/mutation.py --modules elements/nudge.py``): no circuit
of the other tests has a differential output whose negative node is free node 0 (``neg >= 0``
written ``neg > 0`` passed everything), nor single-ended and differential outputs side by side,
nor outputs the circuit must refuse; the errors that name a non-finite nudge value, the deck's
account of its nudge and the float64 targets are pinned here too.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from analog_eqprop.circuits import layered_circuit
from analog_eqprop.elements.nudge import Outputs
from analog_eqprop.errors import GraphError, NetlistError
from analog_eqprop.netlist import compile_netlist
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.solvers.newton import NewtonSolver, solve_dc


def _small(outputs: Outputs | None = None):
    """A linear layered circuit: 3 free nodes (h1_0, h1_1, y0), no internal nodes."""
    c = layered_circuit([2, 2, 1], seed=0, clamp=None)
    return c if outputs is None else c.with_element(outputs)


# ------------------------------------------------------------------------------ the table itself
def test_output_columns_are_int64_whatever_integers_they_are_given():
    o = Outputs(pos=np.array([2, 1], np.int32), neg=np.array([0, -1], np.int16))
    assert o.pos.dtype == np.int64 and o.neg.dtype == np.int64
    assert o.pos.tolist() == [2, 1] and o.neg.tolist() == [0, -1]


def test_a_differential_output_against_free_node_zero():
    """``neg = 0`` is a node like any other: read out, scattered into and stamped (both modes)."""
    o = Outputs(pos=[2], neg=[0], mode="resistive")
    v = np.array([[0.5, -0.25, 0.75], [1.0, 2.0, -3.0]])
    assert o.differential and o.read_out(v).tolist() == [[0.25], [-4.0]]
    assert o.scatter(np.array([[2.0], [-1.0]]), 4).tolist() == [[-2.0, 0, 2.0, 0], [1.0, 0, -1.0, 0]]
    dG, db = o.stamps(4, 0.5, np.array([[0.2], [0.4]]), None)
    want = np.zeros((4, 4))
    want[2, 2] = want[0, 0] = 0.5
    want[2, 0] = want[0, 2] = -0.5
    assert np.array_equal(dG, want)
    assert np.allclose(db, [[-0.1, 0, 0.1, 0], [-0.2, 0, 0.2, 0]], rtol=0, atol=1e-16)


def test_single_ended_and_differential_outputs_side_by_side():
    """An output with ``neg = -1`` among differential ones reads ``V(pos)`` alone (nothing is
    subtracted for it) and gets no opposite current or conductance to ground."""
    o = Outputs(pos=[2, 1], neg=[0, -1], mode="resistive")
    v = np.array([[0.5, -0.25, 0.75]])
    assert o.read_out(v).tolist() == [[0.25, -0.25]]
    assert o.scatter(np.array([[2.0, 3.0]]), 3).tolist() == [[-2.0, 3.0, 2.0]]
    dG, _ = o.stamps(3, 1.0, np.zeros((1, 2)), None)
    assert dG.tolist() == [[1.0, 0.0, -1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 1.0]]
    current = Outputs(pos=[2, 1], neg=[0, -1]).injected(0.5, np.array([[0.0, 0.5]]), v)
    assert current.tolist() == [[-0.125, 0.375]]  # -beta (out - t)


def test_targets_are_stamped_in_float64_whatever_their_dtype():
    """beta * target in float32 would round (NumPy keeps a float32 array float32 against a Python float)."""
    o = Outputs(pos=[2], neg=[0], mode="resistive")
    t64 = np.array([[0.1], [0.7]])
    t32 = t64.astype(np.float32)
    _, db32 = o.stamps(3, 0.1, t32, None)
    _, db_exact = o.stamps(3, 0.1, t32.astype(np.float64), None)
    assert db32.dtype == np.float64 and np.array_equal(db32, db_exact)


# ------------------------------------------------------------------------------ the circuit's checks
@pytest.mark.parametrize("pos, neg, fragment", [
    ([2, 1], [-1], "out_neg must match out_pos"),
    ([], [], "needs at least one output"),
    ([3], [-1], "outputs must be free nodes"),  # pos past the free nodes, neg fine
    ([2], [3], "outputs must be free nodes"),  # neg past the free nodes, pos fine
    ([-1], [-1], "outputs must be free nodes"),  # pos on ground
    ([2, 1], [0, 1], "output 1 reads V(pos) - V(neg) of one node (pos = neg = 1)"),
])
def test_the_circuit_refuses_outputs_that_are_not_outputs(pos, neg, fragment):
    with pytest.raises(GraphError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        _small(Outputs(pos=pos, neg=neg))


def test_the_nudged_operating_point_of_a_differential_output_on_node_zero():
    """The Newton backend's nudged phase on ``y0 - h1_0`` against a dense solve with the nudge
    written out here: current mode injects ``-beta (out_ref - t)`` into y0 and its opposite into
    h1_0; resistive mode adds ``beta`` between y0 and a source at ``t`` above h1_0."""
    x = np.array([[0.3, -0.6], [1.0, 0.2]])
    t = np.array([[1.0], [0.0]])
    beta = 2e-6
    for mode in ("current", "resistive"):
        c = _small(Outputs(pos=[2], neg=[0], mode=mode))
        sysm = MNASystem(c)
        assert sysm.n == c.n_free == 3
        G = sysm.conductance_matrix(c.edge_g)
        b = sysm.source_drive(c.edge_g, c.source_voltages(x))
        free = np.stack([np.linalg.solve(G, bi) for bi in b])
        solver = NewtonSolver()
        got_free = solve_dc(c, c.edge_g, x, solver=solver).voltages
        np.testing.assert_allclose(got_free, free, rtol=0, atol=1e-12)
        e = np.array([-1.0, 0.0, 1.0])  # y0 minus h1_0
        if mode == "current":
            current = -beta * (free[:, 2] - free[:, 0] - t[:, 0])
            want = np.stack([np.linalg.solve(G, b[i] + current[i] * e) for i in range(2)])
            got = solve_dc(c, c.edge_g, x, solver=solver, beta=beta, target=t, ref=free).voltages
        else:
            Gn = G + beta * np.outer(e, e)
            want = np.stack([np.linalg.solve(Gn, b[i] + beta * t[i, 0] * e) for i in range(2)])
            got = solve_dc(c, c.edge_g, x, solver=solver, beta=beta, target=t).voltages
        assert np.max(np.abs(want - free)) > 1e-3  # the nudge moves the nodes (measured 0.03-0.2 V)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


# ------------------------------------------------------------------------------ the deck
def test_a_deck_says_how_it_nudges():
    c = _small()
    x, ref = [0.3, -0.6], np.zeros(3)
    text = compile_netlist(c, None, x, beta=0.25, target=[1.0], nudge_ref=ref).lines
    assert text[text.index("* nudging (beta = 0.25, current mode): I = -beta dC/dV at the free state into") + 1] \
        == "* each output node, C = 1/2 sum of (out - target) squared"
    text = compile_netlist(c, None, x, beta=0.25, nudge_current=[1e-6]).lines
    assert text[text.index("* nudging (beta = 0.25, current mode): I = -beta dC/dV at the free state into") + 1] \
        == "* each output node, currents computed by the caller from its loss"
    text = compile_netlist(_small(Outputs(pos=[2], neg=[-1], mode="resistive")), None, x, beta=0.25, target=[1.0]).lines
    assert "* nudging (beta = 0.25, resistive): 1/beta ohm from each output to its target" in text
    assert "* outputs: 1 single-ended" in text
    text = compile_netlist(_small(Outputs(pos=[2], neg=[0])), None, x).lines
    assert "* outputs: 1 differential (V(pos) - V(neg))" in text


def test_a_nudge_that_overflows_is_refused_by_name():
    """Finite inputs whose nudge is not finite: the error names the card's value."""
    c = _small()
    with np.errstate(over="ignore"), pytest.raises(NetlistError, match=r"^nudge current 0 is -inf"):  # -10 (1e308 - 1)
        compile_netlist(c, None, [0.3, -0.6], beta=10.0, target=[1.0], nudge_ref=[0.0, 0.0, 1e308])
    resistive = _small(Outputs(pos=[2], neg=[-1], mode="resistive"))
    with pytest.raises(NetlistError, match=r"^nudge resistance is inf"):  # 1 / 1e-310 overflows
        compile_netlist(resistive, None, [0.3, -0.6], beta=1e-310, target=[1.0])
    wide = dataclasses.replace(resistive, target_on=1.0, target_off=-1.0)  # t = -1 + 2 * target [V]
    with np.errstate(over="ignore"), pytest.raises(NetlistError, match=r"^target 0 is inf"):
        compile_netlist(wide, None, [0.3, -0.6], beta=0.25, target=[1e308])
