"""Equilibrium Propagation: the two (or three) phases and the parameter gradient estimate.

Works with any *energy model* (:class:`~analog_eqprop.contracts.EnergyModel`: the Hopfield
network, resistive circuits, hardware networks), of which it calls::

    model.prepare(x)                    per-batch cache (e.g. the clamped inputs' drive)
    model.relax(x, state, beta=, target=, static=) -> RelaxResult (its .state)
    model.energy_grad_diff(x, s1, s2)   dE/dtheta(s1) - dE/dtheta(s2), batch mean, per parameter

The estimate of the loss gradient dJ/dtheta (J = C at the free fixed point) is

* one-sided:  (dE/dtheta(s_beta) - dE/dtheta(s_0)) / beta           (bias O(beta))
* centered:   (dE/dtheta(s_+beta) - dE/dtheta(s_-beta)) / (2 beta)   (bias O(beta^2))

with the nudged phases started from the free state. ``random_sign`` (the seed code's choice)
is one-sided with the sign of beta drawn per batch, which averages the O(beta) bias out.

Examples
--------
>>> import numpy as np
>>> from analog_eqprop.models import HopfieldNetwork, HopfieldConfig
>>> net = HopfieldNetwork.layered([3, 4, 2], seed=1, bias=0.4, config=HopfieldConfig(dtype="float64"))
>>> x = np.array([[0.2, 0.9, 0.5]]); t = np.array([[1.0, 0.0]])
>>> s0 = net.relax(x, net.init_state(1), n_iter=500).state
>>> g = eqprop_gradient(net, x, t, s0, beta=1e-3, mode="centered", n_iter=2000).grads
>>> sorted(g)
['W0', 'W1', 'b1', 'b2']
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from analog_eqprop.contracts import EnergyModel
from analog_eqprop.errors import ConfigError
from analog_eqprop.validation import is_real, short

__all__ = ["BetaMode", "BETA_MODES", "EqPropGradient", "EqPropPhases", "eqprop_gradient", "eqprop_phases",
           "signed_beta"]

BetaMode = Literal["positive", "random_sign", "centered"]
BETA_MODES: tuple[str, ...] = ("positive", "random_sign", "centered")


@dataclass(frozen=True)
class EqPropGradient:
    """Result of the nudged phase(s).

    Attributes
    ----------
    grads : dict of str to ndarray
        Estimate of dJ/dtheta for every parameter (descend along ``-grads``).
    beta : float
        The (signed) nudge strength used.
    nudged : tuple of ndarray
        The nudged state(s): ``(s_beta,)`` or ``(s_+beta, s_-beta)`` when centered.
    """

    grads: dict[str, np.ndarray]
    beta: float
    nudged: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class EqPropPhases:
    """The nudged phase(s) of one batch, before the gradient is formed.

    The estimate is ``scale * model.energy_grad_diff(x, s1, s2)`` (:meth:`gradient`); a model
    may instead apply it straight to its parameters in one pass (``eqprop_sgd_step``, used by
    the SGD optimiser), which never materialises the gradient.

    Attributes
    ----------
    x : ndarray
        The batch's inputs.
    s1, s2 : ndarray
        The states whose energy derivatives are differenced (``s_beta`` and ``s_0``, or
        ``s_+beta`` and ``s_-beta`` when centered).
    scale : float
        ``1 / beta`` or ``1 / (2 beta)``.
    beta : float
        The (signed) nudge strength used.
    nudged : tuple of ndarray
        The nudged state(s), as in :class:`EqPropGradient`.
    """

    x: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    scale: float
    beta: float
    nudged: tuple[np.ndarray, ...]

    def gradient(self, model: EnergyModel) -> EqPropGradient:
        """The estimate of dJ/dtheta for every parameter."""
        diff = model.energy_grad_diff(self.x, self.s1, self.s2)
        return EqPropGradient({k: v * self.scale for k, v in diff.items()}, self.beta, self.nudged)


def signed_beta(beta: float, mode: str, rng: np.random.Generator | None) -> float:
    """The beta of one batch: ``+beta``, or ``+-beta`` at random for ``random_sign``."""
    if not (is_real(beta) and math.isfinite(beta) and beta > 0):
        raise ConfigError(f"beta must be > 0 and finite (the nudge strength), got {short(beta)}")
    if mode not in BETA_MODES:
        raise ConfigError(f"unknown beta mode {mode!r}; use one of {', '.join(BETA_MODES)}")
    if mode == "random_sign":
        if rng is None:
            raise ConfigError("random_sign beta needs an rng")
        return beta if rng.integers(0, 2) else -beta
    return beta


def eqprop_gradient(
    model: EnergyModel,
    x: np.ndarray,
    target: np.ndarray,
    free_state: np.ndarray,
    beta: float,
    *,
    mode: str = "positive",
    rng: np.random.Generator | None = None,
    static: Any = None,
    n_iter: int | None = None,
    tol: float | None = None,
) -> EqPropGradient:
    """Run the nudged phase(s) from ``free_state`` and return the EqProp gradient estimate.

    Parameters
    ----------
    model : EnergyModel
        An energy model (see the module docstring).
    x, target : ndarray
        Clamped inputs ``(batch, n_inputs)`` and targets ``(batch, n_outputs)``.
    free_state : ndarray
        The free fixed point ``s_0`` (start of the nudged phases).
    beta : float
        Nudge strength (> 0); signed per batch in ``random_sign`` mode.
    mode : {"positive", "random_sign", "centered"}
    rng : numpy.random.Generator, optional
        For the random sign and for Langevin noise.
    static : optional
        ``model.prepare(x)``, when the caller already has it.
    n_iter, tol : optional
        Relaxation steps and early-stop tolerance of the nudged phases (model defaults).
    """
    return eqprop_phases(model, x, target, free_state, beta, mode=mode, rng=rng, static=static, n_iter=n_iter,
                         tol=tol).gradient(model)


def eqprop_phases(
    model: EnergyModel,
    x: np.ndarray,
    target: np.ndarray,
    free_state: np.ndarray,
    beta: float,
    *,
    mode: str = "positive",
    rng: np.random.Generator | None = None,
    static: Any = None,
    n_iter: int | None = None,
    tol: float | None = None,
) -> EqPropPhases:
    """Run the nudged phase(s) from ``free_state`` (arguments as :func:`eqprop_gradient`) and
    return them with the scale of the estimate, the gradient not yet formed."""
    b = signed_beta(beta, mode, rng)
    if static is None:
        static = model.prepare(x)
    kw = dict(target=target, static=static, n_iter=n_iter, rng=rng, tol=tol)
    s_plus = model.relax(x, free_state, beta=b, **kw).state
    if mode == "centered":
        s_minus = model.relax(x, free_state, beta=-b, **kw).state
        return EqPropPhases(x, s_plus, s_minus, 1.0 / (2.0 * b), b, (s_plus, s_minus))
    return EqPropPhases(x, s_plus, free_state, 1.0 / b, b, (s_plus,))
