"""The element protocol: what every kind of circuit element knows about itself.

A :class:`~analog_eqprop.circuits.Circuit` holds one *table* per registered kind (see
:mod:`analog_eqprop.elements`): a frozen dataclass of equal-length columns, one row per
element, that subclasses :class:`ElementTable`. The simulator layers (the netlist compiler and
parser, the nodal equations and Newton, the BCD checks, power, hardware transforms, the ngspice
backend's re-indexing) loop over the tables and ask each for its part, the way ngspice's
simulator loops over its ``SPICEdev`` table and knows no device by name. What a kind provides:

=======================  ======================================================================
fields and validation    its columns (dataclass fields, checked in ``__post_init__``) and
                         :meth:`~ElementTable.check` against the circuit (terminal ranges...)
terminal mapping         :attr:`~ElementTable.terminals` (columns holding terminal indices) and
                         :meth:`~ElementTable.remap`; kinds that *own* terminals (sources,
                         amplified copies) give their labels, voltages and how their terminals
                         map onto the nodal unknowns (:class:`TerminalMap`)
nodal equations          linear kinds are stamped by the MNA system from their columns; a
                         nonlinear kind gives :meth:`~ElementTable.currents`: the current each
                         of its terminals sends into it and the Jacobian, vectorised over batch
                         and elements (:class:`Branches`), its pn junctions for Newton's
                         limiting (:meth:`~ElementTable.junctions`); its co-content
                         (:meth:`~ElementTable.cocontent`) where it has one
training                 a :attr:`~ElementTable.trainable` column (one parameter array per
                         layer), :meth:`~ElementTable.param_derivative` (``di/dtheta``: the
                         exact gradient), :meth:`~ElementTable.param_grad_diff` (EqProp's
                         local quantity of two states), :meth:`~ElementTable.bounds`
netlist                  :meth:`~ElementTable.write` its cards (and ``.model`` cards) into a
                         deck, :meth:`~ElementTable.read` them back (:attr:`~ElementTable.cards`
                         lists the element prefixes it owns)
power                    :meth:`~ElementTable.power`: what it dissipates or delivers
hardware                 :meth:`~ElementTable.hardware`: the table under a hardware model
=======================  ======================================================================

Adding a kind is a module with an :class:`ElementTable` subclass and one line in
:data:`analog_eqprop.elements.KINDS` (its place there is its section's place in a deck); as
:mod:`analog_eqprop.elements.mosfet` and :mod:`analog_eqprop.elements.device` were added.

Terminals index the free nodes ``0 .. n_free-1``, then the terminals the owning kinds create,
block after block in registry order (sources, then amplified copies); :data:`GROUND` is ``-1``.
Any other negative number in a terminal column is not a terminal (a kind that allows one, as
the transistors' own gate sources, says what it means), and :meth:`~ElementTable.remap`
leaves it alone.

Examples
--------
>>> from analog_eqprop.elements import Conductances
>>> t = Conductances(a=[0, 1], b=[-1, 0], g=[1e-6, 2e-6], layer=[0, 0])
>>> len(t), t.remap(lambda idx: idx + 10).a.tolist(), t.take([1]).g.tolist()
(2, [10, 11], [2e-06])
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, NamedTuple

import numpy as np

from analog_eqprop.errors import ConfigError, GraphError

if TYPE_CHECKING:  # pragma: no cover - types only
    from analog_eqprop.circuits.description import Circuit

__all__ = ["GROUND", "ElementTable", "TerminalMap", "Branches", "CardSpec", "column", "index_column", "labels_column"]

#: The ground terminal (0 V, never a KCL row).
GROUND = -1


def _frozen(x: Any, dtype) -> bool:
    """Whether ``x`` is already a column: a read-only 1-D array of ``dtype`` owning its data."""
    return (isinstance(x, np.ndarray) and x.dtype == dtype and x.ndim == 1 and x.flags.owndata
            and not x.flags.writeable and x.flags.c_contiguous)


def column(x: Any, dtype) -> np.ndarray:
    """A read-only 1-D copy of ``x`` (the columns of every table are these). An array that is
    a column already (read-only, owning its data, of ``dtype``) is taken as it is: tables
    share unchanged columns (``dataclasses.replace``) and array builders hand over what they
    made, without a second copy of tens of millions of conductances."""
    if _frozen(x, np.dtype(dtype)):
        return x
    a = np.array(x, dtype=dtype, copy=True)
    if a.ndim != 1:
        a = a.reshape(-1).copy()  # (its own data: a later table may take it as it is)
    a.setflags(write=False)
    return a


_I32 = np.iinfo(np.int32)


def index_column(x: Any, what: str = "index") -> np.ndarray:
    """A read-only 1-D int32 column of indices (terminals, layers, parameters), as :func:`column`:
    half the memory of int64 for the conductances of a big net. GraphError for an index
    outside int32's range (more than two billion terminals)."""
    if _frozen(x, np.dtype(np.int32)):
        return x
    if not (isinstance(x, np.ndarray) and x.dtype == np.int32):
        x = np.asarray(x, dtype=np.int64).reshape(-1)
        if x.size and (x.min() < _I32.min or x.max() > _I32.max):
            raise GraphError(f"circuit: a {what} is out of range ({int(x.min())} .. {int(x.max())})")
    return column(x, np.int32)


