"""Train the Kendall-size circuit on MNIST with EqProp, through the NumPy twin or ngspice.

The net is ``kendall_circuit(784, 100, 10)``: 1568 +/-x input sources, 100 hidden neurons
with 1N4148 clamp diodes and bidirectional amplifiers (VCVS forward, CCCS of gain 1/A
back), 20 differential outputs. Every operating point (free and nudged phase of every
training example, free phase of every test example) comes from the chosen backend: the
NumPy Newton twin (``numpy``) or ngspice (``ngspice``: Norton-folded inputs, many examples
per ``.dc`` sweep, a pool of worker processes each with its own engine).

The defaults are the recipe recorded in ``benchmarks/BENCHMARKS.md`` (:data:`RECIPE`).
Prints one JSON line per epoch (train / test error, seconds and CPU seconds per epoch and
per example); checkpoints after every epoch and every ``--checkpoint-every`` minibatches,
so ``--resume`` continues a killed run with nothing lost (the learning-rate schedule is a
function of the epoch, so it resumes too).

With ``--backend ngspice`` the NumPy twin trains beside it (``--twin``, the default there): the
same circuit from the same initial conductances, the same batches, beta signs and schedule,
one epoch of ngspice then the same epoch of the twin, each with its own checkpoints (in
``OUT`` and ``OUT/twin``), so a resumed run continues whichever is behind. After every epoch
one record goes to ``--jsonl`` (default ``benchmarks/results/kendall_ngspice_10ep.jsonl``,
rewritten whole from both runs' histories, so a resume never duplicates a line): ngspice's
``epoch``, ``train_error``, ``test_error``, ``seconds``, ``backend``, the twin's
``twin_train_error`` / ``twin_test_error`` / ``twin_seconds``, the gaps ``gap_test_error`` /
``gap_train_error`` (ngspice minus twin, in error fraction), the weight divergence
``||g_ngspice - g_twin|| / ||g_twin||`` and a probe check (both backends on ngspice's
conductances, ``--probe`` training examples: the largest free / nudged ``|dV|`` and the update
cosine).

Validation (``--valid``): the last 10,000 training images are held out and evaluated after
every epoch (``valid_error``); ``--n-valid`` keeps the first N of them. Recipe settings are
chosen on it, never on the test set.

    python benchmarks/kendall_mnist.py --epochs 10 --out runs/kendall-numpy
    python benchmarks/kendall_mnist.py --backend ngspice --workers 2 --epochs 10 --out /work/runs/kendall-ngspice
    python benchmarks/kendall_mnist.py --valid --n-train 10000 --n-valid 5000 --epochs 2 --lr 1e-7  # recipe search
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from analog_eqprop.circuits import kendall_circuit
from analog_eqprop.data import load_mnist
from analog_eqprop.models import ResistiveNetwork
from analog_eqprop.parallel import make_executor
from analog_eqprop.training import TrainConfig, Trainer
from analog_eqprop.training.trainer import one_hot_targets

sys.path.insert(0, str(Path(__file__).resolve().parent))

from runinfo import code_commit  # noqa: E402

#: The recipe. Pixels are z-scored with MNIST's mean 0.1307 and std 0.3081 (input sources of
#: -0.42 .. 2.82 V, so the hidden voltages swing ~3x wider than with 0 .. 1 V); the lower
#: clamp rail at +0.5 V puts the 1N4148's knee just below 0 V at these currents, a soft
#: ReLU (the +/-0.5 V rails of the preset never conduct: hidden nodes stay within +/-0.05 V);
#: Adam with 3e-7 S steps, times 0.8 per epoch; one-sided current nudging with beta = 1e-6 S.
RECIPE = dict(lr=(3e-7,), lr_decay=0.8, beta=1e-6, beta_mode="positive", batch_size=20, clamp=(0.5, 2.0),
              amplifier=4.0, amplifier_back="inverse", g_init=(1e-6, 1e-5), g_min=1e-8, g_max=1e-3,
              target_on=0.1, target_off=-0.1, nudge="current", input_scale=3.2457, input_offset=-0.4242)


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(t) for t in text.split(",") if t.strip())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    r = RECIPE
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=("numpy", "ngspice"), default="numpy")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--n-train", type=int, default=None, help="first N training images (default: all 60k)")
    ap.add_argument("--n-test", type=int, default=None, help="first N test images (default: all 10k)")
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--lr", type=_floats, default=r["lr"], help="Adam learning rate(s) per layer [S]")
    ap.add_argument("--lr-decay", type=float, default=r["lr_decay"], help="learning rates times this per epoch")
    ap.add_argument("--beta", type=float, default=r["beta"], help="nudge strength [S]")
    ap.add_argument("--beta-mode", default=r["beta_mode"], choices=("positive", "random_sign", "centered"))
    ap.add_argument("--batch-size", type=int, default=r["batch_size"])
    ap.add_argument("--clamp", type=_floats, default=r["clamp"], help="clamp rails low,high [V]")
    ap.add_argument("--amplifier", type=float, default=r["amplifier"], help="amplifier gain A")
    ap.add_argument("--amplifier-back", default=r["amplifier_back"], choices=("inverse", "reciprocal"))
    ap.add_argument("--g-init", type=_floats, default=r["g_init"], help="initial conductances U(low,high) [S]")
    ap.add_argument("--g-min", type=float, default=r["g_min"], help="device range low [S]")
    ap.add_argument("--g-max", type=float, default=r["g_max"], help="device range high [S]")
    ap.add_argument("--target-on", type=float, default=r["target_on"], help="correct-class output [V]")
    ap.add_argument("--target-off", type=float, default=r["target_off"], help="other outputs [V]")
    ap.add_argument("--input-scale", type=float, default=r["input_scale"], help="source volts per unit pixel")
    ap.add_argument("--input-offset", type=float, default=r["input_offset"], help="volts added to every pixel")
    ap.add_argument("--nudge", default=r["nudge"], choices=("current", "resistive"))
    ap.add_argument("--workers", type=int, default=2, help="ngspice worker processes")
    ap.add_argument("--executor", default="process", choices=("process", "dask", "none"))
    ap.add_argument("--per-analysis", type=int, default=50, help="most examples per ngspice sweep")
    ap.add_argument("--loss", default=r.get("loss", "mse"), choices=("mse", "cross_entropy"),
                    help="output cost (cross_entropy needs current nudging)")
    ap.add_argument("--temperature", type=float, default=r.get("temperature", 0.02),
                    help="cross-entropy softmax temperature [V]")
    ap.add_argument("--schedule", default=r.get("schedule", "step"), choices=("step", "cosine"),
                    help="step: lr * lr_decay**epoch; cosine: lr down to lr * final_lr_ratio over the epochs, "
                         "per minibatch (--lr-decay then ignored)")
    ap.add_argument("--final-lr-ratio", type=float, default=r.get("final_lr_ratio", 0.0),
                    help="cosine schedule: final rate / first rate")
    ap.add_argument("--schedule-epochs", type=int, default=r.get("schedule_epochs", 10),
                    help="cosine schedule: epochs over which the rate falls (fixed, so that a shorter run "
                         "follows the first part of the full schedule)")
    ap.add_argument("--valid", action="store_true", help="hold out the last 10,000 training images for validation")
    ap.add_argument("--valid-size", type=int, default=10_000, help="with --valid: images held out (the last ones)")
    ap.add_argument("--n-valid", type=int, default=None, help="with --valid: first N of the held-out images")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--checkpoint-every", type=int, default=500, help="minibatches between in-epoch checkpoints")
    ap.add_argument("--out", default=None)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--twin", action=argparse.BooleanOptionalAction, default=None,
                    help="with --backend ngspice: train the NumPy twin beside it (default: on)")
    ap.add_argument("--jsonl", default=None,
                    help="per-epoch records of the ngspice + twin run (default "
                         "benchmarks/results/kendall_ngspice_10ep.jsonl)")
    ap.add_argument("--probe", type=int, default=50, help="training examples of the per-epoch agreement check")
    args = ap.parse_args(argv)
    if args.loss == "cross_entropy" and args.nudge != "current":
        ap.error("--loss cross_entropy needs --nudge current")
    if args.n_valid is not None and not args.valid:
        ap.error("--n-valid needs --valid")
    return args


def build(args: argparse.Namespace):
    """The circuit and the (scaled) data set of a run."""
    c = kendall_circuit(784, args.hidden, 10, seed=args.seed, amplifier=args.amplifier, clamp=tuple(args.clamp),
                        g_init=tuple(args.g_init), amplifier_back=args.amplifier_back, g_min=args.g_min,
                        g_max=args.g_max, target_on=args.target_on, target_off=args.target_off, nudge=args.nudge)
    data = load_mnist()
    if args.valid:
        data = data.split_validation(args.valid_size)
    if args.n_train or args.n_test or args.n_valid:
        data = data.subset(n_train=args.n_train, n_test=args.n_test, n_valid=args.n_valid)

    def f(a):
        return None if a is None else args.input_scale * a + args.input_offset

    return c, replace(data, x_train=f(data.x_train), x_test=f(data.x_test), x_valid=f(data.x_valid))


def make_trainer(c, args: argparse.Namespace, out: Path, backend="numpy") -> Trainer:
    """A model of circuit ``c`` on ``backend`` and its trainer (checkpoints in ``out``), resumed
    from there with ``--resume``."""
    cosine = args.schedule == "cosine"
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rates=args.lr, beta=args.beta,
                      beta_mode=args.beta_mode, optimizer="adam", persistent=True, shuffle=True,
                      eval_batch_size=1000, seed=args.seed, checkpoint_every=args.checkpoint_every,
                      schedule="cosine" if cosine else "constant",
                      final_lr_ratio=args.final_lr_ratio if cosine else 0.0,
                      schedule_epochs=args.schedule_epochs if cosine else 0)
    loss = None if args.loss == "mse" else ("cross_entropy", args.temperature)
    net = ResistiveNetwork(c, backend=backend, **({} if loss is None else {"loss": _loss(*loss)}))
    out.mkdir(parents=True, exist_ok=True)
    tr = Trainer(net, cfg, checkpoint_path=out / "checkpoint.npz", log_path=out / "log.jsonl", progress=False,
                 run_info={"args": {k: v for k, v in vars(args).items() if k not in ("resume",)}})
    if args.resume and (out / "checkpoint.npz").exists():
        tr.load_checkpoint(out / "checkpoint.npz")
    base = dict(tr.optimizer.lrs)

    def step_schedule() -> None:  # the rate of epoch tr.epoch: a function of it, so --resume keeps it
        if not cosine:
            for k, lr in base.items():
                tr.optimizer.lrs[k] = lr * args.lr_decay ** tr.epoch

    tr.step_schedule = step_schedule  # type: ignore[attr-defined]
    tr.base_lr = base[next(iter(base))]  # type: ignore[attr-defined]
    step_schedule()
    return tr


def _loss(name: str, temperature: float):
    from analog_eqprop.eqprop.losses import get_loss

    return get_loss(name, temperature=temperature)


def _lr_now(tr: Trainer) -> float:
    """The learning rate the last minibatch used (first layer) [S]."""
    scale = tr.schedule(tr.epoch) if tr.config.schedule != "constant" else 1.0
    return float(tr.optimizer.lrs[next(iter(tr.optimizer.lrs))] * scale)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    c, data = build(args)
    out = Path(args.out or f"runs/kendall-{args.backend}")
    twin = args.backend == "ngspice" and args.twin is not False
    tr = make_trainer(c, args, out)
    net = tr.model
    n_train = len(data.y_train)
    commit = code_commit()
    kind = None if args.backend == "numpy" or args.executor == "none" else args.executor
    with make_executor(kind, workers=args.workers) as ex:
        if args.backend == "ngspice":
            from analog_eqprop.solvers.ngspice_backend import NgspiceBackend

            net.backend = NgspiceBackend(per_analysis=args.per_analysis, executor=ex)
        print(f"# kendall_mnist {c.name} on {platform.node()} ({os.cpu_count()} CPUs), backend {args.backend}"
              f"{f' with {args.workers} {kind} workers' if kind else ''}"
              f"{' and the NumPy twin beside it' if twin else ''}"
              f", commit {commit}, {time.strftime('%Y-%m-%d %H:%M')}, {n_train} train / "
              f"{0 if data.y_valid is None else len(data.y_valid)} valid / {len(data.y_test)} test, "
              f"load average {os.getloadavg()[0]:.1f}, resuming at epoch {tr.epoch}", flush=True)
        clock = {"cpu": time.process_time(), "workers": 0.0}

        def report(rec, trainer=tr, label=args.backend):
            # CPU of this process plus the ngspice workers (the load-independent cost)
            stats = getattr(trainer.model.backend, "stats", {})
            workers = stats.get("chunk_cpu_seconds", 0.0) if (kind and label == "ngspice") else 0.0
            cpu = time.process_time() - clock["cpu"] + workers - clock["workers"]
            clock.update(cpu=time.process_time(), workers=workers)
            rec.update(s_per_example=rec["seconds_train"] / n_train, cpu_seconds=cpu, lr=_lr_now(trainer),
                       load_average=round(os.getloadavg()[0], 2), backend=label, commit=commit)
            trainer.step_schedule()  # the rate of the next epoch
            print(json.dumps({k: (float(f"{v:.6g}") if isinstance(v, float) else v) for k, v in rec.items()}),
                  flush=True)

        if not twin:
            tr.fit(data, callback=report)
            return
        lockstep(args, c, data, tr, report, commit)


def lockstep(args, c, data, tr: Trainer, report, commit: str) -> None:
    """ngspice and the NumPy twin, epoch by epoch from the same initial conductances; the
    per-epoch records (with the gap) rewritten to the jsonl after every epoch."""
    from analog_eqprop.compare import check_agreement

    out = Path(args.out or "runs/kendall-ngspice")
    tw = make_trainer(c, args, out / "twin")
    if not args.resume and not np.array_equal(tw.model.g, tr.model.g):
        raise SystemExit("the twin and the ngspice run do not start from the same conductances")
    jsonl = Path(args.jsonl or Path(__file__).resolve().parent / "results" / "kendall_ngspice_10ep.jsonl")
    extras_path = out / "lockstep.json"
    extras = json.loads(extras_path.read_text()) if args.resume and extras_path.exists() else {}
    x_probe = tr.model.check_inputs(data.x_train[:args.probe])
    t_probe = one_hot_targets(data.y_train[:args.probe], tr.model.n_outputs, tr.model.dtype)

    def write() -> None:
        lines = []
        for r, q in zip(tr.history, tw.history):
            e = extras.get(str(r["epoch"]), {})
            rec = {"epoch": r["epoch"], "backend": "ngspice", "train_error": r["train_error"],
                   "test_error": r["test_error"], "seconds": round(r["seconds"], 1),
                   "seconds_train": round(r["seconds_train"], 1), "s_per_example": r.get("s_per_example"),
                   "cpu_seconds": r.get("cpu_seconds"), "load_average": r.get("load_average"),
                   "twin_backend": "numpy", "twin_train_error": q["train_error"], "twin_test_error": q["test_error"],
                   "twin_seconds": round(q["seconds"], 1), "twin_load_average": q.get("load_average"),
                   "gap_test_error": r["test_error"] - q["test_error"],
                   "gap_train_error": r["train_error"] - q["train_error"], **e, "commit": r.get("commit")}
            if "valid_error" in r:
                rec.update(valid_error=r["valid_error"], twin_valid_error=q["valid_error"])
            lines.append(json.dumps(rec))
        jsonl.parent.mkdir(parents=True, exist_ok=True)
        tmp = jsonl.with_suffix(".tmp")
        tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        os.replace(tmp, jsonl)

    for epoch in range(1, args.epochs + 1):
        if tr.epoch < epoch:
            tr.fit(data, epochs=epoch, callback=report)
        if tw.epoch < epoch:
            tw.fit(data, epochs=epoch, callback=lambda rec: report(rec, trainer=tw, label="numpy"))
        if str(epoch) not in extras:
            ga, gb = tr.model.g, tw.model.g
            probe = ResistiveNetwork(c, backend="numpy", g=ga, loss=tr.model.loss)
            chk, _ = check_agreement(tr.model, probe, x_probe, t_probe, beta=args.beta,
                                     mode="centered" if args.beta_mode == "centered" else "positive")
            extras[str(epoch)] = {
                "weight_divergence": float(np.linalg.norm(ga - gb) / np.linalg.norm(gb)),
                "probe_max_abs_dv_free": chk.max_abs_dv_free, "probe_max_abs_dv_nudged": chk.max_abs_dv_nudged,
                "probe_update_cosine": chk.update_cosine, "probe_examples": int(x_probe.shape[0])}
            extras_path.write_text(json.dumps(extras), encoding="utf-8")
        write()
        r, q = tr.history[epoch - 1], tw.history[epoch - 1]
        print(f"# epoch {epoch}: test error ngspice {100 * r['test_error']:.2f} %, twin {100 * q['test_error']:.2f} %"
              f" (gap {100 * (r['test_error'] - q['test_error']):+.2f} pp), {json.dumps(extras[str(epoch)])}",
              flush=True)


if __name__ == "__main__":
    main()
