"""Resistive networks as EqProp energy models: conductances are the weights.

The energy is the circuit's co-content (PHYSICS.md §3); its derivative with respect to a
conductance is ``1/2 dV^2``, the squared voltage drop across it, so the EqProp update of
every conductance is local::

    dg = -(lr / beta) * 1/2 * (dV_beta^2 - dV_0^2),   then clipped to [g_min, g_max].

The model holds the trainable conductances (one array per learning-rate layer), finds
operating points through a backend (``numpy``, ``bcd`` or ``ngspice``) and implements the
same interface as :class:`~analog_eqprop.models.HopfieldNetwork`, so the same trainer and
gradient checks work on both.

Speed (layered circuits have a million conductances per pair of wide layers):

* the per-layer parameter arrays are *views* of one conductance vector in edge order when a
  layer's edges are contiguous there, so handing ``g`` to a backend copies nothing;
  otherwise long runs are copied as slices;
* :meth:`energy_grad_diff` never forms the ``(batch, n_edges)`` voltage drops: for a dense
  block of edges between terminal sets ``a`` and ``b``, with ``D = s1 - s2``, ``S = s1 + s2``,
  ``sum_batch 1/2 ((a_i - b_j)_1^2 - (a_i - b_j)_2^2) = 1/2 (r_i + c_j - (Da^T Sb)_ij - (Sa^T Db)_ij)``
  (``r = sum Da Sa``, ``c = sum Db Sb``) is one matrix product written straight into the
  layer's gradient (for clamped sources ``Da = 0``: ``c_j / 2 - (x^T Db)_ij``). Sparse blocks
  keep the per-edge formula (:meth:`energy_grad_diff_edges`, the reference).

Tied and fixed conductances (``Circuit.edge_param``, e.g. shared convolution weights and
average pooling): the parameters are then one vector of ``n_params`` values, the layers' arrays
views of it; every solve gathers the edge-order conductances from it (a tied parameter sets
each of its conductances, fixed ones keep their value), and the gradient of a parameter is
the sum over its conductances. The backends only ever see the edge-order vector. Without
``edge_param`` the parameter vector *is* the edge-order vector (the paths above, unchanged).

The output cost is a loss object (:mod:`analog_eqprop.eqprop.losses`, default
``1/2 ||V_out - t||^2``). Another loss needs current-mode nudging: ``I = -beta dC/dV`` at the
free state, passed to a backend that takes explicit nudge currents (``capabilities.nudge_currents``,
ngspice) or, for the others, as the target ``V_out - dC/dV`` that their squared-error nudge
turns into the same current.

Optional trainable *bias currents* (``bias_currents=True``, BCD backend): a current source
``I`` [A] into every free node, parameters ``i0, i1, ...`` per free layer (energy ``-I V``, so
``dE/dI = -V``), as in Scellier 2024's deep resistive networks.

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
from analog_eqprop.contracts import Backend
from analog_eqprop.eqprop.losses import get_loss, is_half_squared_error
from analog_eqprop.errors import ConfigError, DataError
from analog_eqprop.models.element_params import ElementParams
from analog_eqprop.models.grad_plan import GradPlan, Handoff, ParamMap, Prepared, Scatter, as_slice, first_edge, sel_size
from analog_eqprop.models.resident import Resident, device_reason
from analog_eqprop.results import RelaxResult
from analog_eqprop.solvers.backends import clamps_ideally, get_backend
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.solvers.newton import NewtonSolver
from analog_eqprop.validation import array, nudge_target

__all__ = ["ResistiveNetwork"]

class ResistiveNetwork:
    """A circuit, its trainable conductances and the backend that solves it.

    Parameters
    ----------
    circuit : Circuit
        The one circuit description.
    backend : str or Backend
        ``"numpy"`` (default), ``"bcd"`` or ``"ngspice"``, or a backend object
        (:class:`~analog_eqprop.contracts.Backend`).
    g : ndarray, optional
        Initial conductances [S] (default: ``circuit.edge_g``).
    bias_currents : bool or ndarray
        Add a trainable current source [A] into every free node (parameters ``i0, i1, ...``
        per free layer, starting at 0 A, or at the given ``(n_free,)`` currents in node order).
        Needs a backend whose ``operating_point`` takes ``i_ext`` (``"bcd"``).
    dtype : {"float64", "float32"}
        Precision of the parameters, states and gradients. float32 halves the memory traffic of
        wide layers (the BCD backend then sweeps in float32 too); float64 is the reference.
    centered_pairs : bool
        For training with ``beta_mode="centered"``: a nudged phase of a :meth:`prepare`-d batch
        is relaxed together with its ``-beta`` twin as one stacked batch (one read of every
        weight block serves both), and the twin's result answers the next call. Needs a backend
        that takes one beta per example (``"bcd"``); wasted work in the other beta modes.
    loss : str or loss object, optional
        The output cost (:func:`~analog_eqprop.eqprop.losses.get_loss`; default the squared
        error ``1/2 ||V_out - t||^2`` [V^2]). Other losses need ``circuit.nudge == "current"``.
    """

    def __init__(self, circuit: Circuit, backend: str | Backend = "numpy", g: np.ndarray | None = None, *,
                 bias_currents: bool | np.ndarray = False, dtype: Any = "float64", centered_pairs: bool = False,
                 loss: Any = None, element_values: dict[str, np.ndarray] | None = None, **backend_options):
        self.circuit = circuit
        # the backends see the physical circuit: one conductance per resistor, whatever drives it
        self.system = MNASystem(circuit.untied())
        self.backend: Backend = get_backend(backend, **backend_options)
        self.loss = get_loss(loss)
        self._custom_loss = not is_half_squared_error(self.loss)
        if self._custom_loss and circuit.nudge != "current":
            raise ConfigError(f"loss {self.loss!r} needs current-mode nudging (I = -beta dC/dV at the free state); "
                              f"resistive nudging (a conductance beta to the target) is the squared error "
                              f"1/2 ||V - t||^2 only: build the circuit with nudge='current'")
        self._dtype = np.dtype(dtype)
        if self._dtype not in (np.float32, np.float64):
            raise ConfigError(f"ResistiveNetwork: dtype must be float32 or float64, got {dtype!r}")
        given = circuit.edge_g if g is None else g
        g = array(given, "g", (circuit.n_edges,), dtype=self._dtype, positive=True)
        if np.may_share_memory(g, given) or not g.flags.writeable:
            g = g.copy()  # the model owns its conductances (a converted array is a copy already)
        # each layer's edges: a slice when contiguous (no index array over a big net's edges)
        self._layer_sel = circuit.element("conductance").layer_edges()
        # one conductance vector in edge order; a layer whose edges are contiguous there gets a
        # view of it as its parameter array, so the backends read the trained values in place.
        # With tied / fixed conductances the parameters are a shorter vector gathered into it.
        self._gbuf = g
        self._map = ParamMap(circuit) if circuit.tied else None
        if self._map is None:
            self._pbuf, self._pidx = g, self._layer_sel
        else:
            self._pbuf, self._pidx = g[self._map.first_edge].copy(), self._map.layer_idx
        self._views: dict[str, np.ndarray | None] = {}
        self._scatter: dict[str, Scatter] = {}
        self._params: dict[str, np.ndarray] = {}
        self._resident = None  # a device copy of g (models.resident), decided at the first solve
        for lay, idx in enumerate(self._pidx):
            name, sl = f"g{lay}", as_slice(idx)
            if self._map is not None and not idx.size:
                continue  # a layer of fixed conductances only (average pooling) has no parameters
            if isinstance(sl, slice):
                self._params[name] = self._views[name] = self._pbuf[sl]
            else:
                self._params[name] = self._pbuf[idx].copy()
                self._views[name] = None
                self._scatter[name] = Scatter(idx)
        self.centered_pairs = bool(centered_pairs) and self.backend.capabilities.per_example_beta
        self._grad_plan: GradPlan | None = None
        self._version = 0  # bumped by set_conductances and project (see prepare)
        self._node_layer = np.asarray(circuit.node_layer)
        self._bias_idx: list[np.ndarray] = []
        if bias_currents is not False:
            if not self.backend.capabilities.current_sources:
                raise ConfigError(f"bias currents need a backend that takes current sources (backend='bcd'), "
                                  f"not {getattr(self.backend, 'name', self.backend)!r}")
            i0 = np.zeros(circuit.n_free) if bias_currents is True else bias_currents
            i0 = array(i0, "bias_currents", (circuit.n_free,)).astype(self._dtype)
            layers = np.unique(self._node_layer)
            self._bias_idx = [np.flatnonzero(self._node_layer == lay) for lay in layers]
            for k, idx in enumerate(self._bias_idx):
                self._params[f"i{k}"] = i0[idx].copy()
        # transistor gate voltages, users' devices' parameters: learning-rate layers after the conductances'
        self._extra = ElementParams(circuit, len(self._layer_sel))
        self._extra.init(self._params, self._dtype, element_values)
        if self._extra and not self.backend.capabilities.element_values:
            raise ConfigError(f"the circuit trains {', '.join(self._extra.names)} (element kinds "
                              f"{', '.join(sorted({kind for kind, _, _ in self._extra.groups}))}); backend "
                              f"{getattr(self.backend, 'name', self.backend)!r} does not take those columns "
                              f"(capabilities.element_values): use backend='numpy' or 'ngspice'")
        self.last_op = None

    # -- parameters ---------------------------------------------------------------------
    @property
    def _layer_idx(self) -> list[np.ndarray]:
        """Each layer's edges as an index array (int64; built on first use: the training step
        works with :attr:`_layer_sel`, slices where it can)."""
        if self.__dict__.get("_layer_idx_cache") is None:
            self._layer_idx_cache = [np.arange(s.start, s.stop) if isinstance(s, slice) else s
                                     for s in self._layer_sel]
        return self._layer_idx_cache

    @property
    def params(self) -> dict[str, np.ndarray]:
        """The trainable parameters: ``g0, g1, ...`` [S] per layer (views of the conductance
        vector where a layer's edges are contiguous) and bias currents ``i0, ...`` [A]."""
        if self._resident:
            self._resident.to_host()
        return self._params

    @params.setter
    def params(self, value: dict[str, np.ndarray]) -> None:
        if self._resident:
            self._resident.to_host()
        self._params = value

    def _device(self) -> Resident | None:
        """The device copy of g when the training step is device-resident (see
        :mod:`analog_eqprop.models.resident`), else ``None``."""
        if self._resident is None:
            self._resident = False
            if self.resident_reason() is None:
                self._resident = Resident(self.backend.namespace, self._gbuf, self._grad_plan.blocks,
                                          [first_edge(sel) for sel in self._layer_sel], self._dtype,
                                          self.circuit)
        return self._resident or None

    def resident_reason(self) -> str | None:
        """``None`` when the training step can keep the conductances on the backend's device
        (a backend with ``capabilities.device_arrays``, e.g. ``BCDBackend(xp="torch")``; see
        :mod:`analog_eqprop.models.resident`), else why not."""
        if not self.backend.capabilities.device_arrays:
            return "backend has no array namespace (BCDBackend(xp=...))"
        if self._map is not None or self.system.has_offsets or self.circuit.n_amps:
            return "tied conductances, offsets or amplifiers"
        for k in range(len(self._layer_sel)):
            name = f"g{k}"
            if self._views.get(name) is None or self._params.get(name) is not self._views[name]:
                return f"layer {k}'s conductances are not one contiguous run of the edge vector"
        if self._grad_plan is None:
            self._grad_plan = GradPlan(self.circuit, self._layer_sel)
        return device_reason(self.backend, self.system, int(self._grad_plan.rest.size), self._grad_plan.blocks)

    def _edge_g(self) -> np.ndarray:
        """The conductance vector in edge order [S], up to date with :attr:`params` (no copy
        for layers whose parameter array is a view of it)."""
        for lay, idx in enumerate(self._pidx):
            name = f"g{lay}"
            if name not in self._views:
                continue
            p = self._params[name]
            view = self._views[name]
            if view is not None and p is view:
                continue
            if view is not None:  # the array was rebound: copy it in
                self._pbuf[as_slice(idx)] = p
            else:
                self._scatter[name](self._pbuf, p)
        if self._map is not None:
            self._map.gather(self._gbuf, self._pbuf)
        return self._gbuf

    @property
    def g(self) -> np.ndarray:
        """All conductances [S] in the circuit's edge order (a copy)."""
        if self._resident:
            self._resident.to_host()
        return self._edge_g().copy()

    def set_conductances(self, g: np.ndarray) -> None:
        """Set every conductance [S] from an edge-order vector (a tied parameter takes the value
        of its first conductance; fixed conductances are set too)."""
        self._version += 1  # outstanding prepare() tokens no longer vouch for g
        if self._resident:
            self._resident.to_host()
        g = array(g, "g", (self.circuit.n_edges,), dtype=None, positive=True)
        if self._map is not None:
            self._gbuf[...] = g
            g = g[self._map.first_edge]
        for lay, idx in enumerate(self._pidx):
            if f"g{lay}" in self._params:
                self._params[f"g{lay}"][...] = g[idx]

    @property
    def bias_currents(self) -> np.ndarray | None:
        """The bias currents [A] in node order (``None`` without them)."""
        if not self._bias_idx:
            return None
        out = np.empty(self.circuit.n_free, self._dtype)
        for k, idx in enumerate(self._bias_idx):
            out[idx] = self._params[f"i{k}"]
        return out

    def param_layer(self, name: str) -> int:
        return self._extra.layer_of[name] if name in self._extra.layer_of else int(name[1:])

    @property
    def element_values(self) -> dict[str, np.ndarray]:
        """The trained columns of kinds other than conductances (``{kind: array}``: gate voltages
        [V]...), as the backends take them (``values=``); empty without such parameters."""
        return self._extra.values(self.params) if self._extra else {}

    def _per_param(self, edge_grads: list[np.ndarray]) -> dict[str, np.ndarray]:
        """Per-layer gradients in edge order (one array per layer, ``_layer_sel`` order) as the
        gradients of :attr:`params` (summed over tied conductances, fixed ones dropped)."""
        if self._map is None:
            return {f"g{lay}": d for lay, d in enumerate(edge_grads)}
        full = np.zeros(self.circuit.n_edges, dtype=np.result_type(*edge_grads) if edge_grads else np.float64)
        for idx, d in zip(self._layer_sel, edge_grads):
            full[idx] = d
        theta = self._map.reduce(full).astype(full.dtype, copy=False)
        return {f"g{lay}": theta[idx] for lay, idx in enumerate(self._pidx) if f"g{lay}" in self._params}

    @property
    def n_layers(self) -> int:
        return len(self._layer_sel) + len(self._extra.names)

    def project(self) -> None:
        """Clip every conductance to the device range [g_min, g_max] (bias currents are free)."""
        self._version += 1
        for name, v in self.params.items():  # (brings a device-resident g to the host first)
            if name[0] == "g":
                np.clip(v, self.circuit.g_min, self.circuit.g_max, out=v)
        self._extra.project(self.params)

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
        return self._dtype

    def check_inputs(self, x: np.ndarray, target: np.ndarray | None = None) -> np.ndarray:
        """Validate an input batch (and target), raising DataError naming the problem."""
        x = array(x, "inputs x", (None, self.n_inputs))
        if target is not None:
            array(target, "targets", (x.shape[0], self.n_outputs))
        return x

    # -- physics --------------------------------------------------------------------------
    def init_state(self, batch_size: int) -> np.ndarray:
        """All node voltages at 0 V (only a starting guess: the operating point is unique
        for reciprocal circuits)."""
        return np.zeros((batch_size, self.system.n), self._dtype)

    def prepare(self, x: np.ndarray, handoff: "Handoff | None" = None) -> "Prepared":
        """A per-batch token: relaxations given it as ``static`` promise that the parameters have
        not changed in place since the first of them (as the Hopfield model's cached input drive
        assumes), so the backend skips re-checking a million conductances in the nudged phases.
        :meth:`set_conductances` and :meth:`project` void the promise.

        ``handoff`` (from :meth:`eqprop_sgd_step`, given straight to the next batch's
        ``prepare`` with nothing in between, as the trainer does) also promises that the
        parameters are as that update left them: a backend that takes the promise
        (``capabilities.fresh_conductances``) then neither checks, compares nor copies the conductances, and
        takes each node's total conductance from the update rather than summing the blocks."""
        return Prepared(handoff if isinstance(handoff, Handoff) else None)

    def relax(self, x, state=None, *, beta: float = 0.0, target=None, n_iter=None, rng=None, tol=None,
              static=None) -> RelaxResult:
        """The operating point (free phase) or the nudged one (``beta != 0``, from the free
        state ``state``, which also sets current-mode nudging currents)."""
        x_id, t_id = id(x), id(target)  # the caller's objects: converted copies may reuse an id
        x = self.check_inputs(x)
        target_v = None
        kw = {"i_ext": self.bias_currents} if self._bias_idx else {}
        if self._extra:
            kw["values"] = self.element_values
        beta, target = nudge_target(beta, target, "target", self.n_outputs, x.shape[0])
        if target is not None:
            target_v = self._loss_target(target)
            if self._custom_loss:
                target_v = self._custom_nudge(state, target_v, beta, kw)
        reuse = isinstance(static, Prepared) and static.solved == self._version
        if reuse and self.backend.capabilities.same_conductances:
            kw["same_g"] = True
        dev = self._device()
        g = dev.device_g() if dev else (self._gbuf if reuse else self._edge_g())
        if isinstance(static, Prepared) and static.fresh is not None and static.fresh.version == self._version \
                and self.backend.capabilities.fresh_conductances:  # every phase: one diagonal for all
            kw["fresh_g"] = True if static.fresh.node_g is None else static.fresh.node_g
        if beta and reuse and self.centered_pairs:
            return self._paired(x, x_id, state, beta, t_id, target_v, static, g, kw)
        op = self.backend.operating_point(self.system, g, x, beta=beta,
                                          target_v=target_v, ref=state if beta else None, u0=state, **kw)
        if isinstance(static, Prepared):
            static.solved = self._version
        self.last_op = op
        return RelaxResult(op.state, op.iterations, float(np.max(op.residual, initial=0.0)),
                           converged=bool(np.all(op.converged)))

    def _loss_target(self, target: np.ndarray) -> np.ndarray:
        """What the loss compares the outputs with: target voltages [V], or the class
        distribution itself for a loss over classes."""
        if getattr(self.loss, "target_space", "output") == "class":
            return np.asarray(target, dtype=np.float64)
        return self.circuit.targets(target)

    def _custom_nudge(self, state, t, beta, kw) -> np.ndarray:
        """Current-mode nudging with any loss: ``I = -beta dC/dV`` at the free state ``state``.
        Returns the target the backends' squared-error nudge turns into that current
        (``V_out - dC/dV``), and passes the current itself to backends that take it."""
        if state is None:
            raise DataError("current-mode nudging needs the free state (state=) as reference")
        out = self.output(np.asarray(state, dtype=np.float64))
        grad = self.loss.grad(out, t)
        if self.backend.capabilities.nudge_currents:
            kw["nudge_current"] = -beta * grad
        return out - grad

    def _paired(self, x, x_id, state, beta, t_id, target_v, static, g, kw) -> RelaxResult:
        """The +beta / -beta phases from one state as one stacked batch (``centered_pairs``)."""
        key = (float(beta), x_id, id(state), t_id)
        if static.partner is not None and static.partner[0] == key:
            res = static.partner[1]
            static.partner = None
            return res
        B = x.shape[0]
        state = np.asarray(state)
        two = lambda a: np.concatenate([a, a])  # noqa: E731
        betas = np.concatenate([np.full(B, beta), np.full(B, -beta)])
        op = self.backend.operating_point(self.system, g, two(x), beta=betas, target_v=two(target_v),
                                          ref=two(state), u0=two(state), **kw)
        self.last_op = op
        full = op.state
        res = float(np.max(op.residual, initial=0.0))
        conv = op.converged
        mine = RelaxResult(full[:B], op.iterations, res, converged=bool(np.all(conv[:B])))
        twin = RelaxResult(full[B:], op.iterations, res, converged=bool(np.all(conv[B:])))
        static.partner = ((float(-beta), key[1], key[2], key[3]), twin)
        return mine

    def output(self, state: np.ndarray) -> np.ndarray:
        """Output voltages [V] (differences for differential pairs)."""
        return self.circuit.outputs(state[:, : self.circuit.n_free])

    def cost(self, state: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The loss per example (default ``1/2 ||out - target_v||^2`` [V^2]), ``target`` one-hot."""
        if not self._custom_loss:
            d = self.output(state) - self.circuit.targets(target)
            return 0.5 * np.sum(d * d, axis=1)
        return self.loss.cost(self.output(np.asarray(state, dtype=np.float64)), self._loss_target(target))

    def edge_drops(self, x: np.ndarray, state: np.ndarray) -> np.ndarray:
        return self.system.edge_drops(state, self.circuit.source_voltages(x))

    def energy_grad_diff(self, x, s1, s2) -> dict[str, np.ndarray]:
        """``dE/dg(s1) - dE/dg(s2) = 1/2 (dV1^2 - dV2^2)``, batch mean, per layer (and
        ``dE/dI = -V`` for bias currents). Dense edge blocks are matrix products (module docstring)."""
        if self.system.has_offsets:  # the block products assume copies A V with no constant
            return self.energy_grad_diff_edges(x, s1, s2)
        dt = self._dtype
        v_src = self.circuit.source_voltages(x).astype(dt, copy=False)
        s1 = np.asarray(s1, dtype=dt)
        s2 = np.asarray(s2, dtype=dt)
        if self._grad_plan is None:
            self._grad_plan = GradPlan(self.circuit, self._layer_sel)
        out = self._per_param(self._grad_plan.diff(self._edge_diff, v_src, s1, s2, dt))
        out.update(self._bias_grad(s1, s2))
        out.update(self._extra_grad(x, s1, s2))
        return out

    def eqprop_sgd_step(self, x, s1, s2, scale: float, lrs: dict[str, float]) -> "Handoff | None":
        """The SGD step of an EqProp estimate, then :meth:`project`, in one traversal of every
        weight block: ``p -= (scale * (dE/dp(s1) - dE/dp(s2))) * lrs[name]`` for every parameter
        (conductances clipped to [g_min, g_max]), the gradient never stored.

        The same numbers as ``SGD.step`` on :meth:`energy_grad_diff` times ``scale`` followed
        by :meth:`project` (to rounding: the rank sum of a block may be evaluated in another
        order than BLAS does), for any circuit: layers that are not made of dense blocks (and
        circuits with tied conductances or offsets) take that reference path. Returns a token
        for the next :meth:`prepare` (``handoff=``) when the new conductances were all seen
        finite (each free node's total conductance is summed on the way), else ``None``.
        """
        dt = self._dtype
        n_cond = len(self._layer_sel)  # the conductance layers (other kinds' parameters come after)
        dev = self._device()
        if dev:  # conductances on the device: the step runs there (bias currents, other kinds stay here)
            s1 = np.asarray(s1, dtype=dt)
            s2 = np.asarray(s2, dtype=dt)
            self._version += 1
            for name, d in {**self._bias_grad(s1, s2), **self._extra_grad(x, s1, s2)}.items():
                lr = float(lrs.get(name, 0.0))
                if lr:
                    self._params[name] -= (d * scale).astype(dt, copy=False) * lr
            self._extra.project(self._params)
            node_g = dev.sgd_step(x, s1, s2, scale, lrs)
            return None if node_g is None else Handoff(self._version, node_g)
        names = [f"g{k}" for k in range(n_cond)]
        plain = self._map is None and not self.system.has_offsets  # parameters in the gradient's layer order
        if self._grad_plan is None and plain:
            self._grad_plan = GradPlan(self.circuit, self._layer_sel)
        fuse = self._grad_plan.fusable() if plain else np.zeros(n_cond, bool)
        lr_of = [float(lrs.get(n, 0.0)) for n in names]
        for k, n in enumerate(names):  # a rate of 0 leaves a layer as it is; a rebound array of
            p = self._params.get(n)     # another precision or layout takes the reference path
            fuse[k] &= lr_of[k] != 0.0 and p is not None and p.dtype == dt and p.flags.c_contiguous \
                and p.shape == (sel_size(self._layer_sel[k]),)
        s1 = np.asarray(s1, dtype=dt)
        s2 = np.asarray(s2, dtype=dt)
        self._version += 1
        # the reference path for what the blocks do not cover (and the bias currents)
        rest = [n for n, f in zip(names, fuse) if not f and n in self._params]
        need = any(lrs.get(n) for n in rest)
        ref = self.energy_grad_diff(x, s1, s2) if need else self._bias_grad(s1, s2)
        if self._extra and not need:  # gate voltages, device parameters: their own local rule
            ref.update(self._extra_grad(x, s1, s2))
        for name, d in ref.items():
            lr = float(lrs.get(name, 0.0))
            if lr and (name in rest or name[0] == "i" or name in self._extra.layer_of):
                self._params[name] -= (d * scale).astype(dt, copy=False) * lr
        for name in rest:
            np.clip(self._params[name], self.circuit.g_min, self.circuit.g_max, out=self._params[name])
        self._extra.project(self._params)
        if not fuse.any():
            return None
        node_g = np.zeros(self.circuit.n_free) if fuse.all() else None
        v_src = self.circuit.source_voltages(x).astype(dt, copy=False)
        params = [self._params[n] if f else None for n, f in zip(names, fuse)]
        self._grad_plan.sgd(params, v_src, s1, s2, dt, scale, lr_of, self.circuit.g_min, self.circuit.g_max,
                            node_g)
        if node_g is None or not np.all(np.isfinite(node_g)):
            return None
        return Handoff(self._version, node_g if self.circuit.n_amps == 0 else None)

    def energy_grad_diff_edges(self, x, s1, s2) -> dict[str, np.ndarray]:
        """The same as :meth:`energy_grad_diff`, edge by edge from the ``(batch, n_edges)``
        voltage drops (the reference the block formula is tested against)."""
        v_src = self.circuit.source_voltages(x)
        diff = self._edge_diff(v_src, s1, s2, None)
        out = self._per_param([diff[idx] for idx in self._layer_sel])
        out.update(self._bias_grad(s1, s2))
        out.update(self._extra_grad(x, s1, s2))
        return out

    def _extra_grad(self, x, s1, s2) -> dict[str, np.ndarray]:
        """EqProp's local quantities of the gate voltages (and other kinds' parameters)."""
        if not self._extra:
            return {}
        c = self.circuit
        v_src = c.source_voltages(x)
        w1 = c.terminal_voltages(np.asarray(s1, dtype=np.float64)[:, : c.n_free], v_src)
        w2 = c.terminal_voltages(np.asarray(s2, dtype=np.float64)[:, : c.n_free], v_src)
        return {k: v.astype(self._dtype, copy=False) for k, v in self._extra.grad_diff(self.params, w1, w2).items()}

    def _edge_diff(self, v_src, s1, s2, edges) -> np.ndarray:
        """``1/2 mean (d1^2 - d2^2)`` for the edges ``edges`` (all when None)."""
        c = self.circuit
        w1 = c.terminal_voltages(np.asarray(s1)[:, : c.n_free], v_src)
        w2 = c.terminal_voltages(np.asarray(s2)[:, : c.n_free], v_src)
        a, b = (c.edge_a, c.edge_b) if edges is None else (c.edge_a[edges], c.edge_b[edges])
        d1 = w1[:, a] - w1[:, b]
        d2 = w2[:, a] - w2[:, b]
        return 0.5 * np.mean((d1 - d2) * (d1 + d2), axis=0)

    def _bias_grad(self, s1, s2) -> dict[str, np.ndarray]:
        if not self._bias_idx:
            return {}
        dv = np.mean(np.asarray(s1)[:, : self.circuit.n_free] - np.asarray(s2)[:, : self.circuit.n_free], axis=0)
        return {f"i{k}": -dv[idx] for k, idx in enumerate(self._bias_idx)}

    def power(self, x: np.ndarray, state: np.ndarray) -> np.ndarray:
        """Power dissipated in the conductances [W] per example."""
        d = self.edge_drops(x, state)
        return np.sum(self.g * d * d, axis=1)

    def implicit_gradient(self, x, target, state0) -> dict[str, np.ndarray]:
        """Exact dJ/dg of ``J = mean C`` at the operating point (adjoint of the KCL Jacobian).

        Independent of the EqProp path: ``lam = J^-T dC/du`` (``dC/du`` from the loss),
        ``dJ/dg_e = -dV_e (r_a lam_pa - r_b lam_pb)``, summed over the conductances of a tied
        parameter, and of the other kinds' trained columns (gate voltages...); bias currents, if
        any, are held.

        The Jacobian is that of the circuit the backend solves. A backend that holds every
        diode as an ideal clamp (BCD: :func:`~analog_eqprop.solvers.backends.clamps_ideally`) solves a box-constrained QP: its
        diodes carry no current off their rail, and a node on an active clamp is fixed at the
        rail, so its row and column leave the adjoint system (``lam = 0`` there; PHYSICS.md
        §1, the Hessian restricted to the unsaturated units). The other backends simulate
        each diode's card, whose linearisation at the operating point is the exact law
        (a DIDEAL card conducts 1.9 uS at its rail, not infinitely).
        """
        sysm, c = self.system, self.circuit
        x = self.check_inputs(x)
        v_src = c.source_voltages(x)
        u = np.asarray(state0, dtype=np.float64)
        G = sysm.conductance_matrix(self.g)
        out = self.output(u)
        dCdy = self.loss.grad(out, self._loss_target(target))
        dC = np.zeros_like(u)
        np.add.at(dC, (slice(None), c.out_pos), dCdy)
        neg = c.out_neg >= 0
        np.add.at(dC, (slice(None), c.out_neg[neg]), -dCdy[:, neg])
        if clamps_ideally(self.backend):
            J = np.broadcast_to(G, (u.shape[0],) + G.shape).copy()  # the clamps conduct only where active
            fixed = self.clamped_nodes(x, u)
            ex, node = np.nonzero(fixed)
            J[ex, node, :] = 0.0
            J[ex, :, node] = 0.0
            J[ex, node, node] = 1.0
            dC[ex, node] = 0.0
        else:
            b = sysm.source_drive(self.g, v_src)
            if self._bias_idx:  # current sources into the free nodes add to the Norton currents
                b[:, : c.n_free] += self.bias_currents
            _, J, _ = NewtonSolver().residual(sysm, G, b, u, v_src, values=self.element_values or None)
        lam = np.linalg.solve(np.swapaxes(J, 1, 2), dC[:, :, None])[:, :, 0]
        pa, ra, pb, rb = sysm.kcl_columns()
        lam_ext = np.concatenate([lam, np.zeros((lam.shape[0], 1))], axis=1)  # index -1 -> 0
        dv = sysm.edge_drops(u, v_src)
        grad = -np.mean(dv * (ra * lam_ext[:, pa] - rb * lam_ext[:, pb]), axis=0)
        out = self._per_param([grad[idx] for idx in self._layer_sel])
        if self._extra:
            w = c.terminal_voltages(u[:, : c.n_free], v_src)
            p, r = sysm.terminal_map[0], sysm.terminal_map[1]
            out.update(self._extra.implicit(self.params, w, lam_ext, p, r))
        return out

    def clamped_nodes(self, x, state) -> np.ndarray:
        """Which free nodes sit on a diode's rail, ``(batch, system.n)`` bool: with ideal diodes
        (the BCD backend) these are the nodes an active clamp holds.

        A diode between a free node and a fixed terminal (source, bias rail, ground) clamps the
        node when their voltages are equal to the state's precision (``64 eps (1 + |V_rail|)``
        of the model's dtype: BCD writes the rail's value itself).
        """
        c = self.circuit
        x = self.check_inputs(x)
        u = np.asarray(state, dtype=np.float64)
        w = c.terminal_voltages(u[:, : c.n_free], c.source_voltages(x))  # ground: the last column
        fixed = np.zeros(u.shape, bool)
        a, k = np.asarray(c.diode_anode), np.asarray(c.diode_cathode)
        tol = 64 * np.finfo(self._dtype).eps
        for node, rail in ((k, a), (a, k)):  # rail -> node (a lower clamp), node -> rail (an upper one)
            sel = (c.terminal_kind(node) == 0) & c.is_fixed(rail)
            if not np.any(sel):
                continue
            vn, vr = w[:, node[sel]], w[:, rail[sel]]
            on = np.abs(vn - vr) <= tol * (1.0 + np.abs(vr))
            ex, d = np.nonzero(on)
            fixed[ex, node[sel][d]] = True
        return fixed

    def copy(self) -> "ResistiveNetwork":
        i0 = self.bias_currents
        return ResistiveNetwork(self.circuit, self.backend, self.g, bias_currents=False if i0 is None else i0,
                                dtype=self._dtype, centered_pairs=self.centered_pairs, loss=self.loss,
                                element_values=self.element_values or None)
