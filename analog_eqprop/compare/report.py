"""What a backend comparison measured: result objects, the printed table and the JSON file.

Every number in a :class:`ComparisonReport` was measured by
:func:`~analog_eqprop.compare.compare_backends`; nothing is estimated or filled in. The
report round-trips through JSON (:meth:`ComparisonReport.to_json`,
:func:`load_report`), so figures can be redrawn from a saved run.

Examples
--------
>>> chk = AgreementCheck(epoch=0, n_examples=2, max_abs_dv_free=1e-12, mean_abs_dv_free=1e-13,
...                      max_abs_dv_nudged=2e-12, mean_abs_dv_nudged=1e-13, update_cosine=1.0,
...                      update_rel_diff=1e-9, weight_divergence=0.0)
>>> chk.max_abs_dv
2e-12
>>> AgreementCheck.from_dict(chk.as_dict()) == chk
True
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from analog_eqprop.errors import DataError
from analog_eqprop.training.checkpoint import atomic_write_text

__all__ = ["AgreementCheck", "BetaSweep", "BackendRun", "ComparisonReport", "load_report"]


@dataclass(frozen=True)
class AgreementCheck:
    """Both backends solved on the *same* conductances and inputs at one checkpoint.

    Attributes
    ----------
    epoch : int
        Checkpoint after this many epochs (0: the shared initial conductances).
    n_examples : int
        Size of the probe batch (the first training examples).
    max_abs_dv_free, mean_abs_dv_free : float
        ``|V_a - V_b|`` over every free node of the probe batch's free states [V].
    max_abs_dv_nudged, mean_abs_dv_nudged : float
        The same for the nudged states [V] (each backend nudged from its own free state).
    update_cosine : float
        Cosine between the two backends' EqProp updates on the probe batch.
    update_rel_diff : float
        ``||u_b - u_a|| / ||u_a||`` of those updates.
    weight_divergence : float
        ``||g_b - g_a|| / ||g_a||`` between the two *training runs'* conductances [1].
    """

    epoch: int
    n_examples: int
    max_abs_dv_free: float
    mean_abs_dv_free: float
    max_abs_dv_nudged: float
    mean_abs_dv_nudged: float
    update_cosine: float
    update_rel_diff: float
    weight_divergence: float

    @property
    def max_abs_dv(self) -> float:
        """Largest ``|dV|`` over free and nudged states [V]."""
        return max(self.max_abs_dv_free, self.max_abs_dv_nudged)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AgreementCheck":
        return cls(**{f.name: d[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class BetaSweep:
    """EqProp's estimate against the exact (implicit) gradient, per beta, for each backend.

    Attributes
    ----------
    mode : str
        ``"positive"`` (one-sided, bias O(beta)) or ``"centered"`` (bias O(beta^2)).
    betas : list of float
        Nudge strengths [S].
    cosine, rel_error : dict of str to list of float
        Per backend label: cosine with, and relative L2 error to, the exact gradient (of the
        circuit that backend solves: BCD's diodes are ideal clamps, the others' their cards).
    exact_norm : float
        ``||dJ/dg||`` of the exact gradient [V^2/S].
    reciprocal : bool
        Whether the circuit is reciprocal (an energy model); otherwise EqProp is not the
        gradient and the sweep shows by how much.
    epoch : int
        Conductances of the reference run after this many epochs.
    """

    mode: str
    betas: list[float]
    cosine: dict[str, list[float]]
    rel_error: dict[str, list[float]]
    exact_norm: float
    reciprocal: bool
    epoch: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "BetaSweep":
        return cls(**{f.name: d[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class BackendRun:
    """One training run: its backend and the trainer's per-epoch history.

    ``history`` holds the :class:`~analog_eqprop.training.Trainer` records (``epoch``,
    ``train_error``, ``test_error`` as fractions, costs [V^2], ``seconds``).
    """

    label: str
    backend: str
    history: list[dict[str, Any]]

    @property
    def test_errors(self) -> list[float]:
        return [float(r["test_error"]) for r in self.history]

    @property
    def train_errors(self) -> list[float]:
        return [float(r["train_error"]) for r in self.history]

    @property
    def final_test_accuracy(self) -> float:
        """``1 - test error`` after the last epoch (fraction of the test set)."""
        return 1.0 - self.test_errors[-1] if self.history else float("nan")

    @property
    def seconds(self) -> float:
        """Wall time of all epochs, evaluation included [s]."""
        return float(sum(r["seconds"] for r in self.history))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "BackendRun":
        return cls(d["label"], d["backend"], list(d["history"]))


@dataclass
class ComparisonReport:
    """Everything one :func:`~analog_eqprop.compare.compare_backends` call measured.

    Attributes
    ----------
    labels : tuple of str
        ``(reference, other)``, e.g. ``("numpy", "ngspice")``; checks use the reference
        run's conductances.
    runs : dict of str to BackendRun
    checks : list of AgreementCheck
        Epoch 0 and after every epoch.
    sweeps : list of BetaSweep
    scatter : dict of str to list of float
        Every free-node voltage of the last check's free and nudged states, per label [V].
    test_disagreements : int
        Test examples that the two trained runs classify differently (last epoch).
    same_batches : bool
        Whether both runs' random generators (batch order, beta signs) were in the same state
        after every epoch.
    setup : dict
        Circuit, data, training and simulator settings, versions.
    seconds : float
        Wall time of the whole comparison [s].
    """

    labels: tuple[str, str]
    runs: dict[str, BackendRun]
    checks: list[AgreementCheck]
    sweeps: list[BetaSweep] = field(default_factory=list)
    scatter: dict[str, list[float]] = field(default_factory=dict)
    test_disagreements: int = 0
    same_batches: bool = True
    setup: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    # -- headline figures ---------------------------------------------------------------
    @property
    def max_abs_dv(self) -> float:
        """Largest ``|dV|`` over every check, free and nudged states [V]."""
        return max((c.max_abs_dv for c in self.checks), default=float("nan"))

    @property
    def mean_abs_dv(self) -> float:
        """Mean ``|dV|`` over every check's free and nudged states [V]."""
        vals = [v for c in self.checks for v in (c.mean_abs_dv_free, c.mean_abs_dv_nudged)]
        return float(np.mean(vals)) if vals else float("nan")

    @property
    def update_cosine(self) -> float:
        """The smallest update cosine over the checks (the worst agreement seen)."""
        return min((c.update_cosine for c in self.checks), default=float("nan"))

    @property
    def weight_divergence(self) -> list[float]:
        """``||g_b - g_a|| / ||g_a||`` per epoch (index 0: the shared start)."""
        return [c.weight_divergence for c in self.checks]

    def accuracy(self, label: str) -> float:
        """Final test accuracy of one run (fraction)."""
        return self.runs[label].final_test_accuracy

    def summary(self) -> dict[str, Any]:
        """The headline numbers, keyed for scripts (accuracies as fractions of the test set)."""
        a, b = self.labels
        out: dict[str, Any] = {
            "max_abs_dv": self.max_abs_dv,
            "mean_abs_dv": self.mean_abs_dv,
            "update_cosine": self.update_cosine,
            f"accuracy_{a}": self.accuracy(a),
            f"accuracy_{b}": self.accuracy(b),
            "accuracy_gap_pp": 100.0 * abs(self.accuracy(a) - self.accuracy(b)),
            "weight_divergence_final": self.weight_divergence[-1] if self.checks else float("nan"),
            "test_disagreements": self.test_disagreements,
            "same_batches": self.same_batches,
            f"seconds_{a}": self.runs[a].seconds,
            f"seconds_{b}": self.runs[b].seconds,
        }
        return out

    # -- serialisation ------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "labels": list(self.labels),
            "runs": {k: r.as_dict() for k, r in self.runs.items()},
            "checks": [c.as_dict() for c in self.checks],
            "sweeps": [s.as_dict() for s in self.sweeps],
            "scatter": self.scatter,
            "test_disagreements": self.test_disagreements,
            "same_batches": self.same_batches,
            "setup": self.setup,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ComparisonReport":
        try:
            return cls(labels=tuple(d["labels"]), runs={k: BackendRun.from_dict(v) for k, v in d["runs"].items()},
                       checks=[AgreementCheck.from_dict(c) for c in d["checks"]],
                       sweeps=[BetaSweep.from_dict(s) for s in d.get("sweeps", [])], scatter=d.get("scatter", {}),
                       test_disagreements=int(d.get("test_disagreements", 0)),
                       same_batches=bool(d.get("same_batches", True)), setup=d.get("setup", {}),
                       seconds=float(d.get("seconds", 0.0)))
        except (KeyError, TypeError) as exc:
            raise DataError(f"not a comparison report: missing or malformed field {exc}") from None

    def to_json(self, path: str | Path) -> Path:
        """Write the report as JSON (written to a temporary file, then renamed)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(self.as_dict(), indent=1, default=_json_default) + "\n")
        return path

    # -- text -----------------------------------------------------------------------------
    def table(self) -> str:
        """The comparison as a plain-text table (per-epoch curves, agreement, sweep)."""
        a, b = self.labels
        ra, rb = self.runs[a], self.runs[b]
        w = max(len(a), len(b), 7)
        lines = [f"{'epoch':>5}  {'train ' + a:>{w + 6}}  {'train ' + b:>{w + 6}}  {'test ' + a:>{w + 5}}  "
                 f"{'test ' + b:>{w + 5}}  {'max |dV| [V]':>12}  {'1 - update cos':>14}  {'|dg|/|g|':>9}"]
        by_epoch = {c.epoch: c for c in self.checks}
        for ha, hb in zip(ra.history, rb.history):
            c = by_epoch.get(int(ha["epoch"]))
            agree = (f"{c.max_abs_dv:12.2e}  {1.0 - c.update_cosine:14.2e}  {c.weight_divergence:9.2e}"
                     if c else f"{'':12}  {'':14}  {'':9}")
            errs = (f"{100 * ha['train_error']:{w + 5}.2f}%  {100 * hb['train_error']:{w + 5}.2f}%  "
                    f"{100 * ha['test_error']:{w + 4}.2f}%  {100 * hb['test_error']:{w + 4}.2f}%")
            lines.append(f"{ha['epoch']:5d}  {errs}  {agree}")
        s = self.summary()
        n_test = self.setup.get("n_test", "?")
        n_ex = self.checks[0].n_examples if self.checks else 0
        n_ep = len(ra.history)
        lines += [
            "",
            f"fixed points on the same conductances ({len(self.checks)} checks of {n_ex} examples, free and nudged): "
            f"max |dV| {s['max_abs_dv']:.3g} V, mean |dV| {s['mean_abs_dv']:.3g} V",
            f"EqProp updates from the same conductances and batch: smallest cosine {s['update_cosine']:.12f} "
            f"(1 - cos = {1.0 - s['update_cosine']:.2g})",
            f"test accuracy after {n_ep} epoch{'' if n_ep == 1 else 's'}: {a} {100 * s[f'accuracy_{a}']:.2f}%, "
            f"{b} {100 * s[f'accuracy_{b}']:.2f}% (gap {s['accuracy_gap_pp']:.2f} pp; {self.test_disagreements} of "
            f"{n_test} test predictions differ)",
            f"weight divergence ||g_{b} - g_{a}|| / ||g_{a}|| after the last epoch: {s['weight_divergence_final']:.3g}",
            f"same batch order and beta signs in both runs: {'yes' if self.same_batches else 'NO'}",
            f"training + evaluation time: {a} {ra.seconds:.1f} s, {b} {rb.seconds:.1f} s",
        ]
        for sw in self.sweeps:
            rec = "" if sw.reciprocal else " (circuit not reciprocal: EqProp is not the gradient)"
            lines.append(f"EqProp vs exact gradient, {sw.mode} nudging{rec}: 1 - cosine / relative error")
            for i, beta in enumerate(sw.betas):
                lines.append(f"  beta {beta:8.2g} S: " + ", ".join(
                    f"{k} {1.0 - sw.cosine[k][i]:9.2e} / {sw.rel_error[k][i]:8.2e}" for k in sw.cosine))
        return "\n".join(lines)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"cannot write {type(o).__name__} to JSON")


def load_report(path: str | Path) -> ComparisonReport:
    """Read a report written by :meth:`ComparisonReport.to_json`."""
    path = Path(path)
    try:
        return ComparisonReport.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: cannot read comparison report ({exc})") from None
