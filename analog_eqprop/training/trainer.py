"""The EqProp training loop: persistent particles, per-layer rates, checkpoints, history.

One loop for every energy model (Hopfield network or circuit). Per minibatch, as in the
seed's code: free phase from each example's persistent particle, record its prediction,
nudged phase(s) from the free state, then the parameter update. After each epoch the
validation and test splits are relaxed from their own persistent particles, a history
record is appended, a JSON line is written and an atomic checkpoint is saved, so a killed
run resumes with nothing lost and with the same result as an uninterrupted one.

Optional, all off by default: a learning-rate schedule (``schedule``, :mod:`.schedules`: a
factor on every rate evaluated before each minibatch), per-layer update rules
(``update_rules``, :mod:`.update_rules`: sign, quantised, power-law steps) and a per-phase log
of voltages, currents and conductances streamed to disk every N minibatches
(``Trainer(phase_log=...)``, :mod:`.phase_log`).

Examples
--------
>>> from analog_eqprop.data import load_xor
>>> from analog_eqprop.models import HopfieldNetwork, HopfieldConfig
>>> net = HopfieldNetwork.layered([2, 8, 2], seed=0, config=HopfieldConfig(n_free=30, n_nudged=10))
>>> tr = Trainer(net, TrainConfig(epochs=2, batch_size=4, learning_rates=(0.2, 0.1)), progress=False)
>>> hist = tr.fit(load_xor())
>>> [r["epoch"] for r in hist]
[1, 2]
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Literal, Sequence

import numpy as np
from tqdm.auto import tqdm

from analog_eqprop.config import option, to_dict
from analog_eqprop.contracts import CheckpointState, CircuitModel, EnergyModel, has_ability
from analog_eqprop.defaults import HOPFIELD_DEFAULTS, MODEL_DEFAULTS, MODEL_KINDS, TRAIN_KEYS
from analog_eqprop.errors import CheckpointError, ConfigError, DataError
from analog_eqprop.eqprop.core import BETA_MODES, eqprop_phases
from analog_eqprop.training.checkpoint import load_checkpoint, save_checkpoint
from analog_eqprop.training.optim import OPTIMIZERS, make_optimizer
from analog_eqprop.training.schedules import SCHEDULES, make_schedule
from analog_eqprop.training.update_rules import make_update_rule, rules_for_params
from analog_eqprop.validation import finite_fields
from analog_eqprop.validation import labels as check_labels

__all__ = ["TrainConfig", "Trainer", "one_hot_targets", "model_train_defaults", "evaluate"]


@dataclass(frozen=True)
class TrainConfig:
    """Training hyperparameters.

    The defaults that depend on the kind of model (learning rates, beta and its mode, the
    optimiser, the batch size) are the Hopfield model's here; :meth:`for_model` gives either
    kind's, from the one table :data:`analog_eqprop.defaults.MODEL_DEFAULTS`.

    Examples
    --------
    >>> TrainConfig().learning_rates, TrainConfig.for_model("circuit").optimizer
    ((0.4, 0.2), 'adam')
    """

    epochs: int = option(25, "number of passes over the training set")
    batch_size: int = option(HOPFIELD_DEFAULTS["batch_size"], "examples per minibatch")
    learning_rates: tuple[float, ...] = option(
        HOPFIELD_DEFAULTS["learning_rates"],
        "per-layer learning rates; layer l is every parameter feeding free layer l", unit="1 (Hopfield) or S (circuits)"
    )
    beta: float = option(HOPFIELD_DEFAULTS["beta"], "nudge strength beta (> 0)", unit="1 (Hopfield) or S (circuits)")
    beta_mode: Literal["positive", "random_sign", "centered"] = option(
        HOPFIELD_DEFAULTS["beta_mode"],
        "positive: +beta; random_sign: +-beta per batch (seed code); centered: +beta and -beta"
    )
    optimizer: Literal["sgd", "momentum", "adam"] = option(HOPFIELD_DEFAULTS["optimizer"], "parameter update rule")
    momentum: float = option(0.9, "momentum coefficient (optimizer=momentum)")
    persistent: bool = option(True, "each example keeps its last free state as its next starting point")
    shuffle: bool = option(False, "shuffle the training set each epoch (the seed code does not)")
    n_valid: int = option(0, "hold out the last n training examples as a validation set")
    eval_batch_size: int = option(1000, "batch size for evaluation (does not change results)")
    seed: int = option(0, "seed of the run's random generator (shuffling, beta signs, noise)")
    checkpoint_every: int = option(0, "also checkpoint every N minibatches inside an epoch (0: only at epoch "
                                      "ends); a killed run then loses at most N batches")
    schedule: Literal["constant", "cosine", "exponential"] = option(
        "constant", "learning-rate schedule, a factor on every rate set before each minibatch")
    decay: float = option(0.9, "exponential schedule: factor on the rates per epoch")
    final_lr_ratio: float = option(0.0, "cosine schedule: final rate / initial rate")
    schedule_epochs: int = option(0, "cosine schedule: epochs over which the rates fall (0: epochs)")
    update_rules: tuple[str, ...] = option(
        ("exact",), "per-layer update rule: exact, sign, quantized:Q or power:P (one for all, or one per layer)")

    def __post_init__(self) -> None:
        finite_fields(self)
        if self.epochs < 0:
            raise ConfigError(f"TrainConfig.epochs must be >= 0, got {self.epochs}")
        if self.batch_size < 1 or self.eval_batch_size < 1:
            raise ConfigError(f"TrainConfig: batch sizes must be >= 1, got {self.batch_size}, {self.eval_batch_size}")
        if not self.learning_rates:
            raise ConfigError("TrainConfig.learning_rates is empty: give one rate per layer (or one for all)")
        for i, lr in enumerate(self.learning_rates):
            if not (np.isfinite(lr) and lr >= 0):
                raise ConfigError(f"TrainConfig.learning_rates[{i}] must be a finite number >= 0, got {lr!r}")
        if not (np.isfinite(self.beta) and self.beta > 0):
            raise ConfigError(f"TrainConfig.beta must be > 0 (EqProp divides by it), got {self.beta!r}")
        if self.beta_mode not in BETA_MODES:
            raise ConfigError(f"TrainConfig.beta_mode must be one of {BETA_MODES}, got {self.beta_mode!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"TrainConfig.optimizer must be one of {tuple(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.n_valid < 0:
            raise ConfigError(f"TrainConfig.n_valid must be >= 0, got {self.n_valid}")
        if self.checkpoint_every < 0:
            raise ConfigError(f"TrainConfig.checkpoint_every must be >= 0, got {self.checkpoint_every}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"TrainConfig.schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.schedule_epochs < 0:
            raise ConfigError(f"TrainConfig.schedule_epochs must be >= 0, got {self.schedule_epochs}")
        self.make_schedule()  # checks decay and final_lr_ratio
        if not self.update_rules:
            raise ConfigError("TrainConfig.update_rules is empty: give one rule per layer (or one for all)")
        for i, spec in enumerate(self.update_rules):
            try:
                make_update_rule(spec)
            except ConfigError as exc:
                raise ConfigError(f"TrainConfig.update_rules[{i}]: {exc}") from None

    @classmethod
    def for_model(cls, kind: str, **overrides: Any) -> "TrainConfig":
        """The defaults of a kind of model (``"hopfield"`` or ``"circuit"``), with ``overrides``."""
        return cls(**{**model_train_defaults(kind), **overrides})

    def make_schedule(self):
        """The learning-rate schedule these settings describe."""
        total = self.schedule_epochs or max(self.epochs, 1)
        return make_schedule(self.schedule, total_epochs=total, final_ratio=self.final_lr_ratio, decay=self.decay)


def model_train_defaults(kind: str) -> dict[str, Any]:
    """The training settings whose defaults depend on the kind of model, from the one table.

    Examples
    --------
    >>> model_train_defaults("circuit")["beta"]
    1e-06
    """
    if kind not in MODEL_DEFAULTS:
        raise ConfigError(f"unknown model {kind!r}; use one of {', '.join(MODEL_KINDS)}")
    return {k: MODEL_DEFAULTS[kind][k] for k in TRAIN_KEYS}


#: Settings added after checkpoints were first written, with the values older runs had implicitly.
_LATER_SETTINGS = {"schedule": "constant", "decay": 0.9, "final_lr_ratio": 0.0, "schedule_epochs": 0,
                   "update_rules": ["exact"]}


def _fault_counts(model: EnergyModel) -> dict[str, int]:
    """Simulator faults survived so far (ngspice: chunks rescued by convergence aids, worker
    pools restarted), for the epoch record; empty when there were none."""
    if not has_ability(model, CircuitModel):
        return {}
    stats = model.backend.stats
    return {f"ngspice_{k}": int(stats[k]) for k in ("aided_chunks", "worker_restarts") if stats.get(k)}


def one_hot_targets(labels: np.ndarray, n_outputs: int, dtype: Any = np.float64, *,
                    rows: int | None = None) -> np.ndarray:
    """One-hot targets ``(n, n_outputs)`` from integer labels ``(n,)`` in ``[0, n_outputs)``
    (``rows``: the number of examples they label; DataError naming the first bad label)."""
    labels = check_labels(labels, "labels y", n_outputs, rows=rows)
    out = np.zeros((labels.shape[0], n_outputs), dtype=dtype)
    out[np.arange(labels.shape[0]), labels] = 1
    return out


def _signature(model: EnergyModel) -> dict[str, Any]:
    return {"params": {k: list(v.shape) for k, v in model.params.items()}, "type": type(model).__name__}


def evaluate(model: EnergyModel, x: np.ndarray, y: np.ndarray, *, batch_size: int = 1000,
             particles: np.ndarray | None = None, rng: np.random.Generator | None = None) -> dict[str, float]:
    """Error (fraction) and mean cost at the free fixed points of ``(x, y)``, in batches of
    ``batch_size`` (which does not change the result).

    Each example starts from the model's initial state, or from its row of ``particles``
    (``(n, n_state)``, updated in place with the fixed points: persistent particles); ``rng``
    drives the model's noise, if it has any.

    Examples
    --------
    >>> from analog_eqprop.data import load_xor
    >>> from analog_eqprop.models import HopfieldNetwork
    >>> d = load_xor()
    >>> sorted(evaluate(HopfieldNetwork.layered([2, 4, 2], seed=0), d.x_test, d.y_test))
    ['cost', 'error']
    """
    x = model.check_inputs(x)
    y = check_labels(y, "labels y", model.n_outputs, rows=x.shape[0])
    targets = one_hot_targets(y, model.n_outputs, model.dtype)
    n = x.shape[0]
    n_err, cost_sum = 0, 0.0
    for start in range(0, n, batch_size):
        sl = slice(start, start + batch_size)
        s = particles[sl] if particles is not None else model.init_state(len(x[sl]))
        s0 = model.relax(x[sl], s, rng=rng).state
        if particles is not None:
            particles[sl] = s0
        n_err += int(np.sum(np.argmax(model.output(s0), axis=1) != y[sl]))
        cost_sum += float(np.sum(model.cost(s0, targets[sl])))
    return {"error": n_err / max(n, 1), "cost": cost_sum / max(n, 1)}


class Trainer:
    """Trains an energy model with EqProp.

    Parameters
    ----------
    model : EnergyModel
        Energy model (:class:`~analog_eqprop.contracts.EnergyModel`, e.g.
        :class:`~analog_eqprop.models.HopfieldNetwork`).
    config : TrainConfig
    checkpoint_path : path, optional
        Checkpoint written atomically after every epoch.
    log_path : path, optional
        One JSON object appended per epoch (``epoch``, ``train_error``, ``test_error``, ``seconds``...).
    progress : bool
        Show a progress bar over minibatches (tqdm, on stderr).
    run_info : dict, optional
        Extra metadata stored in the checkpoint (model config, dataset name...).
    phase_log : PhaseLog, optional
        Record voltages, currents and conductances of every phase of every ``phase_log.every``-th
        minibatch (:class:`~analog_eqprop.training.phase_log.PhaseLog`), streamed to disk.
    history : sequence of dict, optional
        The records of the epochs trained before (one per epoch, e.g. by another trainer of the
        same model before new settings): training continues after them.

    Attributes
    ----------
    epoch : int
        Epochs done (read only: :meth:`fit`, :meth:`train` and :meth:`load_checkpoint` move it).
    history : list of dict
        One record per epoch done (read only).
    checkpoint_path, log_path, progress, phase_log
        As the parameters; they may be changed between calls to :meth:`fit` / :meth:`train`.
    """

    model: EnergyModel

    def __init__(self, model: EnergyModel, config: TrainConfig | None = None, *,
                 checkpoint_path: str | Path | None = None, log_path: str | Path | None = None, progress: bool = True,
                 run_info: dict | None = None, phase_log: Any = None, history: Sequence[dict[str, Any]] = ()):
        self.model = model
        self.config = config or TrainConfig()
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.log_path = Path(log_path) if log_path else None
        self.progress = progress
        self.run_info = run_info or {}
        lrs = self.config.learning_rates
        n_layers = model.n_layers
        if len(lrs) == 1:
            lrs = lrs * n_layers
        if len(lrs) != n_layers:
            raise ConfigError(f"learning_rates has {len(lrs)} entries but the network has {n_layers} layers "
                              f"(give one rate per layer, or a single rate for all)")
        self.layer_lrs = tuple(float(v) for v in lrs)
        per_param = {name: self.layer_lrs[model.param_layer(name)] for name in model.params}
        kw = {"momentum": self.config.momentum} if self.config.optimizer == "momentum" else {}
        self.optimizer = make_optimizer(self.config.optimizer, per_param, **kw)
        self.rules = rules_for_params(self.config.update_rules, model.params, model.param_layer, n_layers)
        self.schedule = self.config.make_schedule()
        self.phase_log = phase_log
        self.rng = np.random.default_rng(self.config.seed)
        self.particles: dict[str, np.ndarray] = {}
        self.history: list[dict[str, Any]] = [dict(r) for r in history]
        self.epoch = len(self.history)
        self._in_epoch: dict[str, Any] | None = None  # progress of an interrupted epoch
        #: Training seconds of the current epoch spent before a resume (by the interrupted run).
        self.seconds_before_resume = 0.0

    # -- data ---------------------------------------------------------------------------
    def _check_data(self, data: Any) -> None:
        if data.n_features != self.model.n_inputs:
            raise DataError(f"dataset {data.name!r} has {data.n_features} features per example but the network "
                            f"has {self.model.n_inputs} inputs")
        if data.n_classes > self.model.n_outputs:
            raise DataError(f"dataset {data.name!r} has {data.n_classes} classes but the network has only "
                            f"{self.model.n_outputs} outputs")

    def _splits(self, data: Any) -> Any:
        if self.config.n_valid and data.x_valid is None:
            if self.config.n_valid >= len(data.y_train):
                raise DataError(f"n_valid={self.config.n_valid} leaves no training examples "
                                f"({len(data.y_train)} in {data.name!r})")
            data = data.split_validation(self.config.n_valid)
        return data

    def _particles(self, split: str, n: int) -> np.ndarray | None:
        if not self.config.persistent:
            return None
        p = self.particles.get(split)
        if p is None or p.shape[0] != n:
            p = self.model.init_state(n)
            self.particles[split] = p
        return p

    # -- training -------------------------------------------------------------------------
    def train_epoch(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """One pass over ``(x, y)``; returns train error (fraction) and mean cost, measured at the
        free fixed points before each update (as the seed code does)."""
        model, cfg = self.model, self.config
        x = model.check_inputs(x)
        y = check_labels(y, "labels y", model.n_outputs, rows=x.shape[0])
        targets = one_hot_targets(y, model.n_outputs, model.dtype)
        n = x.shape[0]
        parts = self._particles("train", n)
        resume, self._in_epoch = self._in_epoch, None
        t_start = time.perf_counter()
        if resume is not None:  # continue an epoch a checkpoint interrupted
            order, first = resume["order"], int(resume["batch"])
            n_err, cost_sum = int(resume["n_err"]), float(resume["cost_sum"])
            # the epoch's training seconds spent before the checkpoint (absent in older checkpoints)
            self.seconds_before_resume = float(resume.get("seconds", 0.0))
        else:
            order = self.rng.permutation(n) if cfg.shuffle else np.arange(n)
            first, n_err, cost_sum = 0, 0, 0.0
            self.seconds_before_resume = 0.0
        starts = range(first * cfg.batch_size, n, cfg.batch_size)
        n_batches = -(-n // cfg.batch_size)
        bar = tqdm(starts, desc=f"epoch {self.epoch + 1}", unit="batch", leave=False, disable=not self.progress,
                   initial=first, total=n_batches)
        handoff = None  # what a fused update tells the model's next prepare (nothing runs in between)
        for i, start in enumerate(bar, start=first):
            idx = order[start:start + cfg.batch_size]
            xb, tb = x[idx], targets[idx]
            s = parts[idx] if parts is not None else model.init_state(len(idx))
            static = model.prepare(xb) if handoff is None else model.prepare(xb, handoff=handoff)
            handoff = None
            s0 = model.relax(xb, s, static=static, rng=self.rng).state
            if parts is not None:
                parts[idx] = s0
            n_err += int(np.sum(np.argmax(model.output(s0), axis=1) != y[idx]))
            cost_sum += float(np.sum(model.cost(s0, tb)))
            ph = eqprop_phases(model, xb, tb, s0, cfg.beta, mode=cfg.beta_mode, rng=self.rng, static=static)
            if self.phase_log is not None and self.phase_log.wants(i):
                self._log_phases(xb, s0, ph, i)
            # the schedule depends on the position in training only: a resumed run follows it exactly
            scale = self.schedule(self.epoch + i / n_batches)
            # SGD on a resistive network: gradient, scale, update and clip in one pass (same numbers)
            fused, handoff = self.optimizer.step_phases(model, ph, lr_scale=scale, rules=self.rules)
            if not fused:
                self.optimizer.step(model.params, ph.gradient(model).grads, lr_scale=scale, rules=self.rules)
                model.project()
            if self.progress and i % 50 == 0:
                bar.set_postfix(err=f"{n_err / min(n, start + len(idx)):.3f}")
            if (cfg.checkpoint_every and self.checkpoint_path and (i + 1) % cfg.checkpoint_every == 0
                    and start + cfg.batch_size < n):
                self._in_epoch = {"batch": i + 1, "n_err": n_err, "cost_sum": cost_sum, "order": order,
                                  "seconds": self.seconds_before_resume + time.perf_counter() - t_start}
                self.save_checkpoint(self.checkpoint_path)
                self._in_epoch = None
        return {"train_error": n_err / n, "train_cost": cost_sum / n}

    def _log_phases(self, xb, s0, g, batch: int) -> None:
        names = ("nudged", "nudged_minus")
        states = {"free": s0, **{names[k]: s for k, s in enumerate(g.nudged)}}
        betas = {"nudged": g.beta, "nudged_minus": -g.beta}
        self.phase_log.log_phases(self.model, xb, states, epoch=self.epoch + 1, batch=batch, betas=betas)

    def evaluate(self, x: np.ndarray, y: np.ndarray, split: str | None = None) -> dict[str, float]:
        """Error (fraction) and mean cost at the free fixed points of ``(x, y)``.

        With persistent particles and a ``split`` name, each example starts from (and
        updates) its own particle, as in the seed code; otherwise from the initial state
        (:func:`evaluate`, with the run's random stream).
        """
        x = self.model.check_inputs(x)
        parts = self._particles(split, x.shape[0]) if split else None
        return evaluate(self.model, x, y, batch_size=self.config.eval_batch_size, particles=parts, rng=self.rng)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class predictions (argmax of the free-phase outputs), from the initial state."""
        x = self.model.check_inputs(x)
        return np.argmax(self.model.output(self.model.relax(x, self.model.init_state(len(x)), rng=self.rng).state),
                         axis=1)

    def train(self, data: Any, epochs: int,
              callback: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
        """Train ``epochs`` more epochs (after those already done); returns the whole history."""
        if epochs < 0:
            raise ConfigError(f"train: epochs must be >= 0, got {epochs!r}")
        return self.fit(data, self.epoch + int(epochs), callback)

    def fit(self, data: Any, epochs: int | None = None,
            callback: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
        """Train until ``epochs`` (default: the config's) epochs are done in all; returns the history.

        Continues from :attr:`epoch` (e.g. after :meth:`load_checkpoint`). After every epoch the
        validation split (if any) and the test split (if not empty) are evaluated.
        """
        epochs = self.config.epochs if epochs is None else epochs
        data = self._splits(data)
        self._check_data(data)
        self._sync_log()
        while self.epoch < epochs:
            t0 = time.perf_counter()
            rec: dict[str, Any] = {"epoch": self.epoch + 1}
            rec.update(self.train_epoch(data.x_train, data.y_train))
            t_train = time.perf_counter() - t0
            if data.x_valid is not None:
                ev = self.evaluate(data.x_valid, data.y_valid, "valid")
                rec["valid_error"], rec["valid_cost"] = ev["error"], ev["cost"]
            if len(data.y_test):
                ev = self.evaluate(data.x_test, data.y_test, "test")
                rec["test_error"], rec["test_cost"] = ev["error"], ev["cost"]
            # an epoch resumed from a mid-epoch checkpoint counts the training time before it too
            before = self.seconds_before_resume
            rec["seconds_train"] = t_train + before
            rec["seconds"] = time.perf_counter() - t0 + before
            if before:
                rec["seconds_before_resume"] = before
            if self.config.schedule != "constant":
                rec["lr_scale_end"] = self.schedule(self.epoch + 1)
            rec.update(_fault_counts(self.model))
            self.epoch += 1
            self.history.append(rec)
            # checkpoint before logging: a kill in between leaves the log short, and
            # _sync_log fills it from the checkpoint's history on resume (never a duplicate)
            if self.checkpoint_path:
                self.save_checkpoint(self.checkpoint_path)
            self._sync_log()
            if callback:
                callback(rec)
        return self.history

    def _sync_log(self) -> None:
        """Append the history records the JSON log lacks (one line per finished epoch)."""
        if not self.log_path:
            return
        done = set()
        if self.log_path.exists():
            for line in self.log_path.read_text(encoding="utf-8").splitlines():
                try:
                    done.add(int(json.loads(line)["epoch"]))
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line from a killed run, or foreign content
        missing = [r for r in self.history if r["epoch"] not in done]
        if missing:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_path, "a", encoding="utf-8") as fh:
                fh.writelines(json.dumps(r) + "\n" for r in missing)

    # -- checkpoints --------------------------------------------------------------------
    def save_checkpoint(self, path: str | Path) -> None:
        """Everything needed to resume exactly: parameters, particles, optimiser and RNG state."""
        arrays = {f"params/{k}": v for k, v in self.model.params.items()}
        arrays.update({f"particles/{k}": v for k, v in self.particles.items()})
        arrays.update({f"optim/{k}": v for k, v in self.optimizer.state_dict().items()})
        in_epoch = None
        if self._in_epoch is not None:
            arrays["epoch/order"] = np.asarray(self._in_epoch["order"])
            in_epoch = {k: v for k, v in self._in_epoch.items() if k != "order"}
        meta = {
            "epoch": self.epoch,
            "in_epoch": in_epoch,
            "history": self.history,
            "train_config": to_dict(self._comparable_config()),
            "model": _signature(self.model),
            "rng": self.rng.bit_generator.state,
            "run_info": self.run_info,
        }
        if has_ability(self.model, CheckpointState):  # e.g. a hardware model's noise streams
            meta["model_state"] = self.model.checkpoint_state()
        save_checkpoint(path, arrays, meta)

    def load_checkpoint(self, path: str | Path) -> None:
        """Restore a checkpoint made with the same model shape and hyperparameters."""
        arrays, meta = load_checkpoint(path)
        if meta.get("model") != _signature(self.model):
            raise CheckpointError(f"{path}: made for a different network ({meta.get('model')}), "
                                  f"this one is {_signature(self.model)}")
        mine = to_dict(self._comparable_config())
        theirs = {**_LATER_SETTINGS, **meta.get("train_config", {})}
        # the checkpoint cadence never changes results (older checkpoints stored None for "off")
        mine.pop("checkpoint_every", None)
        theirs.pop("checkpoint_every", None)
        diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        if diff:
            what = ", ".join(f"{k}: {theirs.get(k)!r} there, {mine.get(k)!r} here" for k in diff)
            raise CheckpointError(f"{path}: made with different settings ({what}); resume with the same settings")
        for k in self.model.params:
            self.model.params[k][...] = arrays[f"params/{k}"]
        self.particles = {k[len("particles/"):]: v.copy() for k, v in arrays.items() if k.startswith("particles/")}
        self.optimizer.load_state_dict({k[len("optim/"):]: v for k, v in arrays.items() if k.startswith("optim/")})
        self.rng.bit_generator.state = meta["rng"]
        if meta.get("model_state") is not None and has_ability(self.model, CheckpointState):
            self.model.load_checkpoint_state(meta["model_state"])
        self.history = list(meta["history"])
        self.epoch = int(meta["epoch"])
        partial = meta.get("in_epoch")
        if partial is not None:
            sec = partial.get("seconds", 0.0)
            if isinstance(sec, bool) or not isinstance(sec, (int, float)) or not 0 <= sec < float("inf"):
                raise CheckpointError(f"{path}: in_epoch seconds must be a finite number >= 0, got {sec!r}")
        self._in_epoch = None if partial is None else {**partial, "order": arrays["epoch/order"]}

    def _comparable_config(self) -> TrainConfig:
        """The settings a resumed run must share (epochs and checkpoint cadence may change, unless a
        cosine schedule falls over ``epochs``)."""
        cfg = self.config
        span = cfg.schedule_epochs or (max(cfg.epochs, 1) if cfg.schedule == "cosine" else 0)
        return replace(cfg, epochs=0, checkpoint_every=0, schedule_epochs=span)
