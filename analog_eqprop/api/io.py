"""Saving and loading models: circuit (or network), graph, parameters, settings, history, trainer.

A saved model is a directory::

    model.json     kind, name, backend, dtype, loss, training settings, layer types, history
    circuit.json   the Circuit, field by field (floats as repr: bit-exact) -- circuit models
    network.json   HopfieldConfig -- Hopfield models
    graph.json     the circuit (or network) graph, node-link JSON, when there is one
    params.npz     the parameters: edge-order conductances g [S] (+ bias currents [A], + the trained
                   columns of other element kinds, values/<kind>: gate voltages [V]...), or W/b
    trainer.npz    the trainer's checkpoint (optimiser state, particles, random stream), once fitted

or the same content in one ``.npz`` file (JSON texts and the trainer's checkpoint as byte
arrays), written atomically. Loading restores the trainer, so ``fit`` continues exactly as if
the model had never been saved.

Examples
--------
>>> import tempfile, os
>>> from analog_eqprop.api import Sequential, Input, Dense
>>> m = Sequential([Input(2), Dense(2)], seed=0)
>>> with tempfile.TemporaryDirectory() as d:
...     _ = m.save(os.path.join(d, "m"))
...     back = load_model(os.path.join(d, "m"))
>>> bool((back.network.g == m.network.g).all()), back.circuit.n_edges
(True, 12)
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from analog_eqprop.api.history import History
from analog_eqprop.errors import CheckpointError

__all__ = ["save_model", "load_model", "circuit_to_dict", "circuit_from_dict"]

FORMAT = "analog_eqprop.model"
VERSION = 1


# -- circuits as plain data ---------------------------------------------------------------
def circuit_to_dict(circuit) -> dict[str, Any]:
    """Every field of a :class:`~analog_eqprop.circuits.Circuit` as JSON-friendly data
    (:meth:`~analog_eqprop.circuits.Circuit.to_dict`)."""
    return circuit.to_dict()


def circuit_from_dict(d: dict[str, Any]):
    """The circuit :func:`circuit_to_dict` described (checked like any new circuit)."""
    from analog_eqprop.circuits import Circuit

    return Circuit.from_dict(d)


# -- saving ---------------------------------------------------------------------------------
def _contents(model) -> tuple[dict[str, str], dict[str, np.ndarray], bytes | None]:
    """``(json texts by file name, parameter arrays, trainer checkpoint bytes)``."""
    from analog_eqprop.config import to_dict
    from analog_eqprop.graphs import write_graph

    from analog_eqprop.eqprop.losses import to_dict as loss_to_dict

    net = model.network
    texts: dict[str, str] = {}
    trainer = model._trainer
    loss = getattr(net, "loss", None)
    meta = {
        "format": FORMAT, "version": VERSION, "kind": "circuit" if model.is_circuit else "hopfield",
        "name": model.name, "backend": model.backend, "dtype": np.dtype(net.dtype).name,
        "loss": None if loss is None else loss_to_dict(loss), "settings": model.settings_dict(),
        "trainer_config": None if trainer is None else to_dict(trainer.config),
        "layer_types": model.layer_types, "history": model.history.records,
    }
    if model.is_circuit:
        texts["circuit.json"] = json.dumps(circuit_to_dict(model.circuit))
        arrays = {"g": net.g}
        if net.bias_currents is not None:
            arrays["bias_currents"] = np.asarray(net.bias_currents)
        for kind, values in net.element_values.items():  # transistor gate voltages...
            arrays[f"values/{kind}"] = np.asarray(values)
        graph = model.graph
    else:
        texts["network.json"] = json.dumps(to_dict(net.config))
        arrays = {f"params/{k}": v for k, v in net.params.items()}
        graph = model.graph if model.graph is not None else net.to_graph()
    texts["model.json"] = json.dumps(meta, indent=1)
    with tempfile.TemporaryDirectory() as tmp:
        if graph is not None:
            write_graph(graph, Path(tmp) / "graph.json")
            texts["graph.json"] = (Path(tmp) / "graph.json").read_text(encoding="utf-8")
        ck = None
        if trainer is not None:
            trainer.save_checkpoint(Path(tmp) / "trainer.npz")
            ck = (Path(tmp) / "trainer.npz").read_bytes()
    return texts, arrays, ck


def save_model(model, path: str | Path) -> Path:
    """Write ``model`` to a directory, or to one file when ``path`` ends in ``.npz``."""
    from analog_eqprop.training.checkpoint import atomic_write_text, save_checkpoint

    path = Path(path)
    texts, arrays, ck = _contents(model)
    if path.suffix.lower() == ".npz":
        payload = dict(arrays)
        if ck is not None:
            payload["trainer"] = np.frombuffer(ck, dtype=np.uint8)
        save_checkpoint(path, payload, {"files": texts})
        return path
    path.mkdir(parents=True, exist_ok=True)
    written = set(texts) | ({"trainer.npz"} if ck is not None else set())
    for stale in {"graph.json", "trainer.npz", "circuit.json", "network.json"} - written:
        if (path / stale).exists():
            (path / stale).unlink()  # left by an earlier save of another model
    for name, text in texts.items():
        if name != "model.json":
            atomic_write_text(path / name, text)
    save_checkpoint(path / "params.npz", arrays, {"format": FORMAT})
    if ck is not None:
        _atomic_bytes(path / "trainer.npz", ck)
    atomic_write_text(path / "model.json", texts["model.json"])  # last: a complete save has it
    return path


def _atomic_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# -- loading --------------------------------------------------------------------------------
def _read(path: Path) -> tuple[dict[str, str], dict[str, np.ndarray], bytes | None]:
    from analog_eqprop.training.checkpoint import load_checkpoint

    if path.is_file():
        arrays, meta = load_checkpoint(path)
        texts = meta.get("files")
        if not isinstance(texts, dict) or "model.json" not in texts:
            raise CheckpointError(f"{path}: not a saved model (no model.json inside)")
        ck = arrays.pop("trainer").tobytes() if "trainer" in arrays else None
        return texts, arrays, ck
    if not (path / "model.json").is_file():
        raise CheckpointError(f"{path}: not a saved model (no model.json)")
    texts = {p.name: p.read_text(encoding="utf-8") for p in path.glob("*.json")}
    arrays, _ = load_checkpoint(path / "params.npz")
    ck = (path / "trainer.npz").read_bytes() if (path / "trainer.npz").is_file() else None
    return texts, arrays, ck


def load_model(path: str | Path, *, backend: Any = None, **backend_options):
    """A model saved by :func:`save_model`, on its saved backend or on ``backend``."""
    from analog_eqprop.api.model import Model
    from analog_eqprop.config import from_dict
    from analog_eqprop.eqprop.losses import from_dict as loss_from_dict
    from analog_eqprop.graphs import read_graph
    from analog_eqprop.training.trainer import TrainConfig, Trainer

    path = Path(path)
    texts, arrays, ck = _read(path)
    meta = json.loads(texts["model.json"])
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise CheckpointError(f"{path}: unknown model format {meta.get('format')!r} version {meta.get('version')!r}")
    settings = meta.get("settings") or {}
    loss = loss_from_dict(meta["loss"]) if meta.get("loss") else None
    graph = None
    if "graph.json" in texts:
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "graph.json").write_text(texts["graph.json"], encoding="utf-8")
            graph = read_graph(Path(tmp) / "graph.json")
    if meta["kind"] == "circuit":
        from analog_eqprop.models.resistive import ResistiveNetwork

        circuit = circuit_from_dict(json.loads(texts["circuit.json"]))
        i0 = arrays.get("bias_currents")
        values = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("values/")}
        net = ResistiveNetwork(circuit, backend or meta["backend"], arrays["g"], dtype=meta["dtype"], loss=loss,
                               bias_currents=False if i0 is None else i0, element_values=values or None,
                               **backend_options)
    else:
        from analog_eqprop.models.blocks import structure_from_graph
        from analog_eqprop.models.hopfield import HopfieldConfig, HopfieldNetwork

        if backend not in (None, "numpy"):
            raise CheckpointError(f"{path}: a Hopfield model runs on NumPy only")
        cfg = from_dict(HopfieldConfig, json.loads(texts["network.json"]))
        st, _ = structure_from_graph(graph)
        params = {k[len("params/"):]: v for k, v in arrays.items() if k.startswith("params/")}
        net = HopfieldNetwork(st, params, cfg, loss=loss)
    model = Model(net, graph=graph, name=meta["name"])
    model.layer_types = meta.get("layer_types")
    model.history = History(meta.get("history", []))
    if settings.get("train_config"):
        model.train_config = from_dict(TrainConfig, settings["train_config"])
    if ck is not None and meta.get("trainer_config"):
        tr = Trainer(net, from_dict(TrainConfig, meta["trainer_config"]), progress=False)
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "trainer.npz").write_bytes(ck)
            tr.load_checkpoint(Path(tmp) / "trainer.npz")
        model._trainer = tr
    return model
