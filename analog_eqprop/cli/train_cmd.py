"""``analog-eqprop train``: train a network with EqProp, checkpointing every epoch."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from analog_eqprop.circuits.config import CIRCUIT_PRESETS, CircuitConfig
from analog_eqprop.cli.common import HelpFormatter, add_dataclass_flags, collect_settings, split_settings
from analog_eqprop.config import to_dict
from analog_eqprop.errors import ConfigError
from analog_eqprop.models.factory import MODEL_TRAIN_DEFAULTS, make_model
from analog_eqprop.models.hopfield import HopfieldConfig
from analog_eqprop.training.trainer import TrainConfig

RUN_KEYS = {"model", "sizes", "graph", "dataset", "data_dir", "out", "n_train", "n_test", "init_seed", "workers",
            "executor", "per_analysis", "ngspice_timeout", "hardware", "hardware_set"}

DESCRIPTION = """\
Train with Equilibrium Propagation: a continuous Hopfield network (--model hopfield, the seed
model of Scellier & Bengio 2017) or a resistive circuit (--model circuit) whose operating
points come from the NumPy Newton solver, exact block coordinate descent (bcd) or ngspice.

Settings come from --config FILE (TOML or JSON, flat keys named like the flags) and are
overridden by flags. After every epoch a checkpoint is written atomically to
OUT/checkpoint.npz; --resume continues from it with nothing lost.

examples:
  analog-eqprop train --sizes 64,32,10 --epochs 5
  analog-eqprop train --model circuit --builder drn --sizes 64,32,10 --epochs 5
  analog-eqprop train --model circuit --builder kendall --backend ngspice --sizes 64,16,10 --epochs 1
  analog-eqprop train --dataset mnist --sizes 784,500,10 --epochs 25 --cost-scale 1 --json log.jsonl
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a network with EqProp", description=DESCRIPTION,
                       formatter_class=HelpFormatter)
    g = p.add_argument_group("model and data")
    g.add_argument("--model", default=None, choices=("hopfield", "circuit"),
                   help="hopfield (seed model) or circuit (resistive network) (default: hopfield)")
    g.add_argument("--sizes", default=None, help="layer sizes of a layered net, e.g. 784,500,10 (default: 64,64,10)")
    g.add_argument("--graph", default=None, help="a saved network graph (.json node_link or .graphml)")
    g.add_argument("--init-seed", dest="init_seed", default=None, type=int,
                   help="seed of the Glorot-uniform initial weights (default: the run's --seed)")
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
    add_dataclass_flags(p, TrainConfig, "training")
    add_dataclass_flags(p, HopfieldConfig, "relaxation (--model hopfield)")
    add_dataclass_flags(p, CircuitConfig, "circuit (--model circuit; defaults depend on --builder)")
    o = p.add_argument_group("run")
    o.add_argument("--config", default=None, help="TOML or JSON file of settings (flags override it)")
    o.add_argument("--out", default=None, help="run directory for checkpoint, log and trained graph "
                                               "(default: runs/<dataset>-<sizes>)")
    o.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    o.add_argument("--overwrite", action="store_true", help="start afresh even if OUT holds a checkpoint")
    o.add_argument("--json", default=None, metavar="PATH", help="append one JSON object per epoch to PATH")
    o.add_argument("--no-progress", action="store_true", help="no progress bar")
    o.add_argument("--workers", default=None, type=int,
                   help="--backend ngspice: worker processes, each with its own engine (default: one per core; "
                        "1: in this process)")
    o.add_argument("--executor", default=None, choices=("process", "dask", "none"),
                   help="--backend ngspice: a process pool (default), a local Dask cluster, or none (in this "
                        "process)")
    o.add_argument("--per-analysis", dest="per_analysis", default=None, type=int,
                   help="--backend ngspice: most examples per .dc sweep (default: 50)")
    o.add_argument("--ngspice-timeout", dest="ngspice_timeout", default=None, type=float, metavar="S",
                   help="--backend ngspice: halt any analysis running longer than S seconds with a clear error "
                        "(default: no limit)")
    p.set_defaults(func=run)


def _parse_sizes(text: Any) -> list[int]:
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


def resolve_settings(settings: dict[str, Any]) -> tuple[dict[str, Any], TrainConfig, Any]:
    """Layer the defaults: dataclass < per-model training defaults < circuit preset < file < flags."""
    kind = settings.get("model", "hopfield")
    if kind not in MODEL_TRAIN_DEFAULTS:
        raise ConfigError(f"--model must be hopfield or circuit, got {kind!r}")
    wrong = sorted(settings.keys() & (CIRCUIT_KEYS if kind == "hopfield" else HOPFIELD_KEYS))
    if wrong:
        raise ConfigError(f"setting(s) {', '.join(wrong)} do not apply to --model {kind}")
    merged = dict(MODEL_TRAIN_DEFAULTS[kind])
    if kind == "circuit":
        builder = settings.get("builder", "drn")
        if builder not in CIRCUIT_PRESETS:
            raise ConfigError(f"--builder must be one of {', '.join(CIRCUIT_PRESETS)}, got {builder!r}")
        merged.update(CIRCUIT_PRESETS[builder])
    merged.update(settings)
    run_cfg, train_cfg, model_cfg = split_settings(
        merged, (RUN_KEYS, "run"), (TrainConfig, "training"),
        (HopfieldConfig if kind == "hopfield" else CircuitConfig, "model"))
    return run_cfg, train_cfg, model_cfg


