"""Train the seed's Hopfield network with EqProp on the built-in 8x8 digits (no download).

Question answered: "How do I train an EqProp network in a few lines?"

    python examples/hopfield_digits.py            # ~5 s on a laptop
"""

from analog_eqprop.data import load_digits
from analog_eqprop.models import HopfieldConfig, HopfieldNetwork
from analog_eqprop.training import TrainConfig, Trainer

net = HopfieldNetwork.layered([64, 64, 10], seed=0, config=HopfieldConfig(n_free=20, n_nudged=4))
trainer = Trainer(net, TrainConfig(epochs=10, learning_rates=(0.4, 0.2), beta=1.0), progress=False)
history = trainer.fit(load_digits())
for rec in history:
    print(f"epoch {rec['epoch']:2d}  train {100 * rec['train_error']:5.2f}%  test {100 * rec['test_error']:5.2f}%")
assert history[-1]["test_error"] < 0.15, "EqProp should reach < 15 % test error on digits in 10 epochs"
