"""``analog-eqprop compare``: one circuit trained on the NumPy twin and in ngspice, side by side."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from analog_eqprop.circuits.config import CIRCUIT_PRESETS, CircuitConfig
from analog_eqprop.cli.common import (JSON_HELP, HelpFormatter, add_dataclass_flags, collect_settings, default_text,
                                      format_value, model_defaults, print_json, read_run_settings, resume_conflicts)
from analog_eqprop.cli.train_cmd import absolute_paths, build_model, cluster_executor, load_data, run_tag
from analog_eqprop.cli.train_cmd import resolve_settings as train_settings
from analog_eqprop.compare import compare_backends
from analog_eqprop.config import from_dict, option, to_dict
from analog_eqprop.errors import ConfigError
from analog_eqprop.netlist.parser import option_value
from analog_eqprop.plotting import save_comparison_figures
from analog_eqprop.runinfo import run_metadata
from analog_eqprop.solvers.ngspice_backend import TIGHT_OPTIONS, NgspiceBackend
from analog_eqprop.training import atomic_write_text
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
fixed_points, gradient_vs_beta, weight_divergence; OUT/run.json holds the settings, and
both runs are checkpointed after every epoch: --resume continues OUT (only --epochs,
--checkpoint-every, --eval-batch-size, --data-dir, --workers, --scheduler, --sweep-betas,
--no-sweep and --no-plots may change), --config OUT/run.json repeats it. Defaults train a
drn 64-32-10 circuit on the built-in digits (1437 train / 360 test, no download) for 5
epochs with the circuit defaults of `train --model circuit`:
  %(recipe)s.

examples:
  analog-eqprop compare                                   # drn 64-32-10 on digits, 5 epochs
  analog-eqprop compare --epochs 10 --out runs/compare
  analog-eqprop compare --out runs/compare --resume --epochs 20
  analog-eqprop compare --scheduler tcp://10.0.0.5:8786   # ngspice solves on a Dask cluster
  analog-eqprop compare --json > summary.json             # max_abs_dv, update_cosine, accuracy_*...
  analog-eqprop compare --ngspice-options tight           # reltol=1e-6, vntol=1e-9
  analog-eqprop compare --builder kendall --sizes 64,16,10 --epochs 2 --n-train 300
  analog-eqprop compare --dataset mnist --sizes 784,100,10 --n-train 1000 --n-test 500 --epochs 1
"""

RUN_KEYS = {"model", "sizes", "graph", "dataset", "data_dir", "out", "n_train", "n_test", "init_seed"}


@dataclass(frozen=True)
class CompareSettings:
    """Settings of the comparison itself (a run record's ``compare`` section)."""

    ngspice_options: str | None = option(None, "ngspice .options as K=V,... or 'tight' (none: the backend's)")
    ngspice_mode: Literal["shared", "batch"] = option("shared", "libngspice in this process, or `ngspice -b`")
    per_analysis: int = option(50, "examples per ngspice analysis (.dc sweep)")
    workers: int | None = option(None, "ngspice worker processes (none: one per core)")
    scheduler: str | None = option(None, "address of an existing Dask scheduler for the ngspice solves")
    n_probe: int = option(50, "training examples in the agreement checks and sweeps")
    sweep_betas: tuple[float, ...] | None = option(None, "betas of the gradient sweep (none: beta x 10 ... 1e-4)",
                                                   unit="S")
    no_sweep: bool = option(False, "skip the gradient-vs-beta sweep")
    no_plots: bool = option(False, "write report.json only")


COMPARE_DEFAULTS: dict[str, Any] = to_dict(CompareSettings())
#: What the default comparison trains on: the whole digits set, a quick slice of anything
#: larger, for 5 epochs (a minute on two cores); every other default is the circuit table's.
COMMAND_DEFAULTS: dict[str, Any] = {"n_train": 1500, "n_test": 500, "epochs": 5}
#: Settings that --resume lets change: how long, where the data and the ngspice workers are,
#: which figures are drawn (the final gradient sweep runs after training, on its result).
RESUME_SAFE = {"epochs", "checkpoint_every", "eval_batch_size", "out", "data_dir", "workers", "scheduler",
               "sweep_betas", "no_sweep", "no_plots"}
