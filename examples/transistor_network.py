"""Transistor networks trained by EqProp through the NumPy twin and ngspice in lockstep: XOR and Iris.

Question answered: "Does EqProp still learn when the weights are transistors whose gate voltages
are the parameters (Dillavou et al., PNAS 2024), and does ngspice agree with the NumPy twin all
the way through training?" Every edge of the networks is an n-channel MOSFET (ngspice level 1,
card NEDGE) whose gate is driven by a source of its own; the hidden nodes are clamped at 0 V by
diode-connected transistors (NCLAMP); inputs are +/-x source pairs. Every relaxation of
training and evaluation -- free phase, +beta and -beta nudged phases (centered EqProp), test
predictions -- is solved by ngspice *and* by the NumPy twin from the same gate voltages; the
update uses ngspice's fixed points and the largest difference between the two is recorded.

The gate update is EqProp's local rule for a transistor (analog_eqprop/elements/mosfet.py):
``1/2 (g_m(s_+) + g_m(s_-)) (V_DS(s_+) - V_DS(s_-))`` per gate, divided by 2 beta. Transistor
networks are not reciprocal, so this is close to, not equal to, the gradient (BENCHMARKS.md).

    python examples/transistor_network.py            # XOR 200 epochs + Iris 60 epochs (~3 min on 2 cores)
    python examples/transistor_network.py --quick    # a few epochs each (what the default tests run)

Exits non-zero if the backends' fixed points ever differ by more than 1e-6 V, or (full run) if
XOR is not learnt (0 % error) or Iris's test error exceeds 10 %; the last line holds the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from analog_eqprop.api import Dense, DiodeClamp, Input, Output, Sequential, TransistorEdges
from analog_eqprop.contracts import BackendCapabilities
from analog_eqprop.data import load_iris, load_xor
from analog_eqprop.solvers.backends import NumpyBackend
from analog_eqprop.solvers.ngspice_backend import NgspiceBackend
from analog_eqprop.solvers.ngspice_shared import ngspice_available

AGREE_V = 1e-6  # largest allowed |V_ngspice - V_numpy| at any fixed point [V]


class Lockstep:
    """A backend that solves every phase with ngspice and the NumPy twin, returns ngspice's
    operating points and records the largest difference [V]."""

    name = "lockstep"
    capabilities = BackendCapabilities(element_values=True)  # takes the gate voltages (values=)

    def __init__(self):
        self.spice = NgspiceBackend(per_analysis=60)
        self.twin = NumpyBackend()
        self.stats: dict = {}
        self.max_dv = 0.0
        self.phases = 0

    def operating_point(self, system, g, x, *, beta=0.0, target_v=None, ref=None, u0=None, values=None):
        kw = dict(beta=beta, target_v=target_v, ref=ref, values=values)
        a = self.spice.operating_point(system, g, x, **kw)
        b = self.twin.operating_point(system, g, x, u0=u0, **kw)
        self.max_dv = max(self.max_dv, float(np.max(np.abs(a.voltages - b.voltages))))
        self.phases += 1
        return a


def network(n_in: int, n_hidden: int, n_out: int, seed: int, backend) -> Sequential:
    edges = TransistorEdges(model="NEDGE", gate=(1.0, 2.0))
    return Sequential([Input(n_in), Dense(n_hidden, clamp=DiodeClamp(low=0.0, model="NCLAMP"), edges=edges),
                       Dense(n_out, edges=edges), Output(target_on=0.2)], seed=seed, backend=backend)


def run(name: str, data, hidden: int, epochs: int, lr: float, batch: int, seed: int) -> dict:
    lock = Lockstep()
    model = network(data.n_features, hidden, data.n_classes, seed, lock)
    # Adam steps of about lr volts on every gate, nudge currents beta (out - target) [A]
    model.compile(optimizer="adam", learning_rate=lr, beta=1e-6, beta_mode="centered", batch_size=batch)
    t0 = time.perf_counter()
    history = model.fit(data, epochs=epochs)
    ev = model.evaluate(data)
    out = dict(task=name, epochs=epochs, train_error=history[-1]["train_error"], test_error=ev["error"],
               first_zero_train_error=next((r["epoch"] for r in history if r["train_error"] == 0), None),
               max_dv=lock.max_dv, phases=lock.phases, gates=int(sum(p.size for p in model.network.params.values())),
               seconds=time.perf_counter() - t0)
    print(f"{name:5} {data.n_features}-{hidden}-{data.n_classes} transistor net, {out['gates']} gates: "
          f"{epochs} epochs, train error {100 * out['train_error']:.1f} %, test error {100 * out['test_error']:.1f} % "
          f"(ngspice), {lock.phases} phases solved by both, max |V_ngspice - V_numpy| {lock.max_dv:.1e} V, "
          f"{out['seconds']:.0f} s", flush=True)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few epochs each (a smoke run: no accuracy targets)")
    parser.add_argument("--epochs", type=int, help="epochs of both tasks (a smoke run: no accuracy targets)")
    args = parser.parse_args(argv)
    smoke = args.quick or args.epochs is not None
    if not ngspice_available():
        print("ngspice is not installed (Debian: apt-get install ngspice libngspice0)", file=sys.stderr)
        return 2
    # seeds: over seeds 0-5 with this recipe XOR reached 0 % in 5 of 6 runs within 200 epochs (at epochs
    # 89-172 on the NumPy twin); seed 3 at 89
    xor = run("XOR", load_xor(), 8, args.epochs or (3 if args.quick else 200), 0.1, 4, seed=3)
    iris = run("Iris", load_iris(), 16, args.epochs or (1 if args.quick else 60), 0.05, 10, seed=0)
    figures = {"xor_train_error": xor["train_error"], "xor_first_zero_epoch": xor["first_zero_train_error"],
               "iris_test_error": iris["test_error"], "iris_train_error": iris["train_error"],
               "max_dv": max(xor["max_dv"], iris["max_dv"]), "phases": xor["phases"] + iris["phases"],
               "smoke_run": smoke}
    failures = []
    if figures["max_dv"] > AGREE_V:
        failures.append(f"the backends' fixed points differ by {figures['max_dv']:.2e} V > {AGREE_V:g} V")
    if not smoke and xor["train_error"] != 0.0:
        failures.append(f"XOR not learnt: {100 * xor['train_error']:.0f} % error after {xor['epochs']} epochs")
    if not smoke and iris["test_error"] > 0.10:
        failures.append(f"Iris test error {100 * iris['test_error']:.1f} % > 10 %")
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    print(json.dumps(figures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
