"""Executors: ngspice chunks through worker processes give exactly the in-process answer."""

from __future__ import annotations

import contextlib
import importlib.util

import numpy as np
import pytest

from analog_eqprop.circuits import kendall_circuit, layered_circuit
from analog_eqprop.errors import ConfigError
from analog_eqprop.netlist import compile_sweep
from analog_eqprop.parallel import executor_workers, make_executor, process_pool
from analog_eqprop.solvers.backends import NumpyBackend
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.solvers.ngspice_backend import NgspiceBackend, NortonPlan
from analog_eqprop.solvers.ngspice_shared import ngspice_available, run_netlist

skip_without_ngspice = pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")


def _batch(n=8):
    c = kendall_circuit(16, 6, 3, seed=0)
    rng = np.random.default_rng(0)
    X = rng.random((n, 16))
    target = c.targets(np.eye(3)[np.arange(n) % 3])
    return c, MNASystem(c), X, target


def _both_phases(backend, c, sysm, X, target):
    free = backend.operating_point(sysm, c.edge_g, X)
    nudged = backend.operating_point(sysm, c.edge_g, X, beta=1e-5, target_v=target, ref=free.state)
    return free.voltages, nudged.voltages


@pytest.mark.ngspice
@skip_without_ngspice
@pytest.mark.parametrize("kind", ["process", "dask"])
def test_workers_give_identical_operating_points(kind, tmp_path):
    if kind == "dask" and importlib.util.find_spec("distributed") is None:
        pytest.skip('dask.distributed not installed (pip install "analog_eqprop[dask]")')
    c, sysm, X, target = _batch()
    # in-process first, so this process holds an initialised engine when the workers start
    ref = _both_phases(NgspiceBackend(per_analysis=3), c, sysm, X, target)
    kw = {"silence_logs": 40} if kind == "dask" else {}
    # a local Dask cluster's scratch space goes under tmp_path (by default it stays behind in $TMPDIR)
    scratch = contextlib.nullcontext()
    if kind == "dask":
        import dask

        scratch = dask.config.set({"temporary-directory": str(tmp_path)})
    with scratch, make_executor(kind, workers=2, **kw) as ex:
        assert executor_workers(ex) == 2
        backend = NgspiceBackend(per_analysis=3, executor=ex)
        got = _both_phases(backend, c, sysm, X, target)
        again = _both_phases(backend, c, sysm, X, target)  # the pool and its engines are reused
    for a, b, d in zip(ref, got, again):
        assert np.array_equal(a, b) and np.array_equal(a, d)
    assert backend.stats["examples"] == 4 * len(X) and backend.stats["analyses"] == 4 * 3


@pytest.mark.ngspice
@skip_without_ngspice
def test_fast_path_matches_the_naive_full_netlist_and_the_numpy_twin():
    c, sysm, X, target = _batch(4)
    fast = _both_phases(NgspiceBackend(per_analysis=4), c, sysm, X, target)
    naive = _both_phases(NgspiceBackend(form="full", per_analysis=1), c, sysm, X, target)
    twin = _both_phases(NumpyBackend(), c, sysm, X, target)
    for f, n, t in zip(fast, naive, twin):
        assert np.max(np.abs(f - n)) <= 1e-9 and np.max(np.abs(f - t)) <= 1e-9


@pytest.mark.ngspice
@skip_without_ngspice
def test_norton_plan_writes_the_same_deck_as_folding_edge_by_edge():
    c, _, X, _ = _batch(5)
    plan = NortonPlan(c)
    g_red, x_eff = plan.fold(c.edge_g, X)
    opts = {"reltol": 1e-6, "vntol": 1e-9}
    a = compile_sweep(plan.reduced, g_red, x_eff, form="norton", options=opts, repeats=3)
    b = compile_sweep(c, c.edge_g, X, form="norton", options=opts, repeats=3)
    assert sum(line.startswith("rn") for line in a.lines) == sum(line.startswith("rn") for line in b.lines) == 6
    va, vb = a.free_voltages(run_netlist(a.text).vectors), b.free_voltages(run_netlist(b.text).vectors)
    assert np.max(np.abs(va - vb)) <= 1e-12


def test_chunks_keep_every_worker_busy():
    b = NgspiceBackend(per_analysis=50, workers=2)
    assert [(s.start, s.stop) for s in b.chunks(20)] == [(0, 10), (10, 20)]
    assert len(b.chunks(1000)) == 20 and len(b.chunks(1)) == 1
    assert [s.stop - s.start for s in NgspiceBackend(per_analysis=4).chunks(10)] == [3, 4, 3]


def test_norton_plan_refuses_inputs_it_cannot_fold():
    from dataclasses import replace

    c = layered_circuit([3, 2, 1], seed=0)
    NortonPlan(c)
    on_input = replace(c, diode_anode=np.full(c.n_diodes, c.n_free))  # a clamp hanging from input source 0
    with pytest.raises(ConfigError, match="diode touches input source"):
        NortonPlan(on_input)


def test_executor_choices_are_checked():
    with pytest.raises(ConfigError, match="unknown executor"):
        with make_executor("threads"):
            pass
    with pytest.raises(ConfigError, match="fork"):
        process_pool(1, method="fork")
    with make_executor("none") as ex:
        assert ex is None and executor_workers(ex) == 1


@pytest.mark.ngspice
@skip_without_ngspice
def test_cli_trains_through_a_worker_pool(tmp_path, capsys):
    from analog_eqprop.cli import main

    base = ["train", "--model", "circuit", "--builder", "kendall", "--sizes", "64,8,10", "--epochs", "1",
            "--n-train", "40", "--n-test", "20", "--no-progress"]
    rc = main(base + ["--backend", "ngspice", "--workers", "2", "--per-analysis", "10", "--out", str(tmp_path / "a")])
    assert rc == 0 and "done:" in capsys.readouterr().out
    assert main(base + ["--workers", "2", "--out", str(tmp_path / "b")]) == 2
    assert "applies to --backend ngspice only" in capsys.readouterr().err
