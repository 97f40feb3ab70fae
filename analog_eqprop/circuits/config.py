"""Circuit settings as one frozen config (units in every field), and the builder that reads it.

Examples
--------
>>> c = build_circuit([64, 16, 10], CircuitConfig(builder="drn"), seed=0)
>>> c.name, c.n_features, c.n_outputs
('drn-64-16-10', 64, 10)
>>> CircuitConfig.preset("kendall").diode
'D1N4148'
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from analog_eqprop.circuits.builders import circuit_graph, random_circuit
from analog_eqprop.circuits.from_graph import circuit_from_graph
from analog_eqprop.circuits.description import Circuit
from analog_eqprop.config import option
from analog_eqprop.defaults import CIRCUIT_DEFAULTS as _D
from analog_eqprop.errors import ConfigError
from analog_eqprop.validation import finite_fields

__all__ = ["CircuitConfig", "build_circuit", "CIRCUIT_PRESETS"]


@dataclass(frozen=True)
class CircuitConfig:
    """How a layered (or random) circuit is built from layer sizes, and which backend solves it."""

    builder: Literal["drn", "layered", "kendall", "random"] = option(
        "drn", "circuit family: drn (Scellier 2024), kendall (Kendall et al. 2020), layered, random")
    backend: Literal["auto", "numpy", "bcd", "ngspice"] = option(
        _D["backend"], "what finds the operating points: auto = bcd where it is exact (layered, reciprocal, ideal "
        "diodes), numpy (Newton) otherwise")
    diode: str = option("DIDEAL", "clamp diode model card (hardware_models/diodes.lib)")
    clamp_low: float | None = option(0.0, "lower clamp rail of hidden nodes, none for no diode", unit="V")
    clamp_high: float | None = option(None, "upper clamp rail of hidden nodes, none for no diode", unit="V")
    amplifier: float = option(0.0, "gain of a bidirectional amplifier on every hidden node (0: none)")
    amplifier_back: Literal["inverse", "reciprocal"] = option(
        "inverse", "CCCS gain: inverse = 1/A (Kendall; not reciprocal), reciprocal = A (an energy model)")
    input_encoding: Literal["pm", "single"] = option("pm", "inputs as +x/-x source pairs, or +x only")
    input_gain: float = option(1.0, "source volts per unit of input feature", unit="V")
    outputs: Literal["single", "differential"] = option("single", "one node per class, or a +/- pair")
    nudge: Literal["current", "resistive"] = option(
        "current", "current: I = -beta dC/dV at the free state; resistive: conductance beta to the target")
    target_on: float = option(0.1, "target output for the correct class", unit="V")
    target_off: float = option(0.0, "target output for the other classes", unit="V")
    g_init_low: float = option(_D["g_init_low"], "initial conductances are drawn from U(low, high)", unit="S")
    g_init_high: float = option(_D["g_init_high"], "upper end of the initial conductance range", unit="S")
    g_min: float = option(_D["g_min"], "smallest programmable conductance (updates clip to it)", unit="S")
    g_max: float = option(_D["g_max"], "largest programmable conductance", unit="S")
    edge_prob: float = option(0.5, "edge probability of the random builder")

    def __post_init__(self) -> None:
        finite_fields(self)
        if not (0 < self.g_init_low < self.g_init_high):
            raise ConfigError(f"CircuitConfig: need 0 < g_init_low < g_init_high, got {self.g_init_low!r}, "
                              f"{self.g_init_high!r} S")
        if not (0 < self.g_min < self.g_max):
            raise ConfigError(f"CircuitConfig: need 0 < g_min < g_max, got {self.g_min!r}, {self.g_max!r} S")
        if self.amplifier < 0:
            raise ConfigError(f"CircuitConfig.amplifier must be >= 0 (0: none), got {self.amplifier!r}")
        if not 0 < self.edge_prob <= 1:
            raise ConfigError(f"CircuitConfig.edge_prob must be in (0, 1], got {self.edge_prob!r}")

    @classmethod
    def preset(cls, builder: str, **overrides) -> "CircuitConfig":
        """The defaults of a circuit family, with ``overrides``."""
        if builder not in CIRCUIT_PRESETS:
            raise ConfigError(f"unknown circuit builder {builder!r}; use one of {', '.join(CIRCUIT_PRESETS)}")
        return replace(cls(), builder=builder, **{**CIRCUIT_PRESETS[builder], **overrides})


CIRCUIT_PRESETS: dict[str, dict] = {
    "drn": {},
    "layered": {"diode": "DSHOCKLEY", "clamp_low": -0.5, "clamp_high": 0.5},
    "kendall": {"diode": "D1N4148", "clamp_low": -0.5, "clamp_high": 0.5, "amplifier": 4.0,
                "outputs": "differential", "target_on": 0.1, "target_off": -0.1},
    "random": {},
}


def build_circuit(sizes: list[int], cfg: CircuitConfig, *, seed: int | None = None) -> Circuit:
    """The circuit for layer sizes ``[n_features, hidden..., n_classes]`` under ``cfg``."""
    sizes = [int(s) for s in sizes]
    common = dict(diode=cfg.diode, clamp=(cfg.clamp_low, cfg.clamp_high), amplifier_back=cfg.amplifier_back,
                  g_min=cfg.g_min, g_max=cfg.g_max, nudge=cfg.nudge, target_on=cfg.target_on,
                  target_off=cfg.target_off)
    g_init = (cfg.g_init_low, cfg.g_init_high)
    if cfg.builder == "random":
        if len(sizes) != 3:
            raise ConfigError(f"the random builder takes sizes [n_features, n_hidden, n_classes], got {sizes}")
        return random_circuit(*sizes, cfg.edge_prob, seed=seed, g_init=g_init, **common)
    G = circuit_graph(sizes, input_encoding=cfg.input_encoding, input_gain=cfg.input_gain, outputs=cfg.outputs,
                      amplifier=cfg.amplifier or None, g_init=g_init, seed=seed)
    return circuit_from_graph(G, name=f"{cfg.builder}-{'-'.join(map(str, sizes))}", **common)
