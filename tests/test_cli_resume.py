"""Runs that resume as users expect: ``--resume`` continues from the run's own settings, refuses
a flag that would change what it computes, and ``--config OUT/run.json`` repeats a run; the same
for ``compare``. Also the small CLI promises of issue 12 (logs, ``netlist --dataset``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analog_eqprop.cli import main
from analog_eqprop.solvers.ngspice_shared import ngspice_available
from analog_eqprop.training import load_checkpoint

SMALL = ["--sizes", "64,8,10", "--n-train", "120", "--n-test", "40", "--shuffle", "--seed", "3", "--beta", "0.8",
         "--no-progress"]


def _params(path):
    arrays, meta = load_checkpoint(path)
    return {k: v for k, v in arrays.items() if k.startswith("params/")}, meta


def _same_run(a, b):
    (pa, ma), (pb, mb) = _params(a / "checkpoint.npz"), _params(b / "checkpoint.npz")
    assert pa.keys() == pb.keys()
    for k in pa:
        np.testing.assert_array_equal(pa[k], pb[k], err_msg=k)
    strip = lambda h: [{k: v for k, v in r.items() if not k.startswith("seconds")} for r in h]  # noqa: E731
    assert strip(ma["history"]) == strip(mb["history"])


def _epochs(log):
    return [json.loads(line)["epoch"] for line in log.read_text().splitlines()]


def test_resume_needs_no_retyping_and_matches_an_uninterrupted_run(tmp_path, capsys):
    out, ref = tmp_path / "run", tmp_path / "ref"
    assert main(["train", *SMALL, "--epochs", "1", "--out", str(out)]) == 0
    assert main(["train", "--out", str(out), "--resume", "--epochs", "3"]) == 0  # nothing else retyped
    assert main(["train", *SMALL, "--epochs", "3", "--out", str(ref)]) == 0
    _same_run(out, ref)
    assert _epochs(out / "log.jsonl") == [1, 2, 3]  # the run's own log, continued
    info = json.loads((out / "run.json").read_text())["config"]
    assert info["train"]["epochs"] == 3 and info["train"]["beta"] == 0.8 and info["run"]["sizes"] == "64,8,10"
    # the same flags again are no change; safe ones (epochs, log place) may change
    assert main(["train", *SMALL, "--out", str(out), "--resume", "--epochs", "4",
                 "--log", str(tmp_path / "elsewhere.jsonl")]) == 0
    assert _epochs(tmp_path / "elsewhere.jsonl") == [1, 2, 3, 4]
    assert "resumed" in capsys.readouterr().err


@pytest.mark.parametrize("flag, value, named", [
    ("--beta", "0.5", "--beta 0.5 (the run's: 0.8)"),
    ("--sizes", "64,9,10", "--sizes 64,9,10 (the run's: 64,8,10)"),
    ("--n-train", "100", "--n-train 100 (the run's: 120)"),
    ("--optimizer", "adam", "--optimizer adam (the run's: sgd)"),
    ("--eps", "0.3", "--eps 0.3 (the run's: 0.5)"),
])
def test_resume_refuses_a_conflicting_flag_by_name(flag, value, named, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *SMALL, "--epochs", "1", "--out", str(out)]) == 0
    before = (out / "checkpoint.npz").read_bytes()
    capsys.readouterr()
    assert main(["train", "--out", str(out), "--resume", "--epochs", "2", flag, value]) == 2
    err = capsys.readouterr().err
    assert f"refused: {named}" in err and "--config" in err and "Traceback" not in err
    assert (out / "checkpoint.npz").read_bytes() == before  # nothing trained, nothing overwritten


def test_resume_of_a_circuit_refuses_another_model_or_backend(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["train", "--model", "circuit", "--sizes", "64,6,10", "--n-train", "40", "--n-test", "20",
                 "--epochs", "1", "--no-progress", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["train", "--out", str(out), "--resume", "--backend", "numpy"]) == 2
    assert "--backend numpy (the run's: bcd)" in capsys.readouterr().err
    assert main(["train", "--out", str(out), "--resume", "--model", "hopfield"]) == 2
    assert "do not apply to --model hopfield" in capsys.readouterr().err
    assert main(["train", "--out", str(out), "--resume", "--backend", "auto", "--epochs", "2"]) == 0  # auto: bcd


def test_config_run_json_reproduces_a_run(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["train", *SMALL, "--epochs", "2", "--out", str(a)]) == 0
    assert main(["train", "--config", str(a / "run.json"), "--out", str(b)]) == 0
    _same_run(a, b)
    assert _epochs(b / "log.jsonl") == [1, 2]
    # flags still override a run record; unknown keys in it are still refused by name
    c = tmp_path / "c"
    assert main(["train", "--config", str(a / "run.json"), "--epochs", "1", "--out", str(c)]) == 0
    assert _epochs(c / "log.jsonl") == [1]
    bad = json.loads((a / "run.json").read_text())
    bad["config"]["train"]["betta"] = 1
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    assert main(["train", "--config", str(tmp_path / "bad.json"), "--out", str(tmp_path / "d")]) == 2
    assert "unknown setting(s): betta" in capsys.readouterr().err


def test_resume_and_overwrite_errors_are_clear(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "none"), "--resume"]) == 2
    assert "holds no run to continue" in capsys.readouterr().err
    out = tmp_path / "run"
    assert main(["train", *SMALL, "--epochs", "2", "--out", str(out)]) == 0
    assert main(["train", *SMALL, "--epochs", "1", "--out", str(out), "--resume", "--overwrite"]) == 2
    assert "give one of them" in capsys.readouterr().err
    # --overwrite starts afresh: the log restarts too (no stale epochs hiding the new ones)
    assert main(["train", *SMALL, "--epochs", "1", "--out", str(out), "--overwrite"]) == 0
    assert _epochs(out / "log.jsonl") == [1]
    # a fresh run does not append to another run's log
    assert main(["train", *SMALL, "--epochs", "1", "--out", str(tmp_path / "new"), "--log",
                 str(out / "log.jsonl")]) == 2
    assert "already holds epoch records" in capsys.readouterr().err


def test_train_json_is_one_object_on_stdout(tmp_path, capsys):
    assert main(["train", *SMALL, "--epochs", "2", "--out", str(tmp_path / "r"), "--json"]) == 0
    captured = capsys.readouterr()
    res = json.loads(captured.out)  # nothing else on standard output
    assert [r["epoch"] for r in res["history"]] == [1, 2] and res["epochs_done"] == 2
    assert set(res["files"]) >= {"checkpoint", "run", "log", "model"}
    assert "epoch   2" in captured.err  # the progress lines went to standard error


def test_netlist_dataset_without_index_writes_example_zero_and_says_so(tmp_path, capsys):
    from analog_eqprop.data import load_digits

    out = tmp_path / "n.cir"
    assert main(["netlist", "--builder", "drn", "--sizes", "64,8,10", "--dataset", "digits", "-o", str(out),
                 "--json"]) == 0
    captured = capsys.readouterr()
    assert "example 0 of digits" in captured.err
    res = json.loads(captured.out)
    assert res["example"] == 0 and res["dataset"] == "digits"
    zero = tmp_path / "zero.cir"
    assert main(["netlist", "--builder", "drn", "--sizes", "64,8,10", "-o", str(zero), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["example"] is None
    assert out.read_text() != zero.read_text()  # not 0 V inputs
    from analog_eqprop.netlist import parse_netlist

    x = parse_netlist(out.read_text()).to_circuit()[2]
    np.testing.assert_allclose(np.ravel(x), load_digits().x_test[0], atol=1e-9)


# -- compare -----------------------------------------------------------------------------------
CMP = ["compare", "--sizes", "64,6,10", "--n-train", "40", "--n-test", "20", "--n-probe", "5", "--no-sweep",
       "--no-plots", "--workers", "1", "--seed", "2"]


def _report(path):
    rep = json.loads((path / "report.json").read_text())
    strip = lambda h: [{k: v for k, v in r.items() if not k.startswith("seconds")} for r in h]  # noqa: E731
    return {k: strip(v["history"]) for k, v in rep["runs"].items()}, rep["checks"]


@pytest.mark.ngspice
@pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")
def test_compare_resumes_refuses_and_reproduces(tmp_path, capsys):
    a, ref, again = tmp_path / "a", tmp_path / "ref", tmp_path / "again"
    assert main([*CMP, "--epochs", "1", "--out", str(a)]) == 0
    assert main([*CMP, "--epochs", "1", "--out", str(a)]) == 2  # finished work is not overwritten silently
    assert "already holds a comparison" in capsys.readouterr().err
    assert main(["compare", "--out", str(a), "--resume", "--epochs", "2"]) == 0
    assert main([*CMP, "--epochs", "2", "--out", str(ref)]) == 0
    assert _report(a) == _report(ref)  # resumed == uninterrupted: every epoch and every check
    capsys.readouterr()
    assert main(["compare", "--out", str(a), "--resume", "--epochs", "3", "--n-probe", "7"]) == 2
    assert "refused: --n-probe 7 (the comparison's: 5)" in capsys.readouterr().err
    assert main(["compare", "--config", str(ref / "run.json"), "--out", str(again)]) == 0
    assert _report(again) == _report(ref)
