"""Layer blocks that compile to a circuit graph (and from there to the one circuit description).

Blocks are small frozen settings objects. :func:`build_graph` lays them out as a networkx
*circuit graph* (nodes with ``role``/``layer``/clamp/amplifier attributes, edges with
``weight`` [S] and, where needed, ``trainable``/``tie``: see
:mod:`analog_eqprop.circuits.from_graph`), which :func:`~analog_eqprop.circuits.circuit_from_graph`
compiles like any other graph: the same graph -> circuit -> netlist path as the rest of the
toolkit, for every backend.

Every block after :class:`Input` is one layer of free nodes and one learning-rate layer:

* :class:`Dense` -- every node joined to every node (or input source) of the layer below;
* :class:`LocallyConnected2D` -- node ``(i, j, f)`` joined to a ``kernel`` window of the layer
  below (all channels), windows ``stride`` apart; its own conductance per edge;
* :class:`Conv2D` -- the same connectivity with *tied* conductances: one parameter per
  ``(filter, kernel offset, channel, source polarity)`` drives the resistor at every position.
  Tying is a statement about training only (``Circuit.edge_param``): the netlist has one
  resistor per edge, and real hardware one device per resistor, each programmed to the shared
  value (and drifting on its own, which this model does not capture);
* :class:`AveragePooling2D` -- fixed, equal conductances from a window to one node per channel
  (never trained): a resistive averager, loaded by the layer above, so not an exact mean.

A layer's edges are conductances, or, with ``edges=TransistorEdges(...)``, MOSFETs whose gate
voltages are the trained parameters (:mod:`analog_eqprop.elements.mosfet`; Dillavou et al.,
PNAS 2024); a :class:`DiodeClamp` whose ``model`` is a MOSFET card (``NCLAMP``) is a
diode-connected transistor. Hidden layers get their nonlinearity from a :class:`DiodeClamp` and their gain from an
:class:`Amplifier`; ``bias=True`` joins their nodes to the model's bias rails. The last block
must be a :class:`Dense`: its nodes are the outputs, single-ended or differential as the
:class:`Output` settings say, nudged by :class:`CurrentNudge` (``I = -beta dC/dV``, any loss) or
:class:`ResistiveNudge` (a conductance ``beta`` to the target, squared error only).

Images are ``(height, width, channels)``; an :class:`Input` with ``shape=(28, 28)`` reads the
784 features row-major as one channel. A Dense layer's output is a 1 x 1 image of ``units``
channels.

Examples
--------
>>> G = build_graph([Input(16, shape=(4, 4)), LocallyConnected2D(2, kernel=2, stride=2,
...                  clamp=DiodeClamp(0.0)), AveragePooling2D(2), Dense(3)], seed=0)
>>> sum(d["role"] == "hidden" for _, d in G.nodes(data=True))  # 2x2x2 LC + 1x1x2 pool
10
>>> sum(1 for *_, d in G.edges(data=True) if d.get("trainable") is False)
8
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

import networkx as nx
import numpy as np

from analog_eqprop.config import option
from analog_eqprop.defaults import CIRCUIT_DEFAULTS
from analog_eqprop.elements.mosfet import mosfet_model
from analog_eqprop.errors import ConfigError
from analog_eqprop.training.update_rules import make_update_rule
from analog_eqprop.validation import finite_fields, is_real

__all__ = ["Input", "Dense", "LocallyConnected2D", "Conv2D", "AveragePooling2D", "DiodeClamp", "Amplifier",
           "TransistorEdges", "Output", "CurrentNudge", "ResistiveNudge", "build_graph", "split_blocks"]


# -- element settings ---------------------------------------------------------------------
@dataclass(frozen=True)
class DiodeClamp:
    """Diodes that keep a hidden node's voltage within ``[low, high]`` (``None``: no diode on that
    side); ``DiodeClamp(0.0)`` is the ReLU-like clamp of deep resistive networks."""

    low: float | None = option(0.0, "rail of the diode into the node (V >= ~low)", unit="V")
    high: float | None = option(None, "rail of the diode out of the node (V <= ~high)", unit="V")
    model: str = option("DIDEAL", "diode model card (hardware_models/diodes.lib)")

    def __post_init__(self) -> None:
        finite_fields(self)
        if self.low is None and self.high is None:
            raise ConfigError("DiodeClamp needs low or high (or use clamp=None for a linear layer)")
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ConfigError(f"DiodeClamp: need low < high, got {self.low!r}, {self.high!r} V")

    def attrs(self) -> dict[str, Any]:
        out: dict[str, Any] = {"diode": self.model}
        if self.low is not None:
            out["clamp_low"] = float(self.low)
        if self.high is not None:
            out["clamp_high"] = float(self.high)
        return out


@dataclass(frozen=True)
class Amplifier:
    """A bidirectional amplifier on every node of a hidden layer (Kendall et al. 2020): a VCVS of
    gain ``gain`` forward, a CCCS of gain ``back`` (``"inverse"`` = 1/gain, Kendall's;
    ``"reciprocal"`` = gain, an energy model; or a number) backward."""

    gain: float = option(4.0, "forward voltage gain A", unit="V/V")
    back: Any = option("inverse", "backward current gain: inverse, reciprocal or a number", unit="A/A")
    offset: float = option(0.0, "input-referred offset of every amplifier of the layer (the copy is "
                           "A (V + offset)); per-device spreads come from the hardware models", unit="V")

    def __post_init__(self) -> None:
        if not (np.isfinite(self.gain) and self.gain > 0):
            raise ConfigError(f"Amplifier.gain must be > 0, got {self.gain!r}")
        if not (self.back in ("inverse", "reciprocal") or (is_real(self.back) and np.isfinite(self.back))):
            raise ConfigError(f"Amplifier.back must be 'inverse', 'reciprocal' or a finite number, got {self.back!r}")
        if not np.isfinite(self.offset):
            raise ConfigError(f"Amplifier.offset must be finite, got {self.offset!r} V")

    def attrs(self) -> dict[str, Any]:
        out = {"amplifier": float(self.gain), "amplifier_back": self.back}
        if self.offset:
            out["amp_offset"] = float(self.offset)
        return out


@dataclass(frozen=True)
class TransistorEdges:
    """A layer's edges as MOSFETs (ngspice level 1) whose gate voltages are the parameters: each
    gate driven by a source of its own, its initial voltage drawn from ``U(*gate)``.

    The bulks connect to a rail at ``bulk`` [V]; None puts it 0.5 V beyond every voltage the
    model's sources hold (below them for an n-channel card, above for a p-channel one), so
    that no bulk junction conducts.
    """

    model: str = option("NEDGE", "MOSFET card (hardware_models/mosfets.lib, or FILE.lib:NAME)")
    gate: tuple[float, float] = option((1.5, 2.5), "initial gate voltages are drawn from U(low, high)", unit="V")
    width: float = option(1e-6, "channel width W", unit="m")
    length: float = option(1e-6, "channel length L", unit="m")
    bulk: float | None = option(None, "bulk rail (None: beyond every source's voltage)", unit="V")

    def __post_init__(self) -> None:
        lo, hi = self.gate
        if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
            raise ConfigError(f"TransistorEdges.gate must be (low, high) with low <= high V, got {self.gate!r}")
        for name in ("width", "length"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise ConfigError(f"TransistorEdges.{name} must be > 0 m, got {getattr(self, name)!r}")
        if self.bulk is not None and not np.isfinite(self.bulk):
            raise ConfigError(f"TransistorEdges.bulk must be finite (V) or None, got {self.bulk!r}")
        object.__setattr__(self, "_card", mosfet_model(self.model))  # ConfigError for an unknown card

    def attrs(self, rng, span: tuple[float, float]) -> dict[str, Any]:
        """One edge's attributes; ``span``: the lowest and highest source voltage [V]."""
        bulk = self.bulk
        if bulk is None:
            bulk = span[0] - 0.5 if self._card.type == "NMOS" else span[1] + 0.5
        return {"element": "transistor", "gate": float(rng.uniform(*self.gate)), "model": self.model,
                "width": float(self.width), "length": float(self.length), "bulk": float(bulk)}


