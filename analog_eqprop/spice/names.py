"""Safe SPICE names and text: what keeps user-controlled labels from steering ngspice.

A circuit's labels are arbitrary Python strings (graph node names, the circuit's name).
ngspice reads a netlist line by line and acts on more than element cards: ``.control``
blocks and ``*#`` comment lines run commands (``shell`` starts any program), ``.include``
reads files, a ``+`` line continues the previous card. So nothing user-controlled is ever
written verbatim:

* **node names** go through :func:`sanitize` into ``[a-z][a-z0-9_]*`` (ngspice lowercases
  everything, so upper case would only alias) and :class:`NameMap` makes them unique with
  ``_1``, ``_2`` suffixes, avoiding :data:`RESERVED` words (``gnd`` *is* ground in ngspice);
* **element names** are a fixed prefix plus an index (``r12``, ``vs3``), never a label;
* **labels** travel in metadata comments percent-encoded (:func:`encode_label`), so a
  round trip recovers them exactly;
* **free text** (title, human comments) keeps only :data:`COMMENT_CHARS`.

Examples
--------
>>> m = NameMap(["h1_0", "H1 0", "gnd", "a\\n.control", ""])
>>> [m.to_spice(label) for label in m]
['h1_0', 'h1_0_1', 'gnd_1', 'a_control', 'n']
>>> m.to_label("GND_1")
'gnd'
>>> comment_text("x\\n.control\\nshell rm -rf ~ ; echo $HOME")
'x .control shell rm -rf ~ _ echo _HOME'
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from urllib.parse import quote, unquote

from analog_eqprop.errors import NetlistError

__all__ = [
    "NameMap",
    "sanitize",
    "unique_name",
    "comment_text",
    "title_text",
    "encode_label",
    "decode_label",
    "format_number",
    "check_spice_name",
    "check_model_name",
    "RESERVED",
    "SAFE_NAME",
    "COMMENT_CHARS",
    "MAX_BASE_LENGTH",
]

#: The alphabet of every node and element name the compiler writes.
SAFE_NAME = re.compile(r"[a-z][a-z0-9_]*")

#: Names never given to a node: ngspice's ground aliases, and words of its netlist and
#: command languages, so that no node reads like a card, a command or a B-source constant.
RESERVED = frozenset(
    """0 gnd end ends model subckt include lib control endc shell param func options option
    op dc ac tran noise save print plot probe global ic nodeset temp time temper hertz pi e
    i v all true false yes no pwl source run alter altermod quit exit echo set unset let
    exec system popen unixcom codemodel osdi pre_osdi""".split()
)

#: Characters allowed in free text (title and human comments). ``*``, ``#``, ``$``, ``;``,
#: quotes, braces, backslashes, ``@`` and ``%`` (metadata markers) are not among them.
COMMENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.,:=+-/()[]<>~")

#: Longest name :func:`sanitize` returns before a collision suffix is added.
MAX_BASE_LENGTH = 48


def sanitize(label: str) -> str:
    """The safe base name of a label: ``[a-z][a-z0-9_]*``, at most 48 characters.

    Accents are dropped (NFKD), letters lowercased, every run of other characters becomes
    one ``_``, leading and trailing ``_`` go, a name that would not start with a letter
    gets an ``n`` in front. Not unique (``"a b"`` and ``"a-b"`` both give ``a_b``) and not
    checked against :data:`RESERVED`: :class:`NameMap` does both.

    Examples
    --------
    >>> [sanitize(s) for s in ["h1_0", "X0p", "4", "", "é ü", ".include /etc/passwd", "__a__"]]
    ['h1_0', 'x0p', 'n4', 'n', 'e_u', 'include_etc_passwd', 'a']
    """
    if not isinstance(label, str):
        raise NetlistError(f"labels must be str, got {type(label).__name__}")
    text = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"[^a-z0-9]+", "_", text).strip("_")
    if not text:
        return "n"
    if not text[0].isalpha():
        text = "n" + text
    return text[:MAX_BASE_LENGTH].rstrip("_")


def unique_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base_1``, ``base_2``, ... : the first not in ``taken`` nor reserved.

    The result is added to ``taken``.

    Examples
    --------
    >>> taken = {"a", "a_1"}
    >>> unique_name("a", taken), unique_name("gnd", taken), sorted(taken)
    ('a_2', 'gnd_1', ['a', 'a_1', 'a_2', 'gnd_1'])
    """
    check_spice_name(base)
    name, k = base, 0
    while name in taken or name in RESERVED:
        k += 1
        name = f"{base}_{k}"
    taken.add(name)
    return name


def check_spice_name(name: str, what: str = "name") -> str:
    """Return ``name`` if it is in the safe alphabet and not reserved, else raise NetlistError."""
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name):
        raise NetlistError(f"{what} {name!r} is not a safe SPICE name ([a-z][a-z0-9_]*)")
    return name


def check_model_name(name: str, what: str = "diode model") -> str:
    """A model name as written in ``.model`` and element cards: letters, digits, ``_``.

    Case is kept (``D1N4148``); ngspice compares names case-insensitively, which is why the
    compiler also checks that no two models differ only in case.

    Examples
    --------
    >>> check_model_name("D1N4148")
    'D1N4148'
    >>> check_model_name("d x")
    Traceback (most recent call last):
    ...
    analog_eqprop.errors.NetlistError: diode model name 'd x' is not letters, digits and '_' starting with a letter
    """
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
        raise NetlistError(f"{what} name {name!r} is not letters, digits and '_' starting with a letter")
    return name


