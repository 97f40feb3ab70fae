"""Digital vs analog: the same circuit trained on the NumPy twin and in ngspice, side by side.

* :mod:`~analog_eqprop.compare.core`: :func:`compare_backends` (the lockstep training and
  every measurement), :func:`check_agreement`, :func:`beta_sweep`;
* :mod:`~analog_eqprop.compare.report`: :class:`ComparisonReport` (table, summary, JSON).

Figures of a report: :func:`analog_eqprop.plotting.save_comparison_figures`.
"""

from __future__ import annotations

from analog_eqprop.compare.core import (
    SWEEP_FACTORS,
    beta_sweep,
    check_agreement,
    compare_backends,
    default_train_config,
    is_reciprocal,
)
from analog_eqprop.compare.report import AgreementCheck, BackendRun, BetaSweep, ComparisonReport, load_report

__all__ = [
    "compare_backends", "check_agreement", "beta_sweep", "default_train_config", "is_reciprocal", "SWEEP_FACTORS",
    "AgreementCheck", "BackendRun", "BetaSweep", "ComparisonReport", "load_report",
]