@dataclass(frozen=True)
class Output:
    """How the last layer reads out: one node per class (``single``) or a ``+/-`` pair
    (``differential``, output = V+ - V-), and the target voltages of the classes."""

    kind: Literal["single", "differential"] = option("single", "single-ended or differential outputs")
    target_on: float = option(0.1, "target output for the correct class", unit="V")
    target_off: float = option(0.0, "target output for the other classes", unit="V")

    def __post_init__(self) -> None:
        finite_fields(self)
        if self.kind not in ("single", "differential"):
            raise ConfigError(f"Output.kind must be 'single' or 'differential', got {self.kind!r}")


@dataclass(frozen=True)
class CurrentNudge:
    """Nudging by current sources into the outputs, ``I = -beta dC/dV`` at the free state (any loss)."""

    mode = "current"


@dataclass(frozen=True)
class ResistiveNudge:
    """Nudging by a conductance ``beta`` from each output to a source at its target (``F = E + beta
    C`` with the squared error only)."""

    mode = "resistive"


# -- layers ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Input:
    """The input sources: ``units`` features, each one voltage source ``gain * x + offset``
    (``encoding="single"``) or a ``+x`` / ``-x`` pair (``"pm"``, so that conductances, all
    positive, can weigh a feature either way). ``shape`` lays the features out as an image
    ``(height, width)`` or ``(height, width, channels)`` for the 2-D layers."""

    units: int
    shape: tuple[int, ...] | None = None
    encoding: Literal["pm", "single"] = "pm"
    gain: float = option(1.0, "source volts per unit of feature", unit="V")
    offset: float = option(0.0, "volts added to every input source", unit="V")

    def __post_init__(self) -> None:
        if self.units < 1:
            raise ConfigError(f"Input.units must be >= 1, got {self.units!r}")
        if self.encoding not in ("pm", "single"):
            raise ConfigError(f"Input.encoding must be 'pm' or 'single', got {self.encoding!r}")
        if self.shape is not None:
            shape = tuple(int(s) for s in self.shape)
            if len(shape) not in (2, 3) or int(np.prod(shape)) != self.units or min(shape) < 1:
                raise ConfigError(f"Input.shape must be (height, width[, channels]) with {self.units} entries, "
                                  f"got {self.shape!r}")
            object.__setattr__(self, "shape", shape)

    @property
    def image(self) -> tuple[int, int, int]:
        s = self.shape or (1, 1, self.units)
        return s if len(s) == 3 else (s[0], s[1], 1)


