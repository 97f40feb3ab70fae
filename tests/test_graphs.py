"""Tests of analog_eqprop.graphs: builders, grouping, validation, file I/O."""

from __future__ import annotations

import itertools
import json
import math
import time

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analog_eqprop.errors import GraphError
from analog_eqprop.graphs import (
    CIRCUIT_ROLES,
    HOPFIELD_ROLES,
    INIT_SCHEMES,
    NodeGroup,
    from_adjacency,
    fully_connected_graph,
    init_weights,
    layered_graph,
    node_groups,
    random_graph,
    read_graph,
    validate_graph,
    write_graph,
)


def weights(G):
    return [w for *_, w in G.edges(data="weight")]


def bits(x):
    return float(x).hex()


def small_net():
    """x0, x1 -> h0 -> y0: valid, with every attribute set."""
    G = nx.Graph()
    G.add_node("x0", role="input", bias=0.0)
    G.add_node("x1", role="input")
    G.add_node("h0", role="hidden", bias=0.5)
    G.add_node("y0", role="output")
    G.add_edge("x0", "h0", weight=0.5)
    G.add_edge("x1", "h0", weight=-0.25)
    G.add_edge("h0", "y0", weight=1.0)
    return G


# ---------------------------------------------------------------- builders


class TestLayeredGraph:
    def test_counts(self):
        assert layered_graph([4, 3, 2]).number_of_edges() == 4 * 3 + 3 * 2
        assert layered_graph([4, 3, 2], skip=True).number_of_edges() == 18 + 4 * 2
        assert layered_graph([4, 3, 2], lateral=True).number_of_edges() == 18 + 3 + 1
        assert layered_graph([4, 3, 2], skip=True, lateral=True).number_of_edges() == 30
        G = layered_graph([3, 4, 5, 2], skip=True)
        assert G.number_of_edges() == 12 + 20 + 10 + 3 * 5 + 4 * 2
        assert G.number_of_nodes() == 14

    def test_names_roles_layers_index(self):
        G = layered_graph([2, 3, 2, 1], bias=0.25)
        assert list(G.nodes) == ["x0", "x1", "h1_0", "h1_1", "h1_2", "h2_0", "h2_1", "y0"]
        assert G.nodes["x1"] == {"role": "input", "layer": 0, "index": 1, "bias": 0.25}
        assert G.nodes["h2_1"] == {"role": "hidden", "layer": 2, "index": 1, "bias": 0.25}
        assert G.nodes["y0"] == {"role": "output", "layer": 3, "index": 0, "bias": 0.25}
        assert all(type(d["bias"]) is float for _, d in G.nodes(data=True))
        assert all(type(w) is float for w in weights(G))
        assert type(G) is nx.Graph

    def test_edges_only_where_expected(self):
        G = layered_graph([3, 2, 2], lateral=True, skip=True)
        layer = dict(G.nodes(data="layer"))
        for u, v in G.edges:
            assert abs(layer[u] - layer[v]) in (0, 1, 2)
            assert not (layer[u] == 0 and layer[v] == 0)
        assert G.has_edge("h1_0", "h1_1") and G.has_edge("y0", "y1") and G.has_edge("x0", "y1")
        # lateral never couples inputs, even in a two-layer network
        G2 = layered_graph([3, 2], lateral=True)
        assert G2.number_of_edges() == 6 + 1
        validate_graph(G2)

    @pytest.mark.parametrize(
        "sizes, fragment",
        [
            ([], "at least two layers"),
            ([5], "at least two layers"),
            ([3, 0, 2], "sizes[1] = 0"),
            ([3, 2, -1], "sizes[2] = -1"),
            ([3, 2.0], "sizes[1] = 2.0"),
            ([True, 2], "sizes[0] = True"),
            ("34", "sequence"),
        ],
    )
    def test_bad_sizes(self, sizes, fragment):
        with pytest.raises(GraphError) as exc:
            layered_graph(sizes)
        assert fragment in str(exc.value)

    def test_numpy_sizes_accepted(self):
        assert layered_graph(list(np.array([3, 2]))).number_of_edges() == 6

    def test_bad_bias(self):
        with pytest.raises(GraphError, match="bias"):
            layered_graph([2, 1], bias=math.nan)

    def test_determinism(self):
        a = layered_graph([5, 4, 3], seed=7, lateral=True)
        b = layered_graph([5, 4, 3], seed=7, lateral=True)
        c = layered_graph([5, 4, 3], seed=8, lateral=True)
        assert [bits(w) for w in weights(a)] == [bits(w) for w in weights(b)]
        assert weights(a) != weights(c)
        gen = layered_graph([5, 4, 3], seed=np.random.default_rng(7), lateral=True)
        assert weights(gen) == weights(a)

    def test_valid(self):
        validate_graph(layered_graph([4, 3, 3, 2], skip=True, lateral=True, seed=0))