def labels_column(x: Any) -> tuple:
    return tuple(x)


class TerminalMap(NamedTuple):
    """How an owned terminal's voltage and current enter the nodal equations, per terminal.

    The terminal's voltage is ``m V_q + const`` (``q`` a free node, ``-1``: none) plus, for a
    source, ``V_src[s]`` (``s``: its source column, ``-1``: none); a current leaving the terminal
    into the network enters KCL row ``p`` (``-1``: none) multiplied by ``r`` (an amplified copy
    reflects its output current into its neuron through the CCCS of gain ``r``).
    """

    p: np.ndarray
    r: np.ndarray
    q: np.ndarray
    m: np.ndarray
    s: np.ndarray
    const: np.ndarray


class CardSpec(NamedTuple):
    """How an element card of a kind reads: ``nodes`` node names after the element name, then
    ``tail``: ``"value"`` (one number), ``"model"`` (a model name), ``"source and gain"`` (a
    controlling source and a number), ``"model and params"`` (a model name, then ``KEY=VALUE``
    numbers) or ``"expression"`` (one ``I=...`` behavioural expression). ``helper``: the first
    node is one the compiler creates for the element (not a terminal of the circuit)."""

    nodes: int
    tail: str
    helper: bool = False

    @property
    def fields(self) -> int | None:
        """Fields after the name (None: a variable number)."""
        return {"value": self.nodes + 1, "model": self.nodes + 1, "source and gain": self.nodes + 2,
                "expression": self.nodes + 1}.get(self.tail)


class Branches(NamedTuple):
    """A nonlinear kind's contribution at one point: for elements with ``k`` terminals each,
    ``terms`` ``(n, k)`` terminal indices, ``i`` ``(batch, n, k)`` the current [A] *leaving*
    each terminal into the element, and ``di`` ``(batch, n, k, k)`` [S] its derivative with
    respect to each terminal's voltage (``di[..., j, l] = d i_j / d V_l``)."""

    terms: np.ndarray
    i: np.ndarray
    di: np.ndarray


