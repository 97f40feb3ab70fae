r"""Run a netlist through the ``ngspice -b`` executable and read its raw file.

A subprocess per deck costs a process start (about 6 ms) but is isolated: a crash, a
``ControlledExit`` or a leak in ngspice ends with the process, and any number can run
in parallel. The shared-library driver, :mod:`analog_eqprop.solvers.ngspice_shared`,
is about 30x faster for small decks. This module also holds what both drivers share
and what needs no ngspice library: the output classifier :func:`classify_output`
(ngspice's return codes cannot be trusted, its text can), the result type
:class:`NgspiceRun`, :func:`normalize_vector_name` and :func:`check_netlist_text`.

The deck is written to a temporary directory and run as
``ngspice -b -r out.raw deck.cir`` without a shell. The raw file is read in ngspice's
default binary format (exact doubles); :func:`parse_raw` also reads the ASCII format
(``SPICE_ASCIIRAWFILE=1`` or ``.options filetype=ascii``), which prints 16 significant
digits. Raw-file names are ``v(in)``, ``i(v1)`` and ``v(v-sweep)``; they are normalised
to ``in``, ``i(v1)`` and ``v-sweep``, the same keys the shared driver uses.

Examples
--------
>>> import shutil
>>> from analog_eqprop.solvers.ngspice_batch import run_batch
>>> deck = "divider\nV1 in 0 1\nR1 in mid 1k\nR2 mid 0 3k\n.op\n.end"
>>> if shutil.which("ngspice"):
...     print(f"{run_batch(deck).vectors['mid'][0]:.4f}")
... else:
...     print("0.7500")
0.7500
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from analog_eqprop.errors import (
    ConvergenceError,
    NetlistError,
    SimulationError,
    SimulationTimeoutError,
    SimulatorUnavailableError,
)
from analog_eqprop.netlist.deck_policy import check_deck

__all__ = [
    "run_batch",
    "parse_raw",
    "RawPlot",
    "NgspiceRun",
    "OutputReport",
    "classify_output",
    "normalize_vector_name",
    "check_netlist_text",
    "format_lines",
    "raise_for_report",
]


# --------------------------------------------------------------------------------------
# What both drivers share: output classification, names, the result type.
# --------------------------------------------------------------------------------------

# Matched case-insensitively as substrings, in this order. Each pattern below was seen in
# ngspice 39.3 output for the failure named in the comment.
_ERROR_PATTERNS: tuple[tuple[str, str], ...] = (
    # parse errors: the deck is wrong
    ("error on line", "netlist"),  # bad value, unknown model, unknown element letter
    ("netlist line no.", "netlist"),  # numparam: undefined {param}
    ("undefined parameter", "netlist"),
    ("cannot compute substitute", "netlist"),
    ("unknown subckt", "netlist"),
    ("unknown parameter", "netlist"),
    ("could not find a valid modelname", "netlist"),
    ("unable to find definition of model", "netlist"),
    ("unimplemented control card", "netlist"),
    ("could not find include file", "netlist"),
    ("no such function", "netlist"),
    ("parameter value out of range", "netlist"),
    (".end statement is missing", "netlist"),
    ("n_global_nodes overflow", "netlist"),
    ("circuit not parsed", "netlist"),
    ("there aren't any circuits loaded", "netlist"),
    ("no job (tran, ac, op etc.) defined", "netlist"),
    ("run simulation not started", "netlist"),
    ("is not in the circuit", "netlist"),  # .dc over a source that does not exist
    ("no such device", "netlist"),
    # the library gave up for good (ControlledExit) or the binary exited
    ("cannot recover and awaits to be detached", "fatal"),
    ("fatal error in ngspice", "fatal"),
    # the deck parsed but no operating point was found
    ("singular matrix", "convergence"),  # floating node or loop of voltage sources
    ("timestep too small", "convergence"),
    ("iteration limit", "convergence"),
    ("dc solution failed", "convergence"),
    ("transient op failed", "convergence"),
    # After source stepping fails only the transient-op fallback is left, and 39.3
    # reported "Transient op finished successfully" with v = 1e12 V for a circuit that
    # has no DC solution at all. Treat the failure itself as the verdict.
    ("source stepping failed", "convergence"),
    ("non-convergence", "convergence"),
    ("nonconvergence", "convergence"),
)

# Progress lines of the homotopies: a failed gmin stage is followed by the next homotopy,
# and a later success is a genuine converged Newton point. A B-source function evaluated
# out of range ("Error: 3999.84 out of range for sinh") at one Newton iterate was seen
# followed by a converged .dc sweep. Whether the analysis failed is said by later lines.
_BENIGN_PATTERNS = (
    "gmin step failed",
    "gmin stepping failed",
    "further gmin increment",
    "out of range for",
    "no resource usage information",
)

_GENERIC_ERROR_WORDS = (
    "error",
    "fatal",
    "failed",
    "unknown",
    "could not find",
    "no such",
    "not found",
    "aborted",
    "interrupted",
)

# Lines after these carry the offending netlist line and the reason.
_CONTEXT_HEADERS = re.compile(r"error on line \d+|netlist line no\. \d+", re.IGNORECASE)
_CONTEXT_LINES = 2


@dataclass(frozen=True)
class OutputReport:
    """ngspice output split into error lines and notes.

    Attributes
    ----------
    errors : tuple of str
        Lines that mean the deck or the analysis failed, without the
        ``stdout``/``stderr`` prefix.
    notes : tuple of str
        Everything else (banners, progress, warnings), without the prefix.
    kinds : frozenset of str
        Kinds of the errors found: ``"netlist"``, ``"convergence"``, ``"fatal"``,
        ``"other"``.
    """

    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    kinds: frozenset[str] = field(default_factory=frozenset)

    @property
    def warnings(self) -> tuple[str, ...]:
        """Notes that ngspice labelled as warnings."""
        return tuple(n for n in self.notes if "warning" in n.lower())


def _strip_stream(line: str) -> tuple[str, str]:
    for stream in ("stdout", "stderr"):
        if line.startswith(stream + " ") or line == stream:
            return stream, line[len(stream) + 1 :]
    return "", line


def _classify_line(text: str) -> str | None:
    """Return the error kind of one line, or None for a note."""
    low = text.lower()
    # ngspice echoes the deck title; a title like "error test" must not fail the run.
    if low.startswith("circuit:"):
        return None
    for pattern, kind in _ERROR_PATTERNS:
        if pattern in low:
            return kind
    if low.startswith(("warning", "note")) or any(p in low for p in _BENIGN_PATTERNS):
        return None
    if any(word in low for word in _GENERIC_ERROR_WORDS):
        return "other"
    return None


def classify_output(output: str | Iterable[str]) -> OutputReport:
    """Sort ngspice output lines into errors and notes.

    Parameters
    ----------
    output : str or iterable of str
        Captured output, one line per item (or newline-separated text). Lines may
        start with ``"stdout "`` or ``"stderr "`` as the shared library sends them.

    Returns
    -------
    OutputReport

    Examples
    --------
    >>> from analog_eqprop.solvers.ngspice_batch import classify_output
    >>> rep = classify_output([
    ...     "stdout Circuit: bad",
    ...     "stderr Error on line 4 or its substitute:",
    ...     "stderr r2 mid 0 abc",
    ...     "stderr unknown parameter (abc) ",
    ...     "stderr Trying gmin =   1.0000E-03 Note: One successful gmin step",
    ... ])
    >>> rep.errors
    ('Error on line 4 or its substitute:', 'r2 mid 0 abc', 'unknown parameter (abc)')
    >>> sorted(rep.kinds), len(rep.notes)
    (['netlist'], 2)
    """
    lines = output.splitlines() if isinstance(output, str) else list(output)
    errors: list[str] = []
    notes: list[str] = []
    kinds: set[str] = set()
    context_left = 0
    context_kind = "netlist"
    for raw in lines:
        stream, text = _strip_stream(raw.rstrip())
        text = text.strip()
        if not text:
            continue
        kind = _classify_line(text)
        if kind is None and context_left > 0 and stream != "stdout":
            kind = context_kind
        context_left = max(context_left - 1, 0)
        if kind is None:
            notes.append(text)
            continue
        errors.append(text)
        kinds.add(kind)
        if _CONTEXT_HEADERS.search(text):
            context_left, context_kind = _CONTEXT_LINES, kind
    return OutputReport(tuple(errors), tuple(notes), frozenset(kinds))


def format_lines(lines: Iterable[str], limit: int = 25) -> str:
    """ngspice's output lines indented for an error message, each distinct line once with its
    count (homotopy failures repeat the same line dozens of times), at most ``limit`` of them."""
    counts: dict[str, int] = {}
    for line in lines:
        counts[line] = counts.get(line, 0) + 1
    shown = [f"    {line}" + (f"  [x{n}]" if n > 1 else "") for line, n in counts.items()]
    if len(shown) > limit:
        shown = shown[:limit] + [f"    ... ({len(shown) - limit} more distinct lines)"]
    return "\n".join(shown)


def raise_for_report(report: OutputReport, what: str) -> None:
    """Raise the exception that fits the worst kind of error in ``report``."""
    if not report.errors:
        return
    detail = format_lines(report.errors)
    if "netlist" in report.kinds:
        raise NetlistError(f"ngspice rejected the netlist ({what}):\n{detail}")
    if "convergence" in report.kinds:
        raise ConvergenceError(f"ngspice found no operating point ({what}):\n{detail}")
    raise SimulationError(f"ngspice reported an error ({what}):\n{detail}")


def normalize_vector_name(name: str) -> str:
    """Map an ngspice vector name to the name used in result dictionaries.

    Node voltages become the bare node name, branch currents ``"i(<element>)"``;
    anything else (sweep scales, ``@device[param]``) is only lowercased.

    Examples
    --------
    >>> from analog_eqprop.solvers.ngspice_batch import normalize_vector_name
    >>> [normalize_vector_name(n) for n in ["mid", "V(4)", "v1#branch", "i(v1)", "v(v-sweep)"]]
    ['mid', '4', 'i(v1)', 'i(v1)', 'v-sweep']
    """
    low = name.strip().lower()
    if low.startswith("v(") and low.endswith(")"):
        return low[2:-1]
    if low.endswith("#branch"):
        return f"i({low[: -len('#branch')]})"
    return low


def check_netlist_text(netlist_text: str, *, trust_deck: bool = False) -> list[str]:
    r"""Validate netlist text for the drivers and split it into lines.

    Unless ``trust_deck``, the deck must pass :func:`analog_eqprop.netlist.deck_policy.check_deck`:
    an allow list of element letters, dot cards, ``.model`` types and ``.options`` keys, and
    no ``.control`` block, ``*#`` line, ``*ng_script`` script, include or library card, or
    command word anywhere ngspice reads a card (they run programs and read files). With
    ``trust_deck=True`` the deck runs as written, its own commands included: only for decks
    whose every line you would run yourself. In the shared library a ``quit`` in such a deck
    ends the process's only engine.

    A missing final ``.end`` is added: ``ngspice -b`` accepts a deck without it, the
    shared library rejects it ("Error: .end statement is missing in netlist!").

    Raises
    ------
    NetlistError
        For text that is not a str, empty text, NUL characters, and (unless ``trust_deck``)
        every line the deck policy refuses, named by number and text.

    Examples
    --------
    >>> from analog_eqprop.solvers.ngspice_batch import check_netlist_text
    >>> check_netlist_text("title\nR1 a 0 1k\n.end\n")
    ['title', 'R1 a 0 1k', '.end']
    >>> check_netlist_text("title\nR1 a 0 1k")
    ['title', 'R1 a 0 1k', '.end']
    >>> check_netlist_text("title\nR1 a 0 1k\n.control\nshell ls\n.endc\n")
    Traceback (most recent call last):
    ...
    analog_eqprop.errors.NetlistError: deck line 3: card '.control' is not allowed (ngspice runs the commands of any block starting with '.control'); allowed dot cards: .dc .end .ends .func .global .ic .model .nodeset .op .opt .option .options .param .print .save .subckt .temp .title .tran -- line 3: '.control'
    """
    if not isinstance(netlist_text, str):
        raise NetlistError(f"netlist must be str, got {type(netlist_text).__name__}")
    lines = netlist_text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if "\x00" in netlist_text:  # the shared library would cut the line there
        no = next(i for i, line in enumerate(lines, start=1) if "\x00" in line)
        raise NetlistError(f"netlist line {no} contains a NUL character")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise NetlistError("netlist is empty")
    if not trust_deck:
        check_deck(netlist_text)
    if len(lines) == 1 or lines[-1].strip().lower() != ".end":
        lines.append(".end")
    return lines


@dataclass(frozen=True, eq=False)
class NgspiceRun:
    """Result of one ngspice load + analysis.

    Attributes
    ----------
    vectors : dict of str to numpy.ndarray
        Copies of the vectors of the result plot, keyed by
        :func:`normalize_vector_name` (node voltages in V under the node name,
        branch currents in A under ``"i(<element>)"``, sweep scale e.g.
        ``"v-sweep"``). Shape ``(1,)`` for ``.op``, one entry per point for ``.dc``.
    plot : str
        ngspice's name for the result plot (``"op1"``, ``"dc1"``; in batch mode the
        raw file's plot name such as ``"Operating Point"``). Empty if none was made.
    errors : tuple of str
        Error lines (empty unless the call was made with ``throw=False``).
    notes : tuple of str
        All other output lines, warnings included.
    log : str
        Full raw output of the load and the run, one line per message.
    seconds : float
        Wall time of the load and the run, s.
    """

    vectors: dict[str, np.ndarray]
    plot: str
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=(), repr=False)
    log: str = field(default="", repr=False)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when ngspice reported no error."""
        return not self.errors

    @property
    def warnings(self) -> tuple[str, ...]:
        """Notes that ngspice labelled as warnings."""
        return tuple(n for n in self.notes if "warning" in n.lower())