class TestInitWeights:
    def test_glorot_limits_per_block(self):
        sizes = [60, 40, 20]
        G = layered_graph(sizes, skip=True, lateral=True, seed=1)
        layer = dict(G.nodes(data="layer"))
        blocks: dict[tuple[int, int], list[float]] = {}
        for u, v, w in G.edges(data="weight"):
            blocks.setdefault(tuple(sorted((layer[u], layer[v]))), []).append(w)
        assert set(blocks) == {(0, 1), (1, 2), (0, 2), (1, 1), (2, 2)}
        for (a, b), ws in blocks.items():
            limit = math.sqrt(6.0 / (sizes[a] + sizes[b]))
            arr = np.abs(ws)
            assert arr.max() <= limit
            # the block really uses its own limit, not a neighbour's
            assert arr.max() > 0.9 * limit
            assert abs(arr.mean() - limit / 2) < 0.15 * limit

    def test_scale(self):
        G = layered_graph([10, 5], seed=3)
        H = layered_graph([10, 5], seed=3, init_kwargs={"scale": 0.5})
        assert weights(H) == [0.5 * w for w in weights(G)]

    def test_normal_fan_in(self):
        G = layered_graph([400, 50], init="normal", seed=0)
        std = np.std(weights(G))
        assert abs(std - 1 / math.sqrt(400)) < 0.05 / math.sqrt(400)

    def test_uniform_positive(self):
        G = layered_graph([20, 10], init="uniform_positive", seed=0,
                          init_kwargs={"low": 1e-6, "high": 1e-4})
        ws = np.array(weights(G))
        assert ws.min() >= 1e-6 and ws.max() < 1e-4
        validate_graph(G, positive_weights=True)

    def test_uniform_positive_needs_no_groups(self):
        # circuits: bias nodes without a layer make the graph ungroupable
        G = small_net()
        G.nodes["x0"]["layer"] = 0
        init_weights(G, scheme="uniform_positive", seed=0)
        with pytest.raises(GraphError, match="node 'x1' has no 'layer'"):
            init_weights(G, scheme="glorot_uniform", seed=0)

    def test_zeros(self):
        assert set(weights(layered_graph([3, 2], init="zeros"))) == {0.0}

    @pytest.mark.parametrize(
        "kwargs, fragment",
        [
            ({"scheme": "he"}, "unknown weight init scheme 'he'"),
            ({"scale": -1.0}, "scale"),
            ({"scale": math.inf}, "scale"),
            ({"scheme": "uniform_positive", "low": 0.0}, "0 < low <= high"),
            ({"scheme": "uniform_positive", "low": 2.0, "high": 1.0}, "0 < low <= high"),
        ],
    )
    def test_bad_arguments(self, kwargs, fragment):
        with pytest.raises(GraphError) as exc:
            init_weights(small_net(), **kwargs)
        assert fragment in str(exc.value)

    def test_reserved_init_kwargs(self):
        with pytest.raises(GraphError, match="seed"):
            layered_graph([2, 1], init_kwargs={"seed": 3})

    def test_all_schemes_listed(self):
        """Every listed scheme sets every weight, as its docstring says; none is a copy of another."""
        assert set(INIT_SCHEMES) == {"glorot_uniform", "normal", "uniform_positive", "zeros"}
        drawn = {}
        for scheme in INIT_SCHEMES:
            G = layered_graph([30, 20, 10], init="zeros")
            for *_, d in G.edges(data=True):
                d["weight"] = math.nan  # a scheme that skips an edge leaves this behind
            init_weights(G, scheme=scheme, seed=0, low=0.2, high=0.4)
            ws = np.array(weights(G))
            assert np.all(np.isfinite(ws)), scheme
            drawn[scheme] = ws
        assert np.all(drawn["zeros"] == 0.0)
        assert np.all((drawn["uniform_positive"] >= 0.2) & (drawn["uniform_positive"] < 0.4))
        glorot = drawn["glorot_uniform"]
        assert np.abs(glorot[:600]).max() <= math.sqrt(6 / 50) < np.abs(glorot[600:]).max() <= math.sqrt(6 / 30)
        assert glorot.min() < 0 < glorot.max()
        # normal: std 1/sqrt(fan-in) per block; the 600 input->hidden weights have std 1/sqrt(30)
        assert abs(np.std(drawn["normal"][:600]) * math.sqrt(30) - 1) < 0.15
        assert len({ws.tobytes() for ws in drawn.values()}) == len(INIT_SCHEMES)

    def test_role_grouping_without_layers(self):
        G = small_net()  # no layer attributes: groups input(2), hidden(1), output(1)
        init_weights(G, seed=0)
        assert abs(G.edges["x0", "h0"]["weight"]) <= math.sqrt(6 / 3)
        assert abs(G.edges["h0", "y0"]["weight"]) <= math.sqrt(6 / 2)

    def test_custom_weight_attribute(self):
        G = small_net()
        init_weights(G, weight="g", scheme="zeros")
        assert all(d["g"] == 0.0 and "weight" in d for *_, d in G.edges(data=True))


