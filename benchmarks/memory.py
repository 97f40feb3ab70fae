"""Build time and peak memory of the deep resistive networks, one fresh process per size.

For each size (``drn-xs``, ``drn-1h``, ``drn-2h``, ``drn-xl``: the presets of
``drn_models.py``, Scellier 2024's 1568-100-10 ... 1568-32768-10) a fresh Python process
(``python memory.py --child ...``) runs, stage by stage, what a training run does first, and
reports after each stage its wall time, the resident set size [MiB] and the stage's peak RSS
[MiB] (Linux's ``VmHWM``, reset before each stage through ``/proc/self/clear_refs``):

* ``import``: NumPy, SciPy and the library;
* ``circuit``: the preset's circuit (``drn_models.peer_circuit``: no bias rails, split clamps);
* ``network``: the ``ResistiveNetwork`` (float32, BCD, bias currents) and its ``Trainer``;
* ``step1``: one training step (batch 4, centered beta: a free and two nudged phases, the
  fused SGD update), which builds the solver's and the gradient's plans;
* ``step2``: a second step (the steady state).

``peak_mib`` is the process's peak RSS over all stages (``resource.getrusage`` ``ru_maxrss``
at the end, and the stage peaks). With ``--library`` the same process first times the
library's own builder ``drn_circuit(sizes)`` (bias rails, one clamp per hidden node) for
that size, and frees it; ``--no-train`` stops after the circuit.

Processes run one at a time (the machine is shared: an XL run needs a few GB).

Examples
--------
::

    python benchmarks/memory.py --model drn-xs --model drn-1h --json
    python benchmarks/memory.py --model drn-xl --json > benchmarks/results/memory_xl.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODELS = ("drn-xs", "drn-1h", "drn-2h", "drn-xl")


def _status() -> dict[str, float]:
    """Current and peak RSS [MiB] from /proc/self/status."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, kb = line.split()[:2]
                out[key[:-1]] = int(kb) / 1024
    return out


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets the peak RSS (VmHWM) to the current RSS
        return True
    except OSError:
        return False


def child(model: str, library: bool, train: bool) -> dict:
    """Run the stages in this (fresh) process; returns the record."""
    stages = []
    peaks = []

    def stage(name: str, fn):
        _reset_peak()
        t0 = time.perf_counter()
        value = fn()
        dt = time.perf_counter() - t0
        st = _status()
        peaks.append(st["VmHWM"])
        stages.append(dict(stage=name, seconds=round(dt, 4), rss_mib=round(st["VmRSS"], 1),
                           stage_peak_mib=round(st["VmHWM"], 1)))
        return value

    def imports():
        import numpy  # noqa: F401
        import scipy.sparse  # noqa: F401
        import scipy.sparse.csgraph  # noqa: F401

        import analog_eqprop.circuits  # noqa: F401
        import analog_eqprop.models  # noqa: F401
        import analog_eqprop.training  # noqa: F401

    stage("import", imports)
    import numpy as np

    sys.path.insert(0, str(HERE))
    from drn_models import PRESETS, peer_circuit

    p = PRESETS[model]
    rec: dict = dict(model=model, sizes=[2 * p.sizes[0], *p.sizes[1:]])
    if library:
        from analog_eqprop.circuits import drn_circuit

        def lib():
            c = drn_circuit(list(p.sizes), seed=0)
            return c.n_edges

        rec["library_n_edges"] = stage("drn_circuit", lib)
        rec["library_build_s"] = stages[-1]["seconds"]
    c = stage("circuit", lambda: peer_circuit(p.sizes, input_gain=p.input_gain, seed=0))
    rec["n_edges"] = c.n_edges
    rec["build_s"] = stages[-1]["seconds"]
    if train:
        def network():
            from analog_eqprop.training import Trainer

            from drn_models import peer_network

            net, cfg = peer_network(p, seed=0, dtype="float32", circuit=c)
            return Trainer(net, cfg, progress=False)

        tr = stage("network", network)
        rng = np.random.default_rng(1)
        B = p.batch_size
        x = rng.random((2 * B, p.sizes[0])).astype(np.float32)
        y = rng.integers(0, p.sizes[-1], 2 * B)
        stage("step1", lambda: tr.train_epoch(x[:B], y[:B]))
        stage("step2", lambda: tr.train_epoch(x[B:], y[B:]))
        g = tr.model.params["g0"]
        rec["g_dtype"] = str(g.dtype)
        rec["finite"] = bool(all(np.all(np.isfinite(v)) for v in tr.model.params.values()))
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rec["peak_mib"] = round(max([ru] + peaks), 1)
    rec["stages"] = stages
    return rec


def run(model: str, args) -> dict:
    cmd = [sys.executable, __file__, "--child", model]
    if args.library:
        cmd.append("--library")
    if args.no_train:
        cmd.append("--no-train")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    t0 = time.perf_counter()
    load0 = " ".join(f"{v:.2f}" for v in os.getloadavg())
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return dict(model=model, error=proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else
                    f"exit status {proc.returncode}", returncode=proc.returncode, load_before=load0)
    rec = json.loads(proc.stdout.strip().splitlines()[-1])
    rec["wall_s"] = round(time.perf_counter() - t0, 2)
    rec["load_before"] = load0
    rec["load_after"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    return rec


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=MODELS, action="append", dest="models",
                    help="repeat for several (default: all four, XL last)")
    ap.add_argument("--library", action="store_true", help="also time the library's drn_circuit(sizes)")
    ap.add_argument("--no-train", action="store_true", help="stop after building the circuit")
    ap.add_argument("--json", action="store_true", help="one JSON object per size, nothing else")
    ap.add_argument("--child", choices=MODELS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.library, not args.no_train)))
        return 0
    models = args.models or list(MODELS)
    if not args.json:
        print(f"# memory.py {time.strftime('%Y-%m-%d %H:%M')}, one fresh process per size, one BLAS thread")
        print("| model | conductances | build s | network s | step1 s | step2 s | peak RSS MiB | peak stage |")
        print("|---|---:|---:|---:|---:|---:|---:|---|")
    bad = 0
    for m in models:
        rec = run(m, args)
        if "error" in rec:
            bad += 1
        if args.json:
            print(json.dumps(rec), flush=True)
            continue
        if "error" in rec:
            print(f"| {m} | failed: {rec['error']} |")
            continue
        st = {s["stage"]: s for s in rec["stages"]}
        top = max(rec["stages"], key=lambda s: s["stage_peak_mib"])
        cell = lambda k: f"{st[k]['seconds']:.2f}" if k in st else "-"  # noqa: E731
        print(f"| {m} | {rec['n_edges']:,} | {rec['build_s']:.2f} | {cell('network')} | {cell('step1')} | "
              f"{cell('step2')} | {rec['peak_mib']:.0f} | {top['stage']} ({top['stage_peak_mib']:.0f}) |", flush=True)
        if "library_build_s" in rec:
            print(f"#   {m}: library drn_circuit {rec['library_build_s']:.2f} s ({rec['library_n_edges']:,} "
                  f"conductances); load {rec['load_before']} -> {rec['load_after']}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
