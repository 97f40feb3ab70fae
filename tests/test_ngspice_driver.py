"""Tests of the ngspice drivers: shared library (ctypes) and ``ngspice -b``.

All tests share this process's single ngspice engine (ngSpice_Init may run only once per
process), so every test must leave it usable; the one that kills an engine does so in a
child process.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from analog_eqprop.errors import (
    ConvergenceError,
    NetlistError,
    SimulationError,
    SimulatorUnavailableError,
)
from analog_eqprop.solvers.ngspice_batch import classify_output, parse_raw, run_batch
from analog_eqprop.solvers.ngspice_shared import (
    NgspiceShared,
    find_libngspice,
    get_engine,
    ngspice_available,
    operating_point,
    run_netlist,
)

pytestmark = [
    pytest.mark.ngspice,
    pytest.mark.skipif(not ngspice_available(), reason="libngspice not installed"),
]
needs_binary = pytest.mark.skipif(shutil.which("ngspice") is None, reason="ngspice binary not installed")

TIGHT = ".options reltol=1e-6 vntol=1e-9"
DIVIDER = f"divider\nV1 in 0 1\nR1 in mid 1k\nR2 mid 0 3k\n{TIGHT}\n.op\n.end"
DIODE_OP = f"diode\nV1 in 0 1\nR1 in mid 1k\nD1 mid 0 dm\n.model dm d(is=1e-14)\n{TIGHT}\n.op\n.end"
DIODE_DC = f"sweep\nV1 in 0 0\nR1 in mid 1k\nD1 mid 0 dm\n.model dm d(is=1e-14)\n{TIGHT}\n.dc V1 0 2 0.1\n.end"
BAD_VALUE = "bad\nV1 in 0 1\nR1 in mid 1k\nR2 mid 0 abc\n.op\n.end"
UNKNOWN_MODEL = "bad\nV1 in 0 1\nR1 in mid 1k\nD1 mid 0 nosuchmodel\n.op\n.end"
# No DC solution exists (a tanh current sink saturates at 1 A, the source pushes 2 A).
# With the homotopies off, ngspice 39.3 fails with "Timestep too small"; with them on
# it claims "Transient op finished successfully" at v(a) = 1e12 V.
NO_SOLUTION_FAST = "nosol\nI1 0 a 2\nB1 a 0 I=tanh(v(a))\n.options gminsteps=0 srcsteps=0\n.op\n.end"
NO_SOLUTION = "nosol\nI1 0 a 2\nB1 a 0 I=tanh(v(a))\n.op\n.end"


def _rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


# ---------------------------------------------------------------------------- shared mode


def test_divider_operating_point():
    run = operating_point(DIVIDER)
    assert abs(run.vectors["mid"][0] - 0.75) < 1e-9
    assert abs(run.vectors["in"][0] - 1.0) < 1e-12
    assert abs(run.vectors["i(v1)"][0] + 0.25e-3) < 1e-12
    assert run.plot.startswith("op") and run.ok and run.errors == ()
    assert "Circuit: divider" in run.log and run.seconds > 0
    # copies owned by NumPy, not views of ngspice memory
    assert all(v.base is None and v.flags.owndata for v in run.vectors.values())


def test_dc_sweep_returns_full_arrays():
    deck = "s\nV1 a 0 0\nR1 a b 1k\nR2 b 0 3k\n.dc V1 0 2 0.25\n.end"
    run = run_netlist(deck)
    assert run.plot.startswith("dc")
    assert set(run.vectors) == {"a", "b", "i(v1)", "v-sweep"}
    sweep = np.linspace(0, 2, 9)
    for name in run.vectors:
        assert run.vectors[name].shape == (9,)
    np.testing.assert_allclose(run.vectors["v-sweep"], sweep, atol=1e-12)
    np.testing.assert_allclose(run.vectors["b"], 0.75 * sweep, atol=1e-9)
    np.testing.assert_allclose(run.vectors["i(v1)"], -sweep / 4e3, atol=1e-12)


def test_numeric_nodes_and_branch_names_are_normalised():
    deck = "n\nV1 1 0 1\nR1 1 2 1k\nR2 2 0 1k\nL1 2 3 1m\nR3 3 0 1k\nE1 4 0 2 0 2\nR4 4 0 1\n.op\n.end"
    run = operating_point(deck)
    raw = get_engine().vectors(run.plot, normalize=False)
    assert "V(4)" in raw and "v1#branch" in raw  # what ngspice 39.3 reports
    assert set(run.vectors) == {"1", "2", "3", "4", "i(v1)", "i(l1)", "i(e1)"}
    assert run.vectors["4"][0] == pytest.approx(2 * run.vectors["2"][0])


def test_title_with_error_word_is_not_an_error():
    run = operating_point(DIVIDER.replace("divider", "error test: fatal failed unknown", 1))
    assert run.ok and abs(run.vectors["mid"][0] - 0.75) < 1e-9


@pytest.mark.parametrize(
    ("deck", "quoted"),
    [
        (BAD_VALUE, "unknown parameter (abc)"),
        (UNKNOWN_MODEL, "could not find a valid modelname"),
        ("bad\nV1 in 0 1\nX1 in 0 nosub\n.op\n.end", "unknown subckt"),
        ("bad\nV1 in 0 1\n.include /nonexistent/x.lib\n.op\n.end", "reads another file"),
        # refused by the deck policy before ngspice sees it (ngspice's own "unimplemented
        # control card" for it is checked with trust_deck=True in test_deck_security.py)
        ("bad\nV1 in 0 1\nR1 in 0 1k\n.foo bar\n.op\n.end", "card '.foo' is not allowed"),
    ],
)
def test_parse_errors_raise_and_never_return_previous_results(deck, quoted):
    engine = get_engine()
    assert operating_point(DIVIDER).vectors["mid"][0] == pytest.approx(0.75)
    with pytest.raises(NetlistError, match=r"(?i)" + quoted.replace("(", r"\(").replace(")", r"\)")):
        operating_point(deck)
    # ngspice 39.3 would re-run the divider here if it had not been removed
    with pytest.raises((NetlistError, SimulationError)):
        engine.run("op")
    run = engine.run("op", throw=False)
    assert run.vectors == {} and run.errors


def test_run_without_analysis_and_unknown_sweep_source():
    with pytest.raises(NetlistError, match="No job"):
        run_netlist("noan\nV1 in 0 1\nR1 in 0 1k\n.end")
    with pytest.raises(NetlistError, match="not in the circuit"):
        run_netlist("dcx\nV1 in 0 1\nR1 in 0 1k\n.dc VX 0 1 0.1\n.end")


@pytest.mark.parametrize("deck", [NO_SOLUTION_FAST, NO_SOLUTION])
def test_non_convergence_raises_and_engine_recovers(deck):
    with pytest.raises(ConvergenceError) as info:
        operating_point(deck)
    assert "singular matrix" in str(info.value) or "Timestep too small" in str(info.value)
    failed = operating_point(deck, throw=False)
    assert not failed.ok and failed.vectors == {} and failed.plot
    run = operating_point(DIODE_OP)
    assert run.ok and 0.5 < run.vectors["mid"][0] < 0.8


def test_voltage_source_loop_is_a_convergence_error():
    with pytest.raises(ConvergenceError, match="singular matrix"):
        operating_point("loop\nV1 a 0 1\nV2 a 0 2\nR1 a 0 1k\n.op\n.end")


def test_two_analyses_give_the_last_plot():
    run = run_netlist("two\nV1 a 0 1\nR1 a 0 1k\n.dc V1 0 1 0.5\n.op\n.end")
    assert run.plot.startswith("op") and run.vectors["a"].shape == (1,)
    assert any(p.startswith("dc") for p in get_engine().plots())


def test_command_and_input_checks():
    engine = get_engine()
    with pytest.raises(ValueError):
        engine.command("echo a\necho b")
    with pytest.raises(ValueError, match="quit"):
        engine.command("quit")
    with pytest.raises(SimulationError, match="no such command"):
        engine.command("definitelynotacommand")
    with pytest.raises(NetlistError, match="control"):
        operating_point("c\nR1 a 0 1\n.control\nshell echo hi\n.endc\n.end")
    with pytest.raises(NetlistError, match="empty"):
        operating_point("  \n")
    # a missing .end is added, as ngspice -b would accept the deck
    assert operating_point(DIVIDER.replace("\n.end", "")).vectors["mid"][0] == pytest.approx(0.75)
    # after arbitrary commands the next load still starts from a clean engine
    assert operating_point(DIVIDER).vectors["mid"][0] == pytest.approx(0.75)
    assert len([line for line in engine.command("setcirc") if "\t" in line]) == 1


def test_a_run_that_makes_no_plot_is_refused():
    engine = get_engine()
    engine.load(DIVIDER)
    with pytest.raises(SimulationError, match="no new plot"):
        engine.run("echo not an analysis")
    assert engine.run("op").vectors["mid"][0] == pytest.approx(0.75)


def test_one_engine_per_process():
    assert get_engine() is get_engine()
    with pytest.raises(SimulationError, match="already initialised"):
        NgspiceShared(find_libngspice())


def test_engine_refuses_use_after_fork(monkeypatch):
    engine = get_engine()
    monkeypatch.setattr(engine, "pid", engine.pid + 1)
    with pytest.raises(SimulationError, match="inside each worker process"):
        get_engine()
    with pytest.raises(SimulationError, match="inside each worker process"):
        engine.run("op")


def test_controlled_exit_makes_the_engine_unusable():
    # Run in a child: this kills the process's only engine for good.
    code = textwrap.dedent(
        """
        from analog_eqprop.errors import NetlistError, SimulationError
        from analog_eqprop.solvers.ngspice_shared import get_engine, operating_point
        try:
            operating_point("p\\nV1 in 0 {vin}\\nR1 in 0 1k\\n.op\\n.end")
        except NetlistError as exc:
            assert "Undefined parameter" in str(exc), exc
            assert "detached" in str(exc), exc
        else:
            raise SystemExit("no NetlistError")
        assert not get_engine.__globals__["_ENGINE"].usable
        try:
            operating_point("d\\nV1 a 0 1\\nR1 a 0 1\\n.op\\n.end")
        except SimulationError as exc:
            assert "start a new process" in str(exc), exc
        else:
            raise SystemExit("engine still usable")
        print("OK")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stdout + proc.stderr


