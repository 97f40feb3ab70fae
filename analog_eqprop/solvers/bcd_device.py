"""BCD solves on an array library's device (torch, CuPy) with the conductances kept there.

:class:`~analog_eqprop.solvers.bcd.BCDBackend` with ``xp=`` runs its sweeps with another
library's operations. When the caller hands it the conductance vector *as a device array*
(a :class:`~analog_eqprop.models.ResistiveNetwork` whose training step is device-resident
does), everything proportional to the number of conductances stays on the device too: the
weight blocks are views of that vector, the diagonal is summed (or taken from the caller's
per-node totals) there, and the clamped inputs' drive is a device product. Only per-example
arrays cross the bus: inputs, targets, warm starts and the voltages that come back.

The circuits this serves are the layered ones whose every weight block is a contiguous run
of the edge vector in row-major order (``_Gather.kind == "slice"``, e.g. the deep resistive
networks built from arrays), without amplifiers; anything else raises
:class:`~analog_eqprop.errors.ConfigError` (the host path handles it).
"""

from __future__ import annotations

import importlib
import time

import numpy as np

from analog_eqprop.errors import ConfigError
from analog_eqprop.validation import array, solve_args

__all__ = ["Namespace", "device_ready", "operating_point_device"]


class Namespace:
    """The array operations the device sweeps and the device-resident step need, for an
    array-API module or torch (whose reductions take ``dim`` and return pairs)."""

    def __init__(self, name: str, device: str | None = None):
        try:
            self.mod = importlib.import_module(name)
        except ImportError as exc:
            raise ConfigError(f"BCD: xp={name!r} needs the {name} package ({exc}); for torch: pip install "
                              f"'analog_eqprop[torch]'") from None
        self.torch = name == "torch"
        self.device = device or ("cpu" if self.torch else None)
        self.matmul, self.maximum, self.minimum, self.abs = (self.mod.matmul, self.mod.maximum, self.mod.minimum,
                                                             self.mod.abs)

    def asarray(self, a: np.ndarray):
        a = np.ascontiguousarray(a)
        if self.torch:
            return self.mod.as_tensor(a, device=self.device)
        return self.mod.asarray(a) if self.device is None else self.mod.asarray(a, device=self.device)

    def max1(self, a):
        return self.mod.amax(a, dim=1) if self.torch else self.mod.max(a, axis=1)

    def to_numpy(self, a) -> np.ndarray:
        if self.torch:
            return a.detach().cpu().numpy()
        get = getattr(a, "get", None)  # CuPy
        return np.asarray(get() if get is not None else a)

    # -- what a device-resident step needs besides (bcd_device, models.resident) ------------
    def upload(self, a: np.ndarray):
        """A device copy of ``a`` (never sharing the host's memory, unlike ``asarray`` on a CPU)."""
        return self.copy(self.asarray(a))

    def copy(self, a):
        return a.clone() if self.torch else self.mod.asarray(a, copy=True)

    def zeros(self, shape, dtype):
        name = np.dtype(dtype).name
        if self.torch:
            return self.mod.zeros(shape, dtype=getattr(self.mod, name), device=self.device)
        return self.mod.zeros(shape, dtype=getattr(self.mod, name))

    def dtype_name(self, a) -> str:
        return str(a.dtype).replace("torch.", "")

    def astype(self, a, dtype):
        name = np.dtype(dtype).name
        return a.to(getattr(self.mod, name)) if self.torch else a.astype(getattr(self.mod, name))

    def view2d(self, g, start: int, shape):
        """The block ``g[start:start + m n]`` as an ``(m, n)`` view (row-major)."""
        m, n = shape
        return self.mod.reshape(g[int(start):int(start) + m * n], (m, n))

    def T(self, w):
        return w.T

    def sum(self, a, axis: int):
        return self.mod.sum(a, dim=axis) if self.torch else self.mod.sum(a, axis=axis)

    def concat(self, arrays, axis: int = 0):
        return self.mod.cat(list(arrays), dim=axis) if self.torch else self.mod.concat(list(arrays), axis=axis)

    def index(self, idx: np.ndarray):
        return self.asarray(np.asarray(idx, dtype=np.int64))

    def take(self, a, idx):
        return a[idx] if self.torch else self.mod.take(a, idx)

    def isub(self, a, b) -> None:
        """``a -= b`` in place (``a`` may be a view)."""
        if self.torch:
            a.sub_(b)
        else:
            a -= b

    def clip_(self, a, lo: float, hi: float) -> None:
        """Clip ``a`` to ``[lo, hi]`` in place."""
        if self.torch:
            a.clamp_(lo, hi)
        else:
            a[...] = self.mod.clip(a, lo, hi)

    def all_finite(self, a) -> bool:
        return bool(self.mod.all(self.mod.isfinite(a)))


