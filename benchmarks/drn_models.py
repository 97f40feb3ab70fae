"""Deep resistive networks set up as in Scellier 2024's published code (`papers/fast-drn/drn.py`).

Shared by ``peer_drn.py``, ``perf_suite.py`` and ``scaling.py``. The circuit is built straight
from arrays (a networkx graph of a 1568-32768-10 net would not fit in memory) and matches the
reference model element for element:

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

from analog_eqprop.circuits.description import GROUND, Circuit
from analog_eqprop.circuits.elements import load_diode_models

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


def peer_circuit(sizes, *, input_gain: float, seed: int | None = 0, weight_gain: float = 1.0) -> Circuit:
    """The reference DRN ``sizes = [n_pixels, hidden..., n_classes]`` as a :class:`Circuit`."""
    sizes = [int(s) for s in sizes]
    nx_, hidden, n_out = sizes[0], sizes[1:-1], sizes[-1]
    rng = np.random.default_rng(seed)
    widths = [2 * nx_] + sizes[1:]
    # free nodes in layer order; terminal index of layer k's node i
    offs = np.concatenate([[0], np.cumsum(sizes[1:])])
    n_free = int(offs[-1])
    n_src = 2 * nx_

    def term(k: int, i: np.ndarray) -> np.ndarray:  # k = 0: sources, k >= 1: free layer k-1
        return n_free + i if k == 0 else offs[k - 1] + i

    e_a, e_b, e_g, e_l = [], [], [], []
    for k in range(len(widths) - 1):
        m, n = widths[k], widths[k + 1]
        scale = weight_gain / np.sqrt(m)
        g = np.maximum(rng.uniform(-scale, scale, size=(m, n)), G_FLOOR)
        rows, cols = np.divmod(np.arange(m * n), n)  # row-major: the BCD blocks are views
        e_a.append(term(k, rows))
        e_b.append(term(k + 1, cols))
        e_g.append(g.reshape(-1))
        e_l.append(np.full(m * n, k))
    d_an, d_ca = [], []
    for k, w in enumerate(hidden):
        nodes = offs[k] + np.arange(w)
        half = w // 2
        d_an += [np.full(half, GROUND), nodes[half:]]  # ground -> node: V >= 0; node -> ground: V <= 0
        d_ca += [nodes[:half], np.full(w - half, GROUND)]
    names = [f"h{k + 1}_{i}" for k, w in enumerate(hidden) for i in range(w)] + [f"y{i}" for i in range(n_out)]
    roles = ["hidden"] * (n_free - n_out) + ["output"] * n_out
    layer = np.repeat(np.arange(len(sizes) - 1), sizes[1:])
    feat = np.concatenate([np.arange(nx_), np.arange(nx_)])
    gain = np.concatenate([np.full(nx_, input_gain), np.full(nx_, -input_gain)])
    dideal = load_diode_models()["DIDEAL"]
    d_an = np.concatenate(d_an) if d_an else np.zeros(0, int)
    d_ca = np.concatenate(d_ca) if d_ca else np.zeros(0, int)
    return Circuit(
        name=f"peer-drn-{2 * nx_}-{'-'.join(map(str, sizes[1:]))}",
        nodes=tuple(names), node_role=tuple(roles), node_layer=layer,
        sources=tuple([f"x{i}p" for i in range(nx_)] + [f"x{i}n" for i in range(nx_)]),
        source_kind=("input",) * n_src, source_feature=feat, source_gain=gain, source_offset=np.zeros(n_src),
        n_features=nx_,
        edge_a=np.concatenate(e_a), edge_b=np.concatenate(e_b), edge_g=np.concatenate(e_g),
        edge_layer=np.concatenate(e_l), g_min=G_FLOOR, g_max=G_CEIL,
        diode_anode=d_an, diode_cathode=d_ca, diode_model=np.zeros(d_an.size, int), models=(dideal,),
        out_pos=offs[-2] + np.arange(n_out), out_neg=np.full(n_out, -1),
        target_on=1.0, target_off=0.0, nudge="resistive",
        layer_names=tuple(f"layer{k}" for k in range(len(sizes) - 1)),
    )


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
