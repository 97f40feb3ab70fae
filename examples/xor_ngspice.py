"""Train XOR with every operating point found by ngspice.

Question answered: "Can a circuit simulated by SPICE learn a non-linear task with EqProp?"
A drn 2-8-2 circuit (+/-x input sources, eight diode-clamped hidden nodes, two outputs)
learns XOR; each free and nudged phase is one ngspice analysis of the whole batch, and the
conductance updates come from the voltage drops ngspice reports.

    python examples/xor_ngspice.py                 # ~5 s
    python examples/xor_ngspice.py --epochs 300
"""

import argparse
import sys

import numpy as np

from analog_eqprop.circuits import drn_circuit
from analog_eqprop.data import load_xor
from analog_eqprop.models import ResistiveNetwork
from analog_eqprop.solvers.ngspice_backend import NgspiceBackend
from analog_eqprop.solvers.ngspice_shared import ngspice_available
from analog_eqprop.training import TrainConfig, Trainer

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=100)
args = parser.parse_args()
if not ngspice_available():
    sys.exit("ngspice is not installed (Debian: apt-get install ngspice libngspice0)")

data = load_xor()
net = ResistiveNetwork(drn_circuit([2, 8, 2], seed=0), backend=NgspiceBackend())
# Conductances are in siemens: Adam takes steps of about lr = 1 uS; beta = 1 uS of nudging.
config = TrainConfig(epochs=args.epochs, batch_size=4, learning_rates=(1e-6,), optimizer="adam", beta=1e-6,
                     beta_mode="positive")
history = Trainer(net, config, progress=False).fit(data)
for rec in history[:: max(1, args.epochs // 5)] + history[-1:]:
    print(f"epoch {rec['epoch']:4d}  error {100 * rec['train_error']:5.1f}%  cost {rec['test_cost']:.2e} V^2")

out = net.output(net.relax(data.x_test).state)
print(f"\n{'x1':>3} {'x2':>3}  {'V(y0) [mV]':>10} {'V(y1) [mV]':>10}  class")
for x, v in zip(data.x_test, out):
    print(f"{x[0]:3.0f} {x[1]:3.0f}  {1e3 * v[0]:10.2f} {1e3 * v[1]:10.2f}  {int(np.argmax(v))}")
print(f"ngspice: {net.backend.stats['analyses']} analyses, {net.backend.stats['ngspice_seconds']:.2f} s inside ngspice")
if args.epochs >= 100:
    assert np.array_equal(np.argmax(out, axis=1), data.y_test), "XOR should be solved after 100 epochs"