def build_model(run_cfg: dict[str, Any], model_cfg: Any, seed: int):
    """The model described by the run settings (graph file or layer sizes) and a short tag."""
    kind = run_cfg.get("model", "hopfield")
    if run_cfg.get("graph") and run_cfg.get("sizes"):
        raise ConfigError("give either --graph or --sizes, not both")
    init_seed = run_cfg.get("init_seed")
    seed = seed if init_seed is None else int(init_seed)
    cfg = {"hopfield": model_cfg} if kind == "hopfield" else {"circuit": model_cfg}
    if run_cfg.get("graph"):
        model, tag = make_model(kind, graph=run_cfg["graph"], seed=seed, **cfg), Path(run_cfg["graph"]).stem
    else:
        default = "64,64,10" if kind == "hopfield" else "64,32,10"
        sizes = _parse_sizes(run_cfg.get("sizes", default))
        tag = "-".join(map(str, sizes)) if kind == "hopfield" else f"{model_cfg.builder}-" + "-".join(map(str, sizes))
        model = make_model(kind, sizes=sizes, seed=seed, **cfg)
    from analog_eqprop.hardware import wrap_model  # a circuit built of devices (--hardware), same seed

    return wrap_model(model, run_cfg.get("hardware"), run_cfg.get("hardware_set"), seed=seed), tag


def load_data(run_cfg: dict[str, Any]):
    from analog_eqprop.data import load_dataset

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


def _ngspice_workers(run_cfg: dict[str, Any], model: Any, model_cfg: Any):
    """Give an ngspice model its sweep size and worker pool for the ``with`` block: a process
    pool of one worker per core unless ``--executor none`` (or ``--workers 1``) keeps the
    solves in this process (the same results, one sweep after the other)."""
    import contextlib
    import os

    keys = [k for k in ("workers", "executor", "per_analysis", "ngspice_timeout") if run_cfg.get(k) is not None]
    if getattr(model_cfg, "backend", None) != "ngspice":
        if keys:
            raise ConfigError(f"--{keys[0].replace('_', '-')} applies to --backend ngspice only")
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def pool():
        from analog_eqprop.parallel import make_executor
        from analog_eqprop.solvers.ngspice_backend import NgspiceBackend

        workers = run_cfg.get("workers") or os.cpu_count() or 1
        kind = run_cfg.get("executor") or ("process" if workers > 1 else None)
        with make_executor(kind, workers=workers) as ex:
            model.backend = NgspiceBackend(per_analysis=run_cfg.get("per_analysis") or 50, executor=ex,
                                           timeout_s=run_cfg.get("ngspice_timeout"))
            yield

    return pool()


def run(args: argparse.Namespace) -> int:
    from analog_eqprop.graphs import write_graph
    from analog_eqprop.runinfo import run_metadata
    from analog_eqprop.training import Trainer, atomic_write_text

    keys = sorted(RUN_KEYS | set(TrainConfig.__dataclass_fields__) | HOPFIELD_KEYS | CIRCUIT_KEYS)
    settings = collect_settings(args, keys)
    run_cfg, train_cfg, model_cfg = resolve_settings(settings)
    model, tag = build_model(run_cfg, model_cfg, train_cfg.seed)
    data = load_data(run_cfg)
    out = Path(run_cfg.get("out") or Path("runs") / f"{data.name}-{tag}")
    ckpt = out / "checkpoint.npz"
    if ckpt.exists() and not (args.resume or args.overwrite):
        raise ConfigError(f"{out} already holds a checkpoint; pass --resume to continue it, --overwrite to start "
                          f"afresh, or --out DIR for a new run")
    kind = run_cfg.get("model", "hopfield")
    info = run_metadata({"run": run_cfg, "train": to_dict(train_cfg), kind: to_dict(model_cfg)},
                        with_ngspice=getattr(model_cfg, "backend", None) == "ngspice")
    trainer = Trainer(model, train_cfg, checkpoint_path=ckpt, log_path=args.json, progress=not args.no_progress,
                      run_info=info)
    if args.resume:
        if not ckpt.exists():
            raise ConfigError(f"--resume: no checkpoint at {ckpt}")
        trainer.load_checkpoint(ckpt)
        print(f"resumed {ckpt} at epoch {trainer.epoch}", file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "run.json", json.dumps(info, indent=2) + "\n")
    print(f"{data.name}: {len(data.y_train)} train / {len(data.y_test)} test; {kind} {tag} "
          f"({model.n_inputs} inputs, {model.n_free} free units); run dir {out}", flush=True)
    with _ngspice_workers(run_cfg, model, model_cfg):
        trainer.fit(data, callback=lambda rec: print(_fmt(rec), flush=True))
    saved = ""
    if hasattr(model, "to_graph"):
        write_graph(model.to_graph(), out / "model.json")
        saved = f"; trained graph in {out / 'model.json'}"
    if trainer.history:
        last = trainer.history[-1]
        print(f"done: train error {100 * last['train_error']:.2f}%, test error {100 * last['test_error']:.2f}% "
              f"after {last['epoch']} epochs{saved}")
    return 0