class TestFullyConnected:
    @pytest.mark.parametrize("n_in, n_h, n_out", [(3, 2, 2), (4, 0, 3), (1, 5, 1)])
    def test_counts(self, n_in, n_h, n_out):
        G = fully_connected_graph(n_in, n_h, n_out, seed=0)
        m = n_h + n_out
        assert G.number_of_nodes() == n_in + m
        assert G.number_of_edges() == n_in * m + m * (m - 1) // 2
        role = dict(G.nodes(data="role"))
        assert not any(role[u] == role[v] == "input" for u, v in G.edges)
        validate_graph(G)

    def test_layers(self):
        G = fully_connected_graph(2, 3, 1)
        assert [(g.key, g.role, g.nodes) for g in node_groups(G)] == [
            (0, "input", ("x0", "x1")),
            (1, "hidden", ("h1_0", "h1_1", "h1_2")),
            (2, "output", ("y0",)),
        ]
        assert G.nodes["h1_2"]["index"] == 2

    def test_bad_counts(self):
        with pytest.raises(GraphError, match="n_output = 0"):
            fully_connected_graph(2, 2, 0)
        with pytest.raises(GraphError, match="n_hidden = -1"):
            fully_connected_graph(2, -1, 1)


class TestRandomGraph:
    def test_always_trainable(self):
        for seed in range(150):
            p = [0.0, 0.05, 0.2, 0.6][seed % 4]
            G = random_graph(3 + seed % 3, seed % 7, 1 + seed % 4, p, seed=seed)
            validate_graph(G)  # no isolated node, every output reaches an input
            assert {g.key for g in node_groups(G)} <= {0, 1, 2}

    def test_determinism(self):
        a = random_graph(5, 10, 3, 0.2, seed=11)
        b = random_graph(5, 10, 3, 0.2, seed=11)
        c = random_graph(5, 10, 3, 0.2, seed=12)
        assert list(a.edges(data="weight")) == list(b.edges(data="weight"))
        assert list(a.edges) != list(c.edges)

    def test_p_one_is_fully_connected(self):
        G = random_graph(3, 2, 2, 1.0, seed=0)
        assert set(map(frozenset, G.edges)) == set(
            map(frozenset, fully_connected_graph(3, 2, 2).edges)
        )

    @staticmethod
    def _trainable(G):
        role = dict(G.nodes(data="role"))
        if any(d == 0 for _, d in G.degree()):
            return False
        for comp in nx.connected_components(G):
            roles = {role[n] for n in comp}
            if "output" in roles and "input" not in roles:
                return False
        return True

    def test_repair_adds_fewest_edges(self):
        # Brute force on tiny graphs: no smaller set of allowed edges would do.
        checked = 0
        for seed in range(40):
            n_in, n_h, n_out = 1 + seed % 3, seed % 4, 1 + seed % 2
            G = random_graph(n_in, n_h, n_out, 0.15, seed=seed)
            # Recreate the Erdős–Rényi part: same seed, same first draws.
            nodes = list(G.nodes)
            n = len(nodes)
            iu, ju = np.triu_indices(n, 1)
            ok = ju >= n_in
            keep = np.random.default_rng(seed).random(int(ok.sum())) < 0.15
            base = nx.Graph()
            base.add_nodes_from(G.nodes(data=True))
            base.add_edges_from(
                (nodes[i], nodes[j]) for i, j in zip(iu[ok][keep], ju[ok][keep])
            )
            assert all(G.has_edge(u, v) for u, v in base.edges)
            added = G.number_of_edges() - base.number_of_edges()
            candidates = [
                (nodes[i], nodes[j])
                for i, j in zip(iu[ok], ju[ok])
                if not base.has_edge(nodes[i], nodes[j])
            ]
            for k in range(added):
                for extra in itertools.combinations(candidates, k):
                    H = base.copy()
                    H.add_edges_from(extra)
                    assert not self._trainable(H), (seed, extra)
            checked += added > 0
        assert checked > 10

    def test_bad_p(self):
        for p in (-0.1, 1.5, math.nan, "0.5"):
            with pytest.raises(GraphError, match="p = "):
                random_graph(2, 2, 1, p)


