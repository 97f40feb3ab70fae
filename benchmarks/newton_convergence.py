"""NumPy Newton before/after the convergence aids (issue 13): convergence rate, iterations, speed.

Both solvers run in the same process, interleaved: "after" is this tree's
``analog_eqprop.solvers.newton``; "before" is ``analog_eqprop/solvers/newton.py`` as committed
at ``--baseline`` (default ``main``; e.g. the commit before this work), read with ``git show``
and imported beside it (it shares the rest of this tree: the circuit, MNA system and diode
law are unchanged).

* **Corpus**: ``--circuits`` random legal circuits (``tests/test_newton_convergence.py``'s
  :func:`legal_circuit`, knobs drawn from a fixed seed: clamp rails anywhere in +/-2 V,
  conductances over up to 12 decades in [1e-9, 1e3] S, amplifiers on one or two layers, inputs
  up to +/-10 V, DIDEAL / D1N4148 / mixed clamps, 1-3 hidden layers of 1-8 nodes), three
  examples each, cold start. Reports the share of examples
  that converge, the Newton iterations per circuit (the batch's slowest example; median, 90th
  percentile, max, over the circuits both solve), and which fall-backs "after" needed.
  ``--ngspice`` also checks every answer against ngspice (reltol=1e-6 vntol=1e-9).
* **Issue 13's case**: the model API's ``Dense(16, clamp=DiodeClamp(low=0.2))`` on the 360
  test digits (DIDEAL clamps 0.2 V forward of a cold start): examples converged, iterations.
* **Speed of the common case**: the Kendall-size 1568-100-20 circuit (1N4148 clamps,
  amplifiers; batch 20 of random pixels: a free phase from cold, then a nudged phase warm-started
  from it) and the digits DRN 64-32-10 (DIDEAL clamps; the 360 test digits, cold). Medians of
  ``--repeats`` interleaved timings on one BLAS thread, wall and process CPU (the CPU figure
  is the steadier one on a shared machine), and the answers' largest difference.

Example::

    python benchmarks/newton_convergence.py                    # ~2 min on 2 quiet cores
    python benchmarks/newton_convergence.py --circuits 400 --ngspice --json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def load_baseline(ref: str):
    """``analog_eqprop/solvers/newton.py`` at git ``ref``, imported as ``newton_baseline``."""
    text = subprocess.run(["git", "show", f"{ref}:analog_eqprop/solvers/newton.py"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp(prefix="newton-baseline-")) / "newton_baseline.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("newton_baseline", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["newton_baseline"] = mod
    spec.loader.exec_module(mod)
    return mod


def draw_knobs(n: int, seed: int):
    """``n`` corpus knobs from a fixed seed, distributed like the property test's strategy."""
    from test_newton_convergence import Knobs

    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        k = Knobs(n_in=int(rng.integers(1, 5)), hidden=tuple(int(h) for h in rng.integers(1, 9, rng.integers(1, 4))),
                  n_out=int(rng.integers(1, 4)), g_decade=float(rng.uniform(-9, 1)), g_span=float(rng.uniform(0, 12)),
                  diodes=str(rng.choice(["DIDEAL", "D1N4148", "mixed"])), clamp_p=float(rng.choice([0.5, 1.0])),
                  amplifier=None if rng.random() < 0.5 else float(rng.uniform(0.5, 8.0)),
                  amp_layers=int(rng.integers(1, 3)), amp_back=str(rng.choice(["inverse", "reciprocal"])),
                  input_gain=float(rng.choice([1.0, 5.0])), lateral=bool(rng.random() < 0.5),
                  seed=int(rng.integers(0, 2**31 - 1)))
        if k.g_decade + k.g_span <= 3.0:
            out.append(k)
    return out


def corpus(knobs, mods, check_ngspice: bool) -> dict:
    from test_newton_convergence import check_against_ngspice, legal_circuit

    from analog_eqprop.solvers.mna import MNASystem

    rows = {name: {"examples": 0, "converged": 0, "iterations": [], "seconds": 0.0, "aids": {}} for name in mods}
    both_iters = {name: [] for name in mods}
    outcomes: dict[str, int] = {}
    failures = []
    for k in knobs:
        c, X = legal_circuit(k)
        sysm = MNASystem(c)
        got = {}
        for name, mod in mods.items():
            t0 = time.perf_counter()
            op = mod.solve_dc(c, c.edge_g, X, system=sysm, solver=mod.NewtonSolver(throw=False))
            r = rows[name]
            r["seconds"] += time.perf_counter() - t0
            r["examples"] += X.shape[0]
            r["converged"] += int(op.converged.sum())
            r["iterations"].append(op.iterations)
            for _, tried in op.extra.get("aids", []):
                r["aids"][tried[-1]] = r["aids"].get(tried[-1], 0) + 1
            got[name] = op
        if all(op.converged.all() for op in got.values()):
            for name, op in got.items():
                both_iters[name].append(op.iterations)
        if check_ngspice:
            try:
                what = check_against_ngspice(k)
            except AssertionError as exc:
                what = "mismatch"
                failures.append(str(exc))
            outcomes[what] = outcomes.get(what, 0) + 1
    out = {}
    for name, r in rows.items():
        it = np.array(both_iters[name])
        out[name] = {"convergence_rate": r["converged"] / r["examples"], "examples": r["examples"],
                     "circuits_all_converged": len(both_iters[name]),
                     "iterations_median": float(np.median(it)) if it.size else None,
                     "iterations_p90": float(np.percentile(it, 90)) if it.size else None,
                     "iterations_max": int(it.max()) if it.size else None,
                     "iterations_mean_all": float(np.mean(r["iterations"])),
                     "seconds": round(r["seconds"], 3), "fallbacks_used": r["aids"]}
    if check_ngspice:
        out["ngspice"] = {"outcomes": outcomes, "failures": failures[:5]}
    return out


