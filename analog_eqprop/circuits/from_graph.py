"""Graph -> circuit: compile any circuit graph into the one circuit description.

A *circuit graph* is a networkx graph whose nodes carry a ``role`` (``input``, ``hidden``,
``output``, ``bias``, ``ground``) and whose edges carry a ``weight`` = conductance in siemens
(> 0). Optional node attributes, overriding the builder's defaults:

=================  ===========================================================================
``feature``        input nodes: which data column drives this source (default: input order)
``gain``           input nodes: volts per unit feature (negative for the -x copy; default 1)
``offset``         input nodes: volts added (default 0)
``voltage``        bias nodes: the rail voltage [V]
``clamp_low``      hidden/output: a diode from a rail at this voltage into the node (V >= ~low)
``clamp_high``     hidden/output: a diode from the node to a rail at this voltage (V <= ~high)
``diode``          hidden/output: the model card name of its clamp diodes
``amplifier``      hidden nodes: gain A of a bidirectional amplifier on the node's edges to
                   later layers (VCVS forward, CCCS backward)
``output_index``   output nodes: the class this node reads out (default: output order)
``polarity``       output nodes: +1, or -1 for the negative node of a differential pair
``amplifier_back`` hidden nodes: CCCS gain of this node's amplifier (overrides the builder's)
``amp_offset``     hidden nodes: input-referred offset of this node's amplifier [V] (default 0)
=================  ===========================================================================

Optional edge attributes (absent everywhere: one trainable parameter per conductance, as before):

=================  ===========================================================================
``trainable``      ``False`` for a fixed conductance (e.g. average pooling): never updated
``tie``            a key shared by conductances that one parameter drives (shared convolution
                   weights); tied edges must lie in one layer and start at the same weight
``element``        what the edge is: ``"resistor"`` (the default; ``weight`` is its
                   conductance), ``"transistor"`` (a MOSFET whose gate voltage is the
                   parameter; no ``weight``) or ``"device"`` (a user's two-terminal device)
=================  ===========================================================================

Transistor edges (``element="transistor"``, :mod:`analog_eqprop.elements.mosfet`: ngspice's
level 1 in both backends; drain on the edge's first node, source on its second, which is
immaterial since the device is symmetric):

=================  ===========================================================================
``gate``           its gate voltage [V], driven by a source of its own: the trained parameter
                   (``trainable=False``: fixed); default the builder's ``gate``
``model``          its MOSFET card (``hardware_models/mosfets.lib``: ``NEDGE``, ``PEDGE``, or
                   ``FILE.lib:NAME``); default the builder's ``transistor``
``width``          W [m]; default the builder's ``width``
``length``         L [m]; default the builder's ``length``
``bulk``           what its bulk connects to: a bias (or ground) node, or a voltage [V] (a
                   rail of its own); default the builder's ``bulk`` (ground if None): below
                   every drain and source for an n-channel device, above them for a
                   p-channel one, or its junctions conduct
=================  ===========================================================================

Device edges (``element="device"``, :mod:`analog_eqprop.elements.device`: a user's I-V law,
the same in both backends; current from the edge's first node to its second):

=================  ===========================================================================
``law``            its :class:`~analog_eqprop.elements.DeviceLaw`, or the name of one in the
                   builder's ``laws``
``p``              its parameter (trained unless ``trainable=False``); default the law's
                   ``p_default``
=================  ===========================================================================

A clamp (``clamp_low``, ``clamp_high``) whose ``diode`` names a MOSFET card (``NCLAMP``,
``PCLAMP``) is a *diode-connected transistor*: an n-channel one with gate and drain on the
anode side, source and bulk on the cathode; a p-channel one with source and bulk on the anode,
gate and drain on the cathode (a square-law clamp whose knee sits ``|VTO|`` past the rail).

Examples
--------
A source and a +1 V rail driving one node, clamped at 0 V by a diode, through two resistors:

>>> import networkx as nx
>>> G = nx.Graph()
>>> G.add_node("x0", role="input")
>>> G.add_node("vb", role="bias", voltage=1.0)
>>> G.add_node("y0", role="output", clamp_low=0.0)
>>> G.add_edge("x0", "y0", weight=1e-3)
>>> G.add_edge("vb", "y0", weight=2e-3)
>>> c = circuit_from_graph(G, name="tiny")
>>> c.n_features, c.n_free, c.n_outputs, c.nodes
(1, 1, 1, ('y0',))
"""