class NameMap(Mapping[str, str]):
    """Labels <-> SPICE node names, unique, in the safe alphabet, both ways.

    Parameters
    ----------
    labels : iterable of str
        Distinct labels, in the order that decides who gets a suffix on a collision.
    reserved : iterable of str
        Extra names to avoid (beyond :data:`RESERVED`).

    Notes
    -----
    As a mapping it is ``label -> spice name``, in insertion order. :meth:`to_label` is
    case-insensitive, since ngspice reports every name in lower case.

    Examples
    --------
    >>> m = NameMap(["a", "A", "a_1"])
    >>> dict(m)
    {'a': 'a', 'A': 'a_1', 'a_1': 'a_1_1'}
    >>> m.to_label("A_1")
    'A'
    """

    def __init__(self, labels: Iterable[str] = (), *, reserved: Iterable[str] = ()) -> None:
        taken = set(reserved)
        pairs = []
        for label in labels:
            pairs.append((label, unique_name(sanitize(label), taken)))
        self._set(pairs)

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> NameMap:
        """A map from explicit ``(label, spice name)`` pairs (as read back from a netlist)."""
        self = cls.__new__(cls)
        pairs = list(pairs)
        for label, name in pairs:
            check_spice_name(name, f"node name for label {label!r}")
            if name in RESERVED:
                raise NetlistError(f"node name {name!r} is reserved")
        self._set(pairs)
        return self

    def _set(self, pairs: list[tuple[str, str]]) -> None:
        self._to_spice: dict[str, str] = {}
        self._to_label: dict[str, str] = {}
        for label, name in pairs:
            if not isinstance(label, str):
                raise NetlistError(f"labels must be str, got {type(label).__name__}")
            if label in self._to_spice:
                raise NetlistError(f"label {label!r} given twice")
            if name in self._to_label:
                raise NetlistError(f"labels {self._to_label[name]!r} and {label!r} share the node name {name!r}")
            self._to_spice[label] = name
            self._to_label[name] = label

    def to_spice(self, label: str) -> str:
        """The node name of ``label`` (KeyError if unknown)."""
        return self._to_spice[label]

    def to_label(self, name: str) -> str:
        """The label of node ``name``, in any case (KeyError if unknown)."""
        return self._to_label[name.lower()]

    @property
    def names(self) -> tuple[str, ...]:
        """All node names, in label order."""
        return tuple(self._to_spice.values())

    def __getitem__(self, label: str) -> str:
        return self._to_spice[label]

    def __iter__(self) -> Iterator[str]:
        return iter(self._to_spice)

    def __len__(self) -> int:
        return len(self._to_spice)

    def __repr__(self) -> str:
        return f"NameMap({len(self)} labels)"


def comment_text(text: str, max_length: int = 200) -> str:
    """Free text made safe for a comment: one line of :data:`COMMENT_CHARS`.

    Whitespace runs (newlines included) become one space; any other character outside
    the set becomes ``_``; the result is stripped and cut to ``max_length``. Idempotent.

    Examples
    --------
    >>> comment_text('  "quoted" {x} *# $v  ')
    '_quoted_ _x_ __ _v'
    """
    text = re.sub(r"\s+", " ", str(text))
    text = "".join(ch if ch in COMMENT_CHARS else "_" for ch in text)
    return text.strip()[:max_length].strip()


def title_text(text: str) -> str:
    """The title line: :func:`comment_text` that starts with a letter or digit.

    ngspice treats line 1 as the title whatever it holds, but a title such as
    ``*ng_script`` switches the whole file to script mode; this one cannot. Idempotent.

    Examples
    --------
    >>> title_text(".control")
    'analog_eqprop .control'
    """
    text = comment_text(text, 120)
    if not text or not text[0].isalnum():
        text = ("analog_eqprop " + text).strip()
    return text


def encode_label(label: str) -> str:
    """A label as one metadata token: percent-encoded UTF-8 (only ``[A-Za-z0-9_.~%-]``).

    Examples
    --------
    >>> encode_label("a b\\n.control")
    'a%20b%0A.control'
    >>> decode_label(encode_label("é;$*")) == "é;$*"
    True
    """
    # surrogatepass: a str may hold lone surrogates (e.g. from os.fsdecode); they round-trip too
    return quote(label.encode("utf-8", "surrogatepass"), safe="")


def decode_label(token: str) -> str:
    """Inverse of :func:`encode_label`; raises NetlistError on a malformed token."""
    if not re.fullmatch(r"[A-Za-z0-9_.~%-]*", token):
        raise NetlistError(f"malformed encoded label {token!r}")
    try:
        return unquote(token, errors="surrogatepass")
    except UnicodeDecodeError as exc:
        raise NetlistError(f"encoded label {token!r} is not UTF-8: {exc}") from None


def format_number(value: float, what: str = "value") -> str:
    """A float as SPICE text that reads back to the same double: ``repr(float(value))``.

    Raises NetlistError for infinities and NaN, which no SPICE parser accepts.

    Examples
    --------
    >>> format_number(1 / 3), format_number(1e-06), format_number(-0.0)
    ('0.3333333333333333', '1e-06', '-0.0')
    """
    v = float(value)
    if not math.isfinite(v):
        raise NetlistError(f"{what} is {v!r}; a netlist needs finite numbers")
    return repr(v)
