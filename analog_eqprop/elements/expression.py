"""ngspice's behavioural-source expressions, read and evaluated in NumPy (with derivatives).

A user's device (:mod:`analog_eqprop.elements.device`) gives its I-V law twice: as Python and as
the expression of an ngspice ``B`` source. This module reads that expression the way ngspice
39's parser does (``inpptree-parser.y``: ``+ -`` below ``* /`` below unary minus below ``^``,
every binary operator left-associative; the functions of ``inpptree.c`` with the semantics of
``ptfuncs.c``: ``log`` is the natural logarithm, ``pwl`` interpolates and extrapolates its end
segments linearly, ``u`` is 0.5 at 0...), evaluates it over arrays with forward-mode
derivatives, and writes it back in one canonical text (every number as ``repr``, every binary
operation parenthesised), so that what reaches a deck is built by this module, never copied
from the user's string.

The variables are ``v``, the device's branch voltage [V], and ``p``, its parameter; in a deck
``v`` becomes ``v(a,b)`` and ``p`` the element's number. Numbers are read as ngspice reads them
(``1k``, ``2.5u``).

Not supported (refused with the position named): comparisons, ``?:``, ``&&``/``||``, ``!``,
other variables or node voltages, ``i(...)``, ``time``/``temper``/``hertz``, user functions.

Examples
--------
>>> e = parse_expression("1m*tanh(v/25m) + p*v")
>>> val, dv, dp = e.evaluate(np.array([0.0, 0.1]), np.array(2e-4))
>>> val.round(9).tolist(), dv.round(6).tolist(), dp.round(3).tolist()
([0.0, 0.001019329], [0.0402, 0.000254], [0.0, 0.1])
>>> e.text, e.spice("n1", "n2", 2e-4)
('((0.001*tanh((v/0.025)))+(p*v))', '((0.001*tanh((v(n1,n2)/0.025)))+(0.0002*v(n1,n2)))')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from analog_eqprop.errors import ConfigError, NetlistError
from analog_eqprop.spice.names import format_number
from analog_eqprop.spice.numbers import spice_number

__all__ = ["Expression", "parse_expression", "FUNCTIONS"]

_UNARY = {
    "abs": (np.abs, lambda x: np.sign(x)),
    "sgn": (np.sign, lambda x: np.zeros_like(x)),
    "exp": (np.exp, np.exp),
    "ln": (np.log, lambda x: 1.0 / x),
    "log": (np.log, lambda x: 1.0 / x),
    "log10": (np.log10, lambda x: 1.0 / (x * np.log(10.0))),
    "sqrt": (np.sqrt, lambda x: 0.5 / np.sqrt(x)),
    "sin": (np.sin, np.cos),
    "cos": (np.cos, lambda x: -np.sin(x)),
    "tan": (np.tan, lambda x: 1.0 / np.cos(x) ** 2),
    "sinh": (np.sinh, np.cosh),
    "cosh": (np.cosh, np.sinh),
    "tanh": (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
    "atan": (np.arctan, lambda x: 1.0 / (1.0 + x * x)),
    "asin": (np.arcsin, lambda x: 1.0 / np.sqrt(1.0 - x * x)),
    "acos": (np.arccos, lambda x: -1.0 / np.sqrt(1.0 - x * x)),
    "asinh": (np.arcsinh, lambda x: 1.0 / np.sqrt(x * x + 1.0)),
    "acosh": (np.arccosh, lambda x: 1.0 / np.sqrt(x * x - 1.0)),
    "atanh": (np.arctanh, lambda x: 1.0 / (1.0 - x * x)),
    "u": (lambda x: np.where(x > 0, 1.0, np.where(x < 0, 0.0, 0.5)), lambda x: np.zeros_like(x)),
    "uramp": (lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(np.float64)),
    "u2": (lambda x: np.clip(x, 0.0, 1.0), lambda x: ((x > 0) & (x < 1)).astype(np.float64)),
}
_BINARY_FUNCTIONS = ("min", "max", "pow", "pwr")
#: The functions an expression may call.
FUNCTIONS = tuple(_UNARY) + _BINARY_FUNCTIONS + ("pwl",)
_TOKEN = re.compile(r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?[a-zA-Z]*)|(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)"
                    r"|(?P<op>\*\*|[-+*/^(),]))")


def _power(a, b):
    """ngspice's ``PTpower``: a negative base keeps an integral exponent, else takes ``|a|``."""
    b_int = np.trunc(b)
    integral = np.abs(b - b_int) / (b + 0.001) < 1e-6
    base = np.where((a < 0) & ~integral, -a, a)
    exp = np.where((a < 0) & integral, b_int, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.power(base, exp), base, exp


@dataclass(frozen=True)
class Expression:
    """A parsed expression: a tree of tuples (``("num", x)``, ``("var", "v")``, ``(op, a, b)``,
    ``("neg", a)``, ``("call", name, args)``)."""

    tree: tuple

    # -- evaluation -----------------------------------------------------------------------------
    def evaluate(self, v, p=0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(value, d/dv, d/dp)`` over arrays ``v`` and ``p`` (broadcast)."""
        v = np.asarray(v, dtype=np.float64)
        p = np.asarray(p, dtype=np.float64)
        shape = np.broadcast_shapes(v.shape, p.shape)
        with np.errstate(all="ignore"):
            val, dv, dp = self._eval(self.tree, np.broadcast_to(v, shape), np.broadcast_to(p, shape))
        return (np.broadcast_to(val, shape).astype(np.float64), np.broadcast_to(dv, shape).astype(np.float64),
                np.broadcast_to(dp, shape).astype(np.float64))

    def _eval(self, t, v, p):
        kind = t[0]
        zero = np.zeros(v.shape)
        if kind == "num":
            return np.full(v.shape, t[1]), zero, zero
        if kind == "var":
            return (v, np.ones(v.shape), zero) if t[1] == "v" else (p, zero, np.ones(v.shape))
        if kind == "neg":
            a, da, pa = self._eval(t[1], v, p)
            return -a, -da, -pa
        if kind in ("+", "-", "*", "/", "^"):
            a, da, pa = self._eval(t[1], v, p)
            b, db, pb = self._eval(t[2], v, p)
            if kind == "+":
                return a + b, da + db, pa + pb
            if kind == "-":
                return a - b, da - db, pa - pb
            if kind == "*":
                return a * b, da * b + a * db, pa * b + a * pb
            if kind == "/":
                return a / b, (da * b - a * db) / (b * b), (pa * b - a * pb) / (b * b)
            return self._pow(a, da, pa, b, db, pb, signed=False)
        name, args = t[1], [self._eval(x, v, p) for x in t[2]]
        if name in _UNARY:
            f, df = _UNARY[name]
            (a, da, pa), = args
            d = df(a)
            return f(a), d * da, d * pa
        if name in ("min", "max"):
            (a, da, pa), (b, db, pb) = args
            pick_a = ~(a > b) if name == "min" else (a > b)  # ngspice: a > b ? b : a, and a > b ? a : b
            return np.where(pick_a, a, b), np.where(pick_a, da, db), np.where(pick_a, pa, pb)
        if name in ("pow", "pwr"):
            (a, da, pa), (b, db, pb) = args
            return self._pow(a, da, pa, b, db, pb, signed=name == "pwr")
        # pwl(x, x0, y0, x1, y1, ...): ngspice's PTpwl, the end segments extended
        (x, dx, px), pts = args[0], np.array([a[0].flat[0] for a in args[1:]])
        xs, ys = pts[0::2], pts[1::2]
        k = np.clip(np.searchsorted(xs, x, side="right") - 1, 0, len(xs) - 2)
        slope = (ys[k + 1] - ys[k]) / (xs[k + 1] - xs[k])
        return ys[k] + slope * (x - xs[k]), slope * dx, slope * px

    @staticmethod
    def _pow(a, da, pa, b, db, pb, *, signed: bool):
        """``a^b`` as ngspice's ``PTpower`` (``signed``: ``PTpwr``) and its derivatives."""
        if signed:  # PTpwr: -((-a)^b) for a < 0
            mag = np.abs(a)
            m = np.power(mag, b)
            val = np.where(a < 0, -m, m)
            d_a = np.where(mag != 0, b * np.power(mag, b - 1), 0.0)
            d_b = np.where(mag > 0, val * np.log(np.where(mag > 0, mag, 1.0)), 0.0)
        else:
            val, base, exp = _power(a, b)
            flipped = (a < 0) & (base > 0)  # a non-integral power of a negative base: |a|^b
            d_base = np.where(base != 0, exp * np.power(base, exp - 1), 0.0)
            d_a = np.where(flipped, -d_base, d_base)
            d_b = np.where(base > 0, val * np.log(np.where(base > 0, base, 1.0)), 0.0)
        return val, d_a * da + d_b * db, d_a * pa + d_b * pb

    # -- text -----------------------------------------------------------------------------------
    @property
    def text(self) -> str:
        """The canonical text, in ``v`` and ``p``."""
        return self._text(self.tree, "v", "p")

    def spice(self, a: str, b: str, p: float) -> str:
        """The expression for a ``B`` source between nodes ``a`` and ``b`` with parameter ``p``."""
        return self._text(self.tree, f"v({a},{b})", format_number(p, "device parameter"))

    def _text(self, t, v: str, p: str) -> str:
        kind = t[0]
        if kind == "num":
            return format_number(t[1], "a number of the expression")
        if kind == "var":
            return v if t[1] == "v" else p
        if kind == "neg":
            return f"(-{self._text(t[1], v, p)})"
        if kind in ("+", "-", "*", "/", "^"):
            return f"({self._text(t[1], v, p)}{kind}{self._text(t[2], v, p)})"
        return f"{t[1]}({','.join(self._text(x, v, p) for x in t[2])})"

    @property
    def uses_p(self) -> bool:
        """Whether the expression depends on the parameter ``p``."""
        def walk(t):
            return t == ("var", "p") or any(isinstance(x, tuple) and walk(x) for x in t[1:]) or \
                (t[0] == "call" and any(walk(x) for x in t[2]))
        return walk(self.tree)


class _Parser:
    def __init__(self, text: str, variables: dict[str, str], error):
        self.text, self.error, self.vars = text, error, variables
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise error(f"expression {text!r}: cannot read {text[pos:pos + 12]!r} (position {pos})")
            kind = m.lastgroup
            self.tokens.append((kind, m.group(kind), m.start(kind)))
            pos = m.end()
        self.i = 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", "", len(self.text))

    def take(self, value=None):
        tok = self.peek()
        if value is not None and tok[1] != value:
            raise self.error(f"expression {self.text!r}: expected {value!r} at position {tok[2]}, got "
                             f"{tok[1] or 'the end'!r}")
        self.i += 1
        return tok

    def parse(self):
        tree = self.sum()
        if self.peek()[0] != "end":
            tok = self.peek()
            raise self.error(f"expression {self.text!r}: unexpected {tok[1]!r} at position {tok[2]}")
        return tree

    def sum(self):
        t = self.product()
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            t = (op, t, self.product())
        return t

    def product(self):
        t = self.unary()
        while self.peek()[1] in ("*", "/"):
            op = self.take()[1]
            t = (op, t, self.unary())
        return t

    def unary(self):
        if self.peek()[1] == "-":
            self.take()
            return ("neg", self.unary())
        if self.peek()[1] == "+":
            self.take()
            return self.unary()
        return self.power()

    def power(self):
        t = self.atom()
        while self.peek()[1] in ("^", "**"):
            self.take()
            t = ("^", t, self.atom())
        return t

    def atom(self):
        kind, value, pos = self.take()
        if kind == "num":
            try:
                return ("num", spice_number(value))
            except NetlistError as exc:
                raise self.error(f"expression {self.text!r}: {exc}") from None
        if value == "(":
            t = self.sum()
            self.take(")")
            return t
        if value == "-":
            return ("neg", self.atom())
        if kind == "name":
            low = value.lower()
            if self.peek()[1] == "(":
                self.take("(")
                args = [self.sum()]
                while self.peek()[1] == ",":
                    self.take()
                    args.append(self.sum())
                self.take(")")
                return self.call(low, args, pos)
            if low in self.vars:
                return ("var", self.vars[low])
            raise self.error(f"expression {self.text!r}: unknown name {value!r} at position {pos} (use v for the "
                             f"device's voltage, p for its parameter)")
        raise self.error(f"expression {self.text!r}: unexpected {value or 'end'!r} at position {pos}")

    def call(self, name: str, args: list, pos: int):
        if name in _UNARY:
            want = 1
        elif name in _BINARY_FUNCTIONS:
            want = 2
        elif name == "pwl":
            if len(args) < 5 or len(args) % 2 == 0 or any(a[0] != "num" and not (a[0] == "neg" and a[1][0] == "num")
                                                           for a in args[1:]):
                raise self.error(f"expression {self.text!r}: pwl(x, x0, y0, x1, y1, ...) needs at least two points "
                                 "of plain numbers")
            pts = [a[1] if a[0] == "num" else -a[1][1] for a in args[1:]]
            if np.any(np.diff(pts[0::2]) <= 0):
                raise self.error(f"expression {self.text!r}: pwl's abscissae must increase")
            return ("call", "pwl", [args[0]] + [("num", float(x)) for x in pts])
        else:
            raise self.error(f"expression {self.text!r}: unknown function {name!r} at position {pos}; known: "
                             + ", ".join(FUNCTIONS))
        if len(args) != want:
            raise self.error(f"expression {self.text!r}: {name}() takes {want} argument(s), got {len(args)}")
        return ("call", name, args)


def parse_expression(text: str, *, error: type[Exception] = ConfigError, variables=("v", "p")) -> Expression:
    """Read an expression in ``v`` (and ``p``); ``error`` (ConfigError, or NetlistError when it
    comes from a deck) names what is wrong and where."""
    if not isinstance(text, str) or not text.strip():
        raise error(f"an expression must be a non-empty string, got {text!r}")
    if len(text) > 100_000:
        raise error("an expression of more than 100,000 characters")
    return Expression(_Parser(text, {k: k for k in variables}, error).parse())