from __future__ import annotations

import functools
import operator
from typing import Any, Mapping

import networkx as nx
import numpy as np

from analog_eqprop.circuits.dense import check_builder_args
from analog_eqprop.circuits.description import GROUND, Circuit
from analog_eqprop.defaults import CIRCUIT_DEFAULTS
from analog_eqprop.elements import OWN_GATE, DeviceLaw, Devices, MosfetModel, Mosfets
from analog_eqprop.elements.diode import DiodeModel, diode_model, load_diode_models
from analog_eqprop.elements.library import is_library_spec
from analog_eqprop.elements.mosfet import load_mosfet_models, mosfet_model
from analog_eqprop.errors import ConfigError, GraphError
from analog_eqprop.graphs import CIRCUIT_ROLES, validate_graph
from analog_eqprop.validation import graph_number, real

__all__ = ["circuit_from_graph"]

_ROLE_ORDER = {"input": 0, "bias": 0, "ground": 0, "hidden": 1, "output": 2}


def resolve_clamp_model(diode: str | DiodeModel | MosfetModel, models: dict[str, DiodeModel] | None
                   ) -> DiodeModel | MosfetModel:
    """A clamp's card: a diode, or a MOSFET card (a diode-connected transistor)."""
    if isinstance(diode, (DiodeModel, MosfetModel)):
        return diode
    lib = models if models is not None else load_diode_models()
    if isinstance(diode, str) and diode in lib:
        return lib[diode]
    mos = load_mosfet_models()
    if isinstance(diode, str) and diode in mos:
        return mos[diode]
    raise GraphError(f"unknown diode model {diode!r}; known: {', '.join(sorted(lib))} (or a MOSFET card for a "
                     f"diode-connected transistor: {', '.join(sorted(mos))})")


def library_clamp_card(spec):
    """A user's library card for the default clamp: a diode card, else a MOSFET card."""
    try:
        return diode_model(spec)
    except ConfigError as exc:
        try:
            return mosfet_model(spec)
        except ConfigError:
            raise exc from None


_NO_DEFAULT = object()


def _node_number(nodes, n, attr: str, default: Any = _NO_DEFAULT, **kw) -> Any:
    """Node ``n``'s number ``attr`` (``default`` when absent), checked: GraphError naming the
    node and the attribute when it is not a number, not finite, or not an integer where one is
    needed (``layer``, ``feature``, ``output_index``, ``polarity``: ``1.5`` is not read as 1)."""
    d = nodes[n]
    if attr in d:
        return graph_number(f"node {n!r}", attr, d[attr], **kw)
    if default is _NO_DEFAULT:
        raise GraphError(f"node {n!r} has no {attr!r} attribute")
    return default


