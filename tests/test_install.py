"""The package as a user gets it: a wheel built by ``python -m build``, installed into a fresh
virtualenv outside the repository, used from a directory that is not the checkout.

The wheel test runs in the default suite (CI runs it): it builds the sdist and, from it, the
wheel (the release path), checks that the wheel carries every file of ``hardware_models/``,
installs it into a new venv (``--without-pip``, installed by this interpreter's pip, no
dependencies), and from a scratch directory runs a circuit training run with a hardware preset,
a netlist export with a user's own diode library, and ``examples/api_xor.py``. Its dependencies
(numpy, scipy, ...) come from this interpreter's site-packages through a ``.pth`` line, like
``--system-site-packages`` would give them, so that nothing is downloaded: the installed copy
of ``analog_eqprop`` itself is the wheel's alone (it comes first on ``sys.path``, and nothing of
the checkout is on it). The slow tests do the same for a plain ``pip install DIR`` and an
editable install, and one installs the wheel with its dependencies from the package index.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "hardware_models"
#: What a build needs from the checkout (the sdist adds nothing else the wheel uses).
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "analog_eqprop", "hardware_models")
USER_LIB = ".model DMINE D(IS=3n N=1.7)\n"


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_package_list_matches_the_tree():
    """``[tool.setuptools] packages`` is explicit (a mapped package cannot be discovered): it must
    list every package of the tree, and map ``hardware_models/`` with all its files."""
    st = _pyproject()["tool"]["setuptools"]
    tree = sorted(".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "analog_eqprop").rglob("__init__.py"))
    assert sorted(st["packages"]) == sorted(tree + ["analog_eqprop.hardware_models"])
    assert st["package-dir"] == {"analog_eqprop.hardware_models": "hardware_models"}
    patterns = st["package-data"]["analog_eqprop.hardware_models"]
    files = [p.name for p in MODELS.iterdir() if p.is_file() and p.suffix != ".py"]
    assert files and all(any(Path(f).match(pat) for pat in patterns) for f in files), (files, patterns)


def test_checkout_reads_its_own_hardware_models():
    from analog_eqprop.circuits.elements import HARDWARE_MODELS_DIR, hardware_models_dir
    from analog_eqprop.hardware import HARDWARE_PRESETS

    assert HARDWARE_MODELS_DIR == hardware_models_dir() == MODELS
    assert set(HARDWARE_PRESETS) == {p.stem for p in MODELS.glob("*.toml")} - {"amplifiers"}


def test_users_own_library_and_preset_by_path(tmp_path, monkeypatch):
    """A user's ``.lib`` (``FILE``, ``FILE:NAME``) and preset ``.toml`` are read by path; a
    preset's relative library path is taken relative to the preset file."""
    from analog_eqprop.circuits import kendall_circuit, layered_circuit
    from analog_eqprop.circuits.elements import diode_model, is_library_spec
    from analog_eqprop.errors import ConfigError
    from analog_eqprop.hardware import HardwareNetwork, load_hardware
    from analog_eqprop.netlist import compile_netlist

    libs = tmp_path / "models"
    libs.mkdir()
    (libs / "mine.lib").write_text(USER_LIB)
    (libs / "two.lib").write_text(USER_LIB + ".model DOTHER D(IS=1p)\n")
    (libs / "hw.toml").write_text('name = "mine"\ndiode = "mine.lib:DMINE"\n[device]\nn_levels = 8\n')
    monkeypatch.chdir(tmp_path)
    assert not is_library_spec("D1N4148") and is_library_spec("models/mine.lib")
    assert diode_model("models/mine.lib") == diode_model("models/two.lib:DMINE") == diode_model(libs / "mine.lib")
    assert diode_model("models/mine.lib").IS == pytest.approx(3e-9)
    c = layered_circuit([2, 3, 1], seed=0, diode="models/two.lib:DOTHER")
    assert [m.name for m in c.models] == ["DOTHER"]
    assert ".model DOTHER D(IS=1e-12 N=1)" in compile_netlist(c).text
    cfg = load_hardware("models/hw.toml")
    assert Path(cfg.diode.rpartition(":")[0]) == libs / "mine.lib" and cfg.device.n_levels == 8
    net = HardwareNetwork(kendall_circuit(4, 3, 2, seed=0), "models/hw.toml")
    assert net.circuit.models[0].name == "DMINE"
    for spec, msg in [("models/two.lib", "holds 2 diode models"), ("models/mine.lib:DNONE", "no diode model 'DNONE'"),
                      ("models/none.lib", "diode model library not found"), ("DNONE", "unknown diode model 'DNONE'")]:
        with pytest.raises(ConfigError, match=msg):
            diode_model(spec)
    (libs / "bad.lib").write_bytes(b"\xff\xfe.model")
    with pytest.raises(ConfigError, match="cannot read diode model library"):
        diode_model("models/bad.lib")


