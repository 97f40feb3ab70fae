"""XOR with the model API: fitted on the NumPy twin, then run by ngspice.

Question answered: "Does a circuit fitted on the NumPy twin classify the same way when
ngspice simulates it?" A 2-8-2 model (+/-x input sources, eight diode-clamped hidden
nodes, two outputs) built from blocks is fitted with Adam for 100 epochs on the NumPy
backend; its conductances are then evaluated in ngspice, and the output voltages of the two
backends are compared example by example.

    python examples/api_xor.py                 # ~1 s
    python examples/api_xor.py --epochs 300
"""

import argparse
import sys
import time

import numpy as np

from analog_eqprop.api import Dense, DiodeClamp, Input, Sequential
from analog_eqprop.data import load_xor
from analog_eqprop.solvers.ngspice_shared import ngspice_available

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=100)
args = parser.parse_args()
if not ngspice_available():
    sys.exit("ngspice is not installed (Debian: apt-get install ngspice libngspice0)")

data = load_xor()
# seed 1: solved by epoch 12 (over seeds 0-5 with this recipe the first error-free epoch
# ranged from 12 to 115, and seed 3 was still at 25 % after 200 epochs)
model = Sequential([Input(2), Dense(8, clamp=DiodeClamp(low=0.0)), Dense(2)], seed=1)
# Conductances are in siemens: Adam steps of about 1 uS, nudging with beta = 1 uS.
model.compile(optimizer="adam", learning_rate=1e-6, beta=1e-6, beta_mode="positive", batch_size=4)
t0 = time.perf_counter()
history = model.fit(data, epochs=args.epochs)
t_fit = time.perf_counter() - t0
first_zero = next((r["epoch"] for r in history if r["train_error"] == 0), None)
print(f"fitted {args.epochs} epochs on numpy in {t_fit:.2f} s; train error 0 from epoch {first_zero}")

t0 = time.perf_counter()
numpy_out, spice_out = model.outputs(data.x_test), model.outputs(data.x_test, backend="ngspice")
t_eval = time.perf_counter() - t0
print(f"\n{'x1':>3} {'x2':>3}  {'numpy V(y0), V(y1) [mV]':>24}  {'ngspice [mV]':>18}  class")
for x, a, b in zip(data.x_test, numpy_out, spice_out):
    print(f"{x[0]:3.0f} {x[1]:3.0f}  {1e3 * a[0]:11.3f} {1e3 * a[1]:11.3f}  {1e3 * b[0]:8.3f} {1e3 * b[1]:8.3f}  "
          f"{int(np.argmax(b))}")
ev = model.evaluate(data, backend="ngspice")
print(f"\nngspice accuracy {100 * ev['accuracy']:.1f} %, max |V_numpy - V_ngspice| "
      f"{np.max(np.abs(numpy_out - spice_out)):.1e} V (both backends: {t_eval:.2f} s)")
if args.epochs >= 100:
    assert ev["accuracy"] == 1.0, "XOR should be solved after 100 epochs"