@dataclass(frozen=True, kw_only=True)
class _Layer:
    """Settings every trainable layer shares."""

    clamp: DiodeClamp | None = None
    amplifier: Amplifier | None = None
    edges: TransistorEdges | None = None
    bias: bool = True
    g_init: tuple[float, float] = (CIRCUIT_DEFAULTS["g_init_low"], CIRCUIT_DEFAULTS["g_init_high"])
    learning_rate: float | None = None
    update_rule: str | None = None
    name: str | None = None

    def _check(self) -> None:
        lo, hi = self.g_init
        if not 0 < lo < hi:
            raise ConfigError(f"{type(self).__name__}.g_init must be (low, high) with 0 < low < high S, "
                              f"got {self.g_init!r}")
        if self.learning_rate is not None and not (np.isfinite(self.learning_rate) and self.learning_rate >= 0):
            raise ConfigError(f"{type(self).__name__}.learning_rate must be >= 0, got {self.learning_rate!r}")
        if self.update_rule is not None:
            make_update_rule(self.update_rule)
        if self.edges is not None and not isinstance(self.edges, TransistorEdges):
            raise ConfigError(f"{type(self).__name__}.edges must be None (conductances) or TransistorEdges(...), "
                              f"got {self.edges!r}")
        if self.edges is not None and getattr(self, "tied", False):
            raise ConfigError(f"{type(self).__name__}: transistor edges cannot be tied (shared weights); use "
                              "LocallyConnected2D")

    def node_attrs(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.clamp is not None:
            out.update(self.clamp.attrs())
        if self.amplifier is not None:
            out.update(self.amplifier.attrs())
        return out


@dataclass(frozen=True)
class Dense(_Layer):
    """``units`` nodes, each joined to every node of the layer below."""

    units: int = 1

    def __post_init__(self) -> None:
        if self.units < 1:
            raise ConfigError(f"Dense.units must be >= 1, got {self.units!r}")
        self._check()

    def out_image(self, image: tuple[int, int, int]) -> tuple[int, int, int]:
        return (1, 1, self.units)


def _window(n: int, k: int, s: int, what: str) -> int:
    if k > n:
        raise ConfigError(f"{what}: kernel {k} is larger than its input ({n})")
    return (n - k) // s + 1


def _pair(v, what: str) -> tuple[int, int]:
    t = (int(v), int(v)) if np.isscalar(v) else tuple(int(a) for a in v)
    if len(t) != 2 or min(t) < 1:
        raise ConfigError(f"{what} must be a positive int or a pair of them, got {v!r}")
    return t


@dataclass(frozen=True)
class LocallyConnected2D(_Layer):
    """``filters`` nodes per window position, each joined to a ``kernel`` window of the image below
    (all its channels), windows ``stride`` apart (no padding); every edge its own conductance."""

    filters: int = 1
    kernel: Any = 3
    stride: Any = 1

    def __post_init__(self) -> None:
        if self.filters < 1:
            raise ConfigError(f"{type(self).__name__}.filters must be >= 1, got {self.filters!r}")
        object.__setattr__(self, "kernel", _pair(self.kernel, f"{type(self).__name__}.kernel"))
        object.__setattr__(self, "stride", _pair(self.stride, f"{type(self).__name__}.stride"))
        self._check()

    tied = False

    def out_image(self, image: tuple[int, int, int]) -> tuple[int, int, int]:
        what = type(self).__name__
        return (_window(image[0], self.kernel[0], self.stride[0], what),
                _window(image[1], self.kernel[1], self.stride[1], what), self.filters)


@dataclass(frozen=True)
class Conv2D(LocallyConnected2D):
    """:class:`LocallyConnected2D` with shared weights: one parameter per filter, kernel offset,
    input channel and source polarity (and per filter and bias rail), tied across positions."""

    tied = True


@dataclass(frozen=True)
class AveragePooling2D:
    """Fixed equal conductances ``g`` [S] from each ``pool`` window (``stride`` apart, default
    ``pool``) to one node per channel (+x and -x input sources pool separately). Not trained."""

    pool: Any = 2
    stride: Any = None
    g: float = option(1e-5, "conductance of every pooling resistor", unit="S")
    name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "pool", _pair(self.pool, "AveragePooling2D.pool"))
        object.__setattr__(self, "stride", self.pool if self.stride is None else
                           _pair(self.stride, "AveragePooling2D.stride"))
        if not (np.isfinite(self.g) and self.g > 0):
            raise ConfigError(f"AveragePooling2D.g must be > 0 S, got {self.g!r}")

    learning_rate = None
    update_rule = None

    def out_image(self, image: tuple[int, int, int]) -> tuple[int, int, int]:
        return (_window(image[0], self.pool[0], self.stride[0], "AveragePooling2D"),
                _window(image[1], self.pool[1], self.stride[1], "AveragePooling2D"), image[2])


