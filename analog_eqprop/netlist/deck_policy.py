r"""What a deck from outside may hold before ngspice sees it: an allow list, checked line by line.

A SPICE deck is code: ngspice 39.3 runs ``shell`` commands from ``.control`` blocks (any
card *starting* with ``.control``: ``.controlfoo`` too), from ``*#`` lines, from every line
of a file whose first line starts with ``*ng_script`` (also a ``.title *ng_script`` card,
which becomes the first line), and reads other files for any card starting with ``.inc``
(``.include``, ``.incl``, ``.includeXYZ``) or ``.lib`` (``.lib FILE SECTION``,
``.library``), on the title line as well. Through libngspice leading blanks are stripped
and empty lines dropped (an indented ``.include`` is an include, a blank first line makes
the second line the title), and ``ngspice -b`` splits a first line longer than 4999 bytes
in two. A deny list would have to know all of that; this module admits only:

* **element cards** starting with one of :data:`ELEMENT_LETTERS`: ``R C L V I D E F G H
  B M X`` (resistor, capacitor, inductor, voltage and current sources, diode, the four
  controlled sources, behavioural source, MOSFET, subcircuit instance);
* **dot cards** in :data:`DOT_CARDS`: ``.model .options .option .opt .op .dc .tran .save
  .print .ic .nodeset .temp .global .param .func .subckt .ends .title .end``, spelled
  exactly (a longer word is refused, not read as a prefix); ``.model`` only for the types in
  :data:`MODEL_TYPES`, ``.options`` only with the keys in :data:`OPTIONS`;
* ``*`` comments (not ``*#``, not ``*ng_script``), blank lines, ``+`` continuation lines;
  and a title line that is free text (at most 1000 bytes, not a card but ``.title``, not a
  command or script comment).

Everywhere ngspice reads a card (continuation lines included) it refuses the words
:data:`COMMAND_WORDS` (``shell``, ``exec``, ...) in any case, backquotes, control
characters, non-ASCII text (but the micro sign), ``\\`` line continuations, and numbers that
:func:`~analog_eqprop.spice.numbers.spice_number` refuses (``353_006``: ngspice
would read 353). Comments and the title are inert text and may say anything.

Every refusal is a :class:`~analog_eqprop.errors.NetlistError` that names the line, by
number and text. Decks written by :mod:`analog_eqprop.netlist.compiler` pass unchanged.
Who trusts a deck (its commands, includes and all) skips this check explicitly:
``analog-eqprop simulate --trust-deck``, ``trust_deck=True`` in the drivers.

Examples
--------
>>> check_deck("divider\nV1 in 0 1\nR1 in mid 1k\nR2 mid 0 3k\n.op\n.end\n")
>>> check_deck("t\nR1 a 0 1k\n.incl /tmp/payload.cir\n.end\n")
Traceback (most recent call last):
...
analog_eqprop.errors.NetlistError: deck line 3: card '.incl' is not allowed (ngspice reads another file for any card starting with '.inc'); allowed dot cards: .dc .end .ends .func .global .ic .model .nodeset .op .opt .option .options .param .print .save .subckt .temp .title .tran -- line 3: '.incl /tmp/payload.cir'
>>> check_deck("t\nR1 a 0 1k\n+ shell touch /tmp/x\n.end\n")
Traceback (most recent call last):
...
analog_eqprop.errors.NetlistError: deck line 3: 'shell' is a command word; decks may not hold commands (pass trust_deck=True / --trust-deck to run a deck's own commands) -- line 3: '+ shell touch /tmp/x'
"""

from __future__ import annotations

import math
import numbers
import re

from analog_eqprop.spice.numbers import spice_number
from analog_eqprop.errors import NetlistError

__all__ = ["check_deck", "check_options", "ELEMENT_LETTERS", "DOT_CARDS", "MODEL_TYPES", "OPTIONS", "COMMAND_WORDS",
           "MAX_TITLE_BYTES"]