class TestFromAdjacency:
    def test_roundtrip_bits(self):
        G = layered_graph([3, 4, 2], seed=5, lateral=True)
        nodes = list(G.nodes)
        W = nx.to_numpy_array(G, nodelist=nodes, weight="weight")
        H = from_adjacency(W, 3, 2, bias=np.arange(9) / 7)
        assert list(H.nodes) == ["x0", "x1", "x2", "h1_0", "h1_1", "h1_2", "h1_3", "y0", "y1"]
        for u, v, w in G.edges(data="weight"):
            assert bits(H.edges[u, v]["weight"]) == bits(w)
        assert H.number_of_edges() == G.number_of_edges()
        assert H.nodes["y1"]["bias"] == 8 / 7
        validate_graph(H)

    @pytest.mark.parametrize(
        "W, fragment",
        [
            (np.zeros((2, 3)), "square"),
            (np.array([[0, 1, 0], [0, 0, 1], [0, 1, 0]]), "not symmetric"),
            (np.array([[0, 0, 1], [0, 1, 1], [1, 1, 0]]), "W[1, 1]"),
            (np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]]), "couples two inputs"),
            (np.array([[0, 0, np.nan], [0, 0, 1], [np.nan, 1, 0]]), "not finite"),
        ],
    )
    def test_errors(self, W, fragment):
        with pytest.raises(GraphError) as exc:
            from_adjacency(W, 2, 1)
        assert fragment in str(exc.value)

    def test_counts_do_not_fit(self):
        with pytest.raises(GraphError, match="exceeds"):
            from_adjacency(np.zeros((2, 2)), 2, 1)


# ---------------------------------------------------------------- grouping


