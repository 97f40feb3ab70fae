"""Speed of the element-kinds refactor (issue 14): DRN and Kendall workloads, before and after, in one run.

Two copies of the package are timed alternately, each workload in a fresh subprocess per round
(so neither copy warms the other's caches), the machine's noise shared between them:

* ``--baseline DIR``: a directory holding the package before the change, e.g.
  ``mkdir -p /tmp/base && git archive <commit> analog_eqprop | tar -x -C /tmp/base``;
* the package this script sits beside (the repository's ``analog_eqprop``).

Workloads (one BLAS thread; CPU seconds of the subprocess -- ngspice's included, it runs as a
shared library -- which a shared machine disturbs less than wall time; the best of
``--repeats`` timings inside each subprocess, the median over ``--rounds`` subprocesses):

``drn-build``       ``drn_circuit([784, 100, 10])`` (157,000 conductances) built from its graph
``drn-step``        a centered training step of it on the BCD backend (batch 4, 4 sweeps)
``kendall-build``   ``kendall_circuit(784, 100, 10)`` (159,040 conductances, amplifiers, 1N4148s)
``kendall-newton``  its free and nudged phases by Newton (batch 20, MNIST-like inputs)
``kendall-step``    a centered training step of it through ngspice (batch 20, Norton sweep decks)
``compile``         ``compile_sweep`` of the Kendall circuit's Norton form for 20 examples

Prints one line per workload with both medians [ms of CPU] and their ratio (after / before),
and the load average before and after.

    python benchmarks/elements_speed.py --baseline /tmp/base --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKLOADS = ("drn-build", "drn-step", "kendall-build", "kendall-newton", "kendall-step", "compile")

_CHILD = r'''
import json, sys, time
import numpy as np
from threadpoolctl import threadpool_limits
threadpool_limits(1)
work, repeats = sys.argv[1], int(sys.argv[2])
from analog_eqprop.circuits import drn_circuit, kendall_circuit
from analog_eqprop.models import ResistiveNetwork
from analog_eqprop.training import TrainConfig, Trainer
rng = np.random.default_rng(0)

def med(f, n):  # CPU seconds of this process (ngspice's included: the shared library), best of n
    ts = []
    for _ in range(n):
        t0 = time.process_time(); f(); ts.append(time.process_time() - t0)
    return float(np.min(ts))

if work == "drn-build":
    t = med(lambda: drn_circuit([784, 100, 10], seed=0), repeats)
elif work == "kendall-build":
    t = med(lambda: kendall_circuit(784, 100, 10, seed=0), repeats)
elif work == "compile":
    from analog_eqprop.netlist import compile_sweep
    from analog_eqprop.solvers.ngspice_backend import NortonPlan
    c = kendall_circuit(784, 100, 10, seed=0)
    plan = NortonPlan(c)
    X = rng.random((20, 784))
    g, xe = plan.fold(c.edge_g, X)
    t = med(lambda: compile_sweep(plan.reduced, g, xe, form="norton", repeats=3), repeats)
else:
    if work == "drn-step":
        from analog_eqprop.solvers.bcd import BCDBackend
        c = drn_circuit([784, 100, 10], seed=0)
        net = ResistiveNetwork(c, backend=BCDBackend(max_iter=4, tol=0.0, throw=False, kkt=False))
        B, lrs = 4, (1e-3, 1e-3)
    else:
        c = kendall_circuit(784, 100, 10, seed=0)
        B, lrs = 20, (1e-7, 1e-7)
        net = ResistiveNetwork(c, backend="ngspice" if work == "kendall-step" else "numpy")
    if work == "kendall-newton":
        x = rng.random((B, 784))
        t_ = np.eye(10)[rng.integers(0, 10, B)]
        def phase():
            s = net.relax(x, net.init_state(B)).state
            net.relax(x, s, beta=1e-6, target=t_)
        phase()
        t = med(phase, repeats)
    else:
        tr = Trainer(net, TrainConfig(batch_size=B, learning_rates=lrs, beta=1e-6, beta_mode="centered",
                                      persistent=False), progress=False)
        n_steps = 3 if work == "kendall-step" else 100
        x = rng.random((B * n_steps * (repeats + 1), 784))
        y = rng.integers(0, 10, len(x))
        tr.train_epoch(x[:B], y[:B])
        pos = [B]
        def steps():
            sl = slice(pos[0], pos[0] + B * n_steps); pos[0] += B * n_steps
            tr.train_epoch(x[sl], y[sl])
        t = med(steps, repeats) / n_steps
print(json.dumps({"work": work, "seconds": t}))
'''


def _run(tree: Path, work: str, repeats: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, "-c", _CHILD, work, str(repeats)], env=env, capture_output=True, text=True,
                         timeout=3600)
    if res.returncode:
        raise SystemExit(f"{work} failed in {tree}:\n{res.stderr[-2000:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    return float(out["seconds"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", required=True, help="directory holding the package before the change")
    ap.add_argument("--rounds", type=int, default=3, help="subprocesses per copy and workload (alternating)")
    ap.add_argument("--repeats", type=int, default=3, help="timings inside each subprocess (median)")
    ap.add_argument("--only", nargs="*", choices=WORKLOADS, help="run these workloads only")
    ap.add_argument("--json", help="write the records to this file")
    args = ap.parse_args(argv)
    base, new = Path(args.baseline).resolve(), HERE.parent
    if not (base / "analog_eqprop" / "__init__.py").is_file():
        raise SystemExit(f"{base} holds no analog_eqprop package")
    load0 = os.getloadavg()
    records = []
    for work in args.only or WORKLOADS:
        times = {"before": [], "after": []}
        for r in range(args.rounds):
            order = (("before", base), ("after", new)) if r % 2 == 0 else (("after", new), ("before", base))
            for label, tree in order:
                times[label].append(_run(tree, work, args.repeats))
        med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
        rec = dict(work=work, before_s=med["before"], after_s=med["after"], ratio=med["after"] / med["before"],
                   before_all=times["before"], after_all=times["after"])
        records.append(rec)
        print(f"{work:15} before {1e3 * rec['before_s']:9.2f} ms   after {1e3 * rec['after_s']:9.2f} ms   "
              f"ratio {rec['ratio']:.3f}", flush=True)
    load1 = os.getloadavg()
    print(f"load average {load0[0]:.2f} -> {load1[0]:.2f}; {time.strftime('%Y-%m-%d %H:%M')}")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(records=records, load=[load0, load1]), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