@dataclass(frozen=True, eq=False)
class ElementTable:
    """Base of every kind's table. Subclasses are frozen dataclasses whose fields are columns
    (every field has a default, so ``Kind()`` is the empty table) and set the class variables.
    """

    #: Registry name of the kind (``"conductance"``).
    kind: ClassVar[str] = ""
    #: What one element is called in messages.
    noun: ClassVar[str] = "element"
    #: Columns holding terminal indices.
    terminals: ClassVar[tuple[str, ...]] = ()
    #: The dataclass of its model cards (held in a ``models`` field, each with an ``extra`` tuple of
    #: unread card parameters), if the kind has them: :meth:`to_dict` / :meth:`from_dict` convert them.
    card_model: ClassVar[type | None] = None
    #: Whether the kind creates terminals of its own (sources, amplified copies).
    owns_terminals: ClassVar[bool] = False
    #: Whether its owned terminals hold fixed voltages (sources) rather than follow the network.
    fixed_voltage: ClassVar[bool] = False
    #: Whether the nodal equations are linear in its terminal voltages.
    linear: ClassVar[bool] = True
    #: The column a model may train (passed to backends as ``values={kind: array}``), if any;
    #: elements with ``layer >= 0`` are trained, one parameter array per layer, named
    #: ``<param_prefix><layer>`` (conductances, the hot path, are the models' own business).
    trainable: ClassVar[str | None] = None
    param_prefix: ClassVar[str] = ""
    #: Element-card prefixes it writes, and how each reads (:class:`CardSpec`).
    cards: ClassVar[dict[str, CardSpec]] = {}
    #: Metadata keys (``* @key ...``) it writes, which the parser hands to :meth:`read`.
    meta: ClassVar[tuple[str, ...]] = ()
    #: ``Circuit`` keywords (the flat layout of earlier versions) -> column.
    legacy: ClassVar[dict[str, str]] = {}
    #: Columns that hold per-element Python objects (tuples), not arrays.
    object_columns: ClassVar[tuple[str, ...]] = ()

    # -- sizes and copies -----------------------------------------------------------------
    def __len__(self) -> int:
        first = dataclasses.fields(self)[0].name
        return len(getattr(self, first))

    @property
    def n(self) -> int:
        return len(self)

    def replace(self, **changes) -> "ElementTable":
        return dataclasses.replace(self, **changes)

    def remap(self, f: Callable[[np.ndarray], np.ndarray]) -> "ElementTable":
        """The table with every terminal column mapped through ``f`` (an array function on
        terminal indices >= 0; ground and other negative entries are kept)."""
        out = {}
        for name in self.terminals:
            t = getattr(self, name)
            out[name] = np.where(t >= 0, f(np.maximum(t, 0)), t)
        return dataclasses.replace(self, **out)

    def take(self, rows) -> "ElementTable":
        """The rows ``rows`` (indices or mask) of the table, in that order."""
        rows = np.asarray(rows)
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray) and v.ndim == 1 and len(v) == len(self):
                out[f.name] = v[rows]
            elif f.name in self.object_columns:
                idx = np.flatnonzero(rows) if rows.dtype == bool else rows
                out[f.name] = tuple(v[int(i)] for i in idx)
        return dataclasses.replace(self, **out)

    def to_dict(self) -> dict[str, Any]:
        """Every column as JSON-friendly data (see :meth:`from_dict`); model cards as dicts."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.tolist() if isinstance(v, np.ndarray) else list(v) if isinstance(v, tuple) else v
        if self.card_model is not None:
            out["models"] = [{**dataclasses.asdict(m), "extra": [list(e) for e in m.extra]} for m in self.models]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ElementTable":
        if cls.card_model is not None:
            card = cls.card_model
            d = {**d, "models": tuple(m if isinstance(m, card) else
                                      card(**{**m, "extra": tuple(tuple(e) for e in m.get("extra", ()))})
                                      for m in d.get("models", ()))}
        return cls(**d)

    # -- validation and terminals ------------------------------------------------------------
    def check(self, circuit: "Circuit") -> None:
        """Cross-checks against the circuit (terminal indices in range); GraphError naming it."""
        nt = circuit.n_terminals
        for name in self.terminals:
            t = getattr(self, name)
            if t.size and (t.min() < GROUND or t.max() >= nt):
                raise GraphError(f"circuit: a {self.noun} terminal index is out of range")

    def links(self, circuit: "Circuit") -> list[tuple[np.ndarray, np.ndarray]]:
        """Terminal pairs the elements join by a DC path (for the connectivity check); owners
        join their terminals to what holds them (sources to ground, copies to their node)."""
        return []

    def owned_labels(self) -> tuple[str, ...]:
        """Labels of the terminals it owns (owners only), in terminal order."""
        return ()

    def owned_roles(self, circuit: "Circuit") -> list[str]:
        """What each owned terminal is, for messages about labels (owners only)."""
        return []

    def owned_voltages(self, circuit: "Circuit", v_free: np.ndarray, v_src: np.ndarray) -> np.ndarray:
        """Voltages [V] of the owned terminals, ``(batch, n_owned)`` (owners only)."""
        return np.zeros((v_free.shape[0], 0))

    def terminal_map(self, circuit: "Circuit") -> TerminalMap:
        """How the owned terminals enter the nodal equations (owners only)."""
        z = np.zeros(0)
        return TerminalMap(z.astype(np.int64), z, z.astype(np.int64), z, z.astype(np.int64), z)

    # -- physics -------------------------------------------------------------------------------
    def currents(self, w: np.ndarray, *, gmin: float = 1e-12) -> Branches:
        """Terminal currents and Jacobian at terminal voltages ``w`` ``(batch, n_terminals + 1)``
        (ground last), for nonlinear kinds."""
        raise NotImplementedError(f"{self.kind} is linear: the MNA system stamps it from its columns")

    def param_derivative(self, w: np.ndarray) -> np.ndarray:
        """``d i_j / d theta`` [A per unit of the trained column] for every terminal ``j`` of every
        element, ``(batch, n, k)`` (trainable kinds)."""
        raise NotImplementedError(f"{self.kind} has no trainable column")

    def param_grad_diff(self, w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
        """EqProp's local quantity of each element's parameter between two states (terminal
        voltages ``w1``, ``w2``), batch mean, ``(n,)``: ``(s_1 - s_2)^T dR/dtheta`` by the
        trapezoid rule, ``sum_j 1/2 (di_j/dtheta(s_1) + di_j/dtheta(s_2)) (V_j(s_1) - V_j(s_2))``
        -- for an energy-based element ``dE/dtheta(s_1) - dE/dtheta(s_2)`` to second order
        (exactly where the current is linear in the state), see :mod:`analog_eqprop.elements.mosfet`."""
        terms = self.currents(w1[:1]).terms
        d = 0.5 * (self.param_derivative(w1) + self.param_derivative(w2))
        return np.mean(np.sum(d * (w1[:, terms] - w2[:, terms]), axis=2), axis=0)

    def bounds(self) -> tuple[float, float]:
        """The range training clips the trained column to."""
        return -np.inf, np.inf

    def junctions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The pn junctions inside its elements, ``(anode terminals, cathode terminals, n V_T
        [V])``: a Newton iteration may raise a junction's forward voltage only so far per step
        (the solvers' limiting, SPICE's ``pnjlim``). None by default."""
        z = np.zeros(0, np.int64)
        return z, z, np.zeros(0)

    def cocontent(self, w: np.ndarray) -> np.ndarray | None:
        """Its term of the circuit's co-content [W] per example, ``(batch,)``; None where the
        kind has none (not a gradient element)."""
        return None

    # -- netlist ----------------------------------------------------------------------------------
    def header(self, deck) -> None:
        """Write its metadata with the free nodes (at the top of a deck), if any."""

    def write(self, deck) -> None:
        """Write its element cards into ``deck`` (:class:`analog_eqprop.netlist.compiler.Deck`)."""

    def refuse_folded_inputs(self, deck) -> None:
        """Raise :class:`ConfigError` naming the first element with a terminal on an input source
        that ``deck``'s Norton form folds away (only conductances may touch those)."""
        c = deck.c
        if not (len(self) and deck.folded.size):
            return
        ends = np.stack([getattr(self, col) for col in self.terminals], axis=1)  # (n, terminals), element-major
        on_source = c.terminal_kind(ends) == 1
        hit = on_source & deck.folded[np.where(on_source, ends - c.n_free, 0)]
        if hit.any():
            k, e = divmod(int(np.argmax(hit.reshape(-1))), ends.shape[1])
            raise ConfigError(f"{self.noun} {k} touches input source {c.terminal_name(ends[k, e])!r}, which the "
                              "Norton form folds away; use form='full'")

    def model_cards(self) -> list[str]:
        """Its ``.model`` lines (written at the end of a deck)."""
        return []

    @classmethod
    def read(cls, reader) -> "ElementTable":
        """The table from a parsed deck (:class:`analog_eqprop.netlist.parser.Reader`)."""
        return cls()

    # -- power and hardware --------------------------------------------------------------------
    def power(self, pc) -> dict[str, np.ndarray]:
        """Power of its elements at an operating point (:class:`analog_eqprop.hardware.power.PowerContext`):
        adds the current each element drives out of the network into its terminals (``pc.out``)
        and returns named parts [W], ``(batch,)`` each (dissipated positive)."""
        return {}

    def hardware(self, cfg, rng: np.random.Generator) -> "ElementTable":
        """The table under a hardware model (:class:`analog_eqprop.hardware.HardwareConfig`)."""
        return self

    # -- BCD -----------------------------------------------------------------------------------
    def check_bcd(self, circuit: "Circuit") -> None:
        """Raise ConfigError unless block coordinate descent solves this kind exactly."""
        if len(self):
            raise ConfigError(f"BCD: the circuit has {len(self)} {self.noun}(s), which block coordinate descent does "
                              "not model; use backend='numpy'")
