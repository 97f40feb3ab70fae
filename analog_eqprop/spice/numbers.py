r"""SPICE numbers as ngspice 39.3 reads them: the one reader for netlists, model cards and options.

ngspice reads a number (``INPevaluate`` in ``src/spicelib/parser/inpeval.c``) as: an
optional sign, digits with an optional decimal point, an optional exponent (``e``, ``E``
and also ``d``, ``D``: ``1d3`` is 1000), then one *scale factor* and anything after it,
which it ignores (units: ``10kohm``, ``1.5V``, ``4.7uF``):

=========  ========  =========================================================
suffix     factor    note
=========  ========  =========================================================
``t``      1e12
``g``      1e9
``meg``    1e6       ``m`` followed by ``eg``
``k``      1e3
``m``      1e-3      milli, also ``M``: SPICE is case-blind (``1M`` is 1e-3)
``mil``    25.4e-6   ``m`` followed by ``il``: a thousandth of an inch
``u``      1e-6      the micro sign ``µ`` (U+00B5) is read as ``u``
``n``      1e-9
``p``      1e-12
``f``      1e-15     so ``1farad`` is 1e-15 too
=========  ========  =========================================================

There is no atto (``1a`` is 1: ``a`` is a unit letter) and no ``x`` (HSPICE's mega).
Before that, ngspice's tokenizer (``INPgetUTok``) ends a value at ``, = ( ) * / ^`` and at
a sign after anything but the mantissa's ``e``: ``1d-3`` is read as ``1d`` (1) followed by
another token ``-3``, ``1,5`` as ``1`` and ``5``.
ngspice refuses a token that does not start with a digit or a point after the sign
(``e3``, ``inf``, ``nan``, full-width ``１２３`` or other non-ASCII digits): it takes it
for a model name and fails.

**Stricter than ngspice, on purpose** (``strict=True``, the default). ngspice stops at
the first character it does not understand and silently ignores the rest, so ``353_006``
is 353, ``1.2.3`` is 1.2, ``1k2`` is 1000, ``1e3.5`` is 1000, ``1e-`` is 1, ``.`` is 0,
``1Ω`` is 1, ``1e309`` is infinite, and ``1d-3`` and ``1,5`` are two tokens each. A value a user did not mean is worse than an error,
so those are refused: the token must be one token to ngspice, after the number and its
scale factor only ASCII letters may follow, an exponent marker needs digits, the mantissa
needs a digit, and the value must be finite.
Every token the strict reader accepts means what it means to ngspice; ``strict=False``
accepts what ngspice accepts (tests/test_spice_numbers.py checks both against ngspice).

**Rounding.** ngspice accumulates the digits in a double and multiplies by
``pow(10, exponent)``, which is not correctly rounded: it reads ``0.3`` as
``0.30000000000000004``. This reader returns the correctly rounded value by default (so
that ``float(repr(x))`` round trips keep holding: the netlist parser reproduces decks
byte for byte); ``ngspice_rounding=True`` reproduces ngspice's arithmetic bit for bit.
The two differ by at most a few units in the last place.

Examples
--------
>>> [spice_number(t) for t in ["1k", "10kohm", "1.5V", "1meg", "1M", "10mil", "2.2u", "1d3", "4.7µ"]]
[1000.0, 10000.0, 1.5, 1000000.0, 0.001, 0.000254, 2.2e-06, 1000.0, 4.7e-06]
>>> spice_number("0.3"), spice_number("0.3", ngspice_rounding=True)
(0.3, 0.30000000000000004)
>>> spice_number("353_006")
Traceback (most recent call last):
...
analog_eqprop.errors.NetlistError: '353_006' is not a SPICE number: ngspice would read 353 and ignore '_006'
>>> spice_number("353_006", strict=False)
353.0
>>> option_value("200"), option_value("1e-6"), option_value("gear"), option_value("10u")
(200, 1e-06, 'gear', 1e-05)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import MAX_EMAX, MIN_EMIN, Decimal, Overflow, Underflow, localcontext

from analog_eqprop.errors import NetlistError

__all__ = ["spice_number", "is_spice_number", "option_value", "scan_number", "NumberScan", "SCALE_FACTORS"]

#: Scale factors by suffix, as powers of ten (``mil`` is 25.4e-6, see the module docstring).
SCALE_FACTORS = {"t": 12, "g": 9, "meg": 6, "k": 3, "m": -3, "u": -6, "n": -9, "p": -12, "f": -15}

_DIGITS = "0123456789"
_LETTERS = re.compile(r"[A-Za-z]*")
_PLAIN = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_MICRO = "\u00b5"  # ngspice's utf8_check turns the micro sign (only this one) into 'u'


@dataclass(frozen=True)
class NumberScan:
    """What ngspice's ``INPevaluate`` sees in one token.

    Attributes
    ----------
    ok : bool
        False where ngspice refuses the token (then ``problem`` says why).
    sign : int
        +1 or -1.
    int_digits, frac_digits : str
        The digits before and after the decimal point.
    exp_marker : str
        ``""`` or the exponent letter (``e``/``d``, any case) and its sign.
    exp_digits : str
        The exponent's digits (may be empty after a marker: ngspice reads exponent 0).
    scale : str
        ``""`` or the scale factor, lowercased (``"k"``, ``"meg"``, ``"mil"``...).
    tail : str
        What ngspice ignores after the scale factor.
    rest : str
        What ngspice's tokenizer (``INPgetUTok``) cuts off as further tokens: it ends a
        token at ``, = ( ) * / ^`` and blanks, and at a sign that does not follow the
        mantissa's ``e`` (``1d-3`` is the two tokens ``1d`` and ``-3``).
    problem : str
        Why ngspice refuses the token (empty when ``ok``).
    """

    ok: bool
    sign: int = 1
    int_digits: str = ""
    frac_digits: str = ""
    exp_marker: str = ""
    exp_digits: str = ""
    scale: str = ""
    tail: str = ""
    rest: str = ""
    problem: str = ""

    @property
    def text(self) -> str:
        """The token ngspice reads as the number (the part before ``rest``)."""
        return ("-" if self.sign < 0 else "") + self.int_digits + ("." + self.frac_digits if self.frac_digits else "") \
            + self.exp_marker + self.exp_digits + self.scale + self.tail

    @property
    def exponent(self) -> int:
        """The written exponent (0 without digits), signed."""
        e = int(self.exp_digits) if self.exp_digits else 0
        return -e if self.exp_marker.endswith("-") else e

    def strict_problem(self) -> str:
        """Why the strict reader refuses a token ngspice accepts (empty: it does not)."""
        if self.rest:
            return f"ngspice would split it, reading {self.text!r} and then {self.rest!r} as more tokens"
        if not (self.int_digits or self.frac_digits):
            return "it has no digits"
        if self.exp_marker and not self.exp_digits:
            return f"its exponent {self.exp_marker!r} has no digits"
        if not _LETTERS.fullmatch(self.tail):
            return f"ngspice would read {_show(self.int_digits, self.frac_digits, self.sign)}" \
                   f"{self.exp_marker}{self.exp_digits}{self.scale} and ignore {self.tail!r}"
        return ""


def _show(int_digits: str, frac_digits: str, sign: int) -> str:
    text = (int_digits or "0") + ("." + frac_digits if frac_digits else "")
    return ("-" if sign < 0 else "") + text


def _utok_end(s: str) -> int:
    """Where ngspice's value tokenizer (``INPgetUTok``, inpgtok.c) ends the token ``s``."""
    state = 0
    for i, ch in enumerate(s):
        if ch in " \t=(),*/^":
            return i if i else 1
        if ch in "+-":
            if state in (1, 3):
                return i if i else 1
            state += 1
        elif ch in _DIGITS or ch == ".":
            state = 3 if state > 1 else 1
        elif ch in "eE" and state == 1:
            state = 2
        else:
            state = 3
    return len(s)