def circuit_from_graph(
    G: nx.Graph,
    *,
    name: str = "circuit",
    diode: str | DiodeModel = "DIDEAL",
    clamp: tuple[float | None, float | None] | None = None,
    amplifier_back: str | float = "inverse",
    g_min: float = CIRCUIT_DEFAULTS["g_min"],
    g_max: float = CIRCUIT_DEFAULTS["g_max"],
    nudge: str = "current",
    target_on: float = 1.0,
    target_off: float = 0.0,
    models: dict[str, DiodeModel] | None = None,
    weight: str = "weight",
    role: str = "role",
    layer: str = "layer",
    trainable: str = "trainable",
    tie: str = "tie",
    element: str = "element",
    transistor: str | MosfetModel = "NEDGE",
    gate: float = 1.0,
    width: float = 1e-6,
    length: float = 1e-6,
    bulk: str | float | None = None,
    gate_range: tuple[float, float] = (-5.0, 5.0),
    laws: Mapping[str, DeviceLaw] | None = None,
) -> Circuit:
    """Compile a circuit graph into a :class:`Circuit`.

    Parameters
    ----------
    G : networkx.Graph
        A circuit graph (see the module docstring); validated here.
    diode : str or DiodeModel
        Default clamp diode model: a card name from ``hardware_models/diodes.lib``, or a card of
        the user's own library file, ``"FILE.lib:NAME"`` (see :func:`~analog_eqprop.circuits.elements.diode_model`).
    clamp : (low, high), optional
        Default clamp rails [V] for hidden nodes (``None`` entries: no diode on that side).
        Output nodes are linear unless their attributes say otherwise.
    amplifier_back : "inverse", "reciprocal" or float
        CCCS gain of every amplifier: ``1/A`` (Kendall et al. 2020, not reciprocal),
        ``A`` (reciprocal: a true energy-based model), or a fixed number.
    g_min, g_max : float
        Device conductance range [S]; training clips to it.
    nudge : {"current", "resistive"}
    target_on, target_off : float
        Output target voltages [V] for the correct and the other classes.
    weight, role, layer, trainable, tie, element : str
        Attribute names (see the module docstring).
    transistor : str or MosfetModel
        Default MOSFET card of transistor edges (``hardware_models/mosfets.lib`` or ``FILE.lib:NAME``).
    gate : float
        Default initial gate voltage [V] of transistor edges.
    width, length : float
        Default W and L [m] of transistor edges and transistor clamps.
    bulk : str or float, optional
        Default bulk of transistor edges: a bias or ground node, or a rail voltage [V] (None: ground).
    gate_range : (float, float)
        The gate voltages training clips to [V].
    laws : mapping of str to DeviceLaw, optional
        Device laws that device edges name (``law="NAME"``).
    """
    # what kinds of edge there are (one C-level pass): a graph of resistors takes the old paths
    kinds = set(map(operator.methodcaller("get", element), (d for _, nbrs in G.adjacency() for d in nbrs.values()))) \
        if isinstance(G, nx.Graph) else set()
    plain = kinds <= {None, "resistor"}
    validate_graph(G, allowed_roles=CIRCUIT_ROLES, role=role, weight=weight, positive_weights=True,
                   element=None if plain else element)
    clamp, _ = check_builder_args(clamp, amplifier_back)
    lib = models if models is not None else load_diode_models()
    if is_library_spec(diode):  # the caller's own file (graph attributes name cards only)
        diode = library_clamp_card(diode)
    nd = G.nodes
    num = functools.partial(_node_number, nd)
    keys = {n: _ROLE_ORDER[d[role]] if d.get(layer) is None else num(n, layer, integer=True)
            for n, d in G.nodes(data=True)}
    key = keys.__getitem__

    free = [n for n in G if nd[n][role] in ("hidden", "output")]
    free.sort(key=key)  # stable: graph order within a layer
    inputs = [n for n in G if nd[n][role] == "input"]
    biases = [n for n in G if nd[n][role] == "bias"]
    layers_free = sorted({key(n) for n in free})
    layer_rank = {lay: i for i, lay in enumerate(layers_free)}

    # sources: inputs, then bias rails (graph bias nodes, then clamp rails created below)
    src_names: list[str] = []
    src_kind: list[str] = []
    src_feat: list[int] = []
    src_gain: list[float] = []
    src_off: list[float] = []
    for i, n in enumerate(inputs):
        src_names.append(str(n))
        src_kind.append("input")
        src_feat.append(num(n, "feature", i, integer=True, low=0))
        src_gain.append(num(n, "gain", 1.0))
        src_off.append(num(n, "offset", 0.0))
    for n in biases:
        if "voltage" not in nd[n]:
            raise GraphError(f"bias node {n!r} has no 'voltage' attribute (the rail voltage in volts)")
        src_names.append(str(n))
        src_kind.append("bias")
        src_feat.append(-1)
        src_gain.append(0.0)
        src_off.append(num(n, "voltage"))
    n_features = max(src_feat) + 1 if inputs else 0
    if not inputs:
        raise GraphError("circuit graph has no input node")

    free_idx = {n: i for i, n in enumerate(free)}
    n_free = len(free)

    # amplifiers on hidden nodes
    amp_node, amp_gain, amp_back, amp_names, amp_offset = [], [], [], [], []
    for n in free:
        if nd[n].get("amplifier") is None:
            continue
        A = num(n, "amplifier", low=0.0, low_open=True)
        mode = nd[n].get("amplifier_back", amplifier_back)
        if isinstance(mode, str):
            if mode not in ("inverse", "reciprocal"):
                raise GraphError(f"node {n!r}: attribute 'amplifier_back' must be 'inverse', 'reciprocal' or a "
                                 f"number, got {mode!r}")
            back = 1.0 / A if mode == "inverse" else A
        else:
            back = num(n, "amplifier_back", mode)
        amp_node.append(free_idx[n])
        amp_gain.append(A)
        amp_back.append(back)
        amp_names.append(f"{n}_amp")
        amp_offset.append(num(n, "amp_offset", 0.0))

    # clamp rails become extra bias sources, one per distinct voltage (0 V is ground)
    rail_index: dict[float, int] = {}
    made_for: dict[str, str] = {f"{n}_amp": f"the amplifier output of node {n!r}" for n in free
                                if nd[n].get("amplifier") is not None}

    def rail(v: float, n, attr: str) -> int:
        if v == 0.0:
            return GROUND
        if v not in rail_index:
            rail_index[v] = len(src_names)
            src_names.append(f"vclamp{len(rail_index)}")
            made_for[src_names[-1]] = f"the clamp rail at {v!r} V of node {n!r} ({attr})" if attr != "bulk" else \
                f"the bulk rail at {v!r} V of {n}"
            src_kind.append("bias")
            src_feat.append(-1)
            src_gain.append(0.0)
            src_off.append(float(v))
        return n_free + rail_index[v]

    model_list: list[DiodeModel] = []
    model_pos: dict[str, int] = {}
    mos = _MosfetRows(width, length)

    def model_id(m: str | DiodeModel) -> int | MosfetModel:
        dm = resolve_clamp_model(m, lib)
        if isinstance(dm, MosfetModel):
            return dm
        if dm.name not in model_pos:
            model_pos[dm.name] = len(model_list)
            model_list.append(dm)
        return model_pos[dm.name]

    d_an, d_ca, d_mod = [], [], []

    def clamp_element(anode: int, cathode: int, mid) -> None:
        if isinstance(mid, MosfetModel):
            mos.clamp(anode, cathode, mid)
        else:
            d_an.append(anode); d_ca.append(cathode); d_mod.append(mid)  # noqa: E702

    for n in free:
        d = nd[n]
        default = clamp if d[role] == "hidden" and clamp is not None else (None, None)
        lo = num(n, "clamp_low", default[0], allow_none=True)
        hi = num(n, "clamp_high", default[1], allow_none=True)
        mid = model_id(d.get("diode", diode)) if (lo is not None or hi is not None) else None
        if hi is not None:
            clamp_element(free_idx[n], rail(hi, n, "clamp_high"), mid)
        if lo is not None:
            clamp_element(rail(lo, n, "clamp_low"), free_idx[n], mid)
    # transistors' bulk rails (a voltage rather than a bias node of the graph), before any
    # terminal index past the sources is handed out
    bulk_rail: dict[float, int] = {}

    def bulk_spec(spec, where: str):
        if spec is None or isinstance(spec, str):
            return spec
        v = graph_number(where, "bulk", spec)
        if v not in bulk_rail:
            bulk_rail[v] = rail(v, where, "bulk")
        return v

    if "transistor" in kinds:
        bulk = bulk_spec(bulk, "the transistors (builder argument bulk)")
        for u, v, d in G.edges(data=True):
            if d.get(element) == "transistor":
                bulk_spec(d.get("bulk"), f"transistor edge {(u, v)!r}")
    _check_generated_names(G, role, made_for)

    src_idx = {n: n_free + i for i, n in enumerate(src_names[: len(inputs) + len(biases)])}
    amp_of = {free[amp_node[k]]: n_free + len(src_names) + k for k in range(len(amp_node))}

    # per node: its terminal (free node, source, ground) and, for a free node, its layer key
    fixed_term = {n: GROUND if nd[n][role] == "ground" else src_idx[n] for n in G if n not in free_idx}
    free_key = {n: key(n) for n in free}

    def terminal(n, other) -> int:
        t = fixed_term.get(n)
        if t is not None:
            return t
        # an amplified node drives edges towards later layers through its amplifier
        if n in amp_of and other in free_key and free_key[other] > free_key[n]:
            return amp_of[n]
        return free_idx[n]

    def fixed_node(n, what: str) -> int:  # a bias or ground node's terminal, or a rail (a transistor's bulk)
        if not isinstance(n, str):
            return bulk_rail[float(n)]
        if n not in G or nd[n][role] not in ("bias", "ground"):
            raise GraphError(f"{what} {n!r} must be a bias or ground node of the graph")
        return GROUND if nd[n][role] == "ground" else src_idx[n]

    default_bulk = GROUND if bulk is None else fixed_node(bulk, "bulk")
    devices = _DeviceRows()
    e_a, e_b, e_g, e_l, e_key, e_uv = [], [], [], [], [], []
    for u, v, d in G.edges(data=True):
        ta, tb = terminal(u, v), terminal(v, u)
        ku, kv = free_key.get(u), free_key.get(v)
        upper = kv if ku is None else ku if kv is None else max(ku, kv)
        if upper is None:
            raise GraphError(f"edge ({u!r}, {v!r}) joins two fixed-voltage nodes; it cannot affect the network")
        if not plain:  # other kinds of edge (a graph of resistors skips the look-ups)
            kind = d.get(element, "resistor")
            if kind == "transistor":
                mos.edge((u, v), d, ta, tb, layer_rank[upper], default_bulk, fixed_node, transistor, gate, trainable,
                         tie)
                continue
            if kind == "device":
                devices.edge((u, v), d, ta, tb, layer_rank[upper], laws or {}, trainable, tie)
                continue
            if kind != "resistor":
                raise GraphError(f"edge ({u!r}, {v!r}) has {element}={kind!r}; use 'resistor', 'transistor' or "
                                 "'device'")
            e_uv.append((u, v))
        e_a.append(ta); e_b.append(tb); e_g.append(float(d[weight])); e_l.append(layer_rank[upper])  # noqa: E702
        e_key.append(_param_key(d, (u, v), trainable, tie))
    edge_param = _edge_params(e_key, e_l, e_g, e_uv if not plain else list(G.edges()))

    outs = [n for n in free if nd[n][role] == "output"]
    by_class: dict[int, dict[int, int]] = {}
    for i, n in enumerate(outs):
        cls = num(n, "output_index", i, integer=True, low=0)
        pol = num(n, "polarity", 1, integer=True)
        if pol not in (1, -1):
            raise GraphError(f"output node {n!r}: polarity must be +1 or -1, got {pol!r}")
        slot = by_class.setdefault(cls, {})
        if pol in slot:
            raise GraphError(f"output node {n!r}: class {cls} already has a node of polarity {pol:+d}")
        slot[pol] = free_idx[n]
    classes = sorted(by_class)
    if classes != list(range(len(classes))):
        raise GraphError(f"output_index values must be 0..{len(classes) - 1}, got {classes}")
    for c in classes:
        if 1 not in by_class[c]:
            raise GraphError(f"output class {c} has only a negative (polarity -1) node")
    out_pos = [by_class[c][1] for c in classes]
    out_neg = [by_class[c].get(-1, -1) for c in classes]

    return Circuit(
        name=name,
        nodes=tuple(str(n) for n in free),
        node_role=tuple(nd[n][role] for n in free),
        node_layer=[layer_rank[key(n)] for n in free],
        sources=tuple(src_names),
        source_kind=tuple(src_kind),
        source_feature=src_feat,
        source_gain=src_gain,
        source_offset=src_off,
        n_features=n_features,
        edge_a=e_a, edge_b=e_b, edge_g=e_g, edge_layer=e_l,
        g_min=g_min, g_max=g_max,
        amp_node=amp_node, amp_gain=amp_gain, amp_back=amp_back, amp_names=tuple(amp_names), amp_offset=amp_offset,
        diode_anode=d_an, diode_cathode=d_ca, diode_model=d_mod, models=tuple(model_list),
        out_pos=out_pos, out_neg=out_neg, target_on=target_on, target_off=target_off, nudge=nudge,
        layer_names=tuple(f"layer{lay}" for lay in layers_free), edge_param=edge_param,
        elements={"mosfet": mos.table(gate_range), "device": devices.table()},
    )


