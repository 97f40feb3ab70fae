"""Does EqProp compute the gradient? Compare it with the exact one on a random graph.

Question answered: "How close is EqProp's update to backprop's gradient, and how does the
error depend on beta?" One-sided nudging has an O(beta) error, centered nudging O(beta^2).

    python examples/gradient_check.py
"""

import numpy as np

from analog_eqprop.eqprop import gradcheck
from analog_eqprop.graphs import random_graph
from analog_eqprop.models import HopfieldConfig, HopfieldNetwork

G = random_graph(4, 8, 3, 0.5, seed=0)
for n, d in G.nodes(data=True):  # biases that keep units inside (0, 1), where gradients flow
    if d["role"] != "input":
        d["bias"] = 0.4
net = HopfieldNetwork.from_graph(G, HopfieldConfig(dtype="float64"))
rng = np.random.default_rng(0)
x, target = rng.random((8, 4)), np.eye(3)[rng.integers(0, 3, 8)]
for mode in ("positive", "centered"):
    report = gradcheck(net, x, target, betas=(0.1, 0.01, 0.001), mode=mode, finite_differences=(mode == "positive"))
    print(f"{mode} nudging:")
    for row in report.rows:
        print(f"  beta {row.beta:6.3f}: cosine {row.cosine:.6f}, relative error {row.rel_error:.2e}")
    if report.fd_cosine is not None:
        print(f"  implicit gradient vs finite differences: cosine {report.fd_cosine:.10f}")
