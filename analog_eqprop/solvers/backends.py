"""Backends: where a circuit's DC operating point is found. One interface, several engines.

Every backend satisfies :class:`~analog_eqprop.contracts.Backend`: it answers
``operating_point(system, g, x, beta=, target_v=, ref=, u0=)`` with an
:class:`~analog_eqprop.results.OperatingPoint`, so EqProp and training never know which
engine produced the voltages, and declares what else it can do as
:class:`~analog_eqprop.contracts.BackendCapabilities`. Every backend first checks its
arguments with :func:`analog_eqprop.validation.solve_args`, so a bad input gets the same
error from each:

* ``numpy``: batched damped Newton on the nodal equations (:mod:`.numpy_backend`), any circuit;
* ``bcd``: exact block coordinate descent for layered ideal-diode networks (:mod:`.bcd`; on
  torch or CuPy devices with ``xp=``, :mod:`.bcd_device`);
* ``ngspice``: the circuit's netlist simulated by ngspice (:mod:`.ngspice_backend`; the
  ngspice library itself loads at the first simulation, so this module never needs it).

Examples
--------
>>> get_backend("numpy").name
'numpy'
>>> get_backend("bcd").capabilities.keywords()
('i_ext', 'same_g', 'fresh_g', 'beta')
"""

from __future__ import annotations

from analog_eqprop.contracts import Backend, BackendCapabilities, protocol_members
from analog_eqprop.errors import ConfigError
from analog_eqprop.solvers.bcd import BCDBackend
from analog_eqprop.solvers.newton import NewtonSolver
from analog_eqprop.solvers.ngspice_backend import NgspiceBackend
from analog_eqprop.solvers.numpy_backend import NumpyBackend

__all__ = ["Backend", "BackendCapabilities", "NumpyBackend", "BCDBackend", "NgspiceBackend", "get_backend",
           "BACKENDS", "IDEAL_DIODE_BACKENDS", "clamps_ideally"]

BACKENDS = ("numpy", "bcd", "ngspice")
#: Backends that hold every diode as an ideal clamp at its rail's voltage, whatever its card: the
#: circuit they solve is a box-constrained QP, whose exact gradient fixes the clamped nodes
#: (``ResistiveNetwork.implicit_gradient``). The others simulate each diode's card.
IDEAL_DIODE_BACKENDS = ("bcd",)


def clamps_ideally(backend: Backend) -> bool:
    """Whether ``backend`` solves every diode as an ideal clamp (:data:`IDEAL_DIODE_BACKENDS`).

    >>> clamps_ideally(get_backend("bcd")), clamps_ideally(get_backend("numpy"))
    (True, False)
    """
    return backend.name in IDEAL_DIODE_BACKENDS


def get_backend(name: str | Backend, **options) -> Backend:
    """A backend by name (``numpy``, ``bcd``, ``ngspice``, built with ``options``) or a backend
    object passed through (checked to have every member of :class:`~analog_eqprop.contracts.Backend`).

    Examples
    --------
    >>> get_backend(object())
    Traceback (most recent call last):
    ...
    analog_eqprop.errors.ConfigError: a backend object needs capabilities, name, operating_point, stats (see analog_eqprop.contracts.Backend); object lacks: capabilities, name, operating_point, stats
    """
    if not isinstance(name, str):
        if not isinstance(name, Backend):
            need = sorted(protocol_members(Backend))
            missing = [m for m in need if not hasattr(name, m)]
            raise ConfigError(f"a backend object needs {', '.join(need)} (see analog_eqprop.contracts.Backend); "
                              f"{type(name).__name__} lacks: {', '.join(missing)}")
        if options:
            raise ConfigError(f"backend options {sorted(options)} apply to a backend named by a string, not to "
                              f"the {type(name).__name__} object given")
        return name
    if name == "numpy":
        return NumpyBackend(NewtonSolver(**options) if options else None)
    if name == "bcd":
        return BCDBackend(**options)
    if name == "ngspice":
        return NgspiceBackend(**options)
    raise ConfigError(f"unknown backend {name!r}; use one of {', '.join(BACKENDS)}")
