"""``analog-eqprop train``: train a network with EqProp, checkpointing every epoch."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from analog_eqprop.circuits.config import CIRCUIT_PRESETS, CircuitConfig
from analog_eqprop.cli.common import (JSON_HELP, HelpFormatter, add_dataclass_flags, collect_settings, default_text,
                                      format_value, model_defaults, print_json, read_run_settings, resume_conflicts,
                                      split_settings)
from analog_eqprop.config import to_dict
from analog_eqprop.data import load_dataset
from analog_eqprop.defaults import MODEL_DEFAULTS, MODEL_KINDS
from analog_eqprop.errors import ConfigError
from analog_eqprop.graphs import write_graph
from analog_eqprop.hardware import wrap_model
from analog_eqprop.models.factory import choose_backend, make_model
from analog_eqprop.models.hopfield import HopfieldConfig
from analog_eqprop.parallel import make_executor
from analog_eqprop.runinfo import run_metadata
from analog_eqprop.solvers.ngspice_backend import NgspiceBackend
from analog_eqprop.training import Trainer, atomic_write_text
from analog_eqprop.training.trainer import TrainConfig

RUN_KEYS = {"model", "sizes", "graph", "dataset", "data_dir", "out", "log", "n_train", "n_test", "init_seed",
            "workers", "executor", "scheduler", "per_analysis", "ngspice_timeout", "hardware", "hardware_set"}
#: Settings ``--resume`` lets change: how long to train, where the log goes, where the data and
#: the simulator workers are -- nothing that changes what the run computes (an ngspice run's
#: chunking follows its worker count, within the simulator's tolerances).
RESUME_SAFE = {"epochs", "checkpoint_every", "eval_batch_size", "out", "log", "data_dir", "workers", "executor",
               "scheduler", "per_analysis", "ngspice_timeout"}
#: Run settings of the ngspice backend only.
NGSPICE_KEYS = ("workers", "executor", "scheduler", "per_analysis", "ngspice_timeout")

DESCRIPTION = """\
Train with Equilibrium Propagation: a continuous Hopfield network (--model hopfield, the seed
model of Scellier & Bengio 2017) or a resistive circuit (--model circuit) whose operating
points come from exact block coordinate descent (bcd), the NumPy Newton solver or ngspice;
--backend auto (the default) takes bcd wherever it is exact, Newton otherwise.