# --------------------------------------------------------------------------------------
# Raw files and the subprocess
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RawPlot:
    """One plot of a SPICE raw file.

    Attributes
    ----------
    title : str
        The deck's title line.
    plotname : str
        Analysis name, e.g. ``"Operating Point"`` or ``"DC transfer characteristic"``.
    flags : tuple of str
        ``("real",)`` or ``("complex",)``, possibly more.
    variables : tuple of (str, str)
        Raw vector names and types in file order, e.g. ``("v(in)", "voltage")``.
    vectors : dict of str to numpy.ndarray
        Data keyed by :func:`normalize_vector_name`, one entry per point.
    """

    title: str
    plotname: str
    flags: tuple[str, ...]
    variables: tuple[tuple[str, str], ...]
    vectors: dict[str, np.ndarray]


def _read_header(data: bytes, pos: int) -> tuple[dict[str, str], list[tuple[str, str]], str, int]:
    """Parse one header starting at ``pos``; return fields, variables, data kind, data start."""
    fields: dict[str, str] = {}
    variables: list[tuple[str, str]] = []
    in_vars = False
    while pos < len(data):
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        line = data[pos:end].decode("utf-8", errors="replace").rstrip("\r")
        pos = end + 1
        key = line.split(":", 1)[0].strip().lower()
        if key in ("binary", "values") and line.strip().endswith(":"):
            return fields, variables, key, pos
        if in_vars and line[:1] in ("\t", " ") and line.strip():
            parts = line.split()
            if len(parts) >= 3 and parts[0].isdigit():
                variables.append((parts[1], parts[2]))
                continue
        in_vars = key == "variables"
        if ":" in line and not in_vars:
            fields[key] = line.split(":", 1)[1].strip()
    raise ValueError("raw file ends inside a header (no 'Binary:' or 'Values:' line)")


