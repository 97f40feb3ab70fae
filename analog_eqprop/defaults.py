"""The one table of defaults per kind of model: what a run uses when nobody says otherwise.

Every setting whose default depends on the kind of model (``hopfield``: the seed's continuous
Hopfield network; ``circuit``: a resistive network of conductances and diodes) is given here
once, and read by everything that needs it: :class:`~analog_eqprop.training.TrainConfig`
(:meth:`~analog_eqprop.training.TrainConfig.for_model`), :class:`~analog_eqprop.circuits.CircuitConfig`,
the circuit builders, :func:`~analog_eqprop.models.factory.make_model`, the model API
(``Model.compile``, ``Sequential``), the command line and its ``--help``. Settings not named
here have one default for every kind, the field default of their config dataclass.

This module imports nothing from the package, so every layer may read it.

The values were chosen so that a first run learns from its first epoch
(``benchmarks/BENCHMARKS.md``, "Defaults that learn from epoch 1"): on the built-in digits,
``analog-eqprop train --epochs 3`` reaches 5.8-9.4 % test error with the Hopfield defaults and
4.4-9.2 % with ``--model circuit`` (seeds 0-4; the defaults before: 18.9-25.0 % and 8.9-15.0 %).

Examples
--------
>>> MODEL_DEFAULTS["circuit"]["learning_rates"], MODEL_DEFAULTS["hopfield"]["learning_rates"]
((2e-07,), (0.4, 0.2))
>>> sorted(MODEL_DEFAULTS) == sorted(MODEL_KINDS)
True
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

__all__ = ["MODEL_KINDS", "MODEL_DEFAULTS", "HOPFIELD_DEFAULTS", "CIRCUIT_DEFAULTS", "TRAIN_KEYS"]

MODEL_KINDS = ("hopfield", "circuit")

#: Training settings (TrainConfig fields) whose default depends on the kind of model.
TRAIN_KEYS = ("learning_rates", "beta", "beta_mode", "optimizer", "batch_size")

HOPFIELD_DEFAULTS: Mapping[str, Any] = MappingProxyType({
    # layer sizes [n_features, hidden..., n_classes] of a layered net (the built-in digits)
    "sizes": (64, 64, 10),
    # the seed's Net2 rates and beta (Scellier & Bengio 2017, Table 2): on a small data set
    # they learn from the first epoch, where Net1's (0.1, 0.05, beta 0.5) sat at chance for
    # two epochs of the digits (90 % error, seed 0) -- Net1 is `benchmarks/seed_table2.py --net net1`
    "learning_rates": (0.4, 0.2),
    "beta": 1.0,
    "beta_mode": "random_sign",  # the seed code's +-beta per minibatch
    "optimizer": "sgd",
    "batch_size": 20,
})

CIRCUIT_DEFAULTS: Mapping[str, Any] = MappingProxyType({
    "sizes": (64, 32, 10),
    # conductances are learnt in siemens: Adam takes steps of ~lr S whatever the gradient's
    # scale; 0.2 uS steps on minibatches of 10 learn the digits from epoch 1 (14-34 % test
    # error after it, 4.4-9.2 % after 3) where 0.1 uS steps on minibatches of 20 lagged
    # (34-39 % after epoch 1, 8.9-15.0 % after 3)
    "learning_rates": (2e-7,),
    "beta": 1e-6,  # S: the nudge current is beta * dC/dV
    "beta_mode": "positive",
    "optimizer": "adam",
    "batch_size": 10,
    # auto: exact block coordinate descent where it is exact (layered, reciprocal, ideal
    # diodes: solvers/bcd_checks.py), the Newton solver otherwise
    "backend": "auto",
    "g_min": 1e-7,  # S: smallest programmable conductance; updates clip to it
    "g_max": 1e-3,  # S: largest
    "g_init_low": 1e-6,  # S: initial conductances are drawn from U(low, high)
    "g_init_high": 1e-5,
})

#: The tables by kind of model.
MODEL_DEFAULTS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {"hopfield": HOPFIELD_DEFAULTS, "circuit": CIRCUIT_DEFAULTS})
