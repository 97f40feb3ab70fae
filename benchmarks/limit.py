"""Our training step against the machine's floor for the same shapes, in one run.

The floor of an EqProp step on a net with batch ``B`` is what no implementation can skip: the
clamped inputs' drive (the product of the batch with the input weight block, ``(B, n_in) @
(n_in, n_1)``) and one read-modify-write pass over all the weights (the update). Both are
timed here with the library the step uses (NumPy, one BLAS thread), with preallocated outputs,
in rounds interleaved with rounds of our training steps, so that both see the same machine
load; the ratio is given per round too.

Models: ``drn-xs``, ``drn-1h``, ``drn-2h`` (Scellier 2024's deep resistive networks as the
peer comparison sets them up: ``drn_models.peer_network``, SGD, centered beta, batch 4) and
``hopfield-net1`` (the seed's 784-500-10, Table 2 settings, batch 20).

``--breakdown`` also times the parts of our step (wrapping the model's and solver's methods:
a few microseconds of overhead per call) and, with ``--reference``, the unfused path (gradient,
EqProp scaling, SGD update and clip as separate passes: ``SGD.step_phases`` switched off).

Examples
--------
::

    python benchmarks/limit.py --model drn-1h --dtype float32 --json
    python benchmarks/limit.py --model drn-xs --model drn-1h --model drn-2h --model hopfield-net1 --breakdown
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

MODELS = ("drn-xs", "drn-1h", "drn-2h", "hopfield-net1")
CLOCK = [time.thread_time]  # --clock wall: time.perf_counter


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def build(model: str, dtype: str):
    """``(trainer, x, y, floor shapes)`` for one model: the floor's input block ``(B, n_in, n_1)``
    and the weight arrays its RMW pass covers."""
    from analog_eqprop.training import Trainer

    if model == "hopfield-net1":
        from analog_eqprop.models import HopfieldConfig, HopfieldNetwork
        from analog_eqprop.training import TrainConfig

        net = HopfieldNetwork.layered([784, 500, 10], seed=0, config=HopfieldConfig(
            n_free=20, n_nudged=4, cost_scale=1.0, dtype=dtype))
        cfg = TrainConfig(batch_size=20, learning_rates=(0.1, 0.05), beta=0.5, beta_mode="random_sign")
        shape = (20, 784, 500)
    else:
        from drn_models import PRESETS, peer_network

        net, cfg = peer_network(model, seed=0, dtype=dtype)
        p = PRESETS[model]
        shape = (p.batch_size, 2 * p.sizes[0], p.sizes[1])
    return Trainer(net, cfg, progress=False), shape


class Floor:
    """The drive product and one RMW pass over the same number of weights, in ``dtype``."""

    def __init__(self, shape, n_weights: int, dtype):
        rng = np.random.default_rng(0)
        B, m, n = shape
        self.dt = np.dtype(dtype).type
        self.x = rng.random((B, m)).astype(dtype)
        self.w = rng.random(n_weights).astype(dtype)  # all the weights, the input block first
        self.block = self.w[: m * n].reshape(m, n)
        self.out = np.empty((B, n), dtype)
        self.one = self.dt(1.0)

    def drive(self):
        np.matmul(self.x, self.block, out=self.out)

    def rmw(self):
        np.multiply(self.w, self.one, out=self.w)  # read and write every weight once

    def __call__(self):
        self.drive()
        self.rmw()


def _rounds(tr, run_steps, floor, n_steps: int, repeats: int, n_floor: int):
    """Interleaved rounds; in each, the median time of one training step (timestamps at every
    batch's ``prepare``, inside one ``train_epoch``) and of one floor pass (and its two parts).
    Times are this thread's CPU time (``--clock cpu``, the default): on a shared machine a long
    step is preempted far more often than a short floor pass, which wall time would count
    against the step; medians are robust to the bursts of other jobs."""
    model = tr.model
    stamps: list[float] = []
    orig = model.prepare

    def prepare(*a, **k):
        stamps.append(CLOCK[0]())
        return orig(*a, **k)

    ours, fl, fd, fr = [], [], [], []
    for _ in range(repeats):
        stamps.clear()
        model.prepare = prepare
        try:
            run_steps(n_steps + 1)
        finally:
            del model.prepare  # back to the class's method
        ours.append(float(np.median(np.diff(stamps))))
        for target, f in ((fd, floor.drive), (fr, floor.rmw), (fl, floor)):
            f()
            ts = []
            for _ in range(n_floor):
                t0 = CLOCK[0]()
                f()
                ts.append(CLOCK[0]() - t0)
            target.append(float(np.median(ts)))
    return [1e3 * np.array(v) for v in (ours, fl, fd, fr)]


class _Timers:
    """Wrap methods to add up their wall time per label (for --breakdown)."""

    def __init__(self):
        self.t = defaultdict(float)
        self.undo = []

    def wrap(self, obj, name, label_of):
        orig = getattr(obj, name)

        def timed(*a, **k):
            t0 = CLOCK[0]()
            try:
                return orig(*a, **k)
            finally:
                self.t[label_of(*a, **k)] += CLOCK[0]() - t0

        setattr(obj, name, timed)
        self.undo.append((obj, name, orig))

    def restore(self):
        for obj, name, orig in reversed(self.undo):
            setattr(obj, name, orig)


def breakdown(tr, run_steps, n: int) -> dict[str, float]:
    """ms per step of the step's parts over ``n`` more steps (nested parts are subtracted from
    their callers: each label is time spent there and not in a deeper label)."""
    from analog_eqprop.eqprop import core

    model, T = tr.model, _Timers()
    stack: list[list[float]] = []

    def nest(obj, name, label_of):  # exclusive times: a callee's time is not its caller's
        orig = getattr(obj, name)

        def timed(*a, **k):
            stack.append([0.0])
            t0 = CLOCK[0]()
            try:
                return orig(*a, **k)
            finally:
                dt = CLOCK[0]() - t0
                inner = stack.pop()[0]
                T.t[label_of(*a, **k)] += dt - inner
                if stack:
                    stack[-1][0] += dt

        setattr(obj, name, timed)
        T.undo.append((obj, name, orig))

    backend = getattr(model, "backend", None)
    plan = backend.plan(model.system) if hasattr(backend, "plan") else None
    nest(model, "relax", lambda *a, beta=0.0, **k: "nudged phases (sweeps)" if beta else "free phase (sweeps)")
    if plan is not None:
        nest(plan, "built", lambda *a, **k: "blocks + diagonal sums (per new g)")
        nest(plan, "norton", lambda *a, **k: "drive product (per batch)")
    nest(model, "energy_grad_diff", lambda *a, **k: "gradient (reference path)")
    nest(tr.optimizer, "step", lambda *a, **k: "SGD update (reference path)")
    nest(tr.optimizer, "step_phases", lambda *a, **k: "fused gradient+scale+update+clip")
    nest(model, "project", lambda *a, **k: "clip (reference path)")
    orig_grad = core.EqPropPhases.gradient

    def grad(self, m):
        stack.append([0.0])
        t0 = CLOCK[0]()
        try:
            return orig_grad(self, m)
        finally:
            dt = CLOCK[0]() - t0
            T.t["EqProp scaling (reference path)"] += dt - stack.pop()[0]

    core.EqPropPhases.gradient = grad
    t0 = CLOCK[0]()
    try:
        run_steps(n)
    finally:
        T.restore()
        core.EqPropPhases.gradient = orig_grad
    total = CLOCK[0]() - t0
    out = {k: 1e3 * v / n for k, v in sorted(T.t.items(), key=lambda kv: -kv[1]) if v > 0}
    out["rest (trainer loop, checks, cost, labels)"] = 1e3 * total / n - sum(out.values())
    out["total"] = 1e3 * total / n
    return out


def measure(model: str, dtype: str, args) -> dict:
    tr, shape = build(model, dtype)
    if args.reference:
        tr.optimizer.step_phases = lambda *a, **k: (False, None)  # the unfused passes
    n_w = sum(v.size for v in tr.model.params.values())
    floor = Floor(shape, n_w, dtype)
    rng = np.random.default_rng(1)
    n_need = (args.warmup + (args.steps + 1) * args.repeats + args.steps * 2) * tr.config.batch_size
    x = rng.random((n_need, 784)).astype(np.float32 if dtype == "float32" else np.float64)
    y = rng.integers(0, 10, n_need)
    pos = [0]

    def run_steps(k):
        B = tr.config.batch_size
        sl = slice(pos[0] * B, (pos[0] + k) * B)
        pos[0] += k
        tr.train_epoch(x[sl], y[sl])

    run_steps(args.warmup)
    load0 = _load()
    ours, fl, fd, fr = _rounds(tr, run_steps, floor, args.steps, args.repeats, args.floor_repeats)
    ratio = ours / fl
    rec = dict(model=model, dtype=dtype, batch=tr.config.batch_size, n_weights=int(n_w), drive_shape=list(shape),
               step_ms=float(np.median(ours)), floor_ms=float(np.median(fl)), ratio=float(np.median(ratio)),
               ratio_per_round=[round(float(r), 3) for r in ratio], step_ms_all=[round(float(v), 4) for v in ours],
               floor_drive_ms=float(np.median(fd)), floor_rmw_ms=float(np.median(fr)),
               path="reference (unfused)" if args.reference else "ours", clock=args.clock, load_before=load0,
               load_after=_load(),
               numba=_numba_state())
    if args.breakdown:
        rec["breakdown_ms"] = {k: round(v, 4) for k, v in breakdown(tr, run_steps, args.steps).items()}
    return rec


def _numba_state() -> str:
    from analog_eqprop import kernels

    if not kernels.have_numba():
        return "off (NumPy tiles)"
    import numba

    return f"numba {numba.__version__}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=MODELS, action="append", dest="models", help="repeat for several "
                    "(default: drn-1h)")
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    ap.add_argument("--steps", type=int, default=40, help="training steps per timing round")
    ap.add_argument("--repeats", type=int, default=5, help="interleaved rounds (medians reported)")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--floor-repeats", type=int, default=40, help="floor passes per round (median reported)")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                    help="this thread's CPU time (default; robust to preemption on a shared machine) or wall time")
    ap.add_argument("--breakdown", action="store_true", help="also time the parts of the step")
    ap.add_argument("--reference", action="store_true", help="time the unfused reference path instead")
    ap.add_argument("--json", action="store_true", help="print one JSON object per model (and nothing else)")
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    CLOCK[0] = time.thread_time if args.clock == "cpu" else time.perf_counter
    models = args.models or ["drn-1h"]
    if not args.json:
        print(f"# limit.py {time.strftime('%Y-%m-%d %H:%M')}, numpy {np.__version__}, {args.threads} BLAS thread(s), "
              f"{args.dtype}, {args.clock} clock, load {_load()}")
        print("| model | path | step ms | floor ms (drive + RMW) | drive ms | RMW ms | step / floor | per round | load |")
        print("|---|---|---:|---:|---:|---:|---:|---|---|")
    for model in models:
        rec = measure(model, args.dtype, args)
        if args.json:
            print(json.dumps(rec), flush=True)
            continue
        print(f"| {model} | {rec['path']} | {rec['step_ms']:.3f} | {rec['floor_ms']:.3f} | {rec['floor_drive_ms']:.3f} "
              f"| {rec['floor_rmw_ms']:.3f} | **{rec['ratio']:.2f}x** | "
              f"{', '.join(f'{r:.2f}' for r in rec['ratio_per_round'])} | {rec['load_before']} |", flush=True)
        if args.breakdown:
            for k, v in rec["breakdown_ms"].items():
                print(f"#   {model}: {k}: {v:.3f} ms/step")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
