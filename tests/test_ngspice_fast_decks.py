"""The ngspice backend's own decks (issue 16 item 4): shorter and with fewer equations than the
decks users read, and the same operating points.

``sweep_deck`` writes what the backend runs: no comment or metadata lines, two pwl points per
example (a flat segment over its repeated solves), ``.save`` of the free nodes only, and
amplifiers without an offset as a VCVS whose own branch current the CCCS senses (no ammeter
node and branch). Each of these is checked against the full, commented deck of
:func:`compile_sweep` and against the NumPy twin.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from analog_eqprop.circuits import kendall_circuit
from analog_eqprop.netlist import compile_sweep
from analog_eqprop.solvers.backends import NumpyBackend
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.solvers.ngspice_backend import TIGHT_OPTIONS, NgspiceBackend, NortonPlan, sweep_deck
from analog_eqprop.solvers.ngspice_shared import get_engine, ngspice_available, run_netlist

needs_ngspice = [pytest.mark.ngspice, pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")]


def _case(n=6, offset=False):
    c = kendall_circuit(12, 5, 3, seed=3, clamp=(0.5, 2.0))
    if offset:  # every other amplifier with an input offset
        c = replace(c, amp_offset=np.where(np.arange(c.n_amps) % 2 == 0, 0.0, 0.01))
    rng = np.random.default_rng(4)
    X = rng.uniform(-0.4, 2.8, (n, 12))
    target = (np.eye(3)[np.arange(n) % 3] * 2.0) - 1.0
    plan = NortonPlan(c)
    g_red, x_eff = plan.fold(c.edge_g, X)
    return c, X, target, plan, g_red, x_eff


def test_the_backend_deck_is_bare_and_short():
    c, X, target, plan, g_red, x_eff = _case()
    full = compile_sweep(plan.reduced, g_red, x_eff, form="norton", options=TIGHT_OPTIONS, repeats=3)
    bare = sweep_deck(plan.reduced, g_red, x_eff, 0.0, None, None, "norton", TIGHT_OPTIONS, 3)
    lines = bare.lines
    assert not [line for line in lines[1:] if line.startswith("*")]
    assert not [line for line in lines if line.startswith("va")] and [line for line in full.lines if line.startswith("va")]
    assert sum(line.startswith(".save") for line in lines) > 0 and not [line for line in lines if line.startswith(".print")]
    # every pwl table: two points per example plus the closing one, abscissae strictly increasing
    tables = bare.text.split("=pwl(v(idx),")[1:]
    assert len(tables) == plan.reduced.n_features
    for table in tables:
        body = table.split(")")[0].replace("\n+", " ").split(",")
        xs = [int(v) for v in body[0::2]]
        assert xs == sorted(set(xs)) and len(xs) == 2 * len(X) + 1
        assert xs[:4] == [0, 2, 3, 5] and xs[-1] == 3 * len(X)
    assert bare.n_lines < 0.8 * full.n_lines
    assert bare.names.names == full.names.names  # the same node names (the map is built once per circuit)


@pytest.mark.parametrize("offset", [False, True])
def test_bare_decks_give_the_operating_points_of_the_full_deck(offset, request):
    for mark in needs_ngspice:
        request.applymarker(mark)
    c, X, target, plan, g_red, x_eff = _case(offset=offset)
    onehot = (target - c.target_off) / (c.target_on - c.target_off)
    got = {}
    for phase in ("free", "nudged"):
        kw = {} if phase == "free" else {"beta": 1e-6, "target": onehot, "nudge_ref": got["free"][0]}
        full = compile_sweep(plan.reduced, g_red, x_eff, form="norton", options=TIGHT_OPTIONS, repeats=3, **kw)
        bare = sweep_deck(plan.reduced, g_red, x_eff, kw.get("beta", 0.0), kw.get("target"), kw.get("nudge_ref"),
                          "norton", TIGHT_OPTIONS, 3)
        run_full = run_netlist(full.text)
        eqs_full = get_engine().resource_usage()["circuit equations"]
        run_bare = run_netlist(bare.text)
        eqs_bare = get_engine().resource_usage()["circuit equations"]
        assert set(run_bare.vectors) == set(bare.free_nodes) | {"v-sweep"}  # .save: nothing else comes back
        got[phase] = (full.free_voltages(run_full.vectors), bare.free_voltages(run_bare.vectors))
        assert np.max(np.abs(got[phase][0] - got[phase][1])) <= 1e-12
        # an amplifier without offset loses its ammeter's node and branch; one with an offset keeps them
        assert eqs_full - eqs_bare == 2 * int(np.sum(c.amp_offset == 0)) > 0
    # and through the backend, against the NumPy twin
    sysm = MNASystem(c)
    T = c.targets(onehot)
    for backend in (NgspiceBackend(options=TIGHT_OPTIONS, per_analysis=len(X)), NumpyBackend()):
        f = backend.operating_point(sysm, c.edge_g, X)
        n = backend.operating_point(sysm, c.edge_g, X, beta=1e-6, target_v=T, ref=f.state, u0=f.state)
        got[backend.name] = (f.voltages, n.voltages)
    for a, b in zip(got["ngspice"], got[NumpyBackend().name]):
        assert np.max(np.abs(a - b)) <= 1e-9
    np.testing.assert_array_equal(got["ngspice"][0], got["free"][1])  # the backend ran exactly this deck
