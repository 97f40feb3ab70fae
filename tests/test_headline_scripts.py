"""The issue-15 run scripts (``benchmarks/drn_mnist.py``, ``benchmarks/kendall_mnist.py``) on a
tiny MNIST-shaped data set: their per-epoch records have the promised keys, a run resumed from
its checkpoint writes the same records as an uninterrupted one (no line twice), and the ngspice
run's NumPy twin starts from the same conductances and stays in step with it.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from analog_eqprop.data.idx import write_idx
from analog_eqprop.solvers.ngspice_shared import ngspice_available

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _script(name: str):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """60 training / 20 test random 28x28 images, labels cycling 0-9, in the MNIST file layout."""
    rng = np.random.default_rng(0)
    d = tmp_path / "mnist"
    d.mkdir()
    for split, n in (("train", 60), ("t10k", 20)):
        write_idx(d / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(d / f"{split}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))
    monkeypatch.setenv("ANALOG_EQPROP_MNIST_DIR", str(d))
    return d


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_drn_mnist_records_and_resume(tiny_mnist, tmp_path):
    drn = _script("drn_mnist")
    common = ["--model", "drn-xs", "--checkpoint-every", "5"]
    drn.main(common + ["--epochs", "3", "--out", str(tmp_path / "a"), "--jsonl", str(tmp_path / "a.jsonl")])
    drn.main(common + ["--epochs", "2", "--out", str(tmp_path / "b"), "--jsonl", str(tmp_path / "b.jsonl")])
    drn.main(common + ["--epochs", "3", "--out", str(tmp_path / "b"), "--jsonl", str(tmp_path / "b.jsonl"),
                       "--resume"])
    a, b = _records(tmp_path / "a.jsonl"), _records(tmp_path / "b.jsonl")
    assert [r["epoch"] for r in b] == [1, 2, 3]
    for key in ("epoch", "train_error", "test_error", "seconds", "backend", "load_average", "wall_seconds", "lr"):
        assert key in b[-1]
    assert b[-1]["backend"] == "bcd" and b[-1]["dtype"] == "float32"
    assert [(r["train_error"], r["test_error"], r["lr"]) for r in a] == \
        [(r["train_error"], r["test_error"], r["lr"]) for r in b]
    assert a[1]["lr"] == pytest.approx(0.006 * 0.99)  # the peer's ExponentialLR, stepped per epoch
    # the run's wall time adds up over the resume (0.01 s resolution: these epochs take 0.02-0.03 s
    # once compiled, so at 0.1 s two of them rounded to 0 and failed '> 0' now and then)
    assert b[2]["wall_seconds"] >= b[1]["wall_seconds"] > 0
    assert b[2]["wall_seconds"] == pytest.approx(sum(r["seconds"] for r in b), abs=0.021)


def test_kendall_validation_split(tiny_mnist, tmp_path, capsys):
    km = _script("kendall_mnist")
    km.main(["--valid", "--valid-size", "10", "--n-valid", "5", "--epochs", "1", "--hidden", "4",
             "--out", str(tmp_path / "k")])
    rec = json.loads([ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("{")][-1])
    assert 0 <= rec["valid_error"] <= 1 and rec["backend"] == "numpy"
    _, data = km.build(km.parse_args(["--valid", "--valid-size", "10", "--n-valid", "5", "--n-train", "30",
                                   "--hidden", "4"]))
    assert (len(data.y_train), len(data.y_valid), len(data.y_test)) == (30, 5, 20)
    assert data.y_valid.tolist() == [0, 1, 2, 3, 4]  # the first of the last 10 images (labels cycle 0-9)
    with pytest.raises(SystemExit):
        km.parse_args(["--n-valid", "5"])  # needs --valid


@pytest.mark.ngspice
@pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")
def test_kendall_ngspice_with_twin_lockstep_and_resume(tiny_mnist, tmp_path):
    km = _script("kendall_mnist")
    common = ["--backend", "ngspice", "--executor", "none", "--hidden", "6", "--n-train", "40", "--n-test", "20",
              "--probe", "8", "--checkpoint-every", "1", "--out", str(tmp_path / "run"),
              "--jsonl", str(tmp_path / "k.jsonl")]
    km.main(common + ["--epochs", "1"])
    km.main(common + ["--epochs", "2", "--resume"])
    recs = _records(tmp_path / "k.jsonl")
    assert [r["epoch"] for r in recs] == [1, 2]
    for r in recs:
        for key in ("train_error", "test_error", "seconds", "backend", "twin_train_error", "twin_test_error",
                    "twin_seconds", "gap_test_error", "gap_train_error", "weight_divergence"):
            assert key in r
        assert r["backend"] == "ngspice" and r["twin_backend"] == "numpy"
        assert r["gap_test_error"] == r["test_error"] - r["twin_test_error"]
        assert r["weight_divergence"] < 1e-6  # same start, same batches: the runs stay together
        assert r["probe_max_abs_dv_free"] < 1e-6 and r["probe_update_cosine"] > 0.999
