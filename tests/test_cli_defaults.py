"""One table of defaults per kind of model: the library, the CLI and ``--help`` agree, and the
defaults learn the built-in digits from the first epoch."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re

import numpy as np
import pytest

from analog_eqprop.circuits import circuit_from_graph, drn_circuit, kendall_circuit, layered_circuit
from analog_eqprop.circuits.config import CIRCUIT_PRESETS, CircuitConfig
from analog_eqprop.cli import build_parser, main
from analog_eqprop.cli.common import JSON_HELP, format_value
from analog_eqprop.defaults import CIRCUIT_DEFAULTS, MODEL_DEFAULTS, MODEL_KINDS, TRAIN_KEYS
from analog_eqprop.models.factory import MODEL_TRAIN_DEFAULTS, choose_backend, make_model
from analog_eqprop.models.hopfield import HopfieldConfig
from analog_eqprop.training import TrainConfig


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    return dict(build_parser()._subparsers._group_actions[0].choices)


def _actions(cmd: str) -> dict[str, argparse.Action]:
    return {a.option_strings[0]: a for a in _subparsers()[cmd]._actions if a.option_strings}


def _help_defaults(text: str) -> dict[str, str]:
    """``"... (default: A (x, y) / B (z))"`` -> ``{"x": "A", "y": "A", "z": "B"}``; one value -> ``{"": A}``."""
    m = re.search(r"\(default: (.*)\)\s*$", text)
    assert m, f"no default in {text!r}"
    parts = m.group(1).split(" / ")
    if len(parts) == 1:
        return {"": parts[0]}
    out = {}
    for part in parts:
        value, labels = re.fullmatch(r"(.*) \(([^()]*)\)", part).groups()
        out.update({label.strip(): value for label in labels.split(",")})
    return out


def _shown(help_text: str, label: str) -> str:
    d = _help_defaults(help_text)
    return d.get(label, d.get(""))


# -- the help shows what a run uses ------------------------------------------------------------
@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_train_help_shows_the_settings_a_run_of_each_kind_uses(kind):
    from analog_eqprop.cli.train_cmd import resolve_settings

    actions = _actions("train")
    run_cfg, train_cfg, model_cfg = resolve_settings({"model": kind})  # a run given no settings at all
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        assert _shown(actions[flag].help, kind) == format_value(getattr(train_cfg, f.name)), flag
    assert _shown(actions["--sizes"].help, kind) == run_cfg["sizes"]
    if kind == "hopfield":
        for f in dataclasses.fields(HopfieldConfig):
            flag = "--" + f.name.replace("_", "-")
            assert _shown(actions[flag].help, "") == format_value(getattr(model_cfg, f.name)), flag


@pytest.mark.parametrize("builder", sorted(CIRCUIT_PRESETS))
def test_train_help_shows_each_builders_circuit_defaults(builder):
    from analog_eqprop.cli.train_cmd import resolve_settings

    actions = _actions("train")
    _, _, cfg = resolve_settings({"model": "circuit", "builder": builder} if builder != "drn" else
                                 {"model": "circuit"})
    for f in dataclasses.fields(CircuitConfig):
        flag = "--" + f.name.replace("_", "-")
        want = "drn" if f.name == "builder" else format_value(getattr(cfg, f.name))
        assert _shown(actions[flag].help, builder) == want, flag


def test_compare_help_shows_the_settings_a_comparison_uses():
    from analog_eqprop.cli.compare_cmd import COMPARE_DEFAULTS, resolve_settings

    actions = _actions("compare")
    run_cfg, train_cfg, circuit_cfg, extra = resolve_settings({})
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        assert _helps_one_value(actions[flag].help) == format_value(getattr(train_cfg, f.name)), flag
    assert train_cfg.epochs == 5 and "epochs 5" not in actions["--epochs"].help  # one number, from one place
    for key in ("n_train", "n_test", "sizes"):
        assert _helps_one_value(actions["--" + key.replace("_", "-")].help).startswith(format_value(run_cfg[key]))
    for key in ("per_analysis", "n_probe", "ngspice_mode"):
        assert _helps_one_value(actions["--" + key.replace("_", "-")].help) == format_value(COMPARE_DEFAULTS[key])
    assert actions["--backend"].help == argparse.SUPPRESS  # compare runs both backends: refused, not offered


def _helps_one_value(text: str) -> str:
    d = _help_defaults(text)
    assert list(d) == [""], f"one default expected in {text!r}"
    return d[""].split(",")[0] if d[""].endswith("all of digits") else d[""]


def _leaf_parsers(parsers: dict[str, argparse.ArgumentParser]):
    """Every command's parser, a command with subcommands of its own (``data fetch``) by its leaves."""
    for name, parser in parsers.items():
        nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if nested:
            yield from _leaf_parsers({f"{name} {k}": v for k, v in nested[0].choices.items()})
        else:
            yield name, parser


def test_no_switch_shows_a_default_and_every_json_is_the_same_flag():
    for cmd, parser in _leaf_parsers(_subparsers()):
        text = parser.format_help()
        assert "(default: True)" not in text and "(default: False)" not in text, cmd
        json_flag = {a.option_strings[0]: a for a in parser._actions if a.option_strings}["--json"]
        assert json_flag.nargs == 0, f"{cmd} --json must be a switch"
        assert "JSON" in json_flag.help or "{" in json_flag.help, cmd
        if cmd in ("train", "compare", "netlist", "gradcheck", "report"):
            assert json_flag.help.startswith(JSON_HELP), cmd
    assert "(default" not in _actions("netlist")["--no-probes"].help


