"""Accuracy of EqProp-trained resistive circuits against device non-idealities, and per preset.

One non-ideality at a time, from an ideal device in a 0.1-20 uS window with ideal wires
(``analog_eqprop.hardware.sweep.SWEEP_BASE``): programmable levels, read noise (redrawn every
solve, and redrawn once per free phase), write noise, device-to-device variation, stuck
devices; then the four presets as they are (wires included). Same circuit, data and training
settings for every run; NumPy backend.

Writes ``benchmarks/results/hardware_sweep_<dataset>.json`` (every run), ``.png`` (one panel
per non-ideality) and ``.md`` (the table for BENCHMARKS.md), and prints progress.

    python benchmarks/hardware_sweep.py --dataset digits                 # ~25 min on 2 cores
    python benchmarks/hardware_sweep.py --dataset mnist --n-train 10000 --n-test 2000 \\
        --sizes 784,64,10 --epochs 2 --seeds 0 --reduced                  # ~30 min
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from analog_eqprop.circuits import drn_circuit
from analog_eqprop.data import load_dataset
from analog_eqprop.hardware import HardwareNetwork
from analog_eqprop.hardware.sweep import SWEEP_BASE, plot_sweep, summarize, sweep_hardware
from analog_eqprop.training import TrainConfig, Trainer

RESULTS = Path(__file__).resolve().parent / "results"

FULL = {
    "n_levels": [0, 256, 64, 32, 16, 8, 4],
    "read_noise": [0.0, 0.001, 0.003, 0.01, 0.03],
    "read_noise@free_phase": [0.0, 0.001, 0.003, 0.01, 0.03],
    "write_noise": [0.0, 0.0003, 0.001, 0.003, 0.01],
    "d2d_variation": [0.0, 0.1, 0.2, 0.3, 0.5],
    "stuck_min": [0.0, 0.01, 0.05, 0.1, 0.2],
}
REDUCED = {
    "n_levels": [0, 64, 16, 4],
    "read_noise": [0.0, 0.003, 0.01],
    "read_noise@free_phase": [0.0, 0.01],
    "write_noise": [0.0, 0.001, 0.01],
    "d2d_variation": [0.0, 0.3],
}
EXTRA = {"read_noise@free_phase": ["read_refresh=free_phase"]}
LABELS = {
    "n_levels": "levels (0: continuous)",
    "read_noise": "read noise, every solve",
    "read_noise@free_phase": "read noise, per free phase",
    "write_noise": "write noise (fraction of range)",
    "d2d_variation": "device-to-device spread",
    "stuck_min": "stuck at g_min (fraction)",
}


#: The presets as they are (wires included), and RRAM with its read noise drawn once per free phase.
PRESET_RUNS = [("ideal", "ideal", []), ("rram", "rram", []),
               ("rram, read per free phase", "rram", ["read_refresh=free_phase"]), ("pcm", "pcm", []),
               ("ecram", "ecram", [])]


def _presets(circuit, data, train, seeds, log):
    rows = []
    for label, name, over in PRESET_RUNS:
        for seed in seeds:
            t0 = time.perf_counter()
            net = HardwareNetwork(circuit, name, seed=seed, overrides=over)
            hist = Trainer(net, replace(train, seed=seed), progress=False).fit(data)
            row = {"setting": "preset", "value": label, "seed": seed, "train_error": hist[-1]["train_error"],
                   "test_error": hist[-1]["test_error"], "epochs": hist[-1]["epoch"],
                   "seconds": time.perf_counter() - t0, "free_nodes": net.n_free}
            rows.append(row)
            log(row)
    return rows


def _markdown(table, args, n_train, n_test, minutes) -> str:
    head = (f"{args.dataset}: drn {args.sizes}, {n_train} train / {n_test} test, {args.epochs} epochs, "
            f"seeds {args.seeds}, Adam lr 1e-7 S, beta 1e-6 S (positive), batch 20; {minutes:.0f} min of training.")
    lines = [head, "", "| non-ideality | value | test error % (mean) | min-max over seeds | train error % |",
             "|---|---:|---:|---:|---:|"]
    for r in table:
        lab = LABELS.get(r["setting"], r["setting"])
        lines.append(f"| {lab} | {r['value']} | {100 * r['test_error']:.1f} | {100 * r['test_error_min']:.1f}-"
                     f"{100 * r['test_error_max']:.1f} | {100 * r['train_error']:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="digits", help="digits (built in) or mnist")
    ap.add_argument("--sizes", default="64,32,10", help="drn layer sizes")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seeds", default="0,1", help="comma-separated device and training seeds")
    ap.add_argument("--n-train", type=int, default=None)
    ap.add_argument("--n-test", type=int, default=None)
    ap.add_argument("--reduced", action="store_true", help="fewer points per sweep (for MNIST)")
    ap.add_argument("--no-presets", action="store_true", help="skip the four presets as they are")
    ap.add_argument("--only-presets", action="store_true",
                    help="rerun only the presets, keeping the sweep rows of the last results file")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    data = load_dataset(args.dataset)
    if args.n_train or args.n_test:
        data = data.subset(n_train=args.n_train, n_test=args.n_test)
    circuit = drn_circuit(sizes, seed=0)
    train = TrainConfig(epochs=args.epochs, learning_rates=(1e-7,), optimizer="adam", beta=1e-6,
                        beta_mode="positive", batch_size=20)
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"hardware_sweep_{args.dataset}"
    t0 = time.perf_counter()

    def log(row):
        print(f"[{(time.perf_counter() - t0) / 60:5.1f} min] {row['setting']}={row['value']} seed {row['seed']}: "
              f"train {100 * row['train_error']:.1f} %, test {100 * row['test_error']:.1f} % "
              f"({row['seconds']:.0f} s)", flush=True)

    print(f"{platform.node()} {platform.processor()} {args}; {len(data.y_train)} train / {len(data.y_test)} test",
          flush=True)
    if args.only_presets:
        old = json.loads(stem.with_suffix(".json").read_text())
        rows = [r for r in old["rows"] if r["setting"] != "preset"]
    else:
        rows = sweep_hardware(circuit, data, REDUCED if args.reduced else FULL, base=SWEEP_BASE, train=train,
                              seeds=seeds, extra=EXTRA, log=log)
    if not args.no_presets:
        rows += _presets(circuit, data, train, seeds, log)
    minutes = sum(r["seconds"] for r in rows if not r.get("reused")) / 60  # training time of every run
    table = summarize(rows)
    stem.with_suffix(".json").write_text(json.dumps({"args": vars(args), "base": SWEEP_BASE, "rows": rows,
                                                     "table": table, "minutes": minutes}, indent=1) + "\n")
    sweeps = [r for r in table if r["setting"] != "preset"]
    plot_sweep(sweeps, str(stem.with_suffix(".png")), labels=LABELS,
               title=f"{args.dataset}, drn {args.sizes}, {args.epochs} epochs: test error vs non-ideality")
    md = _markdown(table, args, len(data.y_train), len(data.y_test), minutes)
    stem.with_suffix(".md").write_text(md)
    print(md)
    best = min(r["test_error"] for r in table)
    print(f"best test error {100 * best:.1f} %; {np.sum([not r.get('reused') for r in rows])} runs")


if __name__ == "__main__":
    main()
