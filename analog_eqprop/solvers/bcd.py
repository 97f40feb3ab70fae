"""Exact block coordinate descent (BCD) for layered networks of resistors and ideal diodes.

With linear conductances and *ideal* diodes, the DC operating point of a reciprocal circuit
minimises the convex co-content (PHYSICS.md §3)::

    E(V) = 1/2 sum_edges g (V_a - V_b)^2 - I . V,    lo <= V <= hi,

where a diode from a rail at ``V_lo`` into node ``i`` is the bound ``V_i >= V_lo`` and one from
node ``i`` to a rail at ``V_hi`` the bound ``V_i <= V_hi``; ``I`` holds the nudging currents. If
no conductance joins two nodes of the same layer, the exact minimiser over one layer, the
others held, is closed form::

    v_i = clip((sum_j g_ij v_j + I_i) / sum_j g_ij, lo_i, hi_i)

(sums over *all* neighbours: free nodes, sources, bias rails, ground). Updating the layers in
turn (odd and even layers alternately for a plain chain; a greedy colouring of the layer graph
in general) is exact block coordinate descent (Scellier 2024, "A fast algorithm to simulate
nonlinear resistive networks"): the energy never rises and the iterates converge to the unique
minimiser of the box-constrained QP.

Conventions and choices:

* **Every diode is an ideal clamp at its rail's voltage, whatever its model card** (``IS``,
  ``N`` and ``RS`` are ignored; the ``DIDEAL`` card of ``hardware_models/diodes.lib`` is what
  SPICE simulates in its place). A diode's internal node (``RS > 0``) is reported at the voltage
  of its anode terminal, the ``RS -> 0`` limit, so states keep ``system.n`` columns.
* Reciprocal amplifiers (back gain == gain) are allowed: an amplified copy ``A V_j`` is a
  neighbour scaled by ``A`` (the coupling is ``g A`` and ``j``'s own share ``g A^2``).
* Resistive nudging of a differential pair adds a conductance ``beta`` between ``pos`` and
  ``neg``. When both nodes lie in one layer the layer is split into two blocks (everything but
  the ``neg`` nodes, then the ``neg`` nodes), each still diagonal, so every step stays exact;
  across layers the coupling is just one more neighbour.
* Applicability is checked once per circuit (:func:`check_bcd_circuit`); anything else raises
  :class:`~analog_eqprop.errors.ConfigError` naming the culprit and pointing to ``backend='numpy'``.
* Cost: the conductance blocks are dense per pair of adjacent layers, gathered from the edge
  vector with index arrays built once per circuit (cached per :class:`MNASystem`) and memoised
  for the last ``g`` (the free and nudged phases of a step share it). Sources enter once per
  call as Norton currents ``x @ Dx + d``; one sweep is then a few products of ``(batch, n_l)``
  by ``(n_l, n_l')`` matrices plus elementwise work, with no loop over examples, nodes or edges.
* Convergence: a sweep in which no voltage moves by more than ``tol`` [V]. The reported residual
  is the KKT residual [A] of the QP (the projected gradient), so it is ~0 at the answer even
  where a clamp conducts.

Examples
--------
>>> import numpy as np
>>> from analog_eqprop.circuits import drn_circuit
>>> from analog_eqprop.solvers.mna import MNASystem
>>> c = drn_circuit([4, 5, 2], seed=0)
>>> op = BCDBackend().operating_point(MNASystem(c), c.edge_g, np.array([[0.1, 0.9, 0.4, 0.0]]))
>>> op.status, op.voltages.shape, op.backend
('converged', (1, 7), 'numpy-bcd')
>>> bool(op.voltages[0, :5].min() >= 0.0)  # hidden nodes clamped from below at 0 V
True
"""

from __future__ import annotations

import time
import weakref
from typing import Any

import numpy as np

from analog_eqprop.circuits.description import GROUND
from analog_eqprop.contracts import BackendCapabilities
from analog_eqprop.errors import ConfigError, ConvergenceError, DataError
from analog_eqprop.kernels import skinny_matmul
from analog_eqprop.solvers.bcd_checks import USE_NUMPY, check_bcd_circuit, terminal_ends
from analog_eqprop.solvers.bcd_device import Namespace
from analog_eqprop.solvers.bcd_device import operating_point_device
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.results import OperatingPoint
from analog_eqprop.validation import array, solve_args

__all__ = ["BCDBackend", "check_bcd_circuit"]
# +x / -x source pairs are folded onto the features (Dx = F @ D, one pass over the input block)
# only for a g that serves a second input batch (evaluation, not a training step's three
# phases, which share one drive) of at least FOLD_BATCH examples; benchmarks/scaling.py
# measured folding slower within a training step at every batch size up to 128
FOLD_BATCH = 16
FOLD_REUSE = 2


class _Gather:
    """A dense ``(rows, cols)`` block ``B[r, k] = sum coef * g[edge]`` from the edge vector.

    The index work is done once; :meth:`build` is one gather (a slice when the edges already
    lie in the block's row-major order) or, for partial blocks, one scatter.
    """

    def __init__(self, shape: tuple[int, int], rows, cols, edges, coef):
        self.shape = shape
        size = shape[0] * shape[1]
        flat = rows * shape[1] + cols
        srt = np.argsort(flat, kind="stable")
        coef = coef[srt]
        self.coef = None if np.all(coef == 1.0) else coef
        self.edges = edges[srt]
        self.flat = flat[srt]
        self.start = int(self.edges[0]) if self.edges.size else 0
        unique = bool(np.all(np.diff(self.flat) > 0))
        if unique and flat.size == size:
            e = self.edges
            contiguous = e.size > 0 and np.array_equal(e, np.arange(e[0], e[0] + e.size))
            self.kind = "slice" if contiguous and self.coef is None else "perm"
        else:
            self.kind = "put" if unique else "sum"
        if self.kind == "slice":  # a view of g: the index arrays are not needed again
            self.edges = self.flat = None

    @classmethod
    def slice_of(cls, shape: tuple[int, int], start: int) -> "_Gather":
        """The block of the edges ``start .. start + rows * cols - 1`` in row-major order (what
        ``__init__`` finds for such edges, found here without index arrays)."""
        self = cls.__new__(cls)
        self.shape, self.start, self.kind = shape, int(start), "slice"
        self.coef = self.edges = self.flat = None
        return self

    def build(self, g: np.ndarray) -> np.ndarray:
        if self.kind == "slice":
            return g[self.start:self.start + self.shape[0] * self.shape[1]].reshape(self.shape)
        vals = g[self.edges]
        if self.coef is not None:
            vals *= self.coef
        if self.kind == "perm":
            return vals.reshape(self.shape)
        size = self.shape[0] * self.shape[1]
        if self.kind == "put":
            out = np.zeros(size)
            out[self.flat] = vals
            return out.reshape(self.shape)
        return np.bincount(self.flat, weights=vals, minlength=size).reshape(self.shape)


