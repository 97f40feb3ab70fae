"""How a DRN training step scales with batch size and hidden width (tables + PNG plots).

The reference DRN setup (``drn_models.py``: 4 BCD sweeps per phase, centered EqProp, bias
currents, SGD), single hidden layer ``1568-H-10``, one BLAS thread unless ``--threads``:

* step time against the batch (H = 1024), float64 and float32 (library defaults), and float32
  with the +x / -x source pairs always folded onto the features (``F @ D`` once per step) or
  never, which is what ``analog_eqprop.solvers.bcd.FOLD_BATCH`` / ``FOLD_REUSE`` choose between;
* step time against H (batch 4), float64 and float32.

Writes ``results/scaling_batch.png``, ``results/scaling_width.png`` and, with ``--json``, the
numbers. Each point is the median of ``--repeats`` timings of ``--steps`` steps.

Example::

    python benchmarks/scaling.py --steps 20 --json benchmarks/results/scaling.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from drn_models import PeerPreset  # noqa: E402


def step_ms(hidden: int, batch: int, dtype: str, fold: bool | None, args, rng) -> float:
    """Median milliseconds per training step of a 1568-hidden-10 reference DRN."""
    from analog_eqprop.solvers import bcd
    from analog_eqprop.training import Trainer

    from drn_models import peer_network

    p = PeerPreset((784, hidden, 10), 480.0, 4, 1.0, (0.006, 0.006), (0.006, 0.006), batch_size=batch)
    net, cfg = peer_network(p, seed=0, dtype=dtype)
    tr = Trainer(net, cfg, progress=False)
    saved = bcd.FOLD_BATCH, bcd.FOLD_REUSE
    if fold is not None:
        bcd.FOLD_BATCH, bcd.FOLD_REUSE = (0, 0) if fold else (1 << 30, 1 << 30)
    try:
        n = batch * args.steps
        x = rng.random((n, 784))
        y = rng.integers(0, 10, n)
        tr.train_epoch(x[: batch * 3], y[: batch * 3])
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            tr.train_epoch(x, y)
            times.append((time.perf_counter() - t0) / args.steps)
    finally:
        bcd.FOLD_BATCH, bcd.FOLD_REUSE = saved
    return 1e3 * float(np.median(times))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", default="1,2,4,8,16,32,64,128")
    ap.add_argument("--widths", default="32,64,128,256,512,1024,2048,4096")
    ap.add_argument("--out", default=str(HERE / "results"), help="folder for the PNG plots")
    ap.add_argument("--json", help="write the numbers here")
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    rng = np.random.default_rng(0)
    batches = [int(b) for b in args.batches.split(",") if b]
    widths = [int(w) for w in args.widths.split(",") if w]
    print(f"# scaling {time.strftime('%Y-%m-%d %H:%M')}, {args.threads} BLAS thread(s), numpy {np.__version__}")
    res: dict = {"batch": {}, "width": {}}
    print("\n## step time against batch (1568-1024-10)\n")
    cols = [("float64", None), ("float32", None), ("float32", True), ("float32", False)]
    names = ["float64", "float32", "float32 folded", "float32 unfolded"]
    print("| batch | " + " | ".join(f"{n} ms/step" for n in names) + " | float32 us/example |")
    print("|---:|" + "---:|" * (len(cols) + 1))
    for B in batches:
        row = [step_ms(1024, B, dt, fold, args, rng) for dt, fold in cols]
        res["batch"][B] = dict(zip(names, row))
        print(f"| {B} | " + " | ".join(f"{v:.2f}" for v in row) + f" | {1e3 * row[1] / B:.0f} |", flush=True)
    print("\n## step time against hidden width (batch 4)\n")
    print("| hidden | conductances | float64 ms/step | float32 ms/step | float32 ns/conductance |")
    print("|---:|---:|---:|---:|---:|")
    for H in widths:
        row = [step_ms(H, 4, dt, None, args, rng) for dt in ("float64", "float32")]
        n_g = 1568 * H + 10 * H
        res["width"][H] = {"float64": row[0], "float32": row[1], "conductances": n_g}
        print(f"| {H} | {n_g} | {row[0]:.2f} | {row[1]:.2f} | {1e6 * row[1] / n_g:.2f} |", flush=True)
    if batches and widths:
        _plots(res, Path(args.out))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1), encoding="utf-8")
    return 0


def _plots(res: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)

    def loglog(rows: dict, names, xlabel: str, ylabel: str, title: str | None, path: Path) -> None:
        fig, ax = plt.subplots(figsize=(6, 4))
        xs = sorted(rows)
        for name in names:
            ax.loglog(xs, [rows[v][name] for v in xs], "o-", label=name)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)

    loglog(res["batch"], next(iter(res["batch"].values())), "batch size", "ms per training step",
           "DRN 1568-1024-10, 4 sweeps x 3 phases", out / "scaling_batch.png")
    loglog(res["width"], ("float64", "float32"), "hidden width H (1568-H-10)", "ms per training step (batch 4)",
           None, out / "scaling_width.png")


if __name__ == "__main__":
    raise SystemExit(main())