def test_threads_share_the_engine_safely():
    results: list[float] = []
    failures: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(25):
                v = 1.0 + k + i / 100
                deck = f"t{k}\nV1 in 0 {v!r}\nR1 in mid 1k\nR2 mid 0 3k\n{TIGHT}\n.op\n.end"
                got = operating_point(deck).vectors["mid"][0]
                results.append(abs(got - 0.75 * v))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures and len(results) == 100 and max(results) < 1e-8


def test_memory_stays_flat_over_many_loads():
    for _ in range(20):
        operating_point(DIODE_OP)
    before = _rss_mib()
    for _ in range(500):
        operating_point(DIODE_OP)
    # measured 0.0-0.27 MiB for 500 cycles (ngspice leaks ~150 B per command); a leak of 4 KiB
    # per load would pass 2 MiB (PySpice's #373 grew ~13 MiB per call)
    assert _rss_mib() - before < 2


# ----------------------------------------------------------------------------- batch mode


@needs_binary
@pytest.mark.parametrize("deck", [DIODE_OP, DIODE_DC, DIVIDER])
def test_batch_agrees_with_shared(deck):
    batch = run_batch(deck)
    shared = run_netlist(deck)
    assert set(batch.vectors) == set(shared.vectors)
    for name, values in shared.vectors.items():
        assert batch.vectors[name].shape == values.shape
        np.testing.assert_allclose(batch.vectors[name], values, rtol=0, atol=1e-12)


