"""A deck is untrusted input: no hostile deck runs a command, through either driver or the CLI.

The corpus holds the attacks of issue 13 and the spellings ngspice 39.3 itself accepts (read
off its source, ``inp_read``/``inp_spsource`` in ``src/frontend/inpcom.c`` and ``inp.c``, and
tried): every card *starting* with ``.inc``, ``.lib`` or ``.control``, any case, indented
(libngspice strips leading blanks), on the title line, after ``.end``; ``*#`` lines;
``*ng_script`` first lines (also behind a blank line, and as ``.title *ng_script``); a first
line longer than ngspice -b's 5000-byte buffer; CR line ends; a ``\\`` line continuation.
Each payload runs ``shell touch MARKER``. The tests assert that

* the deck policy refuses each deck and names the line (number and text), and that neither
  driver (shared library, ``ngspice -b``) nor ``analog-eqprop simulate`` (both modes, and the
  NumPy backend's parser) creates the marker;
* the corpus is live: with ``trust_deck=True`` ngspice does create the marker for every deck
  marked live in that mode (so the refusals above are what keeps the marker away), and
  ``--trust-deck`` runs a benign ``.control`` block;
* our own decks (the goldens in ``netlists/``, compiled full/Norton/sweep/transient decks,
  labels that are command words) and ordinary hand-written decks still pass.

Marker paths are lower case: ngspice lowercases most of a deck before running it.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

from analog_eqprop.errors import NetlistError
from analog_eqprop.netlist.deck_policy import COMMAND_WORDS, check_deck
from analog_eqprop.solvers.ngspice_shared import ngspice_available

REPO = Path(__file__).resolve().parents[1]
needs_shared = pytest.mark.skipif(not ngspice_available(), reason="libngspice not installed")
needs_binary = pytest.mark.skipif(shutil.which("ngspice") is None, reason="ngspice binary not installed")

CIRCUIT = "R1 a 0 1k\nV1 a 0 1\n"
PAYLOAD = "* payload\n.control\nshell touch {M}\n.endc\n"
LIBRARY = "* library\n.lib sec\n.control\nshell touch {M}\n.endc\n.endl sec\n"
SCRIPT = "*ng_script\nshell touch {M}\n"
FILES = {"p.cir": PAYLOAD, "l.lib": LIBRARY, "s.cir": SCRIPT}
B, S = "batch", "shared"

# (id, deck, line the policy names, modes in which ngspice 39.3 runs the payload when trusted)
HOSTILE = [
    ("incl", "t\n" + CIRCUIT + ".incl {D}/p.cir\n.op\n.end\n", 4, {B, S}),
    ("include", "t\n" + CIRCUIT + ".include {D}/p.cir\n.op\n.end\n", 4, {B, S}),
    ("inc", "t\n" + CIRCUIT + ".inc {D}/p.cir\n.op\n.end\n", 4, {B, S}),
    ("include-upper", "t\n" + CIRCUIT + ".INCLUDE {D}/p.cir\n.op\n.end\n", 4, {B, S}),
    ("include-xyz", "t\n" + CIRCUIT + ".includeXYZ {D}/p.cir\n.op\n.end\n", 4, {B, S}),
    ("incfoo", "t\n" + CIRCUIT + ".incfoo {D}/p.cir\n.op\n.end\n", 4, {B, S}),
    ("include-quoted", "t\n" + CIRCUIT + '.include "{D}/p.cir"\n.op\n.end\n', 4, {B, S}),
    ("include-indented", "t\n" + CIRCUIT + "   .include {D}/p.cir\n.op\n.end\n", 4, {B, S}),
    ("include-tab", "t\n" + CIRCUIT + "\t.inc {D}/p.cir\n.op\n.end\n", 4, {B, S}),
    ("include-crlf", "t\r\n" + CIRCUIT.replace("\n", "\r\n") + ".include {D}/p.cir\r\n.op\r\n.end\r\n", 4, {B, S}),
    ("include-after-end", "t\n" + CIRCUIT + ".op\n.end\n.include {D}/p.cir\n", 6, {B}),
    ("include-on-title-line", ".include {D}/p.cir\n" + CIRCUIT + ".op\n.end\n", 1, {B, S}),
    ("include-in-long-title", "x" * 4999 + ".include {D}/p.cir\n" + CIRCUIT + ".op\n.end\n", 1, {B}),
    ("include-after-backslash", "t\n" + CIRCUIT + "R2 a 0 1k \\\\\n.include {D}/p.cir\n.op\n.end\n", 4, {B, S}),
    ("lib-file-section", "t\n" + CIRCUIT + ".lib {D}/l.lib sec\n.op\n.end\n", 4, {B, S}),
    ("lib-upper-quoted", "t\n" + CIRCUIT + ".LIB '{D}/l.lib' sec\n.op\n.end\n", 4, {B, S}),
    ("library", "t\n" + CIRCUIT + ".library {D}/l.lib sec\n.op\n.end\n", 4, {B, S}),
    ("libfoo", "t\n" + CIRCUIT + ".libfoo {D}/l.lib sec\n.op\n.end\n", 4, {B, S}),
    ("lib-on-title-line", ".lib {D}/l.lib sec\n" + CIRCUIT + ".op\n.end\n", 1, {B, S}),
    ("ng-script", SCRIPT, 1, {B, S}),
    ("ng-script-upper", "*NG_SCRIPT\nshell touch {M}\n", 1, {B, S}),
    ("ng-script-suffix", "*ng_scriptfoo\nshell touch {M}\n", 1, {B, S}),
    ("ng-script-after-blank-line", "\n*ng_script\nshell touch {M}\n", 2, {S}),
    ("ng-script-indented", "  *ng_script\nshell touch {M}\n", 1, {S}),
    ("title-card-ng-script", "t\n.title *ng_script\nshell touch {M}\n" + CIRCUIT + ".op\n.end\n", 2, {B, S}),
    ("title-card-ng-script-line1", ".title *ng_script\nshell touch {M}\n" + CIRCUIT + ".op\n.end\n", 1, {B, S}),
    ("control", "t\n" + CIRCUIT + ".control\nshell touch {M}\n.endc\n.op\n.end\n", 4, {B, S}),
    ("control-upper", "t\n" + CIRCUIT + ".CONTROL\nSHELL touch {M}\n.ENDC\n.op\n.end\n", 4, {B, S}),
    ("control-mixed-case", "t\n" + CIRCUIT + ".CoNtRoL\nShElL touch {M}\n.EnDc\n.op\n.end\n", 4, {B, S}),
    ("control-suffix", "t\n" + CIRCUIT + ".controlfoo\nshell touch {M}\n.endcfoo\n.op\n.end\n", 4, {B, S}),
    ("control-indented", "t\n" + CIRCUIT + "  .control\n  shell touch {M}\n  .endc\n.op\n.end\n", 4, {B, S}),
    ("control-after-end", "t\n" + CIRCUIT + ".op\n.end\n.control\nshell touch {M}\n.endc\n", 6, {B}),
    ("control-cr-line-ends", "t\r" + CIRCUIT.replace("\n", "\r") + ".op\r.control\rshell touch {M}\r.endc\r.end\r",
     5, {B, S}),
    ("control-in-subckt", "t\n" + CIRCUIT + ".subckt s n\n.control\nshell touch {M}\n.endc\n.ends\n.op\n.end\n",
     5, set()),
    ("control-after-formfeed", "t\n" + CIRCUIT + "\f.control\nshell touch {M}\n.endc\n.op\n.end\n", 4, {S}),
    ("control-source-script", "t\n" + CIRCUIT + ".control\nsource {D}/s.cir\n.endc\n.op\n.end\n", 4, {B, S}),
    ("control-pre-command", "t\n" + CIRCUIT + ".control\npre_shell touch {M}\n.endc\n.op\n.end\n", 4, {B, S}),
    ("control-on-title-line", ".control\nshell touch {M}\n.endc\n" + CIRCUIT + ".op\n.end\n", 1, set()),
    ("hash", "t\n" + CIRCUIT + "*#shell touch {M}\n.op\n.end\n", 4, {B, S}),
    ("hash-space", "t\n" + CIRCUIT + "*# shell touch {M}\n.op\n.end\n", 4, {B, S}),
    ("hash-upper", "t\n" + CIRCUIT + "*#SHELL touch {M}\n.op\n.end\n", 4, {B, S}),
    ("hash-indented", "t\n" + CIRCUIT + "  *#shell touch {M}\n.op\n.end\n", 4, {B, S}),
    ("hash-tab", "t\n" + CIRCUIT + "\t*#shell touch {M}\n.op\n.end\n", 4, {B, S}),
    ("hash-only", "t\n*#shell touch {M}\n.end\n", 2, {B, S}),
    ("hash-after-end", "t\n" + CIRCUIT + ".op\n.end\n*#shell touch {M}\n", 6, {B}),
    ("hash-continued-plus", "t\n" + CIRCUIT + "*#shell touch\n+ {M}\n.op\n.end\n", 4, set()),
    ("shell-card", "t\n" + CIRCUIT + "shell touch {M}\n.op\n.end\n", 4, set()),
    ("shell-card-indented-upper", "t\n" + CIRCUIT + "   SHELL touch {M}\n.op\n.end\n", 4, set()),
    ("shell-continued-plus", "t\n" + CIRCUIT + "R2 a 0 1k\n+ shell touch {M}\n.op\n.end\n", 5, set()),
    ("shell-in-param", "t\n" + CIRCUIT + ".param x={shell}\n.op\n.end\n", 4, set()),
    ("backquotes", "t\n" + CIRCUIT + "R2 a 0 `touch {M}`\n.op\n.end\n", 4, set()),
    ("options-unixcom", "t\n" + CIRCUIT + ".options unixcom\n.op\n.end\n", 4, set()),
    ("options-unknown", "t\n" + CIRCUIT + ".options sourcepath={D} rawfile={D}/x\n.op\n.end\n", 4, set()),
    ("xspice-file-source", "t\n" + CIRCUIT + "A1 %v([a]) src\n.model src filesource (file=\"{D}/p.cir\")\n.op\n.end\n",
     4, set()),
    ("model-file-type", "t\n" + CIRCUIT + ".model src filesource (file=\"{D}/p.cir\")\n.op\n.end\n", 4, set()),
    ("osdi-device", "t\n" + CIRCUIT + "N1 a 0 mod\n.op\n.end\n", 4, set()),
    ("line-separator", "t\n" + "R1 a 0 1k\u2028.control\nshell touch {M}\n.endc\n" + "V1 a 0 1\n.op\n.end\n", 2, set()),
]


def _lowercase_dir() -> Path:
    d = Path(tempfile.mkdtemp(prefix="aeq_deck_"))
    if str(d) != str(d).lower():  # pragma: no cover - an upper-case TMPDIR
        shutil.rmtree(d)
        d = Path(tempfile.mkdtemp(prefix="aeq_deck_", dir="/tmp"))
    return d


@pytest.fixture
def place():
    """A fresh lower-case directory with the payload files; yields (dir, marker path)."""
    d = _lowercase_dir()
    marker = d / "mark"
    for name, text in FILES.items():
        (d / name).write_text(text.replace("{M}", str(marker)).replace("{D}", str(d)))
    yield d, marker
    shutil.rmtree(d, ignore_errors=True)


def _deck(template: str, d: Path, marker: Path) -> str:
    return template.replace("{M}", str(marker)).replace("{D}", str(d))


def _named(exc: BaseException, text: str, line: int) -> None:
    """The refusal names the line by number and shows its text."""
    msg = str(exc)
    assert f"line {line}" in msg, msg
    shown = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[line - 1].strip()
    assert shown[:30] in msg or repr(shown[:30])[1:-1] in msg, (shown, msg)


def test_the_corpus_is_big_and_mostly_live():
    assert len(HOSTILE) >= 30 and len({h[0] for h in HOSTILE}) == len(HOSTILE)
    assert sum(bool(h[3]) for h in HOSTILE) >= 30


@pytest.mark.parametrize("name, template, line, live", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_policy_refuses_and_names_the_line(name, template, line, live, place):
    d, marker = place
    text = _deck(template, d, marker)
    with pytest.raises(NetlistError) as info:
        check_deck(text)
    _named(info.value, text, line)


@needs_shared
@needs_binary
@pytest.mark.ngspice
@pytest.mark.parametrize("name, template, line, live", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_drivers_and_cli_refuse_and_never_run_it(name, template, line, live, place, capsys):
    from analog_eqprop.cli import main
    from analog_eqprop.netlist import parse_netlist
    from analog_eqprop.solvers.ngspice_backend import run_deck
    from analog_eqprop.solvers.ngspice_batch import run_batch
    from analog_eqprop.solvers.ngspice_shared import operating_point, run_netlist

    d, marker = place
    text = _deck(template, d, marker)
    for call in (lambda: run_netlist(text), lambda: operating_point(text), lambda: run_batch(text),
                 lambda: run_deck(text, "shared"), lambda: run_deck(text, "batch")):
        with pytest.raises(NetlistError) as info:
            call()
        _named(info.value, text, line)
    with pytest.raises(NetlistError):  # the NumPy backend's way in
        parse_netlist(text)
    path = d / "hostile.cir"
    path.write_bytes(text.encode("utf-8"))
    for argv in (["--backend", "ngspice", "--mode", "shared"], ["--backend", "ngspice", "--mode", "batch"],
                 ["--backend", "numpy"]):
        assert main(["simulate", str(path), *argv]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        if "ngspice" in argv:
            assert f"line {line}" in err, err
    assert not marker.exists() and not any(p.name.lower() == "mark" for p in d.iterdir())


@needs_binary
@pytest.mark.ngspice
def test_the_corpus_is_live_in_batch_mode():
    """With trust_deck=True, ngspice -b runs every payload marked live: the refusals are what
    keeps the markers away (a corpus of decks that never worked would prove nothing)."""
    from analog_eqprop.solvers.ngspice_batch import run_batch

    ran = {}
    for name, template, _, live in HOSTILE:
        d = _lowercase_dir()
        try:
            marker = d / "mark"
            for fname, ftext in FILES.items():
                (d / fname).write_text(_deck(ftext, d, marker))
            try:
                run_batch(_deck(template, d, marker), trust_deck=True, throw=False, timeout_s=30)
            except NetlistError:
                pass
            ran[name] = marker.exists()
        finally:
            shutil.rmtree(d, ignore_errors=True)
    assert {n for n, r in ran.items() if r} == {h[0] for h in HOSTILE if B in h[3]}


@needs_shared
@pytest.mark.ngspice
def test_the_corpus_is_live_in_shared_mode(tmp_path):
    """The same through libngspice, in a child process (the payloads run in its engine)."""
    cases = [(h[0], h[1]) for h in HOSTILE]
    code = textwrap.dedent(
        """
        import json, shutil, sys, tempfile
        from pathlib import Path
        from analog_eqprop.errors import AnalogEqpropError
        from analog_eqprop.solvers.ngspice_shared import run_netlist
        cases, files = json.loads(sys.argv[1]), json.loads(sys.argv[2])
        ran = {}
        for name, template in cases:
            d = Path(tempfile.mkdtemp(prefix="aeq_deck_"))
            marker = d / "mark"
            sub = lambda t: t.replace("{M}", str(marker)).replace("{D}", str(d))
            for fname, ftext in files.items():
                (d / fname).write_text(sub(ftext))
            try:
                run_netlist(sub(template), trust_deck=True, throw=False, timeout_s=30)
            except AnalogEqpropError:
                pass
            ran[name] = marker.exists()
            shutil.rmtree(d, ignore_errors=True)
        print(json.dumps(ran))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(cases), json.dumps(FILES)], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ran = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {n for n, r in ran.items() if r} == {h[0] for h in HOSTILE if S in h[3]}


