"""Energy models: the seed's Hopfield network (and, in circuits/, resistive networks)."""

from analog_eqprop.models.blocks import BlockStructure, params_to_graph, structure_from_graph
from analog_eqprop.models.hopfield import HopfieldConfig, HopfieldNetwork, RelaxResult

__all__ = ["BlockStructure", "structure_from_graph", "params_to_graph", "HopfieldConfig", "HopfieldNetwork",
           "RelaxResult"]

from analog_eqprop.models.resistive import ResistiveNetwork  # noqa: E402

__all__ += ["ResistiveNetwork"]
