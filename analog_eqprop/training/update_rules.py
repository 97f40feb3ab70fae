"""Update rules as plug-ins: what a device does with the step the optimiser asks for.

The optimiser proposes a step ``delta = lr * d`` for each parameter (``d`` the EqProp gradient
for SGD, the momentum or Adam direction otherwise; the parameter becomes ``theta - delta``).
A rule turns the proposed step into the step actually taken, as device-friendly training
schemes do:

* ``exact``: the step as proposed (the EqProp rule);
* ``sign``: ``lr * sign(delta)`` -- every device moves by one fixed pulse or not at all
  (the "Manhattan" rule of memristor crossbars);
* ``quantized:Q``: the nearest multiple of ``Q`` [S for conductances] -- a device with
  programming steps of ``Q`` (steps under ``Q / 2`` are lost);
* ``power:P``: ``lr * sign(d) * |d|^P`` -- a compressive (``P < 1``) or expansive (``P > 1``)
  response to the requested change; ``P = 1`` is the exact rule.

Rules are chosen per layer (``TrainConfig.update_rules``, or per layer in the model API) and
applied inside :meth:`~analog_eqprop.training.optim.Optimizer.step`, before the model's
``project`` clips conductances to their range.

Examples
--------
>>> import numpy as np
>>> delta = np.array([3e-9, -1e-8, 0.0, 2.6e-8])
>>> make_update_rule("sign")(delta, lr=1e-8)
array([ 1.e-08, -1.e-08,  0.e+00,  1.e-08])
>>> make_update_rule("quantized:1e-8")(delta, lr=1e-8)
array([ 0.e+00, -1.e-08,  0.e+00,  3.e-08])
>>> bool(np.array_equal(make_update_rule("power:1")(delta, lr=1e-8), delta))
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from analog_eqprop.config import option
from analog_eqprop.errors import ConfigError

__all__ = ["ExactRule", "SignRule", "QuantizedRule", "PowerRule", "UPDATE_RULES", "make_update_rule",
           "rules_for_params"]


@dataclass(frozen=True)
class ExactRule:
    """The step as the optimiser proposes it."""

    def __call__(self, delta: np.ndarray, lr: float) -> np.ndarray:
        return delta

    def spec(self) -> str:
        return "exact"


@dataclass(frozen=True)
class SignRule:
    """``lr * sign(delta)``: one fixed pulse of size ``lr`` per update (zero stays zero)."""

    def __call__(self, delta: np.ndarray, lr: float) -> np.ndarray:
        return np.sign(delta) * lr

    def spec(self) -> str:
        return "sign"


@dataclass(frozen=True)
class QuantizedRule:
    """The nearest multiple of ``quantum`` (round half to even)."""

    quantum: float = option(1e-8, "programming step of a device", unit="S (conductances)")

    def __post_init__(self) -> None:
        if not (np.isfinite(self.quantum) and self.quantum > 0):
            raise ConfigError(f"quantized update rule: the quantum must be > 0, got {self.quantum!r}")

    def __call__(self, delta: np.ndarray, lr: float) -> np.ndarray:
        return np.round(delta / self.quantum) * self.quantum

    def spec(self) -> str:
        return f"quantized:{self.quantum!r}"


@dataclass(frozen=True)
class PowerRule:
    """``lr * sign(d) * |d|^power`` with ``d = delta / lr``, written as ``delta * |d|^(power - 1)``
    so that ``power = 1`` returns ``delta`` itself, bit for bit."""

    power: float = option(0.5, "exponent applied to the magnitude of the direction", unit="1")

    def __post_init__(self) -> None:
        if not (np.isfinite(self.power) and self.power > 0):
            raise ConfigError(f"power update rule: the exponent must be > 0, got {self.power!r}")

    def __call__(self, delta: np.ndarray, lr: float) -> np.ndarray:
        if self.power == 1.0:
            return delta
        mag = np.abs(delta / lr)
        factor = np.ones_like(mag)
        np.power(mag, self.power - 1.0, out=factor, where=mag > 0)  # |d| = 0 keeps a zero step
        return delta * factor

    def spec(self) -> str:
        return f"power:{self.power!r}"


UPDATE_RULES = ("exact", "sign", "quantized", "power")


def make_update_rule(spec: str | Any) -> Any:
    """A rule from its spec: ``"exact"``, ``"sign"``, ``"quantized:Q"`` (or ``quantised``),
    ``"power:P"``; a rule object (callable ``(delta, lr) -> step``) is passed through."""
    if not isinstance(spec, str):
        if not callable(spec):
            raise ConfigError(f"an update rule is a spec string or a callable (delta, lr) -> step, got {spec!r}")
        return spec
    name, _, arg = spec.strip().partition(":")
    name = name.lower().replace("quantised", "quantized")
    if name in ("exact", "sign") and not arg:
        return ExactRule() if name == "exact" else SignRule()
    if name in ("quantized", "power"):
        try:
            value = float(arg)
        except ValueError:
            raise ConfigError(f"update rule {spec!r}: {name} needs a number, e.g. '{name}:"
                              f"{'1e-8' if name == 'quantized' else '0.5'}'") from None
        return QuantizedRule(value) if name == "quantized" else PowerRule(value)
    raise ConfigError(f"unknown update rule {spec!r}; use exact, sign, quantized:Q or power:P")


def rules_for_params(specs, params: dict[str, Any], param_layer, n_layers: int) -> dict[str, Any] | None:
    """Per-parameter rules from one spec for all layers or one per layer; ``None`` when every
    rule is exact (the optimiser's own path, untouched)."""
    specs = tuple(specs) if isinstance(specs, (tuple, list)) else (specs,)
    if len(specs) == 1:
        specs = specs * n_layers
    if len(specs) != n_layers:
        raise ConfigError(f"update_rules has {len(specs)} entries but the network has {n_layers} layers "
                          f"(give one rule per layer, or a single rule for all)")
    rules = [make_update_rule(s) for s in specs]
    if all(isinstance(r, ExactRule) for r in rules):
        return None
    return {name: rules[param_layer(name)] for name in params}