class _MosfetRows:
    """The transistor table as the graph is read: edges (gate voltage as parameter) and
    diode-connected clamps."""

    def __init__(self, width: float, length: float):
        self.width, self.length = real(width, "width", error=GraphError, unit="m"), \
            real(length, "length", error=GraphError, unit="m")
        self.rows: dict[str, list] = {k: [] for k in ("drain", "gate", "source", "bulk", "vg", "width", "length",
                                                       "model", "layer")}
        self.models: list[MosfetModel] = []

    def _model(self, m: MosfetModel) -> int:
        names = [x.name for x in self.models]
        if m.name in names:
            if self.models[names.index(m.name)] != m:
                raise GraphError(f"two different MOSFET cards are both called {m.name!r}")
            return names.index(m.name)
        self.models.append(m)
        return len(self.models) - 1

    def _add(self, **row) -> None:
        for k, v in row.items():
            self.rows[k].append(v)

    def clamp(self, anode: int, cathode: int, m: MosfetModel) -> None:
        if m.type == "NMOS":  # gate and drain on the anode, source and bulk on the cathode
            self._add(drain=anode, gate=anode, source=cathode, bulk=cathode, vg=0.0, width=self.width,
                      length=self.length, model=self._model(m), layer=-1)
        else:  # source and bulk on the anode, gate and drain on the cathode
            self._add(drain=cathode, gate=cathode, source=anode, bulk=anode, vg=0.0, width=self.width,
                      length=self.length, model=self._model(m), layer=-1)

    def edge(self, uv, d: dict, ta: int, tb: int, layer: int, default_bulk: int, fixed_node, transistor, gate,
             trainable: str, tie: str) -> None:
        where = f"transistor edge {uv!r}"
        if d.get(tie) is not None:
            raise GraphError(f"{where}: transistors cannot be tied ({tie}={d[tie]!r})")
        train = d.get(trainable, True)
        if not isinstance(train, (bool, np.bool_)):
            raise GraphError(f"{where}: {trainable!r} must be True or False, got {train!r}")
        spec = d.get("model", transistor)
        try:
            m = mosfet_model(spec)
        except ConfigError as exc:
            raise GraphError(f"{where}: {exc}") from None
        vg = graph_number(where, "gate", d.get("gate", gate))
        w = graph_number(where, "width", d.get("width", self.width), low=0.0, low_open=True)
        length = graph_number(where, "length", d.get("length", self.length), low=0.0, low_open=True)
        b = default_bulk if d.get("bulk") is None else fixed_node(d["bulk"], f"{where}: bulk")
        self._add(drain=ta, gate=OWN_GATE, source=tb, bulk=b, vg=vg, width=w, length=length,
                  model=self._model(m), layer=layer if train else -1)

    def table(self, gate_range) -> Mosfets:
        lo, hi = (real(v, f"gate_range[{i}]", error=GraphError, unit="V") for i, v in enumerate(gate_range))
        return Mosfets(models=tuple(self.models), vg_min=lo, vg_max=hi, **self.rows)


