"""Exception types raised by analog_eqprop.

Every error the toolkit raises on purpose derives from :class:`AnalogEqpropError`, so
scripts can catch the toolkit's own failures without catching programming errors.
The value-like errors also derive from :class:`ValueError` so that generic code that
expects ``ValueError`` for bad input keeps working.

One type per precondition, whichever backend or layer notices it (the checks themselves live
in :mod:`analog_eqprop.validation`, which every public entry point calls):

=============================================  ==========================================
what is wrong                                  raised
=============================================  ==========================================
a graph's node or edge attribute (weight,      :class:`GraphError`, naming the node or
bias, rail ``voltage``, ``gain``, ``offset``,  edge and the attribute
``feature``, ``layer``, ``clamp_low``, ...):
missing, not a number, non-finite, out of
range; a :class:`~analog_eqprop.circuits.Circuit`
field; a label that collides with another
(``vclamp1``, ``h_amp``: both are named)
an array handed to a call (``x``, targets,     :class:`DataError`, naming the array (and
labels, conductances ``g``, states ``ref`` /   the first bad entry's index)
``u0``, currents): wrong shape (never trimmed),
a NaN or inf entry; a nudged phase
(``beta != 0``) without its target;
current-mode nudging without the free state
a setting: config field, backend or solver     :class:`ConfigError`, naming the setting
option, a scalar parameter of a call (``beta``,
step size, learning rate, tolerance): not a
number, non-finite or out of range
SPICE text: a deck read or written             :class:`NetlistError`
=============================================  ==========================================

NumPy Newton, BCD, ngspice and the Hopfield model refuse the same bad input with the same
type and message, before any solve. ``tests/test_bad_inputs.py`` holds the catalogue.
"""

from __future__ import annotations

__all__ = [
    "AnalogEqpropError",
    "GraphError",
    "ConfigError",
    "DataError",
    "NetlistError",
    "SimulationError",
    "ConvergenceError",
    "SimulationTimeoutError",
    "WorkerDiedError",
    "SimulatorUnavailableError",
    "CheckpointError",
]


class AnalogEqpropError(Exception):
    """Base class of all errors raised on purpose by analog_eqprop."""


class GraphError(AnalogEqpropError, ValueError):
    """A network graph is malformed (roles, edges, weights, topology)."""


class ConfigError(AnalogEqpropError, ValueError):
    """A configuration value or file is invalid (unknown key, wrong type, out of range)."""


class DataError(AnalogEqpropError, ValueError):
    """A dataset is missing, corrupt, truncated or has inconsistent shapes."""


class NetlistError(AnalogEqpropError, ValueError):
    """A SPICE netlist cannot be written, parsed or was rejected by the simulator's parser."""


class SimulationError(AnalogEqpropError, RuntimeError):
    """A simulator failed to produce an operating point."""


class ConvergenceError(SimulationError):
    """A solver did not converge to the requested tolerance."""


class SimulationTimeoutError(SimulationError, TimeoutError):
    """A simulator analysis ran past its time limit and was stopped."""


class WorkerDiedError(SimulationError):
    """Worker processes kept dying while running simulations (after the allowed restarts)."""


class SimulatorUnavailableError(SimulationError, ImportError):
    """An optional simulator (ngspice shared library or binary) is not installed."""


class CheckpointError(AnalogEqpropError, OSError):
    """A checkpoint cannot be read, is corrupt, or does not match the run."""
