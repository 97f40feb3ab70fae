"""Circuit -> circuit transforms that make a circuit physical: device range, diodes, amplifiers, wires.

Each transform returns a new :class:`~analog_eqprop.circuits.Circuit`, so the NumPy twin and
ngspice simulate the *same* physical circuit (one description, one netlist).

**Wires** (:func:`with_lines`). In a crossbar every device sits on two lines, one per
terminal; the lines' resistance makes the voltage a device sees differ from its terminal's.
Each (terminal, conductance layer) pair with at least one device gets a *line node*; the
layer's devices attach to the line nodes instead of the terminals, and a *wire* conductance
joins each line node to its terminal. A line of ``n`` cells of resistance ``r`` each,
loaded evenly by its ``n`` devices and fed from one end, is lumped into

    ``R_line = r (n + 1) (2 n + 1) / (6 n)``

(the mean over the devices of the IR drop each one sees, divided by the line's current), so
``n = 1`` gives ``r`` and long lines about ``n r / 3``. Ground is an ideal plane (no line).
Wires form one extra conductance layer, last, named ``"wires"``; the devices keep their edge
indices and layers, the line nodes come after the circuit's free nodes (role ``"line"``).

Examples
--------
>>> from analog_eqprop.circuits import layered_circuit
>>> c = layered_circuit([2, 3, 1], seed=0)
>>> w = with_lines(c, 1.0)
>>> w.n_free - c.n_free, w.n_edges - c.n_edges, w.layer_names[-1]
(15, 15, 'wires')
>>> bool(np.array_equal(w.edge_g[: c.n_edges], c.edge_g)), line_resistance(1, 1.0), line_resistance(4, 1.0)
(True, 1.0, 1.875)
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np

from analog_eqprop.circuits.description import GROUND, Circuit
from analog_eqprop.hardware.config import AmplifierConfig, HardwareConfig

__all__ = ["with_lines", "line_resistance", "with_range", "with_diode", "with_amplifiers", "with_hardware",
           "WIRE_LAYER_NAME", "node_capacitances"]

WIRE_LAYER_NAME = "wires"


def line_resistance(n: np.ndarray | int, r_cell: float) -> np.ndarray | float:
    """Lumped resistance [ohm] of a line of ``n`` cells, ``r_cell`` [ohm] each, evenly loaded."""
    n = np.asarray(n, dtype=np.float64)
    out = r_cell * (n + 1.0) * (2.0 * n + 1.0) / (6.0 * n)
    return float(out) if out.ndim == 0 else out


def with_range(circuit: Circuit, g_min: float, g_max: float) -> Circuit:
    """``circuit`` with the device range [S] (what training clips to)."""
    return replace(circuit, g_min=float(g_min), g_max=float(g_max))


def with_diode(circuit: Circuit, name: str | None) -> Circuit:
    """Every diode of ``circuit`` given the card ``name`` (``hardware_models/diodes.lib``, or
    ``FILE.lib[:NAME]`` of a user's library: see :func:`~analog_eqprop.elements.diode.diode_model`)."""
    if name is None or not circuit.n_diodes:
        return circuit
    return circuit.with_element(circuit.element("diode").hardware(SimpleNamespace(diode=name), None))


def with_amplifiers(circuit: Circuit, cfg: AmplifierConfig, rng: np.random.Generator) -> Circuit:
    """The amplifiers of ``circuit`` under the amplifier model ``cfg``.

    A set ``gain`` replaces every gain A and rescales the back gains so that their relation
    to A (``1/A``, ``A``, or fixed) is kept; ``gain_variation`` multiplies each gain and each
    back gain by its own fixed factor ``1 + sigma z`` drawn from ``rng``; ``offset`` gives
    each amplifier its own fixed input-referred offset ``offset * z`` [V] (z standard normal,
    drawn after the gain factors, so the gains do not depend on it).
    """
    if not circuit.n_amps:
        return circuit
    return circuit.with_element(circuit.element("amplifier").hardware(SimpleNamespace(amplifier=cfg), rng))


def with_hardware(circuit: Circuit, cfg: HardwareConfig, rng: np.random.Generator) -> Circuit:
    """Every element kind of ``circuit`` under the hardware model ``cfg`` (each kind's
    :meth:`~analog_eqprop.elements.base.ElementTable.hardware`, in registry order, all drawing
    from ``rng``) and the device range of ``cfg.device``."""
    c = circuit
    for table in circuit.tables():
        new = table.hardware(cfg, rng)
        if new is not table:
            c = c.with_element(new)
    return c


def with_lines(circuit: Circuit, r_cell: float) -> Circuit:
    """``circuit`` with lumped line resistances (module docstring); unchanged if ``r_cell`` is 0."""
    if not r_cell > 0:
        return circuit
    c = circuit
    nf, ns = c.n_free, c.n_sources
    n_layers = c.n_layers
    # one line per (terminal, layer) that carries devices; ground has none
    pairs = {}
    for a, b, lay in zip(c.edge_a.tolist(), c.edge_b.tolist(), c.edge_layer.tolist()):
        for t in (a, b):
            if t != GROUND:
                pairs[(t, lay)] = pairs.get((t, lay), 0) + 1
    keys = sorted(pairs, key=lambda k: (k[1], c.terminal_kind(np.array([k[0]]))[0], k[0]))
    n_lines = len(keys)
    line_index = {k: nf + i for i, k in enumerate(keys)}

    def shift(t: np.ndarray) -> np.ndarray:  # old terminal index -> new (free nodes keep theirs)
        t = np.asarray(t)
        return np.where((t >= nf), t + n_lines, t)

    def dev_end(t: int, lay: int) -> int:
        return GROUND if t == GROUND else line_index[(t, lay)]

    new_a = np.array([dev_end(a, lay) for a, lay in zip(c.edge_a.tolist(), c.edge_layer.tolist())], np.int64)
    new_b = np.array([dev_end(b, lay) for b, lay in zip(c.edge_b.tolist(), c.edge_layer.tolist())], np.int64)
    wire_a = shift(np.array([t for t, _ in keys], np.int64))
    wire_b = np.array([line_index[k] for k in keys], np.int64)
    wire_g = 1.0 / line_resistance(np.array([pairs[k] for k in keys]), r_cell)
    taken = set(c.terminal_labels())
    labels = []
    for t, lay in keys:
        base = f"{c.terminal_name(t)}_line{lay}"
        label, i = base, 1
        while label in taken:
            label, i = f"{base}_{i}", i + 1
        taken.add(label)
        labels.append(label)
    # a line node's "layer" only groups nodes for the block-wise gradient plan: one group per
    # (conductance layer, what the terminal is), so a crossbar's rows and columns stay apart
    top = int(np.max(c.node_layer)) + 1 if nf else 0

    def group(t: int, lay: int) -> tuple:
        kind = int(c.terminal_kind(np.array([t]))[0])
        if kind == 0:
            return lay, kind, int(c.node_layer[t])
        if kind == 1:
            return lay, kind, int(c.source_feature[t - nf] >= 0)
        return lay, kind, int(c.node_layer[c.amp_node[t - nf - ns]])

    groups = [group(t, lay) for t, lay in keys]
    ids = {k: top + i for i, k in enumerate(sorted(set(groups)))}
    line_layer = np.array([ids[k] for k in groups], np.int64)
    # every other kind keeps its terminals (re-indexed past the line nodes); the conductances
    # (the devices) move onto the line nodes and the wires join them, a layer of their own
    tables = {t.kind: t.remap(shift) for t in c.tables() if t.kind != "conductance"}
    tables["conductance"] = c.element("conductance").replace(
        a=np.concatenate([new_a, wire_a]), b=np.concatenate([new_b, wire_b]),
        g=np.concatenate([c.edge_g, wire_g]),
        layer=np.concatenate([c.edge_layer, np.full(n_lines, n_layers, np.int64)]))
    return replace(
        c,
        nodes=tuple(c.nodes) + tuple(labels),
        node_role=tuple(c.node_role) + ("line",) * n_lines,
        node_layer=np.concatenate([c.node_layer, line_layer]),
        layer_names=tuple(c.layer_names) + (WIRE_LAYER_NAME,),
        elements=tables,
    )


def node_capacitances(circuit: Circuit, c_cell: float, c_node: float, device_edges: int | None = None) -> np.ndarray:
    """Capacitance to ground [F] of every free node: ``c_cell`` per device (conductance) on it,
    plus ``c_node`` on each neuron (non-line) node. ``device_edges``: how many leading edges
    are devices (the rest, wires, add no cells); default all."""
    c = circuit
    n_dev = c.n_edges if device_edges is None else int(device_edges)
    count = np.zeros(c.n_free)
    for ends in (c.edge_a[:n_dev], c.edge_b[:n_dev]):
        free = ends[(ends >= 0) & (ends < c.n_free)]
        np.add.at(count, free, 1.0)
    neuron = np.array([r != "line" for r in c.node_role])
    return c_cell * count + c_node * neuron
