"""Which circuits block coordinate descent solves exactly (:func:`check_bcd_circuit`).

Split from :mod:`analog_eqprop.solvers.bcd`, which re-exports :func:`check_bcd_circuit` and
calls it once per circuit.
"""

from __future__ import annotations

import numpy as np

from analog_eqprop.circuits.description import Circuit
from analog_eqprop.errors import ConfigError

__all__ = ["check_bcd_circuit", "terminal_ends", "USE_NUMPY"]

#: What every BCD refusal suggests instead.
USE_NUMPY = "use backend='numpy'"


def terminal_ends(c: Circuit, t: np.ndarray):
    """Per terminal: free node ``q`` (-1: none), multiplier ``m`` of ``V_q``, source ``s`` (-1: none),
    from the terminal owners' maps (an amplified copy is ``A V_q``)."""
    t = np.asarray(t)
    q = np.where((t >= 0) & (t < c.n_free), t, -1)
    m = np.where(q >= 0, 1.0, 0.0)
    s = np.full(t.shape, -1)
    for table in c.tables():
        if not (table.owns_terminals and len(table)):
            continue
        first = c.terminal_offset(table.kind)
        mine = (t >= first) & (t < first + len(table))
        k = np.where(mine, t - first, 0)
        tm = table.terminal_map(c)
        q = np.where(mine, tm.q[k], q)
        m = np.where(mine, tm.m[k], m)
        s = np.where(mine, tm.s[k], s)
    return q, m, s


def check_bcd_circuit(circuit: Circuit) -> None:
    """Raise :class:`~analog_eqprop.errors.ConfigError` unless BCD solves ``circuit`` exactly.

    Requirements: every kind allows it (:meth:`~analog_eqprop.elements.base.ElementTable.check_bcd`:
    every diode joins a free node to a fixed-voltage terminal -- a source, a bias rail or
    ground; amplifiers are reciprocal, back gain == gain, without offsets; transistors and
    users' devices are refused); no conductance joins two free nodes of the same layer; every
    free node reaches a fixed voltage through conductances.

    Examples
    --------
    >>> from analog_eqprop.circuits import layered_circuit
    >>> check_bcd_circuit(layered_circuit([3, 4, 2], seed=0))
    >>> check_bcd_circuit(layered_circuit([3, 4, 2], seed=0, graph_kw={"lateral": True}))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    analog_eqprop.errors.ConfigError: BCD: conductance 26 joins h1_0 and h1_1, both in layer 0 ...
    """
    c = circuit
    for table in c.tables():  # each kind says whether the block updates model it exactly
        table.check_bcd(c)
    # large dense blocks of conductances are checked from their two terminal ranges, the
    # other conductances one by one (no per-conductance arrays for a big net's blocks)
    blk = c.element("conductance").blocks()
    big, rest = blk.split()
    lay = np.asarray(c.node_layer)
    qa, _, _ = terminal_ends(c, c.edge_a[rest])
    qb, _, _ = terminal_ends(c, c.edge_b[rest])
    lateral = (qa >= 0) & (qb >= 0) & (qa != qb)
    lateral &= lay[np.maximum(qa, 0)] == lay[np.maximum(qb, 0)]
    found = (int(rest[np.argmax(lateral)]), int(qa[np.argmax(lateral)]), int(qb[np.argmax(lateral)])) \
        if np.any(lateral) else None
    pairs_a, pairs_b = [qa], [qb]
    rank = np.unique(lay, return_inverse=True)[1].reshape(-1) if big.size else lay  # layers as 0, 1, ...
    for i in big:
        ra, _, _ = terminal_ends(c, np.arange(blk.a0[i], blk.a0[i] + blk.rows[i]))
        cb, _, _ = terminal_ends(c, np.arange(blk.b0[i], blk.b0[i] + blk.cols[i]))
        hit = _first_lateral(ra, cb, rank, c.n_free)
        if hit is not None:
            k = int(blk.start[i]) + hit[0] * int(blk.cols[i]) + hit[1]
            if found is None or k < found[0]:
                found = (k, int(ra[hit[0]]), int(cb[hit[1]]))
        # a star has the block's connectivity
        pairs_a += [np.full(cb.size, ra[0]), ra[1:]]
        pairs_b += [cb, np.full(ra.size - 1, cb[0])]
    if found is not None:
        k, na, nb = found
        raise ConfigError(f"BCD: conductance {k} joins {c.nodes[na]} and {c.nodes[nb]}, both in layer "
                          f"{lay[na]} (circuit.node_layer); the layer update is exact only without edges "
                          f"inside a layer; {USE_NUMPY}")
    _check_grounded(c, np.concatenate(pairs_a), np.concatenate(pairs_b))


def _first_lateral(ra: np.ndarray, cb: np.ndarray, lay: np.ndarray, nf: int) -> tuple[int, int] | None:
    """The first (row, column), row-major, of a dense block whose row node ``ra`` and column node
    ``cb`` (free nodes, -1 for none) differ but share a layer (``lay``: 0, 1, ... per node);
    None if there is none."""
    lr = np.where(ra >= 0, lay[np.maximum(ra, 0)], -1)
    lc = np.where(cb >= 0, lay[np.maximum(cb, 0)], -1)
    if not (np.any(lr >= 0) and np.any(lc >= 0)):
        return None
    n_layers = int(lay.max()) + 1
    per_layer = np.bincount(lc[lc >= 0], minlength=n_layers)  # columns in each layer
    per_node = np.bincount(cb[cb >= 0], minlength=nf)  # columns at each node (the node itself)
    has = (lr >= 0) & (per_layer[np.maximum(lr, 0)] - per_node[np.maximum(ra, 0)] > 0)
    if not np.any(has):
        return None
    i = int(np.argmax(has))
    j = int(np.argmax((lc == lr[i]) & (cb != ra[i])))
    return i, j


def _check_grounded(c: Circuit, qa: np.ndarray, qb: np.ndarray) -> None:
    """Without a conductive path to a fixed voltage the QP is not strictly convex (diodes don't count)."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    nf = c.n_free
    a = np.where(qa >= 0, qa, nf)  # every fixed terminal merged into node nf
    b = np.where(qb >= 0, qb, nf)
    adj = sp.coo_matrix((np.ones(len(a)), (a, b)), shape=(nf + 1, nf + 1))
    _, labels = connected_components(adj, directed=False)
    floating = np.flatnonzero(labels[:nf] != labels[nf])
    if floating.size:
        raise ConfigError(f"BCD: node {c.nodes[floating[0]]} reaches a fixed voltage only through diodes; its "
                          f"ideal-diode operating point is not unique; {USE_NUMPY}")
