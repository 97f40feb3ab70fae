"""Deep resistive networks set up as in Scellier 2024's published code (`papers/fast-drn/drn.py`).

Shared by ``peer_drn.py``, ``perf_suite.py``, ``scaling.py``, ``limit.py`` and ``memory.py``. The
circuit is built straight from arrays by the library's ``dense_circuit`` (a networkx graph of a
1568-32768-10 net would not fit in memory; the same circuit from ``circuit_graph(...,
input_encoding="pm-blocks", bias_voltages=())`` with these clamps and weights is tested equal)
and matches the reference model element for element:

* inputs: ``input_gain * (+x)`` and ``input_gain * (-x)`` sources, 1568 for 784 pixels;
* hidden layers: the first half of the nodes clamped to ``V >= 0`` by an ideal diode to ground
  (excitatory), the second half to ``V <= 0`` (inhibitory); outputs linear;
* conductances only between adjacent layers (no bias rails, nothing to ground), initialised
  "half Kaiming uniform" ``U(-gain/sqrt(fan_in), +gain/sqrt(fan_in))`` and clamped at 0 (here
  at ``G_FLOOR``, since a circuit's conductances must be > 0);
* a trainable bias current into every free node, starting at 0 A;
* resistive nudging ``F = E + beta * 1/2 ||V_out - onehot||^2``, centered (+beta and -beta).

Examples
--------
>>> c = peer_circuit([784, 10, 10], input_gain=100.0, seed=0)
>>> c.n_sources, c.n_free, c.n_edges, c.nudge
(1568, 20, 15780, 'resistive')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analog_eqprop.circuits import Circuit, dense_circuit

G_FLOOR = 1e-12  # [S] stands for the reference's clamp of weights at exactly 0
G_CEIL = 1e6  # [S] no upper device limit in the reference


@dataclass(frozen=True)
class PeerPreset:
    """Hyperparameters of one DRN of ``papers/fast-drn/drn.py`` (all SGD, batch 4)."""

    sizes: tuple[int, ...]
    input_gain: float
    iterations: int  # BCD sweeps, inference and both nudged phases
    beta: float
    lr_weights: tuple[float, ...]
    lr_biases: tuple[float, ...]
    batch_size: int = 4


PRESETS = {
    "drn-xs": PeerPreset((784, 100, 10), 100.0, 4, 1.0, (0.006, 0.006), (0.006, 0.006)),
    "drn-1h": PeerPreset((784, 1024, 10), 480.0, 4, 1.0, (0.006, 0.006), (0.006, 0.006)),
    "drn-2h": PeerPreset((784, 1024, 1024, 10), 2000.0, 5, 1.0, (0.002, 0.006, 0.018), (0.002, 0.006, 0.018)),
    "drn-xl": PeerPreset((784, 32768, 10), 800.0, 4, 1.0, (0.006, 0.006), (0.006, 0.006)),
}


def peer_weights(sizes, *, seed: int | None = 0, weight_gain: float = 1.0) -> np.ndarray:
    """The reference's initial conductances [S] in edge order: per layer block (the ``2 n_x`` or
    previous layer's nodes by the next layer's, row-major), ``U(-gain/sqrt(fan_in), +gain/sqrt(fan_in))``
    clamped at ``G_FLOOR``; drawn in place (no temporary of a block's size: DRN-XL's first block
    holds 51 M conductances)."""
    sizes = [int(s) for s in sizes]
    widths = [2 * sizes[0]] + sizes[1:]
    rng = np.random.default_rng(seed)
    g = np.empty(sum(m * n for m, n in zip(widths[:-1], widths[1:])))
    s = 0
    for m, n in zip(widths[:-1], widths[1:]):
        scale = weight_gain / np.sqrt(m)
        low, high = -scale, scale
        block = g[s:s + m * n]
        rng.random(out=block)  # what rng.uniform(low, high, m * n) computes: low + (high - low) * u
        block *= high - low
        block += low
        s += m * n
    np.maximum(g, G_FLOOR, out=g)
    return g


def peer_circuit(sizes, *, input_gain: float, seed: int | None = 0, weight_gain: float = 1.0) -> Circuit:
    """The reference DRN ``sizes = [n_pixels, hidden..., n_classes]`` as a :class:`Circuit`: the
    library's array builder (:func:`~analog_eqprop.circuits.dense_circuit`) with the reference's
    layout (every +x source, then every -x one; no bias rails; split clamps at 0 V) and
    initialisation (:func:`peer_weights`)."""
    sizes = [int(s) for s in sizes]
    g = peer_weights(sizes, seed=seed, weight_gain=weight_gain)
    g.setflags(write=False)  # handed to the circuit as it is
    return dense_circuit(
        sizes, input_encoding="pm-blocks", input_gain=input_gain, bias_voltages=(), g=g, diode="DIDEAL",
        clamp=(0.0, 0.0), clamp_split=True, name=f"peer-drn-{2 * sizes[0]}-{'-'.join(map(str, sizes[1:]))}",
        layer_names=tuple(f"layer{k}" for k in range(len(sizes) - 1)), g_min=G_FLOOR, g_max=G_CEIL,
        nudge="resistive", target_on=1.0, target_off=0.0)


def peer_network(preset: PeerPreset | str, *, seed: int = 0, dtype: str = "float32", circuit=None, **backend_kw):
    """Our :class:`ResistiveNetwork` (BCD, a fixed sweep count, bias currents) and the
    :class:`TrainConfig` of the reference run (one epoch, SGD, centered beta, shuffled). The
    reference computes in float32; ``dtype="float64"`` is our exact reference precision.
    ``circuit``: the preset's circuit if already built (``peer_circuit(p.sizes, ...)``)."""
    from analog_eqprop.models import ResistiveNetwork
    from analog_eqprop.solvers.bcd import BCDBackend
    from analog_eqprop.training import TrainConfig

    p = PRESETS[preset] if isinstance(preset, str) else preset
    if p.lr_weights != p.lr_biases:
        raise ValueError("our Trainer has one learning rate per layer (weights and biases share it)")
    c = peer_circuit(p.sizes, input_gain=p.input_gain, seed=seed) if circuit is None else circuit
    backend = BCDBackend(max_iter=p.iterations, tol=0.0, throw=False, kkt=False, **backend_kw)
    net = ResistiveNetwork(c, backend=backend, bias_currents=True, dtype=dtype, centered_pairs=True)
    cfg = TrainConfig(epochs=1, batch_size=p.batch_size, learning_rates=p.lr_weights, beta=p.beta,
                      beta_mode="centered", optimizer="sgd", persistent=False, shuffle=True, seed=seed)
    return net, cfg
