"""CLI on circuits: netlist -> plain ngspice -b -> simulate; gradcheck and training on circuits."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from analog_eqprop.cli import main
from analog_eqprop.solvers.ngspice_shared import ngspice_available

needs_ngspice = [pytest.mark.ngspice, pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")]


def _json(capsys):
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("builder, sizes", [("drn", "64,16,10"), ("kendall", "64,8,10"), ("layered", "64,8,4")])
@pytest.mark.parametrize("form", ["full", "norton"])
def test_netlist_runs_in_plain_ngspice_and_matches_simulate_numpy(builder, sizes, form, tmp_path, capsys):
    if not ngspice_available():
        pytest.skip("ngspice not installed")
    cir = tmp_path / "net.cir"
    assert main(["netlist", "--builder", builder, "--sizes", sizes, "--input-index", "3", "--form", form,
                 "-o", str(cir)]) == 0
    capsys.readouterr()
    # plain ngspice -b, unchanged deck
    res = subprocess.run(["ngspice", "-b", str(cir)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 0 and "error" not in res.stderr.lower()
    assert main(["simulate", str(cir), "--backend", "numpy", "--json"]) == 0
    numpy_v = _json(capsys)["voltages"]
    assert main(["simulate", str(cir), "--backend", "ngspice", "--mode", "batch", "--json"]) == 0
    spice_v = _json(capsys)["voltages"]
    assert set(numpy_v) <= set(spice_v)
    worst = max(abs(numpy_v[k] - spice_v[k]) for k in numpy_v)
    assert worst <= 1e-6, worst
    # the printed table of plain ngspice -b agrees too (spot-check the first output node)
    node = next(k for k in numpy_v if k.startswith("y"))
    printed = [line.split() for line in res.stdout.splitlines() if line.strip().lower().startswith(f"v({node})")]
    if printed:
        assert abs(float(printed[0][-1]) - numpy_v[node]) < 1e-5


def test_simulate_errors_are_named(tmp_path, capsys):
    assert main(["simulate", str(tmp_path / "nope.cir")]) == 2
    assert "netlist not found" in capsys.readouterr().err
    bad = tmp_path / "bad.cir"
    bad.write_text("title\nR1 a 0 1k\n.end\n")
    assert main(["simulate", str(bad), "--backend", "numpy"]) == 2
    assert "line 2" in capsys.readouterr().err


def test_gradcheck_on_reciprocal_and_kendall_circuits(capsys):
    assert main(["gradcheck", "--model", "circuit", "--builder", "kendall", "--amplifier-back", "reciprocal",
                 "--sizes", "4,5,3", "--json"]) == 0
    rows = _json(capsys)["results"]
    assert rows[-1]["cosine"] >= 0.999
    assert main(["gradcheck", "--model", "circuit", "--builder", "kendall", "--sizes", "4,5,3", "--json"]) == 0
    rows = _json(capsys)["results"]
    assert rows[-1]["cosine"] < 0.99  # 1/A amplifiers: not reciprocal, EqProp is not the gradient


@pytest.mark.parametrize("backend", ["numpy", "bcd"])
def test_train_circuit_numpy_backends(backend, tmp_path, capsys):
    log = tmp_path / "log.jsonl"
    assert main(["train", "--model", "circuit", "--backend", backend, "--sizes", "64,16,10", "--epochs", "2",
                 "--n-train", "300", "--n-test", "100", "--no-progress", "--out", str(tmp_path / "r"),
                 "--log", str(log)]) == 0
    recs = [json.loads(line) for line in log.read_text().splitlines()]
    assert recs[-1]["train_error"] < recs[0]["train_error"] or recs[-1]["test_error"] < 0.5


@pytest.mark.ngspice
def test_small_circuit_trains_through_ngspice(tmp_path, capsys):
    if not ngspice_available():
        pytest.skip("ngspice not installed")
    out = tmp_path / "r"
    assert main(["train", "--model", "circuit", "--backend", "ngspice", "--sizes", "64,16,10", "--epochs", "2",
                 "--n-train", "300", "--n-test", "60", "--batch-size", "20", "--no-progress", "--out", str(out),
                 "--log", str(tmp_path / "log.jsonl")]) == 0
    recs = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert len(recs) == 2 and recs[1]["train_error"] < recs[0]["train_error"]
    info = json.loads((out / "run.json").read_text())
    assert info["ngspice"] and "39" in info["ngspice"]


def test_circuit_settings_do_not_mix_with_hopfield(tmp_path, capsys):
    assert main(["train", "--model", "hopfield", "--backend", "ngspice", "--out", str(tmp_path / "r")]) == 2
    assert "do not apply to --model hopfield" in capsys.readouterr().err
    assert main(["train", "--model", "circuit", "--eps", "0.3", "--out", str(tmp_path / "r")]) == 2
    assert "do not apply to --model circuit" in capsys.readouterr().err
