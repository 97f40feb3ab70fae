"""Simulator faults are forced here, one by one: non-convergence (retried with ngspice's aids,
the report says what was tried), a worker process that dies (restarted, its chunks rerun),
and a hung analysis (timed out, the engine stays usable)."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import analog_eqprop.solvers.ngspice_backend as nb
from analog_eqprop.circuits import kendall_circuit
from analog_eqprop.errors import ConfigError, ConvergenceError, SimulationTimeoutError, WorkerDiedError
from analog_eqprop.parallel import WorkerPool, make_executor
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.solvers.ngspice_backend import RETRY_AIDS, NgspiceBackend
from analog_eqprop.solvers.ngspice_shared import get_engine, ngspice_available, run_netlist

pytestmark = [pytest.mark.ngspice, pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")]

# what ngspice 39.3 prints when an operating point cannot be found
_NGSPICE_FAILURE = "doAnalyses: iteration limit reached\nsource stepping failed"


def _case(n=5):
    c = kendall_circuit(16, 8, 4, seed=0)
    X = np.random.default_rng(1).random((n, 16))
    return c, MNASystem(c), X


def _flaky(monkeypatch, converges_if):
    """Make ngspice fail to converge on every deck for which ``converges_if(text)`` is false."""
    real, decks = nb.run_deck, []

    def run(text, mode, timeout_s):
        decks.append(text)
        if not converges_if(text):
            raise ConvergenceError("ngspice found no operating point (running 'run'):\n    "
                                   + _NGSPICE_FAILURE.replace("\n", "\n    "))
        return real(text, mode, timeout_s)

    monkeypatch.setattr(nb, "run_deck", run)
    return decks


@pytest.mark.parametrize(("aid", "marker"), [("gmin stepping", "gminsteps=20"), ("source stepping", "srcsteps=20"),
                                             ("nodeset from the NumPy solution", ".nodeset ")])
def test_non_convergence_is_retried_with_each_aid_in_turn(monkeypatch, aid, marker):
    c, system, X = _case()
    plain = NgspiceBackend().operating_point(system, c.edge_g, X)
    decks = _flaky(monkeypatch, lambda text: marker in text)
    be = NgspiceBackend()
    op = be.operating_point(system, c.edge_g, X)
    np.testing.assert_allclose(op.voltages, plain.voltages, atol=1e-6)
    names = [name for name, _ in RETRY_AIDS]
    (chunk, tried), = op.extra["aids"]
    assert tried[0].startswith("as configured (") and "iteration limit" in tried[0]
    assert [t.split(" (")[0] for t in tried[1:]] == names[: names.index(aid) + 1]
    assert tried[-1] == aid  # the aid that worked carries no error
    assert be.stats["aided_chunks"] == 1
    # the sweep first; then a failing aid stops at its first example's .op, the one that works
    # runs one .op per example
    assert ".dc vidx" in decks[0]
    assert sum(".op" in d.splitlines() for d in decks[1:]) == names.index(aid) + len(X)


def test_nodeset_aid_works_for_a_nudged_phase_too(monkeypatch):
    c, system, X = _case(3)
    free = NgspiceBackend().operating_point(system, c.edge_g, X)
    target = np.eye(c.n_outputs)[[0, 1, 2]] * (c.target_on - c.target_off) + c.target_off
    kw = dict(beta=1e-6, target_v=target, ref=free.voltages)
    plain = NgspiceBackend().operating_point(system, c.edge_g, X, **kw)
    _flaky(monkeypatch, lambda text: ".nodeset " in text)
    op = NgspiceBackend().operating_point(system, c.edge_g, X, **kw)
    np.testing.assert_allclose(op.voltages, plain.voltages, atol=1e-6)


def test_rescues_are_counted_in_the_training_log(monkeypatch, tmp_path):
    import json

    from analog_eqprop.data import load_xor
    from analog_eqprop.models import ResistiveNetwork
    from analog_eqprop.training import TrainConfig, Trainer

    c = kendall_circuit(2, 4, 2, seed=0)
    _flaky(monkeypatch, lambda text: ".dc vidx" not in text)  # every sweep "fails", the .op retries work
    net = ResistiveNetwork(c, backend=NgspiceBackend())
    cfg = TrainConfig(epochs=1, batch_size=4, learning_rates=(1e-7,), optimizer="adam", beta=1e-6)
    Trainer(net, cfg, log_path=tmp_path / "log.jsonl", progress=False).fit(load_xor())
    rec = json.loads((tmp_path / "log.jsonl").read_text().splitlines()[0])
    assert rec["ngspice_aided_chunks"] >= 2 and "ngspice_worker_restarts" not in rec


def test_no_aid_helps_then_the_error_lists_everything_tried(monkeypatch):
    c, system, X = _case(2)
    _flaky(monkeypatch, lambda text: False)
    with pytest.raises(ConvergenceError) as info:
        NgspiceBackend().operating_point(system, c.edge_g, X)
    msg = str(info.value)
    assert "did not converge on 2 example(s)" in msg and "kendall" in msg and "free phase" in msg
    for name, _ in RETRY_AIDS:
        assert name in msg
    assert msg.index("; gmin stepping (") < msg.index("; source stepping (") < msg.index("; nodeset from")


def test_nodeset_decks_run_in_ngspice_and_do_not_change_the_answer():
    from analog_eqprop.netlist import compile_netlist

    c, system, X = _case(1)
    exact = NgspiceBackend(form="full").operating_point(system, c.edge_g, X).voltages[0]
    for start in (np.zeros(c.n_free), exact + 0.05):
        net = compile_netlist(c, c.edge_g, X[0], probes=False, nodeset=start, options={"reltol": 1e-6})
        assert sum(line.startswith(".nodeset") for line in net.lines) >= 1
        np.testing.assert_allclose(net.free_voltages(run_netlist(net.text).vectors)[0], exact, atol=1e-6)


# ---------------------------------------------------------------------------- hung analyses

_SLOW_DECK = ("slow transient\nV1 a 0 sin(0 1 1meg)\nR1 a b 1k\nC1 b 0 1n\nD1 b 0 DX\n.model DX D(IS=1e-14)\n"
              ".tran 1p 1\n.end")


def test_a_hung_analysis_times_out_and_the_engine_stays_usable():
    t0 = time.perf_counter()
    with pytest.raises(SimulationTimeoutError, match=r"'slow transient' ran past its limit of 0.5 s and was halted"):
        run_netlist(_SLOW_DECK, timeout_s=0.5)
    assert time.perf_counter() - t0 < 20
    assert get_engine().usable
    run = run_netlist("divider\nV1 a 0 2\nR1 a b 1k\nR2 b 0 3k\n.op\n.end", timeout_s=10)
    assert run.vectors["b"][0] == pytest.approx(1.5)


@pytest.mark.parametrize("mode", ["shared", "batch"])
def test_backend_timeout_stops_a_long_sweep(mode):
    c = kendall_circuit(64, 32, 10, seed=0)
    X = np.random.default_rng(0).random((300, 64))
    with pytest.raises(SimulationTimeoutError, match="timed out|ran past its limit"):
        NgspiceBackend(mode=mode, per_analysis=300, timeout_s=0.01).operating_point(MNASystem(c), c.edge_g, X)
    op = NgspiceBackend(mode=mode, timeout_s=60).operating_point(MNASystem(c), c.edge_g, X[:3])
    assert op.voltages.shape == (3, c.n_free)


def test_bad_fault_settings_are_named():
    with pytest.raises(ConfigError, match="timeout_s"):
        NgspiceBackend(timeout_s=0)
    with pytest.raises(ConfigError, match="max_restarts"):
        NgspiceBackend(max_restarts=-1)


# ------------------------------------------------------------------------- dying workers

def _wait_broken(pool, deadline=10.0):
    t0 = time.perf_counter()
    while not getattr(pool._pool, "_broken", False) and time.perf_counter() - t0 < deadline:
        time.sleep(0.05)


def test_a_worker_that_dies_is_restarted_and_its_chunks_rerun():
    c, system, X = _case(8)
    local = NgspiceBackend(workers=2).operating_point(system, c.edge_g, X)  # the same two chunks, here
    with make_executor("process", workers=2) as pool:
        be = NgspiceBackend(executor=pool)
        np.testing.assert_array_equal(be.operating_point(system, c.edge_g, X).voltages, local.voltages)
        victims = pool.pids
        assert len(victims) == 2
        os.kill(victims[0], signal.SIGKILL)
        _wait_broken(pool)
        op = be.operating_point(system, c.edge_g, X)  # the broken pool is replaced, every chunk rerun
        np.testing.assert_array_equal(op.voltages, local.voltages)
        assert be.stats["worker_restarts"] == 1 and pool.restarts == 1
        assert not set(pool.pids) & set(victims)


def _die(*args):
    os._exit(3)  # a worker crashing in the middle of a chunk (a segfault, the OOM killer)


def _hang(*args):
    time.sleep(600)  # a worker wedged outside ngspice's own time limit


class _FaultyFirstChunk(WorkerPool):
    """A pool whose first task is ``fault`` instead of the chunk it was given."""

    def __init__(self, workers, fault):
        super().__init__(workers)
        self.fault = fault

    def submit(self, fn, /, *args, **kwargs):
        if self.fault is not None:
            fault, self.fault = self.fault, None
            return super().submit(fault)
        return super().submit(fn, *args, **kwargs)


def test_a_worker_dying_mid_batch_is_replaced_and_the_batch_completes():
    c, system, X = _case(8)
    local = NgspiceBackend(workers=2).operating_point(system, c.edge_g, X)
    pool = _FaultyFirstChunk(2, _die)
    try:
        be = NgspiceBackend(executor=pool)
        np.testing.assert_array_equal(be.operating_point(system, c.edge_g, X).voltages, local.voltages)
        assert be.stats["worker_restarts"] == 1
    finally:
        pool.shutdown()


def test_a_wedged_worker_times_out_and_its_pool_is_replaced(monkeypatch):
    c, system, X = _case(4)
    pool = _FaultyFirstChunk(2, _hang)
    try:
        be = NgspiceBackend(executor=pool, timeout_s=0.05)
        monkeypatch.setattr(be, "wedge_grace_s", 1.0)
        t0 = time.perf_counter()
        with pytest.raises(SimulationTimeoutError, match="gave no answer for chunk 1 of 2 within"):
            be.operating_point(system, c.edge_g, X)
        assert time.perf_counter() - t0 < 20 and pool.restarts == 1
        # the replacement worker starts cold (imports, a new ngspice engine): under load that
        # alone took more than the 1.35 s wait above, so the answer is awaited with the default grace
        monkeypatch.setattr(be, "wedge_grace_s", NgspiceBackend.wedge_grace_s)
        monkeypatch.setattr(be, "timeout_s", 10.0)
        np.testing.assert_array_equal(be.operating_point(system, c.edge_g, X).voltages,
                                      NgspiceBackend(workers=2).operating_point(system, c.edge_g, X).voltages)
    finally:
        pool.shutdown()


def test_workers_that_keep_dying_end_in_a_clear_error():
    c, system, X = _case(4)
    with make_executor("process", workers=1) as pool:
        be = NgspiceBackend(executor=pool, workers=2, max_restarts=0)
        be.operating_point(system, c.edge_g, X)
        os.kill(pool.pids[0], signal.SIGKILL)
        _wait_broken(pool)
        with pytest.raises(WorkerDiedError, match="died 1 times while running one batch"):
            be.operating_point(system, c.edge_g, X)


def test_a_pool_that_cannot_restart_says_so():
    import multiprocessing

    c, system, X = _case(4)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        be = NgspiceBackend(executor=pool, workers=2)
        be.operating_point(system, c.edge_g, X)
        os.kill(next(iter(pool._processes)), signal.SIGKILL)
        time.sleep(1.0)
        with pytest.raises(WorkerDiedError, match="cannot be restarted; use analog_eqprop.parallel.make_executor"):
            be.operating_point(system, c.edge_g, X)


def test_cli_train_names_a_timed_out_analysis(tmp_path, capsys):
    from analog_eqprop.cli import main

    base = ["train", "--model", "circuit", "--builder", "kendall", "--sizes", "64,8,10", "--epochs", "1",
            "--n-train", "200", "--n-test", "20", "--no-progress", "--backend", "ngspice", "--per-analysis", "200"]
    assert main(base + ["--ngspice-timeout", "0.001", "--out", str(tmp_path / "a")]) != 0
    assert "ran past its limit of 0.001 s" in capsys.readouterr().err
    assert main(base + ["--ngspice-timeout", "60", "--n-train", "20", "--out", str(tmp_path / "b")]) == 0
