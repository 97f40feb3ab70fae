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
    python benchmarks/ngspice_speed.py --only profile       # the fast path stage by stage, ngspice's rusage
    python benchmarks/ngspice_speed.py --only ratio         # interleaved rounds: twin vs fast path, medians
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


STAGES = ("fold (main process)", "job pickling (main -> worker)", "deck text (compile)", "deck policy check",
          "ngspice load (ngSpice_Circ)", "ngspice analysis (.dc run)", "result transfer (vectors -> NumPy)",
          "free_voltages (reorder)")
NGSPICE_KEYS = ("netlist loading time", "subckt and param expansion time", "netlist parsing time",
                "matrix load time", "matrix reorder time", "matrix factor time", "matrix solve time",
                "total analysis time")


def profile_chunks(c, g, X, T, beta: float, chunk: int, n_chunks: int, repeats: int = 3) -> dict:
    """One worker's share of training, stage by stage, in this process: per chunk of ``chunk``
    examples the free then the nudged phase, exactly as :func:`solve_chunk` runs them, with a
    time stamp between stages, and ngspice's own accounting (``rusage``) of each deck; the
    NumPy twin runs the same chunk in between (interleaved). Seconds summed over all chunks."""
    import pickle

    from analog_eqprop.netlist.deck_policy import check_deck
    from analog_eqprop.solvers.ngspice_backend import DEFAULT_OPTIONS, NortonPlan, sweep_deck
    from analog_eqprop.solvers.ngspice_shared import get_engine

    sysm, twin, eng, plan = MNASystem(c), NumpyBackend(), get_engine(), NortonPlan(c)
    acc = dict.fromkeys(STAGES, 0.0) | dict.fromkeys(NGSPICE_KEYS, 0.0) | {"twin": 0.0, "iterations": 0.0}
    worst, eqs, lines = 0.0, 0, 0
    for k in range(n_chunks + 1):  # chunk 0 warms up (engine start, caches) and is not counted
        x, t = X[k * chunk:(k + 1) * chunk], T[k * chunk:(k + 1) * chunk]
        t0 = time.perf_counter()
        f = twin.operating_point(sysm, g, x)
        n = twin.operating_point(sysm, g, x, beta=beta, target_v=t, ref=f.state, u0=f.state)
        here = {"twin": time.perf_counter() - t0}
        ref = None
        for phase in ("free", "nudged"):
            marks = [time.perf_counter()]
            g_red, x_eff = plan.fold(g, x)
            marks.append(time.perf_counter())
            nudge = {} if phase == "free" else {"beta": beta, "target": (t - c.target_off) / (c.target_on - c.target_off),
                                                 "nudge_ref": ref}
            job = pickle.loads(pickle.dumps((plan.reduced, g_red, x_eff, nudge, DEFAULT_OPTIONS)))
            marks.append(time.perf_counter())
            nd = job[3]
            net = sweep_deck(job[0], job[1], job[2], nd.get("beta", 0.0), nd.get("target"), nd.get("nudge_ref"),
                             "norton", job[4], repeats)
            marks.append(time.perf_counter())
            check_deck(net.text)
            marks.append(time.perf_counter())
            eng.load(net.text, trust_deck=True)
            marks.append(time.perf_counter())
            run = eng.run()
            marks.append(time.perf_counter())
            eng.vectors()  # the transfer again, timed alone (run() did it once, inside its time)
            marks.append(time.perf_counter())
            v = net.free_voltages(run.vectors)
            marks.append(time.perf_counter())
            d = np.diff(marks)
            d[5] -= d[6]  # the analysis without the transfer
            for name, dt in zip(STAGES, d):
                here[name] = here.get(name, 0.0) + dt
            rus = eng.resource_usage()
            for key in NGSPICE_KEYS:
                here[key] = here.get(key, 0.0) + rus.get(key, 0.0)
            here["iterations"] = here.get("iterations", 0.0) + rus.get("total iterations", 0.0)
            eqs, lines = int(rus.get("circuit equations", 0)), net.n_lines
            ref = v
            want = (f if phase == "free" else n).voltages
            worst = max(worst, float(np.abs(v - want).max()))
        if k:
            for key, val in here.items():
                acc[key] += val
    acc["examples"] = n_chunks * chunk
    return {"seconds": acc, "max_dv": worst, "equations": eqs, "deck_lines": lines}


def print_profile(p: dict, load: str) -> None:
    """The profile as a table: ms per training example (free + nudged phase)."""
    s, ex = p["seconds"], p["seconds"]["examples"]
    ours = sum(s[k] for k in STAGES)
    print(f"\n# fast path, stage by stage (one worker's view, in this process; {ex} examples in chunks, "
          f"{load}); ms per training example (free + nudged)")
    for k in STAGES:
        print(f"  {k:<44s} {1e3 * s[k] / ex:8.3f}  ({100 * s[k] / ours:4.1f} %)")
    print(f"  {'sum (one worker, CPU-bound)':<44s} {1e3 * ours / ex:8.3f}")
    print(f"  {'NumPy twin, same chunks':<44s} {1e3 * s['twin'] / ex:8.3f}   ratio {ours / s['twin']:.2f}x on one "
          f"process, {ours / 2 / s['twin']:.2f}x if split on 2 workers")
    print(f"# inside ngspice (its rusage, ms per training example): deck of {p['deck_lines']} lines, "
          f"{p['equations']} equations, {s['iterations'] / ex:.1f} Newton iterations per example")
    for k in NGSPICE_KEYS:
        print(f"  {k:<44s} {1e3 * s[k] / ex:8.3f}")
    other = s["total analysis time"] - sum(s[k] for k in NGSPICE_KEYS[3:7])
    print(f"  {'analysis time not in matrix load/reorder/factor/solve':<44s} {1e3 * other / ex:8.3f}")
    print(f"# max |dV| vs the twin {p['max_dv']:.1e} V", flush=True)


