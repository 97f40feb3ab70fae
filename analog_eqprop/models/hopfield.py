"""The seed's continuous Hopfield network (Scellier & Bengio 2017), batch-first NumPy.

Energy (seed Eq. 34), with rho(s) = clip(s, 0, 1) the hard sigmoid::

    E(s) = 1/2 sum_i s_i^2 - sum_{i<j} W_ij rho(s_i) rho(s_j) - sum_i b_i rho(s_i)

summed over free units (clamped inputs enter through their couplings only), the cost
``C = cost_scale * ||y - target||^2`` (``cost_scale = 1/2`` by default; the seed's code uses
1) and the total energy ``F = E + beta * C``. Relaxation is the seed's projected Euler step
(Eq. 54) ``s <- clip(s - eps * dF/ds, 0, 1)``, all units updated synchronously, with optional
Langevin noise ``sigma * sqrt(eps) * N(0, 1)`` per step (seed Appendix B).

Another output cost (cross-entropy, :mod:`analog_eqprop.eqprop.losses`) can replace the
squared error: ``HopfieldNetwork(..., loss=...)``; it enters ``F = E + beta * C`` the same way,
its gradient ``dC/dy`` pulling the output units at every nudged step.

Since the state never leaves the box [0, 1], rho(s) = s and rho'(s) = 1 inside the
loop, so ``dF/ds = s - drive(s) + beta * dC/ds`` with ``drive = W rho(s) + b``. The drive from
the clamped inputs is computed once per batch (:func:`static_drive`), not per iteration.

Examples
--------
>>> import numpy as np
>>> from analog_eqprop.graphs import layered_graph
>>> net = HopfieldNetwork.from_graph(layered_graph([4, 3, 2], seed=0))
>>> x = np.random.default_rng(0).random((5, 4))
>>> res = net.relax(x, net.init_state(5), n_iter=200)
>>> res.state.shape, bool(np.all((res.state >= 0) & (res.state <= 1)))
((5, 5), True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import networkx as nx
import numpy as np

from analog_eqprop.config import check_positive, option
from analog_eqprop.eqprop.losses import get_loss
from analog_eqprop.errors import ConfigError, DataError
from analog_eqprop.graphs import layered_graph
from analog_eqprop.models.blocks import BlockStructure, params_to_graph, structure_from_graph
from analog_eqprop.results import RelaxResult  # re-exported: its old home
from analog_eqprop.validation import array, finite_fields, integer, nudge_target, real

__all__ = [
    "HopfieldConfig",
    "HopfieldNetwork",
    "RelaxResult",
    "rho",
    "static_drive",
    "relax",
    "energy",
    "energy_grad_diff",
]


def rho(s: np.ndarray) -> np.ndarray:
    """The hard sigmoid ``clip(s, 0, 1)``."""
    return np.clip(s, 0.0, 1.0)


@dataclass(frozen=True)
class HopfieldConfig:
    """Relaxation and cost settings of the Hopfield model (seed defaults)."""

    eps: float = option(0.5, "Euler step of the relaxation (seed Eq. 54); stable for eps < 2 / L", unit="1")
    n_free: int = option(20, "relaxation steps of the free phase")
    n_nudged: int = option(4, "relaxation steps of the nudged phase, started from the free state")
    sigma: float = option(0.0, "Langevin noise per sqrt(time step) (seed Appendix B); 0 = deterministic", unit="1")
    cost_scale: float = option(0.5, "C = cost_scale * ||y - target||^2; the seed's code uses 1.0", unit="1")
    dtype: Literal["float32", "float64"] = option("float32", "floating-point type of states and parameters")

    def __post_init__(self) -> None:
        finite_fields(self)
        check_positive("HopfieldConfig", eps=self.eps, cost_scale=self.cost_scale)
        if self.n_free < 1 or self.n_nudged < 1:
            raise ConfigError(f"HopfieldConfig: n_free and n_nudged must be >= 1, got {self.n_free}, {self.n_nudged}")
        if not self.sigma >= 0:
            raise ConfigError(f"HopfieldConfig.sigma must be >= 0, got {self.sigma!r}")


def static_drive(st: BlockStructure, params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Bias plus the drive from the clamped inputs, ``(batch, n_free)``; constant during a phase."""
    c = np.empty((x.shape[0], st.n_free), dtype=np.result_type(x, params[next(iter(params))]))
    for g in st.free_groups:
        c[:, st.slice_of(g)] = params[f"b{g}"]
    for k, (a, b) in enumerate(st.blocks):
        W = params[f"W{k}"]
        if st.is_clamped(a):
            c[:, st.slice_of(b)] += rho(x[:, st.slice_of(a)]) @ W
        elif st.is_clamped(b):
            c[:, st.slice_of(a)] += rho(x[:, st.slice_of(b)]) @ W.T
    return c


