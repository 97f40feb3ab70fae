"""Digital vs analog on one task: the seed's Hopfield network in NumPy against a circuit in ngspice.

Question answered: "How does a resistive circuit simulated by SPICE compare with the
digital EqProp model of the seed paper on the same task?" Both learn the built-in digits
with EqProp from the same batches: a 64-64-10 continuous Hopfield network (clipped Euler
relaxation, seed Table 2 style settings) and a drn 64-32-10 resistive circuit whose
operating points come from ngspice. Prints per-epoch test error and time, and what only
the circuit has: the power its conductances dissipate at the operating points.

    python examples/digital_vs_analog.py                # 3 epochs each, ~30 s
    python examples/digital_vs_analog.py --epochs 10
"""

import argparse
import sys
import time

import numpy as np

from analog_eqprop.circuits import drn_circuit
from analog_eqprop.data import load_digits
from analog_eqprop.models import HopfieldConfig, HopfieldNetwork, ResistiveNetwork
from analog_eqprop.solvers.ngspice_backend import NgspiceBackend
from analog_eqprop.solvers.ngspice_shared import ngspice_available
from analog_eqprop.training import TrainConfig, Trainer

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=3)
args = parser.parse_args()
if not ngspice_available():
    sys.exit("ngspice is not installed (Debian: apt-get install ngspice libngspice0)")

data = load_digits()
digital = HopfieldNetwork.layered([64, 64, 10], seed=0, config=HopfieldConfig(n_free=20, n_nudged=4))
analog = ResistiveNetwork(drn_circuit([64, 32, 10], seed=0), backend=NgspiceBackend())
runs = {
    "Hopfield / NumPy": Trainer(digital, TrainConfig(epochs=args.epochs, learning_rates=(0.4, 0.2), beta=1.0),
                                progress=False),
    # conductances in siemens: Adam steps of ~0.2 uS, beta = 1 uS of nudging current per volt
    "circuit / ngspice": Trainer(analog, TrainConfig(epochs=args.epochs, learning_rates=(2e-7,), optimizer="adam",
                                                     beta=1e-6, beta_mode="positive"), progress=False),
}
histories = {}
for name, trainer in runs.items():
    t0 = time.perf_counter()
    histories[name] = trainer.fit(data)
    print(f"{name}: {time.perf_counter() - t0:.1f} s for {args.epochs} epochs", flush=True)

print(f"\n{'epoch':>5}" + "".join(f"  {name + ' test error':>30}" for name in runs))
for i in range(args.epochs):
    print(f"{i + 1:5d}" + "".join(f"  {100 * histories[n][i]['test_error']:29.2f}%" for n in runs))
print("seconds per epoch (train + test): " + ", ".join(
    f"{n} {np.median([r['seconds'] for r in h]):.2f}" for n, h in histories.items()))

n_params = {"Hopfield / NumPy": sum(v.size for v in digital.params.values()), "circuit / ngspice": analog.g.size}
print("trainable parameters: " + ", ".join(f"{n} {k}" for n, k in n_params.items()))
state = analog.relax(data.x_test).state
power = analog.power(data.x_test, state)
print(f"circuit: power in the conductances at the free operating point, mean over the test set "
      f"{1e3 * power.mean():.2f} mW (range {1e3 * power.min():.2f} - {1e3 * power.max():.2f} mW)")
