"""A Keras-style model on top of the one circuit description: compile, fit, evaluate, predict, save.

:class:`Model` wraps an energy model -- a :class:`~analog_eqprop.models.ResistiveNetwork` (a
circuit) or a :class:`~analog_eqprop.models.HopfieldNetwork` -- with the training settings,
the trainer (optimiser state, persistent particles, random stream) and the history, so that
``fit`` can be called again to continue exactly where it stopped. Build one with
:class:`Sequential` (layer blocks, :mod:`.layers`), :meth:`Model.from_graph` (any circuit
graph), :meth:`Model.from_circuit` or ``Model(network)``.

Backends (circuits): the model trains on the backend it was built or compiled with
(``"numpy"``: Newton on the NumPy twin, ``"bcd"``: exact block coordinate descent for ideal
diodes, ``"ngspice"``); ``evaluate`` and ``predict`` take ``backend=`` to run the *same*
conductances anywhere else -- e.g. a circuit fitted on NumPy evaluated by ngspice.

Examples
--------
>>> from analog_eqprop.api import Sequential, Input, Dense, DiodeClamp
>>> from analog_eqprop.data import load_xor
>>> model = Sequential([Input(2), Dense(8, clamp=DiodeClamp(0.0)), Dense(2)], seed=0)
>>> model.compile(optimizer="adam", learning_rate=2e-7, beta=1e-6, batch_size=4)
>>> hist = model.fit(load_xor(), epochs=2)
>>> [r["epoch"] for r in hist], sorted(model.evaluate(load_xor()))
([1, 2], ['accuracy', 'backend', 'cost', 'error', 'n', 'seconds'])
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from analog_eqprop.api.history import History
from analog_eqprop.api.io import read_model, save_model
from analog_eqprop.api.layers import build_graph, split_blocks
from analog_eqprop.circuits import Circuit, circuit_from_graph
from analog_eqprop.config import to_dict
from analog_eqprop.contracts import Backend, EnergyModel
from analog_eqprop.data import Dataset
from analog_eqprop.defaults import CIRCUIT_DEFAULTS
from analog_eqprop.eqprop.losses import get_loss
from analog_eqprop.errors import ConfigError, DataError
from analog_eqprop.models.factory import choose_backend
from analog_eqprop.models.hopfield import HopfieldNetwork
from analog_eqprop.models.resistive import ResistiveNetwork
from analog_eqprop.netlist import Netlist, compile_netlist, compile_sweep
from analog_eqprop.solvers.newton import single_thread_blas
from analog_eqprop.training.trainer import TrainConfig, Trainer, evaluate, model_train_defaults
from analog_eqprop.validation import array
from analog_eqprop.validation import labels as check_labels

__all__ = ["Model", "Sequential", "load_model"]


def _blas(threads: int | None):
    """BLAS limited to ``threads`` (None: as it is). One thread is the default: these circuits'
    products are small and OpenBLAS's threads cost more than they save on a busy machine (an
    epoch of a 784-100-10 circuit on BCD ran 11x faster on one thread, on 2 loaded cores)."""
    if threads is None:
        return contextlib.nullcontext()
    if threads == 1:
        return single_thread_blas()
    try:  # only for more than one thread; scikit-learn brings it
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings it
        return contextlib.nullcontext()
    return threadpool_limits(limits=int(threads), user_api="blas")


def _auto(backend: str | Backend, circuit: Circuit) -> str | Backend:
    """``"auto"``: the fastest exact backend for ``circuit`` (:func:`~analog_eqprop.models.factory.choose_backend`)."""
    if isinstance(backend, str) and backend == "auto":
        return choose_backend(circuit)
    return backend


def _backend_name(backend: str | Backend) -> str:
    return backend if isinstance(backend, str) else getattr(backend, "name", type(backend).__name__)


class Model:
    """An energy model with its training settings, trainer and history.

    Parameters
    ----------
    network : ResistiveNetwork or HopfieldNetwork
        The model being trained (its parameters are the model's weights; any
        :class:`~analog_eqprop.contracts.EnergyModel` trains, evaluates and predicts).
    graph : networkx.Graph, optional
        The circuit (or network) graph it was compiled from, kept for saving and inspection.
    blocks : list, optional
        The layer blocks it was built from (:class:`Sequential`).
    name : str, optional

    Attributes
    ----------
    blas_threads : int or None
        BLAS threads during ``fit``, ``evaluate`` and ``predict`` (default 1; ``None`` leaves
        BLAS as it is, e.g. for very wide layers on an idle many-core machine).
    """

    blas_threads: int | None = 1
    network: EnergyModel

    def __init__(self, network: EnergyModel, *, graph: Any = None, blocks: list | None = None, name: str | None = None):
        self.network = network
        self.graph = graph
        self.blocks = list(blocks) if blocks else None
        self.layer_types = [type(b).__name__ for b in split_blocks(blocks)[1]] if blocks else None
        self.name = name or getattr(getattr(network, "circuit", None), "name", type(network).__name__)
        self.history = History()
        self.train_config: TrainConfig | None = None
        self._trainer: Trainer | None = None
        self._others: dict[Any, Any] = {}  # backend -> network that evaluates there

    # -- construction -----------------------------------------------------------------
    @classmethod
    def from_circuit(cls, circuit, *, backend: Any = "numpy", g=None, loss: Any = None,
                     dtype: Any = "float64", graph: Any = None, name: str | None = None, **backend_options) -> "Model":
        """A model of ``circuit`` (conductances ``g`` [S], default ``circuit.edge_g``); ``backend="auto"``
        trains on BCD where it is exact, on Newton otherwise."""
        net = ResistiveNetwork(circuit, _auto(backend, circuit), g, loss=loss, dtype=dtype, **backend_options)
        return cls(net, graph=graph, name=name or circuit.name)

    @classmethod
    def from_graph(cls, G, *, backend: Any = "numpy", loss: Any = None, dtype: Any = "float64", name: str = "circuit",
                   **circuit_kw) -> "Model":
        """A model of a circuit graph, compiled by :func:`~analog_eqprop.circuits.circuit_from_graph`
        (``circuit_kw``: ``diode``, ``clamp``, ``g_min``, ``g_max``, ``nudge``, ``target_on``...)."""
        return cls.from_circuit(circuit_from_graph(G, name=name, **circuit_kw), backend=backend, loss=loss,
                                dtype=dtype, graph=G, name=name)

    def __repr__(self) -> str:
        n = sum(int(np.size(p)) for p in self.network.params.values())
        return (f"{type(self).__name__}({self.name!r}, {self.network.n_free} free nodes, {n} parameters, "
                f"backend {self.backend!r}, {self.epoch} epochs trained)")

    # -- properties ---------------------------------------------------------------------
    @property
    def circuit(self) -> Circuit | None:
        """The circuit description (``None`` for a Hopfield model)."""
        return self.network.circuit if isinstance(self.network, ResistiveNetwork) else None

    @property
    def is_circuit(self) -> bool:
        return isinstance(self.network, ResistiveNetwork)

    @property
    def backend(self) -> str:
        """Name of the backend the model trains on."""
        return _backend_name(self.network.backend) if isinstance(self.network, ResistiveNetwork) else "numpy"

    @property
    def epoch(self) -> int:
        return self._trainer.epoch if self._trainer is not None else len(self.history)

    @property
    def trainer(self) -> Trainer | None:
        """The trainer (optimiser state, persistent particles, random stream) of the settings
        compiled last, once :meth:`fit` has run with them (``None`` before)."""
        return self._trainer

    def summary(self) -> str:
        """One line per layer: nodes, conductances, trainable parameters, fixed conductances."""
        net = self.network
        if not isinstance(net, ResistiveNetwork):
            return (f"{type(net).__name__}: {net.n_inputs} inputs, {net.n_free} free units, "
                    f"{sum(p.size for p in net.params.values())} parameters")
        c = net.circuit
        names = self.layer_types or []
        ep = c.edge_param if c.tied else np.arange(c.n_edges)
        rows = [f"{'layer':<8}{'type':<20}{'nodes':>7}{'conductances':>14}{'parameters':>12}{'fixed':>8}"]
        for lay in range(c.n_layers):
            e = c.edge_layer == lay
            kind = names[lay] if lay < len(names) else "layer"
            rows.append(f"{lay:<8}{kind:<20}{int(np.sum(c.node_layer == lay)):>7}{int(e.sum()):>14}"
                        f"{np.unique(ep[e & (ep >= 0)]).size:>12}{int(np.sum(e & (ep < 0))):>8}")
        rows.append(f"{c.name}: {c.n_features} features on {c.n_sources} sources, {c.n_free} free nodes, "
                    f"{c.n_diodes} diodes, {c.n_amps} amplifiers, {c.n_outputs} outputs "
                    f"({'differential' if c.differential else 'single'}), {c.nudge} nudging; "
                    f"{c.n_params} trainable parameters for {c.n_edges} conductances")
        return "\n".join(rows)

    # -- settings -----------------------------------------------------------------------
    def compile(self, optimizer: str | None = None, learning_rate: float | tuple[float, ...] | None = None, *,
                beta: float | None = None, beta_mode: str | None = None, loss: Any = None,
                temperature: float | None = None, schedule: str = "constant", decay: float = 0.9,
                final_lr_ratio: float = 0.0, schedule_epochs: int = 0,
                update_rule: str | tuple[str, ...] = "exact", batch_size: int | None = None, backend: Any = None,
                **train_kw) -> None:
        """Choose how the model learns (the trainer is rebuilt; parameters and history are kept).

        Parameters
        ----------
        Every default that depends on the kind of model (``optimizer``, ``learning_rate``,
        ``beta``, ``beta_mode``, ``batch_size``) comes from the one table the command line uses too,
        :data:`analog_eqprop.defaults.MODEL_DEFAULTS` (``TrainConfig.for_model``).

        optimizer : {"sgd", "momentum", "adam"}
            Default ``"adam"`` (circuits), ``"sgd"`` (Hopfield).
        learning_rate : float or tuple of float
            One rate for all layers or one per layer [S per Adam step for circuits]; a layer's
            own ``learning_rate`` (blocks) overrides. Default: 2e-7 (circuits), 0.4, 0.2 (Hopfield).
        beta : float
            Nudge strength [S for circuits]; default 1e-6 (circuits), 1.0 (Hopfield).
        beta_mode : {"positive", "random_sign", "centered"}
            Default ``"positive"`` for circuits, the seed's ``"random_sign"`` for Hopfield.
        loss : "mse", "cross_entropy" or a loss object
            The output cost (:mod:`analog_eqprop.eqprop.losses`); ``temperature`` [V for circuits]
            goes with cross-entropy. Default: the squared error (the model's own scale).
        schedule, decay, final_lr_ratio, schedule_epochs
            Learning-rate schedule (:mod:`analog_eqprop.training.schedules`); a cosine falls over
            the first ``fit``'s epochs unless ``schedule_epochs`` says otherwise.
        update_rule : str or tuple of str
            ``exact``, ``sign``, ``quantized:Q``, ``power:P``, for all layers or one per layer; a
            layer's own ``update_rule`` overrides.
        batch_size : int
            Default 10 (circuits), 20 (Hopfield).
        backend : str or backend object, optional
            Train on another backend (circuits; the conductances carry over).
        **train_kw
            Other :class:`~analog_eqprop.training.TrainConfig` fields (``momentum``, ``persistent``,
            ``shuffle``, ``seed``, ``eval_batch_size``, ``checkpoint_every``...).
        """
        d = model_train_defaults("circuit" if self.is_circuit else "hopfield")
        n_layers = self.network.n_layers
        lrs = self._per_layer(learning_rate if learning_rate is not None else d["learning_rates"],
                              "learning_rate", n_layers)
        rules = self._per_layer(update_rule, "update_rule", n_layers)
        if loss is not None or temperature is not None or backend is not None:
            self._rebuild(backend=backend, loss=self._loss(loss, temperature))
        pick = lambda value, key: d[key] if value is None else value  # noqa: E731
        cfg = dict(epochs=1, batch_size=pick(batch_size, "batch_size"), learning_rates=lrs,
                   optimizer=pick(optimizer, "optimizer"), beta=pick(beta, "beta"),
                   beta_mode=pick(beta_mode, "beta_mode"), schedule=schedule, decay=decay,
                   final_lr_ratio=final_lr_ratio, schedule_epochs=schedule_epochs, update_rules=rules)
        cfg.update(train_kw)
        try:
            self.train_config = TrainConfig(**cfg)
        except TypeError as exc:
            raise ConfigError(f"compile: {exc}") from None
        self._trainer = None

    def _per_layer(self, value, what: str, n_layers: int) -> tuple:
        """One value per layer, a layer block's own setting winning over the model's."""
        vals = tuple(value) if isinstance(value, (tuple, list)) else (value,)
        if len(vals) == 1:
            vals = vals * n_layers
        if len(vals) != n_layers:
            raise ConfigError(f"compile: {what} has {len(vals)} entries but the model has {n_layers} layers")
        if self.blocks:
            layers = split_blocks(self.blocks)[1]
            vals = tuple(getattr(b, what, None) if getattr(b, what, None) is not None else v
                         for b, v in zip(layers, vals))
        return vals

    def _loss(self, loss, temperature):
        net = self.network
        if loss is None and temperature is None:
            return net.loss if isinstance(net, (ResistiveNetwork, HopfieldNetwork)) else None
        if not self.is_circuit and (loss is None or loss in ("mse", "squared_error")) and temperature is None:
            return None  # the Hopfield model's own cost (cost_scale)
        return get_loss(loss or "cross_entropy", temperature=temperature)

    def _rebuild(self, *, backend=None, loss=None) -> None:
        """The same parameters on another backend and/or with another loss."""
        net = self.network
        if isinstance(net, HopfieldNetwork):
            if backend not in (None, "numpy"):
                raise ConfigError("a Hopfield model runs on NumPy only (backend='numpy')")
            net.loss = loss
            return
        if not isinstance(net, ResistiveNetwork):
            raise ConfigError(f"compile: a {type(net).__name__} keeps its own backend and loss")
        i0 = net.bias_currents
        backend = net.backend if backend is None else _auto(backend, net.circuit)
        self.network = ResistiveNetwork(net.circuit, backend, net.g,
                                        bias_currents=False if i0 is None else i0, dtype=net.dtype, loss=loss,
                                        centered_pairs=net.centered_pairs,
                                        element_values=net.element_values or None)  # gate voltages...
        self._others = {}

    # -- data -----------------------------------------------------------------------------
    def _dataset(self, data, y=None, validation_data=None) -> Dataset:
        if isinstance(data, Dataset):
            if y is not None:
                raise DataError("give a Dataset, or arrays x and y, not both")
            if validation_data is not None:
                vx, vy = validation_data
                data = replace(data, x_valid=np.asarray(vx), y_valid=np.asarray(vy))
            return data
        if y is None:
            raise DataError("fit needs labels: fit(x, y) or fit(dataset)")
        n_classes = self.network.n_outputs
        x = array(data, "x", (None, self.network.n_inputs))
        y = check_labels(y, "labels y", n_classes, rows=x.shape[0])
        vx, vy = validation_data if validation_data is not None else (None, None)
        return Dataset("data", x, y, x[:0], y[:0], n_classes=n_classes, x_valid=vx, y_valid=vy)

    @staticmethod
    def _xy(data, y):
        """``(x, y)`` of an evaluation: arrays, or a Dataset's test split."""
        if isinstance(data, Dataset):
            return data.x_test, data.y_test
        return data, y

    # -- training -------------------------------------------------------------------------
    def fit(self, data, y=None, *, epochs: int = 1, validation_data: tuple | None = None,
            checkpoint: str | Path | None = None, log: str | Path | None = None, phase_log: Any = None,
            progress: bool = False, callback: Callable[[dict], None] | None = None) -> History:
        """Train ``epochs`` more epochs on a :class:`~analog_eqprop.data.Dataset` (its test split,
        and validation split if any, are evaluated after every epoch) or on arrays ``(x, y)``.

        ``checkpoint`` (a file) is written atomically after every epoch (and every
        ``checkpoint_every`` batches), ``log`` gets one JSON line per epoch, ``phase_log``
        (:class:`~analog_eqprop.training.phase_log.PhaseLog`) records every phase of every N-th
        batch. Returns the whole :attr:`history`.
        """
        if self.train_config is None:
            self.compile()
        if epochs < 0:
            raise ConfigError(f"fit: epochs must be >= 0, got {epochs!r}")
        ds = self._dataset(data, y, validation_data)
        tr = self._trainer
        if tr is None:
            cfg = self.train_config
            if cfg.schedule == "cosine" and not cfg.schedule_epochs:
                cfg = replace(cfg, schedule_epochs=max(epochs, 1))
            tr = self._trainer = Trainer(self.network, replace(cfg, epochs=self.epoch + epochs), progress=progress,
                                         checkpoint_path=checkpoint, log_path=log, phase_log=phase_log,
                                         history=self.history.records)
        else:  # the trainer's output settings are public attributes (see Trainer)
            tr.progress, tr.phase_log = progress, phase_log
            tr.checkpoint_path = Path(checkpoint) if checkpoint else tr.checkpoint_path
            tr.log_path = Path(log) if log else tr.log_path
        done = len(tr.history)
        with _blas(self.blas_threads):
            tr.train(ds, epochs, callback=callback)
        self.history.extend(tr.history[done:])
        return self.history

    # -- inference -------------------------------------------------------------------------
    def network_on(self, backend: Any = None) -> EnergyModel:
        """The network that runs on ``backend`` with the model's current parameters (the model's
        own for its training backend; a copy with the same conductances otherwise)."""
        if backend is None or (self.is_circuit and isinstance(backend, str) and backend == self.backend):
            return self.network
        src = self.network
        if not isinstance(src, ResistiveNetwork):
            if backend in ("numpy",):
                return self.network
            raise ConfigError(f"a {type(src).__name__} runs on NumPy only, not {_backend_name(backend)!r}")
        key = backend if isinstance(backend, str) else id(backend)
        net = self._others.get(key)
        if net is None:
            i0 = src.bias_currents
            net = self._others[key] = ResistiveNetwork(src.circuit, _auto(backend, src.circuit), src.g, loss=src.loss,
                                                       bias_currents=False if i0 is None else i0,
                                                       element_values=src.element_values or None)
        else:
            net.set_conductances(src.g)
            for k in net.params:  # bias currents, gate voltages...: every parameter but the conductances
                if not k.startswith("g"):
                    net.params[k][...] = src.params[k]
        return net

    def outputs(self, x, *, backend: Any = None, batch_size: int | None = None) -> np.ndarray:
        """Output values at the free equilibria of ``x`` (``(n, n_outputs)``, volts for circuits)."""
        net: EnergyModel = self.network_on(backend)
        x = net.check_inputs(x)
        bs = batch_size or (self.train_config.eval_batch_size if self.train_config else 1000)
        with _blas(self.blas_threads):
            out = [net.output(net.relax(x[s:s + bs], net.init_state(len(x[s:s + bs]))).state)
                   for s in range(0, len(x), bs)]
        return np.concatenate(out) if out else np.zeros((0, net.n_outputs))

    def predict(self, x, *, backend: Any = None, batch_size: int | None = None) -> np.ndarray:
        """Class predictions (argmax of the outputs) for ``x`` ``(n, n_features)``."""
        return np.argmax(self.outputs(x, backend=backend, batch_size=batch_size), axis=1)

    def evaluate(self, data, y=None, *, backend: Any = None, batch_size: int | None = None) -> dict[str, Any]:
        """Error, accuracy and mean cost at the free equilibria, from the initial state, on
        ``backend`` (default: the training one). ``data`` is a Dataset (its test split) or ``x``
        (the trainer's :func:`~analog_eqprop.training.trainer.evaluate`)."""
        x, labels = self._xy(data, y)
        if labels is None:
            raise DataError("evaluate needs labels: evaluate(x, y) or evaluate(dataset)")
        net: EnergyModel = self.network_on(backend)
        x = net.check_inputs(x)
        t0 = time.perf_counter()
        bs = batch_size or (self.train_config.eval_batch_size if self.train_config else 1000)
        with _blas(self.blas_threads):
            ev = evaluate(net, x, labels, batch_size=bs)
        return {"error": ev["error"], "accuracy": 1.0 - ev["error"], "cost": ev["cost"], "n": int(len(x)),
                "seconds": time.perf_counter() - t0,
                "backend": _backend_name(net.backend) if isinstance(net, ResistiveNetwork) else "numpy"}

    # -- export and persistence ------------------------------------------------------------
    def export_netlist(self, path: str | Path | None = None, x=None, *, form: str = "full",
                       options: dict | None = None, title: str | None = None) -> Netlist:
        """The circuit with its trained conductances as a SPICE deck that ``ngspice -b`` runs: one
        example ``x`` (``.op``; ``None``: 0 V inputs) or a batch ``(B, n_features)`` (one ``.dc``
        sweep). Written to ``path`` when given; returns the :class:`~analog_eqprop.netlist.Netlist`."""
        src = self.network
        if not isinstance(src, ResistiveNetwork):
            raise ConfigError("only circuit models export netlists")
        g = src.g
        if x is not None and np.ndim(x) == 2:
            net = compile_sweep(src.circuit, g, x, form=form, options=options, title=title, probes=True)
        else:
            net = compile_netlist(src.circuit, g, x, form=form, options=options, title=title)
        if path is not None:
            net.write(path)
        return net

    def save(self, path: str | Path) -> Path:
        """Save circuit (or network), graph, parameters, settings, history and trainer state to a
        directory, or to one ``.npz`` file (:func:`~analog_eqprop.api.io.save_model`)."""
        return save_model(self, path)

    @classmethod
    def load(cls, path: str | Path, **kw) -> "Model":
        """A model saved by :meth:`save` (``kw``: ``backend=`` and backend options), its trainer
        restored: ``fit`` continues as if it had never been saved."""
        saved = read_model(path, **kw)
        model = Model(saved.network, graph=saved.graph, name=saved.name)
        model.layer_types = saved.layer_types
        model.history = History(saved.history)
        model.train_config = saved.train_config
        model._trainer = saved.trainer
        return model

    def settings_dict(self) -> dict[str, Any] | None:
        """The compiled training settings as plain data (``None`` before :meth:`compile`)."""
        if self.train_config is None:
            return None
        return {"train_config": to_dict(self.train_config)}


class Sequential(Model):
    """A circuit model from a list of blocks (:mod:`analog_eqprop.api.layers`).

    Parameters
    ----------
    blocks : list
        ``Input``, then layers (``Dense``, ``LocallyConnected2D``, ``Conv2D``, ``AveragePooling2D``;
        the last a ``Dense``: the outputs), optionally ``Output(...)`` and ``CurrentNudge()`` /
        ``ResistiveNudge()`` settings.
    seed : int, optional
        Seed of the initial conductances.
    backend : str or backend object
        Where it trains (``"numpy"``, ``"bcd"``, ``"ngspice"``), or ``"auto"`` (the command line's
        default): BCD where it is exact (layered, reciprocal, ideal diodes), Newton otherwise. The
        API's default stays the reference solver, Newton, so that a script's numbers do not
        change with the circuit's shape.
    bias_voltages : tuple of float
        Bias rails [V] joined to the layers with ``bias=True``.
    g_min, g_max : float
        Device conductance range [S]; updates clip to it (default: the circuit table's,
        :data:`analog_eqprop.defaults.CIRCUIT_DEFAULTS`).
    loss, dtype, name, **backend_options
        As for :class:`~analog_eqprop.models.ResistiveNetwork`.
    """

    def __init__(self, blocks: list, *, seed: int | None = 0, backend: Any = "numpy",
                 bias_voltages: tuple[float, ...] = (1.0, -1.0), g_min: float = CIRCUIT_DEFAULTS["g_min"],
                 g_max: float = CIRCUIT_DEFAULTS["g_max"],
                 loss: Any = None, dtype: Any = "float64", name: str | None = None, **backend_options):
        _, layers, output, nudge = split_blocks(blocks)
        G = build_graph(blocks, seed=seed, bias_voltages=tuple(bias_voltages))
        name = name or "sequential-" + "-".join(type(b).__name__.lower() for b in layers)
        circuit = circuit_from_graph(G, name=name, g_min=g_min, g_max=g_max, nudge=nudge.mode,
                                     target_on=output.target_on, target_off=output.target_off)
        net = ResistiveNetwork(circuit, _auto(backend, circuit), loss=loss, dtype=dtype, **backend_options)
        super().__init__(net, graph=G, blocks=blocks, name=name)


def load_model(path: str | Path, *, backend: Any = None, **backend_options) -> Model:
    """A model saved by :meth:`Model.save` (or :func:`~analog_eqprop.api.io.save_model`), on its
    saved backend or on ``backend``, with its trainer restored.

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
    return Model.load(path, backend=backend, **backend_options)
