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

    python benchmarks/kendall_mnist.py --epochs 10 --out runs/kendall-numpy
    python benchmarks/kendall_mnist.py --backend ngspice --workers 2 --epochs 1 --out runs/kendall-ngspice
    python benchmarks/kendall_mnist.py --n-train 10000 --n-test 2000 --epochs 2 --lr 1e-7   # recipe search
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

from analog_eqprop.circuits import kendall_circuit
from analog_eqprop.data import load_mnist
from analog_eqprop.models import ResistiveNetwork
from analog_eqprop.parallel import make_executor
from analog_eqprop.training import TrainConfig, Trainer

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
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--checkpoint-every", type=int, default=500, help="minibatches between in-epoch checkpoints")
    ap.add_argument("--out", default=None)
    ap.add_argument("--resume", action="store_true")
    return ap.parse_args(argv)


def build(args: argparse.Namespace):
    """The circuit and the (scaled) data set of a run."""
    c = kendall_circuit(784, args.hidden, 10, seed=args.seed, amplifier=args.amplifier, clamp=tuple(args.clamp),
                        g_init=tuple(args.g_init), amplifier_back=args.amplifier_back, g_min=args.g_min,
                        g_max=args.g_max, target_on=args.target_on, target_off=args.target_off, nudge=args.nudge)
    data = load_mnist()
    if args.n_train or args.n_test:
        data = data.subset(n_train=args.n_train, n_test=args.n_test)

    def f(a):
        return None if a is None else args.input_scale * a + args.input_offset

    return c, replace(data, x_train=f(data.x_train), x_test=f(data.x_test), x_valid=f(data.x_valid))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    c, data = build(args)
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rates=args.lr, beta=args.beta,
                      beta_mode=args.beta_mode, optimizer="adam", persistent=True, shuffle=True,
                      eval_batch_size=1000, seed=args.seed, checkpoint_every=args.checkpoint_every)
    out = Path(args.out or f"runs/kendall-{args.backend}")
    out.mkdir(parents=True, exist_ok=True)
    net = ResistiveNetwork(c, backend="numpy")
    tr = Trainer(net, cfg, checkpoint_path=out / "checkpoint.npz", log_path=out / "log.jsonl", progress=False,
                 run_info={"args": vars(args)})
    if args.resume and (out / "checkpoint.npz").exists():
        tr.load_checkpoint(out / "checkpoint.npz")
    n_train = len(data.y_train)
    base_lrs = dict(tr.optimizer.lrs)

    def schedule() -> None:
        for k, lr in base_lrs.items():
            tr.optimizer.lrs[k] = lr * args.lr_decay ** tr.epoch

    kind = None if args.backend == "numpy" or args.executor == "none" else args.executor
    with make_executor(kind, workers=args.workers) as ex:
        if args.backend == "ngspice":
            from analog_eqprop.solvers.ngspice_backend import NgspiceBackend

            net.backend = NgspiceBackend(per_analysis=args.per_analysis, executor=ex)
        print(f"# kendall_mnist {c.name} on {platform.node()} ({os.cpu_count()} CPUs), backend {args.backend}"
              f"{f' with {args.workers} {kind} workers' if kind else ''}, {time.strftime('%Y-%m-%d %H:%M')}, "
              f"{n_train} train / {len(data.y_test)} test, load average {os.getloadavg()[0]:.1f}", flush=True)
        clock = {"cpu": time.process_time(), "workers": 0.0}

        def report(rec):
            # CPU of this process plus the ngspice workers (the load-independent cost)
            stats = getattr(net.backend, "stats", {})
            workers = stats.get("chunk_cpu_seconds", 0.0) if kind else 0.0
            cpu = time.process_time() - clock["cpu"] + workers - clock["workers"]
            clock.update(cpu=time.process_time(), workers=workers)
            rec = dict(rec, s_per_example=rec["seconds_train"] / n_train, cpu_seconds=cpu,
                       lr=tr.optimizer.lrs[next(iter(base_lrs))], load_average=os.getloadavg()[0])
            schedule()  # the rate of the next epoch: a function of the epoch, so --resume keeps it
            print(json.dumps({k: (float(f"{v:.6g}") if isinstance(v, float) else v) for k, v in rec.items()}),
                  flush=True)

        schedule()
        tr.fit(data, callback=report)


if __name__ == "__main__":
    main()
