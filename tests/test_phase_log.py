"""Per-phase logs: records written, read back equal, every N batches, memory flat in the record count."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest

from analog_eqprop.circuits import drn_circuit
from analog_eqprop.data import load_digits, load_xor
from analog_eqprop.errors import ConfigError, DataError
from analog_eqprop.models import HopfieldConfig, HopfieldNetwork, ResistiveNetwork
from analog_eqprop.training import TrainConfig, Trainer
from analog_eqprop.training.phase_log import PhaseLog, PhaseLogReader


def test_records_read_back_equal(tmp_path):
    rng = np.random.default_rng(0)
    written = []
    with PhaseLog(tmp_path, dtype="float64") as log:
        for b in range(5):
            v, i, g = rng.normal(size=(3, 4)), rng.normal(size=(3, 7)), rng.random(7)
            log.write(epoch=1, batch=b, phase="free", voltages=v, currents=i, conductances=g)
            written.append((v, i, g))
    r = PhaseLogReader(tmp_path)
    assert len(r) == 5 and r.phases == ("free",)
    for q, k in (("voltages", 0), ("currents", 1), ("conductances", 2)):
        assert np.array_equal(r.read(q), np.stack([w[k] for w in written]))
    assert r.array(r.records[2], "voltages").shape == (3, 4)


def test_float32_and_options(tmp_path):
    log = PhaseLog(tmp_path, quantities=("voltages",), max_examples=2)
    log.write(epoch=1, batch=0, phase="free", voltages=np.full((5, 3), 0.1))
    log.close()
    v = PhaseLogReader(tmp_path).read("voltages")
    assert v.dtype == np.float32 and v.shape == (1, 2, 3) and np.allclose(v, 0.1)
    for bad in (dict(every=0), dict(quantities=("power",)), dict(dtype="int8"), dict(max_examples=0)):
        with pytest.raises(ConfigError):
            PhaseLog(tmp_path / "x", **bad)
    with pytest.raises(DataError, match="not a phase log"):
        PhaseLogReader(tmp_path / "nothing")


def test_torn_index_line_and_relogged_steps(tmp_path):
    with PhaseLog(tmp_path) as log:
        log.write(epoch=1, batch=0, phase="free", voltages=np.zeros((1, 2)))
        log.write(epoch=1, batch=1, phase="free", voltages=np.ones((1, 2)))
    with PhaseLog(tmp_path) as log:  # a resumed run logs batch 1 again
        log.write(epoch=1, batch=1, phase="free", voltages=np.full((1, 2), 2.0))
    with open(tmp_path / "index.jsonl", "a") as fh:
        fh.write('{"epoch": 1, "batch": 2, "pha')  # killed mid-line
    r = PhaseLogReader(tmp_path)
    assert [(x["batch"]) for x in r.records] == [0, 1]
    assert r.read("voltages")[:, 0, 0].tolist() == [0.0, 2.0]


def test_memory_does_not_grow_with_the_number_of_records(tmp_path):
    v = np.random.default_rng(0).normal(size=(20, 200))
    log = PhaseLog(tmp_path)

    def peak_after(n, epoch):
        tracemalloc.start()
        for b in range(n):
            log.write(epoch=epoch, batch=b, phase="free", voltages=v, currents=v, conductances=v[0])
        cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return cur, peak

    log.write(epoch=0, batch=0, phase="free", voltages=v, currents=v, conductances=v[0])  # open the files
    cur10, peak10 = peak_after(10, 1)
    cur300, peak300 = peak_after(300, 2)
    log.close()
    assert cur300 < 64 * 1024 and peak300 < peak10 + 64 * 1024  # 300 records of 32 KB each stay on disk
    assert (tmp_path / "voltages.f32").stat().st_size == 311 * v.size * 4
    assert len(PhaseLogReader(tmp_path)) == 311


def test_trainer_logs_every_n_batches_of_a_circuit(tmp_path):
    data = load_digits().subset(n_train=40, n_test=10)
    net = ResistiveNetwork(drn_circuit([64, 8, 10], seed=0))
    log = PhaseLog(tmp_path / "log", every=2)
    cfg = TrainConfig(epochs=1, batch_size=10, learning_rates=(1e-7,), beta=1e-6, beta_mode="centered",
                      optimizer="adam")
    g_start = net.g
    Trainer(net, cfg, progress=False, phase_log=log).fit(data)
    log.close()
    r = PhaseLogReader(tmp_path / "log")
    assert [(x["batch"], x["phase"]) for x in r.records] == [
        (b, p) for b in (0, 2) for p in ("free", "nudged", "nudged_minus")]
    assert [x["beta"] for x in r.select(epoch=1, phase="nudged")] == [1e-6, 1e-6]
    # batch 0 was logged before its update: conductances are the initial ones, and the free
    # voltages are the operating point of the first 10 digits at those conductances
    first = r.records[0]
    assert np.allclose(r.array(first, "conductances"), g_start, rtol=1e-6)
    check = ResistiveNetwork(net.circuit, g=g_start)
    s0 = check.relax(data.x_train[:10], check.init_state(10)).state
    assert np.allclose(r.array(first, "voltages"), s0, atol=1e-6)
    i = r.array(first, "currents")
    assert np.allclose(i, check.edge_drops(data.x_train[:10], s0) * g_start, rtol=1e-5, atol=1e-12)
    index = [json.loads(line) for line in (tmp_path / "log" / "index.jsonl").read_text().splitlines()]
    assert index[0]["arrays"]["currents"]["shape"] == [10, net.circuit.n_edges]


def test_trainer_logs_hopfield_states_and_weights(tmp_path):
    net = HopfieldNetwork.layered([2, 4, 2], seed=0, config=HopfieldConfig(dtype="float64"))
    with PhaseLog(tmp_path) as log:
        Trainer(net, TrainConfig(epochs=2, batch_size=2, learning_rates=(0.1, 0.05), beta=0.5), progress=False,
                phase_log=log).fit(load_xor())
    r = PhaseLogReader(tmp_path)
    assert r.phases == ("free", "nudged") and len(r) == 8
    assert r.read("voltages", phase="free").shape == (4, 2, 6)
    n_params = sum(p.size for p in net.params.values())
    assert r.read("conductances").shape == (8, n_params)
    assert "currents" not in r.records[0]["arrays"]