def _ascii_values(data: bytes, pos: int, count: int, complex_: bool) -> tuple[np.ndarray, int]:
    """Read ``count`` values of ASCII data (after each point's index) starting at ``pos``."""
    values: list[complex] = []
    while pos < len(data) and len(values) < count:
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        line = data[pos:end].decode("ascii", errors="replace")
        pos = end + 1
        if not line.strip():
            continue
        tokens = line.split()
        if line[:1] not in ("\t", " "):
            tokens = tokens[1:]  # a point starts with its index
        for token in tokens:
            if complex_:
                re_, _, im = token.partition(",")
                values.append(complex(float(re_), float(im or 0.0)))
            else:
                values.append(float(token))
    if len(values) < count:
        raise ValueError(f"ASCII raw data truncated: {len(values)} of {count} values")
    dtype = np.complex128 if complex_ else np.float64
    return np.asarray(values, dtype=dtype), pos


def parse_raw(raw: str | bytes) -> list[RawPlot]:
    r"""Parse a SPICE raw file (binary or ASCII, one or more plots).

    Parameters
    ----------
    raw : str or bytes
        File contents; binary data must be passed as bytes.

    Returns
    -------
    list of RawPlot
        In file order (ngspice writes one plot per analysis).

    Raises
    ------
    ValueError
        For a malformed or truncated file.

    Examples
    --------
    >>> from analog_eqprop.solvers.ngspice_batch import parse_raw
    >>> text = '''Title: divider
    ... Plotname: DC transfer characteristic
    ... Flags: real
    ... No. Variables: 2
    ... No. Points: 2
    ... Variables:
    ... \t0\tv(v-sweep)\tvoltage
    ... \t1\tv(mid)\tvoltage
    ... Values:
    ... 0\t\t0.0e+00
    ... \t0.0e+00
    ... 1\t\t1.0e+00
    ... \t7.5e-01
    ... '''
    >>> plot = parse_raw(text)[0]
    >>> plot.plotname, plot.vectors["mid"].tolist()
    ('DC transfer characteristic', [0.0, 0.75])
    """
    data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
    plots: list[RawPlot] = []
    pos = 0
    while pos < len(data):
        if not data[pos:].strip():
            break
        fields, variables, kind, pos = _read_header(data, pos)
        try:
            nvars = int(fields["no. variables"])
            npoints = int(fields["no. points"])
        except (KeyError, ValueError) as exc:
            raise ValueError(f"raw file header lacks 'No. Variables'/'No. Points': {fields}") from exc
        if len(variables) != nvars:
            raise ValueError(f"raw file lists {len(variables)} variables, header says {nvars}")
        flags = tuple(fields.get("flags", "real").lower().split())
        complex_ = "complex" in flags
        count = nvars * npoints
        if kind == "binary":
            width = 16 if complex_ else 8
            nbytes = count * width
            if pos + nbytes > len(data):
                raise ValueError(f"binary raw data truncated: {len(data) - pos} of {nbytes} bytes")
            flat = np.frombuffer(data, dtype="<c16" if complex_ else "<f8", count=count, offset=pos)
            flat = flat.astype(np.complex128 if complex_ else np.float64)  # copy, native order
            pos += nbytes
        else:
            flat, pos = _ascii_values(data, pos, count, complex_)
        table = flat.reshape(npoints, nvars)
        vectors = {normalize_vector_name(name): table[:, i].copy() for i, (name, _) in enumerate(variables)}
        plots.append(
            RawPlot(
                title=fields.get("title", ""),
                plotname=fields.get("plotname", ""),
                flags=flags,
                variables=tuple(variables),
                vectors=vectors,
            )
        )
    return plots