Defaults come from one table per kind of model (analog_eqprop.defaults), shown below as
"default: A (hopfield) / B (circuit)" where they differ; circuit settings also depend on
--builder. Settings come from --config FILE (TOML or JSON, flat keys named like the flags;
or a run's own run.json, to reproduce it) and are overridden by flags.

Each run directory OUT holds checkpoint.npz (written atomically after every epoch), run.json
(every setting, with the backend --backend auto chose, plus versions), log.jsonl (one JSON
object per epoch) and, for Hopfield nets, model.json (the trained graph). --resume continues
OUT with its own settings; only --epochs, --checkpoint-every, --eval-batch-size, --log,
--data-dir and the ngspice worker options may change, any other flag that differs is refused.

examples:
  analog-eqprop train --epochs 3                     # Hopfield 64-64-10 on the built-in digits
  analog-eqprop train --model circuit --epochs 3     # drn 64-32-10 circuit, BCD
  analog-eqprop train --out runs/a --resume --epochs 10
  analog-eqprop train --config runs/a/run.json --out runs/b     # the same run again
  analog-eqprop train --model circuit --builder kendall --backend ngspice --sizes 64,16,10 --epochs 1
  analog-eqprop train --model circuit --backend ngspice --scheduler tcp://10.0.0.5:8786
  analog-eqprop train --dataset mnist --sizes 784,500,10 --learning-rates 0.1,0.05 --beta 0.5 --cost-scale 1
"""


def _kind_defaults() -> dict[str, dict[str, Any]]:
    return {kind: model_defaults(kind) for kind in MODEL_KINDS}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a network with EqProp", description=DESCRIPTION,
                       formatter_class=HelpFormatter)
    kinds = _kind_defaults()
    g = p.add_argument_group("model and data")
    g.add_argument("--model", default=None, choices=MODEL_KINDS,
                   help="hopfield (seed model) or circuit (resistive network) (default: hopfield)")
    g.add_argument("--sizes", default=None, help="layer sizes of a layered net, e.g. 784,500,10 "
                                                 f"({default_text('sizes', None, kinds)})")
    g.add_argument("--graph", default=None, help="a saved network graph (.json node_link or .graphml)")
    g.add_argument("--init-seed", dest="init_seed", default=None, type=int,
                   help="seed of the initial weights / conductances (default: the run's --seed)")
    g.add_argument("--dataset", default=None, help="digits (built in), mnist, fashion-mnist, iris, xor (default: digits)")
    g.add_argument("--data-dir", dest="data_dir", default=None,
                   help="directory of the IDX files (else $ANALOG_EQPROP_MNIST_DIR, then the data home: "
                        "`analog-eqprop data fetch mnist`)")
    g.add_argument("--n-train", dest="n_train", default=None, type=int, help="use only the first N training examples")
    g.add_argument("--n-test", dest="n_test", default=None, type=int, help="use only the first N test examples")
    g.add_argument("--hardware", default=None, help="--model circuit: build it of devices, a preset (ideal, rram, "
                   "pcm, ecram; hardware_models/) or a .toml file (default: none, the plain circuit)")
    g.add_argument("--hardware-set", dest="hardware_set", action="append", default=None, metavar="KEY=VALUE",
                   help="change one hardware setting, e.g. read_noise=0.02 (repeatable)")
    add_dataclass_flags(p, TrainConfig, "training", kinds)
    add_dataclass_flags(p, HopfieldConfig, "relaxation (--model hopfield)")
    builders = {b: model_defaults("circuit", b) for b in CIRCUIT_PRESETS}
    add_dataclass_flags(p, CircuitConfig, "circuit (--model circuit; defaults depend on --builder)", builders,
                        fixed={"builder": "drn"})
    o = p.add_argument_group("run")
    o.add_argument("--config", default=None, help="TOML or JSON file of settings, or a run's run.json (flags "
                                                  "override it)")
    o.add_argument("--out", default=None, help="run directory for checkpoint, run.json, log and trained graph "
                                               "(default: runs/<dataset>-<sizes>)")
    o.add_argument("--resume", action="store_true", help="continue OUT from its checkpoint, with its own settings")
    o.add_argument("--overwrite", action="store_true", help="start afresh even if OUT holds a checkpoint")
    o.add_argument("--log", default=None, metavar="PATH",
                   help="append one JSON object per epoch to PATH (default: OUT/log.jsonl)")
    o.add_argument("--json", action="store_true",
                   help=JSON_HELP + ": the run directory, the settings and every epoch's record, at the end "
                        "(progress lines go to standard error)")
    o.add_argument("--no-progress", action="store_true", help="no progress bar")
    o.add_argument("--workers", default=None, type=int,
                   help="--backend ngspice: worker processes, each with its own engine (default: one per core; "
                        "1: in this process)")
    o.add_argument("--executor", default=None, choices=("process", "dask", "none"),
                   help="--backend ngspice: a process pool (default), a local Dask cluster, or none (in this "
                        "process)")
    o.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="--backend ngspice: solve on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (started "
                        "with `dask scheduler` and `dask worker ADDRESS` on each machine)")
    o.add_argument("--per-analysis", dest="per_analysis", default=None, type=int,
                   help="--backend ngspice: most examples per .dc sweep (default: 50)")
    o.add_argument("--ngspice-timeout", dest="ngspice_timeout", default=None, type=float, metavar="S",
                   help="--backend ngspice: halt any analysis running longer than S seconds with a clear error "
                        "(default: no limit)")
    p.set_defaults(func=run)


def parse_sizes(text: Any) -> list[int]:
    """Layer sizes from ``--sizes`` text (``"784,500,10"``) or a list (ConfigError naming the problem)."""
    if isinstance(text, (list, tuple)):
        parts = list(text)
    else:
        parts = [t for t in str(text).split(",") if t.strip()]
    try:
        sizes = [int(t) for t in parts]
    except (TypeError, ValueError):
        raise ConfigError(f"--sizes must be comma-separated integers like 784,500,10, got {text!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise ConfigError(f"--sizes needs at least two layers of size >= 1, got {text!r}")
    return sizes


HOPFIELD_KEYS = set(HopfieldConfig.__dataclass_fields__)
CIRCUIT_KEYS = set(CircuitConfig.__dataclass_fields__)
TRAIN_KEYS = set(TrainConfig.__dataclass_fields__)
ALL_KEYS = sorted(RUN_KEYS | TRAIN_KEYS | HOPFIELD_KEYS | CIRCUIT_KEYS)


def resolve_settings(settings: dict[str, Any]) -> tuple[dict[str, Any], TrainConfig, Any]:
    """Layer the defaults: the kind's table < circuit preset < file < flags.

    The run settings come back complete enough to rebuild the run: ``model``, ``dataset`` and
    (without a graph) ``sizes`` as ``"a,b,c"`` are always there.
    """
    kind = settings.get("model", "hopfield")
    if kind not in MODEL_KINDS:
        raise ConfigError(f"--model must be hopfield or circuit, got {kind!r}")
    wrong = sorted(settings.keys() & (CIRCUIT_KEYS if kind == "hopfield" else HOPFIELD_KEYS))
    if wrong:
        raise ConfigError(f"setting(s) {', '.join(wrong)} do not apply to --model {kind}")
    builder = settings.get("builder", "drn") if kind == "circuit" else None
    if builder is not None and builder not in CIRCUIT_PRESETS:
        raise ConfigError(f"--builder must be one of {', '.join(CIRCUIT_PRESETS)}, got {builder!r}")
    merged = model_defaults(kind, builder)
    merged.update(settings)
    merged.setdefault("dataset", "digits")
    if settings.get("graph"):
        if settings.get("sizes"):
            raise ConfigError("give either --graph or --sizes, not both")
        merged.pop("sizes")
    else:
        merged["sizes"] = ",".join(map(str, parse_sizes(merged["sizes"])))
    run_cfg, train_cfg, model_cfg = split_settings(
        merged, (RUN_KEYS, "run"), (TrainConfig, "training"),
        (HopfieldConfig if kind == "hopfield" else CircuitConfig, "model"))
    return run_cfg, train_cfg, model_cfg


def flat_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Every setting a run would use, resolved, as one flat dict (to compare two runs' settings)."""
    run_cfg, train_cfg, model_cfg = resolve_settings(settings)
    return {**run_cfg, **to_dict(train_cfg), **to_dict(model_cfg)}


def run_tag(run_cfg: dict[str, Any], model_cfg: Any) -> str:
    """Short name of a run's network: its graph file's stem or its sizes (circuits: with the builder)."""
    if run_cfg.get("graph"):
        return Path(run_cfg["graph"]).stem
    sizes = run_cfg["sizes"].replace(",", "-")
    return sizes if run_cfg.get("model", "hopfield") == "hopfield" else f"{model_cfg.builder}-{sizes}"


def build_model(run_cfg: dict[str, Any], model_cfg: Any, seed: int):
    """The model described by the run settings (graph file or layer sizes) and a short tag.

    A circuit's ``backend="auto"`` becomes the fastest exact backend for the circuit as built
    (on its devices, with ``--hardware``): read it back from ``model_cfg_of(model, model_cfg)``.
    """
    kind = run_cfg.get("model", "hopfield")
    if run_cfg.get("graph") and run_cfg.get("sizes"):
        raise ConfigError("give either --graph or --sizes, not both")
    init_seed = run_cfg.get("init_seed")
    seed = seed if init_seed is None else int(init_seed)
    if run_cfg.get("graph"):
        source = {"graph": run_cfg["graph"]}
        tag = run_tag(run_cfg, model_cfg)
    else:  # older run records may lack the sizes: the kind's default then
        sizes = parse_sizes(run_cfg.get("sizes") or MODEL_DEFAULTS[kind]["sizes"])
        source = {"sizes": sizes}
        tag = run_tag({**run_cfg, "sizes": ",".join(map(str, sizes))}, model_cfg)

    def make(cfg):
        kw = {"hopfield": cfg} if kind == "hopfield" else {"circuit": cfg}
        return wrap_model(make_model(kind, seed=seed, **source, **kw), run_cfg.get("hardware"),
                          run_cfg.get("hardware_set"), seed=seed)

    if kind == "circuit" and model_cfg.backend == "auto" and run_cfg.get("hardware"):
        # devices may change the diodes, add amplifier offsets or line nodes: choose on the circuit built of them
        model = make(dataclasses.replace(model_cfg, backend="numpy"))
        if choose_backend(getattr(model, "physical", model.circuit)) == "bcd":
            try:  # built again on BCD: the same seed, the same devices
                model = make(dataclasses.replace(model_cfg, backend="bcd"))
            except ConfigError:
                pass  # the device model refuses BCD (e.g. line resistance): Newton it is
        return model, tag
    return make(model_cfg), tag  # make_model resolves "auto" on the plain circuit


def model_cfg_of(model: Any, model_cfg: Any) -> Any:
    """``model_cfg`` with the backend the model really uses (``auto`` resolved), for run.json."""
    if isinstance(model_cfg, CircuitConfig) and model_cfg.backend == "auto":
        inner = getattr(model, "inner", model)
        return dataclasses.replace(model_cfg, backend=getattr(inner.backend, "name", "numpy"))
    return model_cfg


def load_data(run_cfg: dict[str, Any]):
    name = run_cfg.get("dataset", "digits")
    kw = {"data_dir": run_cfg["data_dir"]} if run_cfg.get("data_dir") else {}
    data = load_dataset(name, **kw)
    if run_cfg.get("n_train") or run_cfg.get("n_test"):
        data = data.subset(n_train=run_cfg.get("n_train"), n_test=run_cfg.get("n_test"))
    return data


def _fmt(rec: dict[str, Any]) -> str:
    parts = [f"epoch {rec['epoch']:3d}", f"train {100 * rec['train_error']:6.2f}%"]
    if "valid_error" in rec:
        parts.append(f"valid {100 * rec['valid_error']:6.2f}%")
    parts += [f"test {100 * rec['test_error']:6.2f}%", f"{rec['seconds']:7.1f} s"]
    return "  ".join(parts)


def ngspice_pool(run_cfg: dict[str, Any], model: Any, model_cfg: Any):
    """Give an ngspice model its sweep size and worker pool for the ``with`` block: a process
    pool of one worker per core, an existing Dask cluster (``scheduler``), a local Dask cluster
    (``executor = dask``), or this process (``executor = none`` or ``workers = 1``)."""
    keys = [k for k in NGSPICE_KEYS if run_cfg.get(k) is not None]
    if getattr(model_cfg, "backend", None) != "ngspice":
        if keys:
            raise ConfigError(f"--{keys[0].replace('_', '-')} applies to --backend ngspice only (the "
                              f"{getattr(model_cfg, 'backend', 'numpy')} backend solves in this process)")
        return contextlib.nullcontext()
    scheduler = run_cfg.get("scheduler")
    if scheduler is not None:
        if run_cfg.get("executor") not in (None, "dask"):
            raise ConfigError(f"--scheduler sends the solves to a Dask cluster; it does not go with --executor "
                              f"{run_cfg['executor']}")
        if run_cfg.get("workers") is not None:
            raise ConfigError("--workers sizes a local pool; with --scheduler the cluster's workers do the solves")

    @contextlib.contextmanager
    def pool():
        if scheduler is not None:
            kind, workers = "dask", None
        else:
            workers = run_cfg.get("workers") or os.cpu_count() or 1
            kind = run_cfg.get("executor") or ("process" if workers > 1 else None)
        with cluster_executor(kind, workers, scheduler) as ex:
            model.backend = NgspiceBackend(per_analysis=run_cfg.get("per_analysis") or 50, executor=ex,
                                           timeout_s=run_cfg.get("ngspice_timeout"))
            yield

    return pool()


def cluster_executor(kind: str | None, workers: int | None, scheduler: str | None):
    """:func:`~analog_eqprop.parallel.make_executor`, or a client of the Dask cluster at
    ``scheduler``; a scheduler that cannot be reached is a clear error, not a traceback."""
    if scheduler is None:
        return make_executor(kind, workers=workers)

    @contextlib.contextmanager
    def client():
        with contextlib.ExitStack() as stack:
            try:
                ex = stack.enter_context(make_executor("dask", address=scheduler))
            except (OSError, TimeoutError) as exc:
                raise ConfigError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc}); start one "
                                  f"with `dask scheduler` and a `dask worker {scheduler}` on each machine") from None
            yield ex

    return client()


