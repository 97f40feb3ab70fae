"""Hardware models: presets, device effects, both backends alike, power and energy, the report CLI."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pytest

from analog_eqprop.circuits import drn_circuit, kendall_circuit, layered_circuit
from analog_eqprop.cli import main
from analog_eqprop.data import load_digits
from analog_eqprop.errors import ConfigError, NetlistError
from analog_eqprop.hardware import (
    HARDWARE_PRESETS,
    DeviceArray,
    DeviceConfig,
    HardwareNetwork,
    hardware_to_toml,
    load_hardware,
    load_hardware_text,
    power_breakdown,
    with_lines,
    with_overrides,
)
from analog_eqprop.hardware.energy import energy_report, settling_time, slowest_time_constant
from analog_eqprop.hardware.transforms import line_resistance
from analog_eqprop.models import ResistiveNetwork
from analog_eqprop.netlist import compile_netlist
from analog_eqprop.netlist.compiler import Transient
from analog_eqprop.solvers.backends import NumpyBackend
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.solvers.ngspice_shared import ngspice_available
from analog_eqprop.training import TrainConfig, Trainer
from analog_eqprop.eqprop import eqprop_gradient, finite_difference_gradient, flatten

from eqprop_bounds import K_CIRCUIT, eqprop_error_bound, relative_error

needs_ngspice = [pytest.mark.ngspice, pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")]
PRESETS = sorted(HARDWARE_PRESETS)
CIRCUIT_TRAIN = dict(learning_rates=(1e-7,), optimizer="adam", beta=1e-6, beta_mode="positive")


def _x(n=4, k=4, seed=0):
    return np.random.default_rng(seed).random((n, k))


def _targets(n, m):
    return np.eye(m)[np.arange(n) % m]


# ----------------------------------------------------------------------------- presets
def test_the_four_presets_exist_and_load():
    assert {"ideal", "rram", "pcm", "ecram"} <= set(PRESETS)
    for name in PRESETS:
        cfg = load_hardware(name)
        assert cfg.name == name and cfg.description


@pytest.mark.parametrize("name", PRESETS)
def test_preset_round_trips_through_toml(name, tmp_path):
    cfg = load_hardware(name)
    path = tmp_path / f"{name}_copy.toml"
    path.write_text(hardware_to_toml(cfg))
    assert load_hardware(str(path)) == cfg
    assert load_hardware_text(hardware_to_toml(cfg)) == cfg


@pytest.mark.parametrize("name", PRESETS + ["amplifiers"])
def test_every_number_in_a_preset_file_has_a_source_note(name):
    """Each numeric `key = value` line carries its own comment (source, or "our choice")."""
    from analog_eqprop.hardware.config import HARDWARE_MODELS_DIR

    lines = (HARDWARE_MODELS_DIR / f"{name}.toml").read_text().splitlines()
    for k, line in enumerate(lines):
        if re.match(r"^\s*[A-Za-z_]+\s*=\s*[-+0-9.]", line):
            assert "#" in line, f"{name}.toml line {k + 1} has no source note: {line!r}"


def test_overrides_field_by_field_and_errors():
    cfg = load_hardware("rram", ["read_noise=0.02", "wire.r_cell=3", "n-levels=8"])
    assert (cfg.device.read_noise, cfg.wire.r_cell, cfg.device.n_levels) == (0.02, 3.0, 8)
    assert cfg.device.g_max == load_hardware("rram").device.g_max
    amp = with_overrides(cfg, {"amplifier": "lm358", "supply_voltage": "3.3"}).amplifier
    assert (amp.model, amp.offset, amp.supply_voltage) == ("lm358", 0.003, 3.3)
    with pytest.raises(ConfigError, match="unknown hardware setting 'red_noise'"):
        load_hardware("rram", ["red_noise=0.1"])
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        load_hardware("rram", ["read_noise"])
    with pytest.raises(ConfigError, match="unknown hardware 'nope'"):
        load_hardware("nope")
    with pytest.raises(ConfigError, match="g_min < g_max"):
        load_hardware("rram", ["g_min=1e-4"])
    with pytest.raises(ConfigError, match="unknown amplifier model"):
        load_hardware("rram", ["amplifier=opa999"])


def test_config_checks_name_the_field():
    for kw, msg in [({"n_levels": 1}, "n_levels"), ({"stuck_min": 0.7, "stuck_max": 0.7}, "stuck"),
                    ({"asymmetry": 1.0}, "asymmetry"), ({"init_low": 0.2}, "init_high"),
                    ({"read_noise": -0.1}, "read_noise")]:
        with pytest.raises(ConfigError, match=msg):
            DeviceConfig(**kw)


# ----------------------------------------------------------------------------- device effects
def _train(net, steps=3, n=20, seed=0):
    data = load_digits().subset(n_train=n * steps, n_test=n)
    tr = Trainer(net, TrainConfig(epochs=1, batch_size=n, seed=seed, **CIRCUIT_TRAIN), progress=False)
    tr.fit(data)
    return tr


def test_stuck_devices_never_change_and_levels_are_respected():
    c = drn_circuit([64, 6, 10], seed=0)
    net = HardwareNetwork(c, "rram", seed=3, overrides=["stuck_min=0.1", "stuck_max=0.1", "read_noise=0",
                                                        "r_cell=0"])
    stuck = net.devices.stuck != 0
    assert 0.15 < stuck.mean() < 0.25
    before = net.g
    _train(net, steps=3)
    after = net.g
    assert np.array_equal(after[stuck], before[stuck])
    assert np.allclose(after[net.devices.stuck == -1], net.devices.g_min)
    assert np.allclose(after[net.devices.stuck == 1], net.devices.g_max)
    assert np.any(after[~stuck] != before[~stuck]), "the healthy devices did learn"
    assert net.devices.on_grid(after).all() and net.devices.on_grid(before).all()
    eff = net.effective_conductances()[: net.n_devices]
    assert np.array_equal(eff[stuck], after[stuck])


def test_soft_bounds_make_steps_shrink_near_the_bounds():
    dev = DeviceArray(DeviceConfig(g_min=1e-6, g_max=1e-5, soft_bounds_up=1.0, soft_bounds_down=1.0), 3, seed=0)
    g = np.array([1.5e-6, 5.5e-6, 9.5e-6])
    rng = np.random.default_rng(0)
    up = dev.program(g, np.full(3, 1e-7), rng) - g
    down = g - dev.program(g, np.full(3, -1e-7), rng)
    assert up[2] < up[1] < up[0] and down[0] < down[1] < down[2]
    # the classic soft bound: up steps proportional to (g_max - g), down steps to (g - g_min)
    assert np.allclose(up / (1e-5 - g), up[1] / (1e-5 - g[1]))
    assert np.allclose(down / (g - 1e-6), down[1] / (g[1] - 1e-6))


def test_asymmetry_shows_in_up_versus_down_steps():
    dev = DeviceArray(DeviceConfig(g_min=1e-6, g_max=1e-5, asymmetry=0.3), 1, seed=0)
    g = np.array([5.5e-6])
    rng = np.random.default_rng(0)
    up = float(dev.program(g, np.array([1e-7]), rng)[0] - g[0])
    down = float(g[0] - dev.program(g, np.array([-1e-7]), rng)[0])
    assert up == pytest.approx(1.3e-7) and down == pytest.approx(0.7e-7)


def test_write_noise_grows_as_the_square_root_of_the_pulses():
    cfg = DeviceConfig(g_min=1e-6, g_max=1e-5, n_levels=2001, write_noise=0.002, rounding="nearest")
    dev = DeviceArray(cfg, 20000, seed=0)
    g = np.full(20000, 5.5e-6)
    for pulses in (1, 9):
        new = dev.program(g, np.full(20000, pulses * dev.step), np.random.default_rng(pulses))
        err = new - g - pulses * dev.step
        assert np.std(err) == pytest.approx(0.002 * dev.span * np.sqrt(pulses), rel=0.05)
    assert dev.on_grid(new).all()


def test_device_variation_is_reproducible_and_identical_across_backends():
    c = layered_circuit([4, 3, 2], seed=0)
    a = HardwareNetwork(c, "rram", seed=7)
    b = HardwareNetwork(c, "rram", "ngspice", seed=7)
    other = HardwareNetwork(c, "rram", seed=8)
    assert np.array_equal(a.devices.scale, b.devices.scale) and np.array_equal(a.devices.stuck, b.devices.stuck)
    assert not np.array_equal(a.devices.scale, other.devices.scale)
    assert np.array_equal(a.effective_conductances(), b.effective_conductances())
    assert np.std(a.devices.scale) > 0.1 and np.array_equal(a.g, b.g)
    # the same seed gives the same devices whatever else the preset switches on
    quiet = HardwareNetwork(c, "rram", seed=7, overrides=["read_noise=0", "write_noise=0", "stuck_min=0"])
    assert np.array_equal(quiet.devices.scale, a.devices.scale)


def test_read_noise_changes_reads_not_the_stored_state():
    c = layered_circuit([4, 3, 2], seed=0)
    net = HardwareNetwork(c, "pcm", seed=0)
    x = _x(2)
    stored = net.g
    s1 = net.relax(x, net.init_state(2)).state
    g1 = net.last_g.copy()
    s2 = net.relax(x, net.init_state(2)).state
    assert not np.array_equal(g1, net.last_g) and not np.allclose(s1, s2, atol=1e-9)
    assert np.array_equal(net.g, stored)
    rel = net.last_g[: net.n_devices] / net.effective_conductances()[: net.n_devices] - 1
    assert np.std(rel) == pytest.approx(net.hardware.device.read_noise, rel=0.3)
    # read_refresh="free_phase": a nudged phase reuses its free phase's sample
    slow = HardwareNetwork(c, "pcm", seed=0, overrides=["read_refresh=free_phase"])
    s0 = slow.relax(x, slow.init_state(2)).state
    g0 = slow.last_g.copy()
    slow.relax(x, s0, beta=1e-6, target=_targets(2, c.n_outputs))
    assert np.array_equal(g0, slow.last_g)


def test_wire_resistance_lowers_output_voltages():
    c = layered_circuit([4, 3, 2], seed=0, clamp=None)
    x = _x(5)
    mags = []
    for r in (0.0, 1e3, 1e4):
        net = HardwareNetwork(c, "ideal", overrides=[f"r_cell={r}"])
        mags.append(np.abs(net.output(net.relax(x, net.init_state(5)).state)))
    assert np.all(mags[1] < mags[0]) and np.all(mags[2] < mags[1])
    w = with_lines(c, 10.0)
    assert w.layer_names[-1] == "wires" and np.array_equal(w.edge_g[: c.n_edges], c.edge_g)
    lines = w.edge_b[c.n_edges:]  # each wire joins a terminal to its line node
    devices_on = [np.sum((w.edge_a[: c.n_edges] == j) | (w.edge_b[: c.n_edges] == j)) for j in lines]
    assert np.allclose(1.0 / w.edge_g[c.n_edges:], line_resistance(np.array(devices_on), 10.0))
    assert line_resistance(1, 2.0) == 2.0 and line_resistance(100, 1.0) == pytest.approx(101 * 201 / 600)


@pytest.mark.parametrize("r_cell", [0.0, 1e4])
def test_device_gradient_through_the_wires_is_the_loss_gradient(r_cell):
    """EqProp's 1/2 dV^2 across each device (between its line nodes when the wires have
    resistance) is dJ/dg of that device: checked in size against central differences of J over
    the stored conductances (measured relative errors 7e-11..1.4e-10 centered, 1.1e-4..1.2e-4
    one-sided at beta = 1e-3 mean g)."""
    c = layered_circuit([3, 4, 2], seed=0, diode="DSHOCKLEY", clamp=(0.0, None))
    net = HardwareNetwork(c, "ideal", overrides=[f"r_cell={r_cell}"])
    assert (net.physical.n_free > c.n_free) == (r_cell > 0)  # the lines are there
    rng = np.random.default_rng(1)
    x, t = rng.random((3, 3)), np.eye(2)[[0, 1, 1]]
    s0 = net.relax(x, net.init_state(3), tol=1e-13, n_iter=1000).state
    fd = flatten(finite_difference_gradient(net, x, t, s0))
    scale = float(np.mean(net.g))
    for mode in ("centered", "positive"):
        eq = flatten(eqprop_gradient(net, x, t, s0, 1e-3 * scale, mode=mode, tol=1e-13, n_iter=1000).grads)
        assert relative_error(eq, fd) <= eqprop_error_bound(1e-3, mode, K_CIRCUIT[mode], floor=1e-8), mode


def test_ideal_preset_trains_exactly_like_the_plain_network():
    c = drn_circuit([64, 6, 10], seed=0)
    plain, hw = ResistiveNetwork(c), HardwareNetwork(c, "ideal")
    _train(plain, steps=2)
    _train(hw, steps=2)
    assert np.array_equal(plain.g, hw.g)


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_trains_a_few_steps(name):
    c = drn_circuit([64, 6, 10], seed=0)
    net = HardwareNetwork(c, name, seed=0)
    before = net.g
    tr = _train(net, steps=2)
    assert tr.history[-1]["epoch"] == 1 and np.isfinite(tr.history[-1]["train_cost"])
    assert np.any(net.g != before)
    assert np.all((net.g >= net.devices.g_min) & (net.g <= net.devices.g_max))


def test_checkpoint_round_trip_keeps_the_programmed_state(tmp_path):
    c = drn_circuit([64, 6, 10], seed=0)
    tr = _train(HardwareNetwork(c, "ecram", seed=2), steps=2)
    tr.save_checkpoint(tmp_path / "ck.npz")
    fresh = Trainer(HardwareNetwork(c, "ecram", seed=2), tr.config, progress=False)
    fresh.load_checkpoint(tmp_path / "ck.npz")
    assert np.array_equal(fresh.model.g, tr.model.g)


def test_noisy_hardware_resumes_exactly(tmp_path):
    """Write noise, stochastic pulse rounding and read noise: the streams are in the checkpoint."""
    c = drn_circuit([64, 6, 10], seed=0)
    data = load_digits().subset(n_train=60, n_test=20)
    cfg = TrainConfig(epochs=2, batch_size=20, seed=4, **CIRCUIT_TRAIN)
    hw = dict(hardware="rram", seed=2, overrides=["read_noise=0.02", "write_noise=0.05"])
    full = Trainer(HardwareNetwork(c, **hw), cfg, progress=False)
    full.fit(data)
    ck = tmp_path / "ck.npz"
    Trainer(HardwareNetwork(c, **hw), cfg, checkpoint_path=ck, progress=False).fit(data, epochs=1)
    resumed = Trainer(HardwareNetwork(c, **hw), cfg, checkpoint_path=ck, progress=False)
    resumed.load_checkpoint(ck)
    resumed.fit(data)
    assert not np.array_equal(full.model.g, HardwareNetwork(c, **hw).g)  # it trained
    np.testing.assert_array_equal(resumed.model.g, full.model.g)
    assert [r["test_error"] for r in resumed.history] == [r["test_error"] for r in full.history]


def test_refusals_are_named():
    c = kendall_circuit(4, 3, 2, seed=0)
    net = HardwareNetwork(c, "ideal", overrides=["amplifier=lm358"])
    assert net.amplifier_supply_power() == pytest.approx(3 * 5.0 * 3.5e-4)
    with pytest.raises(ConfigError, match="bcd backend"):
        HardwareNetwork(drn_circuit([4, 3, 2], seed=0), "rram", "bcd")
    tied = drn_circuit([4, 3, 2], seed=0)
    tied = replace(tied, edge_param=np.r_[np.arange(tied.n_edges - 1), -1])  # the last conductance fixed
    with pytest.raises(ConfigError, match="one device per conductance"):
        HardwareNetwork(tied, "ideal")


def test_amplifier_gain_variation_is_part_of_the_instance():
    c = kendall_circuit(4, 3, 2, seed=0)
    a = HardwareNetwork(c, "ideal", seed=1, overrides=["gain_variation=0.05"])
    b = HardwareNetwork(c, "ideal", seed=1, overrides=["gain_variation=0.05"])
    assert np.array_equal(a.circuit.amp_gain, b.circuit.amp_gain) and not np.allclose(a.circuit.amp_gain, 4.0)
    assert np.allclose(HardwareNetwork(c, "ideal", overrides=["gain=2"]).circuit.amp_back, 0.5)


# ----------------------------------------------------------------------------- both backends
@pytest.mark.parametrize("name", PRESETS)
@pytest.mark.parametrize("nudge", ["current", "resistive"])
def test_numpy_and_ngspice_agree_under_every_preset(name, nudge):
    if not ngspice_available():
        pytest.skip("ngspice not installed")
    c = replace(drn_circuit([4, 3, 2], seed=1), nudge=nudge)
    x, t = _x(3), _targets(3, c.n_outputs)
    nets = [HardwareNetwork(c, name, backend, seed=5, overrides=["read_noise=0"], **kw)
            for backend, kw in (("numpy", {}), ("ngspice", {"per_analysis": 3}))]
    s0 = [n.relax(x, n.init_state(3)).state for n in nets]
    nf = nets[0].physical.n_free
    assert np.max(np.abs(s0[0][:, :nf] - s0[1][:, :nf])) <= 1e-6
    beta = 1e-6
    s1 = [n.relax(x, s0[0], beta=beta, target=t).state for n in nets]
    assert np.max(np.abs(s1[0][:, :nf] - s1[1][:, :nf])) <= 1e-6
    assert np.max(np.abs(s1[0][:, :nf] - s0[0][:, :nf])) > 1e-5, "the nudge must move the nodes"


@pytest.mark.ngspice
@pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")
def test_one_ngspice_training_run_on_a_tiny_circuit():
    c = drn_circuit([64, 3, 10], seed=0)
    net = HardwareNetwork(c, "rram", "ngspice", seed=0, per_analysis=10)
    before = net.g
    tr = _train(net, steps=1, n=10)
    assert np.isfinite(tr.history[-1]["test_cost"]) and np.any(net.g != before)
    assert net.devices.on_grid(net.g).all()


# ----------------------------------------------------------------------------- power
@pytest.mark.parametrize("make", [lambda: drn_circuit([64, 8, 10], seed=0),
                                  lambda: kendall_circuit(64, 5, 10, seed=0),
                                  lambda: kendall_circuit(64, 5, 10, seed=0, amplifier_back="reciprocal"),
                                  lambda: with_lines(drn_circuit([64, 5, 10], seed=0), 300.0)])
@pytest.mark.parametrize("nudge", ["current", "resistive"])
def test_power_delivered_by_sources_equals_power_dissipated(make, nudge):
    c = replace(make(), nudge=nudge)
    x = load_digits().x_test[:5]
    sysm = MNASystem(c)
    free = NumpyBackend().operating_point(sysm, c.edge_g, x)
    tv = c.targets(_targets(5, c.n_outputs))
    nudged = NumpyBackend().operating_point(sysm, c.edge_g, x, beta=1e-5, target_v=tv, ref=free.state)
    for state, kw in ((free.state, {}), (nudged.state, dict(beta=1e-5, target_v=tv, ref=free.state))):
        p = power_breakdown(c, c.edge_g, x, state, **kw)
        assert np.all(np.abs(p.balance) <= 1e-12 * p.dissipated)
        assert np.all(p.devices > 0) and np.all(p.diodes >= -1e-18)
        assert p.others == {}  # every part under its own name
    # the nudge's 1/beta resistors dissipate beta (out - t)^2 (resistive mode), nothing in current mode
    out = c.outputs(nudged.state[:, : c.n_free])
    want = 1e-5 * np.sum((out - tv) ** 2, axis=1) if nudge == "resistive" else np.zeros(5)
    np.testing.assert_array_equal(want > 0, nudge == "resistive")
    np.testing.assert_allclose(p.nudge_resistors, want, rtol=1e-12, atol=0)
    # the conductances' share is exactly g dV^2, as ResistiveNetwork.power computes it
    if "wires" not in c.layer_names:
        assert np.allclose(p.devices, ResistiveNetwork(c).power(x, nudged.state), rtol=1e-12)
    if c.n_amps and np.allclose(c.amp_back, c.amp_gain):
        assert np.allclose(p.amplifiers, 0.0, atol=1e-12 * p.dissipated.max()), "reciprocal amps deliver nothing net"


@pytest.mark.ngspice
@pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")
def test_power_balances_on_ngspice_operating_points_too():
    c = kendall_circuit(64, 5, 10, seed=0)
    net = HardwareNetwork(c, "ideal", "ngspice", overrides=["read_noise=0"], options={"reltol": 1e-6, "vntol": 1e-9})
    x = load_digits().x_test[:3]
    s = net.relax(x, net.init_state(3)).state
    p = net.power(x, s)
    assert np.all(np.abs(p.balance) <= 1e-6 * p.dissipated)


# ----------------------------------------------------------------------------- transients and energy
def test_transient_decks_add_capacitors_and_a_tran_card():
    c = layered_circuit([2, 2, 1], seed=0, clamp=None)
    tr = Transient(t_stop=1e-9, t_step=1e-12, capacitance=[1e-15, 0.0, 2e-15], v0=[0.1, 0.0, 0.0])
    net = compile_netlist(c, x=[0.5, 1.0], transient=tr)
    lines = net.lines
    assert [ln for ln in lines if ln.startswith("cn")] == ["cn0 h1_0 0 1e-15", "cn2 y0 0 2e-15"]
    assert ".ic v(h1_0)=0.1 v(h1_1)=0.0 v(y0)=0.0" in lines and ".tran 1e-12 1e-09 0 1e-12" in lines
    assert ".op" not in lines and net.analysis == "tran"
    assert compile_netlist(c, x=[0.5, 1.0]).text == compile_netlist(c, x=[0.5, 1.0], transient=None).text
    with pytest.raises(NetlistError, match="analysis='op'"):
        compile_netlist(c, x=[0.5, 1.0], transient=tr, analysis=None)


@pytest.mark.ngspice
@pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")
def test_settling_time_of_one_rc_node_is_tau_ln_100():
    c = layered_circuit([1, 1], seed=0, clamp=None)  # one free node, resistors to sources
    x = np.array([0.8])
    v = NumpyBackend().operating_point(MNASystem(c), c.edge_g, x[None]).voltages[0]
    cap = np.array([2e-12])
    tau = cap[0] / c.edge_g.sum()
    assert slowest_time_constant(c, c.edge_g, cap) == pytest.approx(tau)
    s = settling_time(c, c.edge_g, x, v, capacitance=cap, rel_tol=0.01, abs_tol=0.0)
    assert s.settled and s.time == pytest.approx(tau * np.log(100), rel=0.01)


@pytest.mark.ngspice
@pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")
def test_energy_report_of_a_small_circuit():
    c = drn_circuit([64, 4, 10], seed=0)
    net = HardwareNetwork(c, "ecram", seed=0)
    d = load_digits()
    rep = energy_report(net, d.x_test[:6], d.y_test[:6], n_settle=2)
    for phase in ("power_free", "power_nudged"):
        assert rep[phase]["dissipated"] > 0 and abs(rep[phase]["balance"]) < 1e-9 * rep[phase]["dissipated"]
    # A linear(ised) RC network settles to 1 % in about tau ln(100), tau its slowest time
    # constant: measured 1.06 (free) and 1.22-1.35 (nudged) tau ln(100), tau 2.3 ps.
    tau = slowest_time_constant(net.physical, net.last_g, net.node_capacitances())
    settle = np.array(rep["settling_free_s"] + rep["settling_nudged_s"])
    assert len(settle) == 4 and 1e-13 < tau < 1e-10
    assert np.all(settle > 0.5 * tau * np.log(100)) and np.all(settle < 3 * tau * np.log(100)), (settle, tau)
    assert rep["energy_training_example_J"] > rep["energy_inference_J"] > 0
    assert rep["neglected"] and json.dumps(rep)


# ----------------------------------------------------------------------------- CLI
def test_report_cli_on_a_generated_circuit(capsys):
    assert main(["report", "--sizes", "64,4,10", "--hardware", "rram", "--hardware-set", "r_cell=0",
                 "--n-examples", "5", "--no-transient", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["hardware"] == "rram" and rep["power_free"]["dissipated"] > 0 and "settling_free_s" not in rep
    assert main(["report", "--sizes", "64,4,10", "--hardware", "nope"]) == 2
    assert "unknown hardware" in capsys.readouterr().err


@pytest.mark.ngspice
@pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")
def test_report_cli_on_a_trained_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--model", "circuit", "--sizes", "64,4,10", "--epochs", "1", "--n-train", "40",
                 "--n-test", "10", "--out", str(out), "--no-progress", "--hardware", "ecram",
                 "--hardware-set", "r_cell=0"]) == 0
    capsys.readouterr()
    assert json.loads((out / "run.json").read_text())["config"]["run"]["hardware"] == "ecram"
    assert main(["report", str(out), "--n-examples", "4", "--n-settle", "1"]) == 0
    text = capsys.readouterr().out
    assert "hardware ecram" in text and "energy per inference" in text and "neglected" in text
    # the trained conductances, on the run's own devices, are what the report simulates
    from analog_eqprop.cli.report_cmd import _from_run
    from analog_eqprop.training.checkpoint import load_checkpoint

    model, _, _ = _from_run(out, None)
    arrays, _ = load_checkpoint(out / "checkpoint.npz")
    assert np.array_equal(model.params["g0"], arrays["params/g0"]) and model.devices.on_grid(model.g).all()
    assert main(["train", "--sizes", "4,3,2", "--dataset", "xor", "--hardware", "rram", "--epochs", "1",
                 "--out", str(tmp_path / "h"), "--no-progress"]) == 2
    assert "apply to circuits" in capsys.readouterr().err


def test_a_hardware_diode_card_replaces_every_diodes_card():
    """``diode = "NAME"`` gives every diode that card (one model, every index 0), keeps the
    terminals, and changes the operating point; without it (or without diodes) nothing changes."""
    from analog_eqprop.elements.diode import load_diode_models
    from analog_eqprop.hardware import HardwareConfig
    from analog_eqprop.hardware.transforms import with_hardware
    from analog_eqprop.solvers.newton import solve_dc

    c = layered_circuit([2, 3, 2], seed=0, diode="D1N4148", clamp=(0.0, 0.3))
    d = c.element("diode")
    d = d.replace(models=(d.models[0], load_diode_models()["DIDEAL"]), model=np.arange(len(d)) % 2)
    c = c.with_element(d)
    hw = with_hardware(c, HardwareConfig(diode="DSHOCKLEY"), np.random.default_rng(0))
    h = hw.element("diode")
    assert h.models == (load_diode_models()["DSHOCKLEY"],)
    assert np.issubdtype(h.model.dtype, np.integer) and h.model.tolist() == [0] * len(d)
    np.testing.assert_array_equal(h.anode, d.anode)
    np.testing.assert_array_equal(h.cathode, d.cathode)
    X = np.array([[0.9, -0.7]])
    dv = np.abs(solve_dc(hw, hw.edge_g, X).voltages - solve_dc(c, c.edge_g, X).voltages).max()
    assert dv > 0.1  # measured 0.29 V: the clamps at 0 V and 0.3 V act through another knee
    assert with_hardware(c, HardwareConfig(), np.random.default_rng(0)).element("diode") is d
    bare = layered_circuit([2, 3, 2], seed=0, clamp=None)
    assert len(with_hardware(bare, HardwareConfig(diode="DSHOCKLEY"), np.random.default_rng(0)).element("diode")) == 0
    pb = power_breakdown(bare, bare.edge_g, X, solve_dc(bare, bare.edge_g, X).voltages)
    assert np.all(pb.diodes == 0.0) and pb.others == {}  # no diodes: no diode power, under no other name
