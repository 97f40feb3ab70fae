"""The examples are part of the documentation: the quick ones run in the default suite."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
QUICK = ["hopfield_digits.py", "custom_graph.py", "gradient_check.py", "compile_and_simulate.py", "xor_ngspice.py",
         "digits_demo.py", "digital_vs_analog.py", "hardware_sweep.py", "api_xor.py", "api_iris.py",
         "api_digits.py"]
SLOW = ["seed_mnist.py", "kendall_mnist.py", "api_mnist_dense.py", "api_mnist_local.py"]


def _run(name: str, tmp_path: Path, *args: str, timeout: int = 300) -> str:
    res = subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=tmp_path, capture_output=True,
                         text=True, timeout=timeout)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


def test_every_example_is_listed():
    """A new example must be added to QUICK (run by default) or SLOW (run with -m slow)."""
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(QUICK + SLOW)


@pytest.mark.parametrize("name", QUICK)
def test_quick_example_runs(name, tmp_path):
    out = _run(name, tmp_path)
    assert out.strip()


def test_gradient_check_example_reports_good_cosines(tmp_path):
    out = _run("gradient_check.py", tmp_path)
    cosines = [float(c) for c in re.findall(r"cosine ([0-9.]+), relative", out)]
    assert cosines and max(cosines) > 0.999


def test_readme_quick_start_runs(tmp_path):
    text = (ROOT / "README.md").read_text()
    block = text.split("## Quick start (Python)")[1].split("```python")[1].split("```")[0]
    block = block.replace("epochs=10", "epochs=2")
    res = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW)
def test_slow_example_runs(name, tmp_path):
    _run(name, tmp_path, "--epochs", "1", timeout=1800)
