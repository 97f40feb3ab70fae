"""Resistive networks as EqProp energy models: conductances are the weights.

The energy is the circuit's co-content (PHYSICS.md §3); its derivative with respect to a
conductance is ``1/2 dV^2``, the squared voltage drop across it, so the EqProp update of
every conductance is local::

    dg = -(lr / beta) * 1/2 * (dV_beta^2 - dV_0^2),   then clipped to [g_min, g_max].

The model holds the trainable conductances (one array per learning-rate layer), finds
operating points through a backend (``numpy``, ``bcd`` or ``ngspice``) and implements the
same interface as :class:`~analog_eqprop.models.HopfieldNetwork`, so the same trainer and
gradient checks work on both.

Examples
--------
>>> import numpy as np
>>> from analog_eqprop.circuits import layered_circuit
>>> net = ResistiveNetwork(layered_circuit([2, 4, 2], seed=0))
>>> s0 = net.relax(np.array([[0.1, 0.9]]), net.init_state(1)).state
>>> net.output(s0).shape, sorted(net.params)
((1, 2), ['g0', 'g1'])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from analog_eqprop.circuits.description import Circuit
from analog_eqprop.errors import DataError
from analog_eqprop.models.hopfield import RelaxResult
from analog_eqprop.solvers.backends import get_backend
from analog_eqprop.solvers.mna import MNASystem

__all__ = ["ResistiveNetwork"]


class ResistiveNetwork:
    """A circuit, its trainable conductances and the backend that solves it.

    Parameters
    ----------
    circuit : Circuit
        The one circuit description.
    backend : str or backend object
        ``"numpy"`` (default), ``"bcd"`` or ``"ngspice"``.
    g : ndarray, optional
        Initial conductances [S] (default: ``circuit.edge_g``).
    """

    def __init__(self, circuit: Circuit, backend: Any = "numpy", g: np.ndarray | None = None, **backend_options):
        self.circuit = circuit
        self.system = MNASystem(circuit)
        self.backend = get_backend(backend, **backend_options)
        g = np.array(circuit.edge_g if g is None else g, dtype=np.float64)
        if g.shape != (circuit.n_edges,):
            raise DataError(f"conductances must have shape ({circuit.n_edges},), got {g.shape}")
        self._layer_idx = [np.flatnonzero(circuit.edge_layer == lay) for lay in range(circuit.n_layers)]
        self.params = {f"g{lay}": g[idx].copy() for lay, idx in enumerate(self._layer_idx)}
        self.last_op = None

    # -- parameters ---------------------------------------------------------------------
    @property
    def g(self) -> np.ndarray:
        """All conductances [S] in the circuit's edge order."""
        g = np.empty(self.circuit.n_edges)
        for lay, idx in enumerate(self._layer_idx):
            g[idx] = self.params[f"g{lay}"]
        return g

    def set_conductances(self, g: np.ndarray) -> None:
        for lay, idx in enumerate(self._layer_idx):
            self.params[f"g{lay}"][...] = g[idx]

    def param_layer(self, name: str) -> int:
        return int(name[1:])

    @property
    def n_layers(self) -> int:
        return len(self._layer_idx)

    def project(self) -> None:
        """Clip every conductance to the device range [g_min, g_max]."""
        for v in self.params.values():
            np.clip(v, self.circuit.g_min, self.circuit.g_max, out=v)

    def symmetric_params(self) -> tuple[str, ...]:
        return ()

    def param_masks(self) -> dict[str, np.ndarray]:
        return {}

    # -- sizes ----------------------------------------------------------------------------
    @property
    def n_inputs(self) -> int:
        return self.circuit.n_features

    @property
    def n_outputs(self) -> int:
        return self.circuit.n_outputs

    @property
    def n_free(self) -> int:
        return self.system.n

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float64)

    def check_inputs(self, x: np.ndarray, target: np.ndarray | None = None) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise DataError(f"inputs must have shape (batch, {self.n_inputs}), got {x.shape}")
        if not np.all(np.isfinite(x)):
            raise DataError("inputs contain NaN or inf")
        return x

    # -- physics --------------------------------------------------------------------------
    def init_state(self, batch_size: int) -> np.ndarray:
        """All node voltages at 0 V (only a starting guess: the operating point is unique
        for reciprocal circuits)."""
        return np.zeros((batch_size, self.system.n))

    def prepare(self, x: np.ndarray) -> None:
        return None

    def relax(self, x, state=None, *, beta: float = 0.0, target=None, n_iter=None, rng=None, tol=None,
              static=None) -> RelaxResult:
        """The operating point (free phase) or the nudged one (``beta != 0``, from the free
        state ``state``, which also sets current-mode nudging currents)."""
        x = self.check_inputs(x)
        target_v = None
        if beta:
            if target is None:
                raise DataError("a nudged phase (beta != 0) needs targets")
            target_v = self.circuit.targets(target)
        op = self.backend.operating_point(self.system, self.g, x, beta=beta, target_v=target_v,
                                          ref=state if beta else None, u0=state)
        self.last_op = op
        return RelaxResult(op.state, op.iterations, float(np.max(op.residual, initial=0.0)),
                           converged=bool(np.all(op.converged)))

    def output(self, state: np.ndarray) -> np.ndarray:
        """Output voltages [V] (differences for differential pairs)."""
        return self.circuit.outputs(state[:, : self.circuit.n_free])

    def cost(self, state: np.ndarray, target: np.ndarray) -> np.ndarray:
        """``1/2 ||out - target_v||^2`` [V^2] per example, ``target`` one-hot."""
        d = self.output(state) - self.circuit.targets(target)
        return 0.5 * np.sum(d * d, axis=1)

    def edge_drops(self, x: np.ndarray, state: np.ndarray) -> np.ndarray:
        return self.system.edge_drops(state, self.circuit.source_voltages(x))

    def energy_grad_diff(self, x, s1, s2) -> dict[str, np.ndarray]:
        """``dE/dg(s1) - dE/dg(s2) = 1/2 (dV1^2 - dV2^2)``, batch mean, per layer."""
        v_src = self.circuit.source_voltages(x)
        d1 = self.system.edge_drops(s1, v_src)
        d2 = self.system.edge_drops(s2, v_src)
        diff = 0.5 * np.mean((d1 - d2) * (d1 + d2), axis=0)
        return {f"g{lay}": diff[idx] for lay, idx in enumerate(self._layer_idx)}

    def power(self, x: np.ndarray, state: np.ndarray) -> np.ndarray:
        """Power dissipated in the conductances [W] per example."""
        d = self.edge_drops(x, state)
        return np.sum(self.g * d * d, axis=1)

    def implicit_gradient(self, x, target, state0) -> dict[str, np.ndarray]:
        """Exact dJ/dg of ``J = mean C`` at the operating point (adjoint of the KCL Jacobian).

        Independent of the EqProp path: ``lam = J^-T dC/du``, ``dJ/dg_e = -dV_e (r_a lam_pa - r_b lam_pb)``.
        """
        from analog_eqprop.solvers.newton import NewtonSolver

        sysm, c = self.system, self.circuit
        x = self.check_inputs(x)
        v_src = c.source_voltages(x)
        u = np.asarray(state0, dtype=np.float64)
        G = sysm.conductance_matrix(self.g)
        b = sysm.source_drive(self.g, v_src)
        _, J, _ = NewtonSolver()._residual(sysm, G, b, u, v_src)
        out = self.output(u)
        t = c.targets(target)
        dC = np.zeros_like(u)
        np.add.at(dC, (slice(None), c.out_pos), out - t)
        neg = c.out_neg >= 0
        np.add.at(dC, (slice(None), c.out_neg[neg]), -(out - t)[:, neg])
        lam = np.linalg.solve(np.swapaxes(J, 1, 2), dC[:, :, None])[:, :, 0]
        pa, ra, pb, rb = sysm.kcl_columns()
        lam_ext = np.concatenate([lam, np.zeros((lam.shape[0], 1))], axis=1)  # index -1 -> 0
        dv = sysm.edge_drops(u, v_src)
        grad = -np.mean(dv * (ra * lam_ext[:, pa] - rb * lam_ext[:, pb]), axis=0)
        return {f"g{lay}": grad[idx] for lay, idx in enumerate(self._layer_idx)}

    def copy(self) -> "ResistiveNetwork":
        return ResistiveNetwork(self.circuit, self.backend, self.g)
