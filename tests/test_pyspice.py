"""PySpice export: the object :func:`to_pyspice` builds, simulated by PySpice's own ngspice
shared-library interface, lands on the NumPy twin's operating points.

PySpice runs in a subprocess (one libngspice per process: this test process may already hold
analog_eqprop's own engine); the subprocess receives the circuits and phases as a pickle and
returns the free-node voltages as JSON.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
from dataclasses import replace

import numpy as np
import pytest

from analog_eqprop.circuits import drn_circuit, kendall_circuit, layered_circuit
from analog_eqprop.data import load_digits
from analog_eqprop.errors import AnalogEqpropError, NetlistError
from analog_eqprop.netlist import compile_netlist
from analog_eqprop.solvers.backends import NumpyBackend
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.solvers.ngspice_shared import ngspice_available

pytest.importorskip("PySpice", reason="the spice extra (PySpice) is not installed")
from analog_eqprop.netlist.pyspice import pyspice_free_voltages, pyspice_node_names, to_pyspice  # noqa: E402

CIRCUITS = {
    # diode clamps: the sharp ideal-like card of deep resistive networks
    "drn-dideal": lambda: drn_circuit([64, 12, 10], seed=0).with_name("drn-error-study"),  # see to_pyspice's title
    # 1N4148 clamps (series resistance: an internal node) driven hard enough to conduct
    "layered-d1n4148": lambda: layered_circuit([64, 10, 4], seed=1, diode="D1N4148", clamp=(-0.05, 0.05),
                                               graph_kw={"input_gain": 5.0, "g_init": (1e-5, 1e-4),
                                                         "input_encoding": "single"}),
    # bidirectional amplifiers (VCVS + ammeter + CCCS), differential outputs, 1N4148 clamps
    "kendall-amplifiers": lambda: kendall_circuit(64, 8, 10, seed=0),
}

_SIMULATE = textwrap.dedent("""
    import json, pickle, sys
    from analog_eqprop.netlist.pyspice import pyspice_free_voltages, to_pyspice
    cases = pickle.load(open(sys.argv[1], "rb"))
    out = {}
    for key, (circuit, g, x, beta, target, ref) in cases.items():
        ckt = to_pyspice(circuit, g, x, beta=beta, target=target, nudge_ref=ref)
        sim = ckt.simulator(simulator="ngspice-shared")
        sim.options(reltol=1e-6, vntol=1e-9)
        out[key] = pyspice_free_voltages(sim.operating_point(), circuit).tolist()
    json.dump(out, open(sys.argv[2], "w"))
""")


def _cases():
    """Free and nudged phases (current and resistive nudging; amplifier offsets) with the NumPy
    twin's free-node voltages for each."""
    X = load_digits().x_test[:2]
    cases, expected = {}, {}
    for name, make in CIRCUITS.items():
        for nudge in ("current", "resistive"):
            c = replace(make(), nudge=nudge)
            if name.startswith("kendall") and nudge == "resistive":
                c = replace(c, amp_offset=np.random.default_rng(0).normal(0, 3e-3, c.n_amps))
            sysm = MNASystem(c)
            x = X[:, : c.n_features]
            free = NumpyBackend().operating_point(sysm, c.edge_g, x)
            onehot = np.eye(c.n_outputs)[[3 % c.n_outputs, 7 % c.n_outputs]]
            beta = 5.0 * float(np.mean(c.edge_g))
            nudged = NumpyBackend().operating_point(sysm, c.edge_g, x, beta=beta, target_v=c.targets(onehot),
                                                    ref=free.state)
            for k in range(len(x)):
                ref = free.voltages[k, : c.n_free]
                cases[f"{name}/{nudge}/free/{k}"] = (c, c.edge_g, x[k], 0.0, None, None)
                expected[f"{name}/{nudge}/free/{k}"] = ref
                cases[f"{name}/{nudge}/nudged/{k}"] = (c, c.edge_g, x[k], beta, onehot[k], ref)
                expected[f"{name}/{nudge}/nudged/{k}"] = nudged.voltages[k, : c.n_free]
    return cases, expected


