"""What the deck policy costs next to ngspice, on the decks the toolkit itself runs.

Every deck handed to ngspice passes :func:`analog_eqprop.netlist.deck_policy.check_deck`
first (unless trusted), the training backend's compiled chunks included. This prints, per
deck, the policy's time and ngspice's (shared library: load and analysis), measured in the
same run, best of ``--repeats``.

    python benchmarks/deck_policy.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

from analog_eqprop.circuits import kendall_circuit
from analog_eqprop.netlist import compile_sweep
from analog_eqprop.netlist.deck_policy import check_deck
from analog_eqprop.solvers.ngspice_backend import DEFAULT_OPTIONS, NortonPlan
from analog_eqprop.solvers.ngspice_shared import run_netlist

REPO = Path(__file__).resolve().parents[1]


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _decks() -> list[tuple[str, str]]:
    decks = [(p.name, p.read_text(encoding="utf-8")) for p in sorted((REPO / "netlists").glob("*.cir"))]
    rng = np.random.default_rng(0)
    for sizes in [(64, 16, 10), (784, 100, 10)]:
        c = kendall_circuit(*sizes, seed=0)
        plan = NortonPlan(c)
        g, x = plan.fold(c.edge_g, rng.random((50, sizes[0])))
        text = compile_sweep(plan.reduced, g, x, form="norton", repeats=3, options=DEFAULT_OPTIONS).text
        decks.append((f"training chunk kendall {'-'.join(map(str, sizes))}, 50 examples (Norton sweep)", text))
    return decks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d %H:%M')}")
    print("| deck | lines | policy [ms] | ngspice [ms] | policy / ngspice |")
    print("|---|---|---|---|---|")
    for name, text in _decks():
        run_netlist(text)  # warm up
        t_policy = _best(lambda: check_deck(text), args.repeats)
        t_spice = _best(lambda: run_netlist(text, trust_deck=True), args.repeats)  # ngspice alone
        print(f"| {name} | {text.count(chr(10))} | {t_policy * 1e3:.2f} | {t_spice * 1e3:.1f} | "
              f"{t_policy / t_spice:.1%} |")


if __name__ == "__main__":
    main()
