"""Check EqProp's gradient estimate against the exact gradient of ``J = mean C(s_0)``.

Two independent references:

* the implicit gradient at the free fixed point (``model.implicit_gradient``: one linear
  solve with the Hessian of the energy over the free, unsaturated units);
* central finite differences of J, relaxing to convergence for each perturbed parameter.

Theorem 1 of Scellier & Bengio says the one-sided estimate approaches the exact gradient
with an O(beta) error, the centered one with O(beta^2).

Examples
--------
>>> import numpy as np
>>> from analog_eqprop.models import HopfieldNetwork, HopfieldConfig
>>> net = HopfieldNetwork.layered([3, 4, 2], seed=1, bias=0.4, config=HopfieldConfig(dtype="float64"))
>>> rng = np.random.default_rng(0)
>>> x, t = rng.random((4, 3)), np.eye(2)[[0, 1, 1, 0]]
>>> rep = gradcheck(net, x, t, betas=(1e-2, 1e-3), mode="centered")
>>> all(r.cosine > 0.999 for r in rep.rows)
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analog_eqprop.contracts import EnergyModel, ExactGradient
from analog_eqprop.errors import ConfigError, ConvergenceError
from analog_eqprop.eqprop.core import eqprop_gradient

__all__ = ["GradCheckRow", "GradCheckReport", "gradcheck", "finite_difference_gradient", "flatten", "cosine"]


def flatten(grads: dict[str, np.ndarray], names: list[str] | None = None) -> np.ndarray:
    """Concatenate a parameter dict into one vector (in ``names`` order, default sorted)."""
    names = sorted(grads) if names is None else names
    return np.concatenate([np.ravel(grads[k]) for k in names])


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors (1.0 when both are zero)."""
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 and nb == 0:
        return 1.0
    return float(a @ b / (na * nb)) if na and nb else 0.0


@dataclass(frozen=True)
class GradCheckRow:
    """EqProp against the exact gradient at one beta."""

    beta: float
    cosine: float
    rel_error: float

    def as_dict(self) -> dict[str, float]:
        return {"beta": self.beta, "cosine": self.cosine, "rel_error": self.rel_error}


@dataclass(frozen=True)
class GradCheckReport:
    """Rows per beta, plus how well the two exact references agree with each other."""

    mode: str
    rows: tuple[GradCheckRow, ...]
    exact_norm: float
    fd_cosine: float | None = None
    fd_rel_error: float | None = None
    n_params: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "results": [r.as_dict() for r in self.rows], "exact_norm": self.exact_norm,
                "fd_cosine": self.fd_cosine, "fd_rel_error": self.fd_rel_error, "n_params": self.n_params}


def _relax_converged(model: EnergyModel, x, s, *, beta=0.0, target=None, n_iter: int, tol: float) -> np.ndarray:
    res = model.relax(x, s, beta=beta, target=target, n_iter=n_iter, tol=tol)
    if not res.converged:
        raise ConvergenceError(f"relaxation did not converge to {tol:g} in {n_iter} steps "
                               f"(last step {res.max_step:.3g}); lower eps or raise n_iter")
    return res.state


def _mean_cost(model: EnergyModel, x, s0, target, n_iter, tol) -> float:
    return float(np.mean(model.cost(_relax_converged(model, x, s0, n_iter=n_iter, tol=tol), target)))


