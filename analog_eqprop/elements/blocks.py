"""Dense blocks of two-terminal elements: a terminal range joined to a terminal range, row-major.

A layered net holds tens of millions of conductances in a handful of *dense blocks*: every
terminal of a contiguous range ``a0 .. a0+m-1`` joined to every terminal of another range
``b0 .. b0+n-1``, the edges in row-major order (edge ``start + i n + j`` joins ``a0 + i`` to
``b0 + j``) and in one learning-rate layer. :func:`find_blocks` finds these runs in one
streaming pass over the terminal columns, in chunks of :data:`CHUNK` edges (no temporary of
the table's size), so that set-up code -- the connectivity check, the solvers' and the
gradient's plans -- can work per block and keep per-edge index arrays only for the edges
outside large blocks. Every edge belongs to exactly one block; an irregular table is many
small blocks (``1 x 1`` at worst), which consumers treat edge by edge.

A terminal range never includes ground (``-1``): an edge to ground is a block of one column
(``b0 = -1, n = 1``; rows of such edges stack into an ``m x 1`` block).

Examples
--------
>>> import numpy as np
>>> a = np.array([5, 5, 5, 6, 6, 6, 0, 1])
>>> b = np.array([0, 1, 2, 0, 1, 2, -1, -1])
>>> blk = find_blocks(a, b, np.zeros(8, np.int64))
>>> blk.start.tolist(), blk.rows.tolist(), blk.cols.tolist(), blk.a0.tolist(), blk.b0.tolist()
([0, 6], [2, 2], [3, 1], [5, 0], [0, -1])
>>> blk.edges([1]).tolist(), [x.tolist() for x in blk.links()]
([6, 7], [[5, 5, 5, 0, 6, 1], [0, 1, 2, -1, 0, -1]])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DenseBlocks", "find_blocks", "CHUNK", "MIN_BLOCK", "ranges", "value_runs", "groups"]

#: Edges compared per step of the streaming passes (bounded temporaries: a few MB).
CHUNK = 1 << 20
#: Blocks of fewer edges are handled edge by edge by the set-up code (:meth:`DenseBlocks.split`);
#: read at call time (the tests vary it: both ways give the same plans).
MIN_BLOCK = 64


def ranges(first: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``concatenate([arange(f, f + c) for f, c in zip(first, count)])`` without the loop (int64).

    >>> ranges(np.array([10, 0]), np.array([3, 2])).tolist()
    [10, 11, 12, 0, 1]
    """
    first = np.asarray(first, np.int64)
    count = np.asarray(count, np.int64)
    total = int(count.sum())
    if not total:
        return np.zeros(0, np.int64)
    keep = count > 0
    first, count = first[keep], count[keep]
    ends = np.cumsum(count)
    out = np.ones(total, np.int64)
    out[0] = first[0]
    # at the start of each later range: jump from the previous range's last value to this first
    out[ends[:-1]] = first[1:] - (first[:-1] + count[:-1] - 1)
    return np.cumsum(out)