#: Element letters a deck may use, with what they are.
ELEMENT_LETTERS = {
    "r": "resistor", "c": "capacitor", "l": "inductor", "v": "voltage source", "i": "current source",
    "d": "diode", "e": "voltage-controlled voltage source", "f": "current-controlled current source",
    "g": "voltage-controlled current source", "h": "current-controlled voltage source",
    "b": "behavioural source", "m": "MOSFET", "x": "subcircuit instance",
}
#: Dot cards a deck may use (the exact words).
DOT_CARDS = frozenset(
    ".model .options .option .opt .op .dc .tran .save .print .ic .nodeset .temp .global .param .func "
    ".subckt .ends .title .end".split()
)
#: ``.model`` types a deck may define.
MODEL_TYPES = frozenset("d r c l nmos pmos".split())
#: ``.options`` keys a deck may set: "number", "flag", or the set of words allowed as value.
#: Simulator tolerances, limits and defaults only: nothing that names a file or a program.
OPTIONS: dict[str, object] = {
    **dict.fromkeys("gmin gshunt reltol abstol vntol trtol chgtol pivtol pivrel tnom temp itl1 itl2 itl3 itl4 "
                    "itl5 itl6 srcsteps gminsteps gminfactor maxord xmu bypass rshunt cshunt minbreak defm defl "
                    "defw defad defas numdgt seed".split(), "number"),
    **dict.fromkeys("noopiter oldlimit acct noacct list nomod nopage node opts keepopinfo noinit norefvalue klu "
                    "sparse".split(), "flag"),
    "method": frozenset({"gear", "trap", "trapezoidal"}),
    "filetype": frozenset({"ascii", "binary"}),
}
#: Words refused wherever ngspice reads a card: its ways to start programs or load code.
COMMAND_WORDS = frozenset("shell exec system popen unixcom codemodel osdi pre_osdi".split())
#: Longest title line accepted (``ngspice -b`` reads the first line into a 5000-byte buffer
#: and takes the rest of a longer one for a second line).
MAX_TITLE_BYTES = 1000

_TRUST_HINT = "pass trust_deck=True / --trust-deck to run a deck's own commands"
_NUMBERLIKE = re.compile(r"[-+]?\.?[0-9]")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BAD_CHAR = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f\u00b5]")
_SPLIT = re.compile(r"[\s=(),]+")
_GROUPS = re.compile(r"\{[^{}]*\}|'[^']*'|\"[^\"]*\"")
_PLAIN = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_NUM = r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_NODE = r"[ \t]+[a-z0-9_]+"
_WORDS = "|".join(sorted(COMMAND_WORDS))


def _fast_line(words: bool) -> re.Pattern:
    """A lowercased line that needs no closer look: blank lines, plain comments,
    two-terminal elements and controlled sources with a plain number (and, if ``words``, no
    command word), continuation lines of plain numbers -- most of a compiled deck."""
    guard = r"(?![^\n]*(?:" + _WORDS + r"))" if words else ""
    fast = (
        r"[ \t]*(?:|\*(?!#|ng_script)[^\x00-\x08\x0a-\x1f\x7f]*"
        r"|" + guard
        + r"(?:[rclvi][a-z0-9_]*" + _NODE * 2 + r"[ \t]+" + _NUM + r"|[eg][a-z0-9_]*" + _NODE * 4 + r"[ \t]+" + _NUM
        + r"|[fh][a-z0-9_]*" + _NODE * 2 + r"[ \t]+[a-z][a-z0-9_]*[ \t]+" + _NUM
        + r"|d[a-z0-9_]*" + _NODE * 2 + r"[ \t]+[a-z][a-z0-9_]*)"
        r"|\+[ \t0-9e.,+\-()]*)[ \t]*"
    )
    return re.compile(fast)


_FAST, _FAST_GUARDED = _fast_line(False), _fast_line(True)
_MORE = "+ \t0123456789e.,-()"  # a continuation line of these characters only holds numbers
# nodes after the element name, per letter (values after them are checked as numbers)
_NODES = {"r": 2, "c": 2, "l": 2, "v": 2, "i": 2, "d": 2, "e": 4, "g": 4, "f": 2, "h": 2, "m": 4}


def _refuse(no: int, text: str, why: str) -> NetlistError:
    shown = text.strip()
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    exc = NetlistError(f"deck line {no}: {why} -- line {no}: {shown!r}")
    exc.deck_line = no  # type: ignore[attr-defined]
    return exc


