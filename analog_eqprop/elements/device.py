r"""A device of the user's own: a two-terminal element given by its I-V law, in both backends.

The law is given twice (:class:`DeviceLaw`): as a vectorised Python function for the NumPy
twin, ``current(v, p) -> (i [A], di/dv [S])`` over arrays of branch voltages ``v`` [V] and the
element's parameter ``p`` (optionally ``dparam(v, p) -> di/dp``, to train ``p``), and as the
expression of an ngspice behavioural source in ``v`` and ``p``
(:mod:`analog_eqprop.elements.expression`). The two are compared on a voltage grid when a
circuit holding the device is built (for every parameter value its elements have): a law whose
halves disagree is refused with the voltage where they part, so both backends simulate the
same device. :meth:`DeviceLaw.tanh` (a saturating, tanh-like element) and :meth:`DeviceLaw.table`
(a measured I-V curve, interpolated linearly and extended beyond its ends as ngspice's ``pwl``
does) build both halves from numbers.

The table (:class:`Devices`): terminals ``a``, ``b`` (the current ``i(V_a - V_b)`` flows from
``a`` to ``b``), ``law`` (index into ``laws``), ``p``, ``layer`` (the learning-rate layer of a
trained ``p``; -1: fixed). A two-terminal element is reciprocal: its co-content is
``integral_0^v i``, so EqProp's update of ``p`` is exact as beta -> 0 (``dE/dp = integral_0^v
di/dp``; the two phases' local quantity is its trapezoid, see
:meth:`~analog_eqprop.elements.base.ElementTable.param_grad_diff`).

Cards: ``bd<k> a b I=<expression>`` (``v`` written as ``v(a,b)``, ``p`` as the element's
number) and metadata naming the law (``* @devlaw``), each element's ``p`` and layer
(``* @device``), from which :func:`~analog_eqprop.netlist.parse_netlist` rebuilds the device:
its Python half is then the expression itself.

Examples
--------
>>> law = DeviceLaw.tanh("SAT", i_max=1e-4, v_scale=0.1)
>>> i, g = law.current(np.array([0.0, 0.1]), np.array(law.p_default))
>>> i.round(9).tolist(), round(float(g[0]), 6)
([0.0, 7.6159e-05], 0.001)
>>> law.expression.text
'(p*tanh((v/0.1)))'
"""

from __future__ import annotations

import math
import pickle
import re
from dataclasses import dataclass, field
from typing import Callable, ClassVar

import numpy as np

from analog_eqprop.elements.base import Branches, CardSpec, ElementTable, column
from analog_eqprop.elements.expression import Expression, parse_expression
from analog_eqprop.errors import ConfigError, GraphError
from analog_eqprop.spice.names import decode_label, encode_label, format_number

__all__ = ["DeviceLaw", "Devices"]

_GAUSS = np.polynomial.legendre.leggauss(24)  # nodes, weights on [-1, 1] (co-content quadrature)