@pytest.mark.ngspice
@pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")
def test_pyspice_simulation_matches_the_numpy_twin(tmp_path):
    cases, expected = _cases()
    with open(tmp_path / "cases.pkl", "wb") as f:
        pickle.dump(cases, f)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, "-c", _SIMULATE, str(tmp_path / "cases.pkl"), str(tmp_path / "out.json")],
                         capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    got = json.loads((tmp_path / "out.json").read_text())
    assert sorted(got) == sorted(expected)
    errors = {key: float(np.max(np.abs(np.array(got[key]) - expected[key]))) for key in expected}
    worst = max(errors, key=errors.get)
    print(f"worst {worst}: {errors[worst]:.2e} V over {len(errors)} operating points")
    assert errors[worst] <= 1e-6, f"{worst}: max |V_pyspice - V_numpy| = {errors[worst]:.3g} V"
    # the cases must exercise what they are named for: conducting diodes, working amplifiers
    for name in CIRCUITS:
        c = cases[f"{name}/current/free/0"][0]
        v = np.array(got[f"{name}/current/nudged/0"])
        assert np.ptp(v) > 1e-3, name
        if c.n_amps:
            assert not np.allclose(v[c.amp_node] * c.amp_gain, 0.0)
    c = cases["layered-d1n4148/current/free/0"][0]
    sysm = MNASystem(c)
    st = NumpyBackend().operating_point(sysm, c.edge_g, load_digits().x_test[:1, :64]).state
    _, idd, _ = sysm.diode_currents(sysm.extended(st, c.source_voltages(load_digits().x_test[:1, :64])), gmin=1e-12)
    assert np.abs(idd).max() > 1e-4, "the 1N4148 clamps must conduct in this case"


def _element_lines(text: str) -> dict[str, list[str]]:
    """Element name (lowercase) -> its nodes and value, from deck text (after the title line)."""
    out = {}
    for line in text.splitlines()[1:]:
        words = line.split()
        if words and words[0][0].isalpha() and not line.startswith((".", "*", "+")):
            out[words[0].lower()] = [w.lower() for w in words[1:]]
    return out


@pytest.mark.parametrize("nudge", ["current", "resistive"])
def test_pyspice_circuit_holds_the_compiled_netlists_elements(nudge):
    """Same elements, nodes and values as compile_netlist's full form (numbers compared as
    floats: PySpice writes ``str(float)``, which reads back to the same double)."""
    c = replace(kendall_circuit(4, 3, 2, seed=0), nudge=nudge, amp_offset=[1e-3, 0.0, -2e-3])
    x, ref = [0.2, 0.9, 0.4, 0.1], np.linspace(-0.1, 0.1, c.n_free)
    kw = dict(beta=1e-6, target=[1.0, 0.0], nudge_ref=ref)
    ours = _element_lines(compile_netlist(c, x=x, **kw).text)
    theirs = _element_lines(str(to_pyspice(c, x=x, **kw)))
    assert sorted(ours) == sorted(theirs)
    for name, words in ours.items():
        other = theirs[name]
        assert len(words) == len(other), name
        for a, b in zip(words, other):
            try:
                assert float(a) == float(b), name
            except ValueError:
                assert a == b, name
    assert {k[0] for k in ours} >= {"v", "r", "d", "e", "f"} | ({"i"} if nudge == "current" else set())
    card = [line for line in str(to_pyspice(c)).splitlines() if line.startswith(".model")]
    # diodes.lib's IS=4.352n and TT=3.48n, read as ngspice reads them (spice_numbers)
    assert card == [".model D1N4148 D (BV=110.0 CJO=7.048e-13 FC=0.5 IBV=0.0001 IS=4.352e-09 M=0.03 "
                    "N=1.906 RS=0.6458 TT=3.48e-09 VJ=0.869)"]


def test_pyspice_export_checks_its_inputs():
    c = layered_circuit([2, 2, 1], seed=0)
    # the same checks, and error types, as compile_netlist
    for kw, msg in [({"x": [1.0]}, "x must have shape"), ({"beta": 1e-6}, "needs its target"),
                    ({"beta": 1e-6, "target": [1.0]}, "needs the free state"),
                    ({"g": np.r_[np.nan, c.edge_g[1:]]}, r"g\[0\] is nan|conductance 0 is .*nan")]:
        with pytest.raises(AnalogEqpropError, match=msg) as exc:
            to_pyspice(c, **kw)
        with pytest.raises(type(exc.value)):
            compile_netlist(c, **kw)
    ckt = to_pyspice(c, title="x\n.control\nshell rm -rf /")
    assert str(ckt).count("\n.control") == 0 and "shell" not in str(ckt).splitlines()[1]
    assert pyspice_node_names(c)["y0"] == "y0"
    with pytest.raises(NetlistError, match="containing 'error'"):
        to_pyspice(c, title="Error study")
    assert str(to_pyspice(c.with_name("error_net"))).splitlines()[0] == ".title analog_eqprop circuit"

    class Fake:  # an analysis without the node
        nodes = {"h1_0": [0.1]}

    from analog_eqprop.errors import SimulationError

    with pytest.raises(SimulationError, match="not in the PySpice analysis"):
        pyspice_free_voltages(Fake(), c)


@pytest.mark.ngspice
@pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")
def test_readme_pyspice_example_runs(tmp_path):
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = text.split("## PySpice export")[1].split("```python")[1].split("```")[0]
    block += "\nassert v.shape == (c.n_free,) and abs(v).max() > 1e-3\nprint(ckt.R0.resistance)\n"
    res = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert float(res.stdout.split()[-1]) > 0
