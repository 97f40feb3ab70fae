"""Which circuits block coordinate descent solves exactly (:func:`check_bcd_circuit`).

Split from :mod:`analog_eqprop.solvers.bcd`, which re-exports :func:`check_bcd_circuit` and
calls it once per circuit.
"""

from __future__ import annotations

import numpy as np

from analog_eqprop.circuits.description import Circuit
from analog_eqprop.errors import ConfigError

__all__ = ["check_bcd_circuit"]

_USE_NUMPY = "use backend='numpy'"


def _ends(c: Circuit, t: np.ndarray):
    """Per terminal: free node ``q`` (-1: none), multiplier ``m`` of ``V_q``, source ``s`` (-1: none)."""
    kind = c.terminal_kind(t)
    q = np.where(kind == 0, t, -1)
    m = np.where(kind == 0, 1.0, 0.0)
    s = np.where(kind == 1, t - c.n_free, -1)
    if c.n_amps:
        k = np.where(kind == 2, t - c.n_free - c.n_sources, 0)
        q = np.where(kind == 2, c.amp_node[k], q)
        m = np.where(kind == 2, c.amp_gain[k], m)
    return q, m, s


def check_bcd_circuit(circuit: Circuit) -> None:
    """Raise :class:`~analog_eqprop.errors.ConfigError` unless BCD solves ``circuit`` exactly.

    Requirements: every diode joins a free node to a fixed-voltage terminal (a source, a bias
    rail or ground); amplifiers are reciprocal (back gain == gain); no conductance joins two
    free nodes of the same layer; every free node reaches a fixed voltage through conductances.

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
    kind_a, kind_c = c.terminal_kind(c.diode_anode), c.terminal_kind(c.diode_cathode)
    bad = (kind_a == 0) == (kind_c == 0)
    if np.any(bad):
        k = int(np.argmax(bad))
        what = "two free nodes" if kind_a[k] == 0 else "two fixed-voltage terminals"
        raise ConfigError(f"BCD: diode {k} joins {what} ({c.terminal_name(c.diode_anode[k])}, "
                          f"{c.terminal_name(c.diode_cathode[k])}); block coordinate descent needs every diode "
                          f"between a free node and a rail, source or ground (an ideal clamp); {_USE_NUMPY}")
    if np.any(c.amp_offset != 0.0):
        k = int(np.argmax(c.amp_offset != 0.0))
        raise ConfigError(f"BCD: amplifier {c.amp_names[k]} has an offset ({c.amp_offset[k]:g} V), which the "
                          f"block updates do not model; {_USE_NUMPY}")
    nonrec = np.abs(c.amp_back - c.amp_gain) > 1e-12 * np.abs(c.amp_gain)
    if np.any(nonrec):
        k = int(np.argmax(nonrec))
        raise ConfigError(f"BCD: amplifier {c.amp_names[k]} has gain {c.amp_gain[k]:g} but back gain "
                          f"{c.amp_back[k]:g}; only reciprocal amplifiers (back gain == gain) leave an energy to "
                          f"minimise; {_USE_NUMPY}")
    qa, _, _ = _ends(c, c.edge_a)
    qb, _, _ = _ends(c, c.edge_b)
    lay = np.asarray(c.node_layer)
    lateral = (qa >= 0) & (qb >= 0) & (qa != qb)
    lateral &= lay[np.maximum(qa, 0)] == lay[np.maximum(qb, 0)]
    if np.any(lateral):
        k = int(np.argmax(lateral))
        raise ConfigError(f"BCD: conductance {k} joins {c.nodes[qa[k]]} and {c.nodes[qb[k]]}, both in layer "
                          f"{lay[qa[k]]} (circuit.node_layer); the layer update is exact only without edges "
                          f"inside a layer; {_USE_NUMPY}")
    _check_grounded(c, qa, qb)


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
                          f"ideal-diode operating point is not unique; {_USE_NUMPY}")
