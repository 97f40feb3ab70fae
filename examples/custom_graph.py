"""EqProp on your own networkx graph: XOR with a hand-built, non-layered network.

Question answered: "Can I train an arbitrary graph, not just layers?" Nodes need a ``role``
(input / hidden / output), edges a ``weight``. Here hidden units also talk to each other
(lateral edges) and the inputs connect straight to the output too (skip edges).

    python examples/custom_graph.py
"""

import networkx as nx

from analog_eqprop.data import load_xor
from analog_eqprop.graphs import init_weights, validate_graph, write_graph
from analog_eqprop.models import HopfieldConfig, HopfieldNetwork
from analog_eqprop.training import TrainConfig, Trainer

G = nx.Graph()
G.add_nodes_from(["a", "b"], role="input")
G.add_nodes_from([f"h{i}" for i in range(6)], role="hidden")
G.add_nodes_from(["no", "yes"], role="output")
G.add_edges_from((i, h) for i in "ab" for h in [f"h{k}" for k in range(6)])
G.add_edges_from((f"h{k}", f"h{k + 1}") for k in range(5))            # lateral chain
G.add_edges_from((h, o) for h in [f"h{k}" for k in range(6)] for o in ("no", "yes"))
G.add_edges_from((i, o) for i in "ab" for o in ("no", "yes"))         # skip edges
init_weights(G, seed=3)
validate_graph(G)

net = HopfieldNetwork.from_graph(G, HopfieldConfig(n_free=40, n_nudged=20))
trainer = Trainer(net, TrainConfig(epochs=200, batch_size=4, learning_rates=(0.5, 0.25), beta=0.5,
                                   persistent=False), progress=False)
history = trainer.fit(load_xor())
print(f"XOR train error after {len(history)} epochs: {100 * history[-1]['train_error']:.0f} %")
write_graph(net.to_graph(G), "xor_trained.graphml")
print("trained graph written to xor_trained.graphml")
