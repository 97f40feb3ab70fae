"""How far EqProp's estimate may be from the exact gradient: the bounds every gradient check uses.

Theorem 1 of Scellier & Bengio (2017): the one-sided estimate ``(dE/dθ(s_β) - dE/dθ(s_0)) / β``
differs from dJ/dθ by a bias of order β, the centered one ``(dE/dθ(s_+β) - dE/dθ(s_-β)) / 2β``
by one of order β². The bias is set by the nudge against the energy's own curvature at the
outputs, so the natural variable is a dimensionless ``β_rel``:

* Hopfield networks: the energy's self term ``1/2 s²`` has curvature 1, so ``β_rel = β``;
* circuits: a node's curvature is its total conductance, at least the mean conductance, so
  ``β_rel = β / mean(g)``.

The check is then ``|g_EP - g| / |g| <= k β_rel^p + floor`` with ``p = 1`` (one-sided) or 2
(centered). ``k`` is a constant of the model family, set from the measured coefficients with a
margin (each test says what it measured); ``floor`` covers the relaxation tolerance. A gradient of
the wrong size (a lost factor 1/2, a centered update divided by β instead of 2β) has relative
error 1 and fails every bound here, whatever its direction.
"""

from __future__ import annotations

import numpy as np

ORDER = {"positive": 1, "random_sign": 1, "centered": 2}

# Measured bias coefficients |g_EP - g| / (|g| beta_rel^p), largest over the checks in the suite:
# circuits 0.31 (one-sided, kendall-reciprocal resistive nudge) and 0.094 (centered) -> k = 1;
# Hopfield networks 2.6 (one-sided, skip-lateral) and 9.0 (centered, skip-lateral) -> k = 10 / 30.
K_CIRCUIT = {"positive": 1.0, "centered": 1.0}
K_HOPFIELD = {"positive": 10.0, "centered": 30.0}


def relative_error(estimate: np.ndarray, reference: np.ndarray) -> float:
    """``|estimate - reference| / |reference|`` (2-norms of the flattened vectors)."""
    estimate, reference = np.ravel(estimate), np.ravel(reference)
    norm = float(np.linalg.norm(reference))
    assert norm > 0, "degenerate check: the reference gradient is zero"
    return float(np.linalg.norm(estimate - reference)) / norm


def eqprop_error_bound(beta_rel: float, mode: str, k: float, floor: float = 1e-9) -> float:
    """Largest relative error EqProp may have at the dimensionless nudge ``beta_rel``."""
    return k * abs(beta_rel) ** ORDER[mode] + floor


def assert_rows_within_bound(rep, *, scale: float, k: dict[str, float], floor: float = 1e-9,
                             min_cosine: float = 0.999) -> None:
    """Every row of a :func:`~analog_eqprop.eqprop.gradcheck` report: direction and magnitude.

    ``scale`` turns each row's beta into ``beta_rel`` (mean conductance for circuits, 1 for Hopfield).
    """
    assert rep.rows, "no beta was checked"
    for row in rep.rows:
        bound = eqprop_error_bound(row.beta / scale, rep.mode, k[rep.mode], floor)
        assert row.cosine >= min_cosine, (rep.mode, row)
        assert row.rel_error <= bound, f"{rep.mode} beta {row.beta:.3g}: relative error {row.rel_error:.3g} > {bound:.3g}"
