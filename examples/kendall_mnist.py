"""Kendall et al. (2020) on MNIST: a 1568-100-20 diode/amplifier circuit trained with EqProp.

Question answered: "What is the Kendall MNIST recipe in this toolkit, and does ngspice
agree with the NumPy twin on it?" The circuit is `kendall_circuit(784, 100, 10)`: +/-x
input sources (1568), 100 hidden neurons clamped to [-0.5, 0.5] V by 1N4148-like diodes
with bidirectional amplifiers (gain 4 forward, 1/4 back: not reciprocal, so EqProp is not
the exact gradient), and 10 differential output pairs with targets +-0.1 V.

By default the recipe runs at small scale -- the first 1,000 training and 500 test images,
one epoch -- trained on the NumPy twin and in ngspice in lockstep (same conductances, same
batches), printing the comparison. `--full` uses all 60,000 / 10,000 images; choose one
backend for it (an ngspice epoch of 60,000 images takes far longer than a NumPy one).

    python examples/kendall_mnist.py                         # small scale, both backends (~1 min)
    python examples/kendall_mnist.py --full --backend numpy --epochs 10
    python examples/kendall_mnist.py --data-dir path/to/mnist
"""

import argparse
import sys

from analog_eqprop.circuits import kendall_circuit
from analog_eqprop.compare import compare_backends, default_train_config
from analog_eqprop.data import load_mnist
from analog_eqprop.errors import DataError
from analog_eqprop.models import ResistiveNetwork
from analog_eqprop.solvers.ngspice_shared import ngspice_available
from analog_eqprop.training import Trainer

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=1)
parser.add_argument("--full", action="store_true", help="all 60,000 training and 10,000 test images")
parser.add_argument("--n-train", type=int, default=1000, help="training images at small scale")
parser.add_argument("--n-test", type=int, default=500, help="test images at small scale")
parser.add_argument("--backend", choices=("both", "numpy", "ngspice"), default="both")
parser.add_argument("--data-dir", default=None, help="MNIST IDX files (default: $ANALOG_EQPROP_MNIST_DIR, else the "
                                                   "data home, downloaded there on first use)")
args = parser.parse_args()
try:
    data = load_mnist(args.data_dir, download=True)
except DataError as exc:
    sys.exit(f"MNIST unavailable: {exc}")
if not args.full:
    data = data.subset(n_train=args.n_train, n_test=args.n_test)
if args.backend != "numpy" and not ngspice_available():
    sys.exit("ngspice is not installed (Debian: apt-get install ngspice libngspice0); try --backend numpy")

circuit = kendall_circuit(784, 100, 10, seed=0)
# The circuit recipe: Adam on conductances (steps ~0.1 uS), beta = 1 uS, batch 20.
config = default_train_config(epochs=args.epochs, batch_size=20, learning_rates=(1e-7,))
print(f"{circuit.name}: {circuit.n_edges} conductances, {circuit.n_diodes} diodes, {circuit.n_amps} amplifiers; "
      f"MNIST {len(data.y_train)} train / {len(data.y_test)} test; {args.epochs} epoch(s)", flush=True)


def show(rec, label=""):
    print(f"epoch {rec['epoch']:3d} {label}: train error {100 * rec['train_error']:6.2f}%  "
          f"test error {100 * rec['test_error']:6.2f}%  {rec['seconds']:.1f} s", flush=True)


if args.backend == "both":
    report = compare_backends(circuit, data, train_config=config, n_probe=20, sweep_modes=("centered",),
                              callback=lambda chk, a, b: (show(a, "numpy  "), show(b, "ngspice")))
    print(report.table())
else:
    trainer = Trainer(ResistiveNetwork(circuit, backend=args.backend), config, progress=args.full)
    trainer.fit(data, callback=lambda rec: show(rec, args.backend))
