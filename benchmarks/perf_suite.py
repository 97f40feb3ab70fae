"""Performance suite: relaxation, training step, epoch and peak memory, against the machine's GEMM.

For fixed sizes, batches and iteration counts:

* the seed's Hopfield model (784-500-10 with 20 free / 4 nudged steps, 784-500-500-10 with
  100 / 6; batch 20, float32, random-sign beta: the Table 2 settings);
* deep resistive networks ``drn_circuit([784, 100, 10])``, ``[784, 1024, 10]`` and
  ``[784, 1024, 1024, 10]`` (+/-x inputs: 1568 sources), NumPy BCD backend with a fixed sweep
  count (4; 5 for two hidden layers, as Scellier 2024 trains), centered EqProp, batch 4, in
  float64 (the default) and float32.

Reported per net: one free relaxation of a new batch (ms), one training step (ms, the median of
``--repeats`` timings of ``--steps`` steps), the epoch time **extrapolated** from the step time
(60,000 / batch steps; no epoch is run), peak memory (tracemalloc peak of the traced step loop,
NumPy's allocations included, in a separate untimed pass; and the process's peak RSS so far),
and the matrix-product FLOP rate of a step (matrix products only, counted analytically, divided
by the step time) as a fraction of two GEMM rates measured in the same run and precision: a
large square GEMM (the machine's limit) and a GEMM of the step's dominant shape (a skinny
product: memory-bound, the realistic limit).

Inputs are uniform random pixels: with fixed iteration counts the timings do not depend on the
data. One BLAS thread unless ``--threads``.

Example::

    python benchmarks/perf_suite.py                 # everything (a few minutes)
    python benchmarks/perf_suite.py --only hopfield --steps 20
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

N_TRAIN = 60000  # examples per epoch (MNIST / Fashion-MNIST training set)


def gemm_rate(m: int, k: int, n: int, dtype, seconds: float = 0.3) -> float:
    """GFLOP/s of ``(m, k) @ (k, n)`` in ``dtype`` (best of repeated runs for ~``seconds``)."""
    rng = np.random.default_rng(0)
    a, b = rng.random((m, k)).astype(dtype), rng.random((k, n)).astype(dtype)
    out = np.empty((m, n), dtype)
    np.matmul(a, b, out=out)
    best, t_end = np.inf, time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        t0 = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * m * k * n / best / 1e9


def _median_step(run_steps, steps: int, repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run_steps(steps)
        times.append((time.perf_counter() - t0) / steps)
    return float(np.median(times)), times


def _peak_mib(run_steps, steps: int) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    run_steps(steps)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak / 2**20


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# -- flop counts (matrix products only) ------------------------------------------------------
def hopfield_flops(sizes, B, n_free, n_nudged) -> float:
    """Per training step: the clamped drive once, 2 products per free-free block per Euler
    step, the gradient's products."""
    blocks = list(zip(sizes[:-1], sizes[1:]))
    clamped = blocks[0]
    free = blocks[1:]
    f = 2.0 * B * clamped[0] * clamped[1]  # x @ W0, once per batch (prepare)
    per_iter = sum(2 * 2.0 * B * m * n for m, n in free)
    f += per_iter * (n_free + n_nudged)
    f += 2.0 * B * clamped[0] * clamped[1] + sum(2 * 2.0 * B * m * n for m, n in free)  # gradient
    return f


def drn_flops(sizes, B, sweeps) -> float:
    """Per centered training step: the sources' drive once, per sweep each layer-pair block
    twice (once per side), three phases, and the gradient's block products."""
    n_src = 2 * sizes[0]
    widths = [n_src] + list(sizes[1:])
    f = 2.0 * B * widths[0] * widths[1]  # V_src @ D, once per step (memoised across phases)
    per_sweep = sum(2 * 2.0 * B * m * n for m, n in zip(widths[1:-1], widths[2:]))
    f += 3 * sweeps * per_sweep
    f += 2.0 * (B + 1) * widths[0] * widths[1]  # input block: [x; 1]^T [dV; c]
    f += sum(2.0 * (2 * B + 2) * m * n for m, n in zip(widths[1:-1], widths[2:]))
    return f


# -- the two model families -----------------------------------------------------------------
def _step_runner(tr, B, sizes, args, rng, dtype):
    """Random data for every timed step, and ``run_steps(k)``: the next ``k`` training steps
    (after 5 warm-up steps, already run)."""
    n = B * (args.steps * (args.repeats + 2) + 10)
    x = rng.random((n, sizes[0])).astype(dtype, copy=False)
    y = rng.integers(0, sizes[-1], n)
    pos = [0]

    def run_steps(k):
        sl = slice(pos[0] * B, (pos[0] + k) * B)
        pos[0] += k
        tr.train_epoch(x[sl], y[sl])

    run_steps(5)
    return x, run_steps