class TestNodeGroups:
    def test_layers_sorted_by_value_insertion_order_within(self):
        G = nx.Graph()
        G.add_node("y1", role="output", layer=5)
        G.add_node("x0", role="input", layer=0)
        G.add_node("y0", role="output", layer=5)
        G.add_node("h", role="hidden", layer=2)
        groups = node_groups(G)
        assert groups == [
            NodeGroup(0, "input", ("x0",)),
            NodeGroup(2, "hidden", ("h",)),
            NodeGroup(5, "output", ("y1", "y0")),
        ]
        assert len(groups[2]) == 2

    def test_by_role_order(self):
        G = nx.Graph()
        for n, r in [("g", "ground"), ("y", "output"), ("b", "bias"), ("h2", "hidden"),
                     ("q", "weird"), ("x", "input"), ("h1", "hidden")]:
            G.add_node(n, role=r)
        assert [(g.key, g.nodes) for g in node_groups(G)] == [
            ("input", ("x",)),
            ("hidden", ("h2", "h1")),
            ("output", ("y",)),
            ("bias", ("b",)),
            ("ground", ("g",)),
            ("weird", ("q",)),
        ]

    def test_mixed_roles_in_layer(self):
        G = nx.Graph()
        G.add_node("a", role="hidden", layer=1)
        G.add_node("b", role="output", layer=1)
        with pytest.raises(GraphError, match=r"layer 1 mixes roles \['hidden', 'output'\]"):
            node_groups(G)

    def test_partial_layers(self):
        G = layered_graph([2, 2, 1])
        del G.nodes["h1_1"]["layer"]
        with pytest.raises(GraphError, match="node 'h1_1' has no 'layer'"):
            node_groups(G)

    def test_non_int_layer(self):
        for bad in (1.0, "1", True):
            G = layered_graph([2, 2, 1])
            G.nodes["h1_0"]["layer"] = bad
            with pytest.raises(GraphError, match="node 'h1_0' has 'layer'"):
                node_groups(G)

    def test_missing_role(self):
        G = small_net()
        del G.nodes["h0"]["role"]
        with pytest.raises(GraphError, match="node 'h0' has no 'role'"):
            node_groups(G)

    def test_numpy_int_layer_and_custom_names(self):
        G = nx.Graph()
        G.add_node("a", kind="input", lvl=np.int64(0))
        G.add_node("b", kind="output", lvl=np.int64(1))
        assert [g.key for g in node_groups(G, role="kind", layer="lvl")] == [0, 1]

    def test_empty(self):
        assert node_groups(nx.Graph()) == []


# ---------------------------------------------------------------- validation


def _mutate(fn):
    G = small_net()
    fn(G)
    return G


VALIDATION_CASES = [
    ("not a graph", lambda: {"x0": {}}, {}, "expected a networkx graph, got dict"),
    ("empty", lambda: nx.Graph(), {}, "graph is empty"),
    ("directed", lambda: nx.DiGraph(small_net()), {},
     "directed graph (DiGraph); EqProp needs symmetric couplings, convert with G.to_undirected()"),
    ("multigraph", lambda: nx.MultiGraph(small_net()), {}, "multigraph (MultiGraph)"),
    ("int node name", lambda: _mutate(lambda G: G.add_edge(7, "y0", weight=1.0)), {},
     "node 7 has a non-string name (int)"),
    ("no role", lambda: _mutate(lambda G: G.nodes["h0"].pop("role")), {},
     "node 'h0' has no 'role' attribute"),
    ("unknown role", lambda: _mutate(lambda G: G.nodes["h0"].update(role="bias")), {},
     "node 'h0' has unknown role 'bias'; allowed roles are ['input', 'hidden', 'output']"),
    ("no input", lambda: _mutate(lambda G: [G.nodes[n].update(role="hidden") for n in ("x0", "x1")]),
     {}, "no input node"),
    ("no output", lambda: _mutate(lambda G: G.nodes["y0"].update(role="hidden")), {},
     "no output node"),
    ("nan bias", lambda: _mutate(lambda G: G.nodes["h0"].update(bias=math.nan)), {},
     "node 'h0' has non-finite bias nan"),
    ("str bias", lambda: _mutate(lambda G: G.nodes["h0"].update(bias="0.1")), {},
     "node 'h0' has non-numeric bias '0.1'"),
    ("None bias", lambda: _mutate(lambda G: G.nodes["y0"].update(bias=None)), {},
     "node 'y0' has non-numeric bias None"),
    ("self-loop", lambda: _mutate(lambda G: G.add_edge("h0", "h0", weight=1.0)), {},
     "self-loop on node 'h0'"),
    ("no weight", lambda: _mutate(lambda G: G.edges["h0", "y0"].pop("weight")), {},
     "edge ('h0', 'y0') has no 'weight' attribute"),
    ("str weight", lambda: _mutate(lambda G: G.edges["h0", "y0"].update(weight="1.0")), {},
     "edge ('h0', 'y0') has non-numeric weight '1.0'"),
    ("bool weight", lambda: _mutate(lambda G: G.edges["h0", "y0"].update(weight=True)), {},
     "edge ('h0', 'y0') has non-numeric weight True"),
    ("complex weight", lambda: _mutate(lambda G: G.edges["h0", "y0"].update(weight=1j)), {},
     "edge ('h0', 'y0') has non-numeric weight 1j"),
    ("nan weight", lambda: _mutate(lambda G: G.edges["x1", "h0"].update(weight=math.nan)), {},
     "edge ('x1', 'h0') has non-finite weight nan"),
    ("inf weight", lambda: _mutate(lambda G: G.edges["x1", "h0"].update(weight=-math.inf)), {},
     "edge ('x1', 'h0') has non-finite weight -inf"),
    ("huge int weight", lambda: _mutate(lambda G: G.edges["x1", "h0"].update(weight=10**400)), {},
     "edge ('x1', 'h0') has non-finite weight 1000000000000000000000000000000000000..."),
    ("non-positive", lambda: _mutate(lambda G: None), {"positive_weights": True},
     "edge ('x1', 'h0') has weight -0.25; circuit conductances must be > 0"),
    ("zero conductance", lambda: _mutate(lambda G: [G.edges[e].update(weight=0.0) for e in G.edges]),
     {"positive_weights": True}, "edge ('x0', 'h0') has weight 0.0"),
    ("input-input", lambda: _mutate(lambda G: G.add_edge("x1", "x0", weight=1.0)), {},
     "edge ('x0', 'x1') joins two input nodes; it carries no learning signal"),
    ("isolated", lambda: _mutate(lambda G: G.add_node("h9", role="hidden")), {},
     "node 'h9' is isolated"),
    ("unreachable output", lambda: _mutate(
        lambda G: (G.add_node("y1", role="output"), G.add_node("h1", role="hidden"),
                   G.add_edge("h1", "y1", weight=1.0))), {},
     "output node 'y1' is not reachable from any input node"),
]


