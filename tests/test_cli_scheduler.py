"""``--scheduler ADDRESS``: train and compare on an existing Dask cluster (a ``dask scheduler`` and a
``dask worker`` started here on 127.0.0.1), with the same numbers as solving in this process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from analog_eqprop.cli import main
from analog_eqprop.solvers.ngspice_shared import ngspice_available
from analog_eqprop.training import load_checkpoint

pytestmark = [pytest.mark.ngspice, pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")]
distributed = pytest.importorskip("distributed", reason='dask.distributed not installed ("analog_eqprop[dask]")')

SMALL = ["--model", "circuit", "--backend", "ngspice", "--sizes", "64,6,10", "--n-train", "40", "--n-test", "20",
         "--epochs", "1", "--no-progress"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A standalone scheduler and one worker process (one thread), as on a cluster's machines."""
    scratch = tmp_path_factory.mktemp("dask")  # the worker's files stay under pytest's temporary root
    address = f"tcp://127.0.0.1:{_free_port()}"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "DASK_TEMPORARY_DIRECTORY": str(scratch)}  # the scheduler's scratch space too
    dask = [sys.executable, "-m", "dask"]
    procs = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                               "--no-dashboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        procs.append(subprocess.Popen([*dask, "worker", address, "--nworkers", "1", "--nthreads", "1",
                                       "--no-dashboard", "--host", "127.0.0.1", "--local-directory", str(scratch)],
                                      env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        t_end = time.time() + 60
        while True:  # the scheduler needs a moment before it accepts connections
            try:
                with Client(address, timeout=5) as client:
                    client.wait_for_workers(1, timeout=60)
                break
            except OSError:
                if time.time() > t_end or any(p.poll() is not None for p in procs):
                    pytest.fail("the dask scheduler / worker did not start")
                time.sleep(0.5)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _params(path):
    arrays, _ = load_checkpoint(path)
    return {k: v for k, v in arrays.items() if k.startswith("params/")}


def test_train_on_a_standalone_cluster_matches_this_process(cluster, tmp_path, capsys):
    assert main(["train", *SMALL, "--scheduler", cluster, "--out", str(tmp_path / "dask")]) == 0
    assert main(["train", *SMALL, "--executor", "none", "--out", str(tmp_path / "local")]) == 0
    capsys.readouterr()
    a, b = _params(tmp_path / "dask" / "checkpoint.npz"), _params(tmp_path / "local" / "checkpoint.npz")
    assert a.keys() == b.keys()
    for k in a:  # one worker of one thread: the same chunks, the same decks, the same numbers
        np.testing.assert_allclose(a[k], b[k], rtol=1e-12, atol=0, err_msg=k)
    info = json.loads((tmp_path / "dask" / "run.json").read_text())["config"]
    assert info["run"]["scheduler"] == cluster and info["circuit"]["backend"] == "ngspice"


def test_compare_takes_the_scheduler_from_a_config_file(cluster, tmp_path, capsys):
    cfg = tmp_path / "cmp.toml"
    cfg.write_text(f'scheduler = "{cluster}"\nsizes = "64,6,10"\nn_train = 40\nn_test = 20\nepochs = 1\n'
                   f'n_probe = 5\nno_sweep = true\nno_plots = true\n')
    assert main(["compare", "--config", str(cfg), "--json", "--out", str(tmp_path / "cmp")]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["max_abs_dv"] <= 1e-6 and rep["same_batches"] is True
    assert json.loads((tmp_path / "cmp" / "run.json").read_text())["config"]["compare"]["scheduler"] == cluster


def test_scheduler_needs_the_ngspice_backend(tmp_path, capsys):
    assert main(["train", "--model", "circuit", "--scheduler", "tcp://127.0.0.1:1", "--epochs", "1",
                 "--out", str(tmp_path / "r")]) == 2
    assert "--scheduler applies to --backend ngspice only" in capsys.readouterr().err
    assert main(["train", *SMALL, "--scheduler", "tcp://127.0.0.1:1", "--workers", "2",
                 "--out", str(tmp_path / "r")]) == 2
    assert "--workers sizes a local pool" in capsys.readouterr().err


def test_an_unreachable_scheduler_is_named(tmp_path, capsys):
    import dask

    nobody = f"tcp://127.0.0.1:{_free_port()}"
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        assert main(["train", *SMALL, "--scheduler", nobody, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert f"--scheduler {nobody}: cannot reach the Dask scheduler" in err and "Traceback" not in err