@dataclass(frozen=True, eq=False)
class DeviceLaw:
    """A two-terminal I-V law, as Python and as an ngspice expression (see the module docstring).

    Parameters
    ----------
    name : str
        Its name in decks (letters, digits, ``_``).
    current : callable
        ``(v, p) -> (i, di/dv)``: current [A] from the first terminal to the second and its
        derivative [S], vectorised over arrays ``v`` [V], ``p``.
    expression : str
        The same law as an ngspice ``B``-source expression in ``v`` and ``p``.
    dparam : callable, optional
        ``(v, p) -> di/dp``; needed to train ``p``.
    p_default : float
        ``p`` of elements that do not give one.
    p_range : (float, float)
        The range training clips ``p`` to.
    grid : (float, float)
        The voltages [V] over which the two halves are compared (201 points), and over
        which the device is meant to be used.
    rtol, atol : float
        How close the halves must be: ``|i_py - i_spice| <= atol + rtol max|i|`` (and the same,
        relative to ``max |di/dv|``, for the derivatives).
    """

    name: str
    current: Callable | None
    expression: str | Expression
    dparam: Callable | None = None
    p_default: float = 0.0
    p_range: tuple[float, float] = (-math.inf, math.inf)
    grid: tuple[float, float] = (-1.0, 1.0)
    rtol: float = 1e-9
    atol: float = 1e-18
    _checked: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not (isinstance(self.name, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", self.name)):
            raise ConfigError(f"device law name {self.name!r} must be letters, digits and '_' (starting with a letter)")
        if not isinstance(self.expression, Expression):
            object.__setattr__(self, "expression", parse_expression(self.expression))
        if self.current is None:  # the expression is the law (a deck read back, a worker's copy)
            expr = self.expression
            object.__setattr__(self, "current", lambda v, p: expr.evaluate(v, p)[:2])
            if self.dparam is None and expr.uses_p:
                object.__setattr__(self, "dparam", lambda v, p: expr.evaluate(v, p)[2])
        elif not callable(self.current) or (self.dparam is not None and not callable(self.dparam)):
            raise ConfigError(f"device law {self.name}: current (and dparam) must be callables (v, p) -> ...")
        lo, hi = self.grid
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ConfigError(f"device law {self.name}: grid must be (low, high) volts with low < high, got "
                              f"{self.grid!r}")
        if not self.p_range[0] <= self.p_default <= self.p_range[1]:
            raise ConfigError(f"device law {self.name}: p_default {self.p_default!r} lies outside p_range "
                              f"{self.p_range!r}")

    # -- the two halves, compared -------------------------------------------------------------
    def check(self, p: float) -> None:
        """Compare the Python law and the expression on the grid at parameter ``p``; ConfigError
        naming the worst voltage if they differ (done once per value)."""
        p = float(p)
        if p in self._checked:
            return
        v = np.linspace(self.grid[0], self.grid[1], 201)
        try:
            i, g = (np.broadcast_to(np.asarray(a, dtype=np.float64), v.shape)
                    for a in self.current(v, np.full(v.shape, p)))
        except Exception as exc:  # a user's function: whatever it raises is named
            raise ConfigError(f"device law {self.name}: current(v, p={p!r}) failed: {exc!r}") from None
        ie, ge, pe = self.expression.evaluate(v, p)
        parts = [("current", i, ie, "A"), ("di/dv", g, ge, "S")]
        if self.dparam is not None:
            parts.append(("di/dp", np.broadcast_to(np.asarray(self.dparam(v, np.full(v.shape, p)), np.float64),
                                                  v.shape), pe, "A per unit p"))
        for what, a, b, unit in parts:
            if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
                k = int(np.argmax(~(np.isfinite(a) & np.isfinite(b))))
                raise ConfigError(f"device law {self.name}: {what} is not finite at v = {v[k]:.6g} V (p = {p!r}): "
                                  f"Python {a[k]!r}, expression {b[k]!r}")
            err = np.abs(a - b)
            tol = self.atol + self.rtol * max(float(np.max(np.abs(a))), float(np.max(np.abs(b))))
            if np.any(err > tol):
                k = int(np.argmax(err))
                raise ConfigError(f"device law {self.name}: the Python law and the expression {self.expression.text!r} "
                                  f"differ in {what} at v = {v[k]:.6g} V (p = {p!r}): {a[k]!r} vs {b[k]!r} {unit} "
                                  f"(tolerance {tol:.3g}); both backends must simulate the same device")
        if len(self._checked) < 1024:
            self._checked[p] = True

    # -- constructors -----------------------------------------------------------------------------
    @classmethod
    def from_expression(cls, name: str, expression: str, **kw) -> "DeviceLaw":
        """A law whose Python half is the expression itself (evaluated with its derivatives)."""
        return cls(name, None, expression, **kw)

    @classmethod
    def tanh(cls, name: str, *, i_max: float, v_scale: float, trainable: bool = True, **kw) -> "DeviceLaw":
        """``i = p tanh(v / v_scale)``, ``p`` = ``i_max`` [A] by default: a saturating element
        (trainable ``p``: its saturation current, kept >= 0)."""
        if not (v_scale > 0 and i_max >= 0):
            raise ConfigError(f"DeviceLaw.tanh: need v_scale > 0 V and i_max >= 0 A, got {v_scale!r}, {i_max!r}")
        s = float(v_scale)

        def current(v, p):
            t = np.tanh(v / s)
            return p * t, p * (1 - t * t) / s

        kw.setdefault("p_range", (0.0, math.inf))
        return cls(name, current, f"p*tanh(v/{s!r})", dparam=(lambda v, p: np.tanh(v / s)) if trainable else None,
                   p_default=float(i_max), **kw)

    @classmethod
    def table(cls, name: str, v: np.ndarray, i: np.ndarray, **kw) -> "DeviceLaw":
        """A measured I-V curve: points ``(v [V], i [A])``, linear between them and extended
        beyond the ends along the end segments (ngspice's ``pwl``). ``p`` scales the current."""
        v, i = np.asarray(v, dtype=np.float64), np.asarray(i, dtype=np.float64)
        if v.ndim != 1 or v.shape != i.shape or v.size < 2 or np.any(np.diff(v) <= 0) or \
                not (np.all(np.isfinite(v)) and np.all(np.isfinite(i))):
            raise ConfigError("DeviceLaw.table: v and i must be finite 1-D arrays of equal length >= 2, v increasing")

        def current(x, p):
            k = np.clip(np.searchsorted(v, x, side="right") - 1, 0, v.size - 2)
            slope = (i[k + 1] - i[k]) / (v[k + 1] - v[k])
            return p * (i[k] + slope * (x - v[k])), p * slope

        pts = ", ".join(f"{float(a)!r}, {float(b)!r}" for a, b in zip(v, i))
        kw.setdefault("grid", (float(v[0]), float(v[-1])))
        kw.setdefault("p_default", 1.0)
        return cls(name, current, f"p*pwl(v, {pts})", dparam=lambda x, p: current(x, np.ones_like(p))[0], **kw)

    # -- pickling: a worker needs only the expression ----------------------------------------------
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_checked"] = {}
        for name in ("current", "dparam"):
            try:
                pickle.dumps(state[name])
            except Exception:  # a lambda or closure: rebuilt from the expression on the other side
                state[name] = None
        return state

    def __setstate__(self, state: dict) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)
        if self.current is None:
            expr = self.expression
            object.__setattr__(self, "current", lambda v, p: expr.evaluate(v, p)[:2])
            if self.dparam is None and expr.uses_p:
                object.__setattr__(self, "dparam", lambda v, p: expr.evaluate(v, p)[2])


@dataclass(frozen=True, eq=False)
class Devices(ElementTable):
    """Users' devices: terminals ``a``, ``b``; ``law`` indexes ``laws``; parameters ``p``; ``layer``."""

    a: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    b: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    law: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    p: np.ndarray = field(default_factory=lambda: np.zeros(0))
    layer: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    laws: tuple[DeviceLaw, ...] = ()

    kind: ClassVar[str] = "device"
    noun: ClassVar[str] = "device"
    terminals: ClassVar[tuple[str, ...]] = ("a", "b")
    linear: ClassVar[bool] = False
    trainable: ClassVar[str | None] = "p"
    param_prefix: ClassVar[str] = "p"
    cards: ClassVar[dict[str, CardSpec]] = {"bd": CardSpec(2, "expression")}
    meta: ClassVar[tuple[str, ...]] = ("devlaw", "device")

    def __post_init__(self) -> None:
        for name in ("a", "b", "law"):
            object.__setattr__(self, name, column(getattr(self, name), np.int64))
        n = len(self.a)
        if len(self.layer) == 0:
            object.__setattr__(self, "layer", np.full(n, -1))
        object.__setattr__(self, "layer", column(self.layer, np.int64))
        object.__setattr__(self, "p", column(self.p, np.float64))
        object.__setattr__(self, "laws", tuple(self.laws))

    def __len__(self) -> int:
        return len(self.a)

    def groups(self) -> list[tuple[DeviceLaw, np.ndarray]]:
        return [(self.laws[k], np.flatnonzero(self.law == k)) for k in np.unique(self.law)]

    # -- validation -----------------------------------------------------------------------------
    def check(self, circuit) -> None:
        n = len(self)
        if any(len(getattr(self, c)) != n for c in ("b", "law", "p", "layer")):
            raise GraphError("circuit: device arrays differ in length")
        super().check(circuit)
        if n and (self.law.min() < 0 or self.law.max() >= len(self.laws)):
            raise GraphError("circuit: a device refers to an unknown law")
        if not np.all(np.isfinite(self.p)):
            k = int(np.argmax(~np.isfinite(self.p)))
            raise GraphError(f"circuit: device {k} has p = {self.p[k]!r}; it must be finite")
        if np.any(self.a == self.b):
            k = int(np.argmax(self.a == self.b))
            raise GraphError(f"circuit: device {k} joins {circuit.terminal_name(self.a[k])} to itself")
        names = [law.name.lower() for law in self.laws]
        if len(set(names)) != len(names):
            raise GraphError(f"circuit: two device laws share a name (in any case): {names}")
        for law, sel in self.groups():  # both halves of every law agree, at every p in use
            if (self.layer[sel] >= 0).any() and law.dparam is None:
                raise GraphError(f"circuit: device law {law.name} has no dparam, so its p cannot be trained "
                                 "(give dparam, or layer -1)")
            for p in np.unique(self.p[sel]):
                try:
                    law.check(p)
                except ConfigError as exc:
                    raise GraphError(f"circuit: {exc}") from None

    def links(self, circuit):
        return [(self.a, self.b)]

    def bounds(self) -> tuple[float, float]:
        lo = max((law.p_range[0] for law in self.laws), default=-math.inf)
        hi = min((law.p_range[1] for law in self.laws), default=math.inf)
        return lo, hi

    # -- physics --------------------------------------------------------------------------------
    def branch(self, v: np.ndarray, p: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        p = self.p if p is None else p
        i, g = np.empty_like(v), np.empty_like(v)
        for law, sel in self.groups():
            ii, gg = law.current(v[:, sel], np.broadcast_to(p[sel], v[:, sel].shape))
            i[:, sel], g[:, sel] = ii, gg
        return i, g

    def currents(self, w: np.ndarray, *, gmin: float = 0.0) -> Branches:
        v = w[:, self.a] - w[:, self.b]
        i, g = self.branch(v)
        di = np.stack([np.stack([g, -g], -1), np.stack([-g, g], -1)], -2)
        return Branches(np.stack([self.a, self.b], 1), np.stack([i, -i], -1), di)

    def param_derivative(self, w: np.ndarray) -> np.ndarray:
        v = w[:, self.a] - w[:, self.b]
        d = np.zeros_like(v)
        for law, sel in self.groups():
            if law.dparam is not None:
                d[:, sel] = law.dparam(v[:, sel], np.broadcast_to(self.p[sel], v[:, sel].shape))
        d = np.where(self.layer >= 0, d, 0.0)
        return np.stack([d, -d], -1)

    def cocontent(self, w: np.ndarray) -> np.ndarray:
        """``sum integral_0^v i`` [W] (24-point Gauss-Legendre quadrature per element)."""
        v = w[:, self.a] - w[:, self.b]
        x, wt = _GAUSS
        u = 0.5 * (x[:, None, None] + 1.0) * v[None]  # (24, batch, n)
        i = np.stack([self.branch(uk)[0] for uk in u])
        return np.sum(0.5 * v * np.tensordot(wt, i, axes=1), axis=1)

    # -- netlist --------------------------------------------------------------------------------
    def write(self, deck) -> None:
        if not len(self):
            return
        self.refuse_folded_inputs(deck)
        deck.section("users' devices: behavioural current sources bd<k> a b I=law(V(a) - V(b), p)")
        for law in self.laws:
            deck.add(f"* @devlaw {law.name} expression={encode_label(law.expression.text)}")
        for k in range(len(self)):
            a, b = deck.name(self.a[k]), deck.name(self.b[k])
            law = self.laws[self.law[k]]
            deck.add(f"* @device {k} law={law.name} p={format_number(self.p[k], f'device {k} p')} "
                     f"layer={int(self.layer[k])}",
                     f"bd{k} {a} {b} I={law.expression.spice(a, b, self.p[k])}")

    @classmethod
    def read(cls, reader) -> "Devices":
        laws, pos = [], {}
        for line, args in reader.meta("devlaw"):
            kv = dict(a.split("=", 1) for a in args[1:] if "=" in a)
            if not args or "expression" not in kv:
                raise reader.fail(line, "@devlaw needs a name and expression=")
            try:
                laws.append(DeviceLaw.from_expression(args[0], decode_label(kv["expression"])))
            except ConfigError as exc:
                raise reader.fail(line, str(exc)) from None
            pos[args[0].lower()] = len(laws) - 1
        meta = {}
        for line, args in reader.meta("device"):
            kv = dict(a.split("=", 1) for a in args[1:] if "=" in a)
            if not args or not {"law", "p", "layer"} <= set(kv) or kv["law"].lower() not in pos:
                raise reader.fail(line, "@device needs its index, a known law=, p= and layer=")
            meta[int(float(args[0]))] = (line, pos[kv["law"].lower()], kv)
        rows = {k: [] for k in ("a", "b", "law", "p", "layer")}
        cards = reader.by_prefix("bd")
        for k, el in sorted(cards.items()):
            if k not in meta:
                raise reader.fail(el.line, f"device bd{k} has no '* @device {k}' line")
            line, law, kv = meta[k]
            p = reader.number(kv["p"], line, "p")
            want = laws[law].expression.spice(el.nodes[0], el.nodes[1], p)
            if el.ref != want:  # the card must be the law at the metadata's p: edit p there, not here
                raise reader.fail(el.line, f"device bd{k}: I={el.ref} is not law {laws[law].name} at p = {p!r} "
                                           f"(I={want}); edit the '* @device' line's p instead")
            rows["a"].append(reader.terminal(el.nodes[0]))
            rows["b"].append(reader.terminal(el.nodes[1]))
            rows["law"].append(law)
            rows["p"].append(p)
            rows["layer"].append(int(reader.number(kv["layer"], line, "layer")))
        if set(meta) - set(cards):
            k = min(set(meta) - set(cards))
            raise reader.fail(meta[k][0], f"'@device {k}' has no card bd{k}")
        return cls(laws=tuple(laws), **rows)

    # -- power ----------------------------------------------------------------------------------
    def power(self, pc) -> dict[str, np.ndarray]:
        if not len(self):
            return {}
        v = pc.w[:, self.a] - pc.w[:, self.b]
        i, _ = self.branch(v)
        np.add.at(pc.out, (slice(None), self.a), i)
        np.add.at(pc.out, (slice(None), self.b), -i)
        return {"devices": np.sum(i * v, axis=1)}

    def to_dict(self) -> dict:
        """The columns, and each law as its expression (a saved circuit's device is the
        expression's law, which the circuit was checked to match on the law's grid)."""
        out = super().to_dict()
        out["laws"] = [dict(name=law.name, expression=law.expression.text, p_default=law.p_default,
                            p_range=list(law.p_range), grid=list(law.grid), rtol=law.rtol, atol=law.atol)
                       for law in self.laws]
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "Devices":
        d = dict(d)
        d["laws"] = tuple(law if isinstance(law, DeviceLaw) else
                          DeviceLaw.from_expression(law["name"], law["expression"], p_default=law["p_default"],
                                                    p_range=tuple(law["p_range"]), grid=tuple(law["grid"]),
                                                    rtol=law["rtol"], atol=law["atol"])
                          for law in d.get("laws", ()))
        return cls(**d)