@pytest.mark.parametrize(
    "make, kwargs, message",
    [case[1:] for case in VALIDATION_CASES],
    ids=[case[0] for case in VALIDATION_CASES],
)
def test_validation_errors(make, kwargs, message):
    with pytest.raises(GraphError) as exc:
        validate_graph(make(), **kwargs)
    assert message in str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_validation_passes_and_returns_none():
    assert validate_graph(small_net()) is None
    G = small_net()
    G.nodes["h0"]["bias"] = np.float32(0.5)
    G.edges["h0", "y0"]["weight"] = np.float64(2.0)
    G.edges["x0", "h0"]["weight"] = 3  # ints are fine couplings
    validate_graph(G)


def test_validation_options():
    G = small_net()
    G.add_node("b0", role="bias")
    G.add_node("gnd", role="ground")
    G.add_edge("b0", "h0", weight=1e-3)
    G.add_edge("gnd", "y0", weight=1e-3)
    with pytest.raises(GraphError, match="unknown role 'bias'"):
        validate_graph(G)
    validate_graph(G, allowed_roles=CIRCUIT_ROLES)
    assert HOPFIELD_ROLES == ("input", "hidden", "output")
    # directed graphs pass when not forbidden (reachability follows edge direction)
    D = nx.DiGraph(small_net())
    validate_graph(D, require_undirected=False)
    # custom attribute names
    H = nx.relabel_nodes(small_net(), {}, copy=True)
    for _, d in H.nodes(data=True):
        d["kind"] = d.pop("role")
    for *_, d in H.edges(data=True):
        d["g"] = d.pop("weight")
    validate_graph(H, role="kind", weight="g")
    with pytest.raises(GraphError, match="no 'role' attribute"):
        validate_graph(H)


def test_validation_first_bad_edge_named_in_big_graph():
    G = layered_graph([20, 10, 5], seed=0)
    G.edges["h1_3", "y2"]["weight"] = math.inf
    with pytest.raises(GraphError, match=r"edge \('h1_3', 'y2'\) has non-finite weight inf"):
        validate_graph(G)


def test_validation_speed_large_layered():
    G = layered_graph([784, 500, 500, 10], seed=0)
    assert G.number_of_edges() == 784 * 500 + 500 * 500 + 500 * 10
    start = time.perf_counter()
    validate_graph(G)
    assert time.perf_counter() - start < 2.0


ROLE_CHOICES = ["input", "hidden", "output", "bias", None, 3]
WEIGHT_CHOICES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([None, "1.0", True, 1j, np.float32(0.5), np.int64(2), [1.0]]),
)


