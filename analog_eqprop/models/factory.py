"""Build a trainable model from a short description: the CLI and scripts share this.

Examples
--------
>>> m = make_model("hopfield", sizes=[4, 3, 2], seed=0)
>>> type(m).__name__, m.n_inputs
('HopfieldNetwork', 4)
>>> m = make_model("circuit", sizes=[4, 3, 2], seed=0)
>>> type(m).__name__, m.circuit.name
('ResistiveNetwork', 'drn-4-3-2')
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from analog_eqprop.errors import ConfigError

__all__ = ["make_model", "MODEL_KINDS", "MODEL_TRAIN_DEFAULTS"]

MODEL_KINDS = ("hopfield", "circuit")

# Training defaults that differ by model: circuits learn conductances in siemens, where a
# scale-free optimiser (Adam, steps of ~lr S) is the practical choice; beta is in S too.
MODEL_TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    "hopfield": {},
    "circuit": {"learning_rates": (1e-7,), "optimizer": "adam", "beta": 1e-6, "beta_mode": "positive"},
}


def make_model(kind: str = "hopfield", *, sizes: list[int] | None = None, graph: str | Path | Any = None,
               hopfield: Any = None, circuit: Any = None, seed: int | None = 0):
    """A :class:`HopfieldNetwork` or :class:`ResistiveNetwork` from layer sizes or a graph.

    Parameters
    ----------
    kind : {"hopfield", "circuit"}
    sizes : list of int, optional
        Layer sizes ``[n_features, hidden..., n_classes]`` (default ``[64, 64, 10]``).
    graph : path or networkx.Graph, optional
        A network graph (Hopfield) or circuit graph (circuit) instead of ``sizes``.
    hopfield : HopfieldConfig, optional
    circuit : CircuitConfig, optional
    seed : int, optional
        Seed of the initial weights / conductances.
    """
    from analog_eqprop.graphs import read_graph

    if kind not in MODEL_KINDS:
        raise ConfigError(f"unknown model {kind!r}; use one of {', '.join(MODEL_KINDS)}")
    if graph is not None and sizes is not None:
        raise ConfigError("give either a graph or layer sizes, not both")
    G = read_graph(graph) if isinstance(graph, (str, Path)) else graph
    if kind == "hopfield":
        from analog_eqprop.models.hopfield import HopfieldConfig, HopfieldNetwork

        cfg = hopfield or HopfieldConfig()
        if G is not None:
            return HopfieldNetwork.from_graph(G, cfg)
        return HopfieldNetwork.layered(sizes or [64, 64, 10], seed=seed, config=cfg)
    from analog_eqprop.circuits.builders import circuit_from_graph
    from analog_eqprop.circuits.config import CircuitConfig, build_circuit
    from analog_eqprop.models.resistive import ResistiveNetwork

    cfg = circuit or CircuitConfig()
    if G is not None:
        c = circuit_from_graph(G, name=Path(str(graph)).stem if isinstance(graph, (str, Path)) else "circuit",
                               diode=cfg.diode, clamp=(cfg.clamp_low, cfg.clamp_high),
                               amplifier_back=cfg.amplifier_back, g_min=cfg.g_min, g_max=cfg.g_max, nudge=cfg.nudge,
                               target_on=cfg.target_on, target_off=cfg.target_off)
    else:
        c = build_circuit(sizes or [64, 32, 10], cfg, seed=seed)
    return ResistiveNetwork(c, backend=cfg.backend)
