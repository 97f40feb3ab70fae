"""Optimisers over parameter dicts, with per-parameter (per-layer) learning rates.

An optimiser turns the EqProp gradient estimate into an in-place parameter update and keeps
its own state (momenta) as arrays so checkpoints can save and restore it exactly. ``step``
takes a factor on all rates (``lr_scale``, from a schedule: :mod:`.schedules`) and optional
per-parameter update rules (``rules``, :mod:`.update_rules`) that turn the proposed step into
the one a device takes.

Examples
--------
>>> import numpy as np
>>> p = {"W0": np.ones(2)}
>>> opt = make_optimizer("sgd", {"W0": 0.1})
>>> opt.step(p, {"W0": np.array([1.0, -1.0])})
>>> p["W0"]
array([0.9, 1.1])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from analog_eqprop.contracts import EnergyModel, FusedSGDStep, has_ability
from analog_eqprop.eqprop.core import EqPropPhases
from analog_eqprop.errors import ConfigError

__all__ = ["Optimizer", "SGD", "Momentum", "Adam", "make_optimizer", "OPTIMIZERS"]


class Optimizer:
    """Base class: ``step(params, grads)`` descends along ``-grads`` with per-name rates."""

    def __init__(self, lrs: dict[str, float]):
        for name, lr in lrs.items():
            if not (np.isfinite(lr) and lr >= 0):
                raise ConfigError(f"learning rate of {name} must be a finite number >= 0, got {lr!r}")
        self.lrs = dict(lrs)
        self.state: dict[str, np.ndarray] = {}
        self.t = 0

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr_scale: float = 1.0,
             rules: dict | None = None) -> None:
        """``params[name] -= lr * direction`` in place, ``lr = lrs[name] * lr_scale``; a rule
        ``rules[name](delta, lr)`` maps the proposed step ``delta = lr * direction`` to the one taken."""
        self.t += 1
        for name, g in grads.items():
            lr = self.lrs[name] * lr_scale
            if not lr:
                continue
            rule = rules.get(name) if rules else None
            if rule is None:
                params[name] -= self._direction(name, g).astype(params[name].dtype, copy=False) * lr
            else:
                params[name] -= np.asarray(rule(self._direction(name, g) * lr, lr)).astype(params[name].dtype,
                                                                                          copy=False)

    def step_phases(self, model: EnergyModel, phases: EqPropPhases, lr_scale: float = 1.0,
                    rules: dict | None = None) -> tuple[bool, Any]:
        """Take the step of an :class:`~analog_eqprop.eqprop.core.EqPropPhases` in one pass over
        the parameters, where the model and this rule allow (``(True, handoff)``; ``handoff`` is
        for the model's next ``prepare``), else nothing (``(False, None)``: the caller forms the
        gradient and calls :meth:`step` and ``model.project()``)."""
        return False, None

    def _direction(self, name: str, g: np.ndarray) -> np.ndarray:
        return g

    def state_dict(self) -> dict[str, np.ndarray]:
        out = {f"state/{k}": v for k, v in self.state.items()}
        out["t"] = np.array(self.t)
        return out

    def load_state_dict(self, d: dict[str, np.ndarray]) -> None:
        self.t = int(d["t"])
        self.state = {k[len("state/"):]: np.array(v) for k, v in d.items() if k.startswith("state/")}


class SGD(Optimizer):
    """Plain gradient descent, the seed's rule: ``theta -= lr * g``.

    With exact update rules and a model that offers ``eqprop_sgd_step``
    (:class:`~analog_eqprop.contracts.FusedSGDStep`: resistive networks),
    :meth:`step_phases` fuses the gradient, the EqProp scale, this update and the model's
    clipping into one traversal of each weight block, the gradient never stored: the same
    numbers as :meth:`step` then ``project`` (to rounding), at the cost of about one pass.
    """

    def step_phases(self, model: EnergyModel, phases: EqPropPhases, lr_scale: float = 1.0,
                    rules: dict | None = None) -> tuple[bool, Any]:
        if rules or not has_ability(model, FusedSGDStep):
            return False, None
        self.t += 1
        lrs = {name: lr * lr_scale for name, lr in self.lrs.items()}
        return True, model.eqprop_sgd_step(phases.x, phases.s1, phases.s2, phases.scale, lrs)


class Momentum(Optimizer):
    """Heavy-ball momentum: ``v = mu * v + g; theta -= lr * v``."""

    def __init__(self, lrs: dict[str, float], momentum: float = 0.9):
        super().__init__(lrs)
        if not 0 <= momentum < 1:
            raise ConfigError(f"momentum must be in [0, 1), got {momentum!r}")
        self.momentum = momentum

    def _direction(self, name: str, g: np.ndarray) -> np.ndarray:
        v = self.state.get(name)
        v = g.copy() if v is None else self.momentum * v + g
        self.state[name] = v
        return v


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction."""

    def __init__(self, lrs: dict[str, float], beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(lrs)
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ConfigError(f"Adam betas must be in [0, 1), got {beta1!r}, {beta2!r}")
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def _direction(self, name: str, g: np.ndarray) -> np.ndarray:
        m = self.state.get("m/" + name, np.zeros_like(g, dtype=np.float64))
        v = self.state.get("v/" + name, np.zeros_like(g, dtype=np.float64))
        m = self.beta1 * m + (1 - self.beta1) * g
        v = self.beta2 * v + (1 - self.beta2) * g * g
        self.state["m/" + name], self.state["v/" + name] = m, v
        mhat = m / (1 - self.beta1**self.t)
        vhat = v / (1 - self.beta2**self.t)
        return mhat / (np.sqrt(vhat) + self.eps)


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adam": Adam}


def make_optimizer(name: str, lrs: dict[str, float], **kw) -> Optimizer:
    """Build an optimiser by name: ``"sgd"``, ``"momentum"`` or ``"adam"``."""
    try:
        cls = OPTIMIZERS[name]
    except KeyError:
        raise ConfigError(f"unknown optimizer {name!r}; use one of {', '.join(OPTIMIZERS)}") from None
    return cls(lrs, **kw)
