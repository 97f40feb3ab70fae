"""Seconds per training example through ngspice, naive vs fast, on the Kendall-size net.

A training example costs two operating points: the free phase, then the nudged phase
(current nudging from the free state). Measured in one run, on real MNIST examples:

* **naive**: one ``.op`` of the FULL netlist (1568 input sources, 159,040 resistors) per
  example and phase -- ``NgspiceBackend(form="full", per_analysis=1)`` in this process, as
  EBANA-style tools do; a few examples only, it is slow;
* **fast**: Norton-folded inputs, many examples per ``.dc`` sweep, chunks on a pool of
  worker processes -- run batch by batch exactly as training runs them (free phase of a
  minibatch, then its nudged phase);
* **numpy**: the NumPy Newton twin (reference, same batches).

Also: the fast path without workers and with other sweep sizes, whether seeding ngspice with
the free state (``.nodeset``) speeds up a nudged ``.op``, and how far every path lands from
the twin (max |dV|). Wall seconds depend on the machine's load; CPU seconds (this process
plus the workers) much less, so both are printed, with the load average.

    python benchmarks/ngspice_speed.py                      # defaults: 3 naive, 1000 fast examples
    python benchmarks/ngspice_speed.py --checkpoint runs/kendall-numpy/checkpoint.npz
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

from analog_eqprop.circuits import kendall_circuit
from analog_eqprop.data import load_mnist
from analog_eqprop.parallel import make_executor
from analog_eqprop.solvers.backends import NumpyBackend
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.solvers.ngspice_backend import NgspiceBackend
from kendall_mnist import RECIPE  # same directory: the training recipe's circuit and input scaling

EPOCH = 60_000


def train_like(backend, sysm, g, X, T, batch: int, beta: float):
    """Free then nudged phase per minibatch, as training does; (free V, nudged V, wall s, own CPU s)."""
    free, nudged = [], []
    t0, c0 = time.perf_counter(), time.process_time()
    for s in range(0, len(X), batch):
        x, t = X[s:s + batch], T[s:s + batch]
        f = backend.operating_point(sysm, g, x)
        n = backend.operating_point(sysm, g, x, beta=beta, target_v=t, ref=f.state, u0=f.state)
        free.append(f.voltages)
        nudged.append(n.voltages)
    return np.concatenate(free), np.concatenate(nudged), time.perf_counter() - t0, time.process_time() - c0


def nodeset_trial(c, g, X, T, beta: float, n: int) -> tuple[float, float, float]:
    """Seconds per nudged ``.op`` (Norton form) without and with ``.nodeset`` of the free
    state, and the largest difference between the two answers [V]."""
    from analog_eqprop.netlist import compile_netlist
    from analog_eqprop.solvers.ngspice_backend import DEFAULT_OPTIONS
    from analog_eqprop.solvers.ngspice_shared import run_netlist

    plain = seeded = 0.0
    diff = 0.0
    onehot = (T - c.target_off) / (c.target_on - c.target_off)
    for k in range(n):
        free = compile_netlist(c, g, X[k], form="norton", options=DEFAULT_OPTIONS, probes=False)
        v0 = free.free_voltages(run_netlist(free.text).vectors)[0]
        net = compile_netlist(c, g, X[k], beta=beta, target=onehot[k], nudge_ref=v0, form="norton",
                              options=DEFAULT_OPTIONS, probes=False)
        lines = [f".nodeset v({name})={float(v)!r}" for name, v in zip(net.free_nodes, v0)]
        body, end = net.text.rstrip("\n").rsplit("\n", 1)
        t0 = time.perf_counter()
        a = net.free_voltages(run_netlist(net.text).vectors)
        t1 = time.perf_counter()
        b = net.free_voltages(run_netlist("\n".join([body, *lines, end]) + "\n").vectors)
        t2 = time.perf_counter()
        plain, seeded = plain + t1 - t0, seeded + t2 - t1
        diff = max(diff, float(np.max(np.abs(a - b))))
    return plain / n, seeded / n, diff


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--naive-examples", type=int, default=3)
    ap.add_argument("--fast-examples", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=20, help="training minibatch (one sweep per worker)")
    ap.add_argument("--per-analysis", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--executor", default="process", choices=("process", "dask"))
    ap.add_argument("--beta", type=float, default=1e-6, help="nudge strength [S]")
    ap.add_argument("--clamp", default=",".join(map(str, RECIPE["clamp"])), help="clamp rails low,high [V]")
    ap.add_argument("--checkpoint", default=None, help="take trained conductances from a Trainer checkpoint")
    ap.add_argument("--sweep-sizes", default="10,25,50,100,200", help="per_analysis values for the eval-size test")
    args = ap.parse_args(argv)

    clamp = tuple(float(v) for v in args.clamp.split(","))
    c = kendall_circuit(784, 100, 10, seed=0, clamp=clamp)
    sysm = MNASystem(c)
    g = c.edge_g.copy()
    if args.checkpoint:
        from analog_eqprop.models import ResistiveNetwork

        ck = np.load(args.checkpoint)
        net = ResistiveNetwork(c)
        for k in net.params:
            net.params[k][...] = ck[f"params/{k}"]
        g = net.g
    data = load_mnist()
    n = max(args.fast_examples, args.naive_examples)
    scale, offset = RECIPE["input_scale"], RECIPE["input_offset"]  # z-scored pixels, as in training
    X, T = scale * data.x_train[:n] + offset, c.targets(np.eye(10)[data.y_train[:n]])
    print(f"# ngspice_speed on {platform.node()} ({os.cpu_count()} CPUs, {platform.processor() or platform.machine()}),"
          f" {time.strftime('%Y-%m-%d %H:%M')}, load average {os.getloadavg()[0]:.1f}")
    print(f"# command: python benchmarks/ngspice_speed.py {' '.join(sys.argv[1:] if argv is None else argv)}")
    print(f"# circuit {c.name}: {c.n_free} free nodes, {c.n_sources} sources, {c.n_edges} conductances, "
          f"{c.n_diodes} D1N4148 clamps at {clamp} V, {c.n_amps} amplifiers; conductances "
          f"{'from ' + args.checkpoint if args.checkpoint else 'initial'}; beta {args.beta} S")
    rows = []

    def row(name, k, wall, cpu, err):
        rows.append((name, k, wall / k, cpu / k, err))
        print(f"{name:<44s} {k:6d} ex  {1e3 * wall / k:9.2f} ms/ex wall  {1e3 * cpu / k:9.2f} ms/ex CPU  "
              f"max|dV| vs twin {err:.1e} V", flush=True)

    k = args.fast_examples
    fr, nr, wall, cpu = train_like(NumpyBackend(), sysm, g, X[:k], T[:k], args.batch_size, args.beta)
    row(f"numpy twin (batch {args.batch_size})", k, wall, cpu, 0.0)

    kn = args.naive_examples
    naive = NgspiceBackend(form="full", per_analysis=1)
    f, nd, wall, cpu = train_like(naive, sysm, g, X[:kn], T[:kn], 1, args.beta)
    err = max(np.abs(f - fr[:kn]).max(), np.abs(nd - nr[:kn]).max())
    row("naive: full netlist, one .op per phase", kn, wall, cpu, err)
    t_naive = wall / kn

    serial = NgspiceBackend(per_analysis=args.per_analysis)
    f, nd, wall, cpu = train_like(serial, sysm, g, X[:k], T[:k], args.batch_size, args.beta)
    row(f"fast, in-process (batch {args.batch_size})", k, wall, cpu, max(np.abs(f - fr).max(), np.abs(nd - nr).max()))

    with make_executor(args.executor, workers=args.workers) as ex:
        fast = NgspiceBackend(per_analysis=args.per_analysis, executor=ex)
        # warm-up: start the workers and their engines outside the timing
        train_like(fast, sysm, g, X[:2 * args.batch_size], T[:2 * args.batch_size], args.batch_size, args.beta)
        fast.stats["chunk_cpu_seconds"] = 0.0
        f, nd, wall, cpu = train_like(fast, sysm, g, X[:k], T[:k], args.batch_size, args.beta)
        workers_cpu = fast.stats["chunk_cpu_seconds"]
        err = max(np.abs(f - fr).max(), np.abs(nd - nr).max())
        row(f"fast, {args.workers} {args.executor} workers (batch {args.batch_size})", k, wall, cpu + workers_cpu,
            err)
        t_fast = wall / k
        print(f"# fast path CPU split: this process {1e3 * cpu / k:.2f} ms/ex, workers {1e3 * workers_cpu / k:.2f} "
              f"ms/ex", flush=True)
        print("\n# free phase of an evaluation batch of 1000, by examples per .dc sweep (workers as above)")
        xe = scale * data.x_test[:1000] + offset
        ref = NumpyBackend().operating_point(sysm, g, xe).voltages
        for pa in [int(v) for v in args.sweep_sizes.split(",")]:
            b = NgspiceBackend(per_analysis=pa, executor=ex)
            t0 = time.perf_counter()
            op = b.operating_point(sysm, g, xe)
            dt = time.perf_counter() - t0
            print(f"per_analysis {pa:4d}: {1e3 * dt / len(xe):6.2f} ms/ex wall, "
                  f"{1e3 * b.stats['chunk_cpu_seconds'] / len(xe):6.2f} ms/ex worker CPU, "
                  f"max|dV| {np.abs(op.voltages - ref).max():.1e} V", flush=True)

    plain, seeded, diff = nodeset_trial(c, g, X, T, args.beta, min(5, k))
    print(f"\n# nudged .op (Norton form) from ngspice's own start: {1e3 * plain:.1f} ms; with .nodeset of the free "
          f"state: {1e3 * seeded:.1f} ms (answers differ by {diff:.1e} V)")
    print(f"\n# per training example (free + nudged): naive {t_naive:.3f} s, fast {1e3 * t_fast:.2f} ms; "
          f"speed-up {t_naive / t_fast:.0f}x")
    print(f"# a 60k-example epoch at these rates: naive {EPOCH * t_naive / 3600:.1f} h, "
          f"fast {EPOCH * t_fast / 60:.1f} min (training phases only)")


if __name__ == "__main__":
    main()