LAYERS = (Dense, LocallyConnected2D, Conv2D, AveragePooling2D)


def split_blocks(blocks: list) -> tuple[Input, list, Output, Any]:
    """``(input, layers, output settings, nudge)`` from a block list, checked."""
    blocks = list(blocks)
    if not blocks or not isinstance(blocks[0], Input):
        raise ConfigError("a model starts with an Input block")
    layers, output, nudge = [], Output(), CurrentNudge()
    for b in blocks[1:]:
        if isinstance(b, Output):
            output = b
        elif isinstance(b, (CurrentNudge, ResistiveNudge)):
            nudge = b
        elif isinstance(b, LAYERS):
            layers.append(b)
        else:
            raise ConfigError(f"unknown block {b!r}; use Input, Dense, LocallyConnected2D, Conv2D, "
                              "AveragePooling2D, Output, CurrentNudge or ResistiveNudge")
    if not layers or not isinstance(layers[-1], Dense):
        raise ConfigError("the last layer must be a Dense layer: its nodes are the outputs")
    if isinstance(layers[-1], Dense) and layers[-1].amplifier is not None:
        raise ConfigError("the output layer cannot have an amplifier (amplifiers drive later layers)")
    return blocks[0], layers, output, nudge


# -- graph construction ----------------------------------------------------------------------
@dataclass
class _Grid:
    """The nodes of one layer as an image: ``cells[h][w][c]`` lists ``(node, polarity)``."""

    cells: np.ndarray  # (H, W, C) of tuples
    shape: tuple[int, int, int] = field(init=False)

    def __post_init__(self) -> None:
        self.shape = tuple(self.cells.shape)


