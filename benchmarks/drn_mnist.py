"""Deep resistive networks on MNIST with the peer's recipe, to its accuracy (issue 15, item 2).

The peer is Scellier 2024's ``papers/fast-drn/drn.py`` (rain-neuromorphics/energy-based-learning):
DRN-XS 1568-100-10 for 10 epochs (its result: 3.46 % test error, 30 min on its hardware),
DRN-1H 1568-1024-10 for 50 epochs (1.57 %, 2 h 36 min), DRN-2H 50 epochs (1.48 %), DRN-XL
100 epochs (1.33 %). Same network, gains, initialisation, BCD sweep counts, centered nudging,
batch 4, SGD learning rates and pixels in [0, 1] as there (``drn_models.py``), and its
learning-rate schedule: ``ExponentialLR(gamma=0.99)`` stepped after every epoch (epoch ``e``,
counted from 0, trains at ``lr * 0.99**e``). Our BCD backend, float32 by default, one BLAS
thread.

Differences left (both in ``drn_models.py`` / BENCHMARKS.md): the peer starts each batch's free
phase from the previous batch's last state, we start from 0 V; random streams (data order,
initial weights) differ; weights clamp at 1e-12 S, not 0.

After every epoch one record goes to the ``--jsonl`` file (default
``benchmarks/results/drn_mnist_{xs,1h,...}.jsonl``; rewritten whole from the run's history, so
a resumed run never duplicates a line): ``epoch``, ``train_error`` (measured at the free states
before each update, as both codes do), ``test_error`` (all 10,000 test images, each from 0 V),
``seconds`` (train + test of the epoch), ``seconds_train``, ``wall_seconds`` (the run so far, to 0.01 s,
summed over epochs: what ``--resume`` spans adds up), ``backend``, ``dtype``, ``lr``,
``load_average`` (1-min, at the epoch's end), ``commit``. Checkpoints every epoch and every
``--checkpoint-every`` minibatches into ``--out``; ``--resume`` continues a killed run exactly.

    python benchmarks/drn_mnist.py --model drn-xs --out /work/runs/drn-xs
    python benchmarks/drn_mnist.py --model drn-1h --out /work/runs/drn-1h --resume
    python benchmarks/drn_mnist.py --model drn-1h --epochs 1 --jsonl /tmp/x.jsonl   # a check
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from drn_models import PRESETS, peer_network  # noqa: E402
from runinfo import code_commit  # noqa: E402

#: The peer's epoch counts (``drn.py``) and its published test errors (MNIST, EP).
PEER = {"drn-xs": (10, 3.46, "30 min"), "drn-1h": (50, 1.57, "2 h 36 min"), "drn-2h": (50, 1.48, "4 h 29 min"),
        "drn-xl": (100, 1.33, "10 h 27 min")}
#: Its published Fashion-MNIST test errors (DRN-1H only).
PEER_FASHION = {"drn-1h": 10.38}
LR_GAMMA = 0.99  # the peer's ExponentialLR, stepped once per epoch


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=sorted(PRESETS), default="drn-xs")
    ap.add_argument("--epochs", type=int, default=None, help="default: the peer's (XS 10, 1H 50, 2H 50, XL 100)")
    ap.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default="mnist")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads")
    ap.add_argument("--lr-gamma", type=float, default=LR_GAMMA, help="learning rates times this after every epoch")
    ap.add_argument("--checkpoint-every", type=int, default=2500, help="minibatches between in-epoch checkpoints")
    ap.add_argument("--out", default=None, help="run directory: checkpoint.npz, log.jsonl, extras.json")
    ap.add_argument("--jsonl", default=None,
                    help="per-epoch records (default benchmarks/results/drn_<data>_<size>.jsonl)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--n-train", type=int, default=None, help="first N training images (checks only)")
    ap.add_argument("--n-test", type=int, default=None, help="first N test images (checks only)")
    args = ap.parse_args(argv)

    from threadpoolctl import threadpool_limits

    from analog_eqprop.data import load_mnist
    from analog_eqprop.training import Trainer

    threadpool_limits(args.threads)
    epochs = args.epochs or PEER[args.model][0]
    size = args.model.split("-", 1)[1]
    tag = "mnist" if args.dataset == "mnist" else "fmnist"
    jsonl = Path(args.jsonl or Path(__file__).resolve().parent / "results" / f"drn_{tag}_{size}.jsonl")
    out = Path(args.out or f"runs/drn-{tag}-{size}")
    out.mkdir(parents=True, exist_ok=True)
    data = load_mnist(args.data_dir, kind=args.dataset)
    if args.n_train or args.n_test:
        data = data.subset(n_train=args.n_train, n_test=args.n_test)
    net, cfg = peer_network(args.model, seed=args.seed, dtype=args.dtype)
    from dataclasses import replace

    cfg = replace(cfg, epochs=epochs, checkpoint_every=args.checkpoint_every)
    tr = Trainer(net, cfg, checkpoint_path=out / "checkpoint.npz", log_path=out / "log.jsonl", progress=False,
                 run_info={"args": vars(args)})
    if args.resume and (out / "checkpoint.npz").exists():
        tr.load_checkpoint(out / "checkpoint.npz")
    extras_path = out / "extras.json"
    extras = json.loads(extras_path.read_text()) if args.resume and extras_path.exists() else {}
    base_lrs = dict(tr.optimizer.lrs)
    commit = code_commit()

    def schedule() -> None:  # the rates of epoch tr.epoch (a function of it: --resume follows it)
        for k, lr in base_lrs.items():
            tr.optimizer.lrs[k] = lr * args.lr_gamma ** tr.epoch

    def write_records() -> None:
        wall, lines = 0.0, []
        for r in tr.history:
            wall += r["seconds"]
            e = extras.get(str(r["epoch"]), {})
            lines.append(json.dumps({
                "epoch": r["epoch"], "train_error": r["train_error"], "test_error": r["test_error"],
                "seconds": round(r["seconds"], 2), "seconds_train": round(r["seconds_train"], 2),
                "wall_seconds": round(wall, 2), "backend": "bcd", "dtype": args.dtype, "model": args.model,
                "dataset": args.dataset, "seed": args.seed, "batch_size": cfg.batch_size,
                "lr": e.get("lr"), "load_average": e.get("load_average"), "commit": e.get("commit")}))
        jsonl.parent.mkdir(parents=True, exist_ok=True)
        tmp = jsonl.with_suffix(".tmp")
        tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        os.replace(tmp, jsonl)

    def report(rec) -> None:
        extras[str(rec["epoch"])] = {"lr": tr.optimizer.lrs[next(iter(base_lrs))],
                                     "load_average": round(os.getloadavg()[0], 2), "commit": commit}
        extras_path.write_text(json.dumps(extras), encoding="utf-8")
        write_records()
        print(json.dumps({k: (float(f"{v:.6g}") if isinstance(v, float) else v) for k, v in rec.items()}
                         | extras[str(rec["epoch"])]), flush=True)
        schedule()

    n_peer, err_peer, wall_peer = PEER[args.model]
    if args.dataset != "mnist":  # the published figure for this data set, if there is one
        err_peer, wall_peer = PEER_FASHION.get(args.model, "no published"), "wall time not listed"
    print(f"# drn_mnist {args.model} {PRESETS[args.model].sizes} on {platform.node()} ({os.cpu_count()} CPUs), "
          f"{args.dataset}, BCD {args.dtype}, {args.threads} thread(s), {epochs} epochs (peer: {n_peer}, "
          f"{err_peer} % test error, {wall_peer}), seed {args.seed}, commit {commit}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}, load average {os.getloadavg()[0]:.2f}, resuming at epoch "
          f"{tr.epoch}", flush=True)
    t0 = time.perf_counter()
    schedule()
    tr.fit(data, callback=report)
    write_records()
    wall = sum(r["seconds"] for r in tr.history)
    print(f"# done: {tr.epoch} epochs, test error {100 * tr.history[-1]['test_error']:.2f} % "
          f"(lowest {100 * min(r['test_error'] for r in tr.history):.2f} %), run wall {wall:.0f} s "
          f"(this process {time.perf_counter() - t0:.0f} s), load average {os.getloadavg()[0]:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
