"""Circuit -> SPICE netlist text, safe names, and reading the project's own netlists back.

* :mod:`~analog_eqprop.spice.names`: the sanitiser and :class:`NameMap` (labels <-> node
  names), safe free text, metadata encoding;
* :mod:`~analog_eqprop.netlist.compiler`: :func:`compile_netlist` (one ``.op``) and
  :func:`compile_sweep` (many examples in one ``.dc``), full or Norton form;
* :mod:`~analog_eqprop.netlist.parser`: :func:`parse_netlist` and
  :meth:`ParsedNetlist.to_circuit`.
* :mod:`~analog_eqprop.netlist.pyspice`: :func:`to_pyspice`, the same circuit as a PySpice
  ``Circuit`` object (PySpice imported on use).

Examples
--------
>>> from analog_eqprop.circuits import layered_circuit
>>> from analog_eqprop.netlist import compile_netlist, parse_netlist
>>> c = layered_circuit([2, 2, 1], seed=0)
>>> net = compile_netlist(c, x=[0.2, 0.7])
>>> c2, g2, x2 = parse_netlist(net.text).to_circuit()
>>> compile_netlist(c2, g2, x2).text == net.text
True
"""

from __future__ import annotations

from analog_eqprop.netlist.compiler import FORMS, Netlist, compile_netlist, compile_sweep
from analog_eqprop.spice.names import NameMap, comment_text, sanitize, title_text
from analog_eqprop.netlist.parser import Element, ParsedNetlist, parse_netlist
from analog_eqprop.netlist.pyspice import pyspice_free_voltages, to_pyspice

__all__ = [
    "Netlist", "compile_netlist", "compile_sweep", "FORMS", "NameMap", "sanitize", "comment_text", "title_text",
    "parse_netlist", "ParsedNetlist", "Element", "to_pyspice", "pyspice_free_voltages",
]