def _cells(shape, fill) -> np.ndarray:
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = fill(idx)
    return out


def _input_grid(G: nx.Graph, inp: Input) -> _Grid:
    H, W, C = inp.image
    pols = ("p", "n") if inp.encoding == "pm" else ("",)

    def fill(idx):
        k = int(np.ravel_multi_index(idx, (H, W, C)))  # row-major: the data's feature order
        nodes = []
        for pol in pols:
            name = f"x{k}{pol}"
            G.add_node(name, role="input", layer=0, feature=k, gain=(-1.0 if pol == "n" else 1.0) * inp.gain,
                       offset=float(inp.offset))
            nodes.append((name, pol))
        return tuple(nodes)

    return _Grid(_cells((H, W, C), fill))


def build_graph(blocks: list, *, seed: int | None = None, bias_voltages: tuple[float, ...] = (1.0, -1.0)) -> nx.Graph:
    """The circuit graph of a block list (see the module docstring); conductances drawn from each
    layer's ``g_init`` with ``seed``."""
    inp, layers, output, _ = split_blocks(blocks)
    rng = np.random.default_rng(seed)
    span = (inp.offset - abs(inp.gain), inp.offset + abs(inp.gain)) if inp.encoding == "pm" else \
        tuple(sorted((inp.offset, inp.offset + inp.gain)))  # features in [0, 1]
    span = (min(span[0], 0.0, *bias_voltages), max(span[1], 0.0, *bias_voltages))
    G = nx.Graph()
    G.graph["source_span"] = span  # what transistor edges put their bulks beyond
    grid = _input_grid(G, inp)
    rails = []
    if any(getattr(layer, "bias", False) for layer in layers):
        for r, v in enumerate(bias_voltages):
            G.add_node(f"vbias{r}", role="bias", voltage=float(v))
            rails.append(f"vbias{r}")
    for li, layer in enumerate(layers, start=1):
        last = li == len(layers)
        if li == 1 and not isinstance(layer, Dense):
            _check_covers(grid.shape, layer)
        if isinstance(layer, AveragePooling2D):
            grid = _pool(G, grid, layer, li)
            continue
        shape = layer.out_image(grid.shape)
        nodes = _layer_nodes(G, layer, li, shape, output if last else None)
        if isinstance(layer, Dense):
            _dense_edges(G, grid, nodes, layer, rng)
        else:
            _local_edges(G, grid, nodes, layer, li, rng)
        if layer.bias and rails:
            _bias_edges(G, nodes, rails, layer, li, rng)
        grid = _Grid(_cells(shape, lambda idx: tuple((n, "") for n in nodes[idx])))
    return G


def _check_covers(shape, layer) -> None:
    """Windows that skip input pixels would leave their sources unconnected (no circuit has
    those): say which, rather than let the graph validator call a source isolated."""
    k = layer.pool if isinstance(layer, AveragePooling2D) else layer.kernel
    for axis, what in ((0, "row"), (1, "column")):
        n, s = shape[axis], layer.stride[axis]
        covered = (n - k[axis]) // s * s + k[axis]
        if covered < n:
            raise ConfigError(f"{type(layer).__name__}: kernel {k[axis]} with stride {s} leaves input {what} "
                              f"{covered} unconnected (of {n}); pick kernel and stride with (n - kernel) a "
                              f"multiple of stride")


