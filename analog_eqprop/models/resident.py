"""A resistive network's training step with the conductances resident on a device.

With ``backend=BCDBackend(xp="torch", device="cuda")`` (or ``xp="cupy"``) a
:class:`~analog_eqprop.models.ResistiveNetwork` of dense layered blocks keeps its conductance
vector on that library's device between training steps: the solver reads it there
(:mod:`analog_eqprop.solvers.bcd_device`: blocks as views, diagonal, drive product, sweeps)
and the fused SGD step (:meth:`ResistiveNetwork.eqprop_sgd_step`: gradient, EqProp scale,
update and clip, each node's total conductance for the next solve) writes it there. Per step
only per-example arrays cross the bus (inputs, states, targets) plus one finiteness flag.

The host arrays (``net.params``, ``net.g``) are brought up to date when they are read, and
the device copy is refreshed from them after that (a read may be followed by a write:
``set_conductances``, a checkpoint being loaded, a user's in-place change), so the host
arrays stay the model's public face and nothing else changes for its users. Bias currents
(``n_free`` values) stay on the host.

The network decides (:meth:`~analog_eqprop.models.ResistiveNetwork.resident_reason`: its
side, then :func:`device_reason`: the backend's) and hands a :class:`Resident` what it needs:
the device library, its host conductance vector, the dense blocks of its gradient plan and
where each layer starts in the vector.

Examples
--------
>>> import numpy as np
>>> from analog_eqprop.circuits import drn_circuit
>>> from analog_eqprop.models import ResistiveNetwork
>>> ResistiveNetwork(drn_circuit([3, 4, 2], seed=0), backend="bcd").resident_reason()
'backend has no array namespace (BCDBackend(xp=...))'
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from analog_eqprop.circuits.description import Circuit
from analog_eqprop.solvers.bcd import BCDBackend
from analog_eqprop.solvers.bcd_device import Namespace, device_ready
from analog_eqprop.solvers.mna import MNASystem

__all__ = ["Resident", "device_reason"]


def device_reason(backend: BCDBackend, system: MNASystem, rest: int, blocks: Sequence[dict]) -> str | None:
    """The backend's side of :meth:`~analog_eqprop.models.ResistiveNetwork.resident_reason`:
    ``None`` when every edge lies in a dense block (``rest``: the edges left to the per-edge
    formula) without amplified copies, and the backend's plan can be built from a device vector."""
    if rest or any(b["out"] is None or b["ma"] is not None or b["mb"] is not None for b in blocks):
        return "some edges are not in dense blocks"
    return device_ready(backend.plan(system))


class Resident:
    """The device copy of a network's conductance vector and the step that updates it there.

    Parameters
    ----------
    X : Namespace
        The device library's operations (the backend's ``namespace``).
    gbuf : ndarray
        The network's host conductance vector [S] in edge order (shared, not copied: it is
        brought up to date in place by :meth:`to_host`).
    blocks : sequence of dict
        The dense blocks of the network's gradient plan.
    layer_start : sequence of int
        Where each layer's conductances start in ``gbuf``.
    dtype : numpy dtype
    circuit : Circuit
        For the source voltages and the device range [g_min, g_max].
    """

    def __init__(self, X: Namespace, gbuf: np.ndarray, blocks: Sequence[dict], layer_start: Sequence[int],
                 dtype: Any, circuit: Circuit):
        self.X, self.gbuf, self.blocks = X, gbuf, list(blocks)
        self.layer_start = [int(k) for k in layer_start]
        self.dtype, self.circuit = np.dtype(dtype), circuit
        self.g = None  # the device vector, edge order
        self.host_newer = True  # upload before the next device use
        self.device_newer = False  # download before the next host read
        self.uploads = self.downloads = 0
        self._idx: dict = {}

    def device_g(self):
        """The device vector, uploaded first if the host arrays may have changed."""
        if self.host_newer or self.g is None:
            self.g = self.X.upload(self.gbuf)
            self.host_newer, self.device_newer = False, False
            self.uploads += 1
        return self.g

    def to_host(self) -> None:
        """Bring the host arrays up to date; the device copy is refreshed before its next use."""
        if self.device_newer:
            self.gbuf[...] = self.X.to_numpy(self.g)
            self.device_newer = False
            self.downloads += 1
        self.host_newer = True

    def _cols(self, cols):
        if isinstance(cols, slice):
            return cols
        key = id(cols)
        if key not in self._idx:
            self._idx[key] = (cols, self.X.index(cols))
        return self._idx[key][1]

    def _factors(self, b: dict, V, S1, S2):
        """The rank factors of a dense block (as the host gradient plan's), with device arrays."""
        X = self.X
        B = S1.shape[0]
        m, n = b["shape"]
        h = 0.5 / B
        cols = self._cols(b["cols"])
        b1, b2 = S1[:, cols], S2[:, cols]
        Db, Sb = b1 - b2, b1 + b2
        c = X.sum(Db * Sb, 0)
        dt = self.dtype
        one_m = X.zeros((1, m), dt) + 1
        if b["ground"]:
            return one_m, (c * h)[None, :]
        if b["const"]:
            a = V[:, self._cols(b["rows"])]
            return X.concat([a, one_m]), X.concat([Db * (-2 * h), (c * h)[None, :]])
        rows = self._cols(b["rows"])
        a1, a2 = S1[:, rows], S2[:, rows]
        Da, Sa = a1 - a2, a1 + a2
        r = X.sum(Da * Sa, 0)
        return (X.concat([Da, Sa, (r * h)[None, :], one_m]),
                X.concat([Sb * -h, Db * -h, X.zeros((1, n), dt) + 1, (c * h)[None, :]]))

    def sgd_step(self, x, s1, s2, scale: float, lrs: dict[str, float]):
        """The fused step's conductance part on the device (see
        :meth:`~analog_eqprop.models.ResistiveNetwork.eqprop_sgd_step`): returns each free node's
        total conductance [S] (a device vector) for the next solve when every new conductance
        is finite, else ``None``."""
        X, c, dt = self.X, self.circuit, self.dtype
        g = self.device_g()
        V = X.asarray(c.source_voltages(x).astype(dt))
        S1, S2 = X.asarray(np.asarray(s1, dtype=dt)), X.asarray(np.asarray(s2, dtype=dt))
        node_g = X.zeros(c.n_free, np.float64)
        for b in self.blocks:
            k = b["layer"]
            m, n = b["shape"]
            G = X.view2d(g, self.layer_start[k] + b["out"].start, (m, n))
            lr = float(lrs.get(f"g{k}", 0.0))
            if lr:
                L, R = self._factors(b, V, S1, S2)
                X.isub(G, (X.matmul(X.T(L), R) * scale) * lr)
            X.clip_(G, c.g_min, c.g_max)
            node_g[self._cols(b["cols"])] += X.astype(X.sum(G, 0), np.float64)
            if not b["const"]:
                node_g[self._cols(b["rows"])] += X.astype(X.sum(G, 1), np.float64)
        self.device_newer = True
        return node_g if X.all_finite(node_g) else None
