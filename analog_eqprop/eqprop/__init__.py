"""Equilibrium Propagation phases, gradient estimates and gradient checks."""

from analog_eqprop.eqprop.core import BETA_MODES, EqPropGradient, eqprop_gradient, signed_beta

__all__ = ["BETA_MODES", "EqPropGradient", "eqprop_gradient", "signed_beta"]
from analog_eqprop.eqprop.gradcheck import (  # noqa: E402
    GradCheckReport,
    GradCheckRow,
    cosine,
    finite_difference_gradient,
    flatten,
    gradcheck,
)

__all__ += ["GradCheckReport", "GradCheckRow", "gradcheck", "finite_difference_gradient", "flatten", "cosine"]
