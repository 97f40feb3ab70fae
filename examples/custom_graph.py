"""EqProp on your own networkx graph: XOR with a hand-built, non-layered network.

Question answered: "Can I train an arbitrary graph, not just layers?" Nodes need a ``role``
(input / hidden / output), edges a ``weight``. Here hidden units also talk to each other
(lateral edges) and the inputs connect straight to the output too (skip edges).

    python examples/custom_graph.py

The nudge must be able to move a saturated output. Units are hard sigmoids (states clipped
to [0, 1]): an output held at 0 by a drive below ``-2 * cost_scale * beta`` stays at 0 in the
nudged phase too, so EqProp's update for that pattern is exactly zero (as is the true gradient
of the clipped network) and training stalls. With beta = 0.5 and six hidden units (this
example's first settings, with beta of random sign) XOR stalled at 25-50 % error for 16 of 20
weight seeds, every stalled pattern with an output held on the wrong side by a drive of 0.82-3.48
against a reach of 0.5 (this seed: "yes" at 0 for input (1, 0), drive -0.82); with beta = 2
towards the target and ten hidden units all 20 are at 0 % from epoch 150 on
(``python benchmarks/custom_graph_seeds.py``; BENCHMARKS.md).
"""

import networkx as nx

from analog_eqprop.data import load_xor
from analog_eqprop.graphs import init_weights, validate_graph, write_graph
from analog_eqprop.models import HopfieldConfig, HopfieldNetwork
from analog_eqprop.training import TrainConfig, Trainer

EPOCHS = 200


def xor_graph(n_hidden: int = 10, seed: int = 3) -> nx.Graph:
    """Two inputs, a chain of hidden units, two outputs ("no", "yes"), with skip edges."""
    G = nx.Graph()
    hidden = [f"h{i}" for i in range(n_hidden)]
    G.add_nodes_from(["a", "b"], role="input")
    G.add_nodes_from(hidden, role="hidden")
    G.add_nodes_from(["no", "yes"], role="output")
    G.add_edges_from((i, h) for i in "ab" for h in hidden)
    G.add_edges_from(zip(hidden, hidden[1:]))                            # lateral chain
    G.add_edges_from((h, o) for h in hidden for o in ("no", "yes"))
    G.add_edges_from((i, o) for i in "ab" for o in ("no", "yes"))         # skip edges
    init_weights(G, seed=seed)
    validate_graph(G)
    return G


def train(G: nx.Graph, *, beta: float = 2.0, beta_mode: str = "positive", learning_rates=(0.2, 0.1),
          epochs: int = EPOCHS):
    """Train on the four XOR patterns (full batch, nudged towards the target every step);
    returns the network and its history."""
    net = HopfieldNetwork.from_graph(G, HopfieldConfig(n_free=40, n_nudged=20))
    trainer = Trainer(net, TrainConfig(epochs=epochs, batch_size=4, learning_rates=learning_rates, beta=beta,
                                       beta_mode=beta_mode, persistent=False), progress=False)
    return net, trainer.fit(load_xor())


if __name__ == "__main__":
    G = xor_graph()
    net, history = train(G)
    solved = next((r["epoch"] for r in history if r["train_error"] == 0), None)
    print(f"XOR train error after {len(history)} epochs: {100 * history[-1]['train_error']:.0f} % "
          f"(first 0 % at epoch {solved})")
    write_graph(net.to_graph(G), "xor_trained.graphml")
    print("trained graph written to xor_trained.graphml")
