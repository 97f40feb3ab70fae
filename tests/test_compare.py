"""The digital-vs-analog comparison: its numbers are consistent, its files valid, its CLI honest.

The acceptance run (issue 4): ``compare`` on digits gives max |dV| <= 1e-6 V between the
NumPy twin and ngspice, and final test accuracies within 0.3 percentage points.
"""

from __future__ import annotations

import dataclasses
import json
import struct

import numpy as np
import pytest

from analog_eqprop.circuits import drn_circuit, kendall_circuit, layered_circuit
from analog_eqprop.cli import main
from analog_eqprop.compare import (
    ComparisonReport,
    beta_sweep,
    check_agreement,
    compare_backends,
    default_train_config,
    load_report,
)
from analog_eqprop.data import load_digits, load_xor
from analog_eqprop.eqprop import flatten
from analog_eqprop.errors import ConfigError, DataError
from analog_eqprop.models import ResistiveNetwork
from analog_eqprop.plotting import FIGURES, save_comparison_figures
from analog_eqprop.solvers.backends import NumpyBackend
from analog_eqprop.solvers.ngspice_shared import ngspice_available

from eqprop_bounds import K_CIRCUIT, eqprop_error_bound

needs_ngspice = pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class OffsetBackend(NumpyBackend):
    """A deliberately wrong backend: the NumPy answer with every node voltage raised by ``offset`` [V]."""

    name = "offset"

    def __init__(self, offset: float = 1e-4):
        super().__init__()
        self.offset = offset

    def operating_point(self, system, g, x, **kw):
        op = super().operating_point(system, g, x, **kw)
        return dataclasses.replace(op, voltages=op.voltages + self.offset)


@pytest.fixture(scope="module")
def small_digits():
    return load_digits().subset(n_train=80, n_test=40)


@pytest.fixture(scope="module")
def identical(small_digits):
    c = drn_circuit([64, 8, 10], seed=0)
    return compare_backends(c, small_digits, epochs=2, backends=("numpy", "numpy"), n_probe=10,
                            sweep_betas=[1e-6, 1e-8])


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_identical_backends_agree_exactly(identical):
    rep = identical
    assert rep.labels == ("numpy_a", "numpy_b")
    assert rep.max_abs_dv == 0.0 and rep.mean_abs_dv == 0.0
    assert rep.update_cosine == pytest.approx(1.0, abs=1e-12)
    assert rep.weight_divergence == [0.0, 0.0, 0.0]
    assert rep.same_batches and rep.test_disagreements == 0
    assert rep.runs["numpy_a"].test_errors == rep.runs["numpy_b"].test_errors
    assert rep.runs["numpy_a"].train_errors == rep.runs["numpy_b"].train_errors
    s = rep.summary()
    assert s["accuracy_gap_pp"] == 0.0 and s["accuracy_numpy_a"] == rep.runs["numpy_a"].final_test_accuracy
    assert [c.epoch for c in rep.checks] == [0, 1, 2]
    assert rep.scatter["numpy_a"] == rep.scatter["numpy_b"]


def test_perturbed_backend_is_caught(small_digits):
    c = drn_circuit([64, 8, 10], seed=0)
    rep = compare_backends(c, small_digits, epochs=2, backends=("numpy", OffsetBackend(1e-4)), n_probe=10,
                           sweep_modes=())
    assert rep.labels == ("numpy", "offset")
    assert rep.checks[0].weight_divergence == 0.0, "both runs start from the same conductances"
    assert all(d > 0 for d in rep.weight_divergence[1:])
    assert rep.max_abs_dv == pytest.approx(1e-4, rel=1e-9)
    assert rep.update_cosine < 1.0 - 1e-9
    assert rep.same_batches


def test_random_beta_signs_are_shared(small_digits):
    """With random-sign beta both runs must draw the same signs, or identical backends would diverge."""
    c = drn_circuit([64, 8, 10], seed=0)
    cfg = default_train_config(beta_mode="random_sign")
    rep = compare_backends(c, small_digits, epochs=1, train_config=cfg, backends=("numpy", "numpy"), n_probe=5,
                           sweep_modes=())
    assert rep.same_batches and rep.weight_divergence == [0.0, 0.0]