def device_ready(plan) -> str | None:
    """``None`` when the circuit of ``plan`` can be solved from a device conductance vector,
    else why not."""
    if not plan.diag_from_sums:
        return "amplified copies (the diagonal is not the blocks' sums)"
    for key, gat in plan.blocks.items():
        if gat.kind != "slice":
            return f"the weight block between layers {key} is not one contiguous run of the edge vector"
    for parts in plan.drive:
        for gat, _, _ in parts:
            if gat.kind != "slice":
                return "a source block is not one contiguous run of the edge vector"
    return None


def _block(X, g, gat):
    return X.view2d(g, gat.start, gat.shape)


def built_device(plan, X, g, dtype, same_g: bool, fresh):
    """Device blocks, drive terms and diagonal (layer order) for the device vector ``g``: the
    same contract as :meth:`~analog_eqprop.solvers.bcd.BCDPlan.built`; memoised on the identity of ``g`` and the caller's
    promise (``same_g``), never by comparing values (the caller owns ``g``)."""
    memo = plan.__dict__.get("_dev_built")
    if same_g and memo is not None and memo[0] is g:
        return memo[1]
    W = {key: _block(X, g, gat) for key, gat in plan.blocks.items()}
    drive = []
    parts_diag = []
    for k, (sl, parts) in enumerate(zip(plan.slices, plan.drive)):
        inputs, const = [], X.zeros(sl.stop - sl.start, dtype)
        for gat, offsets, F in parts:
            D = _block(X, g, gat)
            if offsets is not None:
                const = const + X.matmul(X.asarray(offsets.astype(dtype)), D)
            if F is not None:
                inputs.append((D, F))
            parts_diag.append((k, D, 0))
        drive.append((inputs, const))
    if isinstance(fresh, np.ndarray) or (fresh is not None and not isinstance(fresh, bool)):
        order = plan.__dict__.get("_dev_order")
        if order is None or order[0] is not X:
            order = plan._dev_order = (X, X.index(plan.order))
        diag = X.astype(X.take(X.asarray(fresh), order[1]), dtype)
    else:
        per = [X.zeros(sl.stop - sl.start, dtype) for sl in plan.slices]
        for (la, lb), w in W.items():
            per[la] = per[la] + X.sum(w, 1)
            per[lb] = per[lb] + X.sum(w, 0)
        for k, D, _ in parts_diag:
            per[k] = per[k] + X.sum(D, 0)
        if plan.ground_e.size:  # a few edges to ground: their values cross the bus
            gnd = np.bincount(plan.ground_q, weights=X.to_numpy(X.take(g, X.index(plan.ground_e))),
                              minlength=plan.nf)
            per = [p + X.asarray(gnd[sl].astype(dtype)) for p, sl in zip(per, plan.slices)]
        diag = X.concat(per)
    out = (W, drive, diag)
    plan._dev_built = (g, out)
    plan._dev_norton = None
    return out


def norton_device(plan, X, x: np.ndarray, dtype):
    """Device Norton currents per layer for the last device build, memoised on ``x`` (and its
    stacked copies, as the host path)."""
    memo = plan.__dict__.get("_dev_norton")
    if memo is not None and memo[0].shape == x.shape and np.array_equal(memo[0], x):
        return [X.copy(bk) for bk in memo[1]]
    if memo is not None and memo[0].shape[0] and x.shape[0] % memo[0].shape[0] == 0 \
            and x.shape[1:] == memo[0].shape[1:]:
        reps = x.shape[0] // memo[0].shape[0]
        if np.array_equal(x, np.tile(memo[0], (reps, 1))):
            return [X.concat([bk] * reps, 0) for bk in memo[1]]
    xd = x.astype(dtype, copy=False)
    b = []
    for inputs, const in plan._dev_built[1][1]:
        bk = X.zeros((x.shape[0], const.shape[0]), dtype) + const
        for D, F in inputs:
            bk = bk + X.matmul(X.asarray(np.ascontiguousarray(xd[:, F[1]] * F[2].astype(dtype))), D)
        b.append(bk)
    plan._dev_norton = (x.copy(), b)
    return [X.copy(bk) for bk in b]


