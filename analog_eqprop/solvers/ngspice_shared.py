r"""A small ctypes driver for the ngspice shared library (libngspice).

The driver takes netlist text, hands it to ngspice, runs the analyses and copies the
resulting vectors into NumPy arrays. It knows nothing about circuits: building the
netlist is the job of :mod:`analog_eqprop.netlist`.

Why ctypes and not PySpice's shared mode: PySpice 1.5 raises on informational stderr
lines such as ``Trying gmin = ...`` that ngspice prints while it homotopy-steps a hard
operating point (PySpice issues #379, #399), its memory grew with every call (#373),
and it converts every vector through Python objects. Here the whole interface is
``ngSpice_Init``, ``ngSpice_Circ``, ``ngSpice_Command``, ``ngSpice_CurPlot``,
``ngSpice_AllPlots``, ``ngSpice_AllVecs`` and ``ngGet_Vec_Info``.

What ngspice 39.3 does that shapes this module (see ``docs/PHYSICS.md`` section 4):

* ``ngSpice_Circ`` and ``run`` return 0 even when the deck did not parse or the
  analysis failed, so every call scans the captured output (:func:`classify_output`).
* After a failed parse, ``run`` silently re-runs the *previous* circuit; after a failed
  ``.op`` a new plot holds the last Newton iterate. :meth:`NgspiceShared.load` therefore
  removes old circuits and plots first, and :meth:`NgspiceShared.run` refuses to return
  vectors unless the analysis made a new plot and printed no error.
* ``ngSpice_Init`` may run once per process (a second one segfaulted), so there is one
  engine per process, :func:`get_engine`, created lazily inside each worker process.
* Some errors (an undefined ``{param}``) make ngspice call ``ControlledExit``; the
  library is unusable afterwards in that process and the engine says so.

Vector names (ngspice 39.3): ``.op`` gives node voltages under the lowercase node name
(``"mid"``), but purely numeric nodes as ``"V(4)"``, and branch currents of voltage
sources and inductors as ``"v1#branch"``. ``.dc`` gives the same plus the sweep scale
``"v-sweep"`` (``"i-sweep"`` for a current source, ``"res-sweep"`` for a resistor), each
an array with one entry per sweep point. :func:`normalize_vector_name` maps these to
``"mid"``, ``"4"``, ``"i(v1)"`` and leaves the scale names alone.

Examples
--------
>>> from analog_eqprop.solvers.ngspice_shared import ngspice_available, operating_point
>>> deck = "divider\nV1 in 0 1\nR1 in mid 1k\nR2 mid 0 3k\n.end"
>>> if ngspice_available():
...     run = operating_point(deck)
...     print(f"{run.vectors['mid'][0]:.4f} V, {run.vectors['i(v1)'][0]:.2e} A")
... else:
...     print("0.7500 V, -2.50e-04 A")
0.7500 V, -2.50e-04 A
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import tempfile
import threading
import time

import numpy as np

from analog_eqprop.errors import NetlistError, SimulationError, SimulationTimeoutError, SimulatorUnavailableError

# The output classifier and the result type are shared with the `ngspice -b` driver and
# live there because they need no library.
from analog_eqprop.solvers.ngspice_batch import (
    NgspiceRun,
    OutputReport,
    check_netlist_text,
    classify_output,
    format_lines,
    normalize_vector_name,
    raise_for_report,
)

__all__ = [
    "find_libngspice",
    "ngspice_available",
    "get_engine",
    "NgspiceShared",
    "NgspiceRun",
    "OutputReport",
    "classify_output",
    "normalize_vector_name",
    "check_netlist_text",
    "operating_point",
    "run_netlist",
]

_COMMON_LIBRARY_PATHS = (
    "/usr/lib/x86_64-linux-gnu/libngspice.so.0",
    "/usr/lib/x86_64-linux-gnu/libngspice.so",
    "/usr/lib/aarch64-linux-gnu/libngspice.so.0",
    "/usr/lib/libngspice.so.0",
    "/usr/lib/libngspice.so",
    "/usr/lib64/libngspice.so.0",
    "/usr/lib64/libngspice.so",
    "/usr/local/lib/libngspice.so.0",
    "/usr/local/lib/libngspice.so",
    "/opt/homebrew/lib/libngspice.dylib",
    "/usr/local/lib/libngspice.dylib",
)

_INSTALL_HINT = (
    "install it (Debian/Ubuntu: apt-get install ngspice libngspice0 libngspice0-dev) "
    "or point the environment variable NGSPICE_LIBRARY_PATH at libngspice.so"
)


def find_libngspice() -> str:
    """Return the path of the ngspice shared library.

    Looks at the environment variable ``NGSPICE_LIBRARY_PATH``, then
    :func:`ctypes.util.find_library`, then a few common install locations.

    Raises
    ------
    SimulatorUnavailableError
        If no library is found, with instructions on how to install one.

    Examples
    --------
    >>> from analog_eqprop.solvers.ngspice_shared import find_libngspice, ngspice_available
    >>> "ngspice" in find_libngspice() if ngspice_available() else True
    True
    """
    override = os.environ.get("NGSPICE_LIBRARY_PATH")
    if override:
        if os.path.isfile(override):
            return override
        raise SimulatorUnavailableError(
            f"NGSPICE_LIBRARY_PATH={override!r} is not a file; {_INSTALL_HINT}"
        )
    found = ctypes.util.find_library("ngspice")
    if found:
        return found
    for path in _COMMON_LIBRARY_PATHS:
        if os.path.isfile(path):
            return path
    raise SimulatorUnavailableError(f"the ngspice shared library was not found; {_INSTALL_HINT}")


def ngspice_available() -> bool:
    """Whether the ngspice shared library can be found (never raises).

    Examples
    --------
    >>> from analog_eqprop.solvers.ngspice_shared import ngspice_available
    >>> isinstance(ngspice_available(), bool)
    True
    """
    try:
        find_libngspice()
    except SimulatorUnavailableError:
        return False
    return True


class _VectorInfo(ctypes.Structure):
    _fields_ = [
        ("v_name", ctypes.c_char_p),
        ("v_type", ctypes.c_int),
        ("v_flags", ctypes.c_short),
        ("v_realdata", ctypes.POINTER(ctypes.c_double)),
        ("v_compdata", ctypes.POINTER(ctypes.c_double)),  # ngcomplex_t: (re, im) pairs
        ("v_length", ctypes.c_int),
    ]


_SendChar = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p)
_SendStat = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p)
_ControlledExit = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_int, ctypes.c_bool, ctypes.c_bool, ctypes.c_int, ctypes.c_void_p
)
_BGThreadRunning = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_bool, ctypes.c_int, ctypes.c_void_p)

# ngspice is not re-entrant: every call into the library holds this lock.
_LOCK = threading.RLock()
#: Seconds ngspice gets to stop a halted background analysis before the engine is given up.
_HALT_GRACE_S = 30.0
_ENGINE: NgspiceShared | None = None
_INIT_PID: int | None = None
_CONST_PLOT = "const"
_FORK_HINT = (
    "the ngspice engine was initialised in process {parent} and cannot be used from "
    "process {child} (a fork copies the library's state but ngSpice_Init may run only "
    "once per process); create the engine inside each worker process, e.g. use the "
    "'spawn' or 'forkserver' start method, and do not touch ngspice before forking"
)


def get_engine() -> NgspiceShared:
    """Return this process's ngspice engine, initialising the library on first use.

    Raises
    ------
    SimulatorUnavailableError
        If libngspice is not installed.
    SimulationError
        If the engine was created in a parent process before a fork, or ngspice has
        asked to exit (see :attr:`NgspiceShared.usable`).
    """
    global _ENGINE
    with _LOCK:
        if _ENGINE is None:
            _ENGINE = NgspiceShared(find_libngspice())
        _ENGINE._check_usable()
        return _ENGINE


@contextlib.contextmanager
def _without_user_init_files():
    """Run ``ngSpice_Init`` so that it reads no user init file.

    At start-up libngspice sources ``.spiceinit`` from the current directory, or else
    ``~/.spiceinit`` (the passwd home, whatever ``$HOME`` says): a file that can run shell
    commands (``shell ...``) and change simulator options, so that running the toolkit in an
    untrusted directory would run its code, and a user's own file would silently change the
    operating points the NumPy twin is compared with. ngspice 39 has no switch for this in
    shared mode (the executable's is ``-n``), so the engine starts in an empty temporary
    directory holding an *empty* ``.spiceinit``: ngspice sources that one and looks no further.
    The system's ``spinit`` (device libraries, code models) is still read. The working
    directory is restored at once; the engine starts once per process, under ``_LOCK``.
    """
    with tempfile.TemporaryDirectory(prefix="analog_eqprop_ngspice_init_") as tmp:
        open(os.path.join(tmp, ".spiceinit"), "w", encoding="ascii").close()
        try:
            here = os.open(".", os.O_RDONLY)  # a handle: works even where getcwd() would not
        except OSError:  # a directory we may enter but not read: go back by its path
            here = os.getcwd()
        os.chdir(tmp)
        try:
            yield
        finally:
            if isinstance(here, int):
                os.fchdir(here)
                os.close(here)
            else:
                os.chdir(here)


class NgspiceShared:
    """The process's ngspice shared-library engine; obtain it with :func:`get_engine`.

    Parameters
    ----------
    library_path : str
        Path of libngspice. Constructing a second engine in one process raises.
    """

    def __init__(self, library_path: str) -> None:
        global _INIT_PID
        with _LOCK:
            if _INIT_PID is not None:
                if _INIT_PID != os.getpid():
                    raise SimulationError(_FORK_HINT.format(parent=_INIT_PID, child=os.getpid()))
                raise SimulationError("ngspice is already initialised in this process; use get_engine()")
            try:
                self._lib = ctypes.CDLL(library_path)
            except OSError as exc:
                raise SimulatorUnavailableError(f"cannot load {library_path!r} ({exc}); {_INSTALL_HINT}") from exc
            self.library_path = library_path
            self._lines: list[str] = []
            self._pending: list[str] = []
            self._pending_seconds = 0.0
            self._exit_status: int | None = None
            self._title = ""  # first line of the loaded deck, for messages
            self._circuit_loaded = False
            self._circuits_unknown = False
            self._plots_dirty = False
            self._bg_idle = threading.Event()  # set when ngspice's background thread has ended
            self._declare_functions()
            # ctypes callbacks die with their Python objects; keep them for the process.
            self._callbacks = (
                _SendChar(self._on_char),
                _SendStat(self._on_stat),
                _ControlledExit(self._on_exit),
                _BGThreadRunning(self._on_bg),
            )
            send_char, send_stat, exit_cb, bg_cb = self._callbacks
            with _without_user_init_files():
                self._lib.ngSpice_Init(send_char, send_stat, exit_cb, None, None, bg_cb, None)
            _INIT_PID = os.getpid()
            self.pid = _INIT_PID
            self.banner = "\n".join(self._take_output())

    def _declare_functions(self) -> None:
        lib = self._lib
        lib.ngSpice_Init.restype = ctypes.c_int
        lib.ngSpice_Init.argtypes = [
            _SendChar, _SendStat, _ControlledExit, ctypes.c_void_p, ctypes.c_void_p,
            _BGThreadRunning, ctypes.c_void_p,
        ]  # fmt: skip
        lib.ngSpice_Circ.restype = ctypes.c_int
        lib.ngSpice_Circ.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
        lib.ngSpice_Command.restype = ctypes.c_int
        lib.ngSpice_Command.argtypes = [ctypes.c_char_p]
        lib.ngSpice_CurPlot.restype = ctypes.c_char_p
        lib.ngSpice_CurPlot.argtypes = []
        lib.ngSpice_AllPlots.restype = ctypes.POINTER(ctypes.c_char_p)
        lib.ngSpice_AllPlots.argtypes = []
        lib.ngSpice_AllVecs.restype = ctypes.POINTER(ctypes.c_char_p)
        lib.ngSpice_AllVecs.argtypes = [ctypes.c_char_p]
        lib.ngGet_Vec_Info.restype = ctypes.POINTER(_VectorInfo)
        lib.ngGet_Vec_Info.argtypes = [ctypes.c_char_p]

    # Callbacks run on ngspice's stack: an exception escaping them would only be printed,
    # so each one is kept trivially safe.
    def _on_char(self, text: bytes | None, ident: int, user: int | None) -> int:
        if text is not None:
            self._lines.append(text.decode("utf-8", errors="replace"))
        return 0

    def _on_stat(self, text: bytes | None, ident: int, user: int | None) -> int:
        return 0

    def _on_exit(self, status: int, immediate: bool, quit_: bool, ident: int, user: int | None) -> int:
        self._exit_status = int(status)
        self._lines.append(f"stderr [ControlledExit status={status} quit={bool(quit_)}]")
        return 0

    def _on_bg(self, noruns: bool, ident: int, user: int | None) -> int:
        # ngspice calls this with False when its background thread starts, True when it ends
        if noruns:
            self._bg_idle.set()
        return 0

    # ----------------------------------------------------------------------------------

    @property
    def usable(self) -> bool:
        """False once ngspice has asked to exit or after a fork."""
        return self._exit_status is None and self.pid == os.getpid()

    def _check_usable(self) -> None:
        if self.pid != os.getpid():
            raise SimulationError(_FORK_HINT.format(parent=self.pid, child=os.getpid()))
        if self._exit_status is not None:
            raise SimulationError(
                f"ngspice requested to exit (status {self._exit_status}) after an "
                "unrecoverable error, typically an undefined {parameter}; the library "
                "cannot be re-initialised in this process, so start a new process"
            )

    def _take_output(self) -> list[str]:
        lines, self._lines = self._lines, []
        return lines

    def _send(self, cmd: str) -> list[str]:
        self._lib.ngSpice_Command(cmd.encode("utf-8"))
        return self._take_output()

    def command(self, cmd: str) -> list[str]:
        """Run one ngspice command and return its output lines.

        Raises
        ------
        ValueError
            For a command with a newline, or ``quit``/``exit`` (which would end the
            process's only engine).
        SimulationError
            If the output contains error lines (NetlistError for parse-type errors).

        Examples
        --------
        >>> from analog_eqprop.solvers.ngspice_shared import get_engine, ngspice_available
        >>> if ngspice_available():
        ...     print("ngspice" in " ".join(get_engine().command("version -s")))
        ... else:
        ...     print(True)
        True
        """
        if "\n" in cmd or "\r" in cmd or "\x00" in cmd:
            raise NetlistError(f"an ngspice command must be a single line, got {cmd!r}")
        if cmd.strip().split(" ")[0].lower() in ("quit", "exit"):
            raise NetlistError(f"refusing {cmd.strip()!r}: ngspice cannot be re-initialised in this process")
        with _LOCK:
            self._check_usable()
            # An arbitrary command may load circuits or make plots; assume it did.
            self._circuits_unknown = self._plots_dirty = True
            lines = self._send(cmd)
            raise_for_report(classify_output(lines), f"command {cmd!r}")
            return lines

    def _clear(self) -> None:
        """Remove old circuits and plots so nothing stale survives and memory stays flat.

        Every ngSpice_Command leaks its parsed text inside ngspice 39.3 (about 130 B plus
        the command's length; control.c says "TODO: free control structure(s)"), so
        commands are only sent when needed.
        """
        if self._circuits_unknown:
            # Someone ran arbitrary commands (e.g. 'source'): remove until none is left.
            for _ in range(1000):
                if any("no circuit loaded" in line for line in self._send("remcirc")):
                    break
        elif self._circuit_loaded:
            # Each ngSpice_Circ follows a remcirc, so at most one circuit exists.
            self._send("remcirc")
        self._circuit_loaded = self._circuits_unknown = False
        self._destroy_plots()

    def _destroy_plots(self) -> None:
        if self._plots_dirty:
            self._send("destroy all")
            self._plots_dirty = False

    def load(self, netlist_text: str, *, trust_deck: bool = False) -> list[str]:
        """Replace the loaded circuit by ``netlist_text`` (first line is the title).

        Returns the output lines of the load. Unless ``trust_deck``, the deck must pass the
        deck policy (:func:`~analog_eqprop.solvers.ngspice_batch.check_netlist_text`); with
        it, ngspice runs the deck's ``.control`` blocks and other commands as it loads it
        (a ``quit`` among them ends this process's only engine).

        Raises
        ------
        NetlistError
            If the deck policy refuses the deck (naming the line), if ngspice printed any
            error while parsing (its return code is not trusted) or asked to exit (the
            engine is then unusable).
        """
        try:
            lines = check_netlist_text(netlist_text, trust_deck=trust_deck)
        except NetlistError:
            # a refused deck must not leave the previous circuit loaded (a later "run" would
            # silently simulate it again)
            with _LOCK:
                self._check_usable()
                self._clear()
            raise
        encoded = [line.encode("utf-8") for line in lines]
        array = (ctypes.c_char_p * (len(encoded) + 1))(*encoded, None)
        start = time.perf_counter()
        with _LOCK:
            self._check_usable()
            self._pending, self._pending_seconds = [], 0.0
            self._clear()
            self._circuit_loaded = True
            # a trusted deck's own commands may load circuits and make plots
            self._circuits_unknown = self._plots_dirty = trust_deck
            self._title = lines[0]
            rc = self._lib.ngSpice_Circ(array)
            output = self._take_output()
            report = classify_output(output)
            if rc != 0 or self._exit_status is not None:
                hint = (
                    "\n    ngspice asked to be detached: this process can run no more ngspice "
                    "analyses" if self._exit_status is not None else ""
                )
                raise NetlistError(
                    f"ngspice failed to load the netlist {lines[0]!r} (return code {rc}):\n"
                    f"{format_lines(report.errors or output)}{hint}"
                )
            raise_for_report(report, f"loading {lines[0]!r}")
            self._pending = output
            self._pending_seconds = time.perf_counter() - start
            return output

    def _send_timed(self, cmd: str, timeout_s: float) -> list[str]:
        """Run ``cmd`` in ngspice's background thread; halt it after ``timeout_s`` seconds."""
        self._bg_idle.clear()
        self._lib.ngSpice_Command(b"bg_" + cmd.encode("utf-8"))
        if self._bg_idle.wait(timeout_s):
            return self._take_output()
        self._lib.ngSpice_Command(b"bg_halt")
        stopped = self._bg_idle.wait(_HALT_GRACE_S)
        lines = self._take_output()
        title = self._title
        if not stopped:  # ngspice ignored the halt: nothing in this process can use it again
            self._exit_status = -1
        raise SimulationTimeoutError(
            f"ngspice analysis {cmd!r} of {title!r} ran past its limit of {timeout_s:g} s and was "
            + ("halted; the engine stays usable" if stopped else "did not stop when halted: start a new process")
            + (f"\n    last output: {lines[-1].strip()}" if lines else "")
        )

    def run(self, analysis: str | None = None, *, throw: bool = True, timeout_s: float | None = None) -> NgspiceRun:
        """Run the deck's analyses (``analysis=None``) or one analysis command, e.g. ``"op"``.

        With several analyses in the deck the result holds the last plot ngspice made
        (``.op`` runs after ``.dc``); :meth:`plots` and :meth:`vectors` read the others.

        Parameters
        ----------
        analysis : str, optional
            An analysis command such as ``"op"`` or ``"dc v1 0 1 0.1"``.
        throw : bool
            Raise on failure (default). With False, failures come back in
            ``NgspiceRun.errors`` with empty ``vectors``.
        timeout_s : float, optional
            Wall-clock limit [s]: the analysis then runs in ngspice's background thread and
            is halted (``bg_halt``) when it runs past the limit; the engine stays usable.

        Raises
        ------
        SimulationTimeoutError
            If the analysis ran past ``timeout_s`` (raised whatever ``throw`` says).
        ConvergenceError
            If ngspice reported non-convergence (singular matrix, timestep too small,
            source stepping failed, ...).
        NetlistError
            For errors that mean the deck is wrong (no analysis, unknown sweep source).
        SimulationError
            For other errors, or if no new plot was produced.
        """
        cmd = "run" if analysis is None else analysis.strip()
        if not cmd or "\n" in cmd or "\r" in cmd or "\x00" in cmd:
            raise NetlistError(f"analysis must be one non-empty line, got {analysis!r}")
        start = time.perf_counter()
        with _LOCK:
            self._check_usable()
            load_output, self._pending = self._pending, []
            start -= self._pending_seconds
            self._pending_seconds = 0.0
            # Stale vectors are impossible if no plot but 'const' exists before the run.
            self._destroy_plots()
            before = self._cur_plot()
            self._plots_dirty = True
            output = self._send(cmd) if timeout_s is None else self._send_timed(cmd, float(timeout_s))
            after = self._cur_plot()
            report = classify_output(output)
            errors = list(report.errors)
            if not errors and (after == before or after == _CONST_PLOT):
                errors.append(f"analysis {cmd!r} produced no new plot (current plot {after!r})")
            if self._exit_status is not None:
                errors.append("ngspice asked to be detached: this process can run no more analyses")
            vectors = self.vectors(after) if not errors else {}
            plot = after if after != _CONST_PLOT else ""
        seconds = time.perf_counter() - start
        full = load_output + output
        result = NgspiceRun(
            vectors=vectors,
            plot=plot,
            errors=tuple(errors),
            notes=classify_output(full).notes,
            log="\n".join(full),
            seconds=seconds,
        )
        if throw and errors:
            if report.errors:
                raise_for_report(report, f"running {cmd!r}")
            raise SimulationError(errors[0])
        return result

    def resource_usage(self) -> dict[str, float]:
        """ngspice's own accounting of the loaded circuit (``rusage all``): the seconds it spent
        reading, expanding and parsing the deck and, for its analyses so far, loading,
        reordering, factoring and solving the matrix, with the iteration and equation counts.

        Keys are ngspice's labels, lowercased, without the unit (``"netlist parsing time"``,
        ``"matrix factor time"``, ``"total iterations"``, ``"circuit equations"``...). ngspice
        prints seconds to the millisecond: sum over many decks for fractions of that. Read-only:
        it neither loads nor removes anything.

        Examples
        --------
        >>> from analog_eqprop.solvers.ngspice_shared import get_engine, ngspice_available
        >>> if ngspice_available():
        ...     eng = get_engine()
        ...     _ = eng.load("d\\nV1 a 0 1\\nR1 a 0 1k\\n.op\\n.end")
        ...     _ = eng.run()
        ...     print(eng.resource_usage()["circuit equations"])  # ground, node a, V1's branch
        ... else:
        ...     print(3.0)
        3.0
        """
        with _LOCK:
            self._check_usable()
            out: dict[str, float] = {}
            for line in self._send("rusage all"):
                key, sep, value = line.split(" ", 1)[-1].partition("=")  # after the stdout/stderr prefix
                if not sep:
                    continue
                key = key.replace("(seconds)", "").strip().lower()
                try:
                    out[key] = float(value.split()[0])
                except (ValueError, IndexError):
                    continue
            return out

    def _cur_plot(self) -> str:
        name = self._lib.ngSpice_CurPlot()
        return name.decode("utf-8", errors="replace") if name else ""

    @staticmethod
    def _strings(array: ctypes._Pointer | None) -> list[str]:  # type: ignore[name-defined]
        names: list[str] = []
        if not array:
            return names
        i = 0
        while array[i]:
            names.append(array[i].decode("utf-8", errors="replace"))
            i += 1
        return names

    def plots(self) -> list[str]:
        """Names of all plots ngspice holds, newest first (``"const"`` is always there)."""
        with _LOCK:
            self._check_usable()
            return self._strings(self._lib.ngSpice_AllPlots())

    def vectors(self, plot: str | None = None, *, normalize: bool = True) -> dict[str, np.ndarray]:
        """Copy the vectors of ``plot`` (default: the current plot) into NumPy arrays.

        Parameters
        ----------
        plot : str, optional
            Plot name such as ``"op1"``.
        normalize : bool
            Key by :func:`normalize_vector_name` (default) or by ngspice's raw names.

        Returns
        -------
        dict of str to numpy.ndarray
            float64 arrays (complex128 for complex vectors), owned by NumPy.
        """
        with _LOCK:
            self._check_usable()
            plot = plot or self._cur_plot()
            names = self._strings(self._lib.ngSpice_AllVecs(plot.encode("utf-8")))
            result: dict[str, np.ndarray] = {}
            for name in names:
                info_ptr = self._lib.ngGet_Vec_Info(f"{plot}.{name}".encode("utf-8"))
                if not info_ptr:
                    continue
                info = info_ptr.contents
                n = int(info.v_length)
                if info.v_realdata and n > 0:
                    data = np.ctypeslib.as_array(info.v_realdata, shape=(n,)).copy()
                elif info.v_compdata and n > 0:
                    pairs = np.ctypeslib.as_array(info.v_compdata, shape=(n, 2))
                    data = pairs[:, 0] + 1j * pairs[:, 1]
                else:
                    data = np.empty(0)
                result[normalize_vector_name(name) if normalize else name] = data
            return result


def operating_point(netlist_text: str, *, throw: bool = True, trust_deck: bool = False) -> NgspiceRun:
    r"""Load ``netlist_text`` and compute its DC operating point (``op``).

    Any analysis cards in the deck are ignored; see :func:`run_netlist` for those.
    ``trust_deck``: see :meth:`NgspiceShared.load` (off: the deck must pass the deck policy).

    Examples
    --------
    >>> from analog_eqprop.solvers.ngspice_shared import ngspice_available, operating_point
    >>> deck = "d\nV1 a 0 2\nR1 a b 1k\nR2 b 0 1k\n.end"
    >>> print(f"{operating_point(deck).vectors['b'][0]:.3f}" if ngspice_available() else "1.000")
    1.000
    """
    with _LOCK:
        engine = get_engine()
        engine.load(netlist_text, trust_deck=trust_deck)
        return engine.run("op", throw=throw)


def run_netlist(netlist_text: str, *, throw: bool = True, timeout_s: float | None = None,
                trust_deck: bool = False) -> NgspiceRun:
    r"""Load ``netlist_text`` and run the analyses it contains (``.op`` or ``.dc``).

    ``trust_deck``: see :meth:`NgspiceShared.load` (off: the deck must pass the deck policy).

    Examples
    --------
    >>> from analog_eqprop.solvers.ngspice_shared import ngspice_available, run_netlist
    >>> deck = "s\nV1 a 0 0\nR1 a b 1k\nR2 b 0 1k\n.dc V1 0 2 1\n.end"
    >>> if ngspice_available():
    ...     print(run_netlist(deck).vectors["b"].tolist())
    ... else:
    ...     print([0.0, 0.5, 1.0])
    [0.0, 0.5, 1.0]
    """
    with _LOCK:
        engine = get_engine()
        engine.load(netlist_text, trust_deck=trust_deck)
        return engine.run(None, throw=throw, timeout_s=timeout_s)

