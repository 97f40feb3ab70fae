"""Reproduce the seed paper's MNIST settings (Scellier & Bengio 2017, Table 2 / published code).

Net1: 784-500-10, 25 epochs, 20 free / 4 nudged steps, eps 0.5, beta 0.5 with random sign,
learning rates 0.1 / 0.05, batch 20, persistent particles, the first 50k MNIST training
images for training and the last 10k for validation, then the 10k test set. The cost is the
seed code's sum of squares without the 1/2 (cost_scale = 1).

Net2: 784-500-500-10, 100 free / 6 nudged steps, beta 1.0, learning rates 0.4 / 0.1 / 0.01,
run for as many epochs as fit in --max-minutes.

Prints one line per epoch and a Markdown table; appends JSON lines to OUT/log.jsonl and
checkpoints every epoch (rerun with --resume to continue an interrupted run).

Model selection (``--select``, printed at the end): the epoch of the lowest validation error
(the first one on ties) is the early-stopped model, whose parameters are kept in OUT/best.npz;
its test error is the one logged at that epoch. The final and the early-stopped models are
also evaluated once more from all-zero states with ``--eval-iters`` free steps (the seed's 20
from persistent particles may stop short of the fixed point), and the table says both.

``--pixels 256`` divides the raw pixels by 256 as the seed's ``mnist.pkl.gz`` stores them
(max 255/256); the default 255 is the toolkit's loader.

    python benchmarks/seed_table2.py --net net1
    python benchmarks/seed_table2.py --net net1 --pixels 256 --seed 1 --out /work/runs/seed-net1-s1
    python benchmarks/seed_table2.py --net net2 --max-minutes 30
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from analog_eqprop.data import load_mnist
from analog_eqprop.models import HopfieldConfig, HopfieldNetwork
from analog_eqprop.training import TrainConfig, Trainer

NETS = {
    "net1": dict(sizes=[784, 500, 10], epochs=25, n_free=20, n_nudged=4, beta=0.5, lrs=(0.1, 0.05)),
    "net2": dict(sizes=[784, 500, 500, 10], epochs=60, n_free=100, n_nudged=6, beta=1.0, lrs=(0.4, 0.1, 0.01)),
    "net3": dict(sizes=[784, 500, 500, 500, 10], epochs=500, n_free=500, n_nudged=8, beta=1.0,
                 lrs=(0.128, 0.032, 0.008, 0.002)),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--net", choices=sorted(NETS), default="net1")
    ap.add_argument("--epochs", type=int, default=None, help="override the seed's epoch count")
    ap.add_argument("--max-minutes", type=float, default=None, help="stop after the epoch that crosses this")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="run directory (default runs/seed-<net>)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--pixels", type=float, default=255.0, choices=(255.0, 256.0),
                    help="divide raw pixels by this (the seed's pickle: 256)")
    ap.add_argument("--beta-mode", default="random_sign", choices=("random_sign", "centered", "positive"),
                    help="the seed's random sign (default), or centered nudging (+beta and -beta: not the seed's)")
    ap.add_argument("--eval-iters", type=int, default=200,
                    help="free steps of the final from-zero evaluations (0: skip them)")
    args = ap.parse_args()

    spec = NETS[args.net]
    epochs = args.epochs or spec["epochs"]
    out = Path(args.out or f"runs/seed-{args.net}")
    out.mkdir(parents=True, exist_ok=True)
    data = load_mnist(args.data_dir)
    if args.pixels != 255.0:
        k = 255.0 / args.pixels
        data = replace(data, x_train=data.x_train * k, x_test=data.x_test * k)
    hop = HopfieldConfig(eps=0.5, n_free=spec["n_free"], n_nudged=spec["n_nudged"], cost_scale=1.0, dtype=args.dtype)
    net = HopfieldNetwork.layered(spec["sizes"], seed=args.seed, config=hop)
    cfg = TrainConfig(epochs=epochs, batch_size=20, learning_rates=spec["lrs"], beta=spec["beta"],
                      beta_mode=args.beta_mode, persistent=True, shuffle=False, n_valid=10_000, seed=args.seed)
    tr = Trainer(net, cfg, checkpoint_path=out / "checkpoint.npz", log_path=out / "log.jsonl", progress=False)
    if args.resume and (out / "checkpoint.npz").exists():
        tr.load_checkpoint(out / "checkpoint.npz")
    print(f"# {args.net} {spec['sizes']} on {platform.node()} ({platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs), dtype {args.dtype}, seed {args.seed}, beta {args.beta_mode}, "
          f"pixels / {args.pixels:g}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}, load average {os.getloadavg()[0]:.2f}", flush=True)
    t_start = time.perf_counter()
    best_path = out / "best.npz"

    def report(rec):
        rec = dict(rec, load_average=os.getloadavg()[0])
        print(json.dumps({k: (round(v, 5) if isinstance(v, float) else v) for k, v in rec.items()}), flush=True)
        if min(tr.history, key=lambda r: r["valid_error"])["epoch"] == rec["epoch"]:
            np.savez(best_path, epoch=rec["epoch"], **net.params)  # the early-stopped model so far
        if args.max_minutes and time.perf_counter() - t_start > 60 * args.max_minutes:
            raise StopIteration

    try:
        tr.fit(data, callback=report)
    except StopIteration:
        print(f"# stopped after {tr.epoch} epochs (--max-minutes {args.max_minutes})")
    print(f"# wall {time.perf_counter() - t_start:.0f} s, load average {os.getloadavg()[0]:.2f}")
    select(tr, net, data, best_path, args.eval_iters)
    print("\n| epoch | train error % | valid error % | test error % | s/epoch (train) | s/epoch (total) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in tr.history:
        print(f"| {r['epoch']} | {100 * r['train_error']:.2f} | {100 * r['valid_error']:.2f} | "
              f"{100 * r['test_error']:.2f} | {r['seconds_train']:.1f} | {r['seconds']:.1f} |")


def select(tr: Trainer, net: HopfieldNetwork, data, best_path: Path, eval_iters: int) -> None:
    """Early stopping on the validation error, and from-zero evaluations of the final and the
    early-stopped model (printed, and appended as one JSON line to the run's log)."""
    if not tr.history:
        return
    best = min(tr.history, key=lambda r: r["valid_error"])
    last = tr.history[-1]
    rec = {"selection": "lowest validation error", "best_epoch": best["epoch"],
           "best_valid_error": best["valid_error"], "best_test_error": best["test_error"],
           "final_epoch": last["epoch"], "final_valid_error": last["valid_error"],
           "final_test_error": last["test_error"]}
    if eval_iters and best_path.exists():
        x_test = net.check_inputs(data.x_test)
        final = {k: v.copy() for k, v in net.params.items()}
        with np.load(best_path) as z:
            kept = {k: z[k] for k in final}
        for name, params in (("final", final), ("best", kept)):
            for k in net.params:
                net.params[k][...] = params[k]
            for n_it in sorted({net.config.n_free, eval_iters}):
                s = net.relax(x_test, net.init_state(len(x_test)), n_iter=n_it).state
                err = float(np.mean(np.argmax(net.output(s), axis=1) != data.y_test))
                rec[f"{name}_test_error_zero_start_{n_it}it"] = err
        for k in net.params:
            net.params[k][...] = final[k]
    print("# selection " + json.dumps({k: (round(v, 5) if isinstance(v, float) else v) for k, v in rec.items()}))
    if tr.log_path:
        with open(tr.log_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
