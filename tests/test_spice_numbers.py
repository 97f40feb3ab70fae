"""Numbers exactly as SPICE reads them: the one reader against ngspice 39.3, case by case.

Each case is a token and what it means: a value (ngspice reads it, and so do we), ``REFUSED``
(ngspice refuses it, and so do we), or ``Silent(v)``: ngspice reads ``v`` where a user meant
something else (``353_006`` is 353 to ngspice), and the strict reader refuses it while
``strict=False`` gives ngspice's ``v``. The ngspice test puts each token into
``R1 a 0 <token>`` beside ``V1 a 0 1`` and into ``V2 b 0 <token>``, and reads back the
resistance (``@r1[resistance]``), the current through V1 and the voltage of ``b``: ngspice's
own doubles, from ``ngspice -b``'s binary raw file.
"""

from __future__ import annotations

import math
import shutil
from typing import NamedTuple

import numpy as np
import pytest

from analog_eqprop.circuits.spice_numbers import option_value, scan_number, spice_number
from analog_eqprop.errors import NetlistError

REFUSED = "refused"


class Silent(NamedTuple):
    """ngspice reads this value, silently: the strict reader refuses the token."""

    value: float


CASES = [
    # scale factors, every case
    ("1k", 1e3), ("1K", 1e3), ("2.2k", 2200.0), ("1meg", 1e6), ("1MEG", 1e6), ("1Meg", 1e6), ("2.5meg", 2.5e6),
    ("1g", 1e9), ("1G", 1e9), ("3t", 3e12), ("1T", 1e12), ("10m", 0.01), ("10M", 0.01), ("1u", 1e-6),
    ("4.7u", 4.7e-6), ("1n", 1e-9), ("1p", 1e-12), ("1f", 1e-15),
    # mil: a thousandth of an inch, 25.4e-6 (the old reader took it for milli)
    ("10mil", 2.54e-4), ("10MIL", 2.54e-4), ("10Mil", 2.54e-4), ("25.4mil", 6.4516e-4), ("1milohm", 2.54e-5),
    # units and letters after the scale factor are ignored; no atto, no HSPICE x
    ("10kohm", 1e4), ("10Kohms", 1e4), ("1.5V", 1.5), ("3.3Volt", 3.3), ("100Hz", 100.0), ("1mega", 1e6),
    ("1megohm", 1e6), ("1mm", 1e-3), ("1ms", 1e-3), ("1farad", 1e-15), ("1a", 1.0), ("1x", 1.0),
    # the micro sign is read as u
    ("4.7\u00b5", 4.7e-6), ("1\u00b5F", 1e-6),
    # exponents, also with d
    ("1e3", 1e3), ("1E3", 1e3), ("1e+3", 1e3), ("1e-3", 1e-3), ("1.5e-6", 1.5e-6), ("-1e-3", -1e-3),
    ("1d3", 1e3), ("1D3", 1e3), ("2.5e3k", 2.5e6),
    # plain decimals (ngspice's own rounding differs from the correct one here: see below)
    ("0.3", 0.3), ("2.675", 2.675), ("0.000123", 0.000123), ("7.0e-1", 0.7), (".5", 0.5), ("5.", 5.0),
    ("+5", 5.0), ("-5", -5.0), ("007", 7.0), ("148529.8106600345", 148529.8106600345),
    ("3.14159265358979323846", 3.141592653589793), ("1234567890123456789", 1.2345678901234568e18),
    # ngspice reads these silently as something else: refused
    ("353_006", Silent(353.0)), ("1_000", Silent(1.0)), ("1.2.3", Silent(1.2)), ("1k2", Silent(1e3)),
    ("4k7", Silent(4e3)), ("1e3.5", Silent(1e3)), ("1e", Silent(1.0)), ("1e-", Silent(1.0)), ("1dB", Silent(1.0)),
    ("1\u03a9", Silent(1.0)), ("1:2", Silent(1.0)), ("1;5", Silent(1.0)), ("1$5", Silent(1.0)),
    ("0x10", Silent(0.0)), (".", Silent(0.0)), ("1e309", Silent(math.inf)),
    # ngspice refuses these (not a number to it: a model name, or two tokens)
    ("\uff11\uff12\uff13", REFUSED), ("\u0661\u0662\u0663", REFUSED), ("\u22125", REFUSED), ("e3", REFUSED),
    ("inf", REFUSED), ("nan", REFUSED), ("abc", REFUSED), ("k1", REFUSED), ("-", REFUSED), ("+", REFUSED),
    ("--5", REFUSED), ("1d-3", REFUSED), ("2D+2", REFUSED), ("1,5", REFUSED), ("1k-3", REFUSED), ("1*2", REFUSED),
    ("1e3-2", REFUSED),
]
IDS = [repr(t)[1:-1] for t, _ in CASES]


