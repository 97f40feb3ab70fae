"""Backends: where a circuit's DC operating point is found. One interface, several engines.

Every backend answers ``operating_point(system, g, x, beta=, target_v=, ref=, u0=)`` with an
:class:`~analog_eqprop.solvers.newton.OperatingPoint`, so EqProp and training never know which
engine produced the voltages; every backend first checks its arguments with
:func:`analog_eqprop.validation.solve_args`, so a bad input gets the same error from each:

* ``numpy``: batched damped Newton on the nodal equations (:mod:`.newton`), any circuit;
* ``bcd``: exact block coordinate descent for layered ideal-diode networks (:mod:`.bcd`);
* ``ngspice``: the circuit's netlist simulated by ngspice (:mod:`.ngspice_backend`).

Examples
--------
>>> get_backend("numpy").name
'numpy'
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from analog_eqprop.errors import ConfigError
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.solvers.newton import NewtonSolver, OperatingPoint
from analog_eqprop.validation import solve_args

__all__ = ["Backend", "NumpyBackend", "get_backend", "BACKENDS"]

BACKENDS = ("numpy", "bcd", "ngspice")


class Backend(Protocol):
    name: str

    def operating_point(self, system: MNASystem, g: np.ndarray, x: np.ndarray, *, beta: float = 0.0,
                        target_v: np.ndarray | None = None, ref: np.ndarray | None = None,
                        u0: np.ndarray | None = None) -> OperatingPoint:
        """Operating points of a batch: ``x`` (batch, n_features), ``target_v`` output targets [V]."""
        ...


class NumpyBackend:
    """Batched Newton (the NumPy reference solver of any circuit)."""

    name = "numpy"

    def __init__(self, solver: NewtonSolver | None = None):
        self.solver = solver or NewtonSolver()

    def operating_point(self, system, g, x, *, beta=0.0, target_v=None, ref=None, u0=None,
                        values=None) -> OperatingPoint:
        """``values``: the trained columns of kinds other than conductances (``{kind: array}``,
        e.g. transistor gate voltages [V]), see :meth:`~analog_eqprop.circuits.Circuit.with_values`."""
        g, x, beta, target_v, ref, u0 = solve_args(system.circuit, g, x, beta=beta, target=target_v, ref=ref, u0=u0,
                                                   n_state=system.n)
        v_src = system.circuit.source_voltages(x)
        nudge = system.nudge_terms(beta, target_v, ref) if target_v is not None else None
        return self.solver.solve(system, g, v_src, u0=u0, nudge=nudge, values=values)


def get_backend(name: str | Any, **options) -> Any:
    """A backend by name (``numpy``, ``bcd``, ``ngspice``) or a backend object passed through."""
    if not isinstance(name, str):
        return name
    if name == "numpy":
        return NumpyBackend(NewtonSolver(**options) if options else None)
    if name == "bcd":
        from analog_eqprop.solvers.bcd import BCDBackend

        return BCDBackend(**options)
    if name == "ngspice":
        from analog_eqprop.solvers.ngspice_backend import NgspiceBackend

        return NgspiceBackend(**options)
    raise ConfigError(f"unknown backend {name!r}; use one of {', '.join(BACKENDS)}")