def _strip_comment(text: str) -> str:
    """``text`` without an end-of-line comment (``;``, ``//``, or ``$`` after a blank or comma)."""
    m = re.search(r";|//|(?<=[ \t,])\$", text)
    return text[: m.start()] if m else text


class _Card:
    __slots__ = ("parts",)

    def __init__(self, no: int, text: str):
        self.parts = [(no, text, text)]  # (line number, content, the line as written)

    @property
    def no(self) -> int:
        return self.parts[0][0]

    @property
    def text(self) -> str:
        return self.parts[0][2]

    def where(self, needle: str) -> tuple[int, str]:
        """The physical line (number, text) holding ``needle``, else the card's first line."""
        low = needle.lower()
        for no, content, raw in self.parts:
            if low in content.lower():
                return no, raw
        return self.parts[0][0], self.parts[0][2]


def _lines(text: str) -> list[str]:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def _check_title(no: int, line: str) -> None:
    s = line.lstrip(" \t")
    if len(line.encode("utf-8", "surrogatepass")) > MAX_TITLE_BYTES:
        raise _refuse(no, line, f"the title line is longer than {MAX_TITLE_BYTES} bytes (ngspice -b would read "
                                "the rest of it as another line)")
    low = s.lower()
    if low.startswith("."):
        if not re.match(r"\.title(\s|$)", low):
            raise _refuse(no, line, "the title line holds a dot card; ngspice still acts on includes and "
                                    "control cards there (only '.title' may start it)")
        _check_title_text(no, line, s[6:])
    elif low.startswith(("*ng_script", "*#")) or low.startswith("@"):
        raise _refuse(no, line, "the title line starts a script or a command")


def _check_title_text(no: int, line: str, text: str) -> None:
    if text.lstrip(" \t")[:1] in ("*", ".", "@", "+"):
        raise _refuse(no, line, "a .title text may not start with '*', '.', '@' or '+' (a '.title *ng_script' "
                                "turns the deck into a script)")


def _classify(no: int, raw: str, cards: list[_Card]) -> None:
    """Check one physical line after the title, but a '+' line; a card it starts goes to ``cards``."""
    if _BAD_CHAR.search(raw):
        raise _refuse(no, raw, f"control character {_BAD_CHAR.search(raw).group()!r}")
    s = raw.lstrip(" \t")
    low = s.lower()
    if not s:
        return
    if low.startswith("*"):
        if low.startswith("*#"):
            raise _refuse(no, raw, f"'*#' lines are ngspice commands; {_TRUST_HINT}")
        if low.startswith("*ng_script"):
            raise _refuse(no, raw, "'*ng_script' turns a deck into a script of commands")
        return
    if s.rstrip(" \t").endswith("\\\\"):
        raise _refuse(no, raw, "a line ending in '\\\\' continues into the next one (ngspice's shell-style "
                               "continuation); continue cards with '+' lines")
    if s.startswith("."):
        word = re.match(r"\.[^\s]*", s).group().lower()
        if word not in DOT_CARDS:
            hint = " (ngspice reads another file for any card starting with '.inc')" if word.startswith(".inc") else \
                " (ngspice reads another file for any card starting with '.lib')" if word.startswith(".lib") else \
                " (ngspice runs the commands of any block starting with '.control')" if word.startswith(
                    (".control", ".endc")) else ""
            raise _refuse(no, raw, f"card {word!r} is not allowed{hint}; allowed dot cards: "
                                   + " ".join(sorted(DOT_CARDS)))
        if word == ".title":  # ngspice takes the title from it as it reads the line
            _check_title_text(no, raw, s[6:])
        cards.append(_Card(no, s))
        return
    letter = s[0].lower()
    if letter in ELEMENT_LETTERS:
        cards.append(_Card(no, s))
        return
    if letter.isalpha():
        raise _refuse(no, raw, f"element letter {s[0]!r} is not allowed; allowed: "
                               + ", ".join(f"{k.upper()} ({v})" for k, v in ELEMENT_LETTERS.items()))
    raise _refuse(no, raw, f"a card cannot start with {s[0]!r}")