class BCDPlan:
    """Everything about one circuit that does not change with g, x or beta (built once)."""

    def __init__(self, system: MNASystem):
        c = self.circuit = system.circuit
        check_bcd_circuit(c)  # no reference to system: the backend's weak cache is keyed by it
        nf = self.nf = c.n_free
        layers, lay = np.unique(c.node_layer, return_inverse=True)
        self.n_layers = L = len(layers)
        self.order = np.argsort(lay, kind="stable")  # layer order -> node
        self.pos = np.empty(nf, np.int64)
        self.pos[self.order] = np.arange(nf)  # node -> position in layer order
        counts = np.bincount(lay, minlength=L)
        off = np.concatenate([[0], np.cumsum(counts)])
        self.slices = [slice(int(off[k]), int(off[k + 1])) for k in range(L)]
        local = self.pos - off[lay]  # node -> index inside its layer
        self.lay = lay

        # large dense blocks that are whole weight blocks: slices of g, set up from their ranges
        fast, sub = self._dense_blocks(counts, local)
        ends = self._ends(sub)
        clash = sorted(self._keys(*ends) & set(fast))
        if clash:  # other edges share a weight block with a dense one: that block goes edge by edge too
            sub = np.union1d(sub, c.element("conductance").blocks().edges([self._fast_ids.pop(k) for k in clash]))
            for k in clash:
                del fast[k]
            ends = self._ends(sub)
        q1, m1, q2, m2, s2 = ends
        self._diagonal(sub, q1, m1, q2, m2, s2)
        self._free_blocks(sub, q1, m1, q2, m2, counts, local, fast)
        self._drive_blocks(sub, q1, m1, s2, counts, local, fast)
        self._pairs()
        self._bounds()
        self._schedule()
        self._g: np.ndarray | None = None
        self._borrowed = False  # the blocks are views of a caller's g (see built)
        self._built = None
        self._norton: tuple | None = None

    # -- set-up pieces --------------------------------------------------------------------
    def _dense_blocks(self, counts, local) -> tuple[dict, np.ndarray]:
        """The dense blocks of conductances (:meth:`~analog_eqprop.elements.Conductances.blocks`)
        of at least ``MIN_BLOCK`` edges that are, on their own, a whole coupling block between
        two free layers (rows in the lower one) or a whole source block of one layer (rows the
        sources, all inputs or all constant): their gathers are slices of g, exactly what the
        per-edge set-up finds for those edges, with no per-edge index arrays. Returns
        ``({key: (first edge, rows, cols, first source)}, the other edges)``; keys
        ``("free", la, lb)`` and ``("drive", layer, inputs)``. Amplified copies take the
        per-edge set-up throughout (their diagonal is summed edge by edge)."""
        c, nf, lay = self.circuit, self.nf, self.lay
        blk = c.element("conductance").blocks()
        big, rest = blk.split()
        self._fast_ids: dict[tuple, int] = {}
        if c.n_amps or not big.size:
            return {}, np.arange(c.n_edges) if c.n_amps else rest
        first_src = c.terminal_offset("source")
        is_input = c.source_feature >= 0
        found: dict[tuple, list[int]] = {}

        def whole_layer(t0: int, n: int) -> int | None:  # free nodes t0 .. t0+n-1: one whole layer?
            if not (0 <= t0 and t0 + n <= nf):
                return None
            k = int(lay[t0])
            return k if local[t0] == 0 and n == counts[k] and np.all(lay[t0:t0 + n] == k) else None

        for i in big:
            a0, m, b0, n = int(blk.a0[i]), int(blk.rows[i]), int(blk.b0[i]), int(blk.cols[i])
            lb = whole_layer(b0, n)
            if lb is None:
                continue
            la = whole_layer(a0, m)
            if la is not None and la < lb:
                found.setdefault(("free", la, lb), []).append(i)
            elif first_src <= a0 and a0 + m <= first_src + c.n_sources:
                inp = is_input[a0 - first_src:a0 - first_src + m]
                if inp.all() or not inp.any():
                    found.setdefault(("drive", lb, bool(inp[0])), []).append(i)
        fast = {}
        for key, ids in found.items():
            if len(ids) == 1:
                i = ids[0]
                fast[key] = (int(blk.start[i]), int(blk.rows[i]), int(blk.cols[i]), int(blk.a0[i]) - first_src)
                self._fast_ids[key] = i
        taken = np.isin(np.arange(len(blk)), list(self._fast_ids.values()))
        return fast, blk.edges(~taken)

    def _ends(self, sub: np.ndarray):
        """Per edge of ``sub``, oriented so that end 1 is free: ``(q1, m1, q2, m2, s2)``; end 2 is
        free (``q2 >= 0``), a source (``s2 >= 0``) or ground."""
        c = self.circuit
        qa, ma, sa = terminal_ends(c, c.edge_a[sub])
        qb, mb, sb = terminal_ends(c, c.edge_b[sub])
        swap = qa < 0
        q1, m1 = np.where(swap, qb, qa), np.where(swap, mb, ma)
        q2, m2, s2 = np.where(swap, qa, qb), np.where(swap, ma, mb), np.where(swap, sa, sb)
        return q1, m1, q2, m2, s2

    def _keys(self, q1, m1, q2, m2, s2) -> set:
        """The weight blocks (keys as in :meth:`_dense_blocks`) that edges with these ends touch."""
        c, lay = self.circuit, self.lay
        ff = (q2 >= 0) & (q1 != q2)
        l1, l2 = lay[q1[ff]], lay[q2[ff]]
        pairs = set(zip(np.minimum(l1, l2).tolist(), np.maximum(l1, l2).tolist()))
        keys = {("free", int(a), int(b)) for a, b in pairs}
        src = s2 >= 0
        is_input = (c.source_feature >= 0)[s2[src]]
        keys |= {("drive", int(k), bool(i)) for k, i in set(zip(lay[q1[src]].tolist(), is_input.tolist()))}
        return keys

    def _diagonal(self, e, q1, m1, q2, m2, s2) -> None:
        """How the total conductance of every node (the update's denominator) follows from g
        (edges ``e`` with these ends; dense blocks add their sums to the diagonal)."""
        ground = (q2 < 0) & (s2 < 0)
        self.ground_q, self.ground_e = self.pos[q1[ground]], e[ground]
        # without amplifiers every edge counts g at both ends, so the diagonal is the blocks' sums;
        # a copy A V_j counts g A in the coupling but g A^2 on j's diagonal: add it up edge by edge
        self.diag_from_sums = self.circuit.n_amps == 0
        if self.diag_from_sums:
            return
        two = q2 >= 0
        same = q1 == q2  # a node wired to its own amplified copy: g (m1 - m2)^2 on its diagonal
        self.diag_q = self.pos[np.concatenate([q1, q2[two], q1[same]])]
        self.diag_e = np.concatenate([e, e[two], e[same]])
        self.diag_m2 = np.concatenate([m1 ** 2, m2[two] ** 2, -2 * m1[same] * m2[same]])

    def _free_blocks(self, e, q1, m1, q2, m2, counts, local, fast) -> None:
        """One dense coupling block per pair of adjacent layers (rows in the lower layer), from
        the edges ``e`` and the whole dense blocks ``fast``."""
        lay, L = self.lay, self.n_layers
        ff = (q2 >= 0) & (q1 != q2)
        e, q1, q2, coef = e[ff], q1[ff], q2[ff], (m1 * m2)[ff]
        l1, l2 = lay[q1], lay[q2]
        up = l1 <= l2
        rows, cols = np.where(up, q1, q2), np.where(up, q2, q1)
        key = np.minimum(l1, l2) * L + np.maximum(l1, l2)
        present = set(np.flatnonzero(np.bincount(key, minlength=L * L)).tolist())
        present |= {la * L + lb for kind, la, lb in fast if kind == "free"}
        self.blocks: dict[tuple[int, int], _Gather] = {}
        for kk in sorted(present):
            la, lb = divmod(int(kk), L)
            shape = (int(counts[la]), int(counts[lb]))
            if ("free", la, lb) in fast:
                self.blocks[(la, lb)] = _Gather.slice_of(shape, fast[("free", la, lb)][0])
                continue
            sel = key == kk
            self.blocks[(la, lb)] = _Gather(shape, local[rows[sel]], local[cols[sel]], e[sel], coef[sel])

    def _drive_blocks(self, e, q1, m1, s2, counts, local, fast) -> None:
        """Per layer, the source blocks D_l (sources touching the layer, n_l), folded onto features.

        ``V_src = gain * x[feature] + offset``, so ``V_src @ D_l = x @ (F_l @ D_l) + offset @ D_l``
        with ``F_l`` the sparse (n_features, inputs) map of gains: +x / -x pairs fold into one row
        and each call multiplies ``(batch, n_features)`` rather than ``(batch, n_sources)``. Input
        and constant sources get separate blocks: the input block of a fully connected layer is
        then often a plain slice of the edge vector.
        """
        import scipy.sparse as sp  # lazy: only plans need it (scipy.sparse: ~0.1 s of start-up)

        c = self.circuit
        is_input = c.source_feature >= 0
        # per layer: (gather of the block, offsets of its sources or None, None for constant sources
        # or (F (n_features, n_src) sparse map of gains, each source's feature, each source's gain))
        self.drive: list[list[tuple[_Gather, np.ndarray | None, tuple | None]]] = []
        for k in range(self.n_layers):
            parts = []
            for inputs in (True, False):
                whole = fast.get(("drive", k, inputs))
                if whole is not None:  # one dense block of sources first_src .. first_src + rows - 1
                    start, m, n, first_src = whole
                    src = np.arange(first_src, first_src + m)
                    gat = _Gather.slice_of((m, n), start)
                else:
                    sel = (s2 >= 0) & (self.lay[q1] == k)
                    sel[sel] = is_input[s2[sel]] == inputs
                    if not sel.any():
                        continue
                    present = np.bincount(s2[sel], minlength=c.n_sources) > 0
                    src = np.flatnonzero(present)
                    row_of = np.cumsum(present) - 1
                    gat = _Gather((src.size, int(counts[k])), row_of[s2[sel]], local[q1[sel]], e[sel], m1[sel])
                offsets = c.source_offset[src] if np.any(c.source_offset[src]) else None
                F = ((sp.csr_matrix((c.source_gain[src], (c.source_feature[src], np.arange(src.size))),
                                    shape=(c.n_features, src.size)), c.source_feature[src], c.source_gain[src])
                     if inputs else None)
                parts.append((gat, offsets, F))
            self.drive.append(parts)

    def _pairs(self) -> None:
        """Differential pairs coupled by resistive nudging (positions in layer order)."""
        c = self.circuit
        has = c.out_neg >= 0
        self.pair_p = self.pos[c.out_pos[has]]
        self.pair_n = self.pos[c.out_neg[has]]
        self.coupled = c.nudge == "resistive" and bool(has.any())
        if not self.coupled:
            return
        outs = np.concatenate([c.out_pos, c.out_neg[has]])
        if np.unique(outs).size != outs.size:
            raise ConfigError("BCD: with resistive nudging of differential outputs every output node must belong "
                              f"to one output only (each pair is a 2-node block); {USE_NUMPY}")
        lay_p, lay_n = self.lay[self.order[self.pair_p]], self.lay[self.order[self.pair_n]]
        self.pair_links = {(int(min(a, b)), int(max(a, b))) for a, b in zip(lay_p, lay_n) if a != b}
        # per layer: nodes with a partner (local) and the partner (global); deferred = same-layer negs
        self.layer_pairs = []
        for k, sl in enumerate(self.slices):
            me = np.concatenate([self.pair_p[lay_p == k], self.pair_n[lay_n == k]])
            partner = np.concatenate([self.pair_n[lay_p == k], self.pair_p[lay_n == k]])
            same = (lay_p == k) & (lay_n == k)
            defer, defer_partner = self.pair_n[same] - sl.start, self.pair_p[same] - sl.start
            self.layer_pairs.append((me - sl.start, partner, defer, defer_partner) if me.size else None)

    def _bounds(self) -> None:
        """Ideal-diode clamps as bounds; constant (bias rails, ground) ones are fixed here."""
        c, nf = self.circuit, self.nf
        free_c = c.terminal_kind(c.diode_cathode) == 0  # rail -> node: a lower bound
        self.d_node = self.pos[np.where(free_c, c.diode_cathode, c.diode_anode)]
        rail = np.where(free_c, c.diode_anode, c.diode_cathode)
        self.d_src = np.where(rail == GROUND, -1, rail - nf)
        self.d_lower = free_c
        src = np.maximum(self.d_src, 0)
        self.bounds_const = not np.any((self.d_src >= 0) & (c.source_feature[src] >= 0))
        self.has_lo = [bool(np.any(self.d_lower & (self.lay[self.order[self.d_node]] == k)))
                       for k in range(self.n_layers)]
        self.has_hi = [bool(np.any(~self.d_lower & (self.lay[self.order[self.d_node]] == k)))
                       for k in range(self.n_layers)]
        if self.bounds_const:
            self.lo, self.hi = self.bounds(c.source_voltages(np.zeros((1, c.n_features))))

    def bounds(self, v_src: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper voltage bounds [V], ``(batch or 1, n_free)`` in layer order."""
        B = v_src.shape[0]
        v = np.where(self.d_src >= 0, v_src[:, np.maximum(self.d_src, 0)], 0.0)
        lo = np.full((B, self.nf), -np.inf)
        hi = np.full((B, self.nf), np.inf)
        np.maximum.at(lo, (slice(None), self.d_node[self.d_lower]), v[:, self.d_lower])
        np.minimum.at(hi, (slice(None), self.d_node[~self.d_lower]), v[:, ~self.d_lower])
        bad = lo > hi
        if np.any(bad):
            i = int(self.order[np.argmax(bad.any(axis=0))])
            raise ConfigError(f"BCD: node {self.circuit.nodes[i]} is clamped from below above its upper clamp; "
                              f"ideal diodes would short the rails (no operating point)")
        return lo, hi

    def _schedule(self) -> None:
        """Coupling blocks seen by every layer, and a sweep order in which no two coupled layers
        share a colour (so that updating one colour's layers in turn is the same as at once)."""
        self.neighbours: list[list[tuple[slice, tuple[int, int], bool]]] = [[] for _ in range(self.n_layers)]
        for la, lb in self.blocks:
            self.neighbours[la].append((self.slices[lb], (la, lb), True))  # v_lb @ W.T
            self.neighbours[lb].append((self.slices[la], (la, lb), False))  # v_la @ W
        links = set(self.blocks) | (self.pair_links if self.coupled else set())
        adjacent: list[set[int]] = [set() for _ in range(self.n_layers)]
        for la, lb in links:
            adjacent[la].add(lb)
            adjacent[lb].add(la)
        colour = np.full(self.n_layers, -1)
        for k in range(self.n_layers):  # greedy: a chain of layers gets even / odd
            used = {int(colour[n]) for n in adjacent[k]}
            colour[k] = min(set(range(self.n_layers + 1)) - used)
        self.sweep = [int(k) for k in np.argsort(colour, kind="stable")]

    # -- per conductance vector ------------------------------------------------------------
    def built(self, g: np.ndarray, dtype=np.float64, same_g: bool = False, fresh_g=None):
        """``(W blocks, drive per layer, diagonal [S] in layer order)`` for conductances ``g`` [S],
        computed in ``dtype``.

        The drive of layer ``l`` is ``(parts, d_l)``: Norton currents ``sum V_src @ D + d_l`` [A]
        over the input parts ``(D, source features, source gains)``.
        The last g is memoised: the free and nudged phases of a training step share it.
        ``same_g`` is the caller's promise that ``g`` has not changed since the last call, which
        skips the comparison. ``fresh_g`` (``True``, or each free node's total conductance [S]
        in node order) is the caller's promise that ``g`` is new, valid and will not change
        before the caller's next call: the blocks are then views of the caller's ``g`` (no
        copy, no comparison) and the diagonal is taken from the totals when given; a later
        call without a promise rebuilds from a copy.
        """
        dtype = np.dtype(dtype)
        old = self._g
        if same_g and old is not None and old.dtype == dtype and old.shape == g.shape:
            return self._built
        fresh = fresh_g is not None and fresh_g is not False
        if not fresh and not self._borrowed and old is not None and old.dtype == dtype \
                and old.shape == g.shape and np.array_equal(old[::101], g[::101]) and np.array_equal(old, g):
            return self._built
        borrow = fresh and g.dtype == dtype and g.flags.c_contiguous
        # the last g's blocks go before the new copy is made: one copy of a big net's g at a time
        old = self._g = self._built = self._norton = None
        self._folded = {}
        g = g if borrow else np.array(g, dtype=dtype)  # else our own copy: "slice" blocks are views of it
        self._borrowed = borrow
        W = {key: gat.build(g) for key, gat in self.blocks.items()}
        sums = isinstance(fresh_g, np.ndarray) and self.diag_from_sums
        if sums:
            diag = fresh_g[self.order].astype(dtype)
        elif self.diag_from_sums:
            diag = np.bincount(self.ground_q, weights=g[self.ground_e], minlength=self.nf).astype(dtype)
            for (la, lb), w in W.items():
                diag[self.slices[la]] += w.sum(axis=1)
                diag[self.slices[lb]] += w.sum(axis=0)
        else:
            diag = np.bincount(self.diag_q, weights=g[self.diag_e] * self.diag_m2, minlength=self.nf).astype(dtype)
        drive = []
        for sl, parts in zip(self.slices, self.drive):
            inputs, const = [], np.zeros(sl.stop - sl.start, dtype)
            for gat, offsets, F in parts:
                D = gat.build(g)
                if offsets is not None:
                    const += (offsets @ D).astype(dtype, copy=False)
                if F is not None:
                    inputs.append((D, F))
                if self.diag_from_sums and not sums:
                    diag[sl] += D.sum(axis=0)
            drive.append((inputs, const))
        self._g, self._built = g, (W, drive, diag)
        self._norton = None
        self._folded: dict[tuple[int, int], np.ndarray] = {}
        self._n_inputs_seen = 0
        return self._built

    def norton(self, x: np.ndarray) -> list[np.ndarray]:
        """Norton currents [A] per layer, ``(batch, n_l)`` each, for the last built ``g``: fresh
        arrays (callers add the nudge in place). Memoised for the last ``x``: the free and nudged
        phases of a training step share the clamped inputs' drive.

        The source voltages multiply the source blocks (``(batch, n_sources)`` by
        ``(n_sources, n_l)``); once a g serves its ``FOLD_REUSE``-th input batch and the batch has
        ``FOLD_BATCH`` examples or more, +x / -x pairs are first folded onto the features
        (``Dx = F @ D``, once per g), which halves the product of every later batch.
        """
        memo = self._norton
        if memo is not None and memo[0].shape == x.shape and np.array_equal(memo[0], x):
            return [bk.copy() for bk in memo[1]]
        if memo is not None and memo[0].shape[0] and x.shape[0] % memo[0].shape[0] == 0 \
                and x.shape[1:] == memo[0].shape[1:]:
            reps = x.shape[0] // memo[0].shape[0]  # the memoised batch stacked (paired phases)
            if np.array_equal(x, np.tile(memo[0], (reps, 1))):
                return [np.tile(bk, (reps, 1)) for bk in memo[1]]
        self._n_inputs_seen += 1
        B = x.shape[0]
        dtype = self._g.dtype
        xd = x.astype(dtype, copy=False)
        fold = B >= FOLD_BATCH and self._n_inputs_seen >= FOLD_REUSE
        b = []
        for k, (inputs, const) in enumerate(self._built[1]):
            bk = np.empty((B, const.size), dtype)
            bk[...] = const
            for j, (D, F) in enumerate(inputs):
                if fold:
                    Dx = self._folded.get((k, j))
                    if Dx is None:
                        Dx = self._folded[(k, j)] = np.ascontiguousarray((F[0] @ D).astype(dtype, copy=False))
                    bk += xd @ Dx
                else:  # a short batch streams D once (compiled kernel); BLAS otherwise
                    bk += skinny_matmul(xd[:, F[1]] * F[2].astype(dtype, copy=False), D)
            b.append(bk)
        self._norton = (x.copy(), b)
        return [bk.copy() for bk in b]

    def bounds_as(self, dtype) -> tuple[np.ndarray, np.ndarray]:
        """The constant bounds in ``dtype`` (cached)."""
        key = np.dtype(dtype)
        cache = self.__dict__.setdefault("_bounds_cache", {})
        if key not in cache:
            cache[key] = (self.lo.astype(key), self.hi.astype(key))
        return cache[key]


class BCDBackend:
    """Exact block coordinate descent on layered ideal-diode networks (see the module docstring).

    Parameters
    ----------
    max_iter : int
        Sweeps (every layer once) before giving up.
    tol : float
        Converged when no voltage changes by more than ``tol`` [V] in a sweep.
    throw : bool
        Raise :class:`~analog_eqprop.errors.ConvergenceError` if some example did not converge.
    kkt : bool
        Compute the KKT residual of the answer (one more field evaluation per layer); without
        it ``residual`` is NaN. A fixed sweep count (``max_iter=4, tol=0, throw=False``, as
        Scellier 2024 trains) has no use for it.
    xp, device : str, optional
        Run the sweeps with another array library's operations (``"torch"``, ``"cupy"``, or
        any module with the array API's ``asarray``, ``matmul``, ``maximum``, ``minimum``,
        ``abs`` and ``max``), e.g. ``xp="torch", device="cuda"``. Set-up, nudging and results
        stay NumPy; blocks move once per g, currents once per call.
    dtype : {None, "float32", "float64"}
        Precision of the sweeps; ``None`` follows the conductances (float32 ``g``, as a
        ``ResistiveNetwork(dtype="float32")`` passes, runs in float32, anything else in float64).

    Examples
    --------
    >>> import numpy as np
    >>> from analog_eqprop.circuits import drn_circuit
    >>> from analog_eqprop.models import ResistiveNetwork
    >>> net = ResistiveNetwork(drn_circuit([3, 4, 2], seed=1), backend="bcd")
    >>> s0 = net.relax(np.array([[0.2, 0.5, 0.9]])).state
    >>> net.last_op.backend, bool(net.last_op.residual[0] < 1e-15)
    ('numpy-bcd', True)
    """

    name = "bcd"

    def __init__(self, max_iter: int = 1000, tol: float = 1e-12, throw: bool = True, kkt: bool = True,
                 dtype: str | None = None, xp: str | None = None, device: str | None = None):
        if int(max_iter) < 1:
            raise ConfigError(f"BCDBackend: max_iter must be >= 1, got {max_iter!r}")
        if not (np.isfinite(tol) and tol >= 0):
            raise ConfigError(f"BCDBackend: tol must be a finite number >= 0 (V), got {tol!r}")
        if dtype is not None and np.dtype(dtype) not in (np.float32, np.float64):
            raise ConfigError(f"BCDBackend: dtype must be float32, float64 or None, got {dtype!r}")
        self.max_iter, self.tol, self.throw, self.kkt = int(max_iter), float(tol), bool(throw), bool(kkt)
        self.dtype = None if dtype is None else np.dtype(dtype)
        self.xp, self.device = xp, device
        #: the device library's operations (``xp=``), else ``None``
        self.namespace = None if xp is None else Namespace(xp, device)
        self.capabilities = BackendCapabilities(current_sources=True, same_conductances=True,
                                                fresh_conductances=True, per_example_beta=True,
                                                device_arrays=self.namespace is not None)
        self.stats: dict[str, Any] = {}
        self._plans: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        dt = None if self.dtype is None else self.dtype.name
        xp = "" if self.xp is None else f", xp={self.xp!r}, device={self.device!r}"
        return (f"BCDBackend(max_iter={self.max_iter}, tol={self.tol!r}, throw={self.throw}, kkt={self.kkt}, "
                f"dtype={dt!r}{xp})")

    def _dtype(self, g: np.ndarray) -> np.dtype:
        if self.dtype is not None:
            return self.dtype
        return np.dtype(np.float32) if g.dtype == np.float32 else np.dtype(np.float64)

    def plan(self, system: MNASystem) -> BCDPlan:
        """The circuit's precomputed index arrays (checks applicability on first use)."""
        p = self._plans.get(system)
        if p is None:
            p = self._plans[system] = BCDPlan(system)
        return p

    def operating_point(self, system: MNASystem, g: np.ndarray, x: np.ndarray, *, beta: float = 0.0,
                        target_v: np.ndarray | None = None, ref: np.ndarray | None = None,
                        u0: np.ndarray | None = None, i_ext: np.ndarray | None = None,
                        same_g: bool = False, fresh_g=None) -> OperatingPoint:
        """Operating points of a batch: ``x`` (batch, n_features), ``target_v`` output targets [V].

        ``beta`` [S] nudges as :meth:`MNASystem.nudge_terms` does (``ref``: the free state, for
        current-mode nudging), or one beta per example (``(batch,)``: e.g. +beta and -beta phases
        stacked into one batch, which reads every weight block once for both); ``u0`` (batch, n_free or system.n) warm-starts the sweeps (the
        free state is a good start for the nudged phase); ``i_ext`` (n_free,) are currents [A]
        injected into the free nodes (node order) by ideal current sources; ``same_g=True``
        promises that ``g`` equals the previous call's (the nudged phases of a training step),
        which skips comparing a million conductances; ``fresh_g`` (``True`` or ``(n_free,)``
        totals) promises that ``g`` was just written by a caller that checked it (every value
        finite and > 0) and will not change it before its next call: ``g`` is then neither
        checked, compared nor copied, and with the totals (each free node's conductance [S],
        node order) the diagonal is not summed again (training steps after a fused update:
        ``ResistiveNetwork.eqprop_sgd_step``).

        Returns an :class:`~analog_eqprop.solvers.newton.OperatingPoint` whose ``iterations``
        counts sweeps, ``residual`` is the KKT residual [A] per example and ``extra["max_change"]``
        the largest voltage change [V] of the last sweep per example.
        """
        if self.namespace is not None and not isinstance(g, np.ndarray) and hasattr(g, "shape"):
            return operating_point_device(self, system, g, x, beta=beta, target_v=target_v, ref=ref, u0=u0,
                                          i_ext=i_ext, same_g=same_g, fresh_g=fresh_g)
        t0 = time.perf_counter()
        p = self.plan(system)
        c, nf = p.circuit, p.nf
        # same_g: g was checked by the call that built it (a million conductances need not be rescanned)
        g, x, beta, target_v, ref, u0 = solve_args(c, g, x, beta=beta, target=target_v, ref=ref, u0=u0,
                                                   n_state=system.n,
                                                   check_g=not (same_g or fresh_g is not None and fresh_g is not False),
                                                   per_example_beta=True, g_dtype=None)
        if i_ext is not None:
            i_ext = array(i_ext, "i_ext", (nf,))
        B = x.shape[0]
        g = np.asarray(g)
        dt = self._dtype(g)
        if isinstance(fresh_g, np.ndarray) or (fresh_g is not None and not isinstance(fresh_g, bool)):
            fresh_g = array(fresh_g, "fresh_g", (nf,))
        W, drive, diag = p.built(g, dt, same_g, fresh_g)
        b = p.norton(x)
        if i_ext is not None:  # current sources into the nodes
            i_ext = i_ext.astype(dt)[p.order]
            for bk, sl in zip(b, p.slices):
                bk += i_ext[sl]
        coupling = 0.0
        if target_v is not None:
            diag, coupling = self.nudge(p, system, beta, target_v, ref, diag, b)
            diag = diag.astype(dt, copy=False)
        v_src = None if p.bounds_const and not system.n_internal else c.source_voltages(x)
        lo, hi = p.bounds_as(dt) if p.bounds_const else (a.astype(dt, copy=False) for a in p.bounds(v_src))
        inv = 1.0 / diag
        v = np.zeros((B, nf), dt) if u0 is None else np.array(np.asarray(u0)[:, :nf][:, p.order], dtype=dt)
        v = np.minimum(np.maximum(v, lo), hi)

        if self.xp is not None:
            if coupling:
                raise ConfigError("BCD: the array-namespace sweeps (xp=...) do not handle resistive nudging of "
                                  "differential pairs; use xp=None")
            v, delta, it = self._sweeps_xp(p, v, b, W, inv, lo, hi)
            converged = delta <= self.tol
            res = self._kkt(p, v, b, W, diag, lo, hi, coupling, [(np.empty((B, sl.stop - sl.start), dt),
                            np.empty((B, sl.stop - sl.start), dt)) for sl in p.slices]) if self.kkt \
                else np.full(B, np.nan)
            return self.finish(system, p, v, v_src, res, converged, it, delta, t0)
        # work buffers reused by every sweep: fresh (batch, n_l) temporaries cost page faults
        work = [(np.empty((B, sl.stop - sl.start), dt), np.empty((B, sl.stop - sl.start), dt)) for sl in p.slices]
        delta = np.full(B, np.inf, dt)
        it = 0
        for it in range(1, self.max_iter + 1):
            # with tol = 0 (a fixed sweep count) only the last sweep's change is reported: the
            # early stop it gives up needs an exact fixed point, where more sweeps change nothing
            watch = self.tol > 0 or it == self.max_iter
            delta[:] = 0.0
            for k in p.sweep:
                sl, (new, tmp) = p.slices[k], work[k]
                self._update(p, k, v, b, W, inv, lo, hi, coupling, new, tmp)
                if watch:
                    np.abs(np.subtract(new, v[:, sl], out=tmp), out=tmp)
                    np.maximum(delta, tmp.max(axis=1, initial=0.0), out=delta)
                v[:, sl] = new
            if watch and delta.max(initial=0.0) <= self.tol:
                break
        converged = delta <= self.tol
        res = self._kkt(p, v, b, W, diag, lo, hi, coupling, work) if self.kkt else np.full(B, np.nan)
        return self.finish(system, p, v, v_src, res, converged, it, delta, t0)

    def finish(self, system, p, v, v_src, res, converged, it, delta, t0) -> OperatingPoint:
        """The result of sweeps that ended with voltages ``v`` (layer order), raising
        :class:`~analog_eqprop.errors.ConvergenceError` for examples that did not converge
        when ``throw`` is set (the host and device paths share it)."""
        out = self._result(system, p, v, v_src, res, converged, it, delta, t0)
        if self.throw and not converged.all():
            bad = np.flatnonzero(~converged)
            raise ConvergenceError(f"BCD did not converge for {bad.size} of {len(converged)} examples (first: "
                                   f"{bad[0]}) in {self.max_iter} sweeps; largest change in the last sweep "
                                   f"{delta.max():.3g} V")
        return out

    def _sweeps_xp(self, p: BCDPlan, v, b, W, inv, lo, hi):
        """The same sweeps with array-API operations only (torch, CuPy...): blocks, currents and
        bounds are moved once per call (the blocks once per g), voltages come back as NumPy."""
        X = self.namespace
        memo = p.__dict__.get("_xp_blocks")
        if memo is None or memo[0] is not p._built or memo[1] is not X:
            memo = p._xp_blocks = (p._built, X, {key: X.asarray(w) for key, w in W.items()})
        vs, delta, it = self.sweeps_device(p, [X.asarray(v[:, sl]) for sl in p.slices], [X.asarray(bk) for bk in b],
                                         memo[2], [X.asarray(inv[..., sl]) for sl in p.slices], lo, hi)
        return np.concatenate([X.to_numpy(a) for a in vs], axis=1), delta, it

    def sweeps_device(self, p: BCDPlan, vs, bx, Wx, invx, lo, hi):
        """The sweeps on device arrays: voltages ``vs``, currents ``bx`` and ``1 / diagonal``
        ``invx`` per layer, blocks ``Wx``; bounds ``lo`` / ``hi`` host arrays (moved here).
        Returns the device voltages per layer, the last sweep's change (host) and the count."""
        X = self.namespace
        layer_of = {sl.start: k for k, sl in enumerate(p.slices)}
        lox = [X.asarray(lo[:, sl]) if p.has_lo[k] else None for k, sl in enumerate(p.slices)]
        hix = [X.asarray(hi[:, sl]) if p.has_hi[k] else None for k, sl in enumerate(p.slices)]
        B = vs[0].shape[0] if vs else 0
        delta = np.full(B, np.inf)
        it = 0
        for it in range(1, self.max_iter + 1):
            watch = self.tol > 0 or it == self.max_iter  # as the host sweeps: see operating_point
            change = None
            for k in p.sweep:
                r = bx[k]
                for sl, key, transpose in p.neighbours[k]:
                    w = Wx[key]
                    r = r + X.matmul(vs[layer_of[sl.start]], X.T(w) if transpose else w)
                new = r * invx[k]
                if p.has_lo[k]:
                    new = X.maximum(new, lox[k])
                if p.has_hi[k]:
                    new = X.minimum(new, hix[k])
                if watch and new.shape[1]:
                    ck = X.max1(X.abs(new - vs[k]))
                    change = ck if change is None else X.maximum(change, ck)
                vs[k] = new
            if watch:
                delta = X.to_numpy(change) if change is not None else np.zeros(B)
                if delta.max(initial=0.0) <= self.tol:
                    break
        return vs, delta, it

    # -- pieces ---------------------------------------------------------------------------
    @staticmethod
    def nudge(p: BCDPlan, system: MNASystem, beta: float, target_v, ref, diag, b):
        """Add the nudge to the layers' currents ``b`` (in place); return the new diagonal and the
        pair coupling [S]."""
        c = p.circuit
        per_example = np.ndim(beta) == 1  # one beta per example: diagonal (batch, n_free)
        if c.nudge == "current":
            if ref is None:
                raise DataError("current-mode nudging needs the free state as reference (ref)")
            _, db = system.nudge_terms(1.0 if per_example else beta, target_v, np.asarray(ref, dtype=np.float64))
            db = db[:, : p.nf][:, p.order]
            if per_example:
                db = db * beta[:, None]  # the injected current is linear in beta
            for bk, sl in zip(b, p.slices):
                bk += db[:, sl]
            return diag, 0.0
        # resistive: a conductance beta to the target, between pos and neg for pairs (F = E + beta C);
        # MNASystem.nudge_terms would build it as a dense (n, n) matrix, which big nets cannot afford
        if per_example and p.coupled:
            raise ConfigError("BCD: one beta per example is not supported with resistive nudging of "
                              "differential pairs; relax the phases one by one")
        has = c.out_neg >= 0
        pos, neg = p.pos[c.out_pos], p.pos[c.out_neg[has]]
        bcol = beta[:, None] if per_example else beta
        diag = diag + np.bincount(np.concatenate([pos, neg]), minlength=p.nf) * bcol
        db = np.zeros((target_v.shape[0], p.nf))
        np.add.at(db, (slice(None), pos), bcol * target_v)
        np.add.at(db, (slice(None), neg), -bcol * target_v[:, has])
        for bk, sl in zip(b, p.slices):
            bk += db[:, sl]
        bad = diag <= 0
        if p.coupled:
            bad[p.pair_p] |= diag[p.pair_p] * diag[p.pair_n] <= beta * beta
        if np.any(bad):
            node = int(np.argmax(bad)) % p.nf
            raise ConfigError(f"BCD: beta={np.max(np.abs(beta)):g} S makes the energy non-convex at output node "
                              f"{c.nodes[p.order[node]]} (a negative nudge conductance larger than the "
                              f"node's own); use a smaller |beta| or current-mode nudging")
        return diag, 0.0 if per_example or not p.coupled else beta

    @staticmethod
    def _field(p: BCDPlan, k: int, v, b, W, out, tmp) -> np.ndarray:
        """``sum_j g_kj v_j + I_k`` [A] over all neighbours of layer ``k`` but a pair partner, into ``out``."""
        for i, (sl, key, transpose) in enumerate(p.neighbours[k]):
            skinny_matmul(v[:, sl], W[key].T if transpose else W[key], out=tmp if i else out)
            if i:
                out += tmp
        if p.neighbours[k]:
            return np.add(out, b[k], out=out)
        out[...] = b[k]
        return out

    def _update(self, p: BCDPlan, k: int, v, b, W, inv, lo, hi, coupling, out, tmp) -> np.ndarray:
        """The exact minimiser over layer ``k`` given all other layers, into ``out``."""
        sl = p.slices[k]
        r = self._field(p, k, v, b, W, out, tmp)
        pairs = p.layer_pairs[k] if coupling else None
        if pairs is not None:
            me, partner, defer, defer_partner = pairs
            r_defer = r[:, defer]
            r[:, me] += coupling * v[:, partner]
        new = self._clip(p, k, np.multiply(r, inv[..., sl], out=r), lo, hi)
        if pairs is not None and defer.size:
            # same-layer negs form a second block: updated after their (new) pos partners
            d = (r_defer + coupling * new[:, defer_partner]) * inv[sl][defer]
            new[:, defer] = np.minimum(np.maximum(d, lo[:, sl][:, defer]), hi[:, sl][:, defer])
        return new

    @staticmethod
    def _clip(p: BCDPlan, k: int, new, lo, hi) -> np.ndarray:
        sl = p.slices[k]
        if p.has_lo[k]:
            np.maximum(new, lo[:, sl], out=new)
        if p.has_hi[k]:
            np.minimum(new, hi[:, sl], out=new)
        return new

    def _kkt(self, p: BCDPlan, v, b, W, diag, lo, hi, coupling, work) -> np.ndarray:
        """Largest projected gradient [A] per example: the KCL residual where a node is inside its
        bounds; on a rail only the part its clamp could not supply (a diode conducts one way)."""
        res = np.zeros(v.shape[0])
        for k, sl in enumerate(p.slices):
            r, tmp = work[k]
            self._field(p, k, v, b, W, r, tmp)
            pairs = p.layer_pairs[k] if coupling else None
            if pairs is not None:
                r[:, pairs[0]] += coupling * v[:, pairs[1]]
            vk = v[:, sl]
            grad = np.subtract(np.multiply(vk, diag[..., sl], out=tmp), r, out=r)
            if p.has_lo[k]:
                np.minimum(grad, 0.0, out=grad, where=vk <= lo[:, sl])
            if p.has_hi[k]:
                np.maximum(grad, 0.0, out=grad, where=vk >= hi[:, sl])
            np.maximum(res, np.abs(grad, out=grad).max(axis=1, initial=0.0), out=res)
        return res

    @staticmethod
    def _result(system: MNASystem, p: BCDPlan, v, v_src, res, converged, it, delta, t0) -> OperatingPoint:
        volts = v[:, p.pos]  # back to the circuit's node order
        internal = np.zeros((v.shape[0], system.n_internal), v.dtype)
        if system.n_internal:  # RS ignored: the internal node sits at its anode terminal (RS -> 0)
            w = system.extended(np.concatenate([volts, internal], axis=1), v_src)
            internal = w[:, system.d_anode_term[system.has_rs]]
        return OperatingPoint(voltages=volts, internal=internal, status="converged" if converged.all() else "max_iter",
                              converged=converged, iterations=it, residual=res, backend="numpy-bcd",
                              seconds=time.perf_counter() - t0, extra={"max_change": delta.copy()})
