"""Losses of the output layer: squared error and softmax cross-entropy.

A loss is a small object with two vectorised methods over a batch of outputs ``y``
``(batch, n_outputs)`` and targets ``t`` of the same shape:

* ``cost(y, t)`` -- the cost ``C`` per example, ``(batch,)``;
* ``grad(y, t)`` -- ``dC/dy``, ``(batch, n_outputs)``;

and an attribute ``target_space``: ``"output"`` when ``t`` is the wanted output itself (volts
for a circuit: the model maps one-hot labels through its target voltages first), ``"class"``
when ``t`` is a distribution over classes (one-hot labels as they are).

How the models use it (``docs/PHYSICS.md`` sections 1-3):

* the Hopfield model puts it into its total energy, ``F = E + beta C(s)``, so the nudging force
  on the output units is ``-beta dC/dy`` at the current state;
* a circuit with current-mode nudging injects ``I = -beta dC/dV`` into each output node,
  evaluated at the free state (a current source per output); resistive nudging (a conductance
  ``beta`` to a source at the target) *is* ``F = E + beta/2 ||V - t||^2`` and so exists for the
  squared error with ``scale = 1/2`` only;
* the exact gradient for checks (``implicit_gradient``) is the adjoint solve with ``dC/du`` as
  its right-hand side, the same ``grad``.

Examples
--------
>>> import numpy as np
>>> y, t = np.array([[0.2, 0.1]]), np.array([[1.0, 0.0]])
>>> SquaredError().cost(y, t), SquaredError().grad(y, t)
(array([0.325]), array([[-0.8,  0.1]]))
>>> ce = CrossEntropy(temperature=0.1)
>>> bool(np.isclose(ce.cost(y, t)[0], np.log1p(np.exp(-1.0))))
True
>>> get_loss("cross_entropy", temperature=0.05)
CrossEntropy(temperature=0.05)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from analog_eqprop.config import option
from analog_eqprop.errors import ConfigError

__all__ = ["Loss", "SquaredError", "CrossEntropy", "LOSSES", "get_loss", "softmax"]


class Loss(Protocol):
    """What the models need of a loss (see the module docstring)."""

    target_space: str

    def cost(self, y: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Cost per example, ``(batch,)``."""
        ...

    def grad(self, y: np.ndarray, t: np.ndarray) -> np.ndarray:
        """``dC/dy``, ``(batch, n_outputs)``."""
        ...


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum so that ``exp`` cannot overflow."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class SquaredError:
    """``C = scale * ||y - t||^2`` with ``t`` the wanted outputs (``target_space = "output"``).

    ``scale = 1/2`` is the circuits' cost (and the one resistive nudging implements); the
    seed's Hopfield code uses ``scale = 1``.
    """

    scale: float = option(0.5, "C = scale * ||y - t||^2", unit="1")
    target_space: Literal["output"] = "output"

    def __post_init__(self) -> None:
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise ConfigError(f"SquaredError.scale must be > 0, got {self.scale!r}")

    def cost(self, y: np.ndarray, t: np.ndarray) -> np.ndarray:
        d = np.asarray(y) - t
        return self.scale * np.sum(d * d, axis=1)

    def grad(self, y: np.ndarray, t: np.ndarray) -> np.ndarray:
        return (2.0 * self.scale) * (np.asarray(y) - t)

    def __repr__(self) -> str:
        return f"SquaredError(scale={self.scale!r})"


@dataclass(frozen=True)
class CrossEntropy:
    """Softmax cross-entropy of the outputs read as logits ``y / T`` (``target_space = "class"``).

    ``C = -sum_k t_k log softmax(y / T)_k`` and ``dC/dy = (softmax(y / T) - t) / T``. The
    temperature ``T`` is in the outputs' unit (volts for a circuit, whose outputs span ~0.1 V:
    a ``T`` of a few tens of millivolts makes the softmax as sharp as unit logits would be).
    """

    temperature: float = option(1.0, "softmax temperature: logits are y / T", unit="V (circuits) or 1")
    target_space: Literal["class"] = "class"

    def __post_init__(self) -> None:
        if not (np.isfinite(self.temperature) and self.temperature > 0):
            raise ConfigError(f"CrossEntropy.temperature must be > 0, got {self.temperature!r}")

    def cost(self, y: np.ndarray, t: np.ndarray) -> np.ndarray:
        z = np.asarray(y, dtype=np.float64) / self.temperature
        zmax = z.max(axis=1, keepdims=True)
        log_p = z - zmax - np.log(np.exp(z - zmax).sum(axis=1, keepdims=True))
        return -np.sum(t * log_p, axis=1)

    def grad(self, y: np.ndarray, t: np.ndarray) -> np.ndarray:
        # float64 before the division, as cost() does: float32 outputs / T in float32 would round the logits
        return (softmax(np.asarray(y, dtype=np.float64) / self.temperature) - t) / self.temperature

    def __repr__(self) -> str:
        return f"CrossEntropy(temperature={self.temperature!r})"


LOSSES = {"mse": SquaredError, "squared_error": SquaredError, "cross_entropy": CrossEntropy,
          "ce": CrossEntropy}


def get_loss(loss: str | Any | None = None, **kw) -> Any:
    """A loss by name (``"mse"``/``"squared_error"``, ``"cross_entropy"``/``"ce"``) with its
    settings (``scale=``, ``temperature=``), or a loss object passed through; ``None`` gives the
    squared error ``1/2 ||y - t||^2``."""
    if loss is None:
        loss = "mse"
    if not isinstance(loss, str):
        if kw:
            raise ConfigError("loss settings go with a loss name, not with a loss object")
        if not (callable(getattr(loss, "cost", None)) and callable(getattr(loss, "grad", None))):
            raise ConfigError(f"a loss needs cost(y, t) and grad(y, t) methods, got {loss!r}")
        return loss
    try:
        cls = LOSSES[loss.lower()]
    except KeyError:
        raise ConfigError(f"unknown loss {loss!r}; use one of {', '.join(LOSSES)}") from None
    kw = {k: v for k, v in kw.items() if v is not None}
    try:
        return cls(**kw)
    except TypeError as exc:
        raise ConfigError(f"loss {loss!r}: {exc}") from None


def is_half_squared_error(loss: Any) -> bool:
    """True for the circuits' own cost ``1/2 ||y - t||^2`` (the nudging paths that need no loss)."""
    return isinstance(loss, SquaredError) and loss.scale == 0.5


def to_dict(loss: Any) -> dict[str, Any]:
    """A JSON-friendly description of a built-in loss (for saved models)."""
    if isinstance(loss, SquaredError):
        return {"name": "mse", "scale": loss.scale}
    if isinstance(loss, CrossEntropy):
        return {"name": "cross_entropy", "temperature": loss.temperature}
    raise ConfigError(f"cannot save the custom loss {loss!r}; save the model with a built-in loss")


def from_dict(d: dict[str, Any]) -> Any:
    """The loss :func:`to_dict` described."""
    d = dict(d)
    return get_loss(d.pop("name"), **d)
