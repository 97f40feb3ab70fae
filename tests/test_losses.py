"""Losses (squared error, cross-entropy): values, gradients, and EqProp on both models and backends.

Both losses' EqProp gradients are checked against the exact gradient (adjoint solve with dC/du
as right-hand side) and finite differences; ngspice, given the nudge currents of a loss
explicitly, lands on the NumPy twin's nudged state.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from analog_eqprop.circuits import drn_circuit, kendall_circuit
from analog_eqprop.eqprop import eqprop_gradient, flatten, gradcheck
from analog_eqprop.eqprop.losses import CrossEntropy, SquaredError, from_dict, get_loss, to_dict
from analog_eqprop.errors import ConfigError, DataError
from analog_eqprop.models import HopfieldConfig, HopfieldNetwork, ResistiveNetwork
from analog_eqprop.netlist import compile_netlist, compile_sweep
from analog_eqprop.solvers.ngspice_shared import ngspice_available

RNG = np.random.default_rng(0)
X = RNG.random((4, 3))
T = np.eye(2)[[0, 1, 1, 0]]


@pytest.mark.parametrize("loss", [SquaredError(), SquaredError(1.0), CrossEntropy(), CrossEntropy(0.05)])
def test_loss_gradient_matches_finite_differences(loss):
    y = np.random.default_rng(1).normal(scale=0.1, size=(5, 4))
    t = np.eye(4)[[0, 1, 2, 3, 1]] if loss.target_space == "class" else np.random.default_rng(2).random((5, 4))
    g = loss.grad(y, t)
    h = 1e-6
    fd = np.zeros_like(y)
    for i in np.ndindex(y.shape):
        yp, ym = y.copy(), y.copy()
        yp[i] += h
        ym[i] -= h
        fd[i] = (loss.cost(yp, t)[i[0]] - loss.cost(ym, t)[i[0]]) / (2 * h)
    assert np.allclose(g, fd, rtol=1e-6, atol=1e-6)
    assert loss.cost(y, t).shape == (5,)


def test_cross_entropy_is_stable_for_large_logits():
    ce = CrossEntropy(temperature=1e-3)
    y = np.array([[10.0, -10.0]])  # logits of +-1e4
    assert np.isfinite(ce.cost(y, np.array([[0.0, 1.0]]))).all()
    assert np.allclose(ce.grad(y, np.array([[1.0, 0.0]])), 0.0)


def test_get_loss_by_name_and_round_trip():
    assert get_loss(None) == SquaredError(0.5)
    assert get_loss("ce", temperature=0.1) == CrossEntropy(0.1)
    for loss in (SquaredError(1.0), CrossEntropy(0.02)):
        assert from_dict(to_dict(loss)) == loss
    with pytest.raises(ConfigError, match="unknown loss"):
        get_loss("hinge")
    with pytest.raises(ConfigError, match="temperature"):
        CrossEntropy(0.0)


@pytest.mark.parametrize("loss", [None, SquaredError(1.0), CrossEntropy(0.5)])
def test_hopfield_eqprop_matches_exact_gradient(loss):
    net = HopfieldNetwork.layered([3, 4, 2], seed=1, bias=0.4, config=HopfieldConfig(dtype="float64"), loss=loss)
    rep = gradcheck(net, X, T, betas=(1e-3,), mode="centered", finite_differences=True)
    assert rep.rows[0].rel_error < 1e-4
    assert rep.fd_rel_error < 1e-5


def test_hopfield_default_loss_is_the_seed_cost():
    """loss=SquaredError(cost_scale) and no loss give the same states and costs."""
    cfg = HopfieldConfig(dtype="float64", cost_scale=1.0)
    a = HopfieldNetwork.layered([3, 4, 2], seed=1, bias=0.4, config=cfg)
    b = HopfieldNetwork.layered([3, 4, 2], seed=1, bias=0.4, config=cfg, loss=SquaredError(1.0))
    sa = a.relax(X, a.init_state(4), beta=0.5, target=T).state
    sb = b.relax(X, b.init_state(4), beta=0.5, target=T).state
    assert np.allclose(sa, sb, atol=1e-14)
    assert np.allclose(a.cost(sa, T), b.cost(sb, T))


@pytest.mark.parametrize("loss", [None, SquaredError(1.0), CrossEntropy(0.05)])
@pytest.mark.parametrize("kind", ["drn", "kendall"])
def test_circuit_eqprop_matches_exact_gradient(loss, kind):
    # reciprocal amplifiers: an energy model (Kendall's 1/A back gain is not one)
    c = drn_circuit([3, 4, 2], seed=0) if kind == "drn" else \
        kendall_circuit(3, 3, 2, seed=0, amplifier_back="reciprocal")
    net = ResistiveNetwork(c, loss=loss)
    rep = gradcheck(net, X, T, betas=(1e-9,), mode="centered", finite_differences=True)
    assert rep.rows[0].rel_error < 1e-5
    assert rep.fd_rel_error < 1e-6


def test_default_loss_keeps_the_old_paths():
    """The default squared error nudges through the backends' own target path, bit for bit."""
    c = drn_circuit([3, 4, 2], seed=0)
    a, b = ResistiveNetwork(c), ResistiveNetwork(c, loss="mse")
    s0 = a.relax(X, a.init_state(4)).state
    ga = eqprop_gradient(a, X, T, s0, 1e-7, mode="centered").grads
    gb = eqprop_gradient(b, X, T, s0, 1e-7, mode="centered").grads
    assert all(np.array_equal(ga[k], gb[k]) for k in ga)
    assert not b._custom_loss


