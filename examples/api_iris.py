"""Iris with the model API: squared error against softmax cross-entropy, checked in ngspice.

Question answered: "Does a circuit nudged by the cross-entropy's current I = -beta dC/dV
learn as well as one nudged towards target voltages, and does ngspice agree with the NumPy
twin on both?" The same 4-16-3 circuit (+/-x inputs, 16 diode-clamped hidden nodes, bias
rails, 3 outputs) is fitted twice from the same conductances on scikit-learn's Iris (120
training / 30 test flowers): with the squared error 1/2 ||V - t||^2 (targets 0.1 V / 0 V) and
with softmax cross-entropy at a temperature of 20 mV. Both are then evaluated on the test
flowers by ngspice (the nudge currents of the cross-entropy reach ngspice as explicit
current sources during training only; evaluation is a free phase).

    python examples/api_iris.py                 # ~5 s
    python examples/api_iris.py --epochs 100
"""

import argparse
import sys
import time

import numpy as np

from analog_eqprop.api import Dense, DiodeClamp, Input, Sequential
from analog_eqprop.data import load_iris
from analog_eqprop.solvers.ngspice_shared import ngspice_available

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=60)
args = parser.parse_args()
if not ngspice_available():
    sys.exit("ngspice is not installed (Debian: apt-get install ngspice libngspice0)")

data = load_iris()
# beta is in siemens; the cross-entropy's gradient per volt is 1/T = 50 times the squared
# error's, so it gets a smaller beta for a nudge of similar size
recipes = {"squared error": dict(loss="mse", beta=1e-6),
           "cross-entropy (T = 20 mV)": dict(loss="cross_entropy", temperature=0.02, beta=1e-7)}
print(f"{'loss':<26} {'train err %':>11} {'test err % (numpy)':>19} {'test err % (ngspice)':>21} "
      f"{'max |dV| [V]':>13} {'fit s':>6}")
for name, kw in recipes.items():
    model = Sequential([Input(4), Dense(16, clamp=DiodeClamp(low=0.0)), Dense(3)], seed=0)
    model.compile(optimizer="adam", learning_rate=3e-7, batch_size=10, beta_mode="centered", **kw)
    t0 = time.perf_counter()
    history = model.fit(data, epochs=args.epochs)
    t_fit = time.perf_counter() - t0
    num, spice = model.evaluate(data), model.evaluate(data, backend="ngspice")
    dv = np.max(np.abs(model.outputs(data.x_test) - model.outputs(data.x_test, backend="ngspice")))
    print(f"{name:<26} {100 * history[-1]['train_error']:11.2f} {100 * num['error']:19.2f} "
          f"{100 * spice['error']:21.2f} {dv:13.1e} {t_fit:6.1f}")
    assert num["error"] == spice["error"] and dv < 1e-6