def _numbers(card: _Card, tokens: list[str]) -> None:
    for tok in tokens:
        if tok and _NUMBERLIKE.match(tok) and not _PLAIN.fullmatch(tok):
            try:
                spice_number(tok)
            except NetlistError as exc:
                no, text = card.where(tok)
                raise _refuse(no, text, str(exc)) from None


def _values(card: _Card, body: str) -> list[str]:
    """Tokens of ``body`` split at blanks, ``=``, parentheses and commas; braces and quotes
    (expressions) become one opaque word."""
    return _SPLIT.split(_GROUPS.sub(" expr ", body).strip())


def _check_options(card: _Card, body: str) -> None:
    if "{" in body or "'" in body or '"' in body:
        no, text = card.where("{" if "{" in body else "'" if "'" in body else '"')
        raise _refuse(no, text, "an .options card may not hold expressions or quotes")
    items = [i for i in re.split(r"[\s,]+", re.sub(r"\s*=\s*", "=", body).strip()) if i]
    for item in items:
        key, eq, value = item.partition("=")
        kind = OPTIONS.get(key.lower())
        if kind is None:
            no, text = card.where(key)
            raise _refuse(no, text, f"option {key!r} is not allowed; allowed options: " + " ".join(sorted(OPTIONS)))
        if not eq:
            if kind != "flag":
                no, text = card.where(key)
                raise _refuse(no, text, f"option {key!r} needs a value")
            continue
        if isinstance(kind, frozenset):
            if value.lower() not in kind:
                no, text = card.where(item)
                raise _refuse(no, text, f"option {key}={value!r}: allowed values are " + ", ".join(sorted(kind)))
        else:
            try:
                spice_number(value)
            except NetlistError as exc:
                no, text = card.where(item)
                raise _refuse(no, text, f"option {key}: {exc}") from None