def issue_case(mods) -> dict:
    """Issue 13's case: ``Sequential([Input(64), Dense(16, clamp=DiodeClamp(low=0.2)), Dense(10)])``
    on the 360 test digits (DIDEAL clamps whose rail sits 0.2 V forward of a cold start)."""
    from analog_eqprop.api import Dense, DiodeClamp, Input, Sequential
    from analog_eqprop.data import load_digits
    from analog_eqprop.solvers.mna import MNASystem

    c = Sequential([Input(64), Dense(16, clamp=DiodeClamp(low=0.2)), Dense(10)], seed=0).network.circuit
    sysm, x = MNASystem(c), load_digits().x_test
    out = {}
    for name, mod in mods.items():
        t0 = time.perf_counter()
        op = mod.solve_dc(c, c.edge_g, x, system=sysm, solver=mod.NewtonSolver(throw=False))
        out[name] = {"converged": f"{int(op.converged.sum())}/{x.shape[0]}", "iterations": op.iterations,
                     "ms": round(1e3 * (time.perf_counter() - t0), 1)}
    return out


def speed(mods, repeats: int) -> dict:
    from analog_eqprop.circuits import drn_circuit, kendall_circuit
    from analog_eqprop.data import load_digits
    from analog_eqprop.solvers.mna import MNASystem

    kc = kendall_circuit(seed=0)
    ks = MNASystem(kc)
    xk = np.random.default_rng(0).random((20, kc.n_features))
    onehot = np.eye(kc.n_outputs)[np.arange(20) % kc.n_outputs]
    dc = drn_circuit([64, 32, 10], seed=0)
    ds = MNASystem(dc)
    xd = load_digits().x_test

    def kendall(mod):
        free = mod.solve_dc(kc, kc.edge_g, xk, system=ks)
        nudged = mod.solve_dc(kc, kc.edge_g, xk, system=ks, beta=1e-6, target=onehot, ref=free.state, u0=free.state)
        return np.concatenate([free.state, nudged.state], axis=1), (free.iterations, nudged.iterations)

    def drn(mod):
        op = mod.solve_dc(dc, dc.edge_g, xd, system=ds)
        return op.state, (op.iterations,)

    out = {}
    for label, fn in (("kendall-1568-100-20 batch 20, free + nudged", kendall), ("drn-64-32-10 360 digits", drn)):
        wall = {name: [] for name in mods}
        cpu = {name: [] for name in mods}
        ans, its = {}, {}
        for name, mod in mods.items():  # warm-up (caches, imports)
            ans[name], its[name] = fn(mod)
        for _ in range(repeats):
            for name, mod in mods.items():
                t0, c0 = time.perf_counter(), time.process_time()
                fn(mod)
                wall[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
        med = {name: float(np.median(t)) for name, t in wall.items()}
        med_cpu = {name: float(np.median(t)) for name, t in cpu.items()}
        row = {f"{name}_ms": round(1e3 * m, 2) for name, m in med.items()}
        row.update({f"{name}_cpu_ms": round(1e3 * m, 2) for name, m in med_cpu.items()})
        row.update({f"{name}_iterations": list(its[name]) for name in mods})
        if len(mods) == 2:
            a, b = list(mods)
            row["after/before"] = round(med[b] / med[a], 3)
            row["after/before_cpu"] = round(med_cpu[b] / med_cpu[a], 3)
            row["max_abs_diff_V"] = float(np.abs(ans[a] - ans[b]).max())
        out[label] = row
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default="main", help="git ref whose newton.py is 'before' (default: main)")
    ap.add_argument("--circuits", type=int, default=200, help="random legal circuits in the corpus")
    ap.add_argument("--seed", type=int, default=0, help="seed of the corpus")
    ap.add_argument("--repeats", type=int, default=9, help="interleaved timings per solver for the speed part")
    ap.add_argument("--ngspice", action="store_true", help="also check every corpus circuit against ngspice")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)

    from analog_eqprop.solvers import newton
    from analog_eqprop.solvers.newton import single_thread_blas

    mods = {"before": load_baseline(args.baseline), "after": newton}
    result = {"baseline": args.baseline, "date": time.strftime("%Y-%m-%d %H:%M"),
              "load_before": os.getloadavg(), "corpus_seed": args.seed}
    knobs = draw_knobs(args.circuits, args.seed)
    result["corpus_knobs_first"] = asdict(knobs[0])
    with single_thread_blas():
        result["corpus"] = corpus(knobs, mods, args.ngspice)
        result["issue_case"] = issue_case(mods)
        if not args.skip_speed:
            result["speed"] = speed(mods, args.repeats)
    result["load_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(result, indent=1, default=str))
        return 0
    print(f"baseline: newton.py at {args.baseline}; {result['date']}; load {result['load_before']}")
    for name in mods:
        r = result["corpus"][name]
        print(f"{name:>6}: {r['convergence_rate']:.1%} of {r['examples']} examples converge; iterations over the "
              f"{r['circuits_all_converged']} circuits both solve: median {r['iterations_median']}, "
              f"p90 {r['iterations_p90']}, max {r['iterations_max']}; {r['seconds']} s; "
              f"fall-backs {r['fallbacks_used']}")
    if args.ngspice:
        print("ngspice:", result["corpus"]["ngspice"])
    print("issue 13's Dense(16, clamp=DiodeClamp(low=0.2)) on 360 digits:", result["issue_case"])
    for label, row in result.get("speed", {}).items():
        print(f"{label}: {row}")
    print(f"load after: {result['load_after']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