# ------------------------------------------------------------------------------ helpers
def _clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: no PYTHONPATH pointing at the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "VIRTUAL_ENV"}
    env.update(MPLBACKEND="Agg", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", **extra)
    return env


def _run(cmd: list, cwd: Path, timeout: int = 300, env: dict | None = None) -> str:
    res = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                         env=env or _clean_env())
    assert res.returncode == 0, f"{' '.join(map(str, cmd))}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res.stdout


def _copy_sources(dest: Path) -> Path:
    """The files a build reads, copied out of the checkout (a build writes egg-info beside them)."""
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        src = ROOT / name
        (shutil.copytree(src, dest / name, ignore=ignore) if src.is_dir() else shutil.copy2(src, dest / name))
    return dest


def _venv(path: Path) -> Path:
    """A fresh venv whose python sees this interpreter's installed dependencies after its own
    site-packages (a ``.pth`` line), so nothing needs downloading. Returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    py = path / "bin" / "python"
    purelib = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True, env=_clean_env()).stdout.strip())
    ours = dict.fromkeys([*site.getsitepackages(), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (purelib / "_analog_eqprop_test_deps.pth").write_text("\n".join(ours) + "\n")
    return py


def _pip_install(py: Path, *args: str) -> None:
    _run([sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index", "-q", *args],
         cwd=py.parent, timeout=600, env=_clean_env(PIP_NO_INPUT="1"))


_CHECK = r"""
import json, sys
from importlib import resources
import analog_eqprop
from analog_eqprop.circuits.elements import HARDWARE_MODELS_DIR, load_diode_models
from analog_eqprop.hardware.config import HARDWARE_PRESETS, amplifier_models, load_hardware
print(json.dumps({
    "package": analog_eqprop.__file__,
    "models_dir": str(HARDWARE_MODELS_DIR),
    "presets": sorted(HARDWARE_PRESETS),
    "diodes": sorted(load_diode_models()),
    "amplifiers": sorted(amplifier_models()),
    "rram_levels": load_hardware("rram").device.n_levels,
    "resource_files": sorted(p.name for p in resources.files("analog_eqprop.hardware_models").iterdir()),
}))
"""


def _check_installed(py: Path, work: Path, package_root: Path) -> dict:
    """The installed copy is the one imported, and it finds every shipped model file."""
    info = json.loads(_run([py, "-c", _CHECK], cwd=work).strip().splitlines()[-1])
    assert Path(info["package"]).resolve().is_relative_to(package_root.resolve()), info["package"]
    assert Path(info["models_dir"]).resolve().is_relative_to(package_root.resolve()), info["models_dir"]
    shipped = sorted(p.name for p in MODELS.iterdir() if p.is_file())
    assert set(shipped) <= set(info["resource_files"]), info
    assert info["presets"] == sorted({p.stem for p in MODELS.glob("*.toml")} - {"amplifiers"})
    assert info["diodes"] == ["D1N4148", "DIDEAL", "DSHOCKLEY"] and "lm358" in info["amplifiers"]
    assert info["rram_levels"] > 0
    return info


def _use_from_outside(py: Path, work: Path) -> None:
    """A circuit run with a preset, a netlist with the user's own diode library, and an example."""
    cli = py.parent / "analog-eqprop"
    (work / "mine.lib").write_text(USER_LIB)
    (work / "my_hw.toml").write_text('name = "mine"\ndiode = "mine.lib:DMINE"\n[device]\nn_levels = 16\n')
    _run([cli, "train", "--model", "circuit", "--builder", "kendall", "--dataset", "digits", "--sizes",
                "64,8,10", "--n-train", "200", "--n-test", "100", "--epochs", "1", "--hardware", "my_hw.toml",
                "--out", "run", "--log", "log.jsonl", "--no-progress"], cwd=work)
    assert (work / "run" / "checkpoint.npz").is_file() and json.loads((work / "log.jsonl").read_text().splitlines()[0])
    used = _run([py, "-c", "from analog_eqprop.circuits import kendall_circuit; from analog_eqprop.hardware import "
                 "HardwareNetwork as H; n = H(kendall_circuit(4, 3, 2, seed=0), 'my_hw.toml'); "
                 "print(n.circuit.models[0].name, n.hardware.device.n_levels)"], cwd=work)
    assert used.split() == ["DMINE", "16"], used
    _run([cli, "netlist", "--builder", "kendall", "--sizes", "4,3,2", "--diode", "mine.lib:DMINE", "-o", "k.cir"],
         cwd=work)
    deck = (work / "k.cir").read_text()
    assert ".model DMINE D(IS=3e-09 N=1.7)" in deck and "\nd0 " in deck and "\ne0 " in deck
    _run([cli, "netlist", "--builder", "drn", "--sizes", "64,8,10", "--input-index", "0", "--form", "norton",
          "-o", "drn.cir"], cwd=work)
    assert ".model DIDEAL" in (work / "drn.cir").read_text()
    shutil.copy2(ROOT / "examples" / "api_xor.py", work / "api_xor.py")
    from analog_eqprop.solvers.ngspice_shared import ngspice_available

    if ngspice_available():  # the example compares against ngspice and exits without it
        out = _run([py, "api_xor.py", "--epochs", "100"], cwd=work)
        assert "ngspice accuracy 100.0 %" in out, out


