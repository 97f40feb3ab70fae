"""``analog-eqprop report``: power, settling time and energy per example of a circuit on hardware."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from analog_eqprop.circuits.config import CircuitConfig, build_circuit
from analog_eqprop.cli.common import JSON_HELP, HelpFormatter, format_value, print_json
from analog_eqprop.cli.train_cmd import build_model, load_data, parse_sizes
from analog_eqprop.config import from_dict
from analog_eqprop.defaults import CIRCUIT_DEFAULTS
from analog_eqprop.errors import ConfigError
from analog_eqprop.hardware import HardwareNetwork
from analog_eqprop.hardware.energy import energy_report
from analog_eqprop.models import ResistiveNetwork
from analog_eqprop.solvers.ngspice_shared import ngspice_available
from analog_eqprop.training.checkpoint import load_checkpoint

DESCRIPTION = """\
Report what a circuit costs to run on a hardware model: the power dissipated per example in
the free and the nudged phase (split into devices, wires, diodes, sources, amplifiers, nudge),
the settling time of each phase from an ngspice transient (every free node within
--rel-tol of its change), and the energy per inference (free phase) and per training example
(both phases) = power x settling time. What the figures neglect is printed with them.

The circuit is a trained run (a run directory of `analog-eqprop train --model circuit`,
rebuilt from run.json and checkpoint.npz, on the hardware it was trained on unless --hardware
says otherwise) or a generated one (--sizes, --builder, --seed).

examples:
  analog-eqprop report runs/digits-drn-64-32-10
  analog-eqprop report --sizes 64,32,10 --hardware rram --json
  analog-eqprop report --sizes 64,16,10 --builder kendall --hardware ecram --hardware-set c_node=1e-14
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="power, settling time and energy per example on a hardware model",
                       description=DESCRIPTION, formatter_class=HelpFormatter)
    p.add_argument("run", nargs="?", default=None, help="run directory of a trained circuit (else: --sizes)")
    p.add_argument("--sizes", default=None, help="layer sizes of a generated circuit (default: "
                   f"{format_value(CIRCUIT_DEFAULTS['sizes'])})")
    p.add_argument("--builder", choices=("drn", "layered", "kendall", "random"), default="drn",
                   help="circuit family of a generated circuit")
    p.add_argument("--seed", type=int, default=0, help="seed of a generated circuit and of its devices")
    p.add_argument("--hardware", default=None,
                   help="hardware preset (ideal, rram, pcm, ecram) or a .toml file (default: the run's, else ideal)")
    p.add_argument("--hardware-set", dest="hardware_set", action="append", default=None, metavar="KEY=VALUE",
                   help="change one hardware setting, e.g. read_noise=0.02 or wire.r_cell=2 (repeatable)")
    p.add_argument("--dataset", default=None, help="examples to report on (default: the run's, else digits)")
    p.add_argument("--data-dir", dest="data_dir", default=None, help="directory of IDX files (mnist)")
    p.add_argument("--n-examples", type=int, default=100, help="test examples averaged for the power figures")
    p.add_argument("--n-settle", type=int, default=3, help="examples whose phases ngspice simulates in time")
    p.add_argument("--beta", type=float, default=None,
                   help=f"nudge strength [S] (default: the run's, else {format_value(CIRCUIT_DEFAULTS['beta'])})")
    p.add_argument("--rel-tol", type=float, default=0.01,
                   help="settled = every node within this fraction of its phase's largest change")
    p.add_argument("--no-transient", action="store_true", help="power only (no ngspice transient runs)")
    p.add_argument("--json", action="store_true", help=JSON_HELP + ": every figure, in SI units")
    p.set_defaults(func=run)


def _from_run(path: Path, args: argparse.Namespace) -> tuple[Any, dict[str, Any], float | None]:
    """The trained model of a run directory, its run settings and its training beta."""
    info_path, ckpt = path / "run.json", path / "checkpoint.npz"
    if not info_path.is_file():
        raise ConfigError(f"{path}: no run.json (not a run directory of `analog-eqprop train`)")
    try:
        config = json.loads(info_path.read_text(encoding="utf-8"))["config"]
        run_cfg, train = dict(config["run"]), config.get("train", {})
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(f"{info_path}: unreadable run record ({exc})") from None
    if run_cfg.get("model") != "circuit" or "circuit" not in config:
        raise ConfigError(f"{path}: report needs a circuit run (--model circuit), this one is "
                          f"{run_cfg.get('model', 'hopfield')!r}")
    model_cfg = from_dict(CircuitConfig, config["circuit"], source=str(info_path))
    model, _ = build_model(run_cfg, model_cfg, int(train.get("seed", 0)))
    arrays, _ = load_checkpoint(ckpt)
    for name in model.params:
        if f"params/{name}" not in arrays:
            raise ConfigError(f"{ckpt}: no parameter {name!r} (made for a different circuit?)")
        model.params[name][...] = arrays[f"params/{name}"]
    return model, run_cfg, train.get("beta")


