"""Per-phase logs of node voltages, branch currents and conductances, streamed to disk.

A long run can record, every ``every`` minibatches, what each phase of EqProp left in the
circuit: the free-node voltages [V] ``(batch, n_free)``, the current through every
conductance ``I = g dV`` [A] ``(batch, n_edges)``, and the conductances themselves [S]
``(n_edges,)`` (for the Hopfield model: the states and the flattened weights; it has no
branch currents). Nothing is kept in memory: each quantity is appended as raw float32 (or
float64) bytes to its own file, and one JSON line per record in ``index.jsonl`` says where its
arrays lie (file, byte offset, shape, dtype), so the log grows on disk only and can be read
while the run goes on.

Layout of a log directory::

    index.jsonl         {"epoch": 1, "batch": 0, "phase": "free", "beta": 0.0, "arrays": {...}}
    voltages.f32        raw little-endian values, records back to back
    currents.f32
    conductances.f32

The index line is written after the data (and flushed), so a killed run leaves at worst
unreferenced bytes, never a record pointing at missing ones; a torn last index line is
skipped on reading. A resumed run appends again the batches after its checkpoint: the reader
keeps the last record of each ``(epoch, batch, phase)``.

Examples
--------
>>> import numpy as np, tempfile
>>> with tempfile.TemporaryDirectory() as d:
...     with PhaseLog(d) as log:
...         log.write(epoch=1, batch=0, phase="free", voltages=np.ones((2, 3)), conductances=np.full(4, 1e-6))
...         log.write(epoch=1, batch=0, phase="nudged", beta=1e-6, voltages=np.zeros((2, 3)))
...     r = PhaseLogReader(d)
...     got = len(r), r.phases, r.read("voltages").shape, r.read("voltages", phase="nudged").sum()
>>> got
(2, ('free', 'nudged'), (2, 2, 3), np.float32(0.0))
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from analog_eqprop.contracts import CircuitModel, EnergyModel, has_ability
from analog_eqprop.errors import ConfigError, DataError

__all__ = ["PhaseLog", "PhaseLogReader", "QUANTITIES", "phase_quantities"]

QUANTITIES = ("voltages", "currents", "conductances")
_SUFFIX = {np.dtype(np.float32): ".f32", np.dtype(np.float64): ".f64"}
_INDEX = "index.jsonl"


def phase_quantities(model: EnergyModel, x: np.ndarray, state: np.ndarray, quantities: Iterable[str]) -> dict:
    """The logged arrays of one phase of ``model`` (those it has): free-node voltages, branch
    currents ``g * dV`` (circuits, :class:`~analog_eqprop.contracts.CircuitModel`) and the
    conductances (``g``, or the flattened parameters of models without conductances)."""
    out: dict[str, np.ndarray] = {}
    circuit_model = has_ability(model, CircuitModel)
    n_free = model.circuit.n_free if circuit_model else np.asarray(state).shape[1]
    want = set(quantities)
    g = None
    if want & {"currents", "conductances"}:
        if circuit_model:
            g = model.g
        else:  # e.g. the Hopfield model: its weights stand in for the conductances
            g = np.concatenate([np.ravel(model.params[k]) for k in sorted(model.params)])
    if "voltages" in want:
        out["voltages"] = np.asarray(state)[:, :n_free]
    if "currents" in want and circuit_model:
        out["currents"] = model.edge_drops(x, np.asarray(state, dtype=np.float64)) * g
    if "conductances" in want:
        out["conductances"] = g
    return out


class PhaseLog:
    """Append per-phase records to a log directory (see the module docstring).

    Parameters
    ----------
    path : path
        Log directory (created; an existing log is appended to).
    every : int
        Record every ``every``-th minibatch of an epoch (batch 0, every, 2 every, ...).
    quantities : sequence of str
        Any of ``voltages``, ``currents``, ``conductances``.
    dtype : {"float32", "float64"}
        Precision on disk (float32 halves the size; voltages keep ~7 digits).
    max_examples : int, optional
        Keep only the first examples of each batch (bounds the size of current logs).
    """

    def __init__(self, path: str | Path, *, every: int = 1, quantities: Iterable[str] = QUANTITIES,
                 dtype: Any = "float32", max_examples: int | None = None):
        self.path = Path(path)
        self.every = int(every)
        if self.every < 1:
            raise ConfigError(f"PhaseLog.every must be >= 1, got {every!r}")
        self.quantities = tuple(quantities)
        bad = [q for q in self.quantities if q not in QUANTITIES]
        if bad:
            raise ConfigError(f"PhaseLog: unknown quantities {bad}; use any of {', '.join(QUANTITIES)}")
        self.dtype = np.dtype(dtype)
        if self.dtype not in _SUFFIX:
            raise ConfigError(f"PhaseLog.dtype must be float32 or float64, got {dtype!r}")
        if max_examples is not None and max_examples < 1:
            raise ConfigError(f"PhaseLog.max_examples must be >= 1, got {max_examples!r}")
        self.max_examples = max_examples
        self.path.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, Any] = {}
        self._index = None
        self.n_written = 0

    def wants(self, batch: int) -> bool:
        """Whether minibatch ``batch`` (0-based within its epoch) is recorded."""
        return batch % self.every == 0

    def _file(self, quantity: str):
        fh = self._files.get(quantity)
        if fh is None:
            fh = self._files[quantity] = open(self.path / (quantity + _SUFFIX[self.dtype]), "ab")
        return fh

    def write(self, *, epoch: int, batch: int, phase: str, beta: float = 0.0, **arrays: np.ndarray) -> None:
        """Append one record: ``arrays`` are any of the quantities (``None`` entries skipped)."""
        entry: dict[str, Any] = {"epoch": int(epoch), "batch": int(batch), "phase": str(phase),
                                 "beta": float(beta), "arrays": {}}
        for name, a in arrays.items():
            if a is None:
                continue
            if name not in QUANTITIES:
                raise ConfigError(f"PhaseLog.write: unknown quantity {name!r}")
            a = np.asarray(a)
            if self.max_examples is not None and name != "conductances" and a.ndim == 2:
                a = a[: self.max_examples]
            a = np.ascontiguousarray(a, dtype=self.dtype.newbyteorder("<"))
            fh = self._file(name)
            offset = fh.tell()
            fh.write(a.tobytes())
            fh.flush()
            entry["arrays"][name] = {"file": Path(fh.name).name, "offset": offset, "shape": list(a.shape),
                                     "dtype": self.dtype.name}
        if self._index is None:
            self._index = open(self.path / _INDEX, "a", encoding="utf-8")
        self._index.write(json.dumps(entry) + "\n")
        self._index.flush()
        self.n_written += 1

    def log_phases(self, model: EnergyModel, x: np.ndarray, states: dict[str, np.ndarray], *, epoch: int, batch: int,
                   betas: dict[str, float] | None = None) -> None:
        """Record every phase of one step: ``states`` maps phase names (``free``, ``nudged``,
        ``nudged_minus``) to states of ``model`` on inputs ``x``."""
        if self.max_examples is not None:  # compute only what is kept
            x = np.asarray(x)[: self.max_examples]
            states = {k: np.asarray(v)[: self.max_examples] for k, v in states.items()}
        for phase, s in states.items():
            q = phase_quantities(model, x, s, self.quantities)
            self.write(epoch=epoch, batch=batch, phase=phase, beta=(betas or {}).get(phase, 0.0), **q)

    def close(self) -> None:
        for fh in self._files.values():
            fh.close()
        self._files = {}
        if self._index is not None:
            self._index.close()
            self._index = None

    def __enter__(self) -> "PhaseLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __getstate__(self) -> dict:  # open files do not pickle; a copy reopens them lazily
        return {**self.__dict__, "_files": {}, "_index": None}


class PhaseLogReader:
    """Read a log written by :class:`PhaseLog` back as arrays (for plotting).

    ``records`` lists the index entries (the last one of each ``(epoch, batch, phase)``);
    :meth:`read` stacks one quantity over records, memory-mapping the data files.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        index = self.path / _INDEX
        if not index.is_file():
            raise DataError(f"{self.path}: not a phase log (no {_INDEX})")
        last: dict[tuple, dict] = {}
        with open(index, encoding="utf-8") as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                    key = (int(rec["epoch"]), int(rec["batch"]), str(rec["phase"]))
                except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                    continue  # a torn last line from a killed run
                last.pop(key, None)  # a re-logged step (resumed run) moves to its new place
                last[key] = rec
        self.records: list[dict] = list(last.values())

    def __len__(self) -> int:
        return len(self.records)

    @property
    def phases(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r["phase"] for r in self.records))

    def select(self, phase: str | None = None, epoch: int | None = None) -> list[dict]:
        """The records of one phase and/or epoch."""
        return [r for r in self.records if (phase is None or r["phase"] == phase)
                and (epoch is None or r["epoch"] == epoch)]

    def array(self, record: dict, quantity: str) -> np.ndarray:
        """One record's array (a read-only memory map of the data file)."""
        try:
            meta = record["arrays"][quantity]
        except KeyError:
            raise DataError(f"record {record['epoch']}/{record['batch']}/{record['phase']} has no {quantity!r}") \
                from None
        dt = np.dtype(meta["dtype"]).newbyteorder("<")
        shape = tuple(meta["shape"])
        if not int(np.prod(shape)):
            return np.zeros(shape, dt)
        return np.memmap(self.path / meta["file"], dtype=dt, mode="r", offset=int(meta["offset"]), shape=shape)

    def read(self, quantity: str, phase: str | None = None, epoch: int | None = None) -> np.ndarray:
        """``quantity`` over the selected records, stacked ``(n_records, ...)`` (a copy in memory)."""
        recs = [r for r in self.select(phase, epoch) if quantity in r["arrays"]]
        if not recs:
            raise DataError(f"{self.path}: no {quantity!r} records" + (f" of phase {phase!r}" if phase else ""))
        shapes = {tuple(r["arrays"][quantity]["shape"]) for r in recs}
        if len(shapes) != 1:
            raise DataError(f"{quantity!r} records have different shapes {sorted(shapes)} (e.g. a last short "
                            f"batch); read them one by one with array()")
        return np.stack([np.array(self.array(r, quantity)) for r in recs])
