"""The trainer's plug-ins: update rules (exact, sign, quantised, power law) and learning-rate schedules."""

from __future__ import annotations

import numpy as np
import pytest

from eqprop_bounds import K_CIRCUIT, eqprop_error_bound, relative_error

from analog_eqprop.circuits import drn_circuit
from analog_eqprop.data import load_digits, load_xor
from analog_eqprop.errors import ConfigError
from analog_eqprop.models import HopfieldConfig, HopfieldNetwork, ResistiveNetwork
from analog_eqprop.training import TrainConfig, Trainer
from analog_eqprop.training.optim import make_optimizer
from analog_eqprop.training.schedules import CosineSchedule, ExponentialSchedule, make_schedule
from analog_eqprop.training.update_rules import (
    ExactRule,
    PowerRule,
    QuantizedRule,
    SignRule,
    make_update_rule,
    rules_for_params,
)


def _hopfield(seed=0):
    return HopfieldNetwork.layered([2, 6, 2], seed=seed, config=HopfieldConfig(dtype="float64", n_free=20,
                                                                                n_nudged=6))


def _steps(rules, lrs=(0.1, 0.05), epochs=1, seed=0):
    """Parameters before and after one epoch of XOR (batch 4: one step per epoch)."""
    net = _hopfield(seed)
    before = {k: v.copy() for k, v in net.params.items()}
    cfg = TrainConfig(epochs=epochs, batch_size=4, learning_rates=lrs, beta=0.5, beta_mode="positive",
                      update_rules=rules)
    Trainer(net, cfg, progress=False).fit(load_xor())
    return before, net.params


def test_rule_specs():
    assert make_update_rule("exact") == ExactRule()
    assert make_update_rule("Sign") == SignRule()
    assert make_update_rule("quantised:1e-8") == QuantizedRule(1e-8)
    assert make_update_rule("power:0.5") == PowerRule(0.5)
    assert make_update_rule(PowerRule(2.0)).spec() == "power:2.0"
    for bad, msg in (("quantized", "needs a number"), ("power:x", "needs a number"), ("fancy", "unknown"),
                     ("quantized:-1", "quantum"), ("power:0", "exponent")):
        with pytest.raises(ConfigError, match=msg):
            make_update_rule(bad)
    with pytest.raises(ConfigError, match="update_rules"):
        TrainConfig(update_rules=("sign", "bogus"))


def test_sign_rule_moves_every_parameter_by_lr():
    lrs = (0.1, 0.05)
    before, after = _steps(("sign",), lrs)
    net = _hopfield()
    for name in after:
        step = np.abs(after[name] - before[name])
        lr = lrs[net.param_layer(name)]
        moved = step[step > 0]
        assert moved.size and np.allclose(moved, lr, rtol=1e-12), name


def test_quantized_updates_are_multiples_of_the_quantum():
    q = 1e-3
    before, after = _steps(("quantized:1e-3",))
    exact_before, exact_after = _steps(("exact",))
    for name in after:
        k = (after[name] - before[name]) / q
        assert np.allclose(k, np.round(k), atol=1e-6), name
        # the exact step rounded to the quantum is what the device took
        assert np.allclose(after[name] - before[name], np.round((exact_after[name] - exact_before[name]) / q) * q,
                           atol=1e-12)


def test_power_law_with_exponent_one_is_the_exact_rule():
    _, exact = _steps(("exact",), epochs=3)
    _, power1 = _steps(("power:1",), epochs=3)
    assert all(np.array_equal(exact[k], power1[k]) for k in exact)
    before, half = _steps(("power:0.5",))
    _, ex1 = _steps(("exact",))
    lrs = (0.1, 0.05)
    net = _hopfield()
    for name in half:  # |step| = lr sqrt(|d|) with d the exact step / lr
        lr = lrs[net.param_layer(name)]
        d = (ex1[name] - before[name]) / lr
        assert np.allclose(half[name] - before[name], lr * np.sign(d) * np.sqrt(np.abs(d)), atol=1e-12)