def test_check_agreement_refuses_different_conductances():
    c = drn_circuit([3, 4, 2], seed=0)
    a, b = ResistiveNetwork(c), ResistiveNetwork(c, g=np.asarray(c.edge_g) * 1.01)
    with pytest.raises(ConfigError, match="same conductances"):
        check_agreement(a, b, np.full((1, 3), 0.5), np.eye(2)[:1], beta=1e-6)


def test_beta_sweep_orders_of_bias():
    """One-sided error shrinks ~linearly in beta, centered ~quadratically (NumPy twin)."""
    c = drn_circuit([3, 5, 2], seed=1)
    x, t = np.random.default_rng(0).random((4, 3)), np.eye(2)[[0, 1, 1, 0]]
    pos = beta_sweep({"numpy": ResistiveNetwork(c)}, x, t, [1e-6, 1e-7], mode="positive")
    cen = beta_sweep({"numpy": ResistiveNetwork(c)}, x, t, [1e-6, 1e-7], mode="centered")
    r_pos, r_cen = pos.rel_error["numpy"], cen.rel_error["numpy"]
    assert 5 < r_pos[0] / r_pos[1] < 20
    assert r_cen[0] / r_cen[1] > 50
    # and the size: measured 5.0e-3 / 5.0e-4 one-sided, 2.3e-6 / 2.3e-8 centered (eqprop_bounds)
    scale = float(np.mean(c.edge_g))
    for sweep, r in ((pos, r_pos), (cen, r_cen)):
        assert all(e <= eqprop_error_bound(b / scale, sweep.mode, K_CIRCUIT[sweep.mode]) for b, e in zip(sweep.betas, r))
    assert pos.reciprocal and pos.exact_norm > 0


def test_beta_sweep_measures_each_backend_against_the_circuit_it_solves():
    """BCD clamps ideally, the NumPy twin simulates the DIDEAL card (its nodes sit ~4 mV past the
    rail): with hidden nodes on their clamps the two circuits' exact gradients differ by 0.7 %, and
    each backend is measured against its own (against the card's, BCD's centered estimate was
    7.1e-3 off at every beta)."""
    c = drn_circuit([3, 4, 2], seed=0, nudge="resistive")
    rng = np.random.default_rng(0)
    x, t = rng.random((3, 3)), np.eye(2)[rng.integers(0, 2, 3)]
    scale = float(np.mean(c.edge_g))
    betas = [1e-3 * scale, 1e-4 * scale]
    sw = beta_sweep({"numpy": ResistiveNetwork(c), "bcd": ResistiveNetwork(c, "bcd")}, x, t, betas, mode="centered")
    for label in ("numpy", "bcd"):  # measured 4.2e-8 / 4.2e-10 (numpy), 4.1e-8 / 1.4e-8 (bcd: BCD's tol 1e-12 V)
        assert all(e <= eqprop_error_bound(b / scale, "centered", K_CIRCUIT["centered"], floor=1e-7)
                   for b, e in zip(betas, sw.rel_error[label])), (label, sw.rel_error[label])
    ideal = ResistiveNetwork(c, "bcd")
    card = ResistiveNetwork(c)
    g_ideal = flatten(ideal.implicit_gradient(x, t, ideal.relax(x).state))
    g_card = flatten(card.implicit_gradient(x, t, card.relax(x).state))
    assert np.linalg.norm(g_ideal - g_card) / np.linalg.norm(g_card) > 3e-3  # the two laws differ: measured 7.1e-3
    assert sw.exact_norm == pytest.approx(np.linalg.norm(g_card), rel=1e-12)  # the first model's yardstick


def test_non_reciprocal_circuit_is_flagged():
    c = kendall_circuit(4, 3, 2, seed=0)
    x, t = np.full((2, 4), 0.5), np.eye(2)
    sw = beta_sweep({"numpy": ResistiveNetwork(c)}, x, t, [1e-7], mode="centered")
    assert not sw.reciprocal


def test_report_json_round_trip(identical, tmp_path):
    path = identical.to_json(tmp_path / "r" / "report.json")
    back = load_report(path)
    assert back.summary() == json.loads(json.dumps(identical.summary()))
    assert back.checks == identical.checks and back.sweeps == identical.sweeps
    assert back.table() == identical.table()
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(DataError, match="not a comparison report"):
        load_report(tmp_path / "bad.json")