@needs_binary
def test_batch_ascii_raw_matches_binary(monkeypatch):
    binary = run_batch(DIODE_DC)
    monkeypatch.setenv("SPICE_ASCIIRAWFILE", "1")
    ascii_ = run_batch(DIODE_DC)
    assert "ASCII raw file" in ascii_.log
    for name, values in binary.vectors.items():
        np.testing.assert_allclose(ascii_.vectors[name], values, rtol=1e-14, atol=1e-300)


@needs_binary
def test_batch_errors():
    with pytest.raises(NetlistError, match="unknown parameter"):
        run_batch(BAD_VALUE)
    with pytest.raises(NetlistError, match="Undefined parameter"):
        run_batch("p\nV1 in 0 {vin}\nR1 in 0 1k\n.op\n.end")
    with pytest.raises(ConvergenceError, match="Timestep too small"):
        run_batch(NO_SOLUTION_FAST)
    with pytest.raises(NetlistError, match="no analysis"):
        run_batch("noan\nV1 in 0 1\nR1 in 0 1k\n.end")
    failed = run_batch(NO_SOLUTION_FAST, throw=False)
    assert failed.vectors == {} and failed.errors
    with pytest.raises(SimulatorUnavailableError, match="apt-get"):
        run_batch(DIVIDER, ngspice="/nonexistent/ngspice")


@needs_binary
def test_batch_timeout_kills_the_process():
    slow = "slow\nV1 a 0 sin(0 1 1k)\nR1 a b 1k\nC1 b 0 1u\n.tran 1n 10 0 1n\n.end"
    with pytest.raises(SimulationError, match=r"timed out after 0.3 s"):
        run_batch(slow, timeout_s=0.3)


# -------------------------------------------------------------------- pure-Python helpers


