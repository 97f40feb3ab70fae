"""The NumPy backend: batched damped Newton on the nodal equations, for any circuit.

The reference every other backend is checked against (:mod:`.newton` does the work); it
satisfies :class:`~analog_eqprop.contracts.Backend`, and takes the trained columns of kinds other
than conductances (``values=``, capability ``element_values``: transistor gate voltages...).

Examples
--------
>>> import numpy as np
>>> from analog_eqprop.circuits import layered_circuit
>>> from analog_eqprop.solvers.mna import MNASystem
>>> c = layered_circuit([2, 3, 1], seed=0)
>>> op = NumpyBackend().operating_point(MNASystem(c), c.edge_g, np.array([[0.2, 0.9]]))
>>> op.status, op.voltages.shape, NumpyBackend.capabilities.keywords()
('converged', (1, 4), ('values',))
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from analog_eqprop.contracts import BackendCapabilities
from analog_eqprop.results import OperatingPoint
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.solvers.newton import NewtonSolver
from analog_eqprop.validation import solve_args

__all__ = ["NumpyBackend"]


class NumpyBackend:
    """Batched Newton (the NumPy reference solver of any circuit).

    Parameters
    ----------
    solver : NewtonSolver, optional
        Its tolerances and convergence aids (default ``NewtonSolver()``).
    """

    name = "numpy"
    capabilities = BackendCapabilities(element_values=True)

    def __init__(self, solver: NewtonSolver | None = None):
        self.solver = solver or NewtonSolver()
        self.stats: dict[str, Any] = {}

    def operating_point(self, system: MNASystem, g: np.ndarray, x: np.ndarray, *, beta: float = 0.0,
                        target_v: np.ndarray | None = None, ref: np.ndarray | None = None,
                        u0: np.ndarray | None = None,
                        values: Mapping[str, np.ndarray] | None = None) -> OperatingPoint:
        """Operating points of a batch (see :class:`~analog_eqprop.contracts.Backend`).

        ``values``: the trained columns of kinds other than conductances (``{kind: array}``,
        e.g. transistor gate voltages [V]), see :meth:`~analog_eqprop.circuits.Circuit.with_values`."""
        g, x, beta, target_v, ref, u0 = solve_args(system.circuit, g, x, beta=beta, target=target_v, ref=ref, u0=u0,
                                                   n_state=system.n)
        v_src = system.circuit.source_voltages(x)
        nudge = system.nudge_terms(beta, target_v, ref) if target_v is not None else None
        return self.solver.solve(system, g, v_src, u0=u0, nudge=nudge, values=values)
