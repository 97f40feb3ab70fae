"""The diode model cards (hardware_models/diodes.lib) against the figures of their sources.

Each card is checked where its source quotes a figure, by our diode law
(:func:`~analog_eqprop.circuits.elements.diode_current`, series resistance added) and by
ngspice on the same card, at the simulator's default 27 degC (the data sheets' 25 degC is 2 K
cooler: about +4 mV on a forward drop, inside every window below). The sources are cited
next to each card in diodes.lib; a card without figures here fails
:func:`test_every_card_has_source_figures`.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy.optimize import brentq

from analog_eqprop.circuits.elements import DiodeModel, diode_current, load_diode_models, thermal_voltage
from analog_eqprop.solvers.ngspice_shared import ngspice_available, operating_point

NXP = "NXP data sheet 1N4148; 1N4448 (2004), Tj = 25 degC"

#: (card, forward current [A], lowest and highest forward voltage [V], where the figure comes from).
#: Measured here (our law = ngspice to 1e-12 V) in the trailing comments.
FORWARD = [
    ("D1N4148", 10e-3, 0.0, 1.0, f"{NXP}: 1N4148 VF max at 10 mA"),  # 0.7286 V
    ("D1N4148", 5e-3, 0.62, 0.72, f"{NXP}: 1N4448 (same die) VF at 5 mA"),  # 0.6912 V
    ("D1N4148", 100e-3, 0.0, 1.0, f"{NXP}: 1N4448 (same die) VF max at 100 mA"),  # 0.9002 V
    ("DIDEAL", 0.1e-3, 0.0055, 0.0065, "diodes.lib: 'at 0.1 mA the forward drop is about 6 mV'"),  # 5.956 mV
    ("DSHOCKLEY", 1e-3, 0.6551, 0.6552, "Shockley law: V_T ln(1 mA / 10 fA + 1)"),  # 0.65512 V
]

#: (card, reverse voltage [V], largest reverse current [A], source).
REVERSE = [
    ("D1N4148", 20.0, 25e-9, f"{NXP}: IR max at VR = 20 V"),  # 4.37 nA
    ("D1N4148", 100.0, 1e-6, f"{NXP}: rated VR 100 V, so no breakdown below it"),  # 4.45 nA
]

TIGHT = ".options reltol=1e-6 vntol=1e-9"
needs_ngspice = pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")


@pytest.fixture(scope="module")
def cards() -> dict[str, DiodeModel]:
    return load_diode_models()


def forward_voltage(model: DiodeModel, current: float) -> float:
    """V [V] across the diode (junction plus RS) carrying ``current`` [A] forward, by our law."""
    def excess(v: float) -> float:
        return float(diode_current(np.array([v]), model)[0][0]) - current

    return brentq(excess, -1.0, 5.0, xtol=1e-15, rtol=1e-15) + current * model.RS


def _ngspice_node(model: DiodeModel, source: str) -> tuple[float, float]:
    """(V(a) [V], current into the source's + node [A]) of ``source`` driving the diode a -> 0."""
    deck = f"card check\n{source}\nD1 a 0 {model.name}\n{model.card()}\n{TIGHT}\n.op\n.end"
    vec = operating_point(deck).vectors
    branch = next((v for k, v in vec.items() if k.startswith("i(")), np.array([np.nan]))
    return float(np.ravel(vec["a"])[0]), float(np.ravel(branch)[0])


def test_every_card_has_source_figures(cards):
    checked = {row[0] for row in FORWARD}
    assert set(cards) == checked, f"cards without source figures in this file: {sorted(set(cards) - checked)}"


@pytest.mark.parametrize("name, current, lo, hi, source", FORWARD, ids=[f"{r[0]}-{r[1]:g}A" for r in FORWARD])
def test_forward_voltage_by_our_law(cards, name, current, lo, hi, source):
    v = forward_voltage(cards[name], current)
    assert lo <= v <= hi, f"{name}: V_F = {v:.4f} V at {1e3 * current:g} mA, outside [{lo}, {hi}] V ({source})"


@pytest.mark.ngspice
@needs_ngspice
@pytest.mark.parametrize("name, current, lo, hi, source", FORWARD, ids=[f"{r[0]}-{r[1]:g}A" for r in FORWARD])
def test_forward_voltage_in_ngspice(cards, name, current, lo, hi, source):
    model = cards[name]
    v, _ = _ngspice_node(model, f"I1 0 a DC {current!r}")
    assert lo <= v <= hi, f"{name}: ngspice V_F = {v:.4f} V at {1e3 * current:g} mA, outside [{lo}, {hi}] V ({source})"
    assert v == pytest.approx(forward_voltage(model, current), abs=1e-9)  # the two agree (measured 5e-13 V)


@pytest.mark.parametrize("name, volts, i_max, source", REVERSE, ids=[f"{r[0]}-{r[1]:g}V" for r in REVERSE])
def test_reverse_current(cards, name, volts, i_max, source):
    model = cards[name]
    i_law = -float(diode_current(np.array([-volts]), model)[0][0])
    assert 0 < i_law <= i_max, f"{name}: I_R = {i_law:.3g} A at {volts:g} V, above {i_max:g} A ({source})"
    if ngspice_available():
        _, i_spice = _ngspice_node(model, f"V1 0 a DC {volts!r}")  # the source sinks the diode's reverse current
        assert abs(i_spice) == pytest.approx(i_law, rel=1e-6)


def test_d1n4148_card_matches_its_own_breakdown_and_capacitance(cards):
    """BV = 110 V at IBV = 100 uA means ~100 uA at -110 V (measured 81.6 uA: ngspice's effective
    BV sits a little above the card's); CJO must respect the data sheet's Cd <= 4 pF at 0 V."""
    d = cards["D1N4148"]
    i_bv = -float(diode_current(np.array([-110.0]), d)[0][0])
    assert 50e-6 < i_bv < 200e-6
    assert dict(d.extra)["CJO"] <= 4e-12


def test_dideal_and_dshockley_slopes(cards):
    """The two design cards' stated figures: n V_T = 0.52 mV for DIDEAL; 59.6 mV per decade for DSHOCKLEY."""
    assert cards["DIDEAL"].vte() == pytest.approx(0.52e-3, abs=0.005e-3)
    assert cards["DIDEAL"].RS == 0 and cards["DIDEAL"].BV is None
    s = cards["DSHOCKLEY"]
    decade = forward_voltage(s, 10e-3) - forward_voltage(s, 1e-3)
    assert decade == pytest.approx(thermal_voltage() * math.log(10), rel=1e-6) and decade == pytest.approx(0.0596, abs=1e-4)


#: Cards whose co-content and terminal currents are checked: every region of the law (forward,
#: ngspice's reverse cubic below -3 n V_T, breakdown with and without NBV, series resistance).
_ZENER = DiodeModel("DZ", IS=1e-12, N=1.5, RS=2.0, BV=5.0, IBV=1e-3, NBV=2.0)


@pytest.mark.parametrize("name, volts", [
    ("D1N4148", (-110.6, -110.0, -50.0, -0.3, -0.1, 0.0, 0.2, 0.65, 0.8)),  # RS, BV 110 V (NBV = N)
    ("DSHOCKLEY", (-20.0, -0.2, -0.05, 0.3, 0.7)),  # no RS, no BV: forward and the reverse cubic
    ("DZ", (-5.3, -5.05, -4.0, -0.1, 0.4, 0.9)),  # RS 2 ohm, BV 5 V with NBV 2
    ("DRS", (-5.0, -0.1, 0.5, 0.8, 2.0)),  # RS without BV (a user's card)
])
def test_diode_cocontent_is_the_integral_of_its_current(cards, name, volts):
    """The co-content of a diode branch (junction plus RS) is the integral of the branch current
    from 0 V: checked against quadrature of :func:`branch_current` in every region (a wrong
    constant of a region, a missing RS term or a wrong breakdown slope all show), and its terminal
    currents and Jacobian are the branch law's, +i out of the anode, -i out of the cathode."""
    from scipy.integrate import quad

    from analog_eqprop.elements.diode import Diodes, branch_current

    model = {"DZ": _ZENER, "DRS": DiodeModel("DRS", IS=4.352e-9, N=1.906, RS=0.6458)}.get(name) or cards[name]
    v = np.array(volts)
    t = Diodes(anode=np.arange(len(v)), cathode=np.full(len(v), -1), model=np.zeros(len(v), np.int64),
               models=(model,))
    w = np.append(v, 0.0)[None, :]  # terminal voltages, ground last
    bv = model.breakdown_voltage()
    kinks = [-3 * model.vte()] + ([-bv] if bv is not None else [])
    want = []
    for vk in v:
        pts = [p for p in kinks if min(vk, 0.0) < p < max(vk, 0.0)]
        val, _ = quad(lambda u: float(branch_current(np.array([u]), model)[0][0]), 0.0, vk, points=pts or None,
                      epsabs=0.0, epsrel=1e-12, limit=200)
        want.append(val)
    # one diode at a time (each region's own constant shows; values from 1.5e-15 to 4.4e-2 W):
    # measured agreement 1.5e-14 relative or better, against 1e-11 asked
    for vk, val in zip(v, want):
        one = Diodes(anode=[0], cathode=[-1], model=[0], models=(model,))
        assert one.cocontent(np.array([[vk, 0.0]]))[0] == pytest.approx(val, rel=1e-11, abs=1e-300), (name, vk)
    assert t.cocontent(w)[0] == pytest.approx(sum(want), rel=1e-11)  # the table sums its branches
    # terminal currents: +i leaves the anode into the diode, -i the cathode; di/dV = +-g
    i, g, vj = branch_current(v, model, gmin=1e-9)  # a gmin of the caller's reaches every branch
    b = t.currents(w, gmin=1e-9)
    assert not np.allclose(i, branch_current(v, model)[0], rtol=1e-6, atol=0)  # (1e-9 S x 0.1 V: 1e-10 A apart)
    np.testing.assert_array_equal(b.terms, np.stack([t.anode, t.cathode], 1))
    np.testing.assert_allclose(b.i[0], np.stack([i, -i], -1), rtol=1e-12)
    np.testing.assert_allclose(b.di[0], np.stack([np.stack([g, -g], -1), np.stack([-g, g], -1)], -2), rtol=1e-12)
    assert np.all(g > 0) and np.all(np.abs(vj) <= np.abs(v) + 1e-15)  # a series drop never exceeds the branch's
    # the returned junction voltage lies on the junction's law, and g is the series combination
    # (measured: i to 1.5e-13 relative, g to 8.6e-8: the slope before the last, linear step)
    dense = np.linspace(v.min() - 1.0, v.max() + 1.0, 400)
    i_d, g_d, vj_d = branch_current(dense, model, gmin=1e-9)
    i_j, g_j = diode_current(vj_d, model, gmin=1e-9)
    np.testing.assert_allclose(i_d, i_j, rtol=1e-11, atol=1e-20)
    np.testing.assert_allclose(g_d, g_j / (1 + model.RS * g_j), rtol=1e-6)
    # two cards in one table, cathodes off ground, a batch of two: the sum of the single branches
    other = cards["DSHOCKLEY"]
    two = Diodes(anode=[0, 1], cathode=[2, 2], model=[0, 1], models=(model, other))
    w2 = np.array([[0.5, 0.3, -0.2, 0.0], [-0.4, 0.1, 0.3, 0.0], [0.2, 0.6, 0.1, 0.0]])  # V(0..2), ground

    def single(m, vb):
        return Diodes(anode=[0], cathode=[-1], model=[0], models=(m,)).cocontent(np.array([[vb, 0.0]]))[0]

    got2 = two.cocontent(w2)
    assert got2.shape == (3,)
    np.testing.assert_allclose(got2, [single(model, r[0] - r[2]) + single(other, r[1] - r[2]) for r in w2],
                               rtol=1e-13)
    np.testing.assert_allclose(two.currents(w2).i[:, 0, 0], branch_current(w2[:, 0] - w2[:, 2], model)[0],
                               rtol=1e-13)
    sh = Diodes(anode=[0], cathode=[-1], model=[0], models=(other,))  # no RS: the junction sees v itself,
    ws = np.array([[0.3, 0.0]])  # and the caller's gmin adds 1/2 gmin v^2
    assert sh.cocontent(ws, gmin=1e-9)[0] - sh.cocontent(ws)[0] == pytest.approx(0.5 * (1e-9 - 1e-12) * 0.09,
                                                                                 rel=1e-9)
    if model.RS:  # with RS a large gmin moves the junction too: still the integral of the branch current
        one = Diodes(anode=[0], cathode=[-1], model=[0], models=(model,))
        val, _ = quad(lambda u: float(branch_current(np.array([u]), model, gmin=1e-4)[0][0]), 0.0, 0.9,
                      epsabs=0.0, epsrel=1e-12, limit=200)
        assert one.cocontent(np.array([[0.9, 0.0]]), gmin=1e-4)[0] == pytest.approx(val, rel=1e-11)
    part = t.take([2, 0])  # rows in the order asked, the cards kept
    assert part.anode.tolist() == [2, 0] and part.models == (model,) and len(part) == 2
    ints = np.array([-1, 0, 1])  # integer volts are volts, not an integer result
    np.testing.assert_allclose(branch_current(ints, model)[0], branch_current(ints.astype(float), model)[0], rtol=1e-15)


def test_diode_table_round_trips_ideal_marks_and_extras_and_reports_its_power(cards):
    """A circuit's diode table through a deck (the ``* @model NAME ideal=1`` mark reads back as
    ``ideal``, the unmarked card does not), through ``to_dict`` (card extras such as CJO kept),
    and its power is the branches' ``i V``, dissipated."""
    from dataclasses import replace

    from analog_eqprop.circuits.builders import layered_circuit
    from analog_eqprop.elements.diode import Diodes, branch_current, diode_model
    from analog_eqprop.errors import ConfigError, NetlistError
    from analog_eqprop.hardware.power import power_breakdown
    from analog_eqprop.netlist import compile_netlist, parse_netlist
    from analog_eqprop.solvers.newton import solve_dc

    c = layered_circuit([2, 3, 2], seed=0, diode="D1N4148", clamp=(0.0, 0.3))
    d = c.element("diode")
    ideal = replace(cards["DIDEAL"], name="DCLAMP", ideal=True)
    mixed = d.replace(models=(d.models[0], ideal), model=np.arange(len(d)) % 2)  # alternate the two cards
    c = c.with_element(mixed)
    text = compile_netlist(c, x=[0.4, -0.2]).text
    assert "* @model DCLAMP ideal=1" in text and "* @model D1N4148" not in text
    back = parse_netlist(text).to_circuit()[0].element("diode")
    assert {m.name: m.ideal for m in back.models} == {"D1N4148": False, "DCLAMP": True}
    assert [back.models[k].name for k in back.model] == [mixed.models[k].name for k in mixed.model]
    card = next(line for line in text.split("\n") if line.startswith(".model D1N4148"))
    with pytest.raises(NetlistError, match="^netlist: diode model D1N4148 defined twice$"):
        parse_netlist(text.replace(card, f"{card}\n{card}")).to_circuit()
    # to_dict / from_dict: the D1N4148 card's extras (CJO, VJ, M, FC, TT) survive as pairs
    again = Diodes.from_dict(mixed.to_dict())
    assert again.models == mixed.models and dict(again.models[0].extra)["CJO"] == pytest.approx(0.7048e-12)
    # ... and from_dict reads model objects as they are, dicts without extras, no models at all
    assert Diodes.from_dict({"anode": [0], "cathode": [-1], "model": [0], "models": (ideal,)}).models[0] is ideal
    assert Diodes.from_dict({"models": [{"name": "DX", "IS": 2e-14}]}).models == (DiodeModel("DX", IS=2e-14),)
    assert Diodes.from_dict({}).models == () and len(Diodes.from_dict({})) == 0
    # power: each diode dissipates i V of its branch (junction and RS), summed per example
    X = np.array([[0.9, -0.7], [-0.8, 0.6]])
    v = solve_dc(c, c.edge_g, X).voltages
    pb = power_breakdown(c, c.edge_g, X, v)
    w = c.terminal_voltages(v, c.source_voltages(X))
    vb = w[:, mixed.anode] - w[:, mixed.cathode]
    want = sum(np.sum(branch_current(vb[:, mixed.model == k], m)[0] * vb[:, mixed.model == k], axis=1)
               for k, m in enumerate(mixed.models))
    assert np.all(want > 1e-10)  # measured 6.3e-8 and 3.2e-9 W: DCLAMP clamps conduct (3 uA to 0.2 mA)
    np.testing.assert_allclose(pb.diodes, want, rtol=1e-12)
    # a card name resolves in the caller's table first; an unknown name says what it is
    assert diode_model("DCLAMP", {"DCLAMP": ideal}) is ideal
    with pytest.raises(ConfigError, match="unknown diode model 'DNOPE'"):
        diode_model("DNOPE")


def test_diode_cards_write_what_they_read_and_refuse_what_ngspice_would_misread(cards):
    """A card with every DC parameter (NBV too) and lower-case extras reads back as itself;
    names differing only in case, non-finite extras and a diode on a Norton-folded input source
    are refused with messages that name them."""
    from dataclasses import replace

    from analog_eqprop.circuits.builders import layered_circuit
    from analog_eqprop.elements.diode import Diodes, parse_model_cards
    from analog_eqprop.errors import ConfigError, NetlistError
    from analog_eqprop.netlist import compile_netlist

    full = DiodeModel("DZ", IS=1e-12, N=1.5, RS=2.0, BV=5.0, IBV=1e-3, NBV=2.0, extra=(("cjo", 1e-12),))
    assert "NBV=2 cjo=1e-12" in full.card()
    assert parse_model_cards(full.card())["DZ"] == replace(full, extra=(("CJO", 1e-12),))  # keys read upper case
    t = Diodes(anode=[0], cathode=[-1], model=[0], models=(full,))
    assert t.model_cards() == [full.card()]
    twins = Diodes(anode=[0, 0], cathode=[-1, -1], model=[0, 1], models=(DiodeModel("DX"), DiodeModel("dx")))
    with pytest.raises(NetlistError, match="diode models 'DX' and 'dx' differ only in case"):
        twins.model_cards()
    bad = Diodes(anode=[0], cathode=[-1], model=[0], models=(DiodeModel("DX", extra=(("CJO", math.inf),)),))
    with pytest.raises(NetlistError, match="diode model DX parameter CJO"):
        bad.model_cards()
    c = layered_circuit([2, 3, 2], seed=0, diode="D1N4148", clamp=(0.0, None))
    d = c.element("diode")
    on_input = c.with_element(d.replace(anode=np.r_[c.n_free, d.anode[1:]]))  # diode 0 from input x0p
    assert "d0 x0p" in compile_netlist(on_input, x=[0.4, -0.2]).text  # the full form keeps the source
    with pytest.raises(ConfigError, match="diode 0 touches input source 'x0p'"):
        compile_netlist(on_input, x=[0.4, -0.2], form="norton")


@pytest.mark.parametrize("card, what", [
    (".model DX D(IS=4.352n N=1.906 a=b)", "parameter a: 'b' is not a SPICE number"),
    (".model DX D(IS=4.352n N=1.906 BV)", "cannot read 'BV'"),
    (".model DX D(IS=4.352n N=x1)", "parameter N: 'x1' is not a SPICE number"),
])
def test_a_card_token_we_cannot_read_is_refused_not_skipped(card, what):
    """ngspice refuses a card with 'a=b' where BV=110 stood; a reader that skipped the token
    simulated the card without its breakdown voltage (found by test_netlist's damaged-deck test)."""
    from analog_eqprop.elements.diode import parse_model_cards
    from analog_eqprop.errors import NetlistError

    with pytest.raises(NetlistError, match=re.escape(".model DX") + ".*" + re.escape(what)):
        parse_model_cards(card)
    assert parse_model_cards(".model DX D(IS = 4.352n, N=1.906)")["DX"].N == 1.906  # spaces and commas read