# ------------------------------------------------------------------------------ tests
def test_wheel_works_from_a_fresh_venv_outside_the_repository(tmp_path):
    pytest.importorskip("build", reason="`build` (the dev and test extras) makes the wheel")
    t0 = time.perf_counter()
    src = _copy_sources(tmp_path / "src")
    _run([sys.executable, "-m", "build", "--outdir", tmp_path / "dist", src], cwd=tmp_path, timeout=600)
    wheels = sorted((tmp_path / "dist").glob("analog_eqprop-*.whl"))
    assert len(wheels) == 1 and sorted((tmp_path / "dist").glob("*.tar.gz")), list((tmp_path / "dist").iterdir())
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    missing = [p.name for p in MODELS.iterdir() if p.is_file() and f"analog_eqprop/hardware_models/{p.name}"
               not in names]
    assert not missing, f"the wheel lacks hardware models {missing}"
    ours = [p.relative_to(ROOT).as_posix() for p in (ROOT / "analog_eqprop").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    assert not [n for n in ours if n not in names], "files of analog_eqprop/ missing from the wheel (package-data?)"
    assert not [n for n in names if n.startswith(("hardware_models/", "tests/"))], "files outside the package"
    t_build = time.perf_counter() - t0
    py = _venv(tmp_path / "venv")
    _pip_install(py, wheels[0])
    work = tmp_path / "work"  # not the checkout, not the venv
    work.mkdir()
    site_dir = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=work).strip())
    _check_installed(py, work, site_dir)
    _use_from_outside(py, work)
    print(f"build {t_build:.1f} s, all {time.perf_counter() - t0:.1f} s")


@pytest.mark.slow
@pytest.mark.parametrize("editable", [False, True], ids=["plain", "editable"])
def test_pip_install_of_the_source_tree(tmp_path, editable):
    """``pip install DIR`` and ``pip install -e DIR``: the plain copy carries the files, the
    editable one reads the tree's top-level ``hardware_models/`` (edits show at once)."""
    src = _copy_sources(tmp_path / "src")
    py = _venv(tmp_path / "venv")
    _run([sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "-q", *(["-e"] if editable else []),
          src], cwd=tmp_path, timeout=600, env=_clean_env(PIP_NO_INPUT="1"))
    work = tmp_path / "work"
    work.mkdir()
    if editable:
        info = _check_installed(py, work, src)
        assert Path(info["models_dir"]).resolve() == (src / "hardware_models").resolve()
        with open(src / "hardware_models" / "diodes.lib", "a") as f:
            f.write(USER_LIB)
        assert "DMINE" in _run([py, "-c", "from analog_eqprop.circuits import load_diode_models as l; print(l())"],
                               cwd=work)
    else:
        site_dir = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             cwd=work).strip())
        _check_installed(py, work, site_dir)
    _use_from_outside(py, work)


@pytest.mark.slow
def test_wheel_with_dependencies_from_the_index(tmp_path):
    """The user's path exactly: ``pip install analog_eqprop-*.whl`` in a bare venv, every
    dependency from the package index (needs the network)."""
    pytest.importorskip("build")
    src = _copy_sources(tmp_path / "src")
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", tmp_path / "dist", src], cwd=tmp_path, timeout=600)
    wheel = next((tmp_path / "dist").glob("*.whl"))
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True, timeout=300)
    py = tmp_path / "venv" / "bin" / "python"
    _run([py, "-m", "pip", "install", "-q", f"{wheel}[spice]"], cwd=tmp_path, timeout=1800)
    work = tmp_path / "work"
    work.mkdir()
    site_dir = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=work).strip())
    _check_installed(py, work, site_dir)
    _use_from_outside(py, work)
    assert re.search(r"analog.eqprop", _run([py, "-m", "pip", "list"], cwd=work), re.I)
