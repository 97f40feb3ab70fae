"""Memory over many ngspice solves: does the process stay flat over a long run?

Runs N operating points of a digits-sized circuit through the ngspice backend (one ``.op``
per solve, a fresh netlist each time as in training, where the conductances change every
batch) and prints the resident set size every ``--every`` solves, then the growth.

    python benchmarks/ngspice_memory.py --solves 10000
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from analog_eqprop.circuits import drn_circuit
from analog_eqprop.data import load_digits
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.solvers.ngspice_backend import NgspiceBackend


def rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--solves", type=int, default=10_000)
    ap.add_argument("--every", type=int, default=1000)
    ap.add_argument("--per-analysis", type=int, default=1, help="examples per analysis (1: one .op per solve)")
    args = ap.parse_args()
    c = drn_circuit([64, 32, 10], seed=0)
    sysm = MNASystem(c)
    X = load_digits().x_train
    backend = NgspiceBackend(per_analysis=args.per_analysis)
    rng = np.random.default_rng(0)
    g = c.edge_g.copy()
    print(f"# {args.solves} solves of {c.name} through ngspice ({platform.node()}, {time.strftime('%Y-%m-%d')})")
    print("| solves | RSS MiB |")
    print("|---:|---:|")
    backend.operating_point(sysm, g, X[:1])  # warm up: library load and first allocations
    base = rss_mib()
    print(f"| 0 | {base:.1f} |")
    t0 = time.perf_counter()
    done, rows = 0, [(0, base)]
    while done < args.solves:
        k = min(args.per_analysis, args.solves - done)
        g *= np.exp(1e-3 * rng.standard_normal(g.shape))  # new conductances, like training
        backend.operating_point(sysm, g, X[done % len(X):done % len(X) + k] if k > 1 else X[[done % len(X)]])
        done += k
        if done % args.every == 0:
            rows.append((done, rss_mib()))
            print(f"| {done} | {rows[-1][1]:.1f} |", flush=True)
    secs = time.perf_counter() - t0
    growth = rows[-1][1] - base
    summary = {"solves": done, "rss_start_mib": round(base, 1), "rss_end_mib": round(rows[-1][1], 1),
               "growth_mib": round(growth, 2), "growth_kib_per_solve": round(1024 * growth / done, 3),
               "seconds": round(secs, 1)}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
