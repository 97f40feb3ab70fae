"""Build a trainable model from a short description: the CLI and scripts share this.

Examples
--------
>>> m = make_model("hopfield", sizes=[4, 3, 2], seed=0)
>>> type(m).__name__, m.n_inputs
('HopfieldNetwork', 4)
>>> m = make_model("circuit", sizes=[4, 3, 2], seed=0)
>>> type(m).__name__, m.circuit.name, m.backend.name  # backend "auto": BCD, exact for a drn circuit
('ResistiveNetwork', 'drn-4-3-2', 'bcd')
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from analog_eqprop.circuits.from_graph import circuit_from_graph
from analog_eqprop.circuits.config import CircuitConfig, build_circuit
from analog_eqprop.defaults import MODEL_DEFAULTS, MODEL_KINDS, TRAIN_KEYS
from analog_eqprop.errors import ConfigError
from analog_eqprop.graphs import read_graph
from analog_eqprop.models.hopfield import HopfieldConfig, HopfieldNetwork
from analog_eqprop.models.resistive import ResistiveNetwork
from analog_eqprop.solvers.bcd_checks import check_bcd_circuit

__all__ = ["make_model", "MODEL_KINDS", "MODEL_TRAIN_DEFAULTS", "choose_backend"]

#: Training defaults that differ by model, read from the one table (:mod:`analog_eqprop.defaults`):
#: circuits learn conductances in siemens, where a scale-free optimiser (Adam, steps of ~lr S)
#: is the practical choice; beta is in S too.
MODEL_TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    kind: {k: MODEL_DEFAULTS[kind][k] for k in TRAIN_KEYS} for kind in MODEL_KINDS}


#: A diode card whose knee n V_T is at most this [V] (and without series resistance) counts as
#: ideal: ``DIDEAL`` (N = 0.02, 0.52 mV), the card the BCD solver stands for. DSHOCKLEY (26 mV)
#: and D1N4148 (49 mV, RS 0.65 ohm) do not.
IDEAL_KNEE_V = 1e-3


def _ideal_like(model: Any) -> bool:
    return bool(model.ideal or (model.vte() <= IDEAL_KNEE_V and model.RS == 0))


def choose_backend(circuit: Any) -> str:
    """The fastest exact backend for ``circuit``: ``"bcd"`` where block coordinate descent is
    exact (:func:`~analog_eqprop.solvers.bcd_checks.check_bcd_circuit` passes and every diode is
    ideal: a knee ``n V_T`` <= :data:`IDEAL_KNEE_V`, no series resistance), else ``"numpy"``
    (Newton). What ``backend="auto"`` resolves to.

    Examples
    --------
    >>> from analog_eqprop.circuits import drn_circuit, kendall_circuit
    >>> choose_backend(drn_circuit([4, 3, 2], seed=0)), choose_backend(kendall_circuit(4, 3, 2, seed=0))
    ('bcd', 'numpy')
    """
    used = {int(k) for k in circuit.diode_model}
    if any(not _ideal_like(circuit.models[k]) for k in used):
        return "numpy"  # BCD clamps every diode ideally: exact only for ideal-diode cards
    try:
        check_bcd_circuit(circuit)
    except ConfigError:
        return "numpy"
    return "bcd"


def make_model(kind: str = "hopfield", *, sizes: list[int] | None = None, graph: str | Path | Any = None,
               hopfield: Any = None, circuit: Any = None, seed: int | None = 0):
    """A :class:`HopfieldNetwork` or :class:`ResistiveNetwork` from layer sizes or a graph.

    Parameters
    ----------
    kind : {"hopfield", "circuit"}
    sizes : list of int, optional
        Layer sizes ``[n_features, hidden..., n_classes]`` (default: the kind's, ``64,64,10``
        for Hopfield and ``64,32,10`` for circuits, :data:`analog_eqprop.defaults.MODEL_DEFAULTS`).
    graph : path or networkx.Graph, optional
        A network graph (Hopfield) or circuit graph (circuit) instead of ``sizes``.
    hopfield : HopfieldConfig, optional
    circuit : CircuitConfig, optional
        Its ``backend="auto"`` (the default) becomes :func:`choose_backend`'s choice.
    seed : int, optional
        Seed of the initial weights / conductances.
    """
    if kind not in MODEL_KINDS:
        raise ConfigError(f"unknown model {kind!r}; use one of {', '.join(MODEL_KINDS)}")
    if graph is not None and sizes is not None:
        raise ConfigError("give either a graph or layer sizes, not both")
    G = read_graph(graph) if isinstance(graph, (str, Path)) else graph
    if kind == "hopfield":
        cfg = hopfield or HopfieldConfig()
        if G is not None:
            return HopfieldNetwork.from_graph(G, cfg)
        return HopfieldNetwork.layered(list(sizes or MODEL_DEFAULTS["hopfield"]["sizes"]), seed=seed, config=cfg)
    cfg = circuit or CircuitConfig()
    if G is not None:
        c = circuit_from_graph(G, name=Path(str(graph)).stem if isinstance(graph, (str, Path)) else "circuit",
                               diode=cfg.diode, clamp=(cfg.clamp_low, cfg.clamp_high),
                               amplifier_back=cfg.amplifier_back, g_min=cfg.g_min, g_max=cfg.g_max, nudge=cfg.nudge,
                               target_on=cfg.target_on, target_off=cfg.target_off)
    else:
        c = build_circuit(list(sizes or MODEL_DEFAULTS["circuit"]["sizes"]), cfg, seed=seed)
    return ResistiveNetwork(c, backend=choose_backend(c) if cfg.backend == "auto" else cfg.backend)
