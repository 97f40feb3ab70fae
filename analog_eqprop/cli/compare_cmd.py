"""``analog-eqprop compare``: one circuit trained on the NumPy twin and in ngspice, side by side."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from analog_eqprop.circuits.config import CircuitConfig
from analog_eqprop.cli.common import HelpFormatter, add_dataclass_flags, collect_settings, print_json
from analog_eqprop.errors import ConfigError
from analog_eqprop.training.trainer import TrainConfig

DESCRIPTION = """\
Digital vs analog: train the same resistive circuit from the same initial conductances
twice, on the same batches with the same beta signs -- once with the NumPy twin (batched
Newton), once with ngspice simulating the circuit's netlist -- and measure how far the two
drift apart:

  fixed points   max and mean |V_ngspice - V_numpy| of free and nudged states, both
                 backends solving the same conductances (the NumPy run's) and inputs,
                 at epoch 0 and after every epoch
  updates        cosine between the two backends' EqProp updates on those conductances
  weights        ||g_ngspice - g_numpy|| / ||g_numpy|| of the two runs, per epoch
  accuracy       train and test error of both runs, per epoch
  gradient       each backend's EqProp estimate vs the exact (implicit) gradient over
                 five decades of beta, one-sided and centered

Writes OUT/report.json (every number) and four PNG figures: training_curves,
fixed_points, gradient_vs_beta, weight_divergence. Defaults train a drn 64-32-10 circuit
on the built-in digits (1437 train / 360 test, no download) for 5 epochs with Adam,
lr 1e-7 S, beta 1e-6 S: about a minute on two cores.

examples:
  analog-eqprop compare                                   # drn 64-32-10 on digits, 5 epochs
  analog-eqprop compare --epochs 10 --out runs/compare
  analog-eqprop compare --json > summary.json             # max_abs_dv, update_cosine, accuracy_*...
  analog-eqprop compare --ngspice-options tight           # reltol=1e-6, vntol=1e-9
  analog-eqprop compare --builder kendall --sizes 64,16,10 --epochs 2 --n-train 300
  analog-eqprop compare --dataset mnist --sizes 784,100,10 --n-train 1000 --n-test 500 --epochs 1
"""

RUN_KEYS = {"model", "sizes", "graph", "dataset", "data_dir", "out", "n_train", "n_test", "init_seed"}
#: Subset sizes of the default run: the whole digits set, a quick slice of anything larger.
DEFAULT_N_TRAIN, DEFAULT_N_TEST, DEFAULT_EPOCHS = 1500, 500, 5


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="train one circuit with NumPy and ngspice; compare fixed points, updates, "
                                       "accuracy", description=DESCRIPTION, formatter_class=HelpFormatter)
    g = p.add_argument_group("circuit and data")
    g.add_argument("--sizes", default=None, help="layer sizes, e.g. 64,32,10 (default: 64,32,10)")
    g.add_argument("--graph", default=None, help="a saved circuit graph (.json node_link or .graphml)")
    g.add_argument("--init-seed", dest="init_seed", default=None, type=int,
                   help="seed of the initial conductances (default: the run's --seed)")
    g.add_argument("--dataset", default=None, help="digits (built in), mnist, fashion-mnist, iris, xor "
                                                   "(default: digits)")
    g.add_argument("--data-dir", dest="data_dir", default=None, help="directory of the IDX files (mnist)")
    g.add_argument("--n-train", dest="n_train", default=None, type=int,
                   help=f"use the first N training examples (default: {DEFAULT_N_TRAIN}, i.e. all of digits)")
    g.add_argument("--n-test", dest="n_test", default=None, type=int,
                   help=f"use the first N test examples (default: {DEFAULT_N_TEST}, i.e. all of digits)")
    add_dataclass_flags(p, TrainConfig, f"training (circuit defaults; --epochs default {DEFAULT_EPOCHS})")
    add_dataclass_flags(p, CircuitConfig, "circuit (defaults depend on --builder; --backend does not apply)")
    s = p.add_argument_group("ngspice and measurements")
    s.add_argument("--ngspice-options", default=None, metavar="K=V,...|tight",
                   help="ngspice .options, e.g. reltol=1e-5,vntol=1e-8; 'tight' = reltol=1e-6,vntol=1e-9 "
                        "(default: the backend's reltol=1e-4)")
    s.add_argument("--ngspice-mode", choices=("shared", "batch"), default="shared",
                   help="libngspice in this process, or an `ngspice -b` subprocess per chunk")
    s.add_argument("--per-analysis", type=int, default=50, help="examples per ngspice analysis (.dc sweep)")
    s.add_argument("--workers", type=int, default=None,
                   help="ngspice worker processes, one engine each (default: one per core; 1: in this process)")
    s.add_argument("--n-probe", type=int, default=50, help="training examples in the agreement checks and sweeps")
    s.add_argument("--sweep-betas", default=None, metavar="B1,B2,...",
                   help="betas of the gradient sweep [S] (default: training beta x 10 ... 1e-4)")
    s.add_argument("--no-sweep", action="store_true", help="skip the gradient-vs-beta sweep")
    o = p.add_argument_group("output")
    o.add_argument("--config", default=None, help="TOML or JSON file of settings (flags override it)")
    o.add_argument("--out", default=None, help="directory for report.json and the figures "
                                               "(default: runs/compare-<dataset>-<circuit>)")
    o.add_argument("--no-plots", action="store_true", help="write report.json only")
    o.add_argument("--json", action="store_true", help="print the summary and report as JSON instead of a table")
    o.add_argument("--progress", action="store_true", help="progress bars over minibatches (stderr)")
    p.set_defaults(func=run)


def parse_ngspice_options(text: str | None) -> dict[str, Any] | None:
    """``"reltol=1e-5,vntol=1e-8"`` -> dict; ``"tight"`` -> :data:`TIGHT_OPTIONS`; None -> None.

    Examples
    --------
    >>> parse_ngspice_options("reltol=1e-5,itl1=200")
    {'reltol': 1e-05, 'itl1': 200}
    """
    from analog_eqprop.netlist.parser import option_value
    from analog_eqprop.solvers.ngspice_backend import TIGHT_OPTIONS

    if text is None:
        return None
    if text.strip() == "tight":
        return dict(TIGHT_OPTIONS)
    out: dict[str, Any] = {}
    for item in text.split(","):
        key, eq, value = (t.strip() for t in item.partition("="))
        if not key or not eq:
            raise ConfigError(f"--ngspice-options wants KEY=VALUE pairs like reltol=1e-5, got {item!r}")
        out[key] = option_value(value)
        if isinstance(out[key], str):
            raise ConfigError(f"--ngspice-options: {key}={value!r} is not a number")
    return out


def _betas(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        betas = [float(b) for b in text.split(",")]
    except ValueError:
        raise ConfigError(f"--sweep-betas must be comma-separated numbers, got {text!r}") from None
    if not betas or any(not b > 0 for b in betas):
        raise ConfigError(f"--sweep-betas must all be > 0 [S], got {text!r}")
    return betas


def resolve(args: argparse.Namespace):
    """Settings -> (run settings, TrainConfig, CircuitConfig), layered like ``train --model circuit``."""
    from analog_eqprop.cli.train_cmd import resolve_settings

    circuit_keys = set(CircuitConfig.__dataclass_fields__)
    keys = sorted(RUN_KEYS | set(TrainConfig.__dataclass_fields__) | circuit_keys)
    settings = collect_settings(args, keys)
    if "backend" in settings:
        raise ConfigError("compare runs both backends (numpy and ngspice); drop --backend")
    if settings.get("model", "circuit") != "circuit":
        raise ConfigError("compare trains circuits only (model = circuit)")
    settings["model"] = "circuit"
    settings.setdefault("epochs", DEFAULT_EPOCHS)
    settings.setdefault("n_train", DEFAULT_N_TRAIN)
    settings.setdefault("n_test", DEFAULT_N_TEST)
    return resolve_settings(settings)


def _row(check, ra: dict, rb: dict) -> str:
    return (f"epoch {ra['epoch']:3d}  test error numpy {100 * ra['test_error']:6.2f}%  ngspice "
            f"{100 * rb['test_error']:6.2f}%  max |dV| {check.max_abs_dv:.2e} V  1 - update cos "
            f"{1.0 - check.update_cosine:.1e}  |dg|/|g| {check.weight_divergence:.2e}  "
            f"({ra['seconds']:.1f} s, {rb['seconds']:.1f} s)")


def run(args: argparse.Namespace) -> int:
    from analog_eqprop.cli.train_cmd import build_model, load_data
    from analog_eqprop.parallel import make_executor
    from analog_eqprop.solvers.ngspice_backend import NgspiceBackend

    run_cfg, train_cfg, circuit_cfg = resolve(args)
    if args.n_probe < 1:
        raise ConfigError(f"--n-probe must be >= 1, got {args.n_probe}")
    model, tag = build_model(run_cfg, circuit_cfg, train_cfg.seed)
    data = load_data(run_cfg)
    out = Path(run_cfg.get("out") or Path("runs") / f"compare-{data.name}-{tag}")
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}")
    with make_executor("process" if workers > 1 else None, workers=workers) as pool:
        spice = NgspiceBackend(mode=args.ngspice_mode, per_analysis=args.per_analysis,
                               options=parse_ngspice_options(args.ngspice_options), executor=pool)
        return _run(args, run_cfg, train_cfg, model, tag, data, out, spice)


def _run(args, run_cfg, train_cfg, model, tag, data, out, spice) -> int:
    from analog_eqprop.compare import compare_backends

    if not args.json:
        print(f"{data.name}: {len(data.y_train)} train / {len(data.y_test)} test; circuit {model.circuit.name} "
              f"({model.circuit.n_edges} conductances, {model.n_free} free nodes); {train_cfg.epochs} epochs, "
              f"{train_cfg.optimizer} lr {','.join(map(str, train_cfg.learning_rates))}, beta {train_cfg.beta} S; "
              f"ngspice options {spice.options}", flush=True)
    callback = None if args.json else (lambda chk, ra, rb: print(_row(chk, ra, rb), flush=True))
    report = compare_backends(model.circuit, data, train_config=train_cfg, backends=("numpy", spice),
                              g_init=model.g, n_probe=args.n_probe, sweep_betas=_betas(args.sweep_betas),
                              sweep_modes=() if args.no_sweep else ("positive", "centered"),
                              progress=args.progress, callback=callback)
    report.setup["settings"] = {**run_cfg, "ngspice_options": args.ngspice_options, "n_probe": args.n_probe}
    files = [report.to_json(out / "report.json")]
    if not args.no_plots:
        from analog_eqprop.plotting import save_comparison_figures

        files += save_comparison_figures(report, out)
    if args.json:
        body = report.as_dict()
        body.pop("scatter")  # thousands of voltages: they stay in report.json
        print_json({**report.summary(), **body, "files": [str(f) for f in files]})
        return 0
    print()
    print(report.table())
    print(f"\nwrote {', '.join(str(f) for f in files)}")
    return 0
