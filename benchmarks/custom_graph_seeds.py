"""Does ``examples/custom_graph.py`` solve XOR for any weight seed, and why did it not before?

Trains the example's graph (its own ``xor_graph`` and ``train``) once per weight seed with its
settings ("now": ten hidden units, beta 2 towards the target, rates 0.2 / 0.1, 200 epochs) and
with its first ones ("before": six hidden units, beta 0.5 of random sign, rates 0.5 / 0.25, 200
epochs), and prints per seed
the final train error and the first epoch at 0 %. For each pattern still wrong at the end it
prints the outputs that sit on the wrong side of their range (at 0 with target 1, or at 1 with
target 0) with their drive (the input the unit receives, ``sum_j W_ij rho(s_j) + b_i``, from
the trained graph) against the nudge's reach ``2 cost_scale beta``: a drive past the reach
holds the output in place in the nudged phase too, so the pattern contributes nothing to the
update.

    python benchmarks/custom_graph_seeds.py --seeds 20
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from pathlib import Path

import numpy as np

from analog_eqprop.data import load_xor

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {
    "now": dict(n_hidden=10, beta=2.0, beta_mode="positive", learning_rates=(0.2, 0.1), epochs=200),
    "before": dict(n_hidden=6, beta=0.5, beta_mode="random_sign", learning_rates=(0.5, 0.25), epochs=200),
}


def _example():
    spec = importlib.util.spec_from_file_location("custom_graph", ROOT / "examples" / "custom_graph.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # defines xor_graph and train; the script part runs only as __main__
    return mod


def _pinned(net, G, beta: float) -> list[str]:
    """Outputs stuck on the wrong side, with their drive, for the patterns still misclassified."""
    data = load_xor()
    x = data.x_train
    s = net.relax(x, net.init_state(len(x)), n_iter=500).state
    out = net.output(s)
    trained = net.to_graph(G)
    names = [n for n, d in trained.nodes(data=True) if d["role"] == "output"]
    free = [n for n, d in trained.nodes(data=True) if d["role"] != "input"]
    value = {}
    reach = 2 * net.config.cost_scale * beta
    found = []
    for p in range(len(x)):
        if int(np.argmax(out[p])) == data.y_train[p]:
            continue
        value.update({n: float(v) for n, v in zip(free, s[p])})
        value.update({"a": x[p, 0], "b": x[p, 1]})
        for k, o in enumerate(names):
            target = float(k == data.y_train[p])
            if abs(out[p, k] - (1 - target)) > 1e-6:
                continue  # not on the wrong side
            drive = trained.nodes[o].get("bias", 0.0) + sum(
                d["weight"] * float(np.clip(value[j], 0, 1)) for j, d in trained[o].items())
            found.append(f"x={x[p].astype(int).tolist()} {o}={out[p, k]:.0f} (target {target:.0f}): "
                         f"drive {drive:+.2f} vs reach {reach:.2f}")
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20, help="weight seeds 0 .. N-1")
    ap.add_argument("--stable-from", type=int, default=150, help="also count the runs at 0 %% from this epoch on")
    ap.add_argument("--settings", nargs="*", default=list(SETTINGS), choices=list(SETTINGS))
    args = ap.parse_args()
    ex = _example()
    for name in args.settings:
        cfg = dict(SETTINGS[name])
        n_hidden = cfg.pop("n_hidden")
        print(f"{name}: {n_hidden} hidden units, {cfg}  (load %.2f %.2f %.2f)" % os.getloadavg())
        t0, solved, stable = time.perf_counter(), 0, 0
        for seed in range(args.seeds):
            G = ex.xor_graph(n_hidden, seed=seed)
            net, hist = ex.train(G, **cfg)
            first = next((r["epoch"] for r in hist if r["train_error"] == 0), None)
            err = hist[-1]["train_error"]
            solved += err == 0
            stable += all(r["train_error"] == 0 for r in hist[args.stable_from - 1:])
            print(f"  seed {seed:2d}: final train error {100 * err:3.0f} %, first 0 % at epoch {first}")
            for line in ([] if err == 0 else _pinned(net, G, cfg["beta"])):
                print(f"      {line}")
        print(f"  {name}: {solved} of {args.seeds} seeds at 0 % after {cfg['epochs']} epochs, {stable} at 0 % "
              f"from epoch {args.stable_from} on "
              f"({time.perf_counter() - t0:.0f} s, load {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
