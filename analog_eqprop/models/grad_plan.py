"""How a resistive network's EqProp gradient maps onto dense blocks of conductances.

The pieces of :class:`~analog_eqprop.models.ResistiveNetwork` that are built once per circuit
and do the array work of its gradient and its fused SGD step (see that module's docstring
for the block formula), apart from the model itself:

* :class:`GradPlan`: every edge's terminal sets, the dense blocks between them and the edges
  left to the per-edge formula; the gradient per layer and the fused SGD step, block by block;
* :class:`ParamMap`: parameters -> conductances for tied and fixed conductances;
* :class:`Scatter`, :func:`as_slice`: copying a layer's parameters into the edge-order vector;
* :class:`Prepared`, :class:`Handoff`: what ``prepare`` and ``eqprop_sgd_step`` vouch for.

Examples
--------
>>> import numpy as np
>>> from analog_eqprop.circuits import drn_circuit
>>> c = drn_circuit([3, 4, 2], seed=0)
>>> plan = GradPlan(c, [np.flatnonzero(c.edge_layer == k) for k in range(c.n_layers)])
>>> int(plan.rest.size), [b["shape"] for b in plan.blocks if b["layer"] == 1]  # bias rails, hidden layer
(0, [(2, 2), (4, 2)])
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from analog_eqprop.circuits.description import Circuit
from analog_eqprop.kernels import sgd_block

__all__ = ["GradPlan", "ParamMap", "Scatter", "Prepared", "Handoff", "as_slice", "sel_size", "first_edge", "MIN_RUN",
           "MIN_DENSITY"]

MIN_RUN = 64  # shorter runs of consecutive edges are copied by fancy indexing
MIN_DENSITY = 0.5  # edge blocks sparser than this keep the per-edge gradient formula


def as_slice(idx: np.ndarray | slice) -> slice | np.ndarray:
    """``idx`` as a slice when it is a run of consecutive integers (a view, not a copy)."""
    if isinstance(idx, slice):
        return idx
    if idx.size and idx[-1] - idx[0] == idx.size - 1 and np.all(np.diff(idx) == 1):
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx


def sel_size(sel: slice | np.ndarray) -> int:
    """How many edges a layer's selector (a slice or an index array) picks."""
    return sel.stop - sel.start if isinstance(sel, slice) else sel.size


def first_edge(sel: slice | np.ndarray) -> int:
    """The first edge a layer's selector picks (0 for none)."""
    if isinstance(sel, slice):
        return sel.start if sel.stop > sel.start else 0
    return int(sel[0]) if sel.size else 0


class Scatter:
    """Copy a layer's parameter vector into the edge-order vector at sorted positions ``idx``:
    long runs of consecutive edges as slices (memcpy), the rest by fancy indexing."""

    def __init__(self, idx: np.ndarray):
        brk = np.flatnonzero(np.diff(idx) != 1) + 1
        starts, ends = np.concatenate([[0], brk]), np.concatenate([brk, [idx.size]])
        long = ends - starts >= MIN_RUN
        self.runs = [(int(a), int(b), int(idx[a])) for a, b in zip(starts[long], ends[long])]
        short = [np.arange(a, b) for a, b in zip(starts[~long], ends[~long])]
        self.src = np.concatenate(short) if short else np.zeros(0, np.int64)
        self.dst = idx[self.src]

    def __call__(self, dst: np.ndarray, src: np.ndarray) -> None:
        for a, b, d in self.runs:
            dst[d:d + b - a] = src[a:b]
        if self.src.size:
            dst[self.dst] = src[self.src]


