"""Tests of analog_eqprop.elements.amplifier where the circuit tests leave it loose.

Found by mutation testing (``benchmarks/mutation.py --modules elements/amplifier.py``): the
hardware model's gains, back gains and offsets drawn value by value (the circuit tests only
saw that training still works), decks whose amplifier cards are wired otherwise than the
compiler writes them (each mis-wiring alone), and BCD's refusals naming the amplifier at fault.
"""

from __future__ import annotations

import numpy as np
import pytest

from analog_eqprop.circuits import kendall_circuit
from analog_eqprop.elements.amplifier import Amplifiers
from analog_eqprop.errors import ConfigError, NetlistError
from analog_eqprop.hardware import HardwareConfig
from analog_eqprop.hardware.config import AmplifierConfig
from analog_eqprop.netlist import compile_netlist, parse_netlist


def _amps(back) -> Amplifiers:
    return Amplifiers(node=[0, 1, 2], gain=[4.0, 4.0, 2.0], back=back, labels=("a0", "a1", "a2"))


# ------------------------------------------------------------------------------ hardware model
def test_gain_variation_multiplies_each_gain_and_back_gain_by_its_own_factor():
    """``A (1 + sigma z0)`` and ``back (1 + sigma z1)``, each factor floored at 0.1, the z drawn
    as one (2, n) standard normal array; a config may be the amplifier part alone."""
    t = _amps([0.25, 0.25, 0.5])
    for sigma in (0.1, 1.0):  # 1.0: factors below 0.1 (z < -0.9) hit the floor
        z = np.random.default_rng(8).standard_normal((2, 3))
        got = t.hardware(AmplifierConfig(gain_variation=sigma), np.random.default_rng(8))
        assert np.array_equal(got.gain, t.gain * np.maximum(1.0 + sigma * z[0], 0.1))
        assert np.array_equal(got.back, t.back * np.maximum(1.0 + sigma * z[1], 0.1))
        assert np.array_equal(got.offset, np.zeros(3))
    assert np.all(1.0 + z[0] < 0.1) and np.any(1.0 + z[1] < 0.1)  # the floor was met (seed 8)
    via_hardware = t.hardware(HardwareConfig(amplifier=AmplifierConfig(gain_variation=0.1)), np.random.default_rng(3))
    assert np.array_equal(via_hardware.gain, t.hardware(AmplifierConfig(gain_variation=0.1),
                                                        np.random.default_rng(3)).gain)


def test_offsets_are_drawn_after_the_gain_factors():
    t = _amps([4.0, 4.0, 2.0])
    rng = np.random.default_rng(5)
    z = rng.standard_normal((2, 3))
    z_off = rng.standard_normal(3)
    got = t.hardware(AmplifierConfig(gain_variation=0.05, offset=0.002), np.random.default_rng(5))
    assert np.array_equal(got.gain, t.gain * np.maximum(1.0 + 0.05 * z[0], 0.1))
    assert np.array_equal(got.back, t.back * np.maximum(1.0 + 0.05 * z[1], 0.1))
    assert np.array_equal(got.offset, 0.002 * z_off)


@pytest.mark.parametrize("back, want", [
    ([4.0, 4.0, 2.0], [3.0, 3.0, 3.0]),  # reciprocal (back == A): stays reciprocal
    ([0.25, 0.25, 0.5], [1 / 3.0] * 3),  # Kendall's 1/A: stays 1/A
    ([1.0, 2.0, 0.5], [1.0, 2.0, 0.5]),  # neither: the back gains are kept
])
def test_a_set_gain_keeps_the_back_gains_relation(back, want):
    got = _amps(back).hardware(AmplifierConfig(gain=3.0), np.random.default_rng(0))
    assert got.gain.tolist() == [3.0, 3.0, 3.0]
    assert np.allclose(got.back, want, rtol=1e-15, atol=0)


# ------------------------------------------------------------------------------ reading decks
def _deck() -> list[str]:
    return compile_netlist(kendall_circuit(4, 3, 2, seed=0)).lines


def _edit(lines, old: str, new: str | None) -> str:
    assert old in lines, old
    out = [line for line in lines if line != old] if new is None else [new if line == old else line for line in lines]
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("old, new, fragment", [
    ("va1 h1_1_amp_int h1_1_amp 0", None, "amplifier 1 needs elements e1, va1 and f1"),
    ("e1 h1_1_amp_int 0 h1_1 0 4.0", "e1 h1_1_amp_int 0 h1_0 0 4.0", "not wired as the compiler writes"),  # e alone
    ("va1 h1_1_amp_int h1_1_amp 0", "va1 h1_1_amp h1_1_amp_int 0", "not wired as the compiler writes"),  # va alone
    ("f1 h1_1 0 va1 0.25", "f1 h1_1 h1_0 va1 0.25", "not wired as the compiler writes"),  # f's nodes alone
    ("f1 h1_1 0 va1 0.25", "f1 h1_1 0 va0 0.25", "not wired as the compiler writes"),  # f's sensing source alone
    ("e1 h1_1_amp_int 0 h1_1 0 4.0", "e1 h1_1_amp_int 0 h1_1 0 0.0", "e1 has gain 0.0; amplifier gains must be > 0"),
])
def test_decks_with_amplifier_cards_wired_otherwise_are_refused(old, new, fragment):
    with pytest.raises(NetlistError, match=fragment.replace("(", r"\(")):
        parse_netlist(_edit(_deck(), old, new)).to_circuit()


def test_an_amplifier_on_a_node_that_is_not_free_is_refused():
    lines = _deck()
    text = _edit(lines, "* @amp h1_1_amp label=h1_1_amp node=h1_1", "* @amp h1_1_amp label=h1_1_amp node=x0p")
    text = text.replace("e1 h1_1_amp_int 0 h1_1 0 4.0", "e1 h1_1_amp_int 0 x0p 0 4.0")
    text = text.replace("f1 h1_1 0 va1 0.25", "f1 x0p 0 va1 0.25")
    with pytest.raises(NetlistError, match="not wired as the compiler writes"):
        parse_netlist(text).to_circuit()


def test_gains_below_one_read_back():
    c = kendall_circuit(4, 3, 2, seed=0)
    c = c.with_element(c.element("amplifier").replace(gain=np.full(3, 0.5), back=np.full(3, 0.5)))
    back, _, _ = parse_netlist(compile_netlist(c).text).to_circuit()
    assert back.element("amplifier").gain.tolist() == [0.5] * 3


# ------------------------------------------------------------------------------ BCD's refusals
def test_bcd_refusals_name_the_amplifier_at_fault():
    with pytest.raises(ConfigError, match=r"amplifier a2 has an offset \(0.01 V\)"):
        Amplifiers(node=[0, 1, 2], gain=[4.0] * 3, back=[4.0] * 3, labels=("a0", "a1", "a2"),
                   offset=[0.0, 0.0, 0.01]).check_bcd(None)
    with pytest.raises(ConfigError, match="amplifier a1 has gain 4 but back gain 4.5"):
        _amps([4.0, 4.5, 2.0]).check_bcd(None)
    # reciprocal to 1e-12 of the gain: 1e-12 V/V apart on a gain of 4 is 2.5e-13 of it
    _amps([4.0 + 1e-12, 4.0, 2.0]).check_bcd(None)
