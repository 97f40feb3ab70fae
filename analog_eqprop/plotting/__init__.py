"""Figures (PNG, matplotlib's Agg canvas; no display needed).

* :mod:`~analog_eqprop.plotting.comparison`: the digital-vs-analog comparison figures.
"""

from __future__ import annotations

from analog_eqprop.plotting.comparison import (
    FIGURES,
    plot_fixed_points,
    plot_gradient_vs_beta,
    plot_training_curves,
    plot_weight_divergence,
    save_comparison_figures,
)

__all__ = ["FIGURES", "plot_training_curves", "plot_fixed_points", "plot_gradient_vs_beta", "plot_weight_divergence",
           "save_comparison_figures"]