def test_cross_entropy_on_bcd_matches_numpy():
    """The BCD backend takes a loss through its squared-error nudge (target V - dC/dV). No diodes:
    BCD's ideal clamps and Newton's exponential DIDEAL differ by the diodes' leakage."""
    c = drn_circuit([3, 5, 2], seed=0, clamp=None)
    grads = {}
    for backend in ("numpy", "bcd"):
        net = ResistiveNetwork(c, backend, loss=CrossEntropy(0.05))
        s0 = net.relax(X, net.init_state(4)).state
        grads[backend] = flatten(eqprop_gradient(net, X, T, s0, 1e-8, mode="centered").grads)
    assert np.allclose(grads["bcd"], grads["numpy"], rtol=1e-6, atol=1e-9 * np.abs(grads["numpy"]).max())


def test_resistive_nudging_takes_only_the_squared_error():
    c = replace(drn_circuit([3, 4, 2], seed=0), nudge="resistive")
    ResistiveNetwork(c, loss=SquaredError(0.5))
    with pytest.raises(ConfigError, match="current-mode nudging"):
        ResistiveNetwork(c, loss=CrossEntropy(0.1))
    with pytest.raises(ConfigError, match="current-mode nudging"):
        ResistiveNetwork(c, loss=SquaredError(1.0))


def test_compiler_writes_explicit_nudge_currents():
    c = kendall_circuit(2, 2, 2, seed=0)
    current = np.array([1.5e-7, -2.5e-7])
    net = compile_netlist(c, x=[0.5, 0.5], beta=1e-6, nudge_current=current)
    lines = net.lines
    assert "iy0 0 y0p 1.5e-07" in lines and "iz0 0 y0n -1.5e-07" in lines and "iy1 0 y1p -2.5e-07" in lines
    assert any(line.startswith("* @nudge_current") for line in lines)
    sweep = compile_sweep(c, None, np.full((2, 2), 0.5), beta=1e-6, nudge_current=np.stack([current, 2 * current]))
    assert any(line.startswith("by0 0 y0p I=pwl(") for line in sweep.lines)
    with pytest.raises(ConfigError, match="current-mode"):
        compile_netlist(replace(c, nudge="resistive"), x=[0.5, 0.5], beta=1e-6, nudge_current=current)
    with pytest.raises(DataError, match="nudge_current"):
        compile_netlist(c, x=[0.5, 0.5], beta=1e-6, nudge_current=[np.nan, 0.0])


def test_explicit_currents_equal_the_squared_error_cards():
    """For the squared error, explicit currents -beta (V - t) write the same iy cards."""
    c = drn_circuit([2, 3, 2], seed=0)
    ref = np.linspace(0.0, 0.1, c.n_free)
    t = np.array([1.0, 0.0])
    beta = 1e-6
    plain = compile_netlist(c, x=[0.2, 0.7], beta=beta, target=t, nudge_ref=ref)
    explicit = compile_netlist(c, x=[0.2, 0.7], beta=beta,
                               nudge_current=-beta * (c.outputs(ref[None]) - c.targets(t[None]))[0])
    cards = lambda net: [ln for ln in net.lines if ln.startswith("iy")]  # noqa: E731
    assert cards(plain) == cards(explicit)


@pytest.mark.ngspice
@pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")
@pytest.mark.parametrize("batch", [1, 4])
def test_ngspice_with_cross_entropy_agrees_with_numpy(batch):
    from analog_eqprop.solvers.ngspice_backend import TIGHT_OPTIONS

    c = kendall_circuit(3, 4, 2, seed=0)
    loss = CrossEntropy(0.05)
    a = ResistiveNetwork(c, "numpy", loss=loss)
    b = ResistiveNetwork(c, "ngspice", loss=loss, options=TIGHT_OPTIONS)
    x, t = X[:batch], T[:batch]
    s0 = a.relax(x, a.init_state(batch)).state
    beta = 1e-5
    na = a.relax(x, s0, beta=beta, target=t).state
    nb = b.relax(x, s0, beta=beta, target=t).state
    assert np.max(np.abs(na - s0)) > 1e-4  # the nudge moved the state
    assert np.max(np.abs(na[:, : c.n_free] - nb[:, : c.n_free])) <= 1e-6
