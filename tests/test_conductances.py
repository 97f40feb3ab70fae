"""Tests of analog_eqprop.elements.conductance where the circuit tests leave it loose.

Found by mutation testing (``benchmarks/mutation.py --modules elements/conductance.py``): the
caches a training loop relies on (found once per table, not per step), rows taken from a tied
table, a circuit without sources in the Norton form, and the Norton cards' refusals, which must
name the node whose value cannot be written.
"""

from __future__ import annotations

import numpy as np
import pytest

from analog_eqprop.circuits import layered_circuit
from analog_eqprop.circuits.description import Circuit
from analog_eqprop.elements.conductance import Conductances
from analog_eqprop.elements.nudge import Outputs
from analog_eqprop.errors import NetlistError
from analog_eqprop.netlist import compile_netlist, compile_sweep


def _small():
    """3 free nodes (h1_0, h1_1, y0); the 8 conductances from the input sources x0p, x0n, x1p,
    x1n (terminals 3-6) come first, four into h1_0 (edges 0, 2, 4, 6), four into h1_1."""
    c = layered_circuit([2, 2, 1], seed=0, clamp=None)
    t = c.element("conductance")
    assert t.a[:8].tolist() == [3, 3, 4, 4, 5, 5, 6, 6] and t.b[:8].tolist() == [0, 1] * 4
    return c


def test_blocks_and_layer_edges_are_found_once_per_table():
    """Every training step asks for them: the second call returns what the first found."""
    t = _small().element("conductance")
    assert t.blocks() is t.blocks()
    first, second = t.layer_edges(), t.layer_edges()
    assert first == second and all(a is b for a, b in zip(first, second))
    second.append("not the table's")  # a copy of the list: a caller cannot change the cache
    assert len(t.layer_edges()) == len(first)


def test_rows_taken_from_a_tied_table_keep_their_parameters():
    t = Conductances(a=[0, 1, 2], b=[1, 2, -1], g=[1e-4, 2e-4, 3e-4], layer=[0, 0, 1], param=[1, -1, 0])
    for rows in ([2, 0], np.array([True, False, True])):
        out = t.take(rows)
        assert out.param.tolist() == ([0, 1] if isinstance(rows, list) else [1, 0])
        assert out.g.tolist() == ([3e-4, 1e-4] if isinstance(rows, list) else [1e-4, 3e-4])


def test_a_circuit_without_sources_compiles_in_the_norton_form():
    """Nothing to fold: the Norton deck's conductance cards are the full deck's."""
    c = Circuit("nosrc", ("h0", "y0"), ("hidden", "output"), [0, 1], n_features=0,
                elements=dict(conductance=Conductances(a=[0, 1], b=[1, -1], g=[1e-4, 2e-4], layer=[0, 1]),
                              nudge=Outputs(pos=[1], neg=[-1])))
    cards = {form: [line for line in compile_netlist(c, None, np.zeros(0), form=form).lines if line[:1] == "r"]
             for form in ("full", "norton")}
    assert cards["norton"] == cards["full"] == ["r0 h0 y0 10000.0", "r1 y0 0 5000.0"]


@pytest.mark.parametrize("sweep", [False, True])
def test_norton_cards_that_cannot_be_written_are_named(sweep):
    """Valid inputs whose Norton equivalent is not a finite number: 1 / sum(g) of four 1e-310 S
    conductances into h1_0, or sum(g V) of 10 S conductances at 1.7e308 V."""
    c = _small()

    def deck(g, x):
        return compile_sweep(c, g, [x, x], form="norton") if sweep else compile_netlist(c, g, x, form="norton")

    g = c.edge_g.copy()
    g[[0, 2, 4, 6]] = 1e-310
    with np.errstate(over="ignore"), pytest.raises(NetlistError, match=r"^Norton conductance of node 0 is inf"):
        deck(g, [0.3, -0.6])
    g = c.edge_g.copy()
    g[:8] = 10.0
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(NetlistError, match=r"^Norton current 0 is"):
        deck(g, [1.7e308, 0.0])
