"""Block structure: a graph's nodes grouped into layers, its edges into dense blocks.

Any network graph becomes a list of node groups (layers) and a list of blocks, one per
pair of groups joined by at least one edge, each a dense ``(n_a, n_b)`` weight matrix with
an optional boolean mask for the missing edges. Layered nets get one block per pair of
consecutive layers (pure matrix products); arbitrary graphs get a few masked blocks. One
representation, so the fast path and the general path are the same code.

States are flat, batch-first arrays: ``x`` holds the clamped (input) groups side by side,
``s`` the free groups side by side, in group order.

Examples
--------
>>> from analog_eqprop.graphs import layered_graph
>>> st, params = structure_from_graph(layered_graph([4, 3, 2], seed=0))
>>> st.group_sizes, st.blocks, st.n_inputs, st.n_free, st.n_outputs
((4, 3, 2), ((0, 1), (1, 2)), 4, 5, 2)
>>> sorted(params)
['W0', 'W1', 'b1', 'b2']
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from analog_eqprop.errors import GraphError
from analog_eqprop.graphs import node_groups, validate_graph

__all__ = ["BlockStructure", "structure_from_graph", "params_to_graph"]


@dataclass(frozen=True, eq=False)
class BlockStructure:
    """Groups (layers) and blocks (group pairs with edges) of a network.

    Parameters
    ----------
    group_sizes : tuple of int
        Number of units in each group, in group order.
    group_roles : tuple of str
        ``"input"`` (clamped), ``"hidden"`` or ``"output"`` for each group.
    blocks : tuple of (int, int)
        Group pairs ``(a, b)`` with ``a <= b`` that share edges; ``a == b`` is a lateral
        (within-group) block, symmetric with a zero diagonal.
    masks : tuple of (ndarray of bool or None)
        Per block, ``True`` where an edge exists; ``None`` for a complete block.
    node_names : tuple of tuple of str
        Node names per group (to write weights back into a graph).
    """

    group_sizes: tuple[int, ...]
    group_roles: tuple[str, ...]
    blocks: tuple[tuple[int, int], ...]
    masks: tuple[np.ndarray | None, ...]
    node_names: tuple[tuple[str, ...], ...] = ()
    _slices: tuple[slice | None, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.group_sizes) != len(self.group_roles):
            raise GraphError("group_sizes and group_roles differ in length")
        slices: list[slice | None] = []
        off = {"in": 0, "free": 0}
        for n, role in zip(self.group_sizes, self.group_roles):
            kind = "in" if role == "input" else "free"
            slices.append(slice(off[kind], off[kind] + n))
            off[kind] += n
        object.__setattr__(self, "_slices", tuple(slices))
        if not any(r == "input" for r in self.group_roles):
            raise GraphError("the network has no input group")
        if not any(r == "output" for r in self.group_roles):
            raise GraphError("the network has no output group")
        for (a, b), m in zip(self.blocks, self.masks):
            if a > b:
                raise GraphError(f"block ({a}, {b}) must be ordered a <= b")
            if self.is_clamped(a) and self.is_clamped(b):
                raise GraphError(f"block ({a}, {b}) joins two input groups: it carries no learning signal")
            if m is not None and m.shape != (self.group_sizes[a], self.group_sizes[b]):
                raise GraphError(f"mask of block ({a}, {b}) has shape {m.shape}")

    def is_clamped(self, g: int) -> bool:
        """Whether group ``g`` is clamped to the input."""
        return self.group_roles[g] == "input"

    def slice_of(self, g: int) -> slice:
        """Columns of group ``g`` in ``x`` (clamped groups) or ``s`` (free groups)."""
        sl = self._slices[g]
        assert sl is not None
        return sl

    @property
    def n_inputs(self) -> int:
        """Number of clamped units (columns of ``x``)."""
        return sum(n for n, r in zip(self.group_sizes, self.group_roles) if r == "input")

    @property
    def n_free(self) -> int:
        """Number of free units (columns of ``s``)."""
        return sum(n for n, r in zip(self.group_sizes, self.group_roles) if r != "input")

    @property
    def free_groups(self) -> tuple[int, ...]:
        return tuple(g for g in range(len(self.group_sizes)) if not self.is_clamped(g))

    @property
    def output_columns(self) -> np.ndarray:
        """Indices of the output units within ``s``, in group order."""
        cols = [np.arange(self.slice_of(g).start, self.slice_of(g).stop)
                for g, r in enumerate(self.group_roles) if r == "output"]
        return np.concatenate(cols)

    @property
    def output_slice(self) -> slice | np.ndarray:
        """A slice when the outputs are contiguous in ``s`` (the usual case), else indices."""
        cols = self.output_columns
        if np.array_equal(cols, np.arange(cols[0], cols[0] + len(cols))):
            return slice(int(cols[0]), int(cols[0]) + len(cols))
        return cols

    @property
    def n_outputs(self) -> int:
        return int(len(self.output_columns))

    def layer_of_block(self, k: int) -> int:
        """Per-layer learning-rate index of block ``k``: the free-group rank of its upper group."""
        return self.free_groups.index(self.blocks[k][1])

    def layer_of_group(self, g: int) -> int:
        """Per-layer learning-rate index of the bias of free group ``g``."""
        return self.free_groups.index(g)

    @property
    def n_layers(self) -> int:
        """Number of learning-rate layers (free groups)."""
        return len(self.free_groups)


def structure_from_graph(
    G: nx.Graph, *, role: str = "role", layer: str = "layer", weight: str = "weight", bias: str = "bias",
    dtype: np.dtype | type = np.float64,
) -> tuple[BlockStructure, dict[str, np.ndarray]]:
    """Compile a validated network graph into a :class:`BlockStructure` and parameters.

    Returns the structure and a parameter dict: ``W{k}`` of shape ``(n_a, n_b)`` for block
    ``k`` (zeros where the mask is False; lateral blocks symmetric with zero diagonal) and
    ``b{g}`` for every free group ``g`` (node attribute ``bias``, default 0).
    """
    validate_graph(G, role=role, weight=weight)
    groups = node_groups(G, role=role, layer=layer)
    where: dict = {}
    for gi, grp in enumerate(groups):
        for ni, node in enumerate(grp.nodes):
            where[node] = (gi, ni)
    entries: dict[tuple[int, int], list[tuple[int, int, float]]] = {}
    for u, v, w in G.edges(data=weight):
        (gu, iu), (gv, iv) = where[u], where[v]
        if gu > gv or (gu == gv and iu > iv):
            (gu, iu), (gv, iv) = (gv, iv), (gu, iu)
        entries.setdefault((gu, gv), []).append((iu, iv, float(w)))
    sizes = tuple(len(g.nodes) for g in groups)
    # Consecutive-layer blocks first, then skips, then laterals: a stable, readable order.
    keys = sorted(entries, key=lambda ab: (ab[0] == ab[1], ab[1] - ab[0], ab[0]))
    blocks, masks, params = [], [], {}
    itemsize = np.dtype(dtype).itemsize
    budget = _memory_budget()
    for a, b in keys:
        need = sizes[a] * sizes[b] * (itemsize + 1)
        if need > budget:
            raise GraphError(
                f"the couplings between groups {groups[a].key!r} ({sizes[a]} nodes) and {groups[b].key!r} "
                f"({sizes[b]} nodes) are stored as one dense {sizes[a]} x {sizes[b]} block, which would need "
                f"{need / 2**30:.1f} GiB (only {len(entries[(a, b)])} edges exist); give the nodes 'layer' "
                f"attributes that split them into smaller groups, or use a smaller network")
    for k, (a, b) in enumerate(keys):
        rows, cols, vals = (np.array(t) for t in zip(*entries[(a, b)]))
        rows, cols = rows.astype(np.intp), cols.astype(np.intp)
        W = np.zeros((sizes[a], sizes[b]), dtype=dtype)
        mask = np.zeros((sizes[a], sizes[b]), dtype=bool)
        W[rows, cols] = vals
        mask[rows, cols] = True
        if a == b:
            W[cols, rows] = vals
            mask[cols, rows] = True
        blocks.append((a, b))
        # Lateral blocks always keep a mask: their diagonal (self-coupling) must stay zero.
        masks.append(mask if (a == b or not mask.all()) else None)
        params[f"W{k}"] = W
    for g, grp in enumerate(groups):
        if grp.role != "input":
            params[f"b{g}"] = np.array([float(G.nodes[n].get(bias, 0.0)) for n in grp.nodes], dtype=dtype)
    st = BlockStructure(
        group_sizes=sizes,
        group_roles=tuple(g.role for g in groups),
        blocks=tuple(blocks),
        masks=tuple(masks),
        node_names=tuple(tuple(g.nodes) for g in groups),
    )
    return st, params


def _memory_budget() -> float:
    """Bytes one dense block may take: half the machine's memory (or 8 GiB if unknown)."""
    try:
        return 0.5 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def params_to_graph(st: BlockStructure, params: dict[str, np.ndarray], G: nx.Graph | None = None, *,
                    weight: str = "weight", bias: str = "bias", role: str = "role", layer: str = "layer") -> nx.Graph:
    """Write parameters back as edge weights and node biases.

    With ``G`` given, its attributes are updated in place (same nodes and edges); otherwise a
    new graph is built from the structure with ``role``, ``layer`` and ``index`` attributes.
    """
    if G is None:
        G = nx.Graph()
        for g, names in enumerate(st.node_names):
            for i, n in enumerate(names):
                G.add_node(n, **{role: st.group_roles[g], layer: g, "index": i})
    for k, (a, b) in enumerate(st.blocks):
        W = params[f"W{k}"]
        mask = st.masks[k]
        rows, cols = np.nonzero(mask) if mask is not None else np.nonzero(np.ones_like(W, dtype=bool))
        if a == b:
            keep = rows < cols
            rows, cols = rows[keep], cols[keep]
        na, nb = st.node_names[a], st.node_names[b]
        G.add_edges_from((na[i], nb[j], {weight: float(W[i, j])}) for i, j in zip(rows, cols))
    for g in st.free_groups:
        for n, v in zip(st.node_names[g], params[f"b{g}"]):
            G.nodes[n][bias] = float(v)
    return G
