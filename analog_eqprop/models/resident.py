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

Examples
--------
>>> import numpy as np
>>> from analog_eqprop.circuits import drn_circuit
>>> from analog_eqprop.models import ResistiveNetwork
>>> resident_reason(ResistiveNetwork(drn_circuit([3, 4, 2], seed=0), backend="bcd"))
'backend has no array namespace (BCDBackend(xp=...))'
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Resident", "resident_reason"]


def resident_reason(net: Any) -> str | None:
    """``None`` when ``net``'s training step can stay on its backend's device, else why not."""
    ns = getattr(net.backend, "_ns", None)
    if ns is None:
        return "backend has no array namespace (BCDBackend(xp=...))"
    if net._map is not None or net.system.has_offsets or net.circuit.n_amps:
        return "tied conductances, offsets or amplifiers"
    for k, idx in enumerate(net._layer_idx):
        name = f"g{k}"
        if net._views.get(name) is None or net._params.get(name) is not net._views[name]:
            return f"layer {k}'s conductances are not one contiguous run of the edge vector"
    from analog_eqprop.models.resistive import _GradPlan
    from analog_eqprop.solvers.bcd_device import device_ready

    if net._grad_plan is None:
        net._grad_plan = _GradPlan(net.circuit, net._layer_idx)
    plan = net._grad_plan
    if plan.rest.size or any(b["out"] is None or b["ma"] is not None or b["mb"] is not None for b in plan.blocks):
        return "some edges are not in dense blocks"
    return device_ready(net.backend._plan(net.system))


class Resident:
    """The device copy of a network's conductance vector and the step that updates it there."""

    def __init__(self, net: Any):
        self.net, self.X = net, net.backend._ns
        self.g = None  # the device vector, edge order
        self.host_newer = True  # upload before the next device use
        self.device_newer = False  # download before the next host read
        self.uploads = self.downloads = 0
        self._idx: dict = {}

    def device_g(self):
        """The device vector, uploaded first if the host arrays may have changed."""
        if self.host_newer or self.g is None:
            self.g = self.X.upload(self.net._gbuf)
            self.host_newer, self.device_newer = False, False
            self.uploads += 1
        return self.g

    def to_host(self) -> None:
        """Bring the host arrays up to date; the device copy is refreshed before its next use."""
        if self.device_newer:
            self.net._gbuf[...] = self.X.to_numpy(self.g)
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
        """:meth:`_GradPlan._factors` with device arrays."""
        X = self.X
        B = S1.shape[0]
        m, n = b["shape"]
        h = 0.5 / B
        cols = self._cols(b["cols"])
        b1, b2 = S1[:, cols], S2[:, cols]
        Db, Sb = b1 - b2, b1 + b2
        c = X.sum(Db * Sb, 0)
        dt = self.net._dtype
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
        """The fused step on the device (see :meth:`ResistiveNetwork.eqprop_sgd_step`); returns
        the hand-over token (its node totals a device vector) or ``None``."""
        from analog_eqprop.models.resistive import _Handoff

        net, X = self.net, self.X
        dt = net._dtype
        c = net.circuit
        s1 = np.asarray(s1, dtype=dt)
        s2 = np.asarray(s2, dtype=dt)
        g = self.device_g()
        net._version += 1
        for name, d in net._bias_grad(s1, s2).items():  # n_free currents: on the host
            lr = float(lrs.get(name, 0.0))
            if lr:
                net._params[name] -= (d * scale).astype(dt, copy=False) * lr
        V = X.asarray(c.source_voltages(x).astype(dt))
        S1, S2 = X.asarray(s1), X.asarray(s2)
        node_g = X.zeros(c.n_free, np.float64)
        for b in net._grad_plan.blocks:
            k = b["layer"]
            m, n = b["shape"]
            G = X.view2d(g, int(net._layer_idx[k][0]) + b["out"].start, (m, n))
            lr = float(lrs.get(f"g{k}", 0.0))
            if lr:
                L, R = self._factors(b, V, S1, S2)
                X.isub(G, (X.matmul(X.T(L), R) * scale) * lr)
            X.clip_(G, c.g_min, c.g_max)
            node_g[self._cols(b["cols"])] += X.astype(X.sum(G, 0), np.float64)
            if not b["const"]:
                node_g[self._cols(b["rows"])] += X.astype(X.sum(G, 1), np.float64)
        self.device_newer = True
        return _Handoff(net._version, node_g) if X.all_finite(node_g) else None