def test_table_names_every_headline(identical):
    text = identical.table()
    for phrase in ("max |dV|", "smallest cosine", "test accuracy", "weight divergence", "same batch order",
                   "positive nudging", "1 - cosine / relative error"):
        assert phrase in text


def test_figures_are_valid_pngs(identical, tmp_path):
    paths = save_comparison_figures(identical, tmp_path)
    assert sorted(p.name for p in paths) == sorted(FIGURES.values())
    for p in paths:
        w, h = _png_size(p)
        assert w > 300 and h > 200


def test_figures_of_a_report_without_sweeps(tmp_path):
    rep = compare_backends(layered_circuit([2, 4, 2], seed=0), load_xor(), epochs=1, batch_size=2,
                           backends=("numpy", OffsetBackend(1e-3)), n_probe=2, sweep_modes=())
    assert isinstance(rep, ComparisonReport) and not rep.sweeps
    for p in save_comparison_figures(rep, tmp_path):
        _png_size(p)


def test_bad_arguments_are_refused(small_digits):
    c = drn_circuit([64, 4, 10], seed=0)
    with pytest.raises(ConfigError, match="two backends"):
        compare_backends(c, small_digits, epochs=1, backends=("numpy",))
    with pytest.raises(ConfigError, match="distinct"):
        compare_backends(c, small_digits, epochs=1, backends=("numpy", "numpy"), labels=("a", "a"))
    with pytest.raises(ConfigError, match="sweep modes"):
        compare_backends(c, small_digits, epochs=1, backends=("numpy", "numpy"), sweep_modes=("sideways",))


def test_cli_refuses_backend_flag_and_bad_options(capsys, tmp_path):
    assert main(["compare", "--backend", "ngspice", "--out", str(tmp_path)]) == 2
    assert "drop --backend" in capsys.readouterr().err
    assert main(["compare", "--ngspice-options", "reltol", "--out", str(tmp_path)]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


@pytest.mark.ngspice
@needs_ngspice
def test_cli_json_keys_and_ranges(tmp_path, capsys):
    out = tmp_path / "cmp"
    rc = main(["compare", "--json", "--n-train", "60", "--n-test", "30", "--epochs", "1", "--sizes", "64,8,10",
               "--n-probe", "10", "--sweep-betas", "1e-6,1e-8", "--out", str(out)])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    for key in ("max_abs_dv", "mean_abs_dv", "update_cosine", "accuracy_numpy", "accuracy_ngspice",
                "accuracy_gap_pp", "weight_divergence_final", "checks", "runs", "sweeps", "setup", "files"):
        assert key in res, key
    assert 0 <= res["max_abs_dv"] <= 1e-6
    assert -1 <= res["update_cosine"] <= 1 + 1e-12
    assert 0 <= res["accuracy_numpy"] <= 1 and 0 <= res["accuracy_ngspice"] <= 1
    assert res["setup"]["n_test"] == 30 and res["same_batches"] is True
    assert sorted(p.name for p in out.iterdir()) == sorted(["report.json", *FIGURES.values(), "run.json",
                                                            "checkpoint_numpy.npz", "checkpoint_ngspice.npz",
                                                            "checks.json"])
    assert load_report(out / "report.json").summary()["max_abs_dv"] == res["max_abs_dv"]


@pytest.mark.ngspice
@needs_ngspice
def test_acceptance_numpy_vs_ngspice_on_digits():
    """Issue 4: max |dV| <= 1e-6 V and test accuracies within 0.3 pp (the whole 360-image test set)."""
    data = load_digits()
    c = drn_circuit([64, 32, 10], seed=0)
    rep = compare_backends(c, data, epochs=2, n_train=400, n_probe=20, sweep_modes=())
    s = rep.summary()
    assert s["max_abs_dv"] <= 1e-6
    assert s["accuracy_gap_pp"] <= 0.3
    assert s["accuracy_numpy"] > 0.5, "the recipe should learn something in two short epochs"
    assert s["update_cosine"] > 1 - 1e-9 and s["weight_divergence_final"] < 1e-4
    assert rep.same_batches
