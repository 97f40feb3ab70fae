"""The MOSFET kind: ngspice's level-1 law in the NumPy twin, cards written and read back, power.

Circuits are built from element tables directly (tests/test_transistor_edges.py builds them
from graphs); every region of the law appears: cutoff, saturation, triode, inverse mode (the
source above the drain), n- and p-channel devices, channel-length modulation, diode-connected
clamps, forward-biased bulk junctions.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from analog_eqprop.circuits import Circuit
from analog_eqprop.elements import OWN_GATE, Conductances, MosfetModel, Mosfets, Outputs, Sources, load_mosfet_models
from analog_eqprop.errors import ConfigError, GraphError
from analog_eqprop.hardware.power import power_breakdown
from analog_eqprop.netlist import compile_netlist, parse_netlist
from analog_eqprop.netlist.deck_policy import check_deck
from analog_eqprop.solvers.backends import NumpyBackend
from analog_eqprop.solvers.bcd_checks import check_bcd_circuit
from analog_eqprop.solvers.mna import MNASystem
from analog_eqprop.solvers.newton import solve_dc
from analog_eqprop.solvers.ngspice_shared import ngspice_available

needs_ngspice = pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")


def transistor_circuit(lam: float = 0.0, seed: int = 1) -> Circuit:
    """h0, h1, y0 free; inputs +/-x0, +/-x1; rails vdd = 1.5 V, vss = -0.5 V (every bulk)."""
    lib = load_mosfet_models()
    models = tuple(replace(m, LAMBDA=lam) for m in (lib["NEDGE"], lib["PEDGE"], lib["NCLAMP"]))
    nf = 3
    src = Sources(labels=("x0p", "x0n", "x1p", "x1n", "vdd", "vss"), role=("input",) * 4 + ("bias", "bias"),
                  feature=[0, 0, 1, 1, -1, -1], gain=[1, -1, 1, -1, 0, 0], offset=[0, 0, 0, 0, 1.5, -0.5])
    S = lambda k: nf + k  # noqa: E731
    rng = np.random.default_rng(seed)
    drain = [S(0), S(1), S(2), S(3), 0, 1, S(4), 2, 0]
    source = [0, 0, 1, 1, 2, 2, 1, S(5), S(5)]
    gate = [OWN_GATE] * 8 + [0]  # the last: a diode-connected clamp from h0 to vss
    n = len(drain)
    mos = Mosfets(drain=drain, gate=gate, source=source, bulk=[S(5)] * n, vg=np.r_[rng.uniform(0.8, 2.0, 8), 0.0],
                  width=np.full(n, 1e-6), length=np.full(n, 1e-6), model=[0, 0, 0, 0, 0, 1, 0, 0, 2],
                  layer=[0] * 8 + [-1], models=models)
    cond = Conductances(a=[0, 1, 2], b=[-1, -1, -1], g=[1e-6, 1e-6, 1e-5], layer=[0, 0, 0])
    return Circuit("mos-test", ("h0", "h1", "y0"), ("hidden", "hidden", "output"), [0, 0, 1], n_features=2,
                   target_on=0.2, target_off=-0.2,
                   elements=dict(source=src, conductance=cond, mosfet=mos, nudge=Outputs(pos=[2], neg=[-1])))


def test_level1_regions_and_jacobian():
    m = MosfetModel("N", "NMOS", VTO=0.5, KP=2e-4, LAMBDA=0.1)
    t = Mosfets(drain=[0] * 5, gate=[OWN_GATE] * 5, source=[1] * 5, bulk=[-1] * 5, vg=[0.3, 1.5, 1.5, 1.5, 0.9],
                width=[1e-6] * 5, length=[1e-6] * 5, model=[0] * 5, models=(m,))
    # V_D, V_S per element: cutoff, saturation, triode, inverse (source above drain), inverse saturation
    vd = np.array([0.6, 1.2, 0.3, 0.1, 0.0])
    vs = np.array([0.0, 0.0, 0.1, 0.4, 0.9])
    ch = []
    for k in range(5):
        w = np.array([[vd[k], vs[k], 0.0]])
        ch.append(t.take([k]).channel(w)[0][0, 0])
    beta = 2e-4
    assert ch[0] == 0.0
    assert ch[1] == pytest.approx(beta * (1 + 0.1 * 1.2) * 1.0 ** 2 / 2)  # saturation: v_gst = 1.0 <= v_ds
    assert ch[2] == pytest.approx(beta * (1 + 0.1 * 0.2) * 0.2 * (1.4 - 0.5 - 0.1))  # triode
    assert ch[3] == pytest.approx(-beta * (1 + 0.1 * 0.3) * 0.3 * (1.4 - 0.5 - 0.15))  # inverse: flows S -> D
    assert ch[4] < 0
    # the Jacobian against central differences of the currents, in every region
    rng = np.random.default_rng(0)
    for k in range(5):
        tk = t.take([k])
        w0 = np.array([[vd[k], vs[k], 0.0]]) + rng.normal(0, 1e-3, (1, 3)) * [1, 1, 0]
        b = tk.currents(w0)
        for j, col in enumerate([0, 1]):  # drain, source terminals
            h = 1e-7
            wp, wm = w0.copy(), w0.copy()
            wp[0, col] += h
            wm[0, col] -= h
            fd = (tk.currents(wp).i - tk.currents(wm).i) / (2 * h)
            jj = [0, 2][j]  # drain is terminal 0, source terminal 2 of (D, G, S, B)
            np.testing.assert_allclose(b.di[0, 0, :, jj], fd[0, 0], rtol=1e-5, atol=1e-12)


def test_symmetric_in_source_and_drain():
    c = transistor_circuit()
    m = c.element("mosfet")
    swapped = c.with_element(m.replace(drain=m.source, source=m.drain))
    X = np.random.default_rng(2).random((5, 2))
    a = solve_dc(c, c.edge_g, X).voltages
    b = solve_dc(swapped, swapped.edge_g, X).voltages
    assert np.max(np.abs(a - b)) < 1e-12


@needs_ngspice
@pytest.mark.ngspice
@pytest.mark.parametrize("lam", [0.0, 0.05])
def test_twin_matches_ngspice(lam):
    """The operating points of the NumPy twin and ngspice agree (<= 1e-9 V at tight options) in
    .op decks and in a .dc sweep, free and nudged (the law, the cards, the own gates' sources)."""
    from analog_eqprop.solvers.ngspice_backend import TIGHT_OPTIONS, NgspiceBackend

    c = transistor_circuit(lam)
    X = np.random.default_rng(3).random((6, 2)) * 1.5 - 0.25
    sysm = MNASystem(c)
    free = NumpyBackend().operating_point(sysm, c.edge_g, X)
    tv = c.targets(np.eye(1)[[0] * 6] * (X[:, :1] > 0.5))
    for per_analysis in (1, 3):
        spice = NgspiceBackend(options=TIGHT_OPTIONS, per_analysis=per_analysis, form="full")
        for beta, target, ref in [(0.0, None, None), (1e-6, tv, free.state)]:
            a = NumpyBackend().operating_point(sysm, c.edge_g, X, beta=beta, target_v=target, ref=ref)
            b = spice.operating_point(sysm, c.edge_g, X, beta=beta, target_v=target, ref=ref)
            assert np.max(np.abs(a.voltages - b.voltages)) < 1e-9, (per_analysis, beta)
    # trained gate voltages reach both backends (values=)
    vg = c.element("mosfet").vg + 0.3
    a = NumpyBackend().operating_point(sysm, c.edge_g, X, values={"mosfet": vg})
    b = NgspiceBackend(options=TIGHT_OPTIONS, per_analysis=6).operating_point(sysm, c.edge_g, X, values={"mosfet": vg})
    assert np.max(np.abs(a.voltages - b.voltages)) < 1e-9
    assert np.max(np.abs(a.voltages - free.voltages)) > 1e-3  # the gates did change the circuit


def test_cards_round_trip_and_pass_the_deck_policy():
    c = transistor_circuit(0.05)
    text = compile_netlist(c, x=[0.3, 0.8], options={"reltol": 1e-6}).text
    check_deck(text)
    assert "m8 h0 h0 vss vss NCLAMP W=1e-06 L=1e-06" in text  # a diode-connected clamp: gate on drain
    assert "vg0 gate0 0 " in text and ".model PEDGE PMOS(LEVEL=1 VTO=-0.5 KP=0.0001 LAMBDA=0.05 IS=1e-14)" in text
    p = parse_netlist(text)
    c2, g2, x2 = p.to_circuit()
    assert compile_netlist(c2, g2, x2, **p.compile_kwargs()).text == text
    m2 = c2.element("mosfet")
    np.testing.assert_array_equal(m2.vg, c.element("mosfet").vg)
    np.testing.assert_array_equal(m2.layer, c.element("mosfet").layer)
    # a hand-edited gate voltage (and W) is what the circuit read back has
    lines = [("vg0 gate0 0 1.25" if ln.startswith("vg0 ") else ln.replace("W=1e-06", "W=2u") if ln.startswith("m3 ")
              else ln) for ln in text.splitlines()]
    edited = parse_netlist("\n".join(lines) + "\n").to_circuit()[0].element("mosfet")
    assert edited.vg[0] == 1.25 and edited.width[3] == 2e-6


def test_power_balances_with_transistors():
    c = transistor_circuit(0.05)
    X = np.random.default_rng(4).random((4, 2))
    op = solve_dc(c, c.edge_g, X)
    p = power_breakdown(c, c.edge_g, X, op.voltages)
    assert np.all(p.others["transistors"] > 0)
    assert np.max(np.abs(p.balance)) < 1e-12 * np.max(p.dissipated)


def test_refused_cards_and_bcd():
    with pytest.raises(ConfigError, match="GAMMA=0.4 .*body effect"):
        MosfetModel.from_params("M", "NMOS", [("LEVEL", 1.0), ("GAMMA", 0.4)])
    with pytest.raises(ConfigError, match="only level 1"):
        MosfetModel.from_params("M", "NMOS", [("LEVEL", 3.0)])
    with pytest.raises(ConfigError, match="KP must be > 0"):
        MosfetModel("M", KP=0.0)
    with pytest.raises(ConfigError, match="transistor"):
        check_bcd_circuit(transistor_circuit())
    c = transistor_circuit()
    with pytest.raises(GraphError, match="trained .* gate is a terminal"):
        c.with_element(c.element("mosfet").replace(layer=np.zeros(9, np.int64)))


@needs_ngspice
@pytest.mark.ngspice
def test_transistor_golden_runs_in_plain_ngspice_as_the_twin_solves_it():
    """netlists/tiny_transistor-4-3-2.cir (regenerate.py): ``ngspice -b`` and the NumPy twin of
    the circuit parsed from the deck agree (<= 1e-6 V; measured ~1e-13 V)."""
    import shutil
    from pathlib import Path

    from analog_eqprop.solvers.ngspice_batch import run_batch

    if shutil.which("ngspice") is None:
        pytest.skip("the ngspice binary is not installed")
    text = (Path(__file__).resolve().parent.parent / "netlists" / "tiny_transistor-4-3-2.cir").read_text()
    assert sum(line.startswith("m") for line in text.splitlines()) == 31
    run = run_batch(text)
    p = parse_netlist(text)
    c, g, x = p.to_circuit()
    spice = np.array([run.vectors[n][0] for n in p.free_nodes])
    twin = solve_dc(c, g, x[None]).voltages[0]
    assert np.max(np.abs(twin - spice)) <= 1e-6


def test_pyspice_export_keeps_the_transistors():
    pytest.importorskip("PySpice")
    from analog_eqprop.netlist import to_pyspice

    c = transistor_circuit()
    text = str(to_pyspice(c, x=[0.3, 0.6]))
    deck = compile_netlist(c, x=[0.3, 0.6]).lines
    cards = [line for line in deck if line.startswith(("m", "vg", ".model"))]
    assert len(cards) == 9 + 8 + 3 and all(line in text for line in cards)
