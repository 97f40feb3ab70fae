"""analog_eqprop: Equilibrium Propagation on simulated analog hardware.

The data path, one subpackage per step::

    graphs -> circuits -> netlist / NumPy system -> solvers -> eqprop -> training -> compare

``import analog_eqprop`` never needs ngspice; the SPICE backend loads lazily.
"""

from __future__ import annotations

__version__ = "0.1.0"

from analog_eqprop.errors import (  # noqa: F401
    AnalogEqpropError,
    CheckpointError,
    ConfigError,
    ConvergenceError,
    DataError,
    GraphError,
    NetlistError,
    SimulationError,
    SimulatorUnavailableError,
)
