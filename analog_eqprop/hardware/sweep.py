"""Accuracy against one non-ideality at a time: train the same circuit under swept hardware.

:func:`sweep_hardware` trains a fresh :class:`~analog_eqprop.hardware.HardwareNetwork` per
(setting, value, seed) -- the same initial circuit, the same data, one hardware field changed
from a base config -- and returns one row per run with its final errors. The example
``examples/hardware_sweep.py`` and the benchmark ``benchmarks/hardware_sweep.py`` use it;
:func:`plot_sweep` draws the rows (one panel per swept setting).

Examples
--------
>>> from analog_eqprop.circuits import drn_circuit
>>> from analog_eqprop.data import load_digits
>>> from analog_eqprop.training import TrainConfig
>>> rows = sweep_hardware(drn_circuit([64, 4, 10], seed=0), load_digits().subset(n_train=40, n_test=20),
...                       {"n_levels": [0, 8]}, base=SWEEP_BASE,
...                       train=TrainConfig(epochs=1, learning_rates=(1e-7,), optimizer="adam", beta=1e-6,
...                                         beta_mode="positive"))
>>> [(r["setting"], r["value"]) for r in rows]
[('n_levels', 0), ('n_levels', 8)]
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from analog_eqprop.circuits.description import Circuit
from analog_eqprop.hardware.config import HardwareConfig, load_hardware
from analog_eqprop.hardware.network import HardwareNetwork
from analog_eqprop.training.trainer import Trainer

__all__ = ["sweep_hardware", "summarize", "plot_sweep", "SWEEP_BASE"]

#: The sweeps' starting point: ideal devices in a 0.1-20 uS window (RRAM-like, wide enough
#: for the circuits' 1-10 uS initial conductances), ideal wires. Each sweep changes one field.
SWEEP_BASE = ["g_min=1e-7", "g_max=2e-5", "r_cell=0"]


def sweep_hardware(circuit: Circuit, data: Any, settings: Mapping[str, Iterable[Any]], *,
                   base: str | HardwareConfig | Iterable[str] = "ideal", train: Any,
                   seeds: Iterable[int] = (0,), backend: str = "numpy",
                   extra: Mapping[str, Iterable[str]] | None = None,
                   log: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Train once per (setting, value, seed); one row each (final train / test error, seconds).

    Settings that give the same hardware as an earlier run (the zero point of every sweep)
    reuse that run's row (marked ``"reused": True``). A setting ``"field@tag"`` sweeps
    ``field`` with the overrides ``extra["field@tag"]`` (e.g. another read-noise refresh).

    Parameters
    ----------
    circuit : Circuit
        The logical circuit (initial conductances included), the same for every run.
    data : Dataset
    settings : mapping of str to values
        Hardware field -> values to try, e.g. ``{"n_levels": [0, 64, 16]}``.
    base : preset name, config, or list of "key=value" applied to the ideal preset
        Every other field.
    train : TrainConfig
    seeds : ints
        Device (and training) seeds; each is a new circuit instance.
    extra : mapping of str to list of "key=value", optional
        Further overrides that go with one setting (e.g. ``{"read_noise": ["read_refresh=free_phase"]}``).
    log : callable, optional
        Called with each row as it is made.
    """
    if isinstance(base, (str, HardwareConfig)):
        base_cfg = load_hardware(base)
    else:
        base_cfg = load_hardware("ideal", list(base))
    rows, done = [], {}
    for setting, values in settings.items():
        for value in values:
            for seed in seeds:
                over = [f"{setting.split('@')[0]}={value}"] + list((extra or {}).get(setting, []))
                cfg = load_hardware(base_cfg, over)
                if (cfg, seed) in done:  # the same hardware (e.g. every sweep's zero point): reuse the run
                    rows.append({**done[(cfg, seed)], "setting": setting, "value": value, "reused": True})
                    continue
                t0 = time.perf_counter()
                net = HardwareNetwork(circuit, cfg, backend, seed=seed)
                tr = Trainer(net, replace(train, seed=seed), progress=False)
                hist = tr.fit(data)
                row = {"setting": setting, "value": value, "seed": seed,
                       "train_error": hist[-1]["train_error"], "test_error": hist[-1]["test_error"],
                       "epochs": hist[-1]["epoch"], "seconds": time.perf_counter() - t0}
                done[(cfg, seed)] = row
                rows.append(row)
                if log:
                    log(row)
    return rows


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and spread of the test error over seeds, per (setting, value), in sweep order."""
    out: dict[tuple, list] = {}
    for r in rows:
        out.setdefault((r["setting"], r["value"]), []).append(r)
    table = []
    for (setting, value), rs in out.items():
        te = np.array([r["test_error"] for r in rs])
        tr = np.array([r["train_error"] for r in rs])
        table.append({"setting": setting, "value": value, "seeds": len(rs), "test_error": float(te.mean()),
                      "test_error_min": float(te.min()), "test_error_max": float(te.max()),
                      "train_error": float(tr.mean()), "seconds": float(np.mean([r["seconds"] for r in rs]))})
    return table


def plot_sweep(table: list[dict[str, Any]], path: str, *, title: str = "", labels: Mapping[str, str] | None = None):
    """One panel per setting: test error (mean, min-max over seeds) against the value."""
    import matplotlib  # lazy: ~0.5 s to import, and only figures need it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings = list(dict.fromkeys(r["setting"] for r in table))
    fig, axes = plt.subplots(1, len(settings), figsize=(3.2 * len(settings), 3.0), squeeze=False)
    for ax, s in zip(axes[0], settings):
        rs = [r for r in table if r["setting"] == s]
        xs = np.arange(len(rs))
        y = 100 * np.array([r["test_error"] for r in rs])
        lo = y - 100 * np.array([r["test_error_min"] for r in rs])
        hi = 100 * np.array([r["test_error_max"] for r in rs]) - y
        ax.errorbar(xs, y, yerr=[lo, hi], marker="o", capsize=3)
        ax.set_xticks(xs, [str(r["value"]) for r in rs], rotation=45)
        ax.set_xlabel((labels or {}).get(s, s))
        ax.set_ylabel("test error %")
        ax.set_ylim(0, max(10.0, 1.15 * float(np.max(y + hi))))  # from 0: small ranges must look small
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