def test_rules_are_chosen_per_layer():
    lrs = (0.1, 0.05)
    before, after = _steps(("sign", "exact"), lrs)
    exact_before, exact_after = _steps(("exact",), lrs)
    net = _hopfield()
    for name in after:
        if net.param_layer(name) == 0:
            step = np.abs(after[name] - before[name])
            assert np.allclose(step[step > 0], 0.1)
        else:
            assert np.array_equal(after[name], exact_after[name])
    assert rules_for_params(("exact",), net.params, net.param_layer, 2) is None
    with pytest.raises(ConfigError, match="one rule per layer"):
        rules_for_params(("sign",) * 3, net.params, net.param_layer, 2)


def test_optimizer_applies_rule_to_the_proposed_step():
    p = {"g0": np.zeros(3)}
    opt = make_optimizer("adam", {"g0": 1e-2})
    opt.step(p, {"g0": np.array([1.0, -3.0, 0.0])}, rules={"g0": SignRule()})
    assert np.allclose(p["g0"], [-1e-2, 1e-2, 0.0])
    q = {"g0": np.zeros(2)}
    make_optimizer("sgd", {"g0": 1.0}).step(q, {"g0": np.array([0.26, -0.04])}, lr_scale=0.5,
                                             rules={"g0": QuantizedRule(0.1)})
    assert np.allclose(q["g0"], [-0.1, 0.0])


def test_sign_rule_on_a_circuit_moves_conductances_by_lr():
    net = ResistiveNetwork(drn_circuit([4, 6, 3], seed=0))
    g0 = net.g
    data = load_digits().subset(n_train=20, n_test=5)
    x = data.x_train[:, :4]
    cfg = TrainConfig(epochs=1, batch_size=20, learning_rates=(1e-7,), beta=1e-6, beta_mode="centered",
                      update_rules=("sign",))
    Trainer(net, cfg, progress=False).train_epoch(x, data.y_train % 3)
    step = np.abs(net.g - g0)
    clipped = (net.g == net.circuit.g_min) | (net.g == net.circuit.g_max)
    assert np.allclose(step[(step > 0) & ~clipped], 1e-7, rtol=1e-9)



def test_exact_rule_on_a_circuit_steps_by_lr_times_the_true_gradient():
    """The trainer's exact rule, end to end on a circuit: one SGD step moves every conductance
    by -lr times dJ/dg (the adjoint gradient, independent of EqProp), in size as well as
    direction. A lost factor 1/2 in dE/dg or a centered update divided by beta (errors of 0.5
    or 1) fails it; measured relative error 6.9e-12 (centered, beta_rel 1e-3), 1.0 with either."""
    net = ResistiveNetwork(drn_circuit([4, 6, 3], seed=0))
    data = load_digits().subset(n_train=12, n_test=5)
    x, y = data.x_train[:, :4], data.y_train % 3
    t = np.eye(3)[y]
    exact = net.implicit_gradient(x, t, net.relax(x, net.init_state(len(x))).state)
    before = {k: v.copy() for k, v in net.params.items()}
    names = sorted(before)
    assert names == sorted(exact)
    # one rate for every layer: steps of ~1 % of the mean conductance, far from the clip
    lr = 1e-2 * float(np.mean(net.g)) / max(float(np.abs(exact[k]).max()) for k in names)
    beta = 1e-3 * float(np.mean(net.g))
    cfg = TrainConfig(epochs=1, batch_size=len(x), learning_rates=(lr,), beta=beta, beta_mode="centered",
                      optimizer="sgd", update_rules=("exact",), persistent=False)
    Trainer(net, cfg, progress=False).train_epoch(x, y)
    moved = {k: (net.params[k] - before[k]) / -lr for k in names}
    assert all(np.all((net.params[k] > net.circuit.g_min) & (net.params[k] < net.circuit.g_max)) for k in names)
    err = relative_error(np.concatenate([moved[k].ravel() for k in names]),
                         np.concatenate([exact[k].ravel() for k in names]))
    assert err <= eqprop_error_bound(1e-3, "centered", K_CIRCUIT["centered"], floor=1e-6), err


