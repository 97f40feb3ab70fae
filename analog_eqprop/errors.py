"""Exception types raised by analog_eqprop.

Every error the toolkit raises on purpose derives from :class:`AnalogEqpropError`, so
scripts can catch the toolkit's own failures without catching programming errors.
The value-like errors also derive from :class:`ValueError` so that generic code that
expects ``ValueError`` for bad input keeps working.
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