class GradPlan:
    """How :meth:`~analog_eqprop.models.ResistiveNetwork.energy_grad_diff` maps onto dense blocks (built once).

    Every terminal belongs to a *set*: the free nodes of one layer, the amplified copies of one
    layer's nodes, the input sources, the bias rails, or ground. The edges between two sets form a block; a block
    dense enough is computed by one matrix product, the rest edge by edge.
    """

    def __init__(self, c: Circuit, layer_idx: list[np.ndarray | slice]):
        nf, ns = c.n_free, c.n_sources
        lay = np.asarray(c.node_layer)
        L = int(lay.max()) + 1 if nf else 0
        # per terminal (index t + 1): set id, node or source column, multiplier of the node voltage
        tset = np.empty(c.n_terminals + 1, np.int64)
        col = np.zeros(c.n_terminals + 1, np.int64)
        mult = np.ones(c.n_terminals + 1)
        tset[0] = -3  # ground
        tset[1:nf + 1] = lay
        col[1:nf + 1] = np.arange(nf)
        tset[nf + 1:nf + ns + 1] = np.where(c.source_feature >= 0, -1, -2)  # inputs, bias rails
        col[nf + 1:nf + ns + 1] = np.arange(ns)
        if c.n_amps:
            tset[nf + ns + 1:] = L + lay[c.amp_node]
            col[nf + ns + 1:] = c.amp_node
            mult[nf + ns + 1:] = c.amp_gain
        self.n_layers = len(layer_idx)
        self.sizes = [sel_size(idx) for idx in layer_idx]
        width = 2 * L + 4

        def key_of(sa, sb):
            return (sa + 3) * width + (sb + 3)

        # large dense blocks of conductances that make up a whole block on their own: set up
        # from their two terminal ranges (no per-edge arrays); everything else edge by edge
        fast, sub = self._dense(c, layer_idx, tset, col, mult, key_of)
        sa, sb = tset[c.edge_a[sub] + 1], tset[c.edge_b[sub] + 1]
        swap = sa > sb  # constants (ground -3, rails -2, inputs -1) first, then the lower layer
        ta = np.where(swap, c.edge_b[sub], c.edge_a[sub]) + 1
        tb = np.where(swap, c.edge_a[sub], c.edge_b[sub]) + 1
        sa, sb = tset[ta], tset[tb]
        # each edge's layer and its position in that layer's parameter vector
        e_layer = c.edge_layer[sub].astype(np.int64)
        e_pos = np.empty(sub.size, np.int64)
        for lay_k, idx in enumerate(layer_idx):
            mine = e_layer == lay_k
            e_pos[mine] = sub[mine] - idx.start if isinstance(idx, slice) else np.searchsorted(idx, sub[mine])
        key = key_of(sa, sb)  # (no edge of sub shares a key with a dense block: see _dense)
        self.blocks: list[dict] = []
        rest = []
        for k in sorted(set(np.unique(key).tolist()) | set(fast)):
            if k in fast:
                self.blocks.append(fast[k])
                continue
            i = np.flatnonzero(key == k)
            e = sub[i]
            layers = np.unique(e_layer[i])
            ra, rb = col[ta[i]], col[tb[i]]
            rows, ri = np.unique(ra, return_inverse=True)
            cols, ci = np.unique(rb, return_inverse=True)
            const_a = sa[i[0]] < 0
            if layers.size != 1 or sb[i[0]] < 0 or e.size < MIN_DENSITY * rows.size * cols.size:
                rest.append(i)
                continue
            ma = None if const_a or np.all(mult[ta[i]] == 1.0) else np.zeros(rows.size)
            mb = None if np.all(mult[tb[i]] == 1.0) else np.zeros(cols.size)
            if ma is not None:
                ma[ri] = mult[ta[i]]
            if mb is not None:
                mb[ci] = mult[tb[i]]
            if (ma is not None and np.any(ma[ri] != mult[ta[i]])) or (mb is not None and np.any(mb[ci] != mult[tb[i]])):
                rest.append(i)  # one node behind two amplifiers of different gains
                continue
            flat = ri * cols.size + ci
            pos = e_pos[i]
            o = np.argsort(flat, kind="stable")
            full = flat.size == rows.size * cols.size and np.array_equal(flat[o], np.arange(flat.size))
            dense_slice = full and np.array_equal(pos[o], pos[o][0] + np.arange(flat.size))
            self.blocks.append(dict(
                layer=int(layers[0]),
                ground=bool(sa[i[0]] == -3),
                const=bool(const_a),
                rows=as_slice(rows), cols=as_slice(cols), ma=ma, mb=mb, row_nodes=rows, col_nodes=cols,
                shape=(rows.size, cols.size),
                out=slice(int(pos[o][0]), int(pos[o][0]) + flat.size) if dense_slice else None,
                flat=None if dense_slice else flat, pos=None if dense_slice else pos,
            ))
        i = np.sort(np.concatenate(rest)) if rest else np.zeros(0, np.int64)
        self.rest, self.rest_layer, self.rest_pos = sub[i], e_layer[i], e_pos[i]
        # a block over the whole of its layer, written in place, needs no zero-fill
        self.covered = np.zeros(len(layer_idx), bool)
        for b in self.blocks:
            if b["out"] is not None and b["out"].stop - b["out"].start == self.sizes[b["layer"]]:
                self.covered[b["layer"]] = True

    @staticmethod
    def _dense(c: Circuit, layer_idx, tset, col, mult, key_of) -> tuple[dict, np.ndarray]:
        """The dense blocks of conductances (:meth:`~analog_eqprop.elements.Conductances.blocks`)
        of at least ``MIN_BLOCK`` edges that are on their own all the edges between two terminal
        sets (rows: inputs, bias rails or a lower layer; columns: a free layer), each set's
        terminals in order: the block the per-edge set-up would find, a contiguous run of its
        layer's parameters, found from the ranges alone. Returns ``({key: block}, the other
        edges, increasing)``."""
        blk = c.element("conductance").blocks()
        big, rest = blk.split()
        found: dict[int, list[int]] = {}
        for i in big:
            a0, m, b0, n = int(blk.a0[i]), int(blk.rows[i]), int(blk.b0[i]), int(blk.cols[i])
            if a0 < 0 or b0 < 0:
                continue  # ground: edge by edge
            sa, sb = tset[a0 + 1:a0 + m + 1], tset[b0 + 1:b0 + n + 1]
            if not (np.all(sa == sa[0]) and np.all(sb == sb[0]) and -2 <= sa[0] < sb[0] and sb[0] >= 0):
                continue
            ca, cb = col[a0 + 1:a0 + m + 1], col[b0 + 1:b0 + n + 1]
            if not (np.array_equal(ca, ca[0] + np.arange(m)) and np.array_equal(cb, cb[0] + np.arange(n))):
                continue
            found.setdefault(int(key_of(sa[0], sb[0])), []).append(int(i))
        fast, taken = {}, []
        for k, ids in found.items():
            if len(ids) != 1:
                continue
            i = ids[0]
            a0, m, b0, n = int(blk.a0[i]), int(blk.rows[i]), int(blk.b0[i]), int(blk.cols[i])
            layer, start = int(blk.layer[i]), int(blk.start[i])
            idx = layer_idx[layer]
            pos0 = start - idx.start if isinstance(idx, slice) else int(np.searchsorted(idx, start))
            const_a = tset[a0 + 1] < 0
            ma = mult[a0 + 1:a0 + m + 1]
            mb = mult[b0 + 1:b0 + n + 1]
            rows, cols = col[a0 + 1] + np.arange(m), col[b0 + 1] + np.arange(n)
            fast[k] = dict(
                layer=layer, ground=False, const=bool(const_a),
                rows=slice(int(rows[0]), int(rows[0]) + m), cols=slice(int(cols[0]), int(cols[0]) + n),
                ma=None if const_a or np.all(ma == 1.0) else ma.copy(), mb=None if np.all(mb == 1.0) else mb.copy(),
                row_nodes=rows, col_nodes=cols, shape=(m, n), out=slice(pos0, pos0 + m * n), flat=None, pos=None)
            taken.append(i)
        sub = blk.edges(~np.isin(np.arange(len(blk)), taken)) if taken else np.arange(c.n_edges)
        if fast:  # other edges between the same two sets: that block goes edge by edge after all
            sa, sb = tset[c.edge_a[sub] + 1], tset[c.edge_b[sub] + 1]
            keys = set(np.unique(key_of(np.minimum(sa, sb), np.maximum(sa, sb))).tolist())
            clash = [k for k in fast if k in keys]
            if clash:
                back = [taken[list(fast).index(k)] for k in clash]
                for k in clash:
                    del fast[k]
                sub = np.union1d(sub, blk.edges(back))
        return fast, sub

    @staticmethod
    def _side(s: np.ndarray, cols, m) -> np.ndarray:
        v = s[:, cols]
        return v if m is None else v * m

    def _factors(self, b: dict, v_src, s1, s2, dtype) -> tuple[np.ndarray, np.ndarray]:
        """``(left, right)`` of a dense block: its ``1/2 mean (dV1^2 - dV2^2)`` is ``left.T @ right``
        (rank ``B + 1`` for a block of sources, ``2 B + 2`` between free layers, 1 to ground)."""
        B = s1.shape[0]
        m, n = b["shape"]
        h = 0.5 / B
        b1, b2 = self._side(s1, b["cols"], b["mb"]), self._side(s2, b["cols"], b["mb"])
        Db, Sb = b1 - b2, b1 + b2
        c = np.einsum("ij,ij->j", Db, Sb)
        if b["ground"]:  # 1/2 (v1^2 - v2^2)
            left, right = np.ones((1, m)), (h * c)[None, :]
        elif b["const"]:
            a = v_src[:, b["rows"]]
            left = np.concatenate([a, np.ones((1, m))])
            right = np.concatenate([Db * (-2 * h), (h * c)[None, :]])
        else:
            a1, a2 = self._side(s1, b["rows"], b["ma"]), self._side(s2, b["rows"], b["ma"])
            Da, Sa = a1 - a2, a1 + a2
            r = np.einsum("ij,ij->j", Da, Sa)
            left = np.concatenate([Da, Sa, (h * r)[None, :], np.ones((1, m))])
            right = np.concatenate([Sb * -h, Db * -h, np.ones((1, n)), (h * c)[None, :]])
        return left.astype(dtype, copy=False), right.astype(dtype, copy=False)

    def diff(self, edge_diff: Callable[..., np.ndarray], v_src: np.ndarray, s1: np.ndarray, s2: np.ndarray,
             dtype=np.float64) -> list[np.ndarray]:
        """``1/2 mean_batch (dV1^2 - dV2^2)`` per layer, in each layer's parameter order; the
        edges outside dense blocks by ``edge_diff(v_src, s1, s2, edges)`` (the per-edge formula)."""
        out = [np.empty(n, dtype) if cov else np.zeros(n, dtype) for n, cov in zip(self.sizes, self.covered)]
        for b in self.blocks:
            m, n = b["shape"]
            if b["ground"]:  # one term: no product needed
                B = s1.shape[0]
                b1, b2 = self._side(s1, b["cols"], b["mb"]), self._side(s2, b["cols"], b["mb"])
                res = np.broadcast_to((0.5 / B) * np.einsum("ij,ij->j", b1 - b2, b1 + b2), (m, n))
            else:
                left, right = self._factors(b, v_src, s1, s2, dtype)
                if b["out"] is not None:
                    np.matmul(left.T, right, out=out[b["layer"]][b["out"]].reshape(m, n))
                    continue
                res = left.T @ right
            if b["out"] is not None:
                out[b["layer"]][b["out"]].reshape(m, n)[...] = res
            else:
                out[b["layer"]][b["pos"]] = res.reshape(-1)[b["flat"]]
        if self.rest.size:
            d = edge_diff(v_src, s1, s2, self.rest).astype(dtype, copy=False)
            for k in range(self.n_layers):
                sel = self.rest_layer == k
                if sel.any():
                    out[k][self.rest_pos[sel]] = d[sel]
        return out

    def fusable(self) -> np.ndarray:
        """Per layer: every edge lies in a dense block (none left to the per-edge formula)."""
        return np.array([not np.any(self.rest_layer == k) for k in range(self.n_layers)], bool)

    def sgd(self, params: list[np.ndarray | None], v_src, s1, s2, dtype, scale: float, lrs: list[float],
            lo: float, hi: float, node_g: np.ndarray | None) -> None:
        """``p = clip(p - (diff * scale) * lr, lo, hi)`` for the layers whose parameter array is
        given (all of them :meth:`fusable`), one traversal of every block
        (:func:`~analog_eqprop.kernels.sgd_block`); adds every new conductance to ``node_g`` at
        its free ends (a block's columns, and its rows between free layers: the node, or the
        node behind an amplified copy), which is finite exactly when every conductance is."""
        for b in self.blocks:
            p = params[b["layer"]]
            if p is None:
                continue
            m, n = b["shape"]
            left, right = self._factors(b, v_src, s1, s2, dtype)
            if b["out"] is None:  # a block whose edges are scattered in the layer (e.g. bias rails)
                dt = p.dtype.type
                t = (left.T @ right).reshape(-1)[b["flat"]]
                t *= dt(scale)
                t *= dt(lrs[b["layer"]])
                v = p[b["pos"]] - t
                np.clip(v, dt(lo), dt(hi), out=v)
                p[b["pos"]] = v
                if node_g is not None:
                    ri, ci = np.divmod(b["flat"], n)
                    node_g[b["col_nodes"]] += np.bincount(ci, weights=v, minlength=n)
                    if not b["const"]:
                        node_g[b["row_nodes"]] += np.bincount(ri, weights=v, minlength=m)
                continue
            cs = None if node_g is None else np.zeros(n)
            blk = p[b["out"]].reshape(m, n)
            sgd_block(blk, left, right, scale=scale, lr=lrs[b["layer"]], lo=lo, hi=hi, colsum=cs)
            if cs is not None:
                node_g[b["col_nodes"]] += cs
                if not b["const"]:  # between free layers: the rows' nodes too (the block is in cache)
                    node_g[b["row_nodes"]] += blk.sum(axis=1, dtype=np.float64)