def bench_hopfield(name, sizes, n_free, n_nudged, lrs, beta, args, rng):
    from analog_eqprop.models import HopfieldConfig, HopfieldNetwork
    from analog_eqprop.training import TrainConfig, Trainer

    B = 20
    net = HopfieldNetwork.layered(list(sizes), seed=0, config=HopfieldConfig(
        n_free=n_free, n_nudged=n_nudged, cost_scale=1.0, dtype="float32"))
    tr = Trainer(net, TrainConfig(batch_size=B, learning_rates=lrs, beta=beta, beta_mode="random_sign"),
                 progress=False)
    x, run_steps = _step_runner(tr, B, sizes, args, rng, np.float32)
    xb = x[:B]
    s = net.init_state(B)
    t_relax = min(_time(lambda: net.relax(xb, s, static=net.prepare(xb))) for _ in range(5))
    step, all_steps = _median_step(run_steps, args.steps, args.repeats)
    peak = _peak_mib(run_steps, max(2, args.steps // 4))
    flops = hopfield_flops(sizes, B, n_free, n_nudged)
    big = max(sizes[1:-1])
    return dict(model=name, dtype="float32", batch=B, iterations=f"{n_free}/{n_nudged}", relax_ms=1e3 * t_relax,
                step_ms=1e3 * step, step_ms_all=[1e3 * t for t in all_steps],
                epoch_s_extrapolated=step * N_TRAIN / B, peak_mib=peak, rss_mib=_rss_mib(),
                gflops=flops / step / 1e9, shape=(B, sizes[0], big), flops_per_step=flops)


def bench_drn(sizes, dtype, args, rng, circuits):
    from analog_eqprop.circuits import drn_circuit
    from analog_eqprop.models import ResistiveNetwork
    from analog_eqprop.solvers.bcd import BCDBackend
    from analog_eqprop.training import TrainConfig, Trainer

    B = 4
    sweeps = 5 if len(sizes) > 3 else 4
    key = tuple(sizes)
    build_s = 0.0
    if key not in circuits:
        t0 = time.perf_counter()
        circuits[key] = drn_circuit(list(sizes), seed=0)
        build_s = time.perf_counter() - t0
    c = circuits[key]
    net = ResistiveNetwork(c, backend=BCDBackend(max_iter=sweeps, tol=0.0, throw=False, kkt=False), dtype=dtype)
    n_layers = len(sizes) - 1
    tr = Trainer(net, TrainConfig(batch_size=B, learning_rates=(1e-3,) * n_layers, beta=1e-6,
                                  beta_mode="centered", persistent=False), progress=False)
    x, run_steps = _step_runner(tr, B, sizes, args, rng, np.float64)
    xs = [x[i * B:(i + 1) * B] for i in range(6)]
    t_relax = min(_time(lambda xb=xb: net.relax(xb, net.init_state(B))) for xb in xs)  # new batch, same g
    step, all_steps = _median_step(run_steps, args.steps, args.repeats)
    peak = _peak_mib(run_steps, max(2, args.steps // 4))
    flops = drn_flops(sizes, B, sweeps)
    name = "drn " + "-".join(map(str, [2 * sizes[0]] + list(sizes[1:])))
    return dict(model=name, dtype=dtype, batch=B, iterations=f"{sweeps} sweeps x3", relax_ms=1e3 * t_relax,
                step_ms=1e3 * step, step_ms_all=[1e3 * t for t in all_steps],
                epoch_s_extrapolated=step * N_TRAIN / B, peak_mib=peak, rss_mib=_rss_mib(),
                gflops=flops / step / 1e9, shape=(B + 1, 2 * sizes[0], sizes[1]), flops_per_step=flops,
                circuit_build_s=build_s, n_edges=c.n_edges)


def _time(f) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=50, help="training steps per timing")
    ap.add_argument("--repeats", type=int, default=3, help="timings per net (median reported)")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads")
    ap.add_argument("--only", choices=("hopfield", "drn"), help="run one family")
    ap.add_argument("--json", help="write all records to this file")
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_info, threadpool_limits

    threadpool_limits(args.threads)
    blas = "; ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} thr)"
                     for i in threadpool_info())
    print(f"# perf_suite {time.strftime('%Y-%m-%d %H:%M')}, numpy {np.__version__}, {blas}")
    peaks = {dt: gemm_rate(1024, 1024, 1024, dt) for dt in (np.float64, np.float32)}
    print(f"# square GEMM 1024^3: float64 {peaks[np.float64]:.1f} GFLOP/s, float32 {peaks[np.float32]:.1f} GFLOP/s")
    rng = np.random.default_rng(0)
    rows = []
    if args.only in (None, "hopfield"):
        rows.append(bench_hopfield("hopfield 784-500-10", (784, 500, 10), 20, 4, (0.1, 0.05), 0.5, args, rng))
        rows.append(bench_hopfield("hopfield 784-500-500-10", (784, 500, 500, 10), 100, 6, (0.4, 0.1, 0.01), 1.0,
                                   args, rng))
    if args.only in (None, "drn"):
        circuits: dict = {}
        for sizes in ((784, 100, 10), (784, 1024, 10), (784, 1024, 1024, 10)):
            for dtype in ("float64", "float32"):
                rows.append(bench_drn(sizes, dtype, args, rng, circuits))
            circuits.clear()
    print("| model | dtype | batch | iterations | relax ms | step ms (median) | epoch s (extrapolated) "
          "| peak MiB (traced) | RSS MiB | GFLOP/s | % of square GEMM | skinny GEMM GFLOP/s | % of skinny |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        dt = np.float32 if r["dtype"] == "float32" else np.float64
        skinny = gemm_rate(r["shape"][1], r["shape"][0], r["shape"][2], dt)  # (K x B) @ (B x N): gradient shape
        r["gemm_square_gflops"], r["gemm_skinny_gflops"] = peaks[dt], skinny
        print(f"| {r['model']} | {r['dtype']} | {r['batch']} | {r['iterations']} | {r['relax_ms']:.2f} "
              f"| {r['step_ms']:.2f} | {r['epoch_s_extrapolated']:.0f} | {r['peak_mib']:.1f} | {r['rss_mib']:.0f} "
              f"| {r['gflops']:.2f} | {100 * r['gflops'] / peaks[dt]:.1f} | {skinny:.1f} "
              f"| {100 * r['gflops'] / skinny:.0f} |", flush=True)
    for r in rows:
        if r.get("circuit_build_s"):
            print(f"# {r['model']}: circuit built by drn_circuit (from arrays) in {r['circuit_build_s']:.1f} s, "
                  f"{r['n_edges']} conductances")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