CIRCUIT_KEYS = set(CircuitConfig.__dataclass_fields__) - {"backend"}


def _defaults(builder: str = "drn") -> dict[str, Any]:
    return {**model_defaults("circuit", builder), **COMMAND_DEFAULTS}


def add_parser(sub: argparse._SubParsersAction) -> None:
    d = _defaults()
    recipe = (f"{d['optimizer']}, lr {format_value(d['learning_rates'])} S, beta {format_value(d['beta'])} S, "
              f"{d['beta_mode']} nudging, minibatches of {d['batch_size']}")
    p = sub.add_parser("compare", help="train one circuit with NumPy and ngspice; compare fixed points, updates, "
                                       "accuracy", description=DESCRIPTION % {"recipe": recipe},
                       formatter_class=HelpFormatter)
    g = p.add_argument_group("circuit and data")
    g.add_argument("--sizes", default=None, help=f"layer sizes, e.g. 64,32,10 ({default_text('sizes', None, {'': d})})")
    g.add_argument("--graph", default=None, help="a saved circuit graph (.json node_link or .graphml)")
    g.add_argument("--init-seed", dest="init_seed", default=None, type=int,
                   help="seed of the initial conductances (default: the run's --seed)")
    g.add_argument("--dataset", default=None, help="digits (built in), mnist, fashion-mnist, iris, xor "
                                                   "(default: digits)")
    g.add_argument("--data-dir", dest="data_dir", default=None, help="directory of the IDX files (mnist)")
    g.add_argument("--n-train", dest="n_train", default=None, type=int,
                   help=f"use the first N training examples (default: {d['n_train']}, i.e. all of digits)")
    g.add_argument("--n-test", dest="n_test", default=None, type=int,
                   help=f"use the first N test examples (default: {d['n_test']}, i.e. all of digits)")
    add_dataclass_flags(p, TrainConfig, "training (the circuit defaults)", {"circuit": d})
    add_dataclass_flags(p, CircuitConfig, "circuit (defaults depend on --builder; both backends solve it)",
                        {b: _defaults(b) for b in CIRCUIT_PRESETS}, skip=("backend",), fixed={"builder": "drn"})
    # not offered (compare runs both backends), but named in the refusal rather than "unrecognized"
    p.add_argument("--backend", default=None, help=argparse.SUPPRESS)
    s = p.add_argument_group("ngspice and measurements")
    s.add_argument("--ngspice-options", default=None, metavar="K=V,...|tight",
                   help="ngspice .options, e.g. reltol=1e-5,vntol=1e-8; 'tight' = reltol=1e-6,vntol=1e-9 "
                        "(default: the backend's reltol=1e-4)")
    s.add_argument("--ngspice-mode", choices=("shared", "batch"), default=None,
                   help="libngspice in this process, or an `ngspice -b` subprocess per chunk (default: shared)")
    s.add_argument("--per-analysis", type=int, default=None,
                   help=f"examples per ngspice analysis (.dc sweep) (default: {COMPARE_DEFAULTS['per_analysis']})")
    s.add_argument("--workers", type=int, default=None,
                   help="ngspice worker processes, one engine each (default: one per core; 1: in this process)")
    s.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the ngspice solves on an existing Dask cluster, e.g. tcp://10.0.0.5:8786")
    s.add_argument("--n-probe", type=int, default=None,
                   help="training examples in the agreement checks and sweeps "
                        f"(default: {COMPARE_DEFAULTS['n_probe']})")
    s.add_argument("--sweep-betas", default=None, metavar="B1,B2,...",
                   help="betas of the gradient sweep [S] (default: training beta x 10 ... 1e-4)")
    s.add_argument("--no-sweep", action="store_true", default=None, help="skip the gradient-vs-beta sweep")
    o = p.add_argument_group("output")
    o.add_argument("--config", default=None, help="TOML or JSON file of settings, or a comparison's run.json "
                                                  "(flags override it)")
    o.add_argument("--out", default=None, help="directory for run.json, checkpoints, report.json and the figures "
                                               "(default: runs/compare-<dataset>-<circuit>)")
    o.add_argument("--resume", action="store_true",
                   help="continue OUT's comparison from its checkpoints, with its own settings")
    o.add_argument("--overwrite", action="store_true", help="start afresh even if OUT holds a comparison")
    o.add_argument("--no-plots", action="store_true", default=None, help="write report.json only")
    o.add_argument("--json", action="store_true",
                   help=JSON_HELP + ": the summary and the whole report but the voltage scatter")
    o.add_argument("--progress", action="store_true", help="progress bars over minibatches (stderr)")
    p.set_defaults(func=run)


