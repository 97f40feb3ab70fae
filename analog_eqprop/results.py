"""The result types every layer shares: what a solver returns, what a relaxation returns.

They live here, below every solver and model, so that a backend, an energy model, EqProp and
the trainer can all name them without importing one another:

* :class:`OperatingPoint`: a batch of DC operating points from any backend (NumPy Newton,
  BCD, ngspice), with its status, residuals and the simulator's log;
* :class:`RelaxResult`: a relaxation of an energy model (free or nudged phase), the one thing
  :mod:`analog_eqprop.eqprop` and the trainer read from a model's ``relax``.

``analog_eqprop.solvers.newton.OperatingPoint`` and ``analog_eqprop.models.RelaxResult``
remain importable (re-exports).

Examples
--------
>>> import numpy as np
>>> op = OperatingPoint(voltages=np.zeros((2, 3)), internal=np.zeros((2, 1)), status="converged",
...                     converged=np.ones(2, bool), iterations=1, residual=np.zeros(2))
>>> op.state.shape
(2, 4)
>>> RelaxResult(op.state, op.iterations, 0.0).converged
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["OperatingPoint", "RelaxResult"]


@dataclass(frozen=True)
class OperatingPoint:
    """DC operating points of a batch.

    Attributes
    ----------
    voltages : ndarray, (batch, n_free)
        Free-node voltages [V], in the circuit's node order.
    internal : ndarray, (batch, n_internal)
        Voltages of the diodes' internal nodes [V] (series resistance), if any.
    status : str
        ``"converged"`` or ``"max_iter"``.
    converged : ndarray of bool, (batch,)
    iterations : int
        The batch's largest iteration count.
    residual : ndarray, (batch,)
        Largest KCL residual [A] per example.
    backend : str
    log : str
    seconds : float
    extra : dict
        Backend-specific details. The NumPy Newton's: ``"aids"``, a list of ``(example,
        tried)`` for each example that needed a fall-back, ``tried`` naming in order what was
        tried (``"as configured (...)"``, ``"gmin stepping"``, ``"source stepping"``; a
        failed one with `` (no convergence)``), as the ngspice backend names its retries per
        chunk; ``"example_iterations"``, the Newton iterations of each example, fall-backs'
        included (``iterations`` is their maximum).
    """

    voltages: np.ndarray
    internal: np.ndarray
    status: str
    converged: np.ndarray
    iterations: int
    residual: np.ndarray
    backend: str = "numpy-newton"
    log: str = ""
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def state(self) -> np.ndarray:
        """All unknowns ``[voltages, internal]`` (what warm starts take)."""
        return np.concatenate([self.voltages, self.internal], axis=1)


@dataclass(frozen=True)
class RelaxResult:
    """Outcome of a relaxation.

    Attributes
    ----------
    state : ndarray, shape (batch, n_free)
        Final free-unit state (for a circuit: every unknown of the operating point [V]).
    n_iter : int
        Steps taken (a circuit: the solver's iterations).
    max_step : float
        Largest absolute state change in the last step (a convergence measure; a circuit:
        the largest residual [A]).
    converged : bool
        ``max_step <= tol`` when a tolerance was given, else ``True`` (a circuit: every
        example's operating point converged).
    """

    state: np.ndarray
    n_iter: int
    max_step: float
    converged: bool = True
