"""Contracts of the losses that their mutation run (issue 17 item 6) found untested: float64
arithmetic for any input dtype, row-wise stability (each row shifted by its own maximum),
refused settings, refused loss objects and the saved description's exact names."""

from __future__ import annotations

import numpy as np
import pytest

from analog_eqprop.eqprop.losses import CrossEntropy, SquaredError, from_dict, get_loss, softmax, to_dict
from analog_eqprop.errors import ConfigError


def test_softmax_and_cross_entropy_compute_in_float64_for_float32_outputs():
    y32 = np.array([[0.1234567, -0.7654321, 0.5], [1.0, 2.0, 3.0]], dtype=np.float32)
    y64 = y32.astype(np.float64)  # the same values, exactly
    p = softmax(y32)
    assert p.dtype == np.float64 and np.array_equal(p, softmax(y64))
    t = np.eye(3)[[0, 2]]
    ce = CrossEntropy(temperature=0.03)
    assert np.array_equal(ce.cost(y32, t), ce.cost(y64, t))
    assert np.array_equal(ce.grad(y32, t), ce.grad(y64, t))


def test_each_row_is_shifted_by_its_own_maximum():
    # rows ~1000 apart: a shift by the batch's maximum would underflow the first row to 0 / 0
    z = np.array([[0.0, 1.0], [1000.0, 1001.0]])
    p = softmax(z)
    want = np.exp([0.0, 1.0]) / np.exp([0.0, 1.0]).sum()
    assert np.allclose(p, [want, want], rtol=1e-15, atol=0)
    ce = CrossEntropy(temperature=1.0)
    t = np.array([[0.0, 1.0], [1.0, 0.0]])
    c = ce.cost(z, t)
    assert np.allclose(c, [np.log1p(np.exp(-1.0)), 1.0 + np.log1p(np.exp(-1.0))], rtol=1e-14)


@pytest.mark.parametrize("bad", [0.0, -1.0, np.inf, np.nan])
def test_loss_settings_must_be_finite_and_positive(bad):
    with pytest.raises(ConfigError, match="scale"):
        SquaredError(bad)
    with pytest.raises(ConfigError, match="temperature"):
        CrossEntropy(bad)


def test_a_loss_object_needs_both_methods_and_no_settings():
    class CostOnly:
        def cost(self, y, t):
            return np.zeros(len(y))

    class GradOnly:
        def grad(self, y, t):
            return np.zeros_like(y)

    for obj in (CostOnly(), GradOnly(), object()):
        with pytest.raises(ConfigError, match="cost\\(y, t\\) and grad\\(y, t\\)"):
            get_loss(obj)
    loss = SquaredError(0.25)
    assert get_loss(loss) is loss
    with pytest.raises(ConfigError, match="loss name"):
        get_loss(loss, scale=1.0)


def test_names_are_case_blind_and_unset_settings_take_the_defaults():
    assert get_loss("MSE") == SquaredError(0.5) and get_loss("Cross_Entropy") == CrossEntropy(1.0)
    assert get_loss("ce", temperature=None) == CrossEntropy(1.0)  # the CLI passes unset options as None
    assert get_loss("mse", scale=None) == SquaredError(0.5)
    with pytest.raises(ConfigError, match="loss 'mse'"):
        get_loss("mse", temperature=0.1)


def test_saved_description_uses_the_canonical_names():
    # saved models are read by other versions and tools: the names are get_loss's own, lower case
    assert to_dict(SquaredError(0.5)) == {"name": "mse", "scale": 0.5}
    assert to_dict(CrossEntropy(0.05)) == {"name": "cross_entropy", "temperature": 0.05}
    assert from_dict({"name": "ce", "temperature": 0.2}) == CrossEntropy(0.2)
    with pytest.raises(ConfigError, match="custom loss"):
        to_dict(object())