def _layer_nodes(G: nx.Graph, layer, li: int, shape, output: Output | None) -> np.ndarray:
    """Add one layer's free nodes; returns ``(H, W, C)`` of node-name tuples (a +/- pair per class
    for differential outputs)."""
    attrs = layer.node_attrs()

    def fill(idx):
        k = int(np.ravel_multi_index(idx, shape))
        if output is None:
            name = f"h{li}_{k}"
            G.add_node(name, role="hidden", layer=li, index=k, **attrs)
            return (name,)
        pols = ((1, "p"), (-1, "n")) if output.kind == "differential" else ((1, ""),)
        names = []
        for p, tag in pols:
            name = f"y{k}{tag}"
            G.add_node(name, role="output", layer=li, output_index=k, polarity=p, **attrs)
            names.append(name)
        return tuple(names)

    return _cells(shape, fill)


def _draw(rng, layer) -> float:
    return float(rng.uniform(*layer.g_init))


def _edge_attrs(G, rng, layer) -> dict[str, Any]:
    """A new edge's attributes: a conductance drawn from ``g_init``, or a transistor's."""
    edges = getattr(layer, "edges", None)
    if edges is None:
        return {"weight": _draw(rng, layer)}
    return edges.attrs(rng, G.graph["source_span"])


def _dense_edges(G, grid: _Grid, nodes: np.ndarray, layer, rng) -> None:
    below = [n for cell in grid.cells.reshape(-1) for n, _ in cell]
    for group in nodes.reshape(-1):
        for v in group:
            for u in below:
                G.add_edge(u, v, **_edge_attrs(G, rng, layer))


def _local_edges(G, grid: _Grid, nodes: np.ndarray, layer: LocallyConnected2D, li: int, rng) -> None:
    (kh, kw), (sh, sw) = layer.kernel, layer.stride
    shared: dict[str, float] = {}
    Ho, Wo, F = nodes.shape
    for i, j, f in itertools.product(range(Ho), range(Wo), range(F)):
        for v in nodes[i, j, f]:
            for di, dj in itertools.product(range(kh), range(kw)):
                for c, cell in enumerate(grid.cells[i * sh + di, j * sw + dj]):
                    for u, pol in cell:
                        key = f"l{li}/f{f}/{di},{dj}/c{c}{pol}" if layer.tied else None
                        _edge(G, u, v, key, shared, rng, layer)


def _edge(G, u, v, key: str | None, shared: dict[str, float], rng, layer) -> None:
    """Add the edge ``u - v``: a weight of its own (``key`` None) or the one weight drawn for
    ``key`` and shared by every edge tied to it (marked ``tie=key``)."""
    if key is None:
        G.add_edge(u, v, **_edge_attrs(G, rng, layer))
        return
    if key not in shared:
        shared[key] = _draw(rng, layer)
    G.add_edge(u, v, weight=shared[key], tie=key)


def _bias_edges(G, nodes: np.ndarray, rails: list[str], layer, li: int, rng) -> None:
    tied = getattr(layer, "tied", False)
    shared: dict[str, float] = {}
    for idx in np.ndindex(*nodes.shape):
        for v in nodes[idx]:
            for r in rails:
                key = f"l{li}/bias{idx[2]}/{r}" if tied else None  # tied: one bias per filter
                _edge(G, r, v, key, shared, rng, layer)


def _pool(G: nx.Graph, grid: _Grid, layer: AveragePooling2D, li: int) -> _Grid:
    (ph, pw), (sh, sw) = layer.pool, layer.stride
    Ho, Wo, _ = layer.out_image(grid.shape)
    C = grid.shape[2]
    pols = [pol for _, pol in grid.cells[0, 0, 0]]  # +x / -x sources pool separately
    shape = (Ho, Wo, C * len(pols))

    def fill(idx):
        i, j, ch = idx
        c, p = divmod(ch, len(pols))
        name = f"h{li}_{int(np.ravel_multi_index(idx, shape))}"
        G.add_node(name, role="hidden", layer=li, index=int(np.ravel_multi_index(idx, shape)))
        for di, dj in itertools.product(range(ph), range(pw)):
            u, _ = grid.cells[i * sh + di, j * sw + dj, c][p]
            G.add_edge(u, name, weight=float(layer.g), trainable=False)
        return ((name, ""),)

    return _Grid(_cells(shape, fill))
