"""Does it matter where the weights sit? Two DRN trainers in one process, A/B, interleaved.

The DRN-1H step's time is bimodal between processes (BENCHMARKS, "Step against its floor on a
quiet machine"), and a 6.4 MB weight array gets 2 or 3 transparent huge pages (THP is in
``madvise`` mode here, and NumPy asks for them) depending on where malloc places it. This script
builds two identical
trainers whose conductance vectors are placed on purpose -- ``aligned``: starting on a 2 MiB
boundary (every 2 MiB of it can be a huge page); ``offset``: starting 1 MiB past one (the
fewest huge pages) -- checks that they train to the same numbers, then times their steps in
interleaved rounds (median thread CPU time per step) and prints one JSON object.

Example::

    python benchmarks/hugepages_ab.py --model drn-1h --rounds 9
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from limit import build  # noqa: E402

MIB2 = 2 ** 21


def placed(a: np.ndarray, offset_bytes: int) -> np.ndarray:
    """A copy of ``a`` whose data start ``offset_bytes`` past a 2 MiB boundary."""
    raw = np.empty(a.nbytes + 2 * MIB2, np.uint8)  # big: NumPy asks for huge pages (THP madvise)
    start = (-raw.ctypes.data) % MIB2 + offset_bytes
    out = raw[start:start + a.nbytes].view(a.dtype)
    out[...] = a
    return out


def trainer(model: str, dtype: str, offset_bytes: int):
    """A trainer whose model's conductance vector is placed at ``offset_bytes`` past 2 MiB."""
    import analog_eqprop.models.resistive as resistive

    orig = resistive.array

    def array(x, name, *a, **k):
        out = orig(x, name, *a, **k)
        return placed(out, offset_bytes) if name == "g" else out

    resistive.array = array
    try:
        tr, _ = build(model, dtype)
    finally:
        resistive.array = orig
    return tr


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="drn-1h", choices=("drn-xs", "drn-1h", "drn-2h"))
    ap.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--steps", type=int, default=40)
    args = ap.parse_args(argv)
    arms = {"aligned": trainer(args.model, args.dtype, 0), "offset": trainer(args.model, args.dtype, MIB2 // 2)}
    rng = np.random.default_rng(1)
    B = arms["aligned"].config.batch_size
    n = (args.rounds + 1) * args.steps * B
    x = rng.random((n, 784)).astype(args.dtype)
    y = rng.integers(0, 10, n)
    # the same data through both: the same conductances after, bit for bit (placement only)
    for tr in arms.values():
        tr.train_epoch(x[: args.steps * B], y[: args.steps * B])
    g = {k: tr.model._gbuf for k, tr in arms.items()}
    same = bool(np.array_equal(g["aligned"], g["offset"]))
    start = {k: int(v.ctypes.data % MIB2) for k, v in g.items()}
    times = {k: [] for k in arms}
    load0 = os.getloadavg()[0]
    for r in range(1, args.rounds + 1):
        sl = slice(r * args.steps * B, (r + 1) * args.steps * B)
        for k in (("aligned", "offset") if r % 2 else ("offset", "aligned")):
            tr = arms[k]
            stamps = []
            orig = tr.model.prepare

            def prepare(*a, _orig=orig, **kw):
                stamps.append(time.thread_time())
                return _orig(*a, **kw)

            tr.model.prepare = prepare
            try:
                tr.train_epoch(x[sl], y[sl])
            finally:
                del tr.model.prepare
            times[k].append(1e3 * float(np.median(np.diff(stamps))))
    med = {k: float(np.median(v)) for k, v in times.items()}
    print(json.dumps({"model": args.model, "dtype": args.dtype, "same_conductances": same, "start_mod_2MiB": start, "step_ms": med, "offset_over_aligned": med["offset"] / med["aligned"],
                      "step_ms_per_round": {k: [round(t, 3) for t in v] for k, v in times.items()},
                      "load_before": round(load0, 2), "load_after": round(os.getloadavg()[0], 2)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
