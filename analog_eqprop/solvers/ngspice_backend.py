"""The ngspice backend: operating points of a circuit simulated by ngspice itself.

Each batch is compiled by :mod:`analog_eqprop.netlist` and run through libngspice (one
engine per process, :mod:`.ngspice_shared`) or ``ngspice -b`` (:mod:`.ngspice_batch`). What
makes it fast (PHYSICS.md §4, measured in ``benchmarks/ngspice_speed.py``):

* **Norton-folded inputs** (``form="norton"``, exact for ideal sources): the sparse matrix
  loses every input row, which is where ngspice spends most of an ``.op``. The fold is done
  here, once per batch, as one matrix product (:class:`NortonPlan`): each free node ``j``
  fed by inputs gets one source ``V_j = sum_i g_ij V_i / G_j`` behind ``G_j = sum_i g_ij``,
  which the compiler then writes as its Norton pair ``rn<j>``, ``in<j>`` -- the same deck
  as folding the 156,800 input resistors of a 784-100-10 net edge by edge (to rounding,
  ``G_j (I_j / G_j)`` vs ``I_j``), for a fraction of the Python work, and what travels to
  the workers is a few hundred numbers per example instead of the 784 pixels' circuit;
* **many examples per analysis** (``per_analysis``): one ``.dc`` sweep of an index source
  over ``pwl()`` tables instead of one ``.op`` per example;
* **workers**: chunks of a batch go to any :class:`concurrent.futures.Executor` (a process
  pool or a Dask client's executor, see :mod:`analog_eqprop.parallel`); each worker process
  owns its ngspice engine, created lazily there. A batch is split into at least as many
  chunks as there are workers.

``per_analysis=1, form="full"`` is the naive path (one ``.op`` of the full netlist per
example and phase), kept for comparison.

Examples
--------
>>> import numpy as np
>>> from analog_eqprop.circuits import layered_circuit
>>> from analog_eqprop.solvers.mna import MNASystem
>>> from analog_eqprop.solvers.ngspice_shared import ngspice_available
>>> c = layered_circuit([2, 3, 1], seed=0)
>>> if ngspice_available():
...     op = NgspiceBackend().operating_point(MNASystem(c), c.edge_g, np.array([[0.2, 0.9]]))
...     print(op.status, op.voltages.shape)
... else:
...     print("converged (1, 4)")
converged (1, 4)
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Executor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from typing import Any, Literal, Mapping, NamedTuple

import numpy as np

from analog_eqprop.circuits.description import Circuit
from analog_eqprop.contracts import BackendCapabilities
from analog_eqprop.errors import (
    ConfigError,
    ConvergenceError,
    NetlistError,
    SimulationTimeoutError,
    WorkerDiedError,
)
from analog_eqprop.netlist import compile_netlist, compile_sweep
from analog_eqprop.netlist.deck_policy import check_options
from analog_eqprop.parallel import executor_workers, is_broken_pool_error, restart_executor
from analog_eqprop.results import OperatingPoint
from analog_eqprop.solvers.memo import LastValue
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.solvers.newton import single_thread_blas
from analog_eqprop.solvers.ngspice_batch import run_batch
from analog_eqprop.solvers.ngspice_shared import run_netlist
from analog_eqprop.solvers.numpy_backend import NumpyBackend
from analog_eqprop.validation import batch, solve_args

__all__ = ["NgspiceBackend", "NortonPlan", "ChunkResult", "solve_chunk", "sweep_deck", "TIGHT_OPTIONS",
           "DEFAULT_OPTIONS", "RETRY_AIDS", "run_deck"]

log = logging.getLogger(__name__)

#: Options for comparisons at the 1e-9 V level (PHYSICS.md §4).
TIGHT_OPTIONS = {"reltol": 1e-6, "vntol": 1e-9}
#: The backend's default: ngspice's stock reltol=1e-3 lets Newton stop while junctions that
#: conduct milliamps are still up to ~3e-5 V from the operating point (measured on the
#: agreement circuits); 1e-4 with 3 solves per sweep point keeps every case under 1e-6 V.
DEFAULT_OPTIONS = {"reltol": 1e-4}


class ChunkResult(NamedTuple):
    """What one chunk of a batch returns from wherever it ran."""

    voltages: np.ndarray  #: free-node voltages [V], (chunk, n_free)
    ngspice_seconds: float  #: wall seconds inside ngspice (load and analysis)
    analyses: int  #: analyses run (1: one sweep or one .op)
    seconds: float  #: wall seconds of the whole chunk, compiling included
    cpu_seconds: float  #: CPU seconds of the process that ran it (ngspice's included in shared mode)
    aids: tuple[str, ...] = ()  #: convergence aids tried before it converged (empty: none needed)


#: What a chunk tries, in this order, when ngspice reports non-convergence: one ``.op`` per
#: example (a sweep point starts from the previous point's solution; a fresh ``.op`` runs
#: ngspice's whole homotopy chain) with more Newton iterations and classic gmin stepping
#: (``gminsteps`` > 1), then with source stepping alone, then started from the NumPy
#: twin's solution (``.nodeset``). Each entry: (name, extra ``.options``).
RETRY_AIDS: tuple[tuple[str, dict[str, Any] | None], ...] = (
    ("gmin stepping", {"itl1": 500, "gminsteps": 20}),
    ("source stepping", {"itl1": 500, "gminsteps": 0, "srcsteps": 20}),
    ("nodeset from the NumPy solution", None),
)


def run_deck(text: str, mode: str, timeout_s: float | None = None, *, trust_deck: bool = False):
    """Run a deck through libngspice (``mode="shared"``) or ``ngspice -b`` (``"batch"``, killed
    after ``timeout_s``, default 600 s); an :class:`~analog_eqprop.solvers.ngspice_batch.NgspiceRun`.

    The deck must pass the deck policy (:mod:`analog_eqprop.netlist.deck_policy`: no
    commands, includes or scripts; the refusal names the line) unless ``trust_deck=True``,
    which runs it as written, its own commands included."""
    if mode not in ("shared", "batch"):
        raise ConfigError(f"ngspice mode must be 'shared' or 'batch', got {mode!r}")
    if mode == "batch":
        return run_batch(text, timeout_s=timeout_s or 600.0, trust_deck=trust_deck)
    return run_netlist(text, timeout_s=timeout_s, trust_deck=trust_deck)


def _nodesets(circuit: Circuit, g: np.ndarray, X: np.ndarray, beta: float, target: np.ndarray | None,
              ref: np.ndarray | None, nudge_current: np.ndarray | None) -> np.ndarray:
    """Free-node voltages [V] to start ngspice from: the NumPy twin's operating points (or,
    for explicit nudge currents, which the twin's squared-error nudge cannot express, the
    free-phase state the nudged phase starts from)."""
    if nudge_current is not None and ref is not None:
        return np.asarray(ref, dtype=np.float64)
    target_v = None if target is None else circuit.target_off + target * (circuit.target_on - circuit.target_off)
    op = NumpyBackend().operating_point(MNASystem(circuit), g, X, beta=beta if nudge_current is None else 0.0,
                                        target_v=target_v, ref=ref)
    return op.voltages[:, : circuit.n_free]


def sweep_deck(circuit: Circuit, g: np.ndarray, X: np.ndarray, beta: float, target: np.ndarray | None,
               ref: np.ndarray | None, form: str, options: Mapping[str, Any] | None, repeats: int,
               nudge_current: np.ndarray | None = None):
    """The deck of one chunk of examples (a ``.dc`` sweep, :func:`~analog_eqprop.netlist.compile_sweep`),
    as the backend runs it: a deck nobody reads, so without comments or metadata (shorter to
    parse), and with ``.save`` lines so that ngspice keeps and hands back the free nodes only."""
    kw = {} if nudge_current is None else {"nudge_current": nudge_current}  # decks without it stay as they were
    return compile_sweep(circuit, g, X, beta=beta, target=target, nudge_ref=ref, form=form, options=options,
                         repeats=repeats, comments=False, probes="save", **kw)


def _solve(circuit, g, X, beta, target, ref, form, options, mode, timeout_s, repeats, nudge_current,
           per_example: bool = False, nodeset: np.ndarray | None = None) -> tuple[np.ndarray, float, int]:
    """One attempt: (free-node voltages, seconds inside ngspice, analyses run)."""
    B = X.shape[0]
    kw = dict(beta=beta, form=form, options=options)
    if B > 1 and not per_example:
        net = sweep_deck(circuit, g, X, beta, target, ref, form, options, repeats, nudge_current)
        run = run_deck(net.text, mode, timeout_s)
        return net.free_voltages(run.vectors), float(run.seconds), 1
    rows, seconds = [], 0.0
    for k in range(B):
        if nudge_current is not None:
            kw["nudge_current"] = nudge_current[k]
        net = compile_netlist(circuit, g, X[k], target=None if target is None else target[k],
                              nudge_ref=None if ref is None else ref[k], analysis="op", probes=False,
                              nodeset=None if nodeset is None else nodeset[k], **kw)
        run = run_deck(net.text, mode, timeout_s)
        rows.append(net.free_voltages(run.vectors))
        seconds += float(run.seconds)
    return np.concatenate(rows, axis=0), seconds, B


def solve_chunk(circuit: Circuit, g: np.ndarray, X: np.ndarray, beta: float, target: np.ndarray | None,
                ref: np.ndarray | None, form: str, options: Mapping[str, Any] | None, mode: str,
                timeout_s: float | None, repeats: int = 3, nudge_current: np.ndarray | None = None) -> ChunkResult:
    """Compile and simulate one chunk of examples (one ``.dc`` sweep, or one ``.op`` for a
    single example). Top-level so process pools can pickle it; the engine is created on
    first use in whichever process runs it. ``nudge_current`` (chunk, n_outputs) [A]: explicit
    nudge currents instead of the squared error's (see :meth:`NgspiceBackend.operating_point`).

    If ngspice does not converge, the chunk is retried with :data:`RETRY_AIDS` in order; the
    result names the aids that were needed, and if none helps, the
    :class:`~analog_eqprop.errors.ConvergenceError` lists everything that was tried.
    ``timeout_s`` limits every analysis (:class:`~analog_eqprop.errors.SimulationTimeoutError`)."""
    t0, c0 = time.perf_counter(), time.process_time()
    args = (circuit, g, X, beta, target, ref, form, options, mode, timeout_s, repeats, nudge_current)
    tried: list[str] = []
    try:
        v, ng_s, n = _solve(*args)
    except ConvergenceError as exc:
        tried.append(f"as configured ({_summary(exc)})")
        for name, extra in RETRY_AIDS:
            try:
                if extra is None:
                    start = _nodesets(circuit, g, X, beta, target, ref, nudge_current)
                    v, ng_s, n = _solve(*args, per_example=True, nodeset=start)
                else:
                    v, ng_s, n = _solve(*args[:7], {**(options or {}), **extra}, *args[8:], per_example=True)
            except ConvergenceError as again:
                tried.append(f"{name} ({_summary(again)})")
                continue
            tried.append(name)
            break
        else:
            raise ConvergenceError(
                f"ngspice did not converge on {X.shape[0]} example(s) of circuit {circuit.name!r}"
                f"{' (nudged phase, beta=%g)' % beta if beta else ' (free phase)'}; tried, in order: "
                + "; ".join(tried) + ". Check the circuit for nodes without a DC path and for extreme "
                "conductances, or loosen the backend's options (reltol, abstol)."
            ) from exc
        log.warning("ngspice converged on %d example(s) of %r only after: %s", X.shape[0], circuit.name,
                    "; ".join(tried))
    return ChunkResult(v, ng_s, n, time.perf_counter() - t0, time.process_time() - c0, tuple(tried))


def _summary(exc: BaseException) -> str:
    """ngspice's own error lines of ``exc`` (not the header), at most two, on one line."""
    lines = [line.strip() for line in str(exc).strip().splitlines()]
    return " / ".join((lines[1:] or lines)[:2]) or type(exc).__name__