@dataclass(frozen=True, eq=False)
class DenseBlocks:
    """Edges as dense row-major blocks (see the module docstring), one entry per block.

    ``start`` first edge, ``rows`` (m) and ``cols`` (n), ``a0`` / ``b0`` the first terminal
    of each side, ``layer`` the blocks' learning-rate layer; all int64. ``n_edges`` in all.
    """

    start: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    a0: np.ndarray
    b0: np.ndarray
    layer: np.ndarray
    n_edges: int

    def __len__(self) -> int:
        return len(self.start)

    @property
    def size(self) -> np.ndarray:
        """Edges per block."""
        return self.rows * self.cols

    def edges(self, which=None) -> np.ndarray:
        """The edges (int64, increasing) of the blocks ``which`` (indices or a mask; all when None)."""
        sel = np.arange(len(self)) if which is None else np.asarray(which)
        if sel.dtype == bool:
            sel = np.flatnonzero(sel)
        return ranges(self.start[sel], self.size[sel])

    def split(self, min_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(blocks of at least min_size edges, every other edge)``: block indices and the
        remaining edges (int64, increasing); ``min_size`` defaults to :data:`MIN_BLOCK`."""
        big = self.size >= (MIN_BLOCK if min_size is None else min_size)
        return np.flatnonzero(big), self.edges(~big)

    def links(self) -> tuple[np.ndarray, np.ndarray]:
        """Terminal pairs with the connectivity of all the edges, ``m + n - 1`` per block (a
        star: ``a0`` to every column, every other row to ``b0``): what a connectivity check needs."""
        a = np.concatenate([np.repeat(self.a0, self.cols), ranges(self.a0 + 1, self.rows - 1)])
        b = np.concatenate([ranges(self.b0, self.cols), np.repeat(self.b0, self.rows - 1)])
        return a, b


def find_blocks(a: np.ndarray, b: np.ndarray, layer: np.ndarray, chunk: int = CHUNK) -> DenseBlocks:
    """The dense blocks of the edges ``a[e] -> b[e]`` in layers ``layer[e]`` (see the module).

    One pass in chunks finds the *rows* (maximal runs of edges from one terminal to consecutive
    terminals, in one layer), then consecutive rows of equal length from consecutive terminals
    to the same range join into blocks.
    """
    E = len(a)
    if E == 0:
        z = np.zeros(0, np.int64)
        return DenseBlocks(z, z, z, z, z, z, 0)
    starts = [np.zeros(1, np.int64)]
    for s in range(1, E, chunk):
        e = min(E, s + chunk)
        pb = b[s - 1:e - 1]
        brk = a[s:e] != a[s - 1:e - 1]
        brk |= b[s:e] != pb + 1
        brk |= pb < 0  # ground ends a row
        brk |= layer[s:e] != layer[s - 1:e - 1]
        starts.append(np.flatnonzero(brk) + s)
    rs = np.concatenate(starts)
    rn = np.diff(np.append(rs, E))
    ra = a[rs].astype(np.int64)
    rb = b[rs].astype(np.int64)
    rl = layer[rs].astype(np.int64)
    join = (ra[1:] == ra[:-1] + 1) & (ra[:-1] >= 0) & (rb[1:] == rb[:-1]) & (rn[1:] == rn[:-1]) & (rl[1:] == rl[:-1])
    first = np.flatnonzero(np.concatenate([[True], ~join]))
    m = np.diff(np.append(first, rs.size))
    return DenseBlocks(start=rs[first], rows=m, cols=rn[first], a0=ra[first], b0=rb[first], layer=rl[first],
                       n_edges=E)


def value_runs(values: np.ndarray, chunk: int = CHUNK) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximal runs of equal entries of ``values``: ``(starts, stops, value)``, int64, found in
    chunks.

    >>> [x.tolist() for x in value_runs(np.array([0, 0, 1, 1, 0]))]
    [[0, 2, 4], [2, 4, 5], [0, 1, 0]]
    """
    E = len(values)
    if not E:
        z = np.zeros(0, np.int64)
        return z, z, z
    starts = [np.zeros(1, np.int64)]
    for s in range(1, E, chunk):
        e = min(E, s + chunk)
        starts.append(np.flatnonzero(values[s:e] != values[s - 1:e - 1]) + s)
    rs = np.concatenate(starts)
    return rs, np.append(rs[1:], E), values[rs].astype(np.int64)


def groups(values: np.ndarray, n_groups: int) -> list[slice | np.ndarray]:
    """Per group ``k < n_groups``, the positions where ``values == k``: a slice when they are
    one contiguous run, else the index array (int64, increasing); built from the runs of
    ``values`` (no temporary of its size when every group is one run).

    >>> groups(np.array([0, 0, 1, 1, 0]), 3)
    [array([0, 1, 4]), slice(2, 4, None), slice(0, 0, None)]
    """
    starts, stops, val = value_runs(values)
    out: list[slice | np.ndarray] = []
    for k in range(n_groups):
        mine = np.flatnonzero(val == k)
        if mine.size == 0:
            out.append(slice(0, 0))
        elif mine.size == 1:
            out.append(slice(int(starts[mine[0]]), int(stops[mine[0]])))
        else:
            out.append(ranges(starts[mine], stops[mine] - starts[mine]))
    return out
