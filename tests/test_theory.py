"""EqProp theory as tests that could fail (seed paper Theorem 1, Proposition 2, energy descent)."""

from __future__ import annotations

import numpy as np
import pytest

from analog_eqprop.eqprop import cosine, eqprop_gradient, finite_difference_gradient, flatten, gradcheck
from analog_eqprop.eqprop.core import signed_beta
from analog_eqprop.errors import ConfigError
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


# -- the nudge itself: signs, validation, and what eqprop_gradient hands the model ------------------
def test_random_sign_beta_is_a_fair_coin_from_the_callers_rng():
    rng, twin = np.random.default_rng(7), np.random.default_rng(7)
    signs = [signed_beta(0.5, "random_sign", rng) for _ in range(400)]
    assert signs == [0.5 if twin.integers(0, 2) else -0.5 for _ in range(400)]  # the documented draw
    assert 160 < sum(s > 0 for s in signs) < 240  # 200 expected; +-4 sigma
    assert signed_beta(0.5, "positive", None) == signed_beta(0.5, "centered", None) == 0.5


@pytest.mark.parametrize("beta", [0.0, -0.5, float("nan"), float("inf"), "0.5", None])
def test_beta_must_be_a_finite_positive_number(beta):
    with pytest.raises(ConfigError, match="beta must be > 0 and finite"):
        signed_beta(beta, "positive", None)


def test_beta_modes_are_checked():
    with pytest.raises(ConfigError, match="random_sign beta needs an rng"):
        signed_beta(0.5, "random_sign", None)
    with pytest.raises(ConfigError, match="unknown beta mode 'sideways'"):
        signed_beta(0.5, "sideways", None)


def test_eqprop_gradient_records_its_signed_beta_and_estimate():
    """random_sign: the one-sided estimate at the drawn sign, (dE(s_b) - dE(s_0)) / b, with b in the result."""
    net = HopfieldNetwork.from_graph(GRAPHS["layered"](2), F64)
    x, t = _batch(net, 2)
    kw = dict(n_iter=100_000, tol=1e-14)
    s0 = net.relax(x, net.init_state(4), **kw).state
    rng, twin = np.random.default_rng(1), np.random.default_rng(1)
    for _ in range(4):
        res = eqprop_gradient(net, x, t, s0, 0.05, mode="random_sign", rng=rng, **kw)
        b = 0.05 if twin.integers(0, 2) else -0.05
        assert res.beta == b and len(res.nudged) == 1
        want = {k: v / b for k, v in net.energy_grad_diff(x, res.nudged[0], s0).items()}
        assert np.allclose(flatten(res.grads), flatten(want), rtol=1e-12, atol=0)
    cen = eqprop_gradient(net, x, t, s0, 0.05, mode="centered", **kw)
    assert cen.beta == 0.05 and len(cen.nudged) == 2


def test_eqprop_gradient_passes_the_rng_to_noisy_relaxations():
    """Langevin relaxations (sigma > 0) draw from the rng the caller gives: same seed, same estimate."""
    net = HopfieldNetwork.from_graph(GRAPHS["layered"](2), HopfieldConfig(dtype="float64", sigma=0.01))
    x, t = _batch(net, 2)
    s0 = net.relax(x, net.init_state(4), n_iter=200, rng=np.random.default_rng(0)).state
    g = [flatten(eqprop_gradient(net, x, t, s0, 0.1, rng=np.random.default_rng(s), n_iter=50).grads) for s in (3, 3, 4)]
    assert np.array_equal(g[0], g[1]) and not np.array_equal(g[0], g[2])


def test_eqprop_gradient_prepares_the_batch_once_for_all_its_phases():
    """model.prepare(x) is the per-batch cache (e.g. the clamped inputs' drive): computed once, or
    taken from the caller, and handed to every nudged relaxation."""
    net = HopfieldNetwork.from_graph(GRAPHS["layered"](2), F64)
    x, t = _batch(net, 2)
    s0 = net.relax(x, net.init_state(4), n_iter=500).state
    seen = {"prepare": 0, "static": []}

    class Spy:
        def __getattr__(self, name):
            return getattr(net, name)

        def prepare(self, xs):
            seen["prepare"] += 1
            return net.prepare(xs)

        def relax(self, *args, static=None, **kw):
            seen["static"].append(static)
            return net.relax(*args, static=static, **kw)

    eqprop_gradient(Spy(), x, t, s0, 0.05, mode="centered", n_iter=500)
    assert seen["prepare"] == 1 and len(seen["static"]) == 2 and all(s is not None for s in seen["static"])
    mine = net.prepare(x)
    eqprop_gradient(Spy(), x, t, s0, 0.05, static=mine, n_iter=500)
    assert seen["prepare"] == 1 and seen["static"][-1] is mine