def test_the_case_list_is_generous():
    assert len(CASES) >= 40 and len({t for t, _ in CASES}) == len(CASES)
    kinds = [type(e).__name__ if not isinstance(e, float) else "value" for _, e in CASES]
    assert kinds.count("value") >= 40 and kinds.count("Silent") >= 10 and kinds.count("str") >= 10


@pytest.mark.parametrize("token, expected", CASES, ids=IDS)
def test_reader(token, expected):
    if isinstance(expected, float):
        assert spice_number(token) == expected  # correctly rounded
        assert spice_number(token, strict=False) == expected
    elif isinstance(expected, Silent):
        with pytest.raises(NetlistError, match="is not a SPICE number"):
            spice_number(token)
        assert spice_number(token, strict=False) == expected.value
    else:
        for strict in (True, False):
            with pytest.raises(NetlistError, match="is not a SPICE number"):
                spice_number(token, strict=strict)


def _ngspice(token: str) -> tuple[float, float, float] | None:
    """(resistance, V2's voltage, current through V1) as ngspice reads ``token``; None if refused."""
    from analog_eqprop.solvers.ngspice_batch import run_batch

    deck = f"number\nV1 a 0 1\nR1 a 0 {token}\nV2 b 0 {token}\nR2 b 0 1\n.save @r1[resistance] i(v1) b\n.op\n.end\n"
    run = run_batch(deck, throw=False, trust_deck=True)  # trusted: the deck policy would refuse the odd ones
    if run.errors:
        return None
    return float(run.vectors["@r1[resistance]"][0]), float(run.vectors["b"][0]), float(run.vectors["i(v1)"][0])


@pytest.mark.ngspice
@pytest.mark.skipif(shutil.which("ngspice") is None, reason="ngspice binary not installed")
@pytest.mark.parametrize("token, expected", CASES, ids=IDS)
def test_reader_agrees_with_ngspice(token, expected):
    got = _ngspice(token)
    if expected is REFUSED:
        assert got is None, f"ngspice reads {token!r} as {got}"
        return
    assert got is not None, f"ngspice refused {token!r}"
    r, v, i = got
    value = expected if isinstance(expected, float) else expected.value
    # ngspice's arithmetic, bit for bit (V2's voltage is the value itself)
    assert spice_number(token, strict=False, ngspice_rounding=True) == v
    # the correctly rounded value: within a few units in the last place of ngspice's
    assert v == value or abs(v - value) <= 4 * math.ulp(value), (v, value)
    if value > 0:  # a resistor of 0 ohm is taken as 1 mOhm
        assert r == v and math.isclose(-i, 1.0 / value, rel_tol=1e-12, abs_tol=0.0) or math.isinf(value)


def test_ngspice_rounding_is_reproduced():
    # INPevaluate accumulates digits in a double and multiplies by pow(10, e)
    assert spice_number("0.3", ngspice_rounding=True) == 0.30000000000000004
    assert spice_number("0.000123", ngspice_rounding=True) == 0.00012299999999999998
    assert spice_number("3.3Volt", ngspice_rounding=True) == 3.3000000000000003


