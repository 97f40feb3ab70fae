"""The first run a newcomer types, with the defaults: does it learn from epoch 1, and how fast?

Runs ``analog-eqprop train --dataset digits --epochs 3`` (Hopfield) and the same with
``--model circuit``, once per ``--seed``, as subprocesses of the command line, and prints each
run's per-epoch test error and wall time, with the machine's load before and after. The
figures come from the command's own output, so the script measures any version of the
package: point ``PYTHONPATH`` at another checkout to measure that one (the "before" column of
``BENCHMARKS.md``).

With ``--mnist DIR`` it also times one epoch of a 784-100-10 drn circuit on 10,000 MNIST
images with the default backend (``auto``: BCD for this circuit) against ``--backend numpy``
(Newton), the choice the default used to make.

    python benchmarks/first_run.py --seeds 0,1,2,3,4
    PYTHONPATH=/path/to/old/checkout python benchmarks/first_run.py --seeds 0,1,2,3,4
    python benchmarks/first_run.py --seeds 0 --mnist ../shared/data/mnist
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

EPOCH = re.compile(r"epoch\s+(\d+)\s+train\s+([\d.]+)%.*?test\s+([\d.]+)%")


def load() -> str:
    return "load %.2f %.2f %.2f" % os.getloadavg()


def train(extra: list[str]) -> tuple[list[float], float, str]:
    """Test error per epoch [%], wall time [s] and the command line of one run."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "analog_eqprop", "train", *extra, "--no-progress", "--out", out]
        t0 = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
    if res.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{res.stderr[-2000:]}")
    errors = [float(m.group(3)) for m in EPOCH.finditer(res.stdout + res.stderr)]
    return errors, wall, "analog-eqprop train " + " ".join(extra)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0", help="comma-separated --seed values")
    ap.add_argument("--mnist", default=None, metavar="DIR", help="also time a 784-100-10 MNIST epoch, auto vs numpy")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"python {sys.version.split()[0]}, PYTHONPATH={os.environ.get('PYTHONPATH', '')}; {load()}")
    for kind in ("hopfield", "circuit"):
        model = ["--model", "circuit"] if kind == "circuit" else []
        finals = []
        for seed in seeds:
            errors, wall, cmd = train([*model, "--dataset", "digits", "--epochs", "3", "--seed", str(seed)])
            finals.append(errors[-1])
            print(f"{cmd}: test error per epoch {', '.join(f'{e:.2f}' for e in errors)} %; {wall:.1f} s wall; "
                  f"{load()}", flush=True)
        print(f"{kind}: test error after 3 epochs over seeds {seeds}: worst {max(finals):.2f} %, mean "
              f"{sum(finals) / len(finals):.2f} %", flush=True)
    if args.mnist:
        for backend in ([], ["--backend", "numpy"]):
            errors, wall, cmd = train(["--model", "circuit", "--dataset", "mnist", "--data-dir", args.mnist,
                                       "--sizes", "784,100,10", "--n-train", "10000", "--n-test", "2000",
                                       "--epochs", "1", *backend])
            print(f"{cmd}: test error {errors[-1]:.2f} %; {wall:.1f} s wall; {load()}", flush=True)


if __name__ == "__main__":
    main()