def finite_difference_gradient(model: EnergyModel, x: np.ndarray, target: np.ndarray, s0: np.ndarray, *,
                               h: float = 1e-5, n_iter: int = 100_000, tol: float = 1e-13) -> dict[str, np.ndarray]:
    """Central differences of ``J(theta) = mean C(s_0(theta))`` for every free parameter entry.

    The step is relative: ``h * max(|theta_i|, mean |theta|)`` (conductances are ~1e-6 S,
    Hopfield weights ~0.1). Structural zeros (masked entries) get 0. Symmetric (lateral)
    matrices are perturbed in (i, j) and (j, i) together, since they are one physical
    coupling. Each relaxation starts at ``s0`` so that it stays in the same basin.
    """
    sym = set(model.symmetric_params())
    masks = model.param_masks()
    out: dict[str, np.ndarray] = {}
    for name, p in model.params.items():
        g = np.zeros_like(p, dtype=np.float64)
        mask = masks.get(name)
        typical = float(np.mean(np.abs(p))) or 1.0
        for idx in np.ndindex(p.shape):
            if mask is not None and not mask[idx]:
                continue
            if name in sym and idx[0] > idx[1]:
                continue
            twin = (idx[1], idx[0]) if name in sym else None
            orig = p[idx]
            step = h * max(abs(float(orig)), typical)
            vals = []
            for sign in (1, -1):
                p[idx] = orig + sign * step
                if twin:
                    p[twin] = orig + sign * step
                vals.append(_mean_cost(model, x, s0, target, n_iter, tol))
            p[idx] = orig
            if twin:
                p[twin] = orig
            g[idx] = (vals[0] - vals[1]) / (2 * step)
            if twin:
                g[twin] = g[idx]
        out[name] = g
    return out


def gradcheck(model: EnergyModel, x: np.ndarray, target: np.ndarray, *, betas=(1e-1, 1e-2, 1e-3, 1e-4),
              mode: str = "positive", finite_differences: bool = False, n_iter: int = 100_000,
              tol: float = 1e-13) -> GradCheckReport:
    """Compare EqProp's estimate with the implicit gradient at several betas.

    Parameters
    ----------
    model : EnergyModel
        A float64 energy model with an exact gradient (:class:`~analog_eqprop.contracts.ExactGradient`).
    x, target : ndarray
        A batch of inputs and targets.
    betas : sequence of float
        Nudge strengths (> 0).
    mode : {"positive", "centered"}
    finite_differences : bool
        Also compute central differences of J and report their agreement with the implicit
        gradient (slow: two relaxations per parameter).
    n_iter, tol
        Relaxations run until the largest step is ``<= tol`` (at most ``n_iter`` steps).
    """
    if not isinstance(model, ExactGradient):
        raise ConfigError(f"gradcheck needs a model with an exact gradient to check against (implicit_gradient); "
                          f"{type(model).__name__} has none")
    if np.dtype(model.dtype) != np.float64:
        raise ConfigError("gradcheck needs a float64 model (set dtype='float64'): float32 cannot resolve small beta")
    if mode not in ("positive", "centered"):
        raise ConfigError(f"gradcheck mode must be 'positive' or 'centered', got {mode!r}")
    x = np.asarray(x, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    s0 = _relax_converged(model, x, model.init_state(x.shape[0]), n_iter=n_iter, tol=tol)
    exact = model.implicit_gradient(x, target, s0)
    names = sorted(exact)
    ev = flatten(exact, names)
    if not np.any(ev):
        raise ConvergenceError("the exact gradient is zero (every output is saturated or on target), so the "
                               "check would be vacuous; pick weights/biases that put units inside their range")
    rows = []
    for beta in betas:
        g = eqprop_gradient(model, x, target, s0, float(beta), mode=mode, n_iter=n_iter, tol=tol).grads
        gv = flatten(g, names)
        rows.append(GradCheckRow(float(beta), cosine(gv, ev), float(np.linalg.norm(gv - ev) / np.linalg.norm(ev))))
    fd_cos = fd_rel = None
    if finite_differences:
        fv = flatten(finite_difference_gradient(model, x, target, s0, n_iter=n_iter, tol=tol), names)
        fd_cos = cosine(fv, ev)
        fd_rel = float(np.linalg.norm(fv - ev) / np.linalg.norm(ev))
    return GradCheckReport(mode, tuple(rows), float(np.linalg.norm(ev)), fd_cos, fd_rel, int(ev.size))