def _resume_settings(given: dict[str, Any], out: Path) -> dict[str, Any]:
    """A run directory's own settings, with the given ones that may change on resume."""
    saved = read_run_settings(out)
    given = dict(given)
    if given.get("backend") == "auto" and saved.get("backend") not in (None, "auto"):
        given.pop("backend")  # auto chose the saved backend for this very circuit
    changed = resume_conflicts(saved, given, RESUME_SAFE, flat_settings)
    if changed:
        before, after = flat_settings(saved), flat_settings({**saved, **given})
        what = "; ".join(f"--{k.replace('_', '-')} {format_value(after.get(k))} "
                         f"(the run's: {format_value(before.get(k))})" for k in changed)
        raise ConfigError(f"--resume continues {out} with its own settings ({out / 'run.json'}); refused: {what}. "
                          f"On resume only {', '.join('--' + k.replace('_', '-') for k in sorted(RESUME_SAFE))} "
                          f"may change; to start from these settings with changes, use --config "
                          f"{out / 'run.json'} --out NEW_DIR")
    return {**saved, **given, "out": str(out)}


def absolute_paths(run_cfg: dict[str, Any]) -> dict[str, Any]:
    """Paths a resumed or reproduced run must find from any working directory."""
    out = dict(run_cfg)
    for key in ("graph", "data_dir", "out", "log"):
        if out.get(key):
            out[key] = str(Path(out[key]).expanduser().resolve())
    hw = out.get("hardware")
    if hw and (str(hw).endswith(".toml") or "/" in str(hw)):
        out["hardware"] = str(Path(hw).expanduser().resolve())
    return out