@st.composite
def random_graphs(draw):
    n = draw(st.integers(0, 6))
    cls = draw(st.sampled_from([nx.Graph, nx.Graph, nx.Graph, nx.DiGraph, nx.MultiGraph]))
    G = cls()
    names = [draw(st.sampled_from([f"n{i}", i])) for i in range(n)]
    for name in names:
        attrs = {}
        r = draw(st.sampled_from(ROLE_CHOICES))
        if r is not None:
            attrs["role"] = r
        if draw(st.booleans()):
            attrs["bias"] = draw(WEIGHT_CHOICES)
        if draw(st.booleans()):
            attrs["layer"] = draw(st.sampled_from([0, 1, 2, 1.5, "1"]))
        G.add_node(name, **attrs)
    if n:
        pairs = draw(st.lists(st.tuples(st.sampled_from(names), st.sampled_from(names)), max_size=12))
        for u, v in pairs:
            w = draw(WEIGHT_CHOICES)
            if w is None:
                G.add_edge(u, v)
            else:
                G.add_edge(u, v, weight=w)
    return G


@st.composite
def mostly_valid_graphs(draw):
    """A plausible network, then up to two random corruptions."""
    n = draw(st.integers(2, 7))
    G = nx.Graph()
    for i in range(n):
        r = "input" if i == 0 else "output" if i == n - 1 else draw(st.sampled_from(HOPFIELD_ROLES))
        G.add_node(f"n{i}", role=r, bias=draw(st.floats(-1, 1)))
    names = list(G.nodes)
    pairs = draw(st.lists(st.tuples(st.sampled_from(names), st.sampled_from(names)),
                          min_size=1, max_size=15))
    for u, v in pairs:
        if u != v:
            G.add_edge(u, v, weight=draw(st.floats(0.01, 2.0)))
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["role", "weight", "bias", "edge", "node", "drop"]))
        names = list(G.nodes)
        if not names:
            break
        if kind in ("role", "bias"):
            n_ = draw(st.sampled_from(names))
            G.nodes[n_]["role" if kind == "role" else "bias"] = draw(
                st.sampled_from(ROLE_CHOICES) if kind == "role" else WEIGHT_CHOICES
            )
        elif kind == "weight" and G.number_of_edges():
            u, v = draw(st.sampled_from(list(G.edges)))
            G.edges[u, v]["weight"] = draw(WEIGHT_CHOICES)
        elif kind == "edge":
            G.add_edge(draw(st.sampled_from(names)), draw(st.sampled_from(names)),
                       weight=draw(WEIGHT_CHOICES))
        elif kind == "node":
            G.add_node(draw(st.sampled_from(["extra", 99])), role=draw(st.sampled_from(ROLE_CHOICES)))
        elif kind == "drop":
            G.remove_node(draw(st.sampled_from(list(G.nodes))))
    return G


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(G=st.one_of(random_graphs(), mostly_valid_graphs()), positive=st.booleans())
def test_validation_never_raises_other_errors(G, positive):
    try:
        validate_graph(G, positive_weights=positive)
    except GraphError:
        pass
    else:
        # A graph that passes really has the promised properties.
        role = dict(G.nodes(data="role"))
        assert all(isinstance(n, str) for n in G)
        assert all(d > 0 for _, d in G.degree())
        assert not any(role[u] == role[v] == "input" for u, v in G.edges)
        for comp in nx.connected_components(G):
            if any(role[n] == "output" for n in comp):
                assert any(role[n] == "input" for n in comp)
    try:
        node_groups(G)
    except GraphError:
        pass


# ---------------------------------------------------------------- file I/O


TRICKY_FLOATS = [0.1 + 0.2, 1 / 3, -0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
                 123456789.12345679, -1e-300, math.pi]


def tricky_graph():
    G = layered_graph([3, 2, 2], seed=4, lateral=True)
    for (u, v), w in zip(list(G.edges), TRICKY_FLOATS):
        G.edges[u, v]["weight"] = w
    G.nodes["h1_0"]["bias"] = 0.1 + 0.7
    G.nodes["y1"]["bias"] = np.float32(0.1)  # must come back as the same float64 value
    G.nodes["y0"]["note"] = "ünïcode & <xml>"
    G.nodes["y0"]["flag"] = True
    G.graph["name"] = "tricky"
    return G


