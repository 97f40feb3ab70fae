"""MNIST with the model API: a dense 1568-100-10 circuit, fitted on the NumPy side, tested in ngspice.

Question answered: "What does a plain dense resistive network built from blocks reach on
MNIST, and does ngspice agree on the whole test set?" Input(784) as +/-x source pairs,
Dense(100) with ideal-diode clamps at 0 V (a ReLU-like network, Scellier 2024), Dense(10)
outputs with targets 0.1 V / 0 V, bias rails at +-1 V; Adam (lr 1e-7 S), centered beta
1e-6 S, batch 20, all 60,000 training images per epoch on the exact BCD solver (or Newton:
``--backend numpy``, ~10x slower); then the 10,000 test images through ngspice with the
fitted conductances.

    python examples/api_mnist_dense.py                       # 10 epochs, ~4 min
    python examples/api_mnist_dense.py --epochs 1 --n-train 10000 --n-test 1000
"""

import argparse
import sys
import time

from analog_eqprop.api import Dense, DiodeClamp, Input, Sequential
from analog_eqprop.data import load_mnist
from analog_eqprop.errors import DataError
from analog_eqprop.solvers.ngspice_shared import ngspice_available

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--backend", choices=("bcd", "numpy"), default="bcd")
parser.add_argument("--n-train", type=int, default=None, help="first N training images (default: all)")
parser.add_argument("--n-test", type=int, default=None, help="first N test images (default: all)")
parser.add_argument("--data-dir", default=None, help="MNIST IDX files (default: $ANALOG_EQPROP_MNIST_DIR, else the "
                                                   "data home, downloaded there on first use)")
args = parser.parse_args()
try:
    data = load_mnist(args.data_dir, download=True).subset(n_train=args.n_train, n_test=args.n_test)
except DataError as exc:
    sys.exit(f"MNIST unavailable: {exc}")

model = Sequential([Input(784), Dense(100, clamp=DiodeClamp(low=0.0)), Dense(10)], seed=0, backend=args.backend)
model.compile(optimizer="adam", learning_rate=1e-7, beta=1e-6, beta_mode="centered", batch_size=20)
print(model.summary())


def report(rec):
    print(f"epoch {rec['epoch']}: train error {100 * rec['train_error']:.2f} %, test error "
          f"{100 * rec['test_error']:.2f} % ({rec['seconds']:.0f} s)", flush=True)


t0 = time.perf_counter()
model.fit(data, epochs=args.epochs, callback=report)
print(f"fit: {time.perf_counter() - t0:.0f} s on {model.backend}")
if ngspice_available():
    ev = model.evaluate(data, backend="ngspice")
    print(f"ngspice, {ev['n']} test images: accuracy {100 * ev['accuracy']:.2f} % ({ev['seconds']:.0f} s); "
          f"numpy twin (Newton): {100 * model.evaluate(data, backend='numpy')['accuracy']:.2f} %")