def _model(args: argparse.Namespace) -> tuple[Any, dict[str, Any], float | None]:
    if args.run:
        model, run_cfg, beta = _from_run(Path(args.run), args)
    else:
        sizes = parse_sizes(args.sizes or CIRCUIT_DEFAULTS["sizes"])
        model = ResistiveNetwork(build_circuit(sizes, CircuitConfig.preset(args.builder), seed=args.seed))
        run_cfg, beta = {}, None
    trained = model.g
    if isinstance(model, HardwareNetwork) and args.hardware is None:
        if not args.hardware_set:
            return model, run_cfg, beta
        hw = HardwareNetwork(model.circuit, model.hardware, model.backend, seed=model.seed,
                             overrides=args.hardware_set)
    else:
        hw = HardwareNetwork(model.circuit, args.hardware or "ideal", "numpy", seed=args.seed,
                             overrides=args.hardware_set)
    if args.run:
        hw.set_conductances(trained)  # a trained circuit keeps its conductances (write-and-verify)
    return hw, run_cfg, beta


def _si(v: float, unit: str) -> str:
    if v is None or not math.isfinite(v):
        return f"{v} {unit}"
    if v == 0:
        return f"0 {unit}"
    for scale, prefix in ((1, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f"),
                          (1e-18, "a")):
        if abs(v) >= scale:
            return f"{v / scale:.4g} {prefix}{unit}"
    return f"{v:.3g} {unit}"


def _print(rep: dict[str, Any]) -> None:
    print(f"hardware {rep['hardware']}: {rep['devices']} devices, {rep['free_nodes']} free nodes, "
          f"{_si(rep['total_capacitance_F'], 'F')} node capacitance; {rep['examples']} examples, "
          f"beta {rep['beta_S']:.3g} S; error {100 * rep['error']:.1f} % on them")
    parts = ("devices", "wires", "diodes", "nudge_resistors", "sources", "amplifiers", "nudge_sources")
    print(f"{'power per example':<22}{'free phase':>14}{'nudged phase':>14}")
    for k in parts + ("dissipated", "balance"):
        print(f"  {k:<20}{_si(rep['power_free'][k], 'W'):>14}{_si(rep['power_nudged'][k], 'W'):>14}")
    if rep["amplifier_supply_W"]:
        print(f"  {'amplifier supply':<20}{_si(rep['amplifier_supply_W'], 'W'):>14}")
    if "settling_free_s" in rep:
        tf, tn = np.mean(rep["settling_free_s"]), np.mean(rep["settling_nudged_s"])
        print(f"settling time (mean of {len(rep['settling_free_s'])}, within {rep['settle_rel_tol']:.0%}): "
              f"free {_si(tf, 's')}, nudged {_si(tn, 's')}")
        print(f"energy per inference {_si(rep['energy_inference_J'], 'J')}, per training example "
              f"{_si(rep['energy_training_example_J'], 'J')} (DC power x settling time)")
        if rep["amplifier_supply_W"]:
            print(f"  plus amplifier supply {_si(rep['amplifier_supply_energy_training_example_J'], 'J')} "
                  f"per training example")
    print(f"charging the node capacitances: {_si(rep['charge_energy_free_J'], 'J')} (free), "
          f"{_si(rep['charge_energy_nudged_J'], 'J')} (nudged) drawn per example, not included above")
    print("neglected: " + "; ".join(rep["neglected"]))


def run(args: argparse.Namespace) -> int:
    if args.run and args.sizes:
        raise ConfigError("give a run directory or --sizes, not both")
    for name in ("n_examples", "n_settle"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= 1")
    if not 0 < args.rel_tol < 1:
        raise ConfigError(f"--rel-tol must be in (0, 1), got {args.rel_tol!r}")
    model, run_cfg, beta = _model(args)
    beta = float(args.beta if args.beta is not None else beta if beta is not None else CIRCUIT_DEFAULTS["beta"])
    if not beta > 0:
        raise ConfigError(f"--beta must be > 0, got {beta!r}")
    data_cfg = {"dataset": args.dataset or run_cfg.get("dataset", "digits")}
    if args.data_dir or run_cfg.get("data_dir"):
        data_cfg["data_dir"] = args.data_dir or run_cfg.get("data_dir")
    data = load_data(data_cfg)
    n = min(args.n_examples, len(data.y_test))
    transient = not args.no_transient and ngspice_available()
    rep = energy_report(model, data.x_test[:n], data.y_test[:n], beta=beta, n_settle=args.n_settle,
                        rel_tol=args.rel_tol, transient=transient)
    rep["dataset"] = data.name
    rep["circuit"] = model.circuit.name
    if not transient and not args.no_transient:
        rep["note"] = "ngspice is not installed: no settling times or energies"
    if args.json:
        print_json(rep)
        return 0
    print(f"{rep['circuit']} on {data.name}")
    _print(rep)
    if "note" in rep:
        print(rep["note"])
    return 0