def test_scan_reports_the_parts():
    s = scan_number("353_006")
    assert (s.int_digits, s.tail, s.rest) == ("353", "_006", "")
    assert "353" in s.strict_problem() and "_006" in s.strict_problem()
    assert scan_number("1d-3").rest == "-3" and scan_number("1e-3").rest == ""


@pytest.mark.parametrize("token, value", [
    ("200", 200), ("-3", -3), ("1e-6", 1e-6), ("1meg", 1e6), ("10mil", 2.54e-4), ("gear", "gear"), ("trap", "trap"),
    ("2.5", 2.5),
])
def test_option_value(token, value):
    got = option_value(token)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("token", ["353_006", "1.2.3", "1e", "", "a b", "\uff11", "x;y", "1,5"])
def test_option_value_refuses(token):
    with pytest.raises(NetlistError):
        option_value(token)


def test_old_names_still_import():
    from analog_eqprop.circuits.elements import spice_number as old
    from analog_eqprop.netlist.parser import option_value as old_option

    assert old is spice_number and old_option is option_value
    assert old("10mil") == 2.54e-4


def test_parser_reads_values_as_spice_does():
    """A hand-edited element value: read as ngspice reads it, or refused by name."""
    from analog_eqprop.circuits import layered_circuit
    from analog_eqprop.netlist import compile_netlist, parse_netlist

    text = compile_netlist(layered_circuit([2, 2, 1], seed=0), x=[0.25, 0.75]).text
    line = next(ln for ln in text.split("\n") if ln.startswith("vs4 "))
    node = line.split()[1]
    for written, volts in [("0.8", 0.8), ("800m", 0.8), ("800mV", 0.8), ("10mil", 2.54e-4)]:
        c, _, _ = parse_netlist(text.replace(line, f"vs4 {node} 0 {written}")).to_circuit()
        assert c.source_offset[4] == volts
    for bad in ["353_006", "\uff11\uff12\uff13", "1.2.3", "nan"]:
        with pytest.raises(NetlistError, match="is not a number"):
            parse_netlist(text.replace(line, f"vs4 {node} 0 {bad}"))


def test_cli_options_use_the_reader():
    from analog_eqprop.cli.compare_cmd import parse_ngspice_options
    from analog_eqprop.errors import AnalogEqpropError

    assert parse_ngspice_options("reltol=1e-5,itl1=200,vntol=1u") == {"reltol": 1e-5, "itl1": 200, "vntol": 1e-6}
    with pytest.raises(AnalogEqpropError):
        parse_ngspice_options("reltol=1_0")


@pytest.mark.parametrize("token", ["1e-3", "2.2k", "10mil", "0.3", "148529.8106600345"])
def test_numbers_agree_in_numpy_and_ngspice_backends(token):
    """The issue's failure: a hand-edited deck solved by the NumPy twin and by ngspice."""
    pytest.importorskip("analog_eqprop.solvers.ngspice_shared")
    from analog_eqprop.solvers.ngspice_shared import ngspice_available

    if not ngspice_available():
        pytest.skip("libngspice not installed")
    from analog_eqprop.circuits import layered_circuit
    from analog_eqprop.cli.simulate_cmd import simulate_ngspice, simulate_numpy
    from analog_eqprop.netlist import compile_netlist

    text = compile_netlist(layered_circuit([2, 2, 1], seed=0), x=[0.25, 0.75], options={"reltol": 1e-9,
                                                                                        "vntol": 1e-12}).text
    line = next(ln for ln in text.split("\n") if ln.startswith("r0 "))
    edited = text.replace(line, " ".join(line.split()[:3] + [token]))
    a, _ = simulate_numpy(edited)
    b, _ = simulate_ngspice(edited, "shared", 60.0)
    assert max(abs(a[k] - b[k]) for k in a) < 1e-6, (a, b)
    assert np.isfinite(list(a.values())).all()