def _check_model(card: _Card, body: str) -> None:
    m = re.match(r"\s*([^\s(]+)\s+([A-Za-z][A-Za-z0-9_]*)", body)
    if not m:
        raise _refuse(card.no, card.text, "a .model card needs a name and a type")
    if m.group(2).lower() not in MODEL_TYPES:
        no, text = card.where(m.group(2))
        raise _refuse(no, text, f"model type {m.group(2)!r} is not allowed; allowed: " + ", ".join(sorted(MODEL_TYPES)))
    rest = _GROUPS.sub(" expr ", body[m.end():])
    _numbers(card, [v for k, v in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([^\s=(),]+)", rest)])


def _check_card(card: _Card) -> None:
    kept = [_strip_comment(t) for _, t, _ in card.parts]
    for (no, _, text), live in zip(card.parts, kept):
        bad = _NON_ASCII.search(live)
        if bad:
            raise _refuse(no, text, f"non-ASCII character {bad.group()!r} in a card (ngspice reads bytes; "
                                    "only the micro sign is understood)")
        if "`" in live:
            raise _refuse(no, text, f"backquotes run commands in ngspice; {_TRUST_HINT}")
    body = " ".join(kept)
    for word in _IDENT.findall(body):
        if word.lower() in COMMAND_WORDS:
            no, text = card.where(word)
            raise _refuse(no, text, f"{word.lower()!r} is a command word; decks may not hold commands ({_TRUST_HINT})")
    head, _, rest = body.strip().partition(" ")
    low = head.lower()
    if low.startswith("."):
        if low in (".options", ".option", ".opt"):
            _check_options(card, rest)
        elif low == ".model":
            _check_model(card, rest)
        elif low in (".ic", ".nodeset"):
            _numbers(card, re.findall(r"=\s*([^\s=(),]+)", _GROUPS.sub(" expr ", rest)))
        elif low in (".dc", ".tran", ".temp"):
            _numbers(card, _values(card, rest))
        return
    letter = low[0]
    if letter in _NODES:
        _numbers(card, _values(card, rest)[_NODES[letter]:])


def _continue(no: int, raw: str, lines: list[str], cards: list[_Card]) -> None:
    """Add the '+' line ``no`` to the card it continues: the nearest line above that is
    neither blank, a comment nor a continuation (ngspice skips comments in between)."""
    if _BAD_CHAR.search(raw):
        raise _refuse(no, raw, f"control character {_BAD_CHAR.search(raw).group()!r}")
    k = no - 2
    while k >= 1 and (not lines[k].strip() or lines[k].lstrip(" \t")[:1] in ("*", "+")):
        k -= 1
    if k < 1:
        raise _refuse(no, raw, "continuation line '+' without a card to continue")
    if not (cards and cards[-1].no == k + 1):  # a card that passed the fast look gets more text
        cards.append(_Card(k + 1, lines[k].lstrip(" \t")))
    cards[-1].parts.append((no, raw.lstrip(" \t")[1:], raw))


def check_options(options) -> None:
    """Refuse ``.options`` entries (a mapping, as the compiler takes them) that the deck
    policy would refuse: unknown keys, flags given values, words not allowed, non-numbers.

    >>> check_options({"reltol": 1e-6, "method": "gear", "klu": True})
    >>> check_options({"rawfile": "out.raw"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    analog_eqprop.errors.NetlistError: option 'rawfile' is not allowed in a deck; allowed options: abstol acct ...
    """
    for key, value in dict(options or {}).items():
        kind = OPTIONS.get(str(key).lower())
        if kind is None:
            raise NetlistError(f"option {key!r} is not allowed in a deck; allowed options: "
                               + " ".join(sorted(OPTIONS)))
        if value is None or value is False:
            continue
        if value is True:
            if kind != "flag":
                raise NetlistError(f"option {key!r} needs a value, not True")
        elif isinstance(kind, frozenset):
            if not isinstance(value, str) or value.lower() not in kind:
                raise NetlistError(f"option {key}={value!r}: allowed values are " + ", ".join(sorted(kind)))
        elif isinstance(value, str):
            spice_number(value)
        elif not (isinstance(value, numbers.Real) and math.isfinite(float(value))):
            raise NetlistError(f"option {key}={value!r} is not a finite number")


def check_deck(text: str) -> None:
    """Refuse a deck that holds anything but what the allow list admits (module docstring).

    Parameters
    ----------
    text : str
        The whole deck; line 1 is the title.

    Raises
    ------
    NetlistError
        ``deck line N: <why> -- line N: '<the line>'`` for the first line refused.
    """
    if not isinstance(text, str):
        raise NetlistError(f"a deck must be str, got {type(text).__name__}")
    lines = _lines(text)
    if _BAD_CHAR.search(lines[0]):
        raise _refuse(1, lines[0], f"control character {_BAD_CHAR.search(lines[0]).group()!r}")
    _check_title(1, lines[0])
    if not lines[0].strip():
        # through libngspice, blank lines are dropped: the first non-blank line is the title
        first = next((i for i, line in enumerate(lines) if line.strip()), None)
        if first is not None:
            _check_title(first + 1, lines[first])
    cards: list[_Card] = []  # the cards that need the full check, in order
    low = text.lower()
    fast = (_FAST_GUARDED if any(w in low for w in COMMAND_WORDS) else _FAST).fullmatch
    refused: NetlistError | None = None
    for no, lowered in enumerate(_lines(low)[1:], start=2):
        if (lowered[:1] == "+" and not lowered.strip(_MORE)) or fast(lowered):
            continue
        raw = lines[no - 1]
        try:
            if raw.lstrip(" \t").startswith("+"):
                _continue(no, raw, lines, cards)
            else:
                _classify(no, raw, cards)
        except NetlistError as exc:
            refused = exc
            break
    first = next((i for i in range(1, len(lines)) if lines[i].strip() and not lines[i].lstrip(" \t")[:1] == "*"), None)
    if first is not None and lines[first].lstrip(" \t").startswith("+") and \
            (refused is None or first + 1 < refused.deck_line):  # type: ignore[attr-defined]
        refused = _refuse(first + 1, lines[first], "continuation line '+' without a card to continue")
    for card in cards:  # all start before the refused line, if any
        try:
            _check_card(card)
        except NetlistError as exc:
            if refused is None or exc.deck_line < refused.deck_line:  # type: ignore[attr-defined]
                raise
            break
    if refused is not None:
        raise refused