def scan_number(token: str) -> NumberScan:
    """Split ``token`` the way ngspice 39.3 reads it (``INPgetUTok``, then ``INPevaluate``).

    >>> s = scan_number("-1.5e3kohm")
    >>> s.sign, s.int_digits, s.frac_digits, s.exp_marker, s.exp_digits, s.scale, s.tail
    (-1, '1', '5', 'e', '3', 'k', 'ohm')
    >>> scan_number("1d-3").rest
    '-3'
    """
    whole = token.replace(_MICRO, "u")
    cut = _utok_end(whole)
    s, rest = whole[:cut], whole[cut:]
    i, n, sign = 0, len(s), 1
    if i < n and s[i] in "+-":
        sign = -1 if s[i] == "-" else 1
        i += 1
    if i >= n or (s[i] not in _DIGITS and s[i] != "."):
        what = "it is empty" if not s else "it is only a sign" if i >= n else \
            f"it starts with {s[i]!r}, not a digit or '.' (ngspice would take it for a model name)"
        return NumberScan(False, rest=rest, problem=what)
    j = i
    while j < n and s[j] in _DIGITS:
        j += 1
    int_digits, i = s[i:j], j
    frac = ""
    if i < n and s[i] == ".":
        j = i + 1
        while j < n and s[j] in _DIGITS:
            j += 1
        frac, i = s[i + 1:j], j
    marker = digits = ""
    if i < n and s[i] in "eEdD":
        marker, i = s[i], i + 1
        if i < n and s[i] in "+-":
            marker, i = marker + s[i], i + 1
        j = i
        while j < n and s[j] in _DIGITS:
            j += 1
        digits, i = s[i:j], j
    scale = ""
    if i < n:
        low = s[i:i + 3].lower()
        if low in ("meg", "mil"):
            scale = low
        elif low[:1] in SCALE_FACTORS:
            scale = low[:1]
        i += len(scale)
    return NumberScan(True, sign, int_digits, frac, marker, digits, scale, s[i:], rest)