def parse_ngspice_options(text: str | None) -> dict[str, Any] | None:
    """``"reltol=1e-5,vntol=1e-8"`` -> dict; ``"tight"`` -> :data:`TIGHT_OPTIONS`; None -> None.

    Examples
    --------
    >>> parse_ngspice_options("reltol=1e-5,itl1=200")
    {'reltol': 1e-05, 'itl1': 200}
    """
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


def _betas(values: Any) -> list[float] | None:
    if values is None:
        return None
    betas = [float(b) for b in values]
    if not betas or any(not b > 0 for b in betas):
        raise ConfigError(f"--sweep-betas must all be > 0 [S], got {format_value(values)}")
    return betas


def resolve_settings(settings: dict[str, Any]):
    """Settings -> (run settings, TrainConfig, CircuitConfig, comparison settings), layered like
    ``train --model circuit`` with this command's own defaults (:data:`COMMAND_DEFAULTS`)."""
    settings = dict(settings)
    if "backend" in settings:
        raise ConfigError("compare runs both backends (numpy and ngspice); drop --backend")
    if settings.get("model", "circuit") != "circuit":
        raise ConfigError("compare trains circuits only (model = circuit)")
    settings["model"] = "circuit"
    for k, v in COMMAND_DEFAULTS.items():
        settings.setdefault(k, v)
    extra = from_dict(CompareSettings, {k: settings.pop(k) for k in list(settings) if k in COMPARE_DEFAULTS},
                      source="compare")
    run_cfg, train_cfg, circuit_cfg = train_settings(settings)
    unknown = sorted(set(run_cfg) - RUN_KEYS)
    if unknown:
        raise ConfigError(f"compare: unknown setting(s): {', '.join(unknown)}")
    # the NumPy twin of a comparison is the Newton solver, the reference for any circuit
    return run_cfg, train_cfg, replace(circuit_cfg, backend="numpy"), to_dict(extra)


def _flat(settings: dict[str, Any]) -> dict[str, Any]:
    run_cfg, train_cfg, circuit_cfg, extra = resolve_settings(settings)
    return {**run_cfg, **to_dict(train_cfg), **to_dict(circuit_cfg), **extra}


KEYS = sorted(RUN_KEYS | set(TrainConfig.__dataclass_fields__) | CIRCUIT_KEYS | set(COMPARE_DEFAULTS) | {"backend"})


def resolve(args: argparse.Namespace):
    """The comparison's settings from --config, the flags and, with --resume, OUT/run.json."""
    settings = collect_settings(args, KEYS)
    if args.resume and args.overwrite:
        raise ConfigError("--resume continues a comparison and --overwrite starts it afresh: give one of them")
    if not args.resume:
        return resolve_settings(settings)
    out = Path(settings.get("out") or _default_out(*resolve_settings(settings)[:3]))
    saved = read_run_settings(out)
    changed = resume_conflicts(saved, settings, RESUME_SAFE, _flat)
    if changed:
        before, after = _flat(saved), _flat({**saved, **settings})
        what = "; ".join(f"--{k.replace('_', '-')} {format_value(after.get(k))} (the comparison's: "
                         f"{format_value(before.get(k))})" for k in changed)
        raise ConfigError(f"--resume continues {out} with its own settings ({out / 'run.json'}); refused: {what}. "
                          f"On resume only {', '.join('--' + k.replace('_', '-') for k in sorted(RESUME_SAFE))} "
                          f"may change")
    return resolve_settings({**saved, **settings, "out": str(out)})


def _default_out(run_cfg, train_cfg, circuit_cfg) -> Path:
    return Path("runs") / f"compare-{run_cfg['dataset']}-{run_tag(run_cfg, circuit_cfg)}"


