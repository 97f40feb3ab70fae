"""Digital vs analog: train one circuit with two backends in lockstep and measure the gap.

:func:`compare_backends` trains the *same* circuit from the *same* initial conductances
twice -- once on the NumPy twin, once in ngspice by default -- with the same training loop
(:class:`~analog_eqprop.training.Trainer`), the same hyperparameters and identically
seeded random generators, so both runs see the same batches in the same order with the
same beta signs (the report says whether the generators stayed in step). It then measures:

* **fixed-point agreement**: both backends solve the free and nudged states of a probe
  batch on the *same* conductances (the reference run's, at epoch 0 and after every
  epoch): max and mean ``|V_a - V_b|`` [V];
* **update agreement**: cosine between the two backends' EqProp updates computed from those
  same conductances and batch;
* **weight divergence**: ``||g_b - g_a|| / ||g_a||`` between the two runs' conductances per
  epoch (chaotic amplification of solver round-off shows up here first);
* **accuracy**: both runs' train and test error per epoch, and how many test examples the
  two trained circuits classify differently;
* **gradient vs beta**: each backend's EqProp estimate against the exact implicit gradient
  (:meth:`~analog_eqprop.models.ResistiveNetwork.implicit_gradient`) over a few decades of
  beta, one-sided and centered.

Examples
--------
Two identical backends agree exactly (with ngspice, pass ``backends=("numpy", "ngspice")``,
the default):

>>> from analog_eqprop.circuits import layered_circuit
>>> from analog_eqprop.data import load_xor
>>> rep = compare_backends(layered_circuit([2, 6, 2], seed=0), load_xor(), epochs=2, batch_size=2,
...                        backends=("numpy", "numpy"), n_probe=4)
>>> rep.labels, rep.max_abs_dv, round(rep.update_cosine, 12), rep.weight_divergence
(('numpy_a', 'numpy_b'), 0.0, 1.0, [0.0, 0.0, 0.0])
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from analog_eqprop.circuits.description import Circuit
from analog_eqprop.compare.report import AgreementCheck, BackendRun, BetaSweep, ComparisonReport
from analog_eqprop.config import to_dict
from analog_eqprop.contracts import Backend, CircuitModel
from analog_eqprop.errors import CheckpointError, ConfigError
from analog_eqprop.eqprop import cosine, eqprop_gradient, flatten
from analog_eqprop.models.resistive import ResistiveNetwork
from analog_eqprop.runinfo import run_metadata
from analog_eqprop.solvers.backends import NumpyBackend, clamps_ideally, get_backend
from analog_eqprop.training.checkpoint import atomic_write_text
from analog_eqprop.training.trainer import TrainConfig, Trainer, one_hot_targets

__all__ = ["compare_backends", "check_agreement", "beta_sweep", "default_train_config", "is_reciprocal"]

#: Sweep betas as multiples of the training beta: five decades around it.
SWEEP_FACTORS = (10.0, 1.0, 0.1, 0.01, 1e-3, 1e-4)


def default_train_config(**overrides) -> TrainConfig:
    """The circuit training recipe of the one table of defaults (Adam, lr 2e-7 S, beta 1e-6 S,
    positive nudging, minibatches of 10; :data:`analog_eqprop.defaults.CIRCUIT_DEFAULTS`), with overrides.

    Examples
    --------
    >>> cfg = default_train_config(epochs=3)
    >>> cfg.optimizer, cfg.learning_rates, cfg.beta, cfg.epochs
    ('adam', (2e-07,), 1e-06, 3)
    """
    return TrainConfig.for_model("circuit", **overrides)


def is_reciprocal(circuit: Circuit) -> bool:
    """Whether a circuit is an energy model (no amplifier, or every CCCS gain equal to its VCVS gain).

    Examples
    --------
    >>> from analog_eqprop.circuits import drn_circuit, kendall_circuit
    >>> is_reciprocal(drn_circuit([4, 3, 2], seed=0)), is_reciprocal(kendall_circuit(4, 3, 2, seed=0))
    (True, False)
    """
    return bool(circuit.n_amps == 0 or np.allclose(circuit.amp_back, circuit.amp_gain))


def _make_backend(spec: Any, ngspice_options: Mapping[str, Any] | None) -> Backend:
    if spec == "ngspice":
        return get_backend("ngspice", options=ngspice_options)
    return get_backend(spec)


def _labels(backends: Sequence[Any], labels: Sequence[str] | None) -> tuple[str, str]:
    if labels is not None:
        if len(labels) != 2 or labels[0] == labels[1]:
            raise ConfigError(f"labels must be two distinct names, got {labels!r}")
        return str(labels[0]), str(labels[1])
    names = [str(getattr(b, "name", type(b).__name__)) for b in backends]
    if names[0] == names[1]:
        return f"{names[0]}_a", f"{names[1]}_b"
    return names[0], names[1]


def _solve(model: CircuitModel, x: np.ndarray, target: np.ndarray, beta: float, mode: str):
    """Free state, nudged state(s) (free nodes only) and the flattened EqProp update of one model."""
    nf = model.circuit.n_free
    s0 = model.relax(x, model.init_state(x.shape[0])).state
    est = eqprop_gradient(model, x, target, s0, beta, mode=mode)
    nudged = np.concatenate([s[:, :nf] for s in est.nudged], axis=0)
    return s0[:, :nf], nudged, flatten(est.grads)


def check_agreement(model_a: CircuitModel, model_b: CircuitModel, x: np.ndarray, target: np.ndarray, *,
                    beta: float, mode: str = "positive", epoch: int = 0, weight_divergence: float = 0.0,
                    ) -> tuple[AgreementCheck, dict[str, np.ndarray]]:
    """Solve one batch with two models that hold the same conductances; compare states and updates.

    Parameters
    ----------
    model_a, model_b : CircuitModel
        The same circuit and conductances on two backends (checked), e.g. two
        :class:`~analog_eqprop.models.ResistiveNetwork`.
    x, target : ndarray
        Inputs ``(batch, n_features)`` and one-hot targets ``(batch, n_outputs)``.
    beta : float
        Nudge strength [S] (> 0).
    mode : {"positive", "centered"}
        One nudged phase at ``+beta``, or two at ``+-beta``.
    epoch, weight_divergence
        Stored in the result as they are (the caller's bookkeeping).

    Returns
    -------
    check : AgreementCheck
    voltages : dict
        ``{"a": V_a, "b": V_b}``: every free-node voltage of the free and nudged states [V].

    Examples
    --------
    The NumPy twin at its own tolerances and at ngspice's stock ones (``reltol=1e-3``):

    >>> import numpy as np
    >>> from analog_eqprop.circuits import drn_circuit
    >>> from analog_eqprop.solvers.backends import NumpyBackend
    >>> from analog_eqprop.solvers.newton import NewtonSolver
    >>> c = drn_circuit([3, 4, 2], seed=0)
    >>> loose = NumpyBackend(NewtonSolver(reltol=1e-3, vntol=1e-6))
    >>> chk, v = check_agreement(ResistiveNetwork(c), ResistiveNetwork(c, loose), np.full((2, 3), 0.5),
    ...                          np.eye(2), beta=1e-6)
    >>> chk.max_abs_dv < 1e-6, round(chk.update_cosine, 6), v["a"].shape
    (True, 1.0, (24,))
    """
    if model_a.circuit is not model_b.circuit and model_a.circuit.n_edges != model_b.circuit.n_edges:
        raise ConfigError("check_agreement needs two models of the same circuit")
    if not np.array_equal(model_a.g, model_b.g):
        raise ConfigError("check_agreement needs both models to hold the same conductances")
    fa, na, ua = _solve(model_a, x, target, beta, mode)
    fb, nb, ub = _solve(model_b, x, target, beta, mode)
    dfree, dnudged = np.abs(fa - fb), np.abs(na - nb)
    norm_a = float(np.linalg.norm(ua))
    chk = AgreementCheck(
        epoch=int(epoch), n_examples=int(x.shape[0]),
        max_abs_dv_free=float(dfree.max(initial=0.0)), mean_abs_dv_free=float(dfree.mean()),
        max_abs_dv_nudged=float(dnudged.max(initial=0.0)), mean_abs_dv_nudged=float(dnudged.mean()),
        update_cosine=cosine(ua, ub),
        update_rel_diff=float(np.linalg.norm(ub - ua) / norm_a) if norm_a else float(np.linalg.norm(ub)),
        weight_divergence=float(weight_divergence))
    volts = {"a": np.concatenate([fa.ravel(), na.ravel()]), "b": np.concatenate([fb.ravel(), nb.ravel()])}
    return chk, volts


def beta_sweep(models: Mapping[str, CircuitModel], x: np.ndarray, target: np.ndarray, betas: Sequence[float], *,
               mode: str = "positive", epoch: int = 0) -> BetaSweep:
    """Each model's EqProp estimate against the exact implicit gradient, per beta.

    The exact gradient comes from a NumPy-solved free state of the first model's circuit and
    conductances, so it is the same yardstick for every backend that simulates the diodes'
    cards (NumPy, ngspice). A backend that clamps every diode ideally (BCD, :func:`clamps_ideally`)
    solves another circuit, whose exact gradient (from a BCD-solved free state, clamped nodes
    fixed) is its yardstick; ``exact_norm`` is the first model's.

    Examples
    --------
    >>> import numpy as np
    >>> from analog_eqprop.circuits import drn_circuit
    >>> c = drn_circuit([3, 4, 2], seed=0)
    >>> sw = beta_sweep({"numpy": ResistiveNetwork(c)}, np.full((2, 3), 0.5), np.eye(2), [1e-7, 1e-9],
    ...                 mode="centered")
    >>> [c > 0.9999 for c in sw.cosine["numpy"]], sw.reciprocal
    ([True, True], True)
    """
    first = next(iter(models.values()))
    yardsticks: dict[bool, dict[str, np.ndarray]] = {}

    def exact_of(m: CircuitModel) -> dict[str, np.ndarray]:
        ideal = clamps_ideally(m.backend)
        if ideal not in yardsticks:
            twin = ResistiveNetwork(first.circuit, "bcd", first.g) if ideal else ResistiveNetwork(
                first.circuit, "numpy", first.g, element_values=first.element_values or None)
            s_exact = twin.relax(x, twin.init_state(x.shape[0])).state
            yardsticks[ideal] = twin.implicit_gradient(x, target, s_exact)
        return yardsticks[ideal]

    names = sorted(exact_of(first))
    norm = float(np.linalg.norm(flatten(exact_of(first), names)))
    cos: dict[str, list[float]] = {}
    rel: dict[str, list[float]] = {}
    for label, m in models.items():
        ev = flatten(exact_of(m), names)
        norm_m = float(np.linalg.norm(ev))
        s0 = m.relax(x, m.init_state(x.shape[0])).state
        cos[label], rel[label] = [], []
        for beta in betas:
            gv = flatten(eqprop_gradient(m, x, target, s0, float(beta), mode=mode).grads, names)
            cos[label].append(cosine(gv, ev))
            rel[label].append(float(np.linalg.norm(gv - ev) / norm_m) if norm_m else float("nan"))
    return BetaSweep(mode=mode, betas=[float(b) for b in betas], cosine=cos, rel_error=rel, exact_norm=norm,
                     reciprocal=is_reciprocal(first.circuit), epoch=int(epoch))


_CHECKS = "checks.json"


def _save_checks(ck_dir: Path, checks: list[AgreementCheck], same_batches: bool) -> None:
    body = {"checks": [c.as_dict() for c in checks], "same_batches": bool(same_batches)}
    atomic_write_text(ck_dir / _CHECKS, json.dumps(body) + "\n")


def _restore(ck_dir: Path, trainers: list, ck_paths: list, callback) -> tuple[list[AgreementCheck], bool]:
    """Both trainers' checkpoints and the checks made so far (empty if there are none yet)."""
    for tr, path in zip(trainers, ck_paths):
        if path.exists():
            tr.load_checkpoint(path)
    state = ck_dir / _CHECKS
    if not state.exists():
        return [], True
    try:
        body = json.loads(state.read_text(encoding="utf-8"))
        checks = [AgreementCheck.from_dict(c) for c in body["checks"]]
        same = bool(body["same_batches"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{state}: unreadable comparison state ({exc})") from None
    done = min(tr.epoch for tr in trainers)
    if [c.epoch for c in checks] != list(range(len(checks))) or len(checks) - 1 > done:
        raise CheckpointError(f"{state}: its checks (epochs {[c.epoch for c in checks]}) do not match the "
                              f"checkpoints beside it (epoch {done})")
    if callback:
        for c in checks[1:]:
            callback(c, trainers[0].history[c.epoch - 1], trainers[1].history[c.epoch - 1])
    return checks, same


def _backend_setup(backend: Backend) -> dict[str, Any]:
    info: dict[str, Any] = {"name": getattr(backend, "name", type(backend).__name__), "type": type(backend).__name__}
    for key in ("mode", "form", "per_analysis", "options", "repeats"):
        if hasattr(backend, key):
            info[key] = getattr(backend, key)
    if isinstance(backend, NumpyBackend):
        info["solver"] = to_dict(backend.solver)
    return info


def compare_backends(
    circuit: Circuit,
    data: Any,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
    train_config: TrainConfig | None = None,
    seed: int | None = None,
    ngspice_options: Mapping[str, Any] | None = None,
    backends: Sequence[Any] = ("numpy", "ngspice"),
    labels: Sequence[str] | None = None,
    g_init: np.ndarray | None = None,
    n_probe: int = 50,
    sweep_betas: Sequence[float] | None = None,
    sweep_modes: Sequence[str] = ("positive", "centered"),
    progress: bool = False,
    callback: Callable[[AgreementCheck, dict, dict], None] | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
) -> ComparisonReport:
    """Train one circuit with two backends on the same batches and report how far they drift apart.

    Parameters
    ----------
    circuit : Circuit
        The circuit; both runs start from its ``edge_g`` (or ``g_init``) [S].
    data : Dataset
        Training and test data (e.g. :func:`~analog_eqprop.data.load_digits`).
    epochs, batch_size, seed : int, optional
        Override the training config's values (``seed`` draws batch order and beta signs).
    n_train, n_test : int, optional
        Use only the first examples of each split.
    train_config : TrainConfig, optional
        Default :func:`default_train_config` (the circuit defaults: Adam, lr 2e-7 S, beta 1e-6 S).
    ngspice_options : mapping, optional
        ``.options`` of every ngspice deck (default: the backend's ``reltol=1e-4``; see
        :data:`~analog_eqprop.solvers.ngspice_backend.TIGHT_OPTIONS`).
    backends : pair of str or backend objects
        Reference first (checks run on its conductances), default ``("numpy", "ngspice")``.
    labels : pair of str, optional
        Names in the report (default: the backends' names, suffixed ``_a``/``_b`` if equal).
    g_init : ndarray, optional
        Initial conductances [S] instead of the circuit's.
    n_probe : int
        Training examples in the probe batch of the agreement checks and beta sweeps.
    sweep_betas : sequence of float, optional
        Betas of the gradient sweeps [S] (default: the training beta times 10 ... 1e-4).
    sweep_modes : sequence of str
        ``"positive"`` and/or ``"centered"``; empty for no sweep.
    progress : bool
        tqdm progress bars for the training epochs.
    callback : callable, optional
        ``callback(check, record_a, record_b)`` after every epoch (e.g. to print a row); on
        resume, first for every epoch already done.
    checkpoint_dir : path, optional
        After every epoch, each run's trainer checkpoint (``checkpoint_<label>.npz``: parameters,
        optimiser, particles, random stream) and the agreement checks so far (``checks.json``)
        are written here atomically, so a killed comparison loses at most an epoch.
    resume : bool
        Continue from the checkpoints in ``checkpoint_dir`` (made with the same settings; the
        trainers refuse others) up to ``epochs``: the result equals an uninterrupted run's.

    Returns
    -------
    ComparisonReport
    """
    t_start = time.perf_counter()
    cfg = train_config or default_train_config()
    overrides = {k: v for k, v in (("epochs", epochs), ("batch_size", batch_size), ("seed", seed)) if v is not None}
    cfg = replace(cfg, **overrides)
    if cfg.epochs < 1:
        raise ConfigError(f"compare_backends needs at least one epoch, got {cfg.epochs}")
    if n_probe < 1:
        raise ConfigError(f"n_probe must be >= 1, got {n_probe}")
    if len(backends) != 2:
        raise ConfigError(f"compare_backends compares two backends, got {len(backends)}")
    for mode in sweep_modes:
        if mode not in ("positive", "centered"):
            raise ConfigError(f"sweep modes must be 'positive' or 'centered', got {mode!r}")
    if n_train is not None or n_test is not None:
        data = data.subset(n_train=n_train, n_test=n_test)
    engines = [_make_backend(b, ngspice_options) for b in backends]
    la, lb = _labels(engines, labels)
    g0 = np.array(circuit.edge_g if g_init is None else g_init, dtype=np.float64)

    # Two trainers with the same config and seed draw identical batch orders and beta signs;
    # the probe models re-solve on shared conductances, apart from the training state.
    models = [ResistiveNetwork(circuit, e, g0) for e in engines]
    ck_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if resume and ck_dir is None:
        raise ConfigError("resume=True needs the checkpoint_dir of the comparison to continue")
    ck_paths = [ck_dir / f"checkpoint_{label}.npz" if ck_dir else None for label in (la, lb)]
    trainers = [Trainer(m, cfg, progress=progress, checkpoint_path=p) for m, p in zip(models, ck_paths)]
    probes = [ResistiveNetwork(circuit, e, g0) for e in engines]
    n_p = min(n_probe, len(data.y_train))
    xp = np.asarray(data.x_train[:n_p], dtype=np.float64)
    tp = one_hot_targets(data.y_train[:n_p], circuit.n_outputs)
    check_mode = "centered" if cfg.beta_mode == "centered" else "positive"

    def checkpoint(epoch: int):
        ga, gb = models[0].g, models[1].g
        div = float(np.linalg.norm(gb - ga) / np.linalg.norm(ga))
        for p in probes:
            p.set_conductances(ga)
        return check_agreement(probes[0], probes[1], xp, tp, beta=cfg.beta, mode=check_mode, epoch=epoch,
                               weight_divergence=div)

    checks, same_batches, volts = [], True, None
    if resume:
        checks, same_batches = _restore(ck_dir, trainers, ck_paths, callback)
        if len(checks) > cfg.epochs + 1:
            raise ConfigError(f"{ck_dir}: the comparison there has run {len(checks) - 1} epochs already, more "
                              f"than the {cfg.epochs} asked for")
    if not checks:
        chk, volts = checkpoint(0)
        checks = [chk]
    for epoch in range(len(checks), cfg.epochs + 1):
        for tr in trainers:  # a trainer that a kill left one epoch ahead skips it
            tr.fit(data, epochs=epoch)
        same_batches &= trainers[0].rng.bit_generator.state == trainers[1].rng.bit_generator.state
        chk, volts = checkpoint(epoch)
        checks.append(chk)
        if ck_dir is not None:
            _save_checks(ck_dir, checks, same_batches)
        if callback:
            callback(chk, trainers[0].history[epoch - 1], trainers[1].history[epoch - 1])
    if volts is None:  # resumed with nothing left to train: the last check's voltages, solved again
        _, volts = checkpoint(checks[-1].epoch)

    for p in probes:
        p.set_conductances(models[0].g)
    betas = list(sweep_betas) if sweep_betas is not None else [cfg.beta * f for f in SWEEP_FACTORS]
    sweeps = [beta_sweep({la: probes[0], lb: probes[1]}, xp, tp, betas, mode=m, epoch=cfg.epochs)
              for m in sweep_modes]
    x_test = np.asarray(data.x_test, dtype=np.float64)
    preds = [tr.predict(x_test) for tr in trainers]
    uses_ngspice = any(getattr(e, "name", "") == "ngspice" for e in engines)
    setup = {
        "circuit": {"name": circuit.name, "n_free": circuit.n_free, "n_edges": circuit.n_edges,
                    "n_diodes": circuit.n_diodes, "n_amps": circuit.n_amps, "reciprocal": is_reciprocal(circuit),
                    "g_init_mean": float(g0.mean())},
        "dataset": data.name, "n_train": int(len(data.y_train)), "n_test": int(len(data.y_test)),
        "n_probe": n_p, "train": to_dict(cfg), "check_mode": check_mode,
        "backends": {la: _backend_setup(engines[0]), lb: _backend_setup(engines[1])},
        "run": run_metadata({}, with_ngspice=uses_ngspice),
    }
    setup["run"].pop("config", None)
    return ComparisonReport(
        labels=(la, lb),
        runs={la: BackendRun(la, engines[0].name, list(trainers[0].history)),
              lb: BackendRun(lb, engines[1].name, list(trainers[1].history))},
        checks=checks, sweeps=sweeps,
        scatter={la: volts["a"].tolist(), lb: volts["b"].tolist()},
        test_disagreements=int(np.sum(preds[0] != preds[1])), same_batches=bool(same_batches), setup=setup,
        seconds=time.perf_counter() - t_start)