class _DeviceRows:
    """The table of users' devices as the graph is read."""

    def __init__(self):
        self.rows: dict[str, list] = {k: [] for k in ("a", "b", "law", "p", "layer")}
        self.laws: list[DeviceLaw] = []

    def edge(self, uv, d: dict, ta: int, tb: int, layer: int, laws: Mapping[str, DeviceLaw], trainable: str,
             tie: str) -> None:
        where = f"device edge {uv!r}"
        if d.get(tie) is not None:
            raise GraphError(f"{where}: devices cannot be tied ({tie}={d[tie]!r})")
        law = d.get("law")
        if isinstance(law, str):
            if law not in laws:
                raise GraphError(f"{where}: unknown law {law!r}; pass laws={{{law!r}: DeviceLaw(...)}} to the builder"
                                 + (f" (known: {', '.join(sorted(laws))})" if laws else ""))
            law = laws[law]
        if not isinstance(law, DeviceLaw):
            raise GraphError(f"{where}: attribute 'law' must be a DeviceLaw or the name of one, got {law!r}")
        train = d.get(trainable, True)
        if not isinstance(train, (bool, np.bool_)):
            raise GraphError(f"{where}: {trainable!r} must be True or False, got {train!r}")
        ids = [id(x) for x in self.laws]
        if id(law) not in ids:
            if any(x.name.lower() == law.name.lower() for x in self.laws):
                raise GraphError(f"{where}: two different device laws are called {law.name!r}")
            self.laws.append(law)
            ids.append(id(law))
        for k, v in dict(a=ta, b=tb, law=ids.index(id(law)), p=graph_number(where, "p", d.get("p", law.p_default)),
                         layer=layer if train else -1).items():
            self.rows[k].append(v)

    def table(self) -> Devices:
        return Devices(laws=tuple(self.laws), **self.rows)