class NortonPlan:
    """A circuit's input sources folded into one equivalent source per free node.

    Every conductance between an input source ``i`` and a free node ``j`` is replaced by one
    source ``V_j = sum_i g_ij V_i / G_j`` (feature ``j`` of the *reduced* circuit, gain 1)
    behind one conductance ``G_j = sum_i g_ij``: exact for ideal sources (Thevenin/Norton),
    and what the compiler's Norton form writes as ``rn<j>``/``in<j>``. Bias rails, amplifiers,
    diodes and outputs are kept as they are.

    Parameters
    ----------
    circuit : Circuit
        Its input sources may connect to free nodes only (else :class:`ConfigError`).

    Examples
    --------
    >>> import numpy as np
    >>> from analog_eqprop.circuits import kendall_circuit
    >>> c = kendall_circuit(4, 3, 2, seed=0)
    >>> plan = NortonPlan(c)
    >>> plan.reduced.n_sources, c.n_sources, plan.reduced.n_edges, c.n_edges
    (7, 12, 29, 50)
    >>> g_red, x_eff = plan.fold(c.edge_g, np.array([[0.1, 0.5, 0.9, 0.0]]))
    >>> g_red.shape, x_eff.shape
    ((29,), (1, 3))
    """

    def __init__(self, circuit: Circuit):
        c = circuit
        nf, ns = c.n_free, c.n_sources
        is_input = np.array([k == "input" for k in c.source_kind], dtype=bool)
        kind_a, kind_b = c.terminal_kind(c.edge_a), c.terminal_kind(c.edge_b)
        src_a = np.where(kind_a == 1, c.edge_a - nf, 0)
        src_b = np.where(kind_b == 1, c.edge_b - nf, 0)
        in_a, in_b = (kind_a == 1) & is_input[src_a], (kind_b == 1) & is_input[src_b]
        other = np.where(in_a, kind_b, kind_a)
        if np.any((in_a | in_b) & (other != 0)):
            k = int(np.argmax((in_a | in_b) & (other != 0)))
            raise ConfigError(f"cannot fold conductance {k}: input source {c.terminal_name(c.edge_a[k])!r} or "
                              f"{c.terminal_name(c.edge_b[k])!r} connects to something other than a free node; "
                              "use form='full'")
        for table in c.tables():  # nothing but conductances may touch a folded input
            if table.kind == "conductance":
                continue
            for col in table.terminals:
                t = getattr(table, col)
                on_input = (c.terminal_kind(t) == 1) & is_input[np.clip(t - nf, 0, ns - 1)]
                if np.any(on_input):
                    k = int(np.argmax(on_input))
                    raise ConfigError(f"a {table.noun} touches input source {c.terminal_name(t[k])!r}; use form='full'")
        self.circuit = c
        fold = in_a | in_b
        self.keep = np.flatnonzero(~fold)
        f = np.flatnonzero(fold)
        node = np.where(in_a[f], c.edge_b[f], c.edge_a[f])
        src = np.where(in_a[f], src_a[f], src_b[f])
        self.nodes = np.unique(node)  # free nodes fed by inputs, in node order
        m = self.nodes.size
        slot = np.searchsorted(self.nodes, node)
        self.fold_edges, self.fold_slot = f, slot
        self.inputs = np.flatnonzero(is_input)
        pos = np.full(ns, -1)
        pos[self.inputs] = np.arange(self.inputs.size)
        self.fold_cell = pos[src] * m + slot  # flat index into the (n_inputs, m) fold matrix
        # the reduced circuit: bias rails keep their order, then one source per folded node
        bias = np.flatnonzero(~is_input)
        new_src = np.full(ns, -1)
        new_src[bias] = np.arange(bias.size)
        ns_red = bias.size + m

        def term(t: np.ndarray) -> np.ndarray:  # terminal re-indexing: sources renumbered, later owners shift
            t = np.asarray(t)
            kind = c.terminal_kind(t)
            return np.select([kind == 1, kind >= 2], [nf + new_src[np.clip(t - nf, 0, ns - 1)], t - ns + ns_red],
                             default=t)

        taken = set(c.terminal_labels())
        names = []
        for j in self.nodes:
            name, k = f"{c.nodes[j]}_norton", 1
            while name in taken:
                name, k = f"{c.nodes[j]}_norton{k}", k + 1
            taken.add(name)
            names.append(name)
        lay = np.zeros(m, np.int64)
        lay[slot] = c.edge_layer[f]
        src_t = c.element("source")
        sources = src_t.take(bias).replace(
            labels=tuple(src_t.labels[s] for s in bias) + tuple(names),
            role=tuple(src_t.role[s] for s in bias) + ("input",) * m,
            feature=np.concatenate([np.full(bias.size, -1), np.arange(m)]),
            gain=np.concatenate([src_t.gain[bias], np.ones(m)]),
            offset=np.concatenate([src_t.offset[bias], np.zeros(m)]))
        cond = c.element("conductance")
        conductances = cond.take(self.keep).remap(term)
        conductances = conductances.replace(
            a=np.concatenate([conductances.a, self.nodes]),
            b=np.concatenate([conductances.b, nf + bias.size + np.arange(m)]),
            g=np.concatenate([conductances.g, np.ones(m)]), layer=np.concatenate([conductances.layer, lay]))
        tables = {t.kind: t.remap(term) for t in c.tables()}
        tables.update(source=sources, conductance=conductances)
        self.reduced = replace(c, name=c.name, n_features=m, elements=tables)
        self._last = LastValue()

    def fold(self, g: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Conductances [S] and features [V] of the reduced circuit for ``g`` and ``x`` (batch, n_features)."""
        c = self.circuit
        g_red, W, G = self._matrices(np.asarray(g, dtype=np.float64))
        v_in = c.source_voltages(np.atleast_2d(x))[:, self.inputs]
        with single_thread_blas():  # a small product: threads only add overhead (see newton)
            return g_red, (v_in @ W) / G

    def _matrices(self, g: np.ndarray):
        # the free and nudged phases of a batch share g: rebuild only when it changed
        hit = self._last.get(g)
        if hit is not None:
            return hit
        m = self.nodes.size
        gf = g[self.fold_edges]
        G = np.bincount(self.fold_slot, weights=gf, minlength=m)
        W = np.bincount(self.fold_cell, weights=gf, minlength=self.inputs.size * m).reshape(-1, m)
        return self._last.put(g, (np.concatenate([g[self.keep], G]), W, G))


class NgspiceBackend:
    """Operating points from ngspice.

    Parameters
    ----------
    mode : {"shared", "batch"}
        libngspice in this process (or in each worker), or an ``ngspice -b`` subprocess.
    form : {"norton", "full"}
        Netlist form; Norton folding is exact for ideal input sources and much faster. A
        circuit whose inputs cannot be folded (an element other than a conductance touches an
        input source, e.g. a transistor edge) runs in the full form (``extra["form"]`` says which).
    per_analysis : int
        Most examples per analysis (a ``.dc`` sweep); 1 runs one ``.op`` per example.
    options : mapping, optional
        ``.options`` of every deck (default :data:`DEFAULT_OPTIONS`; ``{}`` for ngspice's
        own defaults, :data:`TIGHT_OPTIONS` for 1e-9 V comparisons).
    executor : concurrent.futures.Executor, optional
        Where chunks run (see :func:`analog_eqprop.parallel.make_executor`); default: in
        this process, one chunk after the other.
    timeout_s : float, optional
        Wall-clock limit [s] of every analysis, in both modes (shared: ngspice's background
        thread is halted; batch: the subprocess is killed); past it a
        :class:`~analog_eqprop.errors.SimulationTimeoutError` names the circuit. With an
        executor, a worker silent for longer than all the analyses of its chunk could take
        (retries included) plus 30 s is taken as wedged and its pool restarted.
    repeats : int
        Solves per sweep point (see :func:`~analog_eqprop.netlist.compile_sweep`). Measured
        on the agreement circuits with DIDEAL diodes at default options: 1 solve leaves up to
        2e-6 V, 2 solves 5e-6 V (ngspice's bypass reuses the stale junction linearisation),
        3 solves 1e-13 V -- as exact as a fresh ``.op`` -- for little extra time, since the
        repeated points converge in one or two Newton steps.
    workers : int, optional
        Split every batch into at least this many chunks (default: the executor's worker
        count, 1 without an executor), so that a small batch still keeps all workers busy.
    max_restarts : int
        How often a batch may restart a process pool whose worker died (its unfinished
        chunks run again) before :class:`~analog_eqprop.errors.WorkerDiedError`.

    Notes
    -----
    Faults: non-convergence is retried with :data:`RETRY_AIDS` (``stats["aided_chunks"]``
    counts the chunks that needed them, ``OperatingPoint.extra["aids"]`` names them); a
    worker that dies is replaced and its chunk rerun (``stats["worker_restarts"]``); Dask
    replaces dead workers itself and reruns their tasks.
    """

    name = "ngspice"
    #: operating_point takes explicit nudge currents (any loss) and other kinds' trained columns
    capabilities = BackendCapabilities(nudge_currents=True, element_values=True)
    #: Seconds a worker may stay silent beyond its chunk's analysis limits before it counts as wedged.
    wedge_grace_s = 30.0

    def __init__(self, *, mode: Literal["shared", "batch"] = "shared", form: Literal["norton", "full"] = "norton",
                 per_analysis: int = 50, options: Mapping[str, Any] | None = None, executor: Executor | None = None,
                 timeout_s: float | None = None, repeats: int = 3, workers: int | None = None,
                 max_restarts: int = 2):
        if mode not in ("shared", "batch"):
            raise ConfigError(f"ngspice mode must be 'shared' or 'batch', got {mode!r}")
        if form not in ("norton", "full"):
            raise ConfigError(f"netlist form must be 'norton' or 'full', got {form!r}")
        if per_analysis < 1:
            raise ConfigError(f"per_analysis must be >= 1, got {per_analysis}")
        self.mode, self.form, self.per_analysis = mode, form, int(per_analysis)
        self.options = dict(DEFAULT_OPTIONS if options is None else options) or None
        try:  # the deck policy would refuse every deck with them: say so now
            check_options(self.options)
        except NetlistError as exc:
            raise ConfigError(f"ngspice options: {exc}") from None
        self.executor = executor
        if timeout_s is not None and not timeout_s > 0:
            raise ConfigError(f"timeout_s must be > 0 seconds, got {timeout_s!r}")
        self.timeout_s = None if timeout_s is None else float(timeout_s)
        if max_restarts < 0:
            raise ConfigError(f"max_restarts must be >= 0, got {max_restarts}")
        self.max_restarts = int(max_restarts)
        if repeats < 1:
            raise ConfigError(f"repeats must be >= 1, got {repeats}")
        self.repeats = int(repeats)
        if workers is None:
            workers = executor_workers(executor) if executor is not None else 1
        if workers < 1:
            raise ConfigError(f"workers must be >= 1, got {workers}")
        self.workers = int(workers)
        self._plans: dict[int, tuple[Circuit, NortonPlan | None]] = {}
        self.stats = {"analyses": 0, "examples": 0, "ngspice_seconds": 0.0, "chunk_seconds": 0.0,
                      "chunk_cpu_seconds": 0.0, "wall_seconds": 0.0, "aided_chunks": 0, "worker_restarts": 0}

    def __getstate__(self) -> dict:
        # an executor does not pickle (and a copy of the model must not share a pool by accident)
        return {**self.__dict__, "executor": None, "_plans": {}}

    def _plan(self, circuit: Circuit) -> NortonPlan | None:
        """The circuit's Norton plan; None when its input sources cannot be folded (an element
        other than a conductance touches one: a transistor edge from an input), whose decks
        are then written in the full form -- the same operating points, only slower."""
        hit = self._plans.get(id(circuit))
        if hit is None or hit[0] is not circuit:
            try:
                plan = NortonPlan(circuit)
            except ConfigError as exc:
                log.info("circuit %r: %s; its decks use the full form", circuit.name, exc)
                plan = None
            hit = self._plans[id(circuit)] = (circuit, plan)
        return hit[1]

    def chunks(self, batch: int) -> list[slice]:
        """How a batch is cut: at most ``per_analysis`` examples per chunk, and at least
        ``workers`` chunks (when the batch has that many examples), of near-equal sizes."""
        n = max(-(-batch // self.per_analysis), min(self.workers, batch))
        edges = np.linspace(0, batch, n + 1).round().astype(int)
        return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]

    def operating_point(self, system: MNASystem, g: np.ndarray, x: np.ndarray, *, beta: float = 0.0,
                        target_v: np.ndarray | None = None, ref: np.ndarray | None = None,
                        u0: np.ndarray | None = None, nudge_current: np.ndarray | None = None,
                        values: Mapping[str, np.ndarray] | None = None) -> OperatingPoint:
        """Operating points of a batch (``u0`` is ignored: in a ``.dc`` sweep ngspice starts
        each point from the previous one's solution, whatever ``.nodeset`` says).

        ``values`` (``{kind: array}``): the trained columns of kinds other than conductances
        (transistor gate voltages [V]...), written into the decks.

        ``nudge_current`` (batch, n_outputs) [A], current-mode circuits: the currents injected
        into the outputs in a nudged phase (``-beta dC/dV`` of any loss, computed by the caller)
        instead of the squared error's ``-beta (V(ref) - target_v)``."""
        t0 = time.perf_counter()
        c = system.circuit
        nudged = nudge_current is not None and bool(beta)
        g, x, beta, target_v, ref, u0 = solve_args(c, g, x, beta=beta, target=target_v, ref=ref, u0=u0,
                                                   n_state=system.n, ref_optional=nudged)
        X, B = x, x.shape[0]
        nudge = None if not nudged else batch(nudge_current, "nudge_current", c.n_outputs, rows=B, promote=False)
        target = None if target_v is None else (target_v - c.target_off) / (c.target_on - c.target_off)
        # ref may carry the diodes' internal nodes (the NumPy solvers' state); the deck wants the free nodes
        ref_free = None if ref is None else ref[:, : c.n_free]
        circuit, form = c, self.form
        plan = self._plan(c) if form == "norton" else None
        if plan is None:
            form = "full"
        else:
            circuit, (g, X) = plan.reduced, plan.fold(g, X)
        circuit = circuit.with_values(values)
        jobs = [(circuit, g, X[s], float(beta), None if target is None else target[s],
                 None if ref_free is None else ref_free[s], form, self.options, self.mode, self.timeout_s,
                 self.repeats) + (() if nudge is None else (nudge[s],)) for s in self.chunks(B)]
        if self.executor is None or len(jobs) == 1:
            results = [solve_chunk(*job) for job in jobs]
        else:
            results = self._run_on_workers(jobs)
        aided = [(i, r.aids) for i, r in enumerate(results) if r.aids]
        self.stats["aided_chunks"] += len(aided)
        v = np.concatenate([r.voltages for r in results], axis=0)
        self.stats["analyses"] += sum(r.analyses for r in results)
        self.stats["examples"] += B
        self.stats["ngspice_seconds"] += sum(r.ngspice_seconds for r in results)
        self.stats["chunk_seconds"] += sum(r.seconds for r in results)
        self.stats["chunk_cpu_seconds"] += sum(r.cpu_seconds for r in results)
        internal = np.zeros((B, system.n_internal))
        if system.n_internal:
            # ngspice's internal diode nodes are not read back; start them at their anode
            # (they only seed warm starts of the NumPy solvers, never an EqProp update).
            w = system.extended(np.concatenate([v, internal], axis=1), c.source_voltages(x))
            internal = w[:, system.d_anode_term[system.has_rs]]
        seconds = time.perf_counter() - t0
        self.stats["wall_seconds"] += seconds
        return OperatingPoint(voltages=v, internal=internal, status="converged", converged=np.ones(B, bool),
                              iterations=len(jobs), residual=np.full(B, np.nan), backend=f"ngspice-{self.mode}",
                              seconds=seconds, extra={"analyses": len(jobs), "form": form, "aids": aided})

    def _run_on_workers(self, jobs: list[tuple]) -> list[ChunkResult]:
        """Run chunks on the executor. A worker that dies breaks a process pool: the pool is
        restarted (:class:`~analog_eqprop.parallel.WorkerPool`) and the unfinished chunks run
        again, up to ``max_restarts`` times per batch. A chunk that does not come back within
        every analysis it may run could take (a wedged worker) restarts the pool and raises."""
        results: dict[int, ChunkResult] = {}
        restarts = 0
        while len(results) < len(jobs):
            todo = [i for i in range(len(jobs)) if i not in results]
            died: BaseException | None = None
            try:
                futures = {i: self.executor.submit(solve_chunk, *jobs[i]) for i in todo}
            except Exception as exc:  # a pool already broken refuses new work
                if not is_broken_pool_error(exc):
                    raise
                futures, died = {}, exc
            for i, fut in futures.items():
                # a chunk may run one sweep, then one .op per example for each retry aid
                n = jobs[i][2].shape[0]
                wait = None if self.timeout_s is None else self.timeout_s * (1 + len(RETRY_AIDS) * n) + self.wedge_grace_s
                try:
                    results[i] = fut.result(timeout=wait)
                except SimulationTimeoutError:  # the worker's own limit (a TimeoutError too): pass it on
                    raise
                except FutureTimeout:
                    restart_executor(self.executor)
                    self.stats["worker_restarts"] += 1
                    raise SimulationTimeoutError(
                        f"an ngspice worker gave no answer for chunk {i + 1} of {len(jobs)} within {wait:g} s "
                        f"(timeout_s={self.timeout_s:g}); its pool was restarted") from None
                except Exception as exc:
                    if not is_broken_pool_error(exc):
                        raise
                    died = exc
            if died is not None:
                restarts += 1
                if restarts > self.max_restarts:
                    raise WorkerDiedError(
                        f"ngspice worker processes died {restarts} times while running one batch "
                        f"({len(jobs) - len(results)} of {len(jobs)} chunks unfinished; last: {died!r}); "
                        "look for crashes in the workers (out of memory, a signal) before raising max_restarts"
                    ) from died
                log.warning("an ngspice worker died (%r); restarting the pool and rerunning %d chunk(s)",
                            died, len(jobs) - len(results))
                restart_executor(self.executor)
                self.stats["worker_restarts"] += 1
        return [results[i] for i in range(len(jobs))]
