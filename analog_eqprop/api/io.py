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

This module reads and writes the parts (:func:`read_model` returns them as a
:class:`SavedModel`); :func:`analog_eqprop.api.load_model` (``Model.load``) assembles the
model from them, so that this module never needs the :class:`~analog_eqprop.api.Model` class.

Examples
--------
>>> import tempfile, os
>>> from analog_eqprop.api import Sequential, Input, Dense
>>> m = Sequential([Input(2), Dense(2)], seed=0)
>>> with tempfile.TemporaryDirectory() as d:
...     _ = save_model(m, os.path.join(d, "m"))
...     back = read_model(os.path.join(d, "m"))
>>> bool((back.network.g == m.network.g).all()), back.network.circuit.n_edges, back.trainer
(True, 12, None)
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from analog_eqprop.circuits import Circuit
from analog_eqprop.config import from_dict, to_dict
from analog_eqprop.contracts import EnergyModel
from analog_eqprop.eqprop.losses import from_dict as loss_from_dict
from analog_eqprop.eqprop.losses import to_dict as loss_to_dict
from analog_eqprop.errors import CheckpointError, ConfigError
from analog_eqprop.graphs import read_graph, write_graph
from analog_eqprop.models.blocks import structure_from_graph
from analog_eqprop.models.hopfield import HopfieldConfig, HopfieldNetwork
from analog_eqprop.models.resistive import ResistiveNetwork
from analog_eqprop.training.checkpoint import atomic_write_text, load_checkpoint, save_checkpoint
from analog_eqprop.training.trainer import TrainConfig, Trainer

if TYPE_CHECKING:  # the type name only: model.py imports this module
    from analog_eqprop.api.model import Model

__all__ = ["save_model", "read_model", "SavedModel", "circuit_to_dict", "circuit_from_dict"]

FORMAT = "analog_eqprop.model"
VERSION = 1


# -- circuits as plain data ---------------------------------------------------------------
def circuit_to_dict(circuit) -> dict[str, Any]:
    """Every field of a :class:`~analog_eqprop.circuits.Circuit` as JSON-friendly data
    (:meth:`~analog_eqprop.circuits.Circuit.to_dict`)."""
    return circuit.to_dict()


def circuit_from_dict(d: dict[str, Any]) -> Circuit:
    """The circuit :func:`circuit_to_dict` described (checked like any new circuit)."""
    return Circuit.from_dict(d)


# -- saving ---------------------------------------------------------------------------------
def _contents(model: Model) -> tuple[dict[str, str], dict[str, np.ndarray], bytes | None]:
    """``(json texts by file name, parameter arrays, trainer checkpoint bytes)``."""
    net = model.network
    texts: dict[str, str] = {}
    trainer = model.trainer
    loss = net.loss if isinstance(net, (ResistiveNetwork, HopfieldNetwork)) else None
    meta = {
        "format": FORMAT, "version": VERSION, "kind": "circuit" if model.is_circuit else "hopfield",
        "name": model.name, "backend": model.backend, "dtype": np.dtype(net.dtype).name,
        "loss": None if loss is None else loss_to_dict(loss), "settings": model.settings_dict(),
        "trainer_config": None if trainer is None else to_dict(trainer.config),
        "layer_types": model.layer_types, "history": model.history.records,
    }
    if isinstance(net, ResistiveNetwork):
        texts["circuit.json"] = json.dumps(circuit_to_dict(net.circuit))
        arrays = {"g": net.g}
        if net.bias_currents is not None:
            arrays["bias_currents"] = np.asarray(net.bias_currents)
        for kind, values in net.element_values.items():  # transistor gate voltages...
            arrays[f"values/{kind}"] = np.asarray(values)
        graph = model.graph
    elif isinstance(net, HopfieldNetwork):
        texts["network.json"] = json.dumps(to_dict(net.config))
        arrays = {f"params/{k}": v for k, v in net.params.items()}
        graph = model.graph if model.graph is not None else net.to_graph()
    else:
        raise ConfigError(f"save_model saves circuit models (ResistiveNetwork) and Hopfield networks, not "
                          f"{type(net).__name__}")
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


def save_model(model: Model, path: str | Path) -> Path:
    """Write ``model`` (a :class:`~analog_eqprop.api.Model`) to a directory, or to one file when
    ``path`` ends in ``.npz``."""
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


@dataclasses.dataclass
class SavedModel:
    """The parts of a saved model, as :func:`read_model` reads them back.

    Attributes
    ----------
    network : EnergyModel
        The circuit model (on the saved backend or the one asked for) or Hopfield network.
    graph : networkx.Graph or None
    name : str
    layer_types : list of str or None
    history : list of dict
        One record per epoch trained.
    train_config : TrainConfig or None
        The compiled training settings.
    trainer : Trainer or None
        The trainer with its checkpoint restored (optimiser, particles, random stream), once fitted.
    """

    network: EnergyModel
    graph: Any
    name: str
    layer_types: list[str] | None
    history: list[dict[str, Any]]
    train_config: TrainConfig | None
    trainer: Trainer | None


def read_model(path: str | Path, *, backend: Any = None, **backend_options) -> SavedModel:
    """The parts of a model saved by :func:`save_model`, on its saved backend or on ``backend``
    (``backend_options``: that backend's settings)."""
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
    net: EnergyModel
    if meta["kind"] == "circuit":
        circuit = circuit_from_dict(json.loads(texts["circuit.json"]))
        i0 = arrays.get("bias_currents")
        values = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("values/")}
        net = ResistiveNetwork(circuit, backend or meta["backend"], arrays["g"], dtype=meta["dtype"], loss=loss,
                               bias_currents=False if i0 is None else i0, element_values=values or None,
                               **backend_options)
    else:
        if backend not in (None, "numpy"):
            raise CheckpointError(f"{path}: a Hopfield model runs on NumPy only")
        cfg = from_dict(HopfieldConfig, json.loads(texts["network.json"]))
        st, _ = structure_from_graph(graph)
        params = {k[len("params/"):]: v for k, v in arrays.items() if k.startswith("params/")}
        net = HopfieldNetwork(st, params, cfg, loss=loss)
    train_config = from_dict(TrainConfig, settings["train_config"]) if settings.get("train_config") else None
    trainer = None
    if ck is not None and meta.get("trainer_config"):
        trainer = Trainer(net, from_dict(TrainConfig, meta["trainer_config"]), progress=False)
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "trainer.npz").write_bytes(ck)
            trainer.load_checkpoint(Path(tmp) / "trainer.npz")
    return SavedModel(network=net, graph=graph, name=meta["name"], layer_types=meta.get("layer_types"),
                      history=list(meta.get("history", [])), train_config=train_config, trainer=trainer)