def _find_executable(ngspice: str) -> str:
    if os.sep in ngspice:
        if os.path.isfile(ngspice) and os.access(ngspice, os.X_OK):
            return ngspice
    else:
        found = shutil.which(ngspice)
        if found:
            return found
    raise SimulatorUnavailableError(
        f"the ngspice executable {ngspice!r} was not found; install it "
        "(Debian/Ubuntu: apt-get install ngspice) or pass its path as ngspice=..."
    )


def run_batch(
    netlist_text: str,
    *,
    timeout_s: float = 60.0,
    ngspice: str = "ngspice",
    throw: bool = True,
    trust_deck: bool = False,
) -> NgspiceRun:
    """Run ``netlist_text`` with ``ngspice -b`` in a fresh process.

    Parameters
    ----------
    netlist_text : str
        Complete deck: title line, elements, analysis cards (``.op`` / ``.dc``), ``.end``.
    timeout_s : float
        Wall-clock limit, s; the process is killed when it is exceeded.
    ngspice : str
        Executable name (looked up on PATH) or path.
    throw : bool
        Raise on failure (default). With False, failures come back in
        ``NgspiceRun.errors`` with empty ``vectors``; a timeout always raises.
    trust_deck : bool
        Run the deck as written, its ``.control`` blocks, includes and other commands
        included. Off by default: a deck is untrusted input and must pass
        :func:`check_netlist_text`.

    Returns
    -------
    NgspiceRun
        Vectors of the last plot in the raw file; ``plot`` is its plot name, e.g.
        ``"Operating Point"``.

    Raises
    ------
    NetlistError
        If the deck policy or ngspice rejected the deck.
    ConvergenceError
        If the analysis did not converge.
    SimulationError
        On a timeout, a missing or unreadable raw file, or another error.
    SimulatorUnavailableError
        If the executable is missing.
    """
    lines = check_netlist_text(netlist_text, trust_deck=trust_deck)
    exe = _find_executable(ngspice)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="analog_eqprop_ngspice_") as tmp:
        deck_path = os.path.join(tmp, "deck.cir")
        raw_path = os.path.join(tmp, "out.raw")
        with open(deck_path, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        # -n: no user init file (.spiceinit here or ~/.spiceinit: it may run shell commands and
        # change options, so results would differ from the twin's and from other machines');
        # cwd=tmp and relative names so that no random temp path is echoed into the classified log.
        proc = subprocess.Popen(
            [exe, "-n", "-b", "-r", "out.raw", "deck.cir"],
            cwd=tmp,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise SimulationTimeoutError(
                f"ngspice -b timed out after {timeout_s:g} s on {lines[0]!r} and was killed"
            ) from None
        raw = None
        if os.path.exists(raw_path):
            with open(raw_path, "rb") as fh:
                raw = fh.read()
    seconds = time.perf_counter() - start

    output = [f"stdout {line}" for line in out.decode("utf-8", errors="replace").splitlines()]
    output += [f"stderr {line}" for line in err.decode("utf-8", errors="replace").splitlines()]
    report = classify_output(output)
    errors = list(report.errors)
    if not errors and proc.returncode != 0:
        errors.append(f"ngspice exited with status {proc.returncode}")
    vectors: dict[str, np.ndarray] = {}
    plot = ""
    if not errors and raw is None:
        # ngspice -b is silent about a deck without an analysis card, where the shared
        # library says "No job (tran, ac, op etc.) defined": report it the same way.
        errors = ["ngspice -b wrote no raw file: the deck has no analysis card (.op, .dc)"]
        report = OutputReport(tuple(errors), report.notes, frozenset({"netlist"}))
    if not errors:
        # A failed run can leave a partial raw file; it is only read when all went well.
        if raw is not None:
            try:
                plots = parse_raw(raw)
            except ValueError as exc:
                errors.append(f"unreadable raw file: {exc}")
            else:
                if plots:
                    vectors, plot = plots[-1].vectors, plots[-1].plotname
                else:
                    errors.append("the raw file holds no plot")
    result = NgspiceRun(
        vectors=vectors,
        plot=plot,
        errors=tuple(errors),
        notes=report.notes,
        log="\n".join(output),
        seconds=seconds,
    )
    if throw and errors:
        raise_for_report(report, f"ngspice -b on {lines[0]!r}")
        raise SimulationError(f"ngspice -b failed on {lines[0]!r}:\n{format_lines(errors)}")
    return result


def ngspice_version(ngspice: str = "ngspice") -> str | None:
    """The installed ngspice's version, e.g. ``"ngspice-39"`` (None if it is not installed).

    Asks the executable (``ngspice -v``), so the shared engine of this process is never
    initialised just to learn its version (worker processes must create their own).
    """
    try:
        exe = _find_executable(ngspice)
        res = subprocess.run([exe, "-v"], capture_output=True, text=True, timeout=20)
    except (SimulatorUnavailableError, OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"(ngspice-[0-9][0-9.a-z+-]*)", res.stdout + res.stderr)
    return m.group(1) if m else None
