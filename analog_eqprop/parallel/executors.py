"""Executors for work that needs one simulator engine per process (ngspice).

libngspice may be initialised once per process and never before a fork (PHYSICS.md §4), so
parallel ngspice runs need worker *processes* that start clean and build their engine on
first use. :func:`make_executor` gives a :class:`concurrent.futures.Executor` of that kind as
a context manager that shuts it down cleanly:

* ``"process"``: a :class:`WorkerPool` -- a :class:`~concurrent.futures.ProcessPoolExecutor`
  whose workers are *spawned* (fresh interpreters; see :func:`start_method`), never a fork
  of a parent that may already hold an engine, and which can be restarted after a worker
  died (a crash breaks a whole process pool). The pool lives as long as the ``with`` block,
  so its workers (and their engines) are reused by every batch;
* ``"dask"``: a Dask ``distributed`` client (a ``LocalCluster`` of single-threaded worker
  processes, or an existing scheduler at ``address``) seen through its executor interface,
  for runs spread over several machines; Dask's nannies replace dead workers and rerun
  their tasks themselves;
* ``None``: no executor (``with`` yields None): everything runs in this process.

Examples
--------
>>> with make_executor(None) as ex:
...     print(ex, executor_workers(ex))
None 1
>>> with make_executor("process", workers=2) as ex:
...     print(executor_workers(ex), sorted(ex.map(abs, [-2, 1])))
2 [1, 2]
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import BrokenExecutor, Executor, Future, ProcessPoolExecutor
from typing import Any, Callable

from analog_eqprop.errors import ConfigError, WorkerDiedError

__all__ = ["EXECUTORS", "make_executor", "process_pool", "dask_executor", "executor_workers", "start_method",
           "WorkerPool", "restart_executor", "is_broken_pool_error"]

EXECUTORS = ("process", "dask")


def start_method() -> str:
    """``"spawn"``: every worker is a fresh interpreter. Not ``"fork"`` (it would copy an
    engine), and not ``"forkserver"`` by default: its server imports the main module first,
    and workers forked from it inherit whatever that import did -- including an engine, if
    a script touched ngspice at module level (a worker then died with a broken pool here).
    The start costs about a second per worker, once per pool."""
    return "spawn"


def _worker_init() -> None:
    # A worker's NumPy work is small (reading vectors back); BLAS threads in every worker
    # would only fight the simulators for the cores.
    with contextlib.suppress(Exception):
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)


class WorkerPool(Executor):
    """A process pool of spawned workers that can be restarted after one of them died.

    A worker that dies (a crash inside the simulator, the out-of-memory killer, a signal)
    breaks a :class:`~concurrent.futures.ProcessPoolExecutor` for good: every pending and
    later task fails with ``BrokenProcessPool``. :meth:`restart` kills what is left of the
    old pool and starts a fresh one in its place, so that the caller
    (:class:`~analog_eqprop.solvers.ngspice_backend.NgspiceBackend`) can rerun its chunks.

    Parameters
    ----------
    workers : int
        Worker processes.
    method : str
        Start method (``"spawn"`` or ``"forkserver"``).

    Examples
    --------
    >>> pool = WorkerPool(1)
    >>> pool.submit(abs, -3).result()
    3
    >>> pool.restart(); pool.restarts, pool.submit(abs, -4).result()
    (1, 4)
    >>> pool.shutdown()
    """

    def __init__(self, workers: int, method: str = "spawn"):
        self._max_workers = int(workers)
        self._method = method
        self.restarts = 0
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self._max_workers, mp_context=multiprocessing.get_context(self._method),
                                   initializer=_worker_init)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    @property
    def pids(self) -> list[int]:
        """Process ids of the current workers (empty before the first task started them)."""
        procs = getattr(self._pool, "_processes", None) or {}
        return [p.pid for p in list(procs.values()) if p.pid]

    def restart(self) -> None:
        """Kill the current workers (wedged or not) and start a fresh pool."""
        old = self._pool
        procs = list((getattr(old, "_processes", None) or {}).values())
        for p in procs:
            with contextlib.suppress(Exception):
                p.kill()
        old.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            with contextlib.suppress(Exception):
                p.join(timeout=10)
        self._pool = self._new_pool()
        self.restarts += 1


def is_broken_pool_error(exc: BaseException) -> bool:
    """Whether ``exc`` says that an executor lost a worker process (a process pool's
    ``BrokenProcessPool``, Dask's ``KilledWorker``)."""
    return isinstance(exc, BrokenExecutor) or type(exc).__name__ == "KilledWorker"


def restart_executor(executor: Executor) -> None:
    """Restart ``executor`` after a worker died, or raise :class:`WorkerDiedError` saying why
    it cannot be (only :class:`WorkerPool` knows how; a bare process pool stays broken)."""
    restart = getattr(executor, "restart", None)
    if restart is None:
        raise WorkerDiedError(f"a worker of {type(executor).__name__} died and this executor cannot be restarted; "
                              "use analog_eqprop.parallel.make_executor('process'), whose pool restarts")
    restart()


def process_pool(workers: int | None = None, *, method: str | None = None) -> WorkerPool:
    """A process pool whose workers start without any ngspice state.

    Parameters
    ----------
    workers : int, optional
        Worker processes (default: ``os.cpu_count()``).
    method : {"spawn", "forkserver"}, optional
        Start method (default :func:`start_method`); ``"fork"`` is refused.
    """
    method = method or start_method()
    if method == "fork":
        raise ConfigError("a 'fork' pool would copy this process's ngspice engine; use 'forkserver' or 'spawn'")
    return WorkerPool(workers or os.cpu_count() or 1, method)


@contextlib.contextmanager
def dask_executor(workers: int | None = None, *, address: str | None = None, **cluster_kw: Any) -> Iterator[Executor]:
    """A Dask ``distributed`` client's executor, closed (with its cluster) on exit.

    Parameters
    ----------
    workers : int, optional
        Worker processes of the local cluster (default: ``os.cpu_count()``); ignored with
        ``address``.
    address : str, optional
        Scheduler of an existing cluster (``"tcp://host:8786"``) instead of a local one.
    **cluster_kw
        More ``LocalCluster`` arguments. Workers are processes with one thread each: an
        engine serves one analysis at a time, so more threads per process would only queue.
    """
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError('the "dask" executor needs dask.distributed: pip install "analog_eqprop[dask]"') from None
    if address is not None:
        client = Client(address)
        cluster = None
    else:
        kw = dict(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                  dashboard_address=None)
        kw.update(cluster_kw)
        cluster = LocalCluster(**kw)
        client = Client(cluster)
    try:
        ex = client.get_executor(pure=False)
        ex._analog_eqprop_workers = sum(client.nthreads().values())
        yield ex
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextlib.contextmanager
def make_executor(kind: str | None, workers: int | None = None, **kw: Any) -> Iterator[Executor | None]:
    """An executor by name, as a context manager that shuts it down on exit.

    Parameters
    ----------
    kind : {"process", "dask", None}
        See the module docstring; ``None`` (or ``"none"``) yields None.
    workers : int, optional
        Worker processes (default: ``os.cpu_count()``).
    **kw
        Passed to :func:`process_pool` or :func:`dask_executor`.
    """
    if kind in (None, "none"):
        yield None
        return
    if kind == "process":
        pool = process_pool(workers, **kw)
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return
    if kind == "dask":
        with dask_executor(workers, **kw) as ex:
            yield ex
        return
    raise ConfigError(f"unknown executor {kind!r}; use one of {', '.join(EXECUTORS)} or None")


def executor_workers(executor: Executor | None) -> int:
    """How many tasks ``executor`` runs at once (1 for None or an unknown executor)."""
    if executor is None:
        return 1
    n = getattr(executor, "_analog_eqprop_workers", None) or getattr(executor, "_max_workers", None)
    return int(n) if n else 1
