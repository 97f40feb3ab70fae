"""The ngspice backend: operating points of a circuit simulated by ngspice itself.

Each batch is compiled by :mod:`analog_eqprop.netlist` and run through libngspice (one
engine per process, :mod:`.ngspice_shared`) or ``ngspice -b`` (:mod:`.ngspice_batch`). What
makes it fast (PHYSICS.md §4):

* **Norton-folded inputs** (``form="norton"``, exact for ideal sources): the sparse matrix
  loses every input row, which is where ngspice spends most of an ``.op``;
* **many examples per analysis** (``per_analysis``): one ``.dc`` sweep of an index source
  over ``pwl()`` tables instead of one ``.op`` per example;
* **workers**: chunks of a batch go to any :class:`concurrent.futures.Executor` (a process
  pool, or a Dask client's executor); each worker process owns its ngspice engine.

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

import time
from concurrent.futures import Executor
from typing import Any, Literal, Mapping

import numpy as np

from analog_eqprop.circuits.description import Circuit
from analog_eqprop.errors import ConfigError
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.solvers.newton import OperatingPoint

__all__ = ["NgspiceBackend", "solve_chunk", "TIGHT_OPTIONS", "DEFAULT_OPTIONS"]

#: Options for comparisons at the 1e-9 V level (PHYSICS.md §4).
TIGHT_OPTIONS = {"reltol": 1e-6, "vntol": 1e-9}
#: The backend's default: ngspice's stock reltol=1e-3 lets Newton stop while junctions that
#: conduct milliamps are still up to ~3e-5 V from the operating point (measured on the
#: agreement circuits); 1e-4 with 3 solves per sweep point keeps every case under 1e-6 V.
DEFAULT_OPTIONS = {"reltol": 1e-4}


def solve_chunk(circuit: Circuit, g: np.ndarray, X: np.ndarray, beta: float, target: np.ndarray | None,
                ref: np.ndarray | None, form: str, options: Mapping[str, Any] | None, mode: str,
                timeout_s: float | None, repeats: int = 3) -> tuple[np.ndarray, float, int]:
    """Simulate one chunk of examples; returns free-node voltages (chunk, n_free), seconds
    spent in ngspice, and the number of analyses. Top-level so process pools can pickle it."""
    from analog_eqprop.netlist import compile_netlist, compile_sweep

    B = X.shape[0]
    kw = dict(beta=beta, form=form, options=options)
    if B == 1:
        net = compile_netlist(circuit, g, X[0], target=None if target is None else target[0],
                              nudge_ref=None if ref is None else ref[0], analysis="op", probes=False, **kw)
    else:
        net = compile_sweep(circuit, g, X, target=target, nudge_ref=ref, repeats=repeats, **kw)
    if mode == "batch":
        from analog_eqprop.solvers.ngspice_batch import run_batch

        run = run_batch(net.text, timeout_s=timeout_s or 600.0)
    else:
        from analog_eqprop.solvers.ngspice_shared import run_netlist

        run = run_netlist(net.text)
    return net.free_voltages(run.vectors), float(run.seconds), 1


class NgspiceBackend:
    """Operating points from ngspice.

    Parameters
    ----------
    mode : {"shared", "batch"}
        libngspice in this process (or in each worker), or an ``ngspice -b`` subprocess.
    form : {"norton", "full"}
        Netlist form; Norton folding is exact for ideal input sources and much faster.
    per_analysis : int
        Examples per analysis (a ``.dc`` sweep); 1 runs one ``.op`` per example. Past ~50
        the ``pwl()`` tables start to dominate (PHYSICS.md §4).
    options : mapping, optional
        ``.options`` of every deck (default :data:`DEFAULT_OPTIONS`; ``{}`` for ngspice's
        own defaults, :data:`TIGHT_OPTIONS` for 1e-9 V comparisons).
    executor : concurrent.futures.Executor, optional
        Where chunks run (a process pool or ``dask.distributed.Client.get_executor()``);
        default: in this process, one chunk after the other.
    timeout_s : float, optional
        Per-chunk limit in batch mode.
    repeats : int
        Solves per sweep point (see :func:`~analog_eqprop.netlist.compile_sweep`). Measured
        on the agreement circuits with DIDEAL diodes at default options: 1 solve leaves up to
        2e-6 V, 2 solves 5e-6 V (ngspice's bypass reuses the stale junction linearisation),
        3 solves 1e-13 V -- as exact as a fresh ``.op`` -- for little extra time, since the
        repeated points converge in one or two Newton steps.
    """

    name = "ngspice"

    def __init__(self, *, mode: Literal["shared", "batch"] = "shared", form: Literal["norton", "full"] = "norton",
                 per_analysis: int = 50, options: Mapping[str, Any] | None = None, executor: Executor | None = None,
                 timeout_s: float | None = None, repeats: int = 3):
        if mode not in ("shared", "batch"):
            raise ConfigError(f"ngspice mode must be 'shared' or 'batch', got {mode!r}")
        if form not in ("norton", "full"):
            raise ConfigError(f"netlist form must be 'norton' or 'full', got {form!r}")
        if per_analysis < 1:
            raise ConfigError(f"per_analysis must be >= 1, got {per_analysis}")
        self.mode, self.form, self.per_analysis = mode, form, int(per_analysis)
        self.options = dict(DEFAULT_OPTIONS if options is None else options) or None
        self.executor = executor
        self.timeout_s = timeout_s
        if repeats < 1:
            raise ConfigError(f"repeats must be >= 1, got {repeats}")
        self.repeats = int(repeats)
        self.stats = {"analyses": 0, "examples": 0, "ngspice_seconds": 0.0, "wall_seconds": 0.0}

    def operating_point(self, system: MNASystem, g: np.ndarray, x: np.ndarray, *, beta: float = 0.0,
                        target_v: np.ndarray | None = None, ref: np.ndarray | None = None,
                        u0: np.ndarray | None = None) -> OperatingPoint:
        """Operating points of a batch (``u0`` is ignored: ngspice starts from its own guess)."""
        t0 = time.perf_counter()
        c = system.circuit
        X = np.atleast_2d(np.asarray(x, dtype=np.float64))
        B = X.shape[0]
        target = None
        if beta:
            if target_v is None:
                raise ConfigError("a nudged phase needs targets")
            target = (np.asarray(target_v) - c.target_off) / (c.target_on - c.target_off)
        ref_free = None if ref is None else np.asarray(ref)[:, : c.n_free]
        g = np.asarray(g, dtype=np.float64)
        starts = list(range(0, B, self.per_analysis))
        jobs = [(c, g, X[s:s + self.per_analysis], float(beta),
                 None if target is None else target[s:s + self.per_analysis],
                 None if ref_free is None else ref_free[s:s + self.per_analysis],
                 self.form, self.options, self.mode, self.timeout_s, self.repeats) for s in starts]
        if self.executor is None or len(jobs) == 1:
            results = [solve_chunk(*job) for job in jobs]
        else:
            results = [f.result() for f in [self.executor.submit(solve_chunk, *job) for job in jobs]]
        v = np.concatenate([r[0] for r in results], axis=0)
        self.stats["analyses"] += sum(r[2] for r in results)
        self.stats["examples"] += B
        self.stats["ngspice_seconds"] += sum(r[1] for r in results)
        internal = np.zeros((B, system.n_internal))
        if system.n_internal:
            # ngspice's internal diode nodes are not read back; start them at their anode
            # (they only seed warm starts of the NumPy solvers, never an EqProp update).
            w = system.extended(np.concatenate([v, internal], axis=1), c.source_voltages(X))
            internal = w[:, system.d_anode_term[system.has_rs]]
        seconds = time.perf_counter() - t0
        self.stats["wall_seconds"] += seconds
        return OperatingPoint(voltages=v, internal=internal, status="converged", converged=np.ones(B, bool),
                              iterations=len(jobs), residual=np.full(B, np.nan), backend=f"ngspice-{self.mode}",
                              seconds=seconds, extra={"analyses": len(jobs), "form": self.form})
