"""A run killed with SIGKILL at a random point resumes and ends exactly like an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from analog_eqprop.training import load_checkpoint

ARGS = ["train", "--dataset", "digits", "--sizes", "64,24,10", "--n-train", "600", "--n-test", "100",
        "--epochs", "4", "--checkpoint-every", "2", "--shuffle", "--seed", "5", "--sigma", "0.01",
        "--no-progress"]


def _run(out: Path, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "analog_eqprop", *ARGS, "--out", str(out), "--log", str(out / "log.jsonl"), *extra]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]


@pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")
def test_sigkill_at_random_points_then_resume_matches_uninterrupted(tmp_path):
    ref = tmp_path / "ref"
    _finish(_run(ref))

    out = tmp_path / "killed"
    rng = np.random.default_rng(11)
    kills = 0
    proc = _run(out)
    while kills < 3:
        ck = out / "checkpoint.npz"
        t_end = time.time() + 120
        while not ck.exists() and proc.poll() is None and time.time() < t_end:
            time.sleep(0.01)
        time.sleep(float(rng.uniform(0.0, 0.3)))
        if proc.poll() is not None:
            break  # finished before we could kill it again
        proc.send_signal(signal.SIGKILL)
        proc.communicate()  # reap it and close its pipe
        kills += 1
        proc = _run(out, "--resume")
    _finish(proc)
    assert kills >= 1

    a, ma = load_checkpoint(ref / "checkpoint.npz")
    b, mb = load_checkpoint(out / "checkpoint.npz")
    params = [k for k in a if k.startswith("params/")]
    assert params
    for k in params:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    strip = lambda h: [{k: v for k, v in r.items() if not k.startswith("seconds")} for r in h]  # noqa: E731
    assert strip(ma["history"]) == strip(mb["history"])
    log = [json.loads(line)["epoch"] for line in (out / "log.jsonl").read_text().splitlines() if line.strip()]
    assert sorted(log) == [1, 2, 3, 4]  # every epoch logged exactly once, however often it was killed
