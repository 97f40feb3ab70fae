"""Circuit elements as first-class kinds: one module per kind, one protocol, one registry.

Every kind is a table class (:class:`~analog_eqprop.elements.base.ElementTable`) in a module of
its own; a :class:`~analog_eqprop.circuits.Circuit` holds one table per kind in :data:`KINDS`,
and every simulator layer loops over them (see :mod:`.base` for the protocol). Adding a kind
is a module plus one line in :data:`KINDS`.

============  ==========================  ==================================================
kind          table                       module
============  ==========================  ==================================================
source        :class:`Sources`            :mod:`.source` (inputs and bias rails)
amplifier     :class:`Amplifiers`         :mod:`.amplifier` (Kendall's VCVS + CCCS pairs)
conductance   :class:`Conductances`       :mod:`.conductance` (the trainable weights)
diode         :class:`Diodes`             :mod:`.diode` (SPICE level-1 junctions)
mosfet        :class:`Mosfets`            :mod:`.mosfet` (ngspice level-1 transistors)
device        :class:`Devices`            :mod:`.device` (a user's I-V law, Python + expression)
nudge         :class:`Outputs`            :mod:`.nudge` (the outputs and their nudge)
============  ==========================  ==================================================

Examples
--------
>>> [k.kind for k in KINDS]
['source', 'amplifier', 'conductance', 'diode', 'mosfet', 'device', 'nudge']
"""

from analog_eqprop.elements.amplifier import Amplifiers
from analog_eqprop.elements.base import GROUND, Branches, ElementTable, TerminalMap
from analog_eqprop.elements.conductance import Conductances
from analog_eqprop.elements.device import DeviceLaw, Devices
from analog_eqprop.elements.diode import (
    DiodeModel,
    Diodes,
    branch_current,
    diode_current,
    diode_model,
    load_diode_models,
)
from analog_eqprop.elements.mosfet import OWN_GATE, MosfetModel, Mosfets, load_mosfet_models, mosfet_model
from analog_eqprop.elements.nudge import NUDGE_MODES, Outputs
from analog_eqprop.elements.source import Sources

#: The registered kinds, in order: the owners of terminals first (their terminal blocks follow
#: the free nodes in this order), then the others; a deck's sections follow this order too.
KINDS: tuple[type[ElementTable], ...] = (
    Sources,
    Amplifiers,
    Conductances,
    Diodes,
    Mosfets,
    Devices,
    Outputs,
)

__all__ = ["KINDS", "kind", "GROUND", "ElementTable", "TerminalMap", "Branches", "Sources", "Amplifiers",
           "Conductances", "Diodes", "Outputs", "DiodeModel", "diode_current", "branch_current", "diode_model",
           "load_diode_models", "NUDGE_MODES", "Mosfets", "MosfetModel", "OWN_GATE", "load_mosfet_models",
           "mosfet_model", "Devices", "DeviceLaw"]


def kind(name: str) -> type[ElementTable]:
    """The table class of kind ``name`` (KeyError naming the known kinds otherwise)."""
    for k in KINDS:
        if k.kind == name:
            return k
    raise KeyError(f"unknown element kind {name!r}; known: {', '.join(k.kind for k in KINDS)}")
