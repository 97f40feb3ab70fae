"""The circuit description's plain-data, pickling and owner-terminal paths (circuits/description.py).

Written for the mutants the mutation run (benchmarks/mutation.py) found alive: a circuit must
survive JSON and pickle exactly, including the kinds without flat legacy names (transistors),
and an owner kind's terminal voltages are computed with the circuit in hand.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
from types import MappingProxyType

import numpy as np
import pytest

from analog_eqprop.circuits import Circuit, DiodeModel, kendall_circuit, transistor_circuit
from analog_eqprop.elements.amplifier import Amplifiers
from analog_eqprop.errors import GraphError


def _same(a: Circuit, b: Circuit) -> None:
    assert (a.name, a.nodes, a.node_role, a.layer_names) == (b.name, b.nodes, b.node_role, b.layer_names)
    assert (a.n_features, a.g_min, a.g_max, a.target_on, a.target_off) == \
        (b.n_features, b.g_min, b.g_max, b.target_on, b.target_off)
    np.testing.assert_array_equal(a.node_layer, b.node_layer)
    assert [t.kind for t in a.tables()] == [t.kind for t in b.tables()]
    for ta, tb in zip(a.tables(), b.tables()):
        assert json.dumps(ta.to_dict()) == json.dumps(tb.to_dict()), ta.kind


def test_to_dict_is_plain_json_and_from_dict_restores_every_kind():
    c = transistor_circuit([2, 3, 2], seed=0)
    assert len(c.element("mosfet")) > 0 and not type(c.element("mosfet")).legacy
    d = c.to_dict()
    # JSON-friendly: tuples as lists; a kind without flat names under "elements", only if non-empty
    assert type(d["nodes"]) is list and type(d["node_role"]) is list and type(d["layer_names"]) is list
    assert type(d["node_layer"]) is list
    assert sorted(d["elements"]) == ["mosfet"]
    assert d["elements"]["mosfet"] == c.element("mosfet").to_dict()
    back = Circuit.from_dict(json.loads(json.dumps(d)))
    _same(back, c)
    assert len(back.element("mosfet")) == len(c.element("mosfet"))
    # a circuit with no such kind writes no "elements" entry, and reads back all the same
    k = kendall_circuit(4, 3, 2, seed=0)
    dk = k.to_dict()
    assert "elements" not in dk
    _same(Circuit.from_dict(dk), k)


def test_from_dict_defaults_the_optional_label_tuples():
    c = kendall_circuit(4, 3, 2, seed=0)
    d = c.to_dict()
    del d["layer_names"]
    back = Circuit.from_dict(d)
    assert back.layer_names == ()
    np.testing.assert_array_equal(back.edge_g, c.edge_g)


def test_pickle_round_trip_keeps_a_read_only_element_map():
    c = transistor_circuit([2, 3, 2], seed=1)
    state = c.__getstate__()
    assert type(state["elements"]) is dict and set(state["elements"]) == set(c.elements)
    back = pickle.loads(pickle.dumps(c))
    assert isinstance(back.elements, MappingProxyType)
    assert list(back.elements) == list(c.elements)
    _same(back, c)


class _SpyAmplifiers(Amplifiers):
    """Amplifiers that record the circuit they are asked for their copies' voltages with."""

    seen: list = []

    def owned_voltages(self, circuit, v_free, v_src):
        _SpyAmplifiers.seen.append(circuit)
        return super().owned_voltages(circuit, v_free, v_src)


def test_owner_kinds_get_the_circuit_for_their_terminal_voltages():
    c = kendall_circuit(4, 3, 2, seed=0)
    amp = c.element("amplifier")
    spy = _SpyAmplifiers(**{f.name: getattr(amp, f.name) for f in dataclasses.fields(amp) if f.init})
    s = c.with_element(spy)
    assert s.element("amplifier") is spy and s.element("conductance") is c.element("conductance")
    _SpyAmplifiers.seen.clear()
    v_free = np.random.default_rng(0).normal(size=(2, c.n_free))
    x = np.random.default_rng(1).random((2, c.n_features))
    w = s.terminal_voltages(v_free, s.source_voltages(x))
    assert _SpyAmplifiers.seen == [s]
    assert w.shape == (2, c.n_terminals + 1)
    np.testing.assert_array_equal(w, c.terminal_voltages(v_free, c.source_voltages(x)))


def test_with_values_sets_each_kinds_trainable_column():
    c = transistor_circuit([2, 3, 2], seed=0)
    assert c.with_values(None) is c and c.with_values({}) is c
    m = c.element("mosfet")
    old = np.array(getattr(m, m.trainable))
    new = old + 0.25
    moved = c.with_values({"mosfet": new})
    np.testing.assert_array_equal(getattr(moved.element("mosfet"), m.trainable), new)
    np.testing.assert_array_equal(getattr(c.element("mosfet"), m.trainable), old)  # the original kept
    assert [t.kind for t in moved.tables()] == [t.kind for t in c.tables()]
    for kind in ("source", "diode", "nudge"):
        assert moved.element(kind) is c.element(kind)
    k = kendall_circuit(4, 3, 2, seed=0)
    g = k.edge_g * 2.0
    np.testing.assert_array_equal(k.with_values({"conductance": g}).edge_g, g)


def test_targets_are_float_volts_for_integer_settings_and_one_hots():
    c = dataclasses.replace(kendall_circuit(4, 3, 2, seed=0), target_on=1, target_off=0)  # plain ints are allowed
    t = c.targets(np.eye(2, dtype=int))
    assert t.dtype == np.float64 and np.array_equal(t, np.eye(2))
    assert c.targets([[True, False]]).dtype == np.float64


