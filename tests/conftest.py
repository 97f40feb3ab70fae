"""Test-wide settings: where the suite finds MNIST, and a data home of its own.

The library looks in no place relative to the repository (it must work installed). The
project's checkouts and CI clones sit beside ``../shared``, whose ``data/mnist`` holds the
standard MNIST files, so the *tests* point the library at that copy through
``$ANALOG_EQPROP_MNIST_DIR`` (unless the variable is already set). Subprocesses started by the
tests inherit it.

The data home (``$ANALOG_EQPROP_DATA_HOME``) is a fresh temporary directory for the session,
removed at the end: no test reads a developer's own download cache or writes into it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

SHARED_MNIST = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist"

_saved: dict[str, str | None] = {}
_data_home: str | None = None


def pytest_configure(config):
    global _data_home
    for var in ("ANALOG_EQPROP_MNIST_DIR", "ANALOG_EQPROP_DATA_HOME"):
        _saved[var] = os.environ.get(var)
    if not os.environ.get("ANALOG_EQPROP_MNIST_DIR") and SHARED_MNIST.is_dir():
        os.environ["ANALOG_EQPROP_MNIST_DIR"] = str(SHARED_MNIST)
    _data_home = tempfile.mkdtemp(prefix="analog-eqprop-test-data-home-")
    os.environ["ANALOG_EQPROP_DATA_HOME"] = _data_home


def pytest_unconfigure(config):
    if _data_home is not None:
        shutil.rmtree(_data_home, ignore_errors=True)
    for var, value in _saved.items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value
