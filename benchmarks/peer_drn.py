"""Our deep resistive networks against Rain Neuromorphics' ``energy-based-learning`` (the peer).

Same network, batch, sweep count, nudging, learning rates, optimiser and initialisation as the
peer's ``papers/fast-drn/drn.py`` (see ``drn_models.py``), on Fashion-MNIST. Our side always
runs; with ``--peer DIR`` (a checkout of the peer, or ``$PEER_DRN_DIR``) and ``--peer-python``
(a Python with torch, or ``$PEER_DRN_PYTHON``) the same measurements of the peer run in a
subprocess from this one command, after ours, so one output has both and their ratio.

The peer's code is not copied here: the subprocess imports it from its checkout and builds the
run with its own classes, as ``drn.py`` does, with two substitutions that change no number:
``torch.optim.SGD`` with the same per-parameter learning rates in place of its
``training.monitor.Optimizer`` (a subclass of it that only sets those rates, in a module that
needs tensorboard), and a ``TensorDataset`` of the Fashion-MNIST arrays in place of its
torchvision loader (no download here).

Measured:

* ``step``: milliseconds per training step (free phase, two nudged phases, update), the median
  of ``--repeats`` timings of ``--steps`` consecutive steps after ``--warmup`` steps (``--steps
  0``: none); the rounds alternate ours and the peer's (a fresh subprocess each), so both
  see the same machine load, and the ratio is also given per round. ``--clock cpu`` (the
  default) times the CPU time of the timing thread on both sides (one BLAS / torch thread):
  on a shared machine wall time counts the other jobs' turns, more of them for the longer
  step; ``--clock wall`` gives wall time;
* ``epoch_extrapolated``: ``step * 60000 / batch`` seconds;
* with ``--epoch``: a full training epoch (shuffled), then train error (measured at the free
  states before each update, as both codes do) and test error, and its wall time.

Examples
--------
::

    python benchmarks/peer_drn.py --model drn-xs --steps 200
    python benchmarks/peer_drn.py --model drn-1h --peer /tmp/peer --peer-python /tmp/peer-venv/bin/python
    python benchmarks/peer_drn.py --model drn-xs --epoch --peer /tmp/peer --peer-python /tmp/peer-venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from drn_models import PRESETS  # noqa: E402

# Runs inside the peer's checkout, with the peer's Python (torch). Reads its settings as JSON.
PEER_DRIVER = r'''
import json, statistics, sys, time
import numpy as np
import torch
a = json.loads(sys.argv[1])
torch.set_num_threads(a["threads"])
clock = time.thread_time if a["clock"] == "cpu" else time.perf_counter
torch.manual_seed(a["seed"])
from model.resistive.network import DeepResistiveEnergy
from model.function.network import Network
from model.function.cost import SquaredError
from model.resistive.minimizer import QuadraticMinimizer
from training.sgd import EquilibriumProp, AugmentedFunction

sizes = a["sizes"]
shapes = [(2, 28, 28)] + [(h,) for h in sizes[1:]]
energy_fn = DeepResistiveEnergy(shapes, [1.0] * (len(shapes) - 1), a["input_gain"])
energy_fn.set_device("cpu")
cost_fn = SquaredError(energy_fn.layers()[-1])
network = Network(energy_fn)
params, layers, free_layers = energy_fn.params(), energy_fn.layers(), network.free_layers()
augmented_fn = AugmentedFunction(energy_fn, cost_fn)
em_train = QuadraticMinimizer(augmented_fn, free_layers)
estimator = EquilibriumProp(params, layers, augmented_fn, cost_fn, em_train)
estimator.nudging = a["beta"]
estimator.variant = "centered"
em_train.num_iterations = a["iterations"]
em_train.mode = "asynchronous"
lrs = a["lr_biases"] + a["lr_weights"]
all_params = energy_fn.params() + cost_fn.params()
optimizer = torch.optim.SGD([{"params": p.state, "lr": lr} for p, lr in zip(all_params, lrs)], lr=0.1,
                            momentum=0.0, weight_decay=0.0)
em_inf = QuadraticMinimizer(energy_fn, free_layers)
em_inf.num_iterations = a["iterations"]
em_inf.mode = "asynchronous"
train_params = params + cost_fn.params()

def step(x, y):  # the body of training.epoch.Trainer.run, plus the error count of its ErrorStat
    network.set_input(x, reset=False)
    em_inf.compute_equilibrium()
    cost_fn.set_target(y)
    err = int(cost_fn.error_fn().sum())
    grads = estimator.compute_gradient()
    for p, g in zip(train_params, grads):
        p.state.grad = g
    optimizer.step()
    for p in train_params:
        p.clamp_()
    return err

d = np.load(a["data"])
xtr = torch.from_numpy(d["x_train"]).reshape(-1, 1, 28, 28)
ytr = torch.from_numpy(d["y_train"])
B = a["batch_size"]
out = {"threads": torch.get_num_threads(), "torch": torch.__version__}
if a["mode"] == "time":
    n = (a["warmup"] + a["steps"] * a["repeats"]) * B
    xs, ys = xtr[:n].split(B), ytr[:n].split(B)
    for i in range(a["warmup"]):
        step(xs[i], ys[i])
    times = []
    for r in range(a["repeats"]):
        t0 = clock()
        for i in range(a["warmup"] + r * a["steps"], a["warmup"] + (r + 1) * a["steps"]):
            step(xs[i], ys[i])
        times.append((clock() - t0) / a["steps"])
    out["step_ms"] = 1e3 * statistics.median(times)
    out["step_ms_all"] = [1e3 * t for t in times]
else:  # one epoch from the fresh network, shuffled as drn.py's DataLoader
    g = torch.Generator().manual_seed(a["seed"])
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xtr, ytr), batch_size=B, shuffle=True,
                                         generator=g)
    t0 = time.perf_counter()
    errs = sum(step(x, y) for x, y in loader)
    out["epoch_s"] = time.perf_counter() - t0
    out["train_error"] = errs / len(ytr)
    xte = torch.from_numpy(d["x_test"]).reshape(-1, 1, 28, 28)
    yte = torch.from_numpy(d["y_test"])
    wrong = 0
    for x, y in zip(xte.split(1000), yte.split(1000)):  # each batch from zero, as its Evaluator
        network.set_input(x, reset=True)
        em_inf.compute_equilibrium()
        cost_fn.set_target(y)
        wrong += int(cost_fn.error_fn().sum())
    out["test_error"] = wrong / len(yte)
print("PEER_JSON " + json.dumps(out))
'''

def _xp(args) -> dict:
    if not args.xp:
        return {}
    if args.xp == "torch":
        import torch

        torch.set_num_threads(args.threads)
    return {"xp": args.xp}


class _Ours:
    """Our trainer for one preset, timed in rounds (it keeps training between them)."""

    def __init__(self, model: str, data, args):
        from analog_eqprop.training import Trainer

        from drn_models import peer_network

        self.p, self.data, self.args = PRESETS[model], data, args
        net, cfg = peer_network(self.p, seed=args.seed, dtype=args.dtype, **_xp(args))
        self.trainer = Trainer(net, cfg, progress=False)
        self.pos = 0

    def _steps(self, n: int) -> float:
        B = self.p.batch_size
        sl = slice(self.pos * B, (self.pos + n) * B)
        self.pos += n
        clock = time.thread_time if self.args.clock == "cpu" else time.perf_counter
        t0 = clock()
        self.trainer.train_epoch(self.data.x_train[sl], self.data.y_train[sl])
        return (clock() - t0) / n

    def time(self) -> float:
        if self.pos == 0 and self.args.warmup:
            self._steps(self.args.warmup)
        return self._steps(self.args.steps)

    def epoch(self) -> dict:
        from analog_eqprop.training import Trainer

        from drn_models import peer_network

        net, cfg = peer_network(self.p, seed=self.args.seed, dtype=self.args.dtype, **_xp(self.args))
        rec = Trainer(net, cfg, progress=False).fit(self.data, epochs=1)[-1]
        return dict(epoch_s=rec["seconds_train"], train_error=rec["train_error"], test_error=rec["test_error"])


class _Peer:
    """The peer's run in a subprocess, a fresh one per timing round (see PEER_DRIVER)."""

    def __init__(self, model: str, data, args, tmp: Path):
        p = PRESETS[model]
        path = tmp / "data.npz"
        if not path.exists():
            np.savez(path, x_train=data.x_train.astype(np.float32), y_train=data.y_train.astype(np.int64),
                     x_test=data.x_test.astype(np.float32), y_test=data.y_test.astype(np.int64))
        self.args = args
        self.settings = dict(sizes=list(p.sizes), input_gain=p.input_gain, iterations=p.iterations, beta=p.beta,
                             lr_weights=list(p.lr_weights), lr_biases=list(p.lr_biases), batch_size=p.batch_size,
                             threads=args.threads, seed=args.seed, warmup=args.warmup, steps=args.steps,
                             clock=args.clock,
                             repeats=1, data=str(path))

    def _run(self, mode: str) -> dict:
        a = self.args
        env = dict(os.environ, PYTHONPATH=str(a.peer), OMP_NUM_THREADS=str(a.threads),
                   MKL_NUM_THREADS=str(a.threads))
        res = subprocess.run([a.peer_python, "-c", PEER_DRIVER, json.dumps(dict(self.settings, mode=mode))],
                             cwd=a.peer, env=env, capture_output=True, text=True)
        lines = [ln for ln in res.stdout.splitlines() if ln.startswith("PEER_JSON ")]
        if res.returncode or not lines:
            raise SystemExit(f"peer run failed (exit {res.returncode}):\n{res.stderr[-3000:]}")
        return json.loads(lines[-1][len("PEER_JSON "):])

    def time(self) -> float:
        return self._run("time")["step_ms"] / 1e3

    def epoch(self) -> dict:
        return self._run("epoch")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=sorted(PRESETS), action="append", dest="models",
                    help="repeat for several (default: drn-xs)")
    ap.add_argument("--steps", type=int, default=100, help="steps per timing (0: no timing)")
    ap.add_argument("--repeats", type=int, default=3,
                    help="timing rounds, ours and the peer's interleaved (medians reported)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    ap.add_argument("--epoch", action="store_true", help="also train one full epoch and report the errors")
    ap.add_argument("--threads", type=int, default=1, help="BLAS / torch threads on both sides")
    ap.add_argument("--dtype", default="float32", choices=("float32", "float64"), help="our precision")
    ap.add_argument("--clock", default="cpu", choices=("cpu", "wall"),
                    help="time the timing thread's CPU time (default) or wall time, on both sides")
    ap.add_argument("--xp", choices=("torch",), help="our BCD sweeps with torch's products (optional extra)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--peer", default=os.environ.get("PEER_DRN_DIR"), help="the peer's checkout ($PEER_DRN_DIR)")
    ap.add_argument("--peer-python", default=os.environ.get("PEER_DRN_PYTHON", "python"),
                    help="a Python with torch for the peer ($PEER_DRN_PYTHON)")
    ap.add_argument("--side", default="both", choices=("both", "ours", "peer"))
    ap.add_argument("--json", help="append one JSON record per model to this file")
    args = ap.parse_args(argv)
    models = args.models or ["drn-xs"]
    from threadpoolctl import threadpool_limits

    from analog_eqprop.data import load_mnist

    threadpool_limits(args.threads)
    data = load_mnist(kind="fashion-mnist")
    print(f"# Fashion-MNIST, {args.threads} thread(s), our dtype {args.dtype}, {args.clock} clock, "
          f"load {' '.join(f'{v:.2f}' for v in os.getloadavg())}"
          f"{', our sweeps on ' + args.xp if args.xp else ''}, {time.strftime('%Y-%m-%d %H:%M')}")
    print("| model | side | ms/step (median) | all timings | epoch s (extrapolated) | epoch s (measured) "
          "| train err % | test err % |")
    print("|---|---|---:|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for model in models:
            p = PRESETS[model]
            steps_per_epoch = len(data.y_train) / p.batch_size
            sides = [s for s in ("ours", "peer") if args.side in (s, "both") and (s == "ours" or args.peer)]
            runners = {s: (_Ours(model, data, args) if s == "ours" else _Peer(model, data, args, Path(tmp)))
                       for s in sides}
            rec = {"model": model, "threads": args.threads, "dtype": args.dtype, "xp": args.xp, "steps": args.steps,
                   "clock": args.clock, "load": os.getloadavg()}
            times: dict[str, list[float]] = {s: [] for s in sides}
            for _ in range(args.repeats if args.steps else 0):  # interleaved: both see the same load
                for s in sides:
                    times[s].append(runners[s].time())
            for s in sides:
                r = rec[s] = {}
                if times[s]:
                    r["step_ms"] = 1e3 * float(np.median(times[s]))
                    r["step_ms_all"] = [1e3 * t for t in times[s]]
                if args.epoch:
                    r.update(runners[s].epoch())
                ep = f"{r['epoch_s']:.0f}" if "epoch_s" in r else "-"
                tr = f"{100 * r['train_error']:.2f}" if "train_error" in r else "-"
                te = f"{100 * r['test_error']:.2f}" if "test_error" in r else "-"
                alls = ", ".join(f"{t:.2f}" for t in r.get("step_ms_all", []))
                ms = f"{r['step_ms']:.2f}" if "step_ms" in r else "-"
                ex = f"{r['step_ms'] * steps_per_epoch / 1e3:.0f}" if "step_ms" in r else "-"
                print(f"| {model} | {s} | {ms} | {alls} | {ex} | {ep} | {tr} | {te} |", flush=True)
            if times.get("ours") and times.get("peer"):
                ratios = [b / a for a, b in zip(times["ours"], times["peer"])]
                rec["speedup"] = rec["peer"]["step_ms"] / rec["ours"]["step_ms"]
                rec["speedup_per_round"] = ratios
                print(f"| {model} | peer / ours | **{rec['speedup']:.2f}x** | per round: "
                      f"{', '.join(f'{x:.2f}' for x in ratios)} | | | | |", flush=True)
            if args.json:
                with open(args.json, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(rec) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
