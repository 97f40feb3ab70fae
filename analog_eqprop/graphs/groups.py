"""Deterministic grouping of a network graph's nodes into layers.

The Hopfield solver works on blocks of the weight matrix (one block per pair of
groups), and weight initialisation scales each block by the sizes of its two
groups. Both need the same, reproducible partition of the nodes, which
:func:`node_groups` computes from the ``layer`` and ``role`` node attributes.

The role names used throughout the toolkit are also defined here:
:data:`HOPFIELD_ROLES` for the continuous Hopfield model and
:data:`CIRCUIT_ROLES` for resistor/diode circuits, which add voltage-source
("bias") and reference ("ground") nodes.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Hashable

import networkx as nx

from analog_eqprop.errors import GraphError

__all__ = ["HOPFIELD_ROLES", "CIRCUIT_ROLES", "NodeGroup", "node_groups"]

#: Roles a node may have in a continuous Hopfield network.
HOPFIELD_ROLES: tuple[str, ...] = ("input", "hidden", "output")

#: Roles a node may have in a circuit graph; the order is also the order in
#: which role groups are listed when a graph has no layer attributes.
CIRCUIT_ROLES: tuple[str, ...] = ("input", "hidden", "output", "bias", "ground")


@dataclass(frozen=True)
class NodeGroup:
    """A set of nodes treated as one block (a layer, or all nodes of a role).

    Parameters
    ----------
    key : int or str
        The layer number when the graph has ``layer`` attributes, else the role.
    role : str
        The role shared by every node of the group.
    nodes : tuple
        The group's nodes, in the graph's node insertion order.

    Examples
    --------
    >>> g = NodeGroup(key=1, role="hidden", nodes=("h1_0", "h1_1"))
    >>> len(g), g.role
    (2, 'hidden')
    """

    key: int | str
    role: str
    nodes: tuple[Hashable, ...]

    def __len__(self) -> int:
        return len(self.nodes)


def _is_int(value: Any) -> bool:
    # bool is an int subclass, but a layer of True is a data error, not layer 1.
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool,))


def _role_rank(role_name: Any, extra: dict[Any, int]) -> int:
    if role_name in CIRCUIT_ROLES:
        return CIRCUIT_ROLES.index(role_name)
    # Unknown roles go last, in order of first appearance, so the result
    # stays deterministic even for graphs the validator would reject.
    return len(CIRCUIT_ROLES) + extra.setdefault(role_name, len(extra))


def node_groups(G: nx.Graph, *, role: str = "role", layer: str = "layer") -> list[NodeGroup]:
    """Partition the nodes of `G` into ordered groups (layers).

    If every node has an integer `layer` attribute, there is one group per
    distinct layer value, sorted by that value; all nodes of a layer must share
    one role. If no node has a `layer` attribute, nodes are grouped by role in
    the order input, hidden, output, bias, ground (any other role after those,
    in order of first appearance). Within a group, nodes keep the graph's
    insertion order.

    Parameters
    ----------
    G : networkx.Graph
        The network graph.
    role : str, default "role"
        Name of the node attribute holding the role.
    layer : str, default "layer"
        Name of the node attribute holding the layer number.

    Returns
    -------
    list of NodeGroup
        The groups, in order. Empty for a graph without nodes.

    Raises
    ------
    GraphError
        If a node has no role, a layer value is not an integer, only some nodes
        have a layer, or a layer mixes roles.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.Graph()
    >>> G.add_node("y0", role="output")
    >>> G.add_node("x0", role="input")
    >>> G.add_node("h0", role="hidden")
    >>> [(g.key, g.nodes) for g in node_groups(G)]
    [('input', ('x0',)), ('hidden', ('h0',)), ('output', ('y0',))]
    >>> for n, k in [("x0", 0), ("h0", 1), ("y0", 2)]:
    ...     G.nodes[n]["layer"] = k
    >>> [(g.key, g.role, g.nodes) for g in node_groups(G)]
    [(0, 'input', ('x0',)), (1, 'hidden', ('h0',)), (2, 'output', ('y0',))]
    """
    with_layer: list[Hashable] = []
    without_layer: list[Hashable] = []
    for n, data in G.nodes(data=True):
        if role not in data:
            raise GraphError(f"node {n!r} has no {role!r} attribute")
        if layer in data:
            if not _is_int(data[layer]):
                raise GraphError(
                    f"node {n!r} has {layer!r} = {data[layer]!r}; layers must be integers"
                )
            with_layer.append(n)
        else:
            without_layer.append(n)

    if with_layer and without_layer:
        raise GraphError(
            f"node {without_layer[0]!r} has no {layer!r} attribute but "
            f"{len(with_layer)} other node(s) do (e.g. {with_layer[0]!r}); "
            f"set {layer!r} on every node or on none"
        )

    nodes_of: dict[Any, list[Hashable]] = {}
    roles_of: dict[Any, list[Any]] = {}
    by_layer = bool(with_layer)
    for n, data in G.nodes(data=True):
        r = data[role]
        key = int(data[layer]) if by_layer else r
        try:
            nodes_of.setdefault(key, []).append(n)
        except TypeError:
            raise GraphError(f"node {n!r} has unhashable {role!r} = {r!r}") from None
        seen = roles_of.setdefault(key, [])
        if r not in seen:
            seen.append(r)

    if by_layer:
        for key, found in roles_of.items():
            if len(found) > 1:
                raise GraphError(
                    f"layer {key} mixes roles {found}; every node of a layer must "
                    "have the same role"
                )
        keys = sorted(nodes_of)
    else:
        extra: dict[Any, int] = {}
        keys = sorted(nodes_of, key=lambda r: _role_rank(r, extra))
    return [NodeGroup(key=k, role=roles_of[k][0], nodes=tuple(nodes_of[k])) for k in keys]