def interleaved_ratio(c, g, X, T, beta: float, batch: int, workers: int, per_analysis: int, rounds: int,
                      per_round: int, executor: str) -> np.ndarray:
    """Rows (twin wall s, fast wall s, twin CPU s, fast CPU s) per round: the twin and the fast
    path on a worker pool take turns on the same ``per_round`` examples, trained batch by batch,
    the first alternating, so the machine's load falls on both alike. The fast path's CPU is
    this process's plus the workers' (``chunk_cpu_seconds``)."""
    sysm = MNASystem(c)
    out = []
    with make_executor(executor, workers=workers) as ex:
        fast = NgspiceBackend(per_analysis=per_analysis, executor=ex)
        train_like(fast, sysm, g, X[:2 * batch], T[:2 * batch], batch, beta)  # start workers and engines
        for r in range(rounds):
            start = (r * per_round) % (len(X) - per_round + 1)
            x, t = X[start:start + per_round], T[start:start + per_round]
            row = {}
            for which in (("twin", "fast") if r % 2 == 0 else ("fast", "twin")):
                if which == "twin":
                    row["twin"] = train_like(NumpyBackend(), sysm, g, x, t, batch, beta)[2:]
                else:
                    w0 = fast.stats["chunk_cpu_seconds"]
                    _, _, wall, cpu = train_like(fast, sysm, g, x, t, batch, beta)
                    row["fast"] = (wall, cpu + fast.stats["chunk_cpu_seconds"] - w0)
            out.append((row["twin"][0], row["fast"][0], row["twin"][1], row["fast"][1]))
            tw, fw, tc, fc = (1e3 * v / per_round for v in out[-1])
            print(f"round {r + 1:3d}: twin {tw:6.2f} ms/ex ({tc:6.2f} CPU), fast ({workers} workers) {fw:6.2f} ms/ex "
                  f"({fc:6.2f} CPU), ratio wall {fw / tw:5.2f}x, CPU {fc / tc:5.2f}x, load {os.getloadavg()[0]:.1f}",
                  flush=True)
    return np.array(out)


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
    ap.add_argument("--only", default="all", choices=("all", "profile", "ratio"),
                    help="profile: the stage-by-stage profile; ratio: interleaved rounds of twin vs fast path")
    ap.add_argument("--profile-chunks", type=int, default=20, help="chunks of batch/workers examples to profile")
    ap.add_argument("--rounds", type=int, default=9, help="interleaved rounds for the ratio (--only ratio/all)")
    ap.add_argument("--round-examples", type=int, default=100, help="examples per round")
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
    n = max(args.fast_examples, args.naive_examples, args.round_examples,
            (args.profile_chunks + 1) * max(1, args.batch_size // args.workers))
    scale, offset = RECIPE["input_scale"], RECIPE["input_offset"]  # z-scored pixels, as in training
    X, T = scale * data.x_train[:n] + offset, c.targets(np.eye(10)[data.y_train[:n]])
    print(f"# ngspice_speed on {platform.node()} ({os.cpu_count()} CPUs, {platform.processor() or platform.machine()}),"
          f" {time.strftime('%Y-%m-%d %H:%M')}, load average {os.getloadavg()[0]:.1f}")
    print(f"# command: python benchmarks/ngspice_speed.py {' '.join(sys.argv[1:] if argv is None else argv)}")
    print(f"# circuit {c.name}: {c.n_free} free nodes, {c.n_sources} sources, {c.n_edges} conductances, "
          f"{c.n_diodes} D1N4148 clamps at {clamp} V, {c.n_amps} amplifiers; conductances "
          f"{'from ' + args.checkpoint if args.checkpoint else 'initial'}; beta {args.beta} S")
    rows = []
    if args.only != "all" or args.rounds:  # the profile and the ratio (issue 16 item 4) come first
        chunk = max(1, args.batch_size // args.workers)
        if args.only in ("all", "profile"):
            load0 = os.getloadavg()[0]
            p = profile_chunks(c, g, X, T, args.beta, chunk, args.profile_chunks)
            print_profile(p, f"load average {load0:.1f}-{os.getloadavg()[0]:.1f}")
        if args.only in ("all", "ratio") and args.rounds:
            print(f"\n# interleaved rounds: NumPy twin (this process) vs fast path ({args.workers} {args.executor} "
                  f"workers), batch {args.batch_size}, {args.round_examples} examples per round")
            r = np.array(interleaved_ratio(c, g, X, T, args.beta, args.batch_size, args.workers, args.per_analysis,
                                           args.rounds, args.round_examples, args.executor))
            ratio, cpu = r[:, 1] / r[:, 0], r[:, 3] / r[:, 2]
            med = 1e3 * np.median(r, axis=0) / args.round_examples
            print(f"# median over {len(r)} rounds: twin {med[0]:.2f} ms/ex, fast {med[1]:.2f} ms/ex: wall ratio "
                  f"{np.median(ratio):.2f}x (rounds {ratio.min():.2f}-{ratio.max():.2f}x); CPU per example twin "
                  f"{med[2]:.2f} ms, fast {med[3]:.2f} ms: CPU ratio {np.median(cpu):.2f}x; load average now "
                  f"{os.getloadavg()[0]:.1f}", flush=True)
        if args.only != "all":
            return

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
