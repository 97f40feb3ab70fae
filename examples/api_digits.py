"""Digits with the model API: dense, locally connected, convolutional and pooled layers compared.

Question answered: "What do the 2-D layer blocks buy on images, for how many trainable
parameters?" Four circuits with 36-144 hidden nodes read scikit-learn's 8x8 digits (1,437
training / 360 test images) as an image: a Dense layer, a LocallyConnected2D layer (4
filters of 4x4 windows, stride 2: every resistor its own conductance), the same windows as a
Conv2D (one conductance parameter per filter tap, tied across the 9 positions), and a 3x3
Conv2D followed by 2x2 AveragePooling2D (fixed conductances). Each is fitted with Adam for
the same epochs on the exact block coordinate descent backend (BCD: ideal diodes), and the
final test error is printed with the parameter counts.

    python examples/api_digits.py                      # ~10 s
    python examples/api_digits.py --epochs 30 --backend numpy
"""

import argparse
import time

from analog_eqprop.api import AveragePooling2D, Conv2D, Dense, DiodeClamp, Input, LocallyConnected2D, Sequential
from analog_eqprop.data import load_digits

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--backend", choices=("bcd", "numpy"), default="bcd")
args = parser.parse_args()

relu = DiodeClamp(low=0.0)
image = Input(64, shape=(8, 8))
nets = {
    "Dense(36)": [image, Dense(36, clamp=relu), Dense(10)],
    "LocallyConnected2D(4, 4x4 / 2)": [image, LocallyConnected2D(4, kernel=4, stride=2, clamp=relu), Dense(10)],
    "Conv2D(4, 4x4 / 2)": [image, Conv2D(4, kernel=4, stride=2, clamp=relu), Dense(10)],
    "Conv2D(4, 3x3) + AvgPool(2)": [image, Conv2D(4, kernel=3, clamp=relu), AveragePooling2D(2, g=1e-4), Dense(10)],
}
data = load_digits()
print(f"{'layers':<32} {'hidden nodes':>12} {'conductances':>13} {'parameters':>11} {'test err %':>10} "
      f"{'best %':>7} {'s':>6}")
for name, blocks in nets.items():
    model = Sequential(blocks, seed=0, backend=args.backend)
    model.compile(optimizer="adam", learning_rate=2e-7, beta=1e-6, beta_mode="centered", batch_size=20)
    t0 = time.perf_counter()
    history = model.fit(data, epochs=args.epochs)
    seconds = time.perf_counter() - t0
    c = model.circuit
    best = min(r["test_error"] for r in history)
    print(f"{name:<32} {c.n_free - c.n_outputs:12d} {c.n_edges:13d} {c.n_params:11d} "
          f"{100 * history[-1]['test_error']:10.2f} {100 * best:7.2f} {seconds:6.1f}")
