"""EqProp theory as tests that could fail (seed paper Theorem 1, Proposition 2, energy descent)."""

from __future__ import annotations

import numpy as np
import pytest

from analog_eqprop.eqprop import cosine, eqprop_gradient, finite_difference_gradient, flatten, gradcheck
from analog_eqprop.graphs import fully_connected_graph, layered_graph, random_graph
from analog_eqprop.models import HopfieldConfig, HopfieldNetwork

from eqprop_bounds import K_HOPFIELD, assert_rows_within_bound, relative_error

F64 = HopfieldConfig(dtype="float64")



def _mid_biases(G, seed):
    """Biases that put most units inside (0, 1): with the seed's zero biases many units of a
    small random net sit clipped at 0, where no gradient flows and every check is vacuous."""
    rng = np.random.default_rng(seed)
    for n, d in G.nodes(data=True):
        if d["role"] != "input":
            d["bias"] = float(rng.uniform(0.2, 0.6))
    for u, v, d in G.edges(data=True):
        d["weight"] *= 0.5
    return G


GRAPHS = {
    "layered": lambda s: _mid_biases(layered_graph([5, 6, 3], seed=s), s),
    "deep-layered": lambda s: _mid_biases(layered_graph([4, 5, 4, 3], seed=s), s),
    "skip-lateral": lambda s: _mid_biases(layered_graph([4, 5, 3], skip=True, lateral=True, seed=s), s),
    "fully-connected": lambda s: _mid_biases(fully_connected_graph(4, 5, 3, seed=s), s),
    "random": lambda s: _mid_biases(random_graph(4, 6, 3, 0.5, seed=s), s),
}


def _batch(net, seed, n=4):
    rng = np.random.default_rng(100 + seed)
    x = rng.random((n, net.n_inputs))
    t = np.eye(net.n_outputs)[rng.integers(0, net.n_outputs, n)]
    return x, t


@pytest.mark.parametrize("kind", sorted(GRAPHS))
@pytest.mark.parametrize("seed", [0, 1])
def test_eqprop_matches_implicit_gradient(kind, seed):
    net = HopfieldNetwork.from_graph(GRAPHS[kind](seed), F64)
    x, t = _batch(net, seed)
    for mode in ("positive", "centered"):
        rep = gradcheck(net, x, t, betas=(1e-3, 1e-4), mode=mode)
        assert rep.exact_norm > 1e-6, "degenerate check: the exact gradient vanishes"
        # measured relative errors 1.0e-4..2.6e-3 one-sided, 1e-8..9e-6 centered (eqprop_bounds)
        assert_rows_within_bound(rep, scale=1.0, k=K_HOPFIELD)


@pytest.mark.parametrize("kind", ["layered", "skip-lateral", "random"])
def test_implicit_gradient_matches_finite_differences(kind):
    net = HopfieldNetwork.from_graph(GRAPHS[kind](3), F64)
    x, t = _batch(net, 3, n=3)
    s0 = net.relax(x, net.init_state(3), n_iter=100_000, tol=1e-14).state
    exact = flatten(net.implicit_gradient(x, t, s0))
    fd = flatten(finite_difference_gradient(net, x, t, s0))
    assert cosine(exact, fd) > 0.999999
    assert relative_error(fd, exact) < 1e-5


def test_error_shrinks_linearly_one_sided_and_quadratically_centered():
    net = HopfieldNetwork.from_graph(GRAPHS["skip-lateral"](0), F64)
    x, t = _batch(net, 0)
    betas = (1e-3, 1e-4)
    pos = gradcheck(net, x, t, betas=betas, mode="positive")
    cen = gradcheck(net, x, t, betas=betas, mode="centered")

    def slope(rep):
        e = [r.rel_error for r in rep.rows]
        return np.log10(e[0] / e[1]) / np.log10(betas[0] / betas[1])

    assert 0.8 < slope(pos) < 1.3, [r.rel_error for r in pos.rows]
    assert 1.7 < slope(cen) < 2.4, [r.rel_error for r in cen.rows]
    assert cen.rows[-1].rel_error < pos.rows[-1].rel_error


@pytest.mark.parametrize("kind", sorted(GRAPHS))
def test_proposition2_nudged_cost_below_free_cost(kind):
    net = HopfieldNetwork.from_graph(GRAPHS[kind](5), F64)
    x, t = _batch(net, 5, n=8)
    s0 = net.relax(x, net.init_state(8), n_iter=100_000, tol=1e-13).state
    for beta in (1e-3, 0.1, 0.5):
        sb = net.relax(x, s0, beta=beta, target=t, n_iter=100_000, tol=1e-13).state
        c0, cb = net.cost(s0, t), net.cost(sb, t)
        assert np.all(cb <= c0 + 1e-12)
        assert np.mean(cb) < np.mean(c0)


@pytest.mark.parametrize("kind", sorted(GRAPHS))
def test_energy_never_increases_for_stable_steps(kind):
    net = HopfieldNetwork.from_graph(GRAPHS[kind](7), F64)
    eps = 0.95 * 2.0 / net.lipschitz()
    net.config = HopfieldConfig(dtype="float64", eps=min(eps, 1.0))
    x, _ = _batch(net, 7, n=6)
    s = net.init_state(6)
    energies = [net.energy(x, s)]
    for _ in range(200):
        s = net.relax(x, s, n_iter=1).state
        energies.append(net.energy(x, s))
    e = np.array(energies)
    assert np.all(np.diff(e, axis=0) <= 1e-12), np.max(np.diff(e, axis=0))
    assert e[-1].sum() < e[0].sum()


def test_energy_can_increase_when_step_is_too_large():
    """The descent guarantee above is not vacuous: beyond 2/L a step near the minimum overshoots."""
    net = HopfieldNetwork.from_graph(GRAPHS["layered"](2), F64)
    x, _ = _batch(net, 2)
    s_star = net.relax(x, net.init_state(4), n_iter=100_000, tol=1e-14).state
    s = np.clip(s_star + 0.01 * np.random.default_rng(0).standard_normal(s_star.shape), 0, 1)
    net.config = HopfieldConfig(dtype="float64", eps=1.5 * 2.0 / net.lipschitz())
    s1 = net.relax(x, s, n_iter=1).state
    assert np.any(net.energy(x, s1) > net.energy(x, s) + 1e-9)


def test_random_sign_estimate_is_unbiased_to_first_order():
    """Averaging +beta and -beta one-sided estimates equals the centered estimate."""
    net = HopfieldNetwork.from_graph(GRAPHS["layered"](2), F64)
    x, t = _batch(net, 2)
    s0 = net.relax(x, net.init_state(4), n_iter=100_000, tol=1e-14).state
    kw = dict(n_iter=100_000, tol=1e-14)
    gp = flatten(eqprop_gradient(net, x, t, s0, 0.05, **kw).grads)
    net_neg = eqprop_gradient(net, x, t, s0, 0.05, mode="centered", **kw)
    sm = net_neg.nudged[1]
    gm = flatten({k: v / -0.05 for k, v in net.energy_grad_diff(x, sm, s0).items()})
    assert np.allclose(0.5 * (gp + gm), flatten(net_neg.grads), atol=1e-10)
