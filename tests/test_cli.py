"""The ``analog-eqprop`` command line: every subcommand, its --help, --json, and its errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from analog_eqprop.cli import build_parser, main

SMALL = ["--dataset", "digits", "--sizes", "64,16,10", "--n-train", "200", "--n-test", "100", "--no-progress"]


def _subcommands():
    return sorted(build_parser()._subparsers._group_actions[0].choices)


@pytest.mark.parametrize("cmd", _subcommands())
def test_every_subcommand_has_help_and_json(cmd, capsys):
    with pytest.raises(SystemExit) as exc:
        main([cmd, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--json" in out


def test_console_script_runs():
    res = subprocess.run([sys.executable, "-m", "analog_eqprop", "--version"], capture_output=True, text=True)
    assert res.returncode == 0 and "analog-eqprop" in res.stdout


def test_train_json_checkpoint_and_resume(tmp_path, capsys):
    out, log = tmp_path / "run", tmp_path / "log.jsonl"
    args = ["train", *SMALL, "--epochs", "2", "--out", str(out), "--log", str(log)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "epoch   2" in text and "test" in text
    recs = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["epoch"] for r in recs] == [1, 2]
    for r in recs:
        assert {"epoch", "train_error", "test_error", "seconds"} <= set(r)
        assert 0 <= r["train_error"] <= 1 and 0 <= r["test_error"] <= 1
    assert (out / "checkpoint.npz").exists() and (out / "model.json").exists()
    run_info = json.loads((out / "run.json").read_text())
    assert run_info["versions"]["numpy"] and run_info["config"]["train"]["epochs"] == 2

    # a second run into the same directory must not silently discard the finished work
    assert main(args) == 2
    assert "already holds a checkpoint" in capsys.readouterr().err

    assert main(["train", *SMALL, "--epochs", "3", "--out", str(out), "--log", str(log), "--resume"]) == 0
    recs = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["epoch"] for r in recs] == [1, 2, 3]


def test_train_config_file_and_flag_override(tmp_path, capsys):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text('sizes = "64,8,10"\nepochs = 5\nbeta = 0.9\nbeta_mode = "centered"\nlearning_rates = [0.2, 0.1]\n')
    out = tmp_path / "r"
    assert main(["train", "--config", str(cfg), "--epochs", "1", "--dataset", "digits", "--n-train", "100",
                 "--n-test", "50", "--no-progress", "--out", str(out)]) == 0
    info = json.loads((out / "run.json").read_text())["config"]
    assert info["train"]["epochs"] == 1 and info["train"]["beta"] == 0.9
    assert info["train"]["beta_mode"] == "centered" and info["train"]["learning_rates"] == [0.2, 0.1]
    assert info["run"]["sizes"] == "64,8,10"


@pytest.mark.parametrize("extra, msg", [
    (["--beta", "0"], "beta must be > 0"),
    (["--learning-rates", "0.1,-1"], "learning_rates[1]"),
    (["--sizes", "784"], "at least two layers"),
    (["--sizes", "64,a,10"], "comma-separated integers"),
    (["--epochs", "two"], "expected an integer"),
    (["--dataset", "cifar"], "cifar"),
    (["--graph", "/nonexistent/g.json", "--sizes", ""], "/nonexistent/g.json"),
    (["--sizes", "10,5,10"], "64 features per example but the network has 10 inputs"),
])
def test_train_bad_input_is_named(extra, msg, tmp_path, capsys):
    args = ["train", "--dataset", "digits", "--no-progress", "--out", str(tmp_path / "r"), *extra]
    assert main(args) == 2
    assert msg in capsys.readouterr().err


def test_train_unknown_config_key(tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("betta = 1.0\n")
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "r")]) == 2
    assert "unknown setting(s): betta" in capsys.readouterr().err


def test_gradcheck_json(capsys):
    assert main(["gradcheck", "--sizes", "4,5,3", "--mode", "centered", "--betas", "0.01,0.001", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert [r["beta"] for r in rep["results"]] == [0.01, 0.001]
    assert all({"beta", "cosine", "rel_error"} <= set(r) for r in rep["results"])
    assert rep["results"][-1]["cosine"] >= 0.999


def test_gradcheck_table_on_saved_graph(tmp_path, capsys):
    from analog_eqprop.graphs import random_graph, write_graph

    path = tmp_path / "g.graphml"
    G = random_graph(3, 5, 2, 0.6, seed=2)
    for n, d in G.nodes(data=True):
        if d["role"] != "input":
            d["bias"] = 0.4
    write_graph(G, path)
    assert main(["gradcheck", "--graph", str(path), "--finite-differences"]) == 0
    text = capsys.readouterr().out
    assert "cosine" in text and "finite differences" in text


def test_gradcheck_bad_betas(capsys):
    assert main(["gradcheck", "--betas", "0.1,0"]) == 2
    assert "must all be > 0" in capsys.readouterr().err


def test_a_closed_pipe_ends_the_command_quietly():
    """`analog-eqprop ... --json | head`: the reader leaves early; no traceback, status 141."""
    code = ("import sys\n"
            "import analog_eqprop.cli.gradcheck_cmd as g\n"
            "def closed(*a, **k):\n"
            "    raise BrokenPipeError(32, 'Broken pipe')\n"
            "g.print_json = closed\n"
            "from analog_eqprop.cli import main\n"
            "sys.exit(main(['gradcheck', '--random', '3,4,2,0.5', '--json']))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 141
    assert "Traceback" not in run.stderr
