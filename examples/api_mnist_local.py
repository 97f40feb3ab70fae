"""MNIST with the model API: a locally connected circuit, fitted on the NumPy side, tested in ngspice.

Question answered: "How far does a small locally connected circuit get on MNIST?" The README's
Model API network at full scale: Input(784) as a 28x28 image of +/-x source pairs, a
LocallyConnected2D layer of 2 filters over 7x7 windows 3 pixels apart (8x8x2 = 128
diode-clamped nodes, 98 input resistors each: 14,100 conductances in all, a tenth of a
784-100-10 dense net's), Dense(10) outputs; Adam (lr 1e-7 S), centered beta 1e-6 S, batch
20, all 60,000 training images per epoch on the exact BCD solver (``--backend numpy``: Newton,
as in the README), then the 10,000 test images through ngspice; the netlist of the trained
circuit for one test image is written to ``lc_mnist.cir``.

    python examples/api_mnist_local.py                       # 10 epochs, ~4 min
    python examples/api_mnist_local.py --filters 8 --epochs 10
"""

import argparse
import sys
import time

from analog_eqprop.api import Dense, DiodeClamp, Input, LocallyConnected2D, Sequential
from analog_eqprop.data import load_mnist
from analog_eqprop.errors import DataError
from analog_eqprop.solvers.ngspice_shared import ngspice_available

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--filters", type=int, default=2)
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

model = Sequential([Input(784, shape=(28, 28)),
                    LocallyConnected2D(filters=args.filters, kernel=7, stride=3, clamp=DiodeClamp(low=0.0)),
                    Dense(10)], seed=0, backend=args.backend)
model.compile(optimizer="adam", learning_rate=1e-7, beta=1e-6, beta_mode="centered", batch_size=20)
print(model.summary())


def report(rec):
    print(f"epoch {rec['epoch']}: train error {100 * rec['train_error']:.2f} %, test error "
          f"{100 * rec['test_error']:.2f} % ({rec['seconds']:.0f} s)", flush=True)


t0 = time.perf_counter()
model.fit(data, epochs=args.epochs, callback=report)
print(f"fit: {time.perf_counter() - t0:.0f} s on {model.backend}")
deck = model.export_netlist("lc_mnist.cir", x=data.x_test[0])
print(f"lc_mnist.cir: {deck.n_lines} lines (run it with: ngspice -b lc_mnist.cir)")
if ngspice_available():
    ev = model.evaluate(data, backend="ngspice")
    print(f"ngspice, {ev['n']} test images: accuracy {100 * ev['accuracy']:.2f} % ({ev['seconds']:.0f} s); "
          f"numpy twin (Newton): {100 * model.evaluate(data, backend='numpy')['accuracy']:.2f} %")