# -- the library reads the same table -----------------------------------------------------------
def test_library_defaults_come_from_the_one_table():
    for kind in MODEL_KINDS:
        cfg = TrainConfig.for_model(kind)
        assert {k: getattr(cfg, k) for k in TRAIN_KEYS} == {k: MODEL_DEFAULTS[kind][k] for k in TRAIN_KEYS}
        assert MODEL_TRAIN_DEFAULTS[kind] == {k: MODEL_DEFAULTS[kind][k] for k in TRAIN_KEYS}
    assert TrainConfig() == TrainConfig.for_model("hopfield")
    from analog_eqprop.compare import default_train_config

    assert default_train_config() == TrainConfig.for_model("circuit")
    g = (CIRCUIT_DEFAULTS["g_min"], CIRCUIT_DEFAULTS["g_max"])
    cfg = CircuitConfig()
    assert (cfg.g_min, cfg.g_max, cfg.backend) == (*g, CIRCUIT_DEFAULTS["backend"])
    assert (cfg.g_init_low, cfg.g_init_high) == (CIRCUIT_DEFAULTS["g_init_low"], CIRCUIT_DEFAULTS["g_init_high"])
    from analog_eqprop.api import Dense, DiodeClamp, Input, Model, Sequential

    seq = Sequential([Input(4), Dense(3, clamp=DiodeClamp(0.0)), Dense(2)], seed=0)
    c = drn_circuit([4, 3, 2], seed=0)
    assert (seq.circuit.g_min, seq.circuit.g_max) == (c.g_min, c.g_max) == g
    lo, hi = CIRCUIT_DEFAULTS["g_init_low"], CIRCUIT_DEFAULTS["g_init_high"]
    assert lo <= c.edge_g.min() and c.edge_g.max() <= hi
    seq.compile()  # one rate per layer there
    want = TrainConfig.for_model("circuit", epochs=0, learning_rates=MODEL_DEFAULTS["circuit"]["learning_rates"] * 2,
                                 update_rules=("exact", "exact"))
    assert dataclasses.replace(seq.train_config, epochs=0) == want
    hop = Model(make_model("hopfield", sizes=[4, 5, 2], seed=0))
    hop.compile()
    assert dataclasses.replace(hop.train_config, epochs=0) == TrainConfig.for_model(
        "hopfield", epochs=0, update_rules=("exact", "exact"))
    assert make_model("circuit", seed=0).circuit.name == "drn-" + "-".join(map(str, CIRCUIT_DEFAULTS["sizes"]))
    assert make_model("hopfield", seed=0).n_free == sum(MODEL_DEFAULTS["hopfield"]["sizes"][1:])


def test_auto_backend_is_bcd_only_where_it_is_exact():
    assert choose_backend(drn_circuit([4, 3, 2], seed=0)) == "bcd"
    assert choose_backend(kendall_circuit(4, 3, 2, seed=0)) == "numpy"  # non-reciprocal amplifiers, 1N4148
    assert choose_backend(layered_circuit([4, 3, 2], seed=0)) == "bcd"
    assert choose_backend(layered_circuit([4, 3, 2], seed=0, diode="DSHOCKLEY")) == "numpy"  # not ideal diodes
    from analog_eqprop.circuits import circuit_graph

    lateral = circuit_from_graph(circuit_graph([3, 4, 2], seed=0, lateral=True), clamp=(0.0, None))
    assert choose_backend(lateral) == "numpy"  # edges inside a layer: BCD's layer update is not exact


def test_circuit_run_records_the_backend_auto_chose(tmp_path, capsys):
    args = ["train", "--model", "circuit", "--n-train", "40", "--n-test", "20", "--epochs", "1", "--no-progress"]
    for builder, sizes, want in (("drn", "64,6,10", "bcd"), ("layered", "64,6,10", "numpy")):
        out = tmp_path / builder
        assert main([*args, "--builder", builder, "--sizes", sizes, "--out", str(out)]) == 0
        assert json.loads((out / "run.json").read_text())["config"]["circuit"]["backend"] == want
        assert f"{want} backend" in capsys.readouterr().out
    for hardware, want in (("ideal", "bcd"), ("rram", "numpy")):  # rram's line resistance: not layered
        out = tmp_path / hardware
        assert main([*args, "--sizes", "64,6,10", "--hardware", hardware, "--epochs", "0", "--out", str(out)]) == 0
        assert json.loads((out / "run.json").read_text())["config"]["circuit"]["backend"] == want
    out = tmp_path / "explicit"
    assert main([*args, "--sizes", "64,6,10", "--backend", "numpy", "--out", str(out)]) == 0
    assert json.loads((out / "run.json").read_text())["config"]["circuit"]["backend"] == "numpy"


# -- the defaults learn from epoch 1 ------------------------------------------------------------
@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_first_digits_run_learns_from_epoch_one(kind, tmp_path, capsys):
    """`analog-eqprop train [--model circuit] --dataset digits --epochs 3`: <= 15 % test error after 3
    epochs, far below chance (90 %) after the first (issue 12; ~1 s each)."""
    extra = ["--model", kind] if kind == "circuit" else []
    assert main(["train", *extra, "--dataset", "digits", "--epochs", "3", "--no-progress", "--json",
                 "--out", str(tmp_path / "r")]) == 0
    res = json.loads(capsys.readouterr().out)
    errors = [r["test_error"] for r in res["history"]]
    assert len(errors) == 3
    assert errors[0] <= 0.5, errors
    assert errors[-1] <= 0.15, errors
    assert res["config"]["run"]["model"] == kind and res["config"]["run"]["sizes"] == format_value(
        MODEL_DEFAULTS[kind]["sizes"])
    assert np.isclose(res["final"]["test_error"], errors[-1])
