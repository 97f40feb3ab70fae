"""The seed paper's Net1 (784-500-10) on MNIST, in the seed code's settings.

Question answered: "Does this reproduce Scellier & Bengio (2017)?" 25 epochs take about
3 minutes on 2 cores; see benchmarks/BENCHMARKS.md for the recorded run.

    python examples/seed_mnist.py [--epochs 25] [--data-dir DIR]   # MNIST downloads on first use
"""

import argparse

from analog_eqprop.data import load_mnist
from analog_eqprop.models import HopfieldConfig, HopfieldNetwork
from analog_eqprop.training import TrainConfig, Trainer

ap = argparse.ArgumentParser()
ap.add_argument("--epochs", type=int, default=25)
ap.add_argument("--data-dir", default=None)
args = ap.parse_args()

net = HopfieldNetwork.layered([784, 500, 10], seed=0, config=HopfieldConfig(n_free=20, n_nudged=4, cost_scale=1.0))
cfg = TrainConfig(epochs=args.epochs, batch_size=20, learning_rates=(0.1, 0.05), beta=0.5, beta_mode="random_sign",
                  n_valid=10_000)
trainer = Trainer(net, cfg, checkpoint_path="runs/example-seed-mnist/checkpoint.npz")
trainer.fit(load_mnist(args.data_dir, download=True),
            callback=lambda r: print(f"epoch {r['epoch']:2d}: train {100 * r['train_error']:.2f}%  "
                                     f"valid {100 * r['valid_error']:.2f}%  test {100 * r['test_error']:.2f}%  "
                                     f"{r['seconds']:.1f} s"))
