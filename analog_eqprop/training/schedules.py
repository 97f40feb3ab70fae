"""Learning-rate schedules: a factor on every layer's rate as a function of training time.

A schedule maps ``t``, the number of epochs done (fractional inside an epoch: the trainer
evaluates it before each minibatch at ``t = epoch + batch / n_batches``), to a factor that
multiplies every per-layer learning rate (``optimizer.step(..., lr_scale=factor)``). The
factor depends on ``t`` only, so a run resumed from a checkpoint (epoch and batch restored)
follows the same schedule to the bit.

* ``constant``: 1;
* ``cosine`` (Loshchilov & Hutter 2017, without restarts): from 1 down to ``final_ratio`` over
  ``total_epochs`` along half a cosine, then ``final_ratio``;
* ``exponential``: ``decay ** t`` (``decay`` is the factor per epoch).

Examples
--------
>>> s = make_schedule("cosine", total_epochs=10, final_ratio=0.1)
>>> [round(s(t), 3) for t in (0, 5, 10, 12)]
[1.0, 0.55, 0.1, 0.1]
>>> round(make_schedule("exponential", decay=0.5)(2.5), 4)
0.1768
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from analog_eqprop.config import option
from analog_eqprop.errors import ConfigError

__all__ = ["ConstantSchedule", "CosineSchedule", "ExponentialSchedule", "SCHEDULES", "make_schedule"]


@dataclass(frozen=True)
class ConstantSchedule:
    """The rates as given."""

    def __call__(self, t: float) -> float:
        return 1.0


@dataclass(frozen=True)
class CosineSchedule:
    """Half a cosine from 1 to ``final_ratio`` over ``total_epochs``."""

    total_epochs: float = option(1.0, "epochs over which the factor falls", unit="epoch")
    final_ratio: float = option(0.0, "factor at the end (final rate / initial rate)", unit="1")

    def __post_init__(self) -> None:
        if not self.total_epochs > 0:
            raise ConfigError(f"cosine schedule: total_epochs must be > 0, got {self.total_epochs!r}")
        if not 0 <= self.final_ratio <= 1:
            raise ConfigError(f"cosine schedule: final_ratio must be in [0, 1], got {self.final_ratio!r}")

    def __call__(self, t: float) -> float:
        x = min(max(float(t) / self.total_epochs, 0.0), 1.0)
        return self.final_ratio + (1.0 - self.final_ratio) * 0.5 * (1.0 + math.cos(math.pi * x))


@dataclass(frozen=True)
class ExponentialSchedule:
    """``decay ** t``: the rates shrink by ``decay`` every epoch (smoothly inside it)."""

    decay: float = option(0.9, "factor per epoch", unit="1")

    def __post_init__(self) -> None:
        if not 0 < self.decay <= 1:
            raise ConfigError(f"exponential schedule: decay must be in (0, 1], got {self.decay!r}")

    def __call__(self, t: float) -> float:
        return self.decay ** max(float(t), 0.0)


SCHEDULES = ("constant", "cosine", "exponential")


def make_schedule(name: str, *, total_epochs: float = 1.0, final_ratio: float = 0.0, decay: float = 0.9):
    """A schedule by name (``constant``, ``cosine``, ``exponential``) with its settings."""
    if name == "constant":
        return ConstantSchedule()
    if name == "cosine":
        return CosineSchedule(float(total_epochs), float(final_ratio))
    if name == "exponential":
        return ExponentialSchedule(float(decay))
    raise ConfigError(f"unknown schedule {name!r}; use one of {', '.join(SCHEDULES)}")