class ParamMap:
    """Parameters -> conductances for a circuit with ``edge_param`` (tied / fixed conductances)."""

    def __init__(self, c: Circuit):
        ep = c.edge_param
        self.n = c.n_params
        self.train = np.flatnonzero(ep >= 0)  # edges that a parameter drives
        self.param_of = ep[self.train]
        _, first = np.unique(self.param_of, return_index=True)
        self.first_edge = self.train[first]  # where a parameter's value is read from an edge vector
        p_layer = c.edge_layer[self.first_edge]
        self.layer_idx = [np.flatnonzero(p_layer == lay) for lay in range(c.n_layers)]

    def gather(self, gbuf: np.ndarray, theta: np.ndarray) -> None:
        gbuf[self.train] = theta[self.param_of]

    def reduce(self, edge_grad: np.ndarray) -> np.ndarray:
        """Gradient per parameter: the sum over the conductances it drives."""
        return np.bincount(self.param_of, weights=edge_grad[self.train], minlength=self.n)


class Prepared:
    """What :meth:`~analog_eqprop.models.ResistiveNetwork.prepare` returns (see there)."""

    __slots__ = ("solved", "partner", "fresh")

    def __init__(self, fresh: "Handoff | None" = None):
        self.solved = None  # the model's parameter version at the first relaxation
        self.partner = None  # (key, RelaxResult) of a -beta phase relaxed with its +beta twin
        self.fresh = fresh  # what the fused update that just ran knows about the new g


class Handoff:
    """What :meth:`~analog_eqprop.models.ResistiveNetwork.eqprop_sgd_step` vouches for: the parameter version it left,
    every conductance seen finite and within the device range, and each free node's total
    conductance [S] (node order, float64; ``None`` where amplified copies count otherwise)."""

    __slots__ = ("version", "node_g")

    def __init__(self, version: int, node_g: np.ndarray | None):
        self.version, self.node_g = version, node_g
