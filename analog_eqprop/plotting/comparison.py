"""Figures of a backend comparison (:class:`~analog_eqprop.compare.ComparisonReport`).

Figures are built on :class:`matplotlib.figure.Figure` with the Agg canvas directly, never
through ``pyplot``: nothing opens a window, nothing depends on the global backend, and
figures are freed as soon as they are saved (no pyplot figure registry to leak from).

Quantities that are often exactly zero (``1 - cosine`` of identical backends, the weight
divergence at epoch 0) are drawn on log axes; zeros are left out of those curves rather
than replaced by an invented floor, and the axis title says so.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from analog_eqprop.circuits import layered_circuit
>>> from analog_eqprop.compare import compare_backends
>>> from analog_eqprop.data import load_xor
>>> rep = compare_backends(layered_circuit([2, 4, 2], seed=0), load_xor(), epochs=1, batch_size=2,
...                        backends=("numpy", "numpy"), n_probe=2, sweep_betas=[1e-7, 1e-8])
>>> with tempfile.TemporaryDirectory() as d:
...     paths = save_comparison_figures(rep, d)
...     sorted(p.name for p in paths), all(p.read_bytes()[:8] == b"\\x89PNG\\r\\n\\x1a\\n" for p in paths)
(['fixed_points.png', 'gradient_vs_beta.png', 'training_curves.png', 'weight_divergence.png'], True)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the report module imports nothing from here; keep plotting importable alone
    from analog_eqprop.compare.report import ComparisonReport

__all__ = ["plot_training_curves", "plot_fixed_points", "plot_gradient_vs_beta", "plot_weight_divergence",
           "save_comparison_figures", "FIGURES"]

#: File name of each figure written by :func:`save_comparison_figures`.
FIGURES = {
    "training_curves": "training_curves.png",
    "fixed_points": "fixed_points.png",
    "gradient_vs_beta": "gradient_vs_beta.png",
    "weight_divergence": "weight_divergence.png",
}
_STYLE = ({"color": "tab:blue", "linestyle": "-", "marker": "o"},
          {"color": "tab:orange", "linestyle": "--", "marker": "s"})


def _figure(ncols: int = 1, width: float = 5.0, height: float = 3.6):
    # lazy: matplotlib takes ~0.5 s to import and the CLI imports this module for every command
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, axes


def _positive(values) -> np.ndarray:
    """Values for a log axis: non-positive entries become NaN (gaps), never a made-up floor."""
    a = np.asarray(values, dtype=np.float64)
    return np.where(a > 0, a, np.nan)


def _save(fig, path: str | Path, dpi: int) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def _title(report: "ComparisonReport") -> str:
    c = report.setup.get("circuit", {})
    return f"{c.get('name', 'circuit')} on {report.setup.get('dataset', 'data')}"


def plot_training_curves(report: "ComparisonReport", path: str | Path, *, dpi: int = 120) -> Path:
    """Train and test error per epoch of both runs [%]."""
    fig, (ax,) = _figure()
    for (label, run), style in zip(report.runs.items(), _STYLE):
        ep = [r["epoch"] for r in run.history]
        ax.plot(ep, 100 * np.asarray(run.test_errors), label=f"{label} test", **style)
        ax.plot(ep, 100 * np.asarray(run.train_errors), label=f"{label} train", alpha=0.55, markersize=3,
                **{**style, "marker": "."})
    ax.set_xlabel("epoch")
    ax.set_ylabel("error [%]")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(f"Training curves: {_title(report)}", fontsize="medium")
    return _save(fig, path, dpi)


def plot_fixed_points(report: "ComparisonReport", path: str | Path, *, dpi: int = 120) -> Path:
    """``V_b`` against ``V_a`` at the last check (same conductances and inputs), and ``|V_b - V_a|``."""
    a, b = report.labels
    va, vb = np.asarray(report.scatter.get(a, [])), np.asarray(report.scatter.get(b, []))
    fig, (ax, ax2) = _figure(2, width=4.4)
    ax.scatter(va, vb, s=6, alpha=0.5, color="tab:blue", edgecolors="none")
    if va.size:
        lo, hi = float(min(va.min(), vb.min())), float(max(va.max(), vb.max()))
        ax.plot([lo, hi], [lo, hi], color="0.4", linewidth=0.8, linestyle=":", label="V_b = V_a")
        ax.legend(fontsize="small", loc="upper left")
    ax.set_xlabel(f"V ({a}) [V]")
    ax.set_ylabel(f"V ({b}) [V]")
    ax.set_title(f"Free and nudged node voltages, {va.size} values", fontsize="medium")
    ax.grid(alpha=0.3)
    d = np.abs(vb - va)
    ax2.scatter(va, _positive(d), s=6, alpha=0.5, color="tab:red", edgecolors="none")
    ax2.set_yscale("log")
    ax2.set_xlabel(f"V ({a}) [V]")
    ax2.set_ylabel(f"|V ({b}) - V ({a})| [V]")
    n_zero = int(np.sum(d == 0))
    ax2.set_title(f"max {d.max(initial=0.0):.2g} V" + (f" ({n_zero} exact zeros not shown)" if n_zero else ""),
                  fontsize="medium")
    ax2.grid(alpha=0.3)
    if not np.any(d > 0):  # nothing to draw on a log axis: still give it a sane range
        ax2.set_ylim(1e-16, 1e-6)
    return _save(fig, path, dpi)


def plot_gradient_vs_beta(report: "ComparisonReport", path: str | Path, *, dpi: int = 120) -> Path:
    """``1 - cosine`` and relative error of each backend's EqProp estimate vs the exact gradient, per beta."""
    fig, (ax, ax2) = _figure(2, width=4.4)
    markers = {"positive": "o", "centered": "^"}
    for sw in report.sweeps:
        for (label, cos), style in zip(sw.cosine.items(), _STYLE):
            kw = {**style, "marker": markers.get(sw.mode, "o"),
                  "linestyle": style["linestyle"] if sw.mode == "positive" else ":"}
            ax.plot(sw.betas, _positive(1.0 - np.asarray(cos)), label=f"{label}, {sw.mode}", **kw)
            ax2.plot(sw.betas, _positive(sw.rel_error[label]), label=f"{label}, {sw.mode}", **kw)
    for axis, ylabel in ((ax, "1 - cosine(EqProp, exact)"), (ax2, "||EqProp - exact|| / ||exact||")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("beta [S]")
        axis.set_ylabel(ylabel)
        axis.grid(alpha=0.3, which="both")
        if report.sweeps:
            axis.legend(fontsize="small")
    rec = all(sw.reciprocal for sw in report.sweeps)
    ax.set_title("vs the implicit gradient" + ("" if rec else " (non-reciprocal circuit)")
                 + "; 1 - cos <= 0 not shown", fontsize="medium")
    ax2.set_title(f"{_title(report)}, epoch {report.sweeps[0].epoch if report.sweeps else 0}", fontsize="medium")
    return _save(fig, path, dpi)


def plot_weight_divergence(report: "ComparisonReport", path: str | Path, *, dpi: int = 120) -> Path:
    """The two runs' conductance distance per epoch, and the fixed-point gap at each check."""
    a, b = report.labels
    fig, (ax, ax2) = _figure(2, width=4.4)
    ep = [c.epoch for c in report.checks]
    ax.plot(ep, _positive(report.weight_divergence), **_STYLE[0])
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"||g_{b} - g_{a}|| / ||g_{a}||")
    ax.set_title("Weight divergence of the two runs (0 not shown)", fontsize="medium")
    ax.grid(alpha=0.3, which="both")
    ax2.plot(ep, _positive([c.max_abs_dv for c in report.checks]), label="max |dV|", **_STYLE[0])
    ax2.plot(ep, _positive([max(c.mean_abs_dv_free, c.mean_abs_dv_nudged) for c in report.checks]),
             label="mean |dV| (larger of free, nudged)", **_STYLE[1])
    ax2.set_yscale("log")
    ax2.set_xlabel("epoch (conductances of the reference run)")
    ax2.set_ylabel(f"|V ({b}) - V ({a})| [V]")
    ax2.set_title(f"Fixed points of {report.checks[0].n_examples if report.checks else 0} examples, "
                  "same conductances", fontsize="medium")
    ax2.grid(alpha=0.3, which="both")
    ax2.legend(fontsize="small")
    if not np.any(np.asarray(report.weight_divergence) > 0):
        ax.set_ylim(1e-16, 1e-6)
    if not any(c.max_abs_dv > 0 for c in report.checks):
        ax2.set_ylim(1e-16, 1e-6)
    return _save(fig, path, dpi)


def save_comparison_figures(report: "ComparisonReport", out_dir: str | Path, *, dpi: int = 120) -> list[Path]:
    """Write the four figures of :data:`FIGURES` into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    makers = {"training_curves": plot_training_curves, "fixed_points": plot_fixed_points,
              "gradient_vs_beta": plot_gradient_vs_beta, "weight_divergence": plot_weight_divergence}
    return [makers[key](report, out / name, dpi=dpi) for key, name in FIGURES.items()]
