"""Network graphs: conventions, builders, grouping, validation and file I/O.

A network is an undirected :class:`networkx.Graph` with string node names.
Each node has a ``role`` ("input", "hidden", "output"; circuits add "bias" and
"ground"), optionally an integer ``layer`` and ``index`` and a float ``bias``;
each edge has a float ``weight`` (a conductance in siemens for circuits).

Examples
--------
>>> from analog_eqprop.graphs import layered_graph, validate_graph, node_groups
>>> G = layered_graph([4, 3, 2], seed=0)
>>> validate_graph(G)
>>> [(g.key, g.role, len(g)) for g in node_groups(G)]
[(0, 'input', 4), (1, 'hidden', 3), (2, 'output', 2)]
"""

from __future__ import annotations

from analog_eqprop.graphs.builders import (
    INIT_SCHEMES,
    from_adjacency,
    fully_connected_graph,
    init_weights,
    layered_graph,
    random_graph,
)
from analog_eqprop.graphs.groups import CIRCUIT_ROLES, HOPFIELD_ROLES, NodeGroup, node_groups
from analog_eqprop.graphs.io import SUPPORTED_EXTENSIONS, read_graph, write_graph
from analog_eqprop.graphs.validate import validate_graph

__all__ = [
    "HOPFIELD_ROLES",
    "CIRCUIT_ROLES",
    "INIT_SCHEMES",
    "SUPPORTED_EXTENSIONS",
    "NodeGroup",
    "node_groups",
    "layered_graph",
    "fully_connected_graph",
    "random_graph",
    "from_adjacency",
    "init_weights",
    "validate_graph",
    "write_graph",
    "read_graph",
]
