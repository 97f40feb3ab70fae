"""Resistive EqProp circuits: elements, the one circuit description, and builders from graphs."""

from analog_eqprop.circuits.builders import (
    circuit_graph,
    dense_circuit,
    drn_circuit,
    init_conductances,
    kendall_circuit,
    layered_circuit,
    random_circuit,
    transistor_circuit,
)
from analog_eqprop.circuits.description import GROUND, NUDGE_MODES, Circuit
from analog_eqprop.circuits.from_graph import circuit_from_graph
from analog_eqprop.circuits.elements import (
    DiodeModel,
    diode_current,
    load_diode_models,
    parse_model_cards,
    thermal_voltage,
)

__all__ = [
    "Circuit", "GROUND", "NUDGE_MODES", "DiodeModel", "diode_current", "load_diode_models", "parse_model_cards",
    "thermal_voltage", "circuit_from_graph", "circuit_graph", "layered_circuit", "drn_circuit", "kendall_circuit",
    "random_circuit", "transistor_circuit", "init_conductances", "dense_circuit",
]
