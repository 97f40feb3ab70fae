"""Builders for the network graphs EqProp trains, and weight initialisation.

Every builder returns an undirected :class:`networkx.Graph` following the
toolkit's conventions:

* nodes ``x{i}`` (role "input", layer 0), ``h{l}_{i}`` (role "hidden",
  layer ``l``) and ``y{i}`` (role "output", last layer), inserted in that order;
* node attributes ``role``, ``layer``, ``index`` (position within the layer)
  and ``bias`` on every node;
* edge attribute ``weight`` (a Python float) on every edge.

Randomness comes from one :class:`numpy.random.Generator` per call, so a given
`seed` always produces the same graph, weights included.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, Hashable, Union

import networkx as nx
import numpy as np

from analog_eqprop.errors import GraphError
from analog_eqprop.graphs.groups import node_groups

__all__ = [
    "INIT_SCHEMES",
    "layered_graph",
    "fully_connected_graph",
    "random_graph",
    "from_adjacency",
    "init_weights",
]

#: Weight initialisation schemes understood by :func:`init_weights`.
INIT_SCHEMES: tuple[str, ...] = ("glorot_uniform", "normal", "uniform_positive", "zeros")

SeedLike = Union[int, np.random.Generator, np.random.SeedSequence, None]


def _check_count(value: Any, name: str, minimum: int) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise GraphError(f"{name} = {value!r} must be an integer >= {minimum}")
    return int(value)


def _check_float(value: Any, name: str) -> float:
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not math.isfinite(value)
    ):
        raise GraphError(f"{name} = {value!r} must be a finite number")
    return float(value)


def _layer_names(sizes: Sequence[int]) -> list[list[str]]:
    last = len(sizes) - 1
    names = []
    for l, n in enumerate(sizes):
        if l == 0:
            names.append([f"x{i}" for i in range(n)])
        elif l == last:
            names.append([f"y{i}" for i in range(n)])
        else:
            names.append([f"h{l}_{i}" for i in range(n)])
    return names


def _add_layers(G: nx.Graph, names: list[list[str]], layers: list[int], bias: float) -> None:
    last = len(names) - 1
    for k, (layer_nodes, layer) in enumerate(zip(names, layers)):
        node_role = "input" if k == 0 else "output" if k == last else "hidden"
        G.add_nodes_from(
            (n, {"role": node_role, "layer": layer, "index": i, "bias": bias})
            for i, n in enumerate(layer_nodes)
        )


def _dense(a: list[str], b: list[str]) -> Any:
    return ((u, v) for u in a for v in b)


def _within(a: list[str]) -> Any:
    return ((a[i], a[j]) for i in range(len(a)) for j in range(i + 1, len(a)))


def _initialise(G: nx.Graph, init: str, rng: np.random.Generator,
                init_kwargs: Mapping[str, Any] | None) -> nx.Graph:
    kwargs = dict(init_kwargs or {})
    for reserved in ("scheme", "seed"):
        if reserved in kwargs:
            raise GraphError(f"init_kwargs must not contain {reserved!r}; pass it directly")
    return init_weights(G, scheme=init, seed=rng, **kwargs)


def layered_graph(
    sizes: Sequence[int],
    *,
    skip: bool = False,
    lateral: bool = False,
    seed: SeedLike = None,
    init: str = "glorot_uniform",
    bias: float = 0.0,
    init_kwargs: Mapping[str, Any] | None = None,
) -> nx.Graph:
    """Build a layered network: dense couplings between consecutive layers.

    Parameters
    ----------
    sizes : sequence of int
        Number of nodes per layer, inputs first and outputs last, e.g.
        ``[784, 500, 10]``. At least two entries, each >= 1.
    skip : bool, default False
        Also connect every layer ``l`` densely to layer ``l + 2``.
    lateral : bool, default False
        Also connect every pair of nodes within each hidden and output layer
        (never among inputs: both ends would be clamped).
    seed : int, numpy Generator or None
        Seed of the weight initialisation.
    init : str, default "glorot_uniform"
        Weight scheme, one of :data:`INIT_SCHEMES` (see :func:`init_weights`).
    bias : float, default 0.0
        Value of the ``bias`` attribute set on every node.
    init_kwargs : mapping, optional
        Extra keyword arguments of :func:`init_weights` (``scale``, ``low``,
        ``high``).

    Returns
    -------
    networkx.Graph

    Raises
    ------
    GraphError
        If `sizes` has fewer than two entries or an entry is not a positive integer.

    Examples
    --------
    >>> G = layered_graph([4, 3, 2], seed=0)
    >>> G.number_of_nodes(), G.number_of_edges()
    (9, 18)
    >>> list(G.nodes)[:5], G.nodes["h1_2"]
    (['x0', 'x1', 'x2', 'x3', 'h1_0'], {'role': 'hidden', 'layer': 1, 'index': 2, 'bias': 0.0})
    >>> layered_graph([4, 3, 2], skip=True, lateral=True).number_of_edges()
    30
    """
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise GraphError(f"sizes = {sizes!r} must be a sequence of layer sizes")
    if len(sizes) < 2:
        raise GraphError(
            f"sizes = {list(sizes)!r} needs at least two layers (inputs and outputs)"
        )
    checked = [_check_count(n, f"sizes[{i}]", 1) for i, n in enumerate(sizes)]
    bias = _check_float(bias, "bias")

    names = _layer_names(checked)
    G = nx.Graph()
    _add_layers(G, names, list(range(len(names))), bias)
    for l in range(len(names) - 1):
        G.add_edges_from(_dense(names[l], names[l + 1]))
    if skip:
        for l in range(len(names) - 2):
            G.add_edges_from(_dense(names[l], names[l + 2]))
    if lateral:
        for layer_nodes in names[1:]:
            G.add_edges_from(_within(layer_nodes))
    return _initialise(G, init, np.random.default_rng(seed), init_kwargs)


def _three_layer_nodes(n_input: int, n_hidden: int, n_output: int, bias: float) -> nx.Graph:
    n_input = _check_count(n_input, "n_input", 1)
    n_hidden = _check_count(n_hidden, "n_hidden", 0)
    n_output = _check_count(n_output, "n_output", 1)
    bias = _check_float(bias, "bias")
    names = [
        [f"x{i}" for i in range(n_input)],
        [f"h1_{i}" for i in range(n_hidden)],
        [f"y{i}" for i in range(n_output)],
    ]
    G = nx.Graph()
    _add_layers(G, names, [0, 1, 2], bias)
    return G


def fully_connected_graph(
    n_input: int,
    n_hidden: int,
    n_output: int,
    *,
    seed: SeedLike = None,
    init: str = "glorot_uniform",
    bias: float = 0.0,
    init_kwargs: Mapping[str, Any] | None = None,
) -> nx.Graph:
    """Build the seed paper's fully connected network (Scellier & Bengio 2017, Fig. 3).

    Every pair of nodes is coupled except input-input pairs. Inputs are layer 0,
    hidden nodes (``h1_{i}``) layer 1 and outputs layer 2.

    Parameters
    ----------
    n_input, n_hidden, n_output : int
        Node counts; `n_input` and `n_output` >= 1, `n_hidden` >= 0.
    seed, init, bias, init_kwargs
        As in :func:`layered_graph`.

    Returns
    -------
    networkx.Graph
        With ``n_input * (n_hidden + n_output) + m * (m - 1) / 2`` edges,
        ``m = n_hidden + n_output``.

    Examples
    --------
    >>> G = fully_connected_graph(3, 2, 2, seed=0)
    >>> G.number_of_edges()
    18
    >>> G.has_edge("x0", "x1"), G.has_edge("y0", "y1"), G.has_edge("x0", "y1")
    (False, True, True)
    """
    G = _three_layer_nodes(n_input, n_hidden, n_output, bias)
    nodes = list(G.nodes)
    n_in = int(n_input)
    # Pairs in node order (i < j), skipping those with both ends among the inputs.
    G.add_edges_from(
        (nodes[i], nodes[j])
        for i in range(len(nodes))
        for j in range(max(i + 1, n_in), len(nodes))
    )
    return _initialise(G, init, np.random.default_rng(seed), init_kwargs)


def random_graph(
    n_input: int,
    n_hidden: int,
    n_output: int,
    p: float,
    *,
    seed: SeedLike = None,
    init: str = "glorot_uniform",
    bias: float = 0.0,
    init_kwargs: Mapping[str, Any] | None = None,
) -> nx.Graph:
    """Build a random (Erdős–Rényi) network that is still trainable.

    Each pair of nodes other than input-input pairs is coupled independently
    with probability `p`. Then the fewest edges are added so that no node is
    isolated and every output is connected to some input (otherwise it would
    get no signal). Inputs are layer 0, all hidden nodes layer 1, outputs
    layer 2.

    Parameters
    ----------
    n_input, n_hidden, n_output : int
        Node counts; `n_input` and `n_output` >= 1, `n_hidden` >= 0.
    p : float
        Edge probability in [0, 1].
    seed, init, bias, init_kwargs
        As in :func:`layered_graph`; one generator draws the edges, the repair
        edges and the weights, so a seed fixes all of them.

    Returns
    -------
    networkx.Graph

    Notes
    -----
    The repair step pairs up the nodes and components that need an edge so
    that one edge fixes two problems whenever possible: an input-free
    component holding an output is joined to an isolated input, remaining
    isolated inputs to isolated hidden nodes, remaining isolated hidden nodes
    to each other. Whatever is left is joined to a random suitable node.

    Examples
    --------
    >>> G = random_graph(4, 6, 2, 0.0, seed=1)
    >>> min(d for _, d in G.degree()) >= 1
    True
    >>> G.number_of_edges()  # 12 nodes, no edges: pairs fix 2 problems each
    6
    """
    G = _three_layer_nodes(n_input, n_hidden, n_output, bias)
    if (
        not isinstance(p, numbers.Real)
        or isinstance(p, bool)
        or not (0.0 <= float(p) <= 1.0)
    ):
        raise GraphError(f"p = {p!r} must be a probability in [0, 1]")
    rng = np.random.default_rng(seed)
    nodes = list(G.nodes)
    n_in = int(n_input)
    n = len(nodes)
    iu, ju = np.triu_indices(n, 1)
    allowed = ju >= n_in  # i < j, so j < n_in means both ends are inputs
    iu, ju = iu[allowed], ju[allowed]
    keep = rng.random(iu.size) < float(p)
    G.add_edges_from(zip([nodes[i] for i in iu[keep]], [nodes[j] for j in ju[keep]]))
    _repair(G, nodes[:n_in], rng)
    return _initialise(G, init, rng, init_kwargs)


def _repair(G: nx.Graph, inputs: list[str], rng: np.random.Generator) -> None:
    input_set = set(inputs)
    node_role = dict(G.nodes(data="role"))
    order = {n: k for k, n in enumerate(G.nodes)}
    bad: list[list[str]] = []  # components with an output but no input
    iso_in: list[str] = []
    iso_hidden: list[str] = []
    for comp in nx.connected_components(G):
        members = sorted(comp, key=order.__getitem__)
        if len(members) == 1 and node_role[members[0]] == "input":
            iso_in.append(members[0])
        elif len(members) == 1 and node_role[members[0]] == "hidden":
            iso_hidden.append(members[0])
        elif input_set.isdisjoint(members) and any(node_role[m] == "output" for m in members):
            bad.append(members)
    # Sort everything by insertion order so the result depends on the seed only.
    bad.sort(key=lambda c: order[c[0]])
    iso_in.sort(key=order.__getitem__)
    iso_hidden.sort(key=order.__getitem__)

    def pick(cands: list[str]) -> str:
        return cands[int(rng.integers(len(cands)))]

    new_edges: list[tuple[str, str]] = []
    # An edge fixes two problems at once only for bad-input, input-hidden and
    # hidden-hidden pairs; matching greedily in that order is optimal because
    # bad components can only pair with inputs and hidden-hidden pairs use up
    # two hidden nodes for one edge.
    while bad and iso_in:
        new_edges.append((iso_in.pop(0), pick(bad.pop(0))))
    while iso_in and iso_hidden:
        new_edges.append((iso_in.pop(0), iso_hidden.pop(0)))
    while len(iso_hidden) >= 2:
        new_edges.append((iso_hidden.pop(0), iso_hidden.pop(0)))
    G.add_edges_from(new_edges)

    # Bad components join a random node already connected to an input.
    targets_for_bad = sorted(
        set().union(*(c for c in nx.connected_components(G) if not input_set.isdisjoint(c))),
        key=order.__getitem__,
    )
    for comp in bad:
        G.add_edge(pick(comp), pick(targets_for_bad))
    non_inputs = [m for m in G.nodes if m not in input_set]
    for u in iso_in:
        G.add_edge(u, pick(non_inputs))
    for u in iso_hidden:
        G.add_edge(u, pick([m for m in G.nodes if m != u]))


def from_adjacency(
    W: Any,
    n_input: int,
    n_output: int,
    *,
    bias: Any = None,
) -> nx.Graph:
    """Build a graph from a symmetric coupling matrix.

    Rows and columns are ordered inputs, hidden, outputs (the first `n_input`
    are inputs, the last `n_output` outputs). Every nonzero entry above the
    diagonal becomes an edge whose weight is that entry, bit for bit.

    Parameters
    ----------
    W : array_like, shape (n, n)
        Symmetric, finite, zero diagonal, zero input-input block.
    n_input, n_output : int
        Numbers of inputs and outputs (>= 1, together at most n).
    bias : float or array_like of shape (n,), optional
        Node biases; default 0.0.

    Returns
    -------
    networkx.Graph
        Nodes named and attributed as in :func:`fully_connected_graph`.

    Raises
    ------
    GraphError
        If `W` is not square, not symmetric, not finite, has a nonzero diagonal
        or couples two inputs, or the counts do not fit.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([[0, 0, .5, 0], [0, 0, .25, 0], [.5, .25, 0, -1], [0, 0, -1, 0]])
    >>> G = from_adjacency(W, 2, 1)
    >>> list(G.edges(data="weight"))
    [('x0', 'h1_0', 0.5), ('x1', 'h1_0', 0.25), ('h1_0', 'y0', -1.0)]
    """
    try:
        A = np.asarray(W, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise GraphError(f"W cannot be read as a float matrix: {err}") from None
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise GraphError(f"W must be a square matrix, got shape {A.shape}")
    n = A.shape[0]
    n_in = _check_count(n_input, "n_input", 1)
    n_out = _check_count(n_output, "n_output", 1)
    if n_in + n_out > n:
        raise GraphError(f"n_input + n_output = {n_in + n_out} exceeds the {n} nodes of W")
    if not np.all(np.isfinite(A)):
        i, j = np.argwhere(~np.isfinite(A))[0]
        raise GraphError(f"W[{i}, {j}] = {float(A[i, j])!r} is not finite")
    if not np.array_equal(A, A.T):
        i, j = np.argwhere(A != A.T)[0]
        raise GraphError(
            f"W is not symmetric: W[{i}, {j}] = {float(A[i, j])!r} "
            f"!= W[{j}, {i}] = {float(A[j, i])!r}"
        )
    if np.any(np.diagonal(A) != 0):
        i = int(np.flatnonzero(np.diagonal(A))[0])
        raise GraphError(f"W[{i}, {i}] = {float(A[i, i])!r}: self-couplings are not allowed")
    if np.any(A[:n_in, :n_in] != 0):
        i, j = np.argwhere(A[:n_in, :n_in] != 0)[0]
        raise GraphError(f"W[{i}, {j}] couples two inputs; both ends are clamped")
    if bias is None:
        b = np.zeros(n)
    else:
        try:
            b = np.broadcast_to(np.asarray(bias, dtype=np.float64), (n,))
        except (TypeError, ValueError) as err:
            raise GraphError(f"bias must be a float or have shape ({n},): {err}") from None
        if not np.all(np.isfinite(b)):
            raise GraphError(f"bias[{int(np.flatnonzero(~np.isfinite(b))[0])}] is not finite")

    G = _three_layer_nodes(n_in, n - n_in - n_out, n_out, 0.0)
    nodes = list(G.nodes)
    for k, node in enumerate(nodes):
        G.nodes[node]["bias"] = float(b[k])
    iu, ju = np.nonzero(np.triu(A, 1))
    G.add_edges_from(
        (nodes[i], nodes[j], {"weight": w})
        for i, j, w in zip(iu.tolist(), ju.tolist(), A[iu, ju].tolist())
    )
    return G


def init_weights(
    G: nx.Graph,
    *,
    scheme: str = "glorot_uniform",
    seed: SeedLike = None,
    weight: str = "weight",
    scale: float = 1.0,
    low: float = 0.1,
    high: float = 1.0,
    role: str = "role",
    layer: str = "layer",
) -> nx.Graph:
    """Set the weight of every edge of `G`, in place.

    Edges are scaled per pair of groups (see
    :func:`~analog_eqprop.graphs.node_groups`). For an edge between groups of
    sizes ``n_a`` and ``n_b``, ``n_a`` being the earlier group (closer to the
    inputs; a within-group edge has ``n_b = n_a``):

    * ``"glorot_uniform"``: U(-l, l), ``l = scale * sqrt(6 / (n_a + n_b))``,
      as in the seed paper's code;
    * ``"normal"``: N(0, std²), ``std = scale / sqrt(n_a)`` (fan-in of the later group);
    * ``"uniform_positive"``: ``scale * U(low, high)``, e.g. conductances;
    * ``"zeros"``: 0.0.

    Parameters
    ----------
    G : networkx.Graph
        Graph whose nodes carry `role` (and optionally `layer`) attributes.
    scheme : str, default "glorot_uniform"
        One of :data:`INIT_SCHEMES`.
    seed : int, numpy Generator or None
        Randomness; the draws follow the order of ``G.edges``.
    weight : str, default "weight"
        Edge attribute to write.
    scale : float, default 1.0
        Multiplier of the weights (finite, >= 0).
    low, high : float, default 0.1 and 1.0
        Range of ``"uniform_positive"``; ``0 < low <= high``.
    role, layer : str
        Node attributes used for grouping.

    Returns
    -------
    networkx.Graph
        `G` itself.

    Raises
    ------
    GraphError
        For an unknown scheme, bad `scale`/`low`/`high`, or nodes that cannot
        be grouped.

    Examples
    --------
    >>> G = layered_graph([3, 2], init="zeros")
    >>> _ = init_weights(G, seed=0)
    >>> bool(max(abs(w) for *_, w in G.edges(data="weight")) <= (6 / 5) ** 0.5)
    True
    >>> _ = init_weights(G, scheme="uniform_positive", low=1e-3, high=2e-3, seed=0)
    >>> all(1e-3 <= w < 2e-3 for *_, w in G.edges(data="weight"))
    True
    """
    if scheme not in INIT_SCHEMES:
        raise GraphError(
            f"unknown weight init scheme {scheme!r}; choose one of {list(INIT_SCHEMES)}"
        )
    scale = _check_float(scale, "scale")
    if scale < 0:
        raise GraphError(f"scale = {scale!r} must be >= 0")
    if scheme == "uniform_positive":
        low = _check_float(low, "low")
        high = _check_float(high, "high")
        if not 0 < low <= high:
            raise GraphError(
                f"uniform_positive needs 0 < low <= high, got low={low!r}, high={high!r}"
            )

    m = G.number_of_edges()
    rng = np.random.default_rng(seed)
    # These two schemes ignore the group sizes, so they also work on graphs
    # that cannot be grouped (e.g. circuits whose bias nodes have no layer).
    if scheme == "zeros":
        for *_, d in G.edges(data=True):
            d[weight] = 0.0
        return G
    if scheme == "uniform_positive":
        draws = (scale * rng.uniform(low, high, size=m)).tolist()
        for (*_, d), w in zip(G.edges(data=True), draws):
            d[weight] = w
        return G

    groups = node_groups(G, role=role, layer=layer)
    gid: dict[Hashable, int] = {}
    for k, g in enumerate(groups):
        gid.update(dict.fromkeys(g.nodes, k))
    sizes = np.array([len(g) for g in groups], dtype=np.float64)
    if scheme == "glorot_uniform":
        table = scale * np.sqrt(6.0 / (sizes[:, None] + sizes[None, :]))
        base = rng.uniform(-1.0, 1.0, size=m).tolist()
    else:
        # The earlier group's size is the fan-in of the later one.
        k = np.arange(len(groups))
        table = scale / np.sqrt(sizes[np.minimum.outer(k, k)])
        base = rng.standard_normal(m).tolist()
    table_rows = table.tolist()
    for (u, v, d), z in zip(G.edges(data=True), base):
        d[weight] = table_rows[gid[u]][gid[v]] * z
    return G