def _check_log(log: Path, fresh: bool, overwrite: bool) -> None:
    """A fresh run never appends to (and so hides behind) another run's epoch records."""
    if not fresh or not log.exists() or log.stat().st_size == 0:
        return
    if overwrite:
        log.unlink()
        return
    raise ConfigError(f"--log {log} already holds epoch records (of another run?); remove it, give another "
                      f"--log, or pass --overwrite")


def run(args: argparse.Namespace) -> int:
    say = (lambda *a, **k: print(*a, file=sys.stderr, **k)) if args.json else print  # noqa: E731
    settings = collect_settings(args, ALL_KEYS)
    if args.resume and args.overwrite:
        raise ConfigError("--resume continues a run and --overwrite starts it afresh: give one of them")
    if args.resume:
        if settings.get("out"):
            out = Path(settings["out"])
        else:  # the default run directory of the given settings
            run_cfg, _, model_cfg = resolve_settings(settings)
            out = Path("runs") / f"{run_cfg['dataset']}-{run_tag(run_cfg, model_cfg)}"
        settings = _resume_settings(settings, out)
    run_cfg, train_cfg, model_cfg = resolve_settings(settings)
    model, tag = build_model(run_cfg, model_cfg, train_cfg.seed)
    model_cfg = model_cfg_of(model, model_cfg)
    data = load_data(run_cfg)
    out = Path(run_cfg.get("out") or Path("runs") / f"{data.name}-{tag}")
    run_cfg["out"] = str(out)
    ckpt = out / "checkpoint.npz"
    if ckpt.exists() and not (args.resume or args.overwrite):
        raise ConfigError(f"{out} already holds a checkpoint; pass --resume to continue it, --overwrite to start "
                          f"afresh, or --out DIR for a new run")
    if args.resume and not ckpt.exists():
        raise ConfigError(f"--resume: no checkpoint at {ckpt}")
    log = Path(run_cfg.get("log") or out / "log.jsonl")
    _check_log(log, fresh=not args.resume, overwrite=args.overwrite)
    if args.overwrite and ckpt.exists():
        ckpt.unlink()  # a kill before the first epoch ends must not leave the old run to resume
    kind = run_cfg["model"]
    run_cfg = absolute_paths(run_cfg)
    info = run_metadata({"run": run_cfg, "train": to_dict(train_cfg), kind: to_dict(model_cfg)},
                        with_ngspice=getattr(model_cfg, "backend", None) == "ngspice")
    trainer = Trainer(model, train_cfg, checkpoint_path=ckpt, log_path=log, progress=not args.no_progress,
                      run_info=info)
    if args.resume:
        trainer.load_checkpoint(ckpt)
        print(f"resumed {ckpt} at epoch {trainer.epoch}", file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "run.json", json.dumps(info, indent=2) + "\n")
    backend = f", {model_cfg.backend} backend" if kind == "circuit" else ""
    say(f"{data.name}: {len(data.y_train)} train / {len(data.y_test)} test; {kind} {tag} "
        f"({model.n_inputs} inputs, {model.n_free} free units{backend}); run dir {out}", flush=True)
    with ngspice_pool(run_cfg, model, model_cfg):
        trainer.fit(data, callback=lambda rec: say(_fmt(rec), flush=True))
    files = {"checkpoint": str(ckpt), "run": str(out / "run.json"), "log": str(log)}
    if hasattr(model, "to_graph"):
        write_graph(model.to_graph(), out / "model.json")
        files["model"] = str(out / "model.json")
    if args.json:
        print_json({"run_dir": str(out), "epochs_done": trainer.epoch, "history": trainer.history,
                    "final": trainer.history[-1] if trainer.history else None, "files": files,
                    "config": info["config"]})
        return 0
    if trainer.history:
        last = trainer.history[-1]
        saved = f"; trained graph in {files['model']}" if "model" in files else ""
        print(f"done: train error {100 * last['train_error']:.2f}%, test error {100 * last['test_error']:.2f}% "
              f"after {last['epoch']} epochs{saved}")
    return 0