def _check_generated_names(G: nx.Graph, role: str, made_for: dict[str, str]) -> None:
    """Refuse a graph label equal to a name the builder generates (``vclamp1``, ``h1_0_amp``),
    naming both: the circuit needs every label once, and silently renaming either would make
    the netlist's metadata lie about which is which."""
    for label, what in made_for.items():
        if label in G and G.nodes[label][role] != "ground":
            raise GraphError(f"{G.nodes[label][role]} node {label!r} has the name the builder gives to {what}; "
                             f"rename node {label!r}")


def _param_key(d: dict, edge: tuple, trainable: str, tie: str):
    """``None`` for a fixed conductance, ``("tie", key)`` for a tied one, else ``()`` (its own)."""
    fixed = d.get(trainable, True)
    if not isinstance(fixed, (bool, np.bool_)):
        raise GraphError(f"edge {edge!r}: {trainable!r} must be True or False, got {fixed!r}")
    if not fixed:
        if d.get(tie) is not None:
            raise GraphError(f"edge {edge!r} is both fixed ({trainable}=False) and tied ({tie}={d[tie]!r})")
        return None
    return ("tie", d[tie]) if d.get(tie) is not None else ()


def _edge_params(keys: list, layers: list[int], weights: list[float], edges: list) -> np.ndarray:
    """``Circuit.edge_param`` from per-edge keys: empty when every edge is its own parameter;
    otherwise parameters numbered layer by layer (so each layer's are contiguous), -1 for fixed."""
    if all(k == () for k in keys):
        return np.zeros(0, np.int64)
    first: dict = {}
    for e, k in enumerate(keys):
        if k is None:
            continue
        name = ("edge", e) if k == () else k
        if name in first:
            f = first[name]
            if layers[f] != layers[e]:
                raise GraphError(f"edges {edges[f]!r} and {edges[e]!r} share tie {k[1]!r} but lie in different "
                                 "layers; a tied parameter belongs to one layer")
            if weights[f] != weights[e]:
                raise GraphError(f"edges {edges[f]!r} and {edges[e]!r} share tie {k[1]!r} but have different "
                                 f"weights ({weights[f]!r}, {weights[e]!r} S); tied conductances start equal")
        else:
            first[name] = e
    order = sorted(first, key=lambda name: (layers[first[name]], first[name]))
    index = {name: i for i, name in enumerate(order)}
    return np.array([-1 if k is None else index[("edge", e) if k == () else k] for e, k in enumerate(keys)],
                    dtype=np.int64)