def _row(check, ra: dict, rb: dict) -> str:
    return (f"epoch {ra['epoch']:3d}  test error numpy {100 * ra['test_error']:6.2f}%  ngspice "
            f"{100 * rb['test_error']:6.2f}%  max |dV| {check.max_abs_dv:.2e} V  1 - update cos "
            f"{1.0 - check.update_cosine:.1e}  |dg|/|g| {check.weight_divergence:.2e}  "
            f"({ra['seconds']:.1f} s, {rb['seconds']:.1f} s)")


_STATE = ("checkpoint_numpy.npz", "checkpoint_ngspice.npz", "checks.json")


def _prepare_out(out: Path, args: argparse.Namespace) -> None:
    held = [name for name in _STATE if (out / name).exists()]
    if args.resume:
        if not held:
            raise ConfigError(f"--resume: {out} holds no comparison checkpoints ({', '.join(_STATE)})")
        return
    if held and not args.overwrite:
        raise ConfigError(f"{out} already holds a comparison; pass --resume to continue it, --overwrite to start "
                          f"afresh, or --out DIR for a new one")
    for name in held:
        (out / name).unlink()


def run(args: argparse.Namespace) -> int:
    run_cfg, train_cfg, circuit_cfg, extra = resolve(args)
    if extra["n_probe"] < 1:
        raise ConfigError(f"--n-probe must be >= 1, got {extra['n_probe']}")
    if extra["ngspice_mode"] not in ("shared", "batch"):
        raise ConfigError(f"ngspice_mode must be shared or batch, got {extra['ngspice_mode']!r}")
    options = parse_ngspice_options(extra["ngspice_options"])
    betas = _betas(extra["sweep_betas"])
    model, tag = build_model(run_cfg, circuit_cfg, train_cfg.seed)
    data = load_data(run_cfg)
    out = Path(run_cfg.get("out") or Path("runs") / f"compare-{data.name}-{tag}")
    run_cfg["out"] = str(out)
    scheduler = extra["scheduler"]
    if scheduler is not None and extra["workers"] is not None:
        raise ConfigError("--workers sizes a local pool; with --scheduler the cluster's workers do the solves")
    workers = extra["workers"] if extra["workers"] is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}")
    _prepare_out(out, args)
    out.mkdir(parents=True, exist_ok=True)
    circuit_rec = {k: v for k, v in to_dict(circuit_cfg).items() if k != "backend"}
    info = run_metadata({"run": absolute_paths(run_cfg), "train": to_dict(train_cfg), "circuit": circuit_rec,
                         "compare": extra}, with_ngspice=True)
    atomic_write_text(out / "run.json", json.dumps(info, indent=2) + "\n")
    with cluster_executor("process" if workers > 1 else None, workers, scheduler) as pool:
        spice = NgspiceBackend(mode=extra["ngspice_mode"], per_analysis=extra["per_analysis"], options=options,
                               executor=pool)
        return _run(args, run_cfg, train_cfg, model, data, out, spice, extra, betas)


def _run(args, run_cfg, train_cfg, model, data, out, spice, extra, betas) -> int:
    if not args.json:
        print(f"{data.name}: {len(data.y_train)} train / {len(data.y_test)} test; circuit {model.circuit.name} "
              f"({model.circuit.n_edges} conductances, {model.n_free} free nodes); {train_cfg.epochs} epochs, "
              f"{train_cfg.optimizer} lr {','.join(map(str, train_cfg.learning_rates))}, beta {train_cfg.beta} S, "
              f"batch {train_cfg.batch_size}; ngspice options {spice.options}", flush=True)
    callback = None if args.json else (lambda chk, ra, rb: print(_row(chk, ra, rb), flush=True))
    report = compare_backends(model.circuit, data, train_config=train_cfg, backends=("numpy", spice),
                              g_init=model.g, n_probe=extra["n_probe"], sweep_betas=betas,
                              sweep_modes=() if extra["no_sweep"] else ("positive", "centered"),
                              progress=args.progress, callback=callback, checkpoint_dir=out, resume=args.resume)
    report.setup["settings"] = {**run_cfg, **extra}
    files = [report.to_json(out / "report.json")]
    if not extra["no_plots"]:
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
