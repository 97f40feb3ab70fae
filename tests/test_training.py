"""The training loop: learning happens, checkpoints resume exactly, bad settings are named."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analog_eqprop.data import load_digits, load_xor
from analog_eqprop.errors import CheckpointError, ConfigError, DataError
from analog_eqprop.models import HopfieldConfig, HopfieldNetwork
from analog_eqprop.training import TrainConfig, Trainer


def _digits_small():
    return load_digits().subset(n_train=400, n_test=200)


def _net(seed=0, **kw):
    return HopfieldNetwork.layered([64, 32, 10], seed=seed, config=HopfieldConfig(**kw))


def test_training_reduces_error_on_digits():
    data = _digits_small()
    tr = Trainer(_net(), TrainConfig(epochs=6, learning_rates=(0.4, 0.2), beta=1.0), progress=False)
    hist = tr.fit(data)
    assert hist[-1]["train_error"] < 0.5 * hist[0]["train_error"]
    assert hist[-1]["test_error"] < 0.35
    assert set(tr.particles) == {"train", "test"}
    assert np.any(tr.particles["train"] > 0)


def test_resume_equals_uninterrupted(tmp_path):
    data = _digits_small()
    cfg = TrainConfig(epochs=3, learning_rates=(0.4, 0.2), beta=1.0, shuffle=True, seed=3)
    full = Trainer(_net(1, sigma=0.01), cfg, progress=False)
    full.fit(data)

    ck = tmp_path / "ck.npz"
    first = Trainer(_net(1, sigma=0.01), cfg, checkpoint_path=ck, progress=False)
    first.fit(data, epochs=1)
    second = Trainer(_net(1, sigma=0.01), cfg, checkpoint_path=ck, progress=False)
    second.load_checkpoint(ck)
    assert second.epoch == 1
    second.fit(data)
    for k in full.model.params:
        np.testing.assert_array_equal(full.model.params[k], second.model.params[k])
    strip = lambda h: [{k: v for k, v in r.items() if not k.startswith("seconds")} for r in h]  # noqa: E731
    assert strip(full.history) == strip(second.history)


def test_checkpoint_refuses_other_settings(tmp_path):
    data = _digits_small()
    ck = tmp_path / "ck.npz"
    Trainer(_net(), TrainConfig(epochs=1), checkpoint_path=ck, progress=False).fit(data)
    other = Trainer(_net(), TrainConfig(epochs=1, beta=0.7), progress=False)
    with pytest.raises(CheckpointError, match="beta"):
        other.load_checkpoint(ck)
    bigger = Trainer(HopfieldNetwork.layered([64, 40, 10], seed=0), TrainConfig(epochs=1), progress=False)
    with pytest.raises(CheckpointError, match="different network"):
        bigger.load_checkpoint(ck)
    # the checkpoint cadence and the epoch count may change on resume (and an older checkpoint's
    # None for "no mid-epoch checkpoints" means the same as 0)
    Trainer(_net(), TrainConfig(epochs=5, checkpoint_every=3), progress=False).load_checkpoint(ck)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        other.load_checkpoint(tmp_path / "bad.npz")


def test_json_log_lines(tmp_path):
    log = tmp_path / "log.jsonl"
    Trainer(_net(), TrainConfig(epochs=2, n_valid=100), log_path=log, progress=False).fit(_digits_small())
    recs = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["epoch"] for r in recs] == [1, 2]
    for r in recs:
        for key in ("train_error", "valid_error", "test_error"):
            assert 0.0 <= r[key] <= 1.0
        assert r["seconds"] > 0


@pytest.mark.parametrize("bad, msg", [
    (dict(beta=0.0), "beta must be > 0"),
    (dict(beta=-1.0), "beta must be > 0"),
    (dict(learning_rates=(0.1, -0.1)), r"learning_rates\[1\]"),
    (dict(learning_rates=()), "empty"),
    (dict(batch_size=0), "batch sizes"),
    (dict(beta_mode="sideways"), "beta_mode"),
    (dict(optimizer="lbfgs"), "optimizer"),
])
def test_bad_train_config(bad, msg):
    with pytest.raises(ConfigError, match=msg):
        TrainConfig(**bad)


def test_learning_rate_count_must_match_layers():
    with pytest.raises(ConfigError, match="3 entries but the network has 2 layers"):
        Trainer(_net(), TrainConfig(learning_rates=(0.1, 0.1, 0.1)), progress=False)


def test_dataset_must_fit_network():
    tr = Trainer(HopfieldNetwork.layered([2, 4, 2], seed=0), TrainConfig(epochs=1), progress=False)
    with pytest.raises(DataError, match="64 features per example but the network has 2 inputs"):
        tr.fit(load_digits())
    with pytest.raises(DataError, match="shape"):
        tr.model.relax(np.zeros((3, 5)), tr.model.init_state(3)) if False else tr.model.check_inputs(np.zeros((3, 5)))


def test_centered_and_positive_modes_train_xor():
    for mode in ("positive", "centered"):
        net = HopfieldNetwork.layered([2, 10, 2], seed=4, config=HopfieldConfig(n_free=40, n_nudged=20))
        tr = Trainer(net, TrainConfig(epochs=150, batch_size=4, learning_rates=(0.5, 0.25), beta=0.5,
                                      beta_mode=mode, persistent=False), progress=False)
        hist = tr.fit(load_xor())
        assert hist[-1]["train_error"] == 0.0, mode


def test_langevin_noise_is_seeded():
    net = _net(sigma=0.05)
    x = load_digits().x_train[:8]
    a = net.relax(x, net.init_state(8), rng=np.random.default_rng(0)).state
    b = net.relax(x, net.init_state(8), rng=np.random.default_rng(0)).state
    c = net.relax(x, net.init_state(8), rng=np.random.default_rng(1)).state
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    with pytest.raises(ConfigError, match="needs an rng"):
        net.relax(x, net.init_state(8))


def test_same_seed_same_weights():
    data = _digits_small()
    runs = []
    for _ in range(2):
        tr = Trainer(_net(7, sigma=0.02), TrainConfig(epochs=2, shuffle=True, seed=9, beta_mode="random_sign"),
                     progress=False)
        tr.fit(data)
        runs.append(tr.model.params)
    for k in runs[0]:
        np.testing.assert_array_equal(runs[0][k], runs[1][k])
    other = Trainer(_net(7, sigma=0.02), TrainConfig(epochs=2, shuffle=True, seed=10), progress=False)
    other.fit(data)
    assert any(not np.array_equal(runs[0][k], other.model.params[k]) for k in runs[0])


def test_mid_epoch_checkpoint_resumes_exactly(tmp_path):
    data = _digits_small()
    cfg = TrainConfig(epochs=2, shuffle=True, seed=4, checkpoint_every=3)
    full = Trainer(_net(2), cfg, progress=False)
    full.fit(data)
    ck = tmp_path / "ck.npz"
    part = Trainer(_net(2), cfg, checkpoint_path=ck, progress=False)

    class Stop(Exception):
        pass

    calls = {"n": 0}
    orig = part.save_checkpoint

    def save_then_maybe_stop(path):
        orig(path)
        calls["n"] += 1
        if calls["n"] == 4:  # the 4th save happens mid-epoch 1
            raise Stop

    part.save_checkpoint = save_then_maybe_stop
    with pytest.raises(Stop):
        part.fit(data)
    resumed = Trainer(_net(2), cfg, checkpoint_path=ck, progress=False)
    resumed.load_checkpoint(ck)
    assert resumed.epoch == 0 and resumed._in_epoch is not None
    before = resumed._in_epoch["seconds"]
    assert before > 0
    resumed.fit(data)
    for k in full.model.params:
        np.testing.assert_array_equal(full.model.params[k], resumed.model.params[k])
    # the resumed epoch's time includes the interrupted run's training seconds before the checkpoint
    first = resumed.history[0]
    assert first["seconds_before_resume"] == before
    assert first["seconds_train"] > before and first["seconds"] >= first["seconds_train"]
    assert "seconds_before_resume" not in resumed.history[1]


def test_checkpoint_with_bad_epoch_seconds_is_refused(tmp_path):
    from analog_eqprop.training.checkpoint import load_checkpoint, save_checkpoint

    data = _digits_small()
    cfg = TrainConfig(epochs=1, checkpoint_every=3)
    ck = tmp_path / "ck.npz"
    tr = Trainer(_net(2), cfg, checkpoint_path=ck, progress=False)
    orig = tr.save_checkpoint

    class Stop(Exception):
        pass

    def save_then_stop(path):
        orig(path)
        raise Stop

    tr.save_checkpoint = save_then_stop
    with pytest.raises(Stop):
        tr.fit(data)
    arrays, meta = load_checkpoint(ck)
    for bad in (float("nan"), -1.0, "12", True):
        meta["in_epoch"]["seconds"] = bad
        save_checkpoint(ck, arrays, meta)
        with pytest.raises(CheckpointError, match="in_epoch seconds"):
            Trainer(_net(2), cfg, progress=False).load_checkpoint(ck)
