"""Atomic checkpoints: arrays plus JSON metadata in one ``.npz`` file.

A checkpoint is written to a temporary file in the same directory, flushed to disk and
renamed over the old one, so a run killed at any moment leaves either the previous
checkpoint or the new one, never a torn file.

Examples
--------
>>> import numpy as np, tempfile, os
>>> with tempfile.TemporaryDirectory() as d:
...     save_checkpoint(os.path.join(d, "ck.npz"), {"W0": np.eye(2)}, {"epoch": 3})
...     arrays, meta = load_checkpoint(os.path.join(d, "ck.npz"))
>>> meta["epoch"], arrays["W0"].shape
(3, (2, 2))
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from analog_eqprop.errors import CheckpointError

__all__ = ["save_checkpoint", "load_checkpoint", "atomic_write_text"]

_META = "__meta__"


def save_checkpoint(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write ``arrays`` and JSON-serialisable ``meta`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if _META in arrays:
        raise CheckpointError(f"array name {_META!r} is reserved")
    payload = dict(arrays)
    payload[_META] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **payload)
            fh.flush()
            os.fchmod(fh.fileno(), _umask_mode())
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint`; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        # open the file ourselves: np.load leaks its handle when the zip is corrupt
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint ({exc})") from None
    if _META not in arrays:
        raise CheckpointError(f"{path}: not an analog_eqprop checkpoint (no metadata)")
    try:
        meta = json.loads(arrays.pop(_META).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: corrupt checkpoint metadata ({exc})") from None
    return arrays, meta


def _umask_mode() -> int:
    """The mode a plainly created file gets (0o666 minus the umask); mkstemp uses 0o600."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically (temp file + rename), with the usual permissions."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fchmod(fh.fileno(), _umask_mode())
        os.fsync(fh.fileno())
    os.replace(tmp, path)