# -- the gradient-check tools themselves ------------------------------------------------------------
def test_cosine_and_flatten():
    a = np.array([3.0, 4.0])
    assert cosine(a, 2 * a) == pytest.approx(1.0) and cosine(a, -a) == pytest.approx(-1.0)
    assert cosine(a, np.array([-4.0, 3.0])) == pytest.approx(0.0, abs=1e-15)
    assert cosine(np.zeros(2), np.zeros(2)) == 1.0  # both zero: they agree
    assert cosine(a, np.zeros(2)) == 0.0 and cosine(np.zeros(2), a) == 0.0
    grads = {"b": np.array([[1.0, 2.0]]), "a": np.array([3.0])}
    assert flatten(grads).tolist() == [3.0, 1.0, 2.0]  # sorted names by default
    assert flatten(grads, ["b", "a"]).tolist() == [1.0, 2.0, 3.0]


class _Toy:
    """The members of an EnergyModel that finite differences use, no masks: s = W x (no
    relaxation), C = 1/2 |s - t|^2 + s_0 W_00 (the diagonal matters), so
    dJ/dW = mean((s - t + [s_0, 0]) x^T) + [[mean s_0, 0], [0, 0]]."""

    def __init__(self, W, symmetric=False):
        self.params = {"W": W}
        self.symmetric = symmetric

    def symmetric_params(self):
        return ("W",) if self.symmetric else ()

    def param_masks(self):
        return {}

    def relax(self, x, state=None, *, n_iter=None, tol=None, **kw):
        from types import SimpleNamespace

        return SimpleNamespace(state=x @ self.params["W"].T.astype(np.float64), converged=True)

    def cost(self, s, t):
        return 0.5 * np.sum((s - t) ** 2, axis=1) + s[:, 0] * float(self.params["W"][0, 0])


def test_finite_differences_on_a_plain_model():
    rng = np.random.default_rng(0)
    x, t = rng.random((5, 2)), rng.random((5, 2))
    W = np.array([[0.5, -0.2], [0.3, 0.8]], dtype=np.float32)
    toy = _Toy(W)
    g = finite_difference_gradient(toy, x, t, None)["W"]
    s = x @ W.T.astype(np.float64)
    r = s - t
    r[:, 0] += W[0, 0]
    exact = r.T @ x / 5
    exact[0, 0] += np.mean(s[:, 0])
    # float32 parameters: a float64 gradient, as exact as float32 steps allow (measured 1.2e-3)
    assert g.dtype == np.float64 and relative_error(g, exact) < 1e-2
    # a symmetric parameter is one coupling: (i, j) and (j, i) move together, the diagonal alone
    S = np.array([[0.5, -0.2], [-0.2, 0.8]])  # a symmetric coupling matrix
    sym = finite_difference_gradient(_Toy(S.copy(), symmetric=True), x, t, None)["W"]
    plain = finite_difference_gradient(_Toy(S.copy()), x, t, None)["W"]
    assert sym[0, 1] == sym[1, 0] == pytest.approx(plain[0, 1] + plain[1, 0], rel=1e-8)
    assert np.allclose(np.diag(sym), np.diag(plain), rtol=1e-8) and np.all(np.diag(sym) != 0)


def test_gradcheck_defaults_report_and_refusals():
    net = HopfieldNetwork.from_graph(GRAPHS["layered"](1), F64)
    x, t = _batch(net, 1)
    rep = gradcheck(net, x, t, betas=(1e-3,))
    assert rep.mode == "positive" and rep.fd_cosine is None and rep.fd_rel_error is None  # the defaults
    assert rep.n_params == flatten(net.params).size
    assert rep.as_dict() == {"mode": "positive", "results": [rep.rows[0].as_dict()], "exact_norm": rep.exact_norm,
                             "fd_cosine": None, "fd_rel_error": None, "n_params": rep.n_params}
    assert rep.rows[0].as_dict() == {"beta": 1e-3, "cosine": rep.rows[0].cosine, "rel_error": rep.rows[0].rel_error}
    with pytest.raises(ConfigError, match="float64"):
        gradcheck(HopfieldNetwork.from_graph(GRAPHS["layered"](1)), x, t)  # float32 cannot resolve small beta
    with pytest.raises(ConfigError, match="'positive' or 'centered'"):
        gradcheck(net, x, t, mode="random_sign")