def _ngspice_value(sc: NumberScan) -> float:
    """ngspice's own arithmetic (INPevaluate, inpeval.c), operation for operation."""
    mantis, expo1 = 0.0, 0
    for ch in sc.int_digits:
        mantis = (10 * mantis + ord(ch)) - ord("0")  # C: 10 * mantis + *here - '0', left to right
    if not sc.frac_digits and not sc.exp_marker and not sc.scale:
        return mantis * sc.sign
    for ch in sc.frac_digits:
        mantis = (10 * mantis + ord(ch)) - ord("0")
        expo1 -= 1
    expo2 = 0
    for ch in sc.exp_digits:
        expo2 = 10 * expo2 + int(ch)
    expo2 = -expo2 if sc.exp_marker.endswith("-") else expo2
    if sc.scale == "mil":
        expo1 -= 6
        mantis *= 25.4
    elif sc.scale:
        expo1 += SCALE_FACTORS[sc.scale]
    try:
        return float(sc.sign) * mantis * math.pow(10.0, expo1 + expo2)
    except OverflowError:
        return math.copysign(math.inf, sc.sign) if mantis else 0.0


def _rounded_value(sc: NumberScan) -> float:
    """The correctly rounded value of the number ngspice reads."""
    digits = (sc.int_digits + sc.frac_digits).lstrip("0") or "0"
    exp = sc.exponent - len(sc.frac_digits)
    with localcontext() as ctx:
        ctx.prec = len(digits) + 8
        ctx.Emax, ctx.Emin = MAX_EMAX, MIN_EMIN
        ctx.traps[Overflow] = ctx.traps[Underflow] = False  # inf / 0, as a double would be
        value = Decimal(int(digits)).scaleb(exp)
        if sc.scale == "mil":
            value = value * Decimal("25.4") * Decimal(10) ** -6
        elif sc.scale:
            value = value.scaleb(SCALE_FACTORS[sc.scale])
    return sc.sign * float(value)


def spice_number(token: str, *, strict: bool = True, ngspice_rounding: bool = False) -> float:
    """The value of a SPICE number token (see the module docstring for the grammar).

    Parameters
    ----------
    token : str
        One token, e.g. ``"4.7k"``; surrounding spaces and tabs are ignored.
    strict : bool
        Refuse what ngspice reads but a user hardly meant (``353_006``, ``1.2.3``, ``1e-``,
        infinite values). With False, accept what ngspice reads as one number (a token it
        splits in two, ``1d-3`` or ``1,5``, is refused either way).
    ngspice_rounding : bool
        Reproduce ngspice's arithmetic bit for bit instead of rounding correctly.

    Raises
    ------
    NetlistError
        Naming the token and the reason.
    """
    if not isinstance(token, str):
        raise NetlistError(f"a SPICE number must be text, got {type(token).__name__}")
    tok = token.strip(" \t")
    if not ngspice_rounding and _PLAIN.fullmatch(tok):
        value = float(tok)  # the common case: Python's reading is the correctly rounded one
        if math.isfinite(value) or not strict:
            return value
    sc = scan_number(tok)
    if not sc.ok:
        raise NetlistError(f"{token!r} is not a SPICE number: {sc.problem}")
    if sc.rest:  # not one number to ngspice, whatever the mode
        raise NetlistError(f"{token!r} is not a SPICE number: {sc.strict_problem()}")
    if strict:
        problem = sc.strict_problem()
        if problem:
            raise NetlistError(f"{token!r} is not a SPICE number: {problem}")
    value = _ngspice_value(sc) if ngspice_rounding else _rounded_value(sc)
    if strict and not math.isfinite(value):
        raise NetlistError(f"{token!r} is not a SPICE number: its value {value} is not finite")
    return value


def is_spice_number(token: str, *, strict: bool = True) -> bool:
    """Whether :func:`spice_number` accepts ``token``.

    >>> [is_spice_number(t) for t in ["1k", "1.2.3", "abc", "1e"]]
    [True, False, False, False]
    """
    try:
        spice_number(token, strict=strict)
    except NetlistError:
        return False
    return True


_INT = re.compile(r"[-+]?[0-9]+")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def option_value(token: str) -> int | float | str:
    """An ``.options`` value as SPICE reads it: an int (plain digits), else a SPICE number
    (float), else a word such as ``gear``.

    Raises
    ------
    NetlistError
        For text that starts like a number but is not one (``1_000``, ``1.2.3``), and for
        anything that is neither a number nor a word of ``[A-Za-z][A-Za-z0-9_]*``.

    >>> option_value("200"), option_value("1e-6"), option_value("gear"), option_value("1meg")
    (200, 1e-06, 'gear', 1000000.0)
    """
    if not isinstance(token, str):
        raise NetlistError(f"an option value must be text, got {type(token).__name__}")
    tok = token.strip(" \t")
    if _INT.fullmatch(tok):
        return int(tok)
    if _WORD.fullmatch(tok):
        return tok
    if tok[:1] in "+-." or tok[:1] in _DIGITS:
        return spice_number(tok)
    raise NetlistError(f"option value {token!r} is neither a SPICE number nor a word of letters, digits and '_'")
