"""Executors for work that needs one simulator engine per process (ngspice).

libngspice may be initialised once per process and never before a fork (PHYSICS.md §4), so
parallel ngspice runs need worker *processes* that start clean and build their engine on
first use. :func:`make_executor` gives a :class:`concurrent.futures.Executor` of that kind as
a context manager that shuts it down cleanly:

* ``"process"``: a :class:`~concurrent.futures.ProcessPoolExecutor` whose workers are
  *spawned* (fresh interpreters; see :func:`start_method`) -- never a fork of a parent that
  may already hold an engine. The pool lives as long as the ``with`` block, so its workers (and their
  engines) are reused by every batch;
* ``"dask"``: a Dask ``distributed`` client (a ``LocalCluster`` of single-threaded worker
  processes, or an existing scheduler at ``address``) seen through its executor interface,
  for runs spread over several machines;
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
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from analog_eqprop.errors import ConfigError

__all__ = ["EXECUTORS", "make_executor", "process_pool", "dask_executor", "executor_workers", "start_method"]

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


def process_pool(workers: int | None = None, *, method: str | None = None) -> ProcessPoolExecutor:
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
    workers = workers or os.cpu_count() or 1
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method),
                               initializer=_worker_init)


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