def _tiny(diode_anode, diode_cathode):
    """Two free nodes joined by one conductance, no sources: a diode is their only way to ground."""
    return Circuit("tiny", ["h", "y"], ["hidden", "output"], [0, 1], n_features=0, edge_a=[0], edge_b=[1],
                   edge_g=[1e-3], edge_layer=[0], diode_anode=diode_anode, diode_cathode=diode_cathode,
                   diode_model=[0], models=(DiodeModel("DIDEAL"),), out_pos=[1], out_neg=[-1])


def test_ground_on_either_side_of_a_link_is_a_path_to_ground():
    # no owner terminals: the last terminal is the free node y, not a source tied to ground
    for anode, cathode in (([-1], [0]), ([0], [-1])):
        c = _tiny(anode, cathode)
        assert c.n_terminals == 2 and c.n_sources == 0
    with pytest.raises(GraphError, match="no path to a voltage source or ground"):
        _tiny([0], [1])  # a diode between the two free nodes: nothing reaches ground


def test_tables_lists_every_kind_or_only_the_non_empty_ones():
    c = kendall_circuit(4, 3, 2, seed=0)
    every = ["source", "amplifier", "conductance", "diode", "mosfet", "device", "nudge"]
    assert [t.kind for t in c.tables()] == every
    assert [t.kind for t in c.tables(nonempty=False)] == every
    assert [t.kind for t in c.tables(nonempty=True)] == ["source", "amplifier", "conductance", "diode", "nudge"]


def test_terminal_kind_of_every_terminal_and_ground():
    c = kendall_circuit(4, 3, 2, seed=0)
    t = np.arange(-1, c.n_terminals)
    expected = [-1] + [0] * c.n_free + [1] * c.n_sources + [2] * c.n_amps
    kind = c.terminal_kind(t)
    assert kind.dtype.kind == "i" and kind.tolist() == expected
    assert c.terminal_kind(np.array([[-1, 0], [c.n_free, c.n_terminals - 1]])).tolist() == [[-1, 0], [1, 2]]
    fixed = c.is_fixed(t)
    assert fixed.tolist() == [True] + [False] * c.n_free + [True] * c.n_sources + [False] * c.n_amps


def test_constructor_defaults():
    from analog_eqprop.defaults import CIRCUIT_DEFAULTS

    c = Circuit("tiny", ["h", "y"], ["hidden", "output"], [0, 1], edge_a=[0], edge_b=[1], edge_g=[1e-3],
                edge_layer=[0], diode_anode=[-1], diode_cathode=[0], diode_model=[0],
                models=(DiodeModel("DIDEAL"),), out_pos=[1], out_neg=[-1])
    assert c.n_features == 0 and c.layer_names == ()
    assert (c.target_on, c.target_off) == (1.0, 0.0)
    assert (c.g_min, c.g_max) == (CIRCUIT_DEFAULTS["g_min"], CIRCUIT_DEFAULTS["g_max"])


def test_unknown_keywords_and_kinds_are_refused():
    c = kendall_circuit(4, 3, 2, seed=0)
    args = (c.name, c.nodes, c.node_role, c.node_layer)
    kw = dict(n_features=c.n_features, elements=dict(c.elements))
    assert Circuit(*args, **kw).n_edges == c.n_edges
    with pytest.raises(TypeError, match="'edge_weight'"):
        Circuit(*args, edge_weight=c.edge_g, **kw)
    with pytest.raises(GraphError, match=r"unknown element kind\(s\) \['resistor'\]"):
        Circuit(*args, n_features=c.n_features, elements={**c.elements, "resistor": c.element("conductance")})


def test_constructor_keeps_the_given_settings_and_casts_layers_to_int():
    c = Circuit("tiny", ["h", "y"], ["hidden", "output"], np.array([0.0, 1.0]), n_features=0, g_min=1e-7,
                g_max=1e-2, target_on=0.3, target_off=-0.25, layer_names=["w"], edge_a=[0], edge_b=[1],
                edge_g=[1e-3], edge_layer=[0], diode_anode=[-1], diode_cathode=[0], diode_model=[0],
                models=(DiodeModel("DIDEAL"),), out_pos=[1], out_neg=[-1])
    assert (c.g_min, c.g_max, c.target_on, c.target_off, c.layer_names) == (1e-7, 1e-2, 0.3, -0.25, ("w",))
    assert c.node_layer.dtype == np.int64 and c.node_layer.tolist() == [0, 1] and not c.node_layer.flags.writeable
    np.testing.assert_allclose(c.targets([[1, 0]]), [[0.3, -0.25]], rtol=1e-15, atol=1e-15)


def _tiny_kw(**kw):
    base = dict(name="tiny", nodes=["h", "y"], node_role=["hidden", "output"], node_layer=[0, 1], edge_a=[0],
                edge_b=[1], edge_g=[1e-3], edge_layer=[0], diode_anode=[-1], diode_cathode=[0], diode_model=[0],
                models=(DiodeModel("DIDEAL"),), out_pos=[1], out_neg=[-1])
    return {**base, **kw}


@pytest.mark.parametrize("kw, msg", [
    (dict(node_role=["hidden"]), "one entry per free node"),
    (dict(node_layer=[0, 1, 1]), "one entry per free node"),
    (dict(g_min=0.0), "0 < g_min < g_max"),
    (dict(g_min=1e-3, g_max=1e-3), "0 < g_min < g_max"),
    (dict(g_max=np.inf), "g_max must be a finite number"),
], ids=["role", "layer", "g_min-0", "g_min-eq-g_max", "g_max-inf"])
def test_node_columns_and_conductance_range_are_checked_at_their_bounds(kw, msg):
    with pytest.raises(GraphError, match=msg):
        Circuit(**_tiny_kw(**kw))
    assert Circuit(**_tiny_kw(g_min=1e-12, g_max=1.0)).g_min == 1e-12  # just inside