def _free_terms(st: BlockStructure, params: dict[str, np.ndarray]) -> list[tuple[slice, slice, np.ndarray]]:
    """``(target columns, source columns, matrix)``: drive[:, t] += s[:, src] @ matrix."""
    terms = []
    for k, (a, b) in enumerate(st.blocks):
        if st.is_clamped(a) or st.is_clamped(b):
            continue
        W = params[f"W{k}"]
        terms.append((st.slice_of(b), st.slice_of(a), W))
        if a != b:
            terms.append((st.slice_of(a), st.slice_of(b), W.T))
    return terms


def relax(
    st: BlockStructure,
    params: dict[str, np.ndarray],
    x: np.ndarray,
    s: np.ndarray,
    *,
    n_iter: int,
    eps: float = 0.5,
    beta: float = 0.0,
    target: np.ndarray | None = None,
    cost_scale: float = 0.5,
    sigma: float = 0.0,
    rng: np.random.Generator | None = None,
    tol: float | None = None,
    static: np.ndarray | None = None,
    loss=None,
) -> RelaxResult:
    """Projected Euler relaxation of ``F = E + beta * C`` from the state ``s``.

    Parameters
    ----------
    st, params
        Network structure and parameters.
    x : ndarray, shape (batch, n_inputs)
        Clamped inputs.
    s : ndarray, shape (batch, n_free)
        Initial free state (not modified).
    n_iter : int
        Maximum number of steps.
    eps : float
        Step size.
    beta : float
        Nudge strength; ``target`` is required when nonzero.
    target : ndarray, shape (batch, n_outputs), optional
    cost_scale : float
        ``C = cost_scale * ||y - target||^2``.
    sigma : float
        Langevin noise (needs ``rng``).
    tol : float, optional
        Stop early once the largest state change is ``<= tol``.
    static : ndarray, optional
        Precomputed :func:`static_drive` (reused between the phases of one batch).
    loss : loss object, optional
        Output cost with ``grad(y, t)`` (:mod:`analog_eqprop.eqprop.losses`) instead of
        ``cost_scale * ||y - t||^2``.
    """
    x, s, beta, target, static = _relax_args(st, x, s, beta, target, static)
    n_iter = integer(n_iter, "n_iter", low=0)
    eps = real(eps, "eps", low=0.0, low_open=True)
    cost_scale = real(cost_scale, "cost_scale")
    sigma = real(sigma, "sigma", low=0.0)
    if tol is not None:
        tol = real(tol, "tol", low=0.0)
    if sigma > 0 and rng is None:
        raise ConfigError("relax: Langevin noise (sigma > 0) needs an rng")
    c = static_drive(st, params, x) if static is None else static
    terms = _free_terms(st, params)
    out = st.output_slice
    nudge = 2.0 * cost_scale * beta
    s = np.clip(s, 0.0, 1.0).astype(c.dtype, copy=True)
    u = np.empty_like(s)
    max_step, it = np.inf, 0
    for it in range(1, n_iter + 1):
        np.copyto(u, c)
        for tgt, src, M in terms:
            u[:, tgt] += s[:, src] @ M
        if nudge and loss is not None:
            u[:, out] -= (beta * loss.grad(s[:, out], target)).astype(u.dtype, copy=False)
        elif nudge:
            u[:, out] -= nudge * (s[:, out] - target)
        u -= s
        u *= eps  # u is now the step -eps * dF/ds
        if sigma > 0:
            u += (sigma * np.sqrt(eps)) * rng.standard_normal(u.shape, dtype=u.dtype)
        if tol is not None:
            before = s.copy()
            s += u
            np.clip(s, 0.0, 1.0, out=s)
            max_step = float(np.max(np.abs(s - before))) if s.size else 0.0
            if max_step <= tol:
                break
        else:
            s += u
            np.clip(s, 0.0, 1.0, out=s)
    if tol is None:
        max_step = float(np.max(np.abs(u))) if s.size else 0.0
    return RelaxResult(s, it, max_step, converged=tol is None or max_step <= tol)


