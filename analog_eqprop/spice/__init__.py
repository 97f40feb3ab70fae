"""SPICE text at its lowest layer: numbers as ngspice reads them, and safe names.

Everything that writes or reads a card (the element kinds, the netlist compiler and parser,
the deck policy) uses these two modules, and they import nothing of the toolkit but its
errors, so that every layer above may use them:

* :mod:`.numbers` -- :func:`~.numbers.spice_number`, ngspice 39.3's number reader;
* :mod:`.names` -- :class:`~.names.NameMap`, :func:`~.names.format_number` and the rest of
  what keeps user-controlled labels from steering ngspice.
"""

from analog_eqprop.spice.names import NameMap, check_model_name, format_number
from analog_eqprop.spice.numbers import option_value, spice_number

__all__ = ["spice_number", "option_value", "NameMap", "format_number", "check_model_name"]