# -- schedules -------------------------------------------------------------------------------
def test_schedule_values():
    assert make_schedule("constant")(7.3) == 1.0
    cos = CosineSchedule(4, 0.2)
    assert cos(0) == 1.0 and np.isclose(cos(2), 0.6) and np.isclose(cos(4), 0.2) and np.isclose(cos(9), 0.2)
    assert np.isclose(ExponentialSchedule(0.5)(3), 0.125)
    for bad in (dict(schedule="linear"), dict(schedule="exponential", decay=1.5),
                dict(schedule="cosine", final_lr_ratio=2.0), dict(schedule_epochs=-1)):
        with pytest.raises(ConfigError):
            TrainConfig(**bad)


def test_trainer_passes_the_schedule_factor_per_batch(monkeypatch):
    net = _hopfield()
    cfg = TrainConfig(epochs=2, batch_size=1, learning_rates=(0.1, 0.05), beta=0.5, schedule="exponential",
                      decay=0.5)
    tr = Trainer(net, cfg, progress=False)
    seen = []
    step = tr.optimizer.step
    monkeypatch.setattr(tr.optimizer, "step", lambda p, g, lr_scale=1.0, rules=None: (seen.append(lr_scale),
                                                                                       step(p, g, lr_scale, rules)))
    hist = tr.fit(load_xor())
    assert np.allclose(seen, [0.5 ** (e + b / 4) for e in range(2) for b in range(4)])
    assert np.isclose(hist[-1]["lr_scale_end"], 0.25)


def _fit(cfg, data, *, stop_after=None, checkpoint=None):
    net = _hopfield(3)
    tr = Trainer(net, cfg, progress=False, checkpoint_path=checkpoint)
    if stop_after is not None:
        tr.fit(data, epochs=stop_after)
        tr = Trainer(_hopfield(3), cfg, progress=False, checkpoint_path=checkpoint)
        tr.load_checkpoint(checkpoint)
    tr.fit(data)
    return tr


@pytest.mark.parametrize("schedule", ["cosine", "exponential"])
def test_schedule_resumes_exactly(tmp_path, schedule):
    data = load_xor()
    cfg = TrainConfig(epochs=4, batch_size=2, learning_rates=(0.2, 0.1), beta=0.5, optimizer="adam",
                      schedule=schedule, decay=0.7, final_lr_ratio=0.1, update_rules=("power:0.5",))
    whole = _fit(cfg, data)
    resumed = _fit(cfg, data, stop_after=2, checkpoint=tmp_path / "ck.npz")
    assert all(np.array_equal(whole.model.params[k], resumed.model.params[k]) for k in whole.model.params)
    assert [r["lr_scale_end"] for r in whole.history] == [r["lr_scale_end"] for r in resumed.history]


def test_cosine_span_is_part_of_the_resume_check(tmp_path):
    from dataclasses import replace

    from analog_eqprop.errors import CheckpointError

    cfg = TrainConfig(epochs=4, batch_size=2, learning_rates=(0.2, 0.1), beta=0.5, schedule="cosine")
    tr = Trainer(_hopfield(), cfg, progress=False, checkpoint_path=tmp_path / "ck.npz")
    tr.fit(load_xor(), epochs=1)
    other = Trainer(_hopfield(), replace(cfg, epochs=8), progress=False)
    with pytest.raises(CheckpointError, match="schedule_epochs"):
        other.load_checkpoint(tmp_path / "ck.npz")
    fixed = replace(cfg, schedule_epochs=4)
    Trainer(_hopfield(), replace(fixed, epochs=8), progress=False).load_checkpoint(tmp_path / "ck.npz")
