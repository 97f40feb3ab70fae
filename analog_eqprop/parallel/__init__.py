"""Where work runs: executors whose worker processes each own one simulator engine.

Examples
--------
>>> from analog_eqprop.parallel import make_executor
>>> with make_executor(None) as ex:
...     ex is None
True
"""

from __future__ import annotations

from analog_eqprop.parallel.executors import (
    EXECUTORS,
    WorkerPool,
    dask_executor,
    executor_workers,
    is_broken_pool_error,
    make_executor,
    process_pool,
    restart_executor,
    start_method,
)

__all__ = ["EXECUTORS", "make_executor", "process_pool", "dask_executor", "executor_workers", "start_method",
           "WorkerPool", "restart_executor", "is_broken_pool_error"]