def operating_point_device(be, system, g, x, *, beta=0.0, target_v=None, ref=None, u0=None, i_ext=None,
                           same_g: bool = False, fresh_g=None):
    """:meth:`BCDBackend.operating_point` for a device conductance vector ``g`` (see the module
    docstring); the result is the host path's :class:`OperatingPoint`."""
    t0 = time.perf_counter()
    X = be.namespace
    p = be.plan(system)
    why = device_ready(p)
    if why is not None:
        raise ConfigError(f"BCD: conductances on the device need layered blocks: {why}; keep g on the host")
    c, nf = p.circuit, p.nf
    _, x, beta, target_v, ref, u0 = solve_args(c, None, x, beta=beta, target=target_v, ref=ref, u0=u0,
                                               n_state=system.n, check_g=False, per_example_beta=True)
    if i_ext is not None:
        i_ext = array(i_ext, "i_ext", (nf,))
    B = x.shape[0]
    dt = be.dtype or np.dtype(X.dtype_name(g))
    W, drive, diag = built_device(p, X, g, dt, same_g, fresh_g)
    b = norton_device(p, X, x, dt)
    if i_ext is not None:
        cur = i_ext.astype(dt)[p.order]
        b = [bk + X.asarray(cur[sl]) for bk, sl in zip(b, p.slices)]
    if target_v is not None:
        zero = [np.zeros((B, sl.stop - sl.start)) for sl in p.slices]
        host_diag, coupling = be.nudge(p, system, beta, target_v, ref, X.to_numpy(diag), zero)
        if coupling:
            raise ConfigError("BCD: the array-namespace sweeps (xp=...) do not handle resistive nudging of "
                              "differential pairs; use xp=None")
        diag = X.asarray(np.asarray(host_diag, dtype=dt))
        b = [bk + X.asarray(z.astype(dt)) for bk, z in zip(b, zero)]
    v_src = None if p.bounds_const and not system.n_internal else c.source_voltages(x)
    lo, hi = p.bounds_as(dt) if p.bounds_const else (a.astype(dt, copy=False) for a in p.bounds(v_src))
    v = np.zeros((B, nf), dt) if u0 is None else np.array(np.asarray(u0)[:, :nf][:, p.order], dtype=dt)
    v = np.minimum(np.maximum(v, lo), hi)
    inv = 1.0 / diag
    vs, delta, it = be.sweeps_device(p, [X.asarray(v[:, sl]) for sl in p.slices], b, W,
                                   [inv[..., sl] for sl in p.slices], lo, hi)
    converged = delta <= be.tol
    res = _kkt_device(p, X, vs, b, W, diag, lo, hi) if be.kkt else np.full(B, np.nan)
    v = np.concatenate([X.to_numpy(a) for a in vs], axis=1)
    return be.finish(system, p, v, v_src, res, converged, it, delta, t0)


def _kkt_device(p, X, vs, b, W, diag, lo, hi) -> np.ndarray:
    """The KKT residual [A] per example, as :meth:`~analog_eqprop.solvers.bcd.BCDBackend` (its KKT residual) (no pair coupling)."""
    layer_of = {sl.start: k for k, sl in enumerate(p.slices)}
    res = np.zeros(vs[0].shape[0] if vs else 0)
    for k, sl in enumerate(p.slices):
        r = b[k]
        for nsl, key, transpose in p.neighbours[k]:
            w = W[key]
            r = r + X.matmul(vs[layer_of[nsl.start]], X.T(w) if transpose else w)
        vk = X.to_numpy(vs[k])
        grad = vk * X.to_numpy(diag[..., sl]) - X.to_numpy(r)
        if p.has_lo[k]:
            grad = np.where(vk <= lo[:, sl], np.minimum(grad, 0.0), grad)
        if p.has_hi[k]:
            grad = np.where(vk >= hi[:, sl], np.maximum(grad, 0.0), grad)
        if grad.size:
            res = np.maximum(res, np.abs(grad).max(axis=1))
    return res