# ------------------------------------------------------------------------ trusted decks
BENIGN = ("trusted\nV1 a 0 1\nR1 a b 1k\nR2 b 0 3k\n.op\n"
          ".control\nshell touch {M}\necho TRUSTED_BLOCK_RAN\n.endc\n.end\n")


@needs_shared
@needs_binary
@pytest.mark.ngspice
@pytest.mark.parametrize("mode", ["batch", "shared"])
def test_trust_deck_runs_a_benign_control_block(mode, place, capsys):
    from analog_eqprop.cli import main
    from analog_eqprop.solvers.ngspice_shared import operating_point

    d, marker = place
    path = d / "benign.cir"
    path.write_text(_deck(BENIGN, d, marker))
    assert main(["simulate", str(path), "--backend", "ngspice", "--mode", mode, "--json"]) == 2
    assert "line 6" in capsys.readouterr().err and not marker.exists()
    assert main(["simulate", str(path), "--backend", "ngspice", "--mode", mode, "--trust-deck", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert marker.exists(), "the trusted deck's own .control block did not run"
    assert out["trusted_deck"] is True and abs(out["voltages"]["b"] - 0.75) < 1e-9
    # the engine stays usable for untrusted decks afterwards
    assert abs(operating_point("d\nV1 a 0 2\nR1 a b 1k\nR2 b 0 1k\n.end").vectors["b"][0] - 1.0) < 1e-9


@needs_shared
@pytest.mark.ngspice
def test_trusted_deck_reaches_ngspice_own_parser():
    """An unknown card is refused by the policy; trusted, ngspice's own error comes back."""
    from analog_eqprop.solvers.ngspice_shared import operating_point

    deck = "bad\nV1 in 0 1\nR1 in 0 1k\n.foo bar\n.op\n.end"
    with pytest.raises(NetlistError, match="card '.foo' is not allowed"):
        operating_point(deck)
    with pytest.raises(NetlistError, match="(?i)unimplemented control card"):
        operating_point(deck, trust_deck=True)


# ------------------------------------------------------------------------ what passes
def _goldens() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("regenerate", REPO / "netlists" / "regenerate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.golden_netlists()


def _compiled_decks() -> list[str]:
    from analog_eqprop.circuits import circuit_from_graph, drn_circuit, kendall_circuit, layered_circuit
    from analog_eqprop.netlist import compile_netlist, compile_sweep
    from analog_eqprop.netlist.compiler import Transient
    from analog_eqprop.netlist.names import RESERVED
    from analog_eqprop.solvers.ngspice_backend import DEFAULT_OPTIONS, RETRY_AIDS, TIGHT_OPTIONS

    import networkx as nx

    k = kendall_circuit(3, 2, 2, seed=1)
    lay = layered_circuit([2, 2, 1], seed=0)
    X = np.random.default_rng(0).random((3, 3))
    decks = [compile_netlist(k, x=X[0], form=form, options=opts).text
             for form in ("full", "norton") for opts in (None, TIGHT_OPTIONS, DEFAULT_OPTIONS)]
    decks += [compile_netlist(k, x=X[0], options={**TIGHT_OPTIONS, **extra}).text for _, extra in RETRY_AIDS if extra]
    decks += [compile_sweep(k, None, X, form=form, repeats=3, options=DEFAULT_OPTIONS).text
              for form in ("full", "norton")]
    decks.append(compile_netlist(k, x=X[0], beta=1e-3, target=[1.0, 0.0], nudge_ref=np.zeros(k.n_free),
                                 nodeset=np.zeros(k.n_free)).text)
    decks.append(compile_netlist(lay, x=[0.1, 0.9], transient=Transient(capacitance=np.full(lay.n_free, 1e-9),
                                                                          t_stop=1e-6, t_step=1e-8),
                                 probes=True).text)
    decks.append(compile_netlist(drn_circuit([4, 3, 2], seed=1), options={"gmin": 1e-13, "noacct": True,
                                                                         "maxord": 2, "klu": True,
                                                                         "method": "gear"}).text)
    # labels that are command words or reserved words, and a hostile circuit name
    G = nx.Graph()
    words = sorted(COMMAND_WORDS | RESERVED - {"0", "gnd"})
    G.add_node("in", role="input", feature=0)
    for w in words:
        G.add_node(w, role="hidden", layer=1)
        G.add_edge("in", w, weight=1e-5)
    G.add_node("out", role="output", layer=2, output_index=0)
    for w in words:
        G.add_edge(w, "out", weight=1e-5)
    c = circuit_from_graph(G, name="shell touch /tmp/x\n.control\n*ng_script", clamp=None)
    decks.append(compile_netlist(c, x=[0.5], options=TIGHT_OPTIONS).text)
    return decks


def test_our_own_decks_pass_unchanged():
    decks = list(_goldens().values()) + _compiled_decks()
    on_disk = sorted((REPO / "netlists").glob("*.cir"))
    assert on_disk
    for path in on_disk:
        check_deck(path.read_text(encoding="utf-8"))
    for text in decks:
        check_deck(text)


@needs_shared
@needs_binary
@pytest.mark.ngspice
def test_our_own_decks_run_with_the_policy_on():
    from analog_eqprop.solvers.ngspice_batch import run_batch
    from analog_eqprop.solvers.ngspice_shared import run_netlist

    for text in list(_goldens().values())[:2] + _compiled_decks()[-1:]:
        a, b = run_netlist(text), run_batch(text)
        for name, vec in a.vectors.items():
            np.testing.assert_allclose(b.vectors[name], vec, atol=1e-12)


USER_DECKS = [
    # an ordinary hand-written deck: comments anywhere, inline comments, units, continuation
    "* RC divider (comments may say shell, .control or .include: they are inert)\n"
    "V1 in 0 DC 1 AC 0 ; source\nR1 in mid 1kohm $ upper\nR2 mid 0 3k // lower\nC1 mid 0 10u\n"
    "L1 mid out 1m\nR3 out 0\n+ 1meg\n.options reltol=1e-4 method=gear\n.op\n.end\n",
    # subcircuits, parameters, behavioural and controlled sources, a MOSFET
    ".title amplifier test\n.param rl=2k\n.subckt load a b\nR1 a b {rl}\n.ends\nV1 in 0 0.5\n"
    "E1 e 0 in 0 2\nG1 0 g in 0 1m\nRg g 0 1k\nB1 b 0 V=tanh(v(in))\nRb b 0 1k\nX1 e 0 load\n"
    ".model nm nmos (level=1 vto=0.5 kp=1e-4)\nM1 d in 0 0 nm W=10u L=1u\nRd vdd d 10k\nVdd vdd 0 3.3\n"
    "F1 0 f V1 0.5\nRf f 0 1k\nH1 h 0 V1 100\nRh h 0 1k\nD1 in dd dm\nRdd dd 0 1k\n.model dm d(is=1e-14 n=1.5)\n"
    ".dc V1 0 1 0.5\n.end\n",
]


@pytest.mark.parametrize("text", USER_DECKS, ids=["rc-divider", "amplifier"])
def test_ordinary_user_decks_pass(text):
    check_deck(text)


@needs_binary
@pytest.mark.ngspice
def test_ordinary_user_decks_run():
    from analog_eqprop.solvers.ngspice_batch import run_batch

    run = run_batch(USER_DECKS[0])
    lower = 1 / (1 / 3e3 + 1 / 1e6)  # R2 beside L1 + R3 (C1 open, L1 shorted at DC)
    assert abs(run.vectors["mid"][0] - lower / (1e3 + lower)) < 1e-6
    assert run_batch(USER_DECKS[1]).vectors["in"].shape == (3,)


@pytest.mark.parametrize("line, fragment", [
    ("R9 a 0 353_006", "ngspice would read 353"),
    ("R9 a 0 10k2", "ignore '2'"),
    ("C9 a 0 1e-", "has no digits"),
    ("V9 a 0 DC 1.2.3", "1.2.3"),
    (".model dx d(is=1e-14_3)", "1e-14_3"),
    (".options reltol=1e309", "not finite"),
    (".options rawfile=out.raw", "'rawfile' is not allowed"),
    (".options method=euler", "allowed values are"),
    (".model q1 npn (bf=100)", "model type 'npn' is not allowed"),
    ("Q1 c b e qmod", "element letter 'Q' is not allowed"),
    (".ac dec 10 1 1meg", "card '.ac' is not allowed"),
    ("R9 a 0 1k\u03a9", "non-ASCII"),
    ("$ a comment the deck policy does not read", "cannot start with '$'"),
    ("+ 1k", "without a card"),
])
def test_policy_refusals_name_the_line(line, fragment):
    text = "t\n" + (line if line.startswith("+") else CIRCUIT + line) + "\n.op\n.end\n"
    n = 2 if line.startswith("+") else 4
    with pytest.raises(NetlistError, match="deck line %d:" % n) as info:
        check_deck(text)
    assert fragment in str(info.value), str(info.value)


def test_backend_options_are_checked_up_front():
    from analog_eqprop.errors import ConfigError
    from analog_eqprop.solvers.ngspice_backend import NgspiceBackend

    NgspiceBackend(options={"reltol": np.float64(1e-6), "itl1": np.int64(200), "method": "gear", "klu": True})
    for bad, fragment in [({"rawfile": "x.raw"}, "'rawfile' is not allowed"), ({"method": "euler"}, "allowed values"),
                          ({"reltol": float("nan")}, "finite"), ({"gmin": "1_0"}, "not a SPICE number"),
                          ({"reltol": True}, "needs a value")]:
        with pytest.raises(ConfigError, match=fragment):
            NgspiceBackend(options=bad)


# ------------------------------------------------------------------------ user init files
# ngspice sources `.spiceinit` from the working directory (else the user's home) at start-up:
# code (`shell`) and options. The toolkit starts ngspice without it in both modes.
SPICEINIT = "* hostile init file\nshell touch {M}\noption gmin=1e-3\n"
DIVIDER = "divider\nV1 a 0 1\nR1 a b 1k\nR2 b 0 3k\n.op\n.end\n"


@needs_shared
@pytest.mark.ngspice
def test_shared_engine_ignores_a_spiceinit_in_the_working_directory(tmp_path):
    """A child process started in a directory holding a hostile `.spiceinit`: the engine
    neither runs it (no marker) nor takes its option (gmin 1e-3 S from b to ground would pull
    v(b) from 0.75 V to ~0.43 V), and the process's working directory is unchanged."""
    marker = tmp_path / "mark"
    (tmp_path / ".spiceinit").write_text(SPICEINIT.replace("{M}", str(marker)))
    code = textwrap.dedent(
        """
        import json, os
        from analog_eqprop.solvers.ngspice_shared import operating_point
        before = os.getcwd()
        v = float(operating_point(%r).vectors["b"][0])
        print(json.dumps({"v": v, "same_cwd": os.getcwd() == before}))
        """ % DIVIDER
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not marker.exists(), "ngspice ran the working directory's .spiceinit"
    assert abs(out["v"] - 0.75) < 1e-9 and out["same_cwd"]


def test_shared_engine_starts_beside_an_empty_spiceinit(tmp_path, monkeypatch):
    """ngspice reads ~/.spiceinit (the passwd home, not $HOME) only when the working directory
    has none: the engine starts where an empty one stands, and the caller's directory is back
    afterwards."""
    from analog_eqprop.solvers.ngspice_shared import _without_user_init_files

    monkeypatch.chdir(tmp_path)
    with _without_user_init_files():
        here = Path.cwd()
        assert here != tmp_path and (here / ".spiceinit").read_text() == ""
        assert sorted(p.name for p in here.iterdir()) == [".spiceinit"]
    assert Path.cwd() == tmp_path and not here.exists()


@needs_binary
@pytest.mark.ngspice
def test_batch_mode_ignores_the_users_spiceinit(tmp_path, monkeypatch):
    """`ngspice -b` reads $HOME/.spiceinit: the batch driver starts it with -n."""
    from analog_eqprop.solvers.ngspice_batch import run_batch

    marker = tmp_path / "mark"
    (tmp_path / ".spiceinit").write_text(SPICEINIT.replace("{M}", str(marker)))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    run = run_batch(DIVIDER)
    assert not marker.exists(), "ngspice -b ran the user's .spiceinit"
    assert abs(run.vectors["b"][0] - 0.75) < 1e-9
