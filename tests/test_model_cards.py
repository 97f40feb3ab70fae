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