def _relax_args(st: BlockStructure, x, s, beta, target, static):
    """The arrays of a relaxation, checked as every backend checks its own
    (:mod:`analog_eqprop.validation`): shapes exactly as documented, no NaN or inf, a target
    whenever ``beta != 0``. Floating arrays keep their dtype (float32 stays float32)."""
    x = array(x, "x", (None, st.n_inputs), dtype=None)
    B = x.shape[0]
    s = array(s, "state", (B, st.n_free), dtype=None)
    beta, target = nudge_target(beta, target, "target", st.n_outputs, B)
    if target is not None:
        target = target.astype(s.dtype, copy=False)
    if static is not None:
        static = array(static, "static", (B, st.n_free), dtype=None)
    return x, s, beta, target, static


def energy(st: BlockStructure, params: dict[str, np.ndarray], x: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Hopfield energy E per example, shape ``(batch,)``."""
    r = rho(s)
    e = 0.5 * np.sum(s * s, axis=1)
    for g in st.free_groups:
        e -= r[:, st.slice_of(g)] @ params[f"b{g}"]
    for k, (a, b) in enumerate(st.blocks):
        ra = rho(x[:, st.slice_of(a)]) if st.is_clamped(a) else r[:, st.slice_of(a)]
        rb = rho(x[:, st.slice_of(b)]) if st.is_clamped(b) else r[:, st.slice_of(b)]
        pair = np.einsum("bi,ij,bj->b", ra, params[f"W{k}"], rb)
        e -= 0.5 * pair if a == b else pair
    return e


def energy_grad_diff(
    st: BlockStructure, params: dict[str, np.ndarray], x: np.ndarray, s1: np.ndarray, s2: np.ndarray
) -> dict[str, np.ndarray]:
    """``dE/dtheta(s1) - dE/dtheta(s2)``, averaged over the batch, for every parameter.

    Written as ``r1a^T (r1b - r2b) + (r1a - r2a)^T r2b`` rather than a difference of two
    outer products, which would cancel catastrophically at small beta.
    """
    n = s1.shape[0]
    r1, r2 = rho(s1), rho(s2)
    d = r1 - r2
    out: dict[str, np.ndarray] = {}
    for k, (a, b) in enumerate(st.blocks):
        if st.is_clamped(a):
            g = rho(x[:, st.slice_of(a)]).T @ d[:, st.slice_of(b)]
        elif st.is_clamped(b):
            g = d[:, st.slice_of(a)].T @ rho(x[:, st.slice_of(b)])
        else:
            sa, sb = st.slice_of(a), st.slice_of(b)
            g = r1[:, sa].T @ d[:, sb] + d[:, sa].T @ r2[:, sb]
        if st.masks[k] is not None:
            g *= st.masks[k]
        out[f"W{k}"] = g * (-1.0 / n)
    for gr in st.free_groups:
        out[f"b{gr}"] = -d[:, st.slice_of(gr)].mean(axis=0)
    return out


class HopfieldNetwork:
    """A continuous Hopfield network on any graph: structure, parameters and settings.

    Build it with :meth:`from_graph` (any validated network graph) or :meth:`layered`.
    ``params`` maps ``W{k}`` (block ``k``) and ``b{g}`` (free group ``g``) to arrays and is
    what training updates. ``loss`` (a name or object, :func:`~analog_eqprop.eqprop.losses.get_loss`)
    replaces the squared error ``cost_scale * ||y - t||^2`` (``None``, the seed's).
    """

    def __init__(self, structure: BlockStructure, params: dict[str, np.ndarray], config: HopfieldConfig | None = None,
                 *, loss=None):
        self.structure = structure
        self.config = config or HopfieldConfig()
        self.loss = None if loss is None else get_loss(loss)
        dt = np.dtype(self.config.dtype)
        st = structure
        shapes = {f"W{k}": (st.group_sizes[a], st.group_sizes[b]) for k, (a, b) in enumerate(st.blocks)}
        shapes.update({f"b{g}": (st.group_sizes[g],) for g in st.free_groups})
        if set(params) != set(shapes):
            raise DataError(f"params must have exactly the keys {sorted(shapes)}, got {sorted(params)}")
        self.params = {k: np.ascontiguousarray(array(v, k, shapes[k], dtype=dt)) for k, v in params.items()}

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_graph(cls, G: nx.Graph, config: HopfieldConfig | None = None, *, loss=None,
                   **attr_names: str) -> "HopfieldNetwork":
        """Compile a network graph (roles, layers, weights, biases) into a network."""
        st, params = structure_from_graph(G, **attr_names)
        return cls(st, params, config, loss=loss)

    @classmethod
    def layered(cls, sizes, *, seed: int | None = None, config: HopfieldConfig | None = None, loss=None,
                **kw) -> "HopfieldNetwork":
        """A layered net (Glorot-uniform weights, zero biases), e.g. ``sizes=[784, 500, 10]``."""
        return cls.from_graph(layered_graph(list(sizes), seed=seed, **kw), config, loss=loss)

    def to_graph(self, G: nx.Graph | None = None) -> nx.Graph:
        """The network as a graph with the current weights and biases."""
        return params_to_graph(self.structure, self.params, G)

    # -- sizes and checks ---------------------------------------------------------------
    @property
    def n_inputs(self) -> int:
        return self.structure.n_inputs

    @property
    def n_outputs(self) -> int:
        return self.structure.n_outputs

    @property
    def n_free(self) -> int:
        return self.structure.n_free

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.config.dtype)

    def param_layer(self, name: str) -> int:
        """Learning-rate layer of a parameter (seed convention: layer l feeds free group l)."""
        idx = int(name[1:])
        st = self.structure
        return st.layer_of_block(idx) if name[0] == "W" else st.layer_of_group(idx)

    @property
    def n_layers(self) -> int:
        return self.structure.n_layers

    def check_inputs(self, x: np.ndarray, target: np.ndarray | None = None) -> np.ndarray:
        """Validate and cast an input batch (and target), raising DataError naming the problem."""
        x = array(x, "inputs x", (None, self.n_inputs), dtype=None)
        if target is not None:
            array(target, "targets", (x.shape[0], self.n_outputs))
        return x.astype(self.dtype, copy=False)

    # -- physics --------------------------------------------------------------------------
    def init_state(self, batch_size: int) -> np.ndarray:
        """The seed's initial particles: all free units at 0."""
        return np.zeros((batch_size, self.n_free), dtype=self.dtype)

    def prepare(self, x: np.ndarray) -> np.ndarray:
        """Per-batch work shared by all phases: the static drive of the clamped inputs."""
        return static_drive(self.structure, self.params, x)

    def relax(self, x, state, *, beta: float = 0.0, target=None, n_iter: int | None = None,
              rng: np.random.Generator | None = None, tol: float | None = None, static=None) -> RelaxResult:
        """Relax from ``state``: the free phase (``beta=0``) or a nudged phase.

        ``n_iter`` defaults to the config's ``n_free`` (free) or ``n_nudged`` (nudged).
        """
        cfg = self.config
        if n_iter is None:
            n_iter = cfg.n_free if beta == 0.0 else cfg.n_nudged
        if target is not None:
            target = np.asarray(target, dtype=self.dtype)
        return relax(self.structure, self.params, x, state, n_iter=n_iter, eps=cfg.eps, beta=beta,
                     target=target, cost_scale=cfg.cost_scale, sigma=cfg.sigma, rng=rng, tol=tol, static=static,
                     loss=self.loss)

    def output(self, state: np.ndarray) -> np.ndarray:
        """Output units of a state, ``(batch, n_outputs)``."""
        return state[:, self.structure.output_slice]

    def energy(self, x: np.ndarray, state: np.ndarray) -> np.ndarray:
        return energy(self.structure, self.params, x, state)

    def cost(self, state: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Per-example cost ``cost_scale * ||y - target||^2`` (or the loss's)."""
        if self.loss is not None:
            return self.loss.cost(self.output(state), target)
        diff = self.output(state) - target
        return self.config.cost_scale * np.sum(diff * diff, axis=1)

    def energy_grad_diff(self, x, s1, s2) -> dict[str, np.ndarray]:
        return energy_grad_diff(self.structure, self.params, x, s1, s2)

    def project(self) -> None:
        """Keep structural zeros (missing edges, lateral diagonals) at zero after an update."""
        for k, m in enumerate(self.structure.masks):
            if m is not None:
                self.params[f"W{k}"] *= m

    def symmetric_params(self) -> tuple[str, ...]:
        """Parameters that are symmetric matrices (one coupling per unordered pair)."""
        return tuple(f"W{k}" for k, (a, b) in enumerate(self.structure.blocks) if a == b)

    def param_masks(self) -> dict[str, np.ndarray]:
        """Boolean masks of the parameters that have structural zeros."""
        return {f"W{k}": m for k, m in enumerate(self.structure.masks) if m is not None}

    def lipschitz(self) -> float:
        """Lipschitz constant L of dE/ds over the free units (eps < 2/L keeps E decreasing)."""
        H = np.eye(self.n_free) - self.free_coupling()
        return float(np.max(np.abs(np.linalg.eigvalsh(H))))

    def free_coupling(self) -> np.ndarray:
        """The dense symmetric coupling matrix among free units, ``(n_free, n_free)``."""
        st = self.structure
        Wff = np.zeros((self.n_free, self.n_free))
        for tgt, src, M in _free_terms(st, self.params):
            Wff[src, tgt] += M
        return Wff

    def implicit_gradient(self, x, target, state0, *, tol: float = 1e-9) -> dict[str, np.ndarray]:
        """Exact dJ/dtheta of ``J = mean C(s0)`` by implicit differentiation at the fixed point.

        Solves ``(I - W_UU) lam = dC/ds_U`` over the free, unsaturated units U of every example
        (saturated units are pinned by the box and do not move), then
        ``dJ/dW_ab = mean(lam_a rho_b + rho_a lam_b)`` and ``dJ/db = mean(lam)``. Independent of
        the EqProp code path; used to check it.
        """
        st = self.structure
        s0 = np.asarray(state0, dtype=np.float64)
        B, n = s0.shape
        free = (s0 > tol) & (s0 < 1 - tol)
        grad_c = np.zeros_like(s0)
        if self.loss is not None:
            grad_c[:, st.output_slice] = self.loss.grad(self.output(s0), np.asarray(target, dtype=np.float64))
        else:
            grad_c[:, st.output_slice] = 2 * self.config.cost_scale * (self.output(s0) - target)
        H = np.eye(n) - self.free_coupling()
        Hb = np.where(free[:, :, None] & free[:, None, :], H, 0.0)
        Hb[:, np.arange(n), np.arange(n)] = np.where(free, np.diag(H), 1.0)
        lam = np.linalg.solve(Hb, np.where(free, grad_c, 0.0)[:, :, None])[:, :, 0]
        r = rho(s0)
        xr = rho(np.asarray(x, dtype=np.float64))
        out: dict[str, np.ndarray] = {}
        for k, (a, b) in enumerate(st.blocks):
            ra = xr[:, st.slice_of(a)] if st.is_clamped(a) else r[:, st.slice_of(a)]
            rb = xr[:, st.slice_of(b)] if st.is_clamped(b) else r[:, st.slice_of(b)]
            la = np.zeros_like(ra) if st.is_clamped(a) else lam[:, st.slice_of(a)]
            lb = np.zeros_like(rb) if st.is_clamped(b) else lam[:, st.slice_of(b)]
            g = (la.T @ rb + ra.T @ lb) / B
            out[f"W{k}"] = g * st.masks[k] if st.masks[k] is not None else g
        for g in st.free_groups:
            out[f"b{g}"] = lam[:, st.slice_of(g)].mean(axis=0)
        return out

    def copy(self) -> "HopfieldNetwork":
        return HopfieldNetwork(self.structure, {k: v.copy() for k, v in self.params.items()}, self.config,
                               loss=self.loss)
