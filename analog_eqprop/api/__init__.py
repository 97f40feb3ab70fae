"""The model API: layer blocks, a Keras-style model (compile / fit / evaluate / predict / save), history.

Everything compiles to the one circuit description and runs on every backend::

    blocks ─▶ circuit graph ─▶ Circuit ─┬─▶ NumPy twin (Newton, BCD) ─▶ fit / evaluate / predict
     layers.py  (networkx)   circuits/   └─▶ netlist ─▶ ngspice       ─▶ evaluate / predict / export

Examples
--------
>>> from analog_eqprop.api import Sequential, Input, LocallyConnected2D, Dense, DiodeClamp
>>> model = Sequential([Input(64, shape=(8, 8)), LocallyConnected2D(2, kernel=4, stride=2,
...                     clamp=DiodeClamp(0.0)), Dense(10)], seed=0)
>>> model.circuit.n_free, model.circuit.n_edges
(28, 812)
"""

from __future__ import annotations

from analog_eqprop.api.history import History
from analog_eqprop.api.io import circuit_from_dict, circuit_to_dict, save_model
from analog_eqprop.api.layers import (
    Amplifier,
    AveragePooling2D,
    Conv2D,
    CurrentNudge,
    Dense,
    DiodeClamp,
    Input,
    LocallyConnected2D,
    Output,
    ResistiveNudge,
    TransistorEdges,
    build_graph,
)
from analog_eqprop.api.model import Model, Sequential, load_model

__all__ = ["Model", "Sequential", "History", "Input", "Dense", "LocallyConnected2D", "Conv2D", "AveragePooling2D",
           "DiodeClamp", "Amplifier", "TransistorEdges", "Output", "CurrentNudge", "ResistiveNudge", "build_graph",
           "save_model", "load_model", "circuit_to_dict", "circuit_from_dict"]