def assert_same_graph(G, H):
    assert type(H) is nx.Graph
    assert list(H.nodes) == list(G.nodes)
    assert list(H.edges) == list(G.edges)
    assert H.graph == G.graph
    for (n, d), (m, e) in zip(G.nodes(data=True), H.nodes(data=True)):
        assert n == m and d.keys() == e.keys()
        for k in d:
            expected = d[k].item() if isinstance(d[k], np.generic) else d[k]
            assert type(e[k]) is type(expected), (n, k)
            if isinstance(expected, float):
                assert bits(e[k]) == bits(expected), (n, k)
            else:
                assert e[k] == expected
    for (u, v, d), (_, _, e) in zip(G.edges(data=True), H.edges(data=True)):
        assert type(e["weight"]) is float and bits(e["weight"]) == bits(d["weight"]), (u, v)
        assert d.keys() == e.keys()


@pytest.mark.parametrize("ext", ["json", "graphml"])
def test_roundtrip_bit_exact(tmp_path, ext):
    G = tricky_graph()
    path = tmp_path / f"net.{ext}"
    write_graph(G, path)
    H = read_graph(str(path))
    assert_same_graph(G, H)
    # Same G.edges order means the same seeded re-initialisation.
    assert weights(init_weights(H, seed=9)) == weights(init_weights(G, seed=9))
    validate_graph(H)


def test_json_is_node_link_with_edges_key(tmp_path):
    path = tmp_path / "g.json"
    write_graph(small_net(), path)
    data = json.loads(path.read_text())
    assert "edges" in data and "links" not in data and data["directed"] is False


def test_json_legacy_links_key(tmp_path):
    G = small_net()
    data = nx.node_link_data(G, edges="links")
    del data["multigraph"]  # very old files may lack the flags
    del data["directed"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    H = read_graph(path)
    assert type(H) is nx.Graph
    assert list(H.edges(data=True)) == list(G.edges(data=True))


def test_directed_file_reads_directed(tmp_path):
    for ext in ("json", "graphml"):
        path = tmp_path / f"d.{ext}"
        write_graph(nx.DiGraph(small_net()), path)
        H = read_graph(path)
        assert H.is_directed()
        with pytest.raises(GraphError, match="directed"):
            validate_graph(H)


def test_unknown_extension(tmp_path):
    for fn in (lambda p: write_graph(small_net(), p), read_graph):
        with pytest.raises(GraphError) as exc:
            fn(tmp_path / "net.gml")
        assert "'.gml'" in str(exc.value) and ".json, .graphml" in str(exc.value)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.graphml"
    with pytest.raises(GraphError, match="does not exist") as exc:
        read_graph(path)
    assert str(path) in str(exc.value)


def test_malformed_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"nodes": [}')
    with pytest.raises(GraphError) as exc:
        read_graph(path)
    assert str(path) in str(exc.value) and "line 1" in str(exc.value)
    path.write_text("[1, 2]")
    with pytest.raises(GraphError, match="not node-link graph JSON"):
        read_graph(path)
    path.write_text('{"nodes": [{"id": "a"}], "edges": [{"source": "a"}]}')
    with pytest.raises(GraphError, match="malformed node-link data"):
        read_graph(path)


def test_malformed_graphml(tmp_path):
    path = tmp_path / "bad.graphml"
    path.write_text("<graphml><graph>")
    with pytest.raises(GraphError, match="not valid GraphML") as exc:
        read_graph(path)
    assert str(path) in str(exc.value)


def test_graphml_rejects_what_it_cannot_store(tmp_path):
    G = small_net()
    G.add_edge(3, "y0", weight=1.0)
    with pytest.raises(GraphError, match="node 3"):
        write_graph(G, tmp_path / "g.graphml")
    H = small_net()
    H.nodes["h0"]["taps"] = [1, 2]
    with pytest.raises(GraphError, match="GraphML"):
        write_graph(H, tmp_path / "g.graphml")
    write_graph(H, tmp_path / "g.json")  # JSON stores lists
    assert read_graph(tmp_path / "g.json").nodes["h0"]["taps"] == [1, 2]