def test_parse_raw_binary_multi_plot_and_complex():
    def header(name, flags, variables, points, kind):
        lines = [f"Title: t", f"Plotname: {name}", f"Flags: {flags}", f"No. Variables: {len(variables)}",
                 f"No. Points: {points}", "Variables:"]  # fmt: skip
        lines += [f"\t{i}\t{v}\t{t}" for i, (v, t) in enumerate(variables)]
        return ("\n".join(lines) + f"\n{kind}:\n").encode()

    real = header("Operating Point", "real", [("v(a)", "voltage"), ("i(v1)", "current")], 1, "Binary")
    real += struct.pack("<2d", 0.125, -1e-3)
    cplx = header("AC Analysis", "complex", [("frequency", "frequency"), ("v(a)", "voltage")], 2, "Binary")
    cplx += struct.pack("<8d", 1.0, 0.0, 0.5, -0.5, 10.0, 0.0, 0.25, 0.125)
    plots = parse_raw(real + cplx)
    assert [p.plotname for p in plots] == ["Operating Point", "AC Analysis"]
    assert {k: v.tolist() for k, v in plots[0].vectors.items()} == {"a": [0.125], "i(v1)": [-1e-3]}
    np.testing.assert_array_equal(plots[1].vectors["a"], [0.5 - 0.5j, 0.25 + 0.125j])
    with pytest.raises(ValueError, match="truncated"):
        parse_raw(real[:-4])


# Real ngspice 39.3 output, captured from the shared library.
CAPTURED = {
    "parse": (
        ["stdout Note: No compatibility mode selected!",
         "stderr warning, can't find model 'abc' from line",
         "stderr r2 mid 0 abc",
         "stdout Circuit: v",
         "stderr Error on line 4 or its substitute:",
         "stderr r2 mid 0 abc",
         "stderr unknown parameter (abc) "],
        {"netlist"}, 3,
    ),
    "homotopy-ok": (
        ["stdout Doing analysis at TEMP = 27.000000 and TNOM = 27.000000",
         "stderr Error: 3.99984e+07 out of range for sinh",
         "stderr in line b1",
         "stderr Note: Starting dynamic gmin stepping",
         "stderr Trying gmin =   9.9996E-03 Warning: Last gmin step failed",
         "stderr Warning: Dynamic gmin stepping failed",
         "stderr Note: Starting true gmin stepping",
         "stderr Note: One successful source step",
         "stdout No. of Data Rows : 1"],
        set(), 0,
    ),
    "false-success": (
        ["stderr Supplies reduced to  50.0000% Warning: source stepping failed",
         "stderr Note: Transient op started",
         "stderr Note: Transient op finished successfully",
         "stdout No. of Data Rows : 1"],
        {"convergence"}, 1,
    ),
    "timestep": (
        ["stderr Warning: singular matrix:  check node a",
         "stderr Error: Transient op failed, timestep too small",
         "stdout DC solution failed -",
         "stdout a                                       7.38295e+13                    1 *",
         "stderr doAnalyses: OP:  Timestep too small; trouble with node \"a\"",
         "stderr run simulation(s) aborted"],
        {"convergence", "other"}, 5,
    ),
    "controlled-exit": (
        ["stderr Netlist line no. 2:",
         "stderr Undefined parameter [vin]",
         "stderr Netlist line no. 2:",
         "stderr Cannot compute substitute",
         "stderr Please check your input netlist.",
         "stderr Error: ngspice.dll cannot recover and awaits to be detached"],
        {"netlist", "fatal"}, 6,
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CAPTURED))
def test_classifier_on_captured_output(case):
    lines, kinds, n_errors = CAPTURED[case]
    report = classify_output(lines)
    assert set(report.kinds) == kinds
    assert len(report.errors) == n_errors, report.errors
    assert len(report.errors) + len(report.notes) == len(lines)


@pytest.mark.parametrize("line", ["*#shell touch /tmp/analog_eqprop_hash_probe", " *#echo hi",
                                  ".include /etc/passwd", ".lib /etc/passwd tt", ".INC x.lib"])
def test_command_comments_and_includes_are_refused(line, tmp_path):
    """ngspice runs '*#' lines as commands (measured: '*#shell touch F' creates F), and
    .include/.lib read arbitrary files: the drivers refuse both before ngspice sees them."""
    from analog_eqprop.solvers.ngspice_batch import check_netlist_text

    deck = f"t\n{line}\nR1 a 0 1k\nV1 a 0 1\n.op\n.end\n"
    with pytest.raises(NetlistError, match="line 2"):
        check_netlist_text(deck)
    assert check_netlist_text("t\n* # a plain comment\nR1 a 0 1k\n.end\n")
