"""``analog-eqprop simulate``: the DC operating point of a netlist, NumPy twin or ngspice."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from analog_eqprop.cli.common import HelpFormatter, print_json
from analog_eqprop.errors import ConfigError, NetlistError
from analog_eqprop.netlist import parse_netlist
from analog_eqprop.solvers.newton import solve_dc
from analog_eqprop.solvers.ngspice_backend import run_deck

DESCRIPTION = """\
Find the DC operating point of a netlist written by `analog-eqprop netlist` (or by the
library's compiler), with the NumPy twin (the netlist is parsed back into its circuit and
solved by batched Newton) or with ngspice (the deck is run as it is, through libngspice or
`ngspice -b`). Node names are those of the netlist.

A deck is code: ngspice runs shell commands from .control blocks, '*#' lines and
'*ng_script' files, and reads any file an .include or .lib card names. So a deck must pass
the deck policy first, an allow list of element letters (R C L V I D E F G H B M X), dot
cards (.model .options .op .dc .tran .save .print .ic .nodeset .temp .global .param .func
.subckt .ends .title .end), model types and options; a refusal names the line. Only for a
deck whose every line you would run yourself: --trust-deck runs it as written, its own
commands included.

examples:
  analog-eqprop simulate netlists/tiny_layered-2-2-1.cir --backend numpy --json
  analog-eqprop simulate out.cir --backend ngspice --mode batch
  analog-eqprop simulate my_own.cir --backend ngspice --trust-deck   # runs its .control block too
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="DC operating point of a netlist", description=DESCRIPTION,
                       formatter_class=HelpFormatter)
    p.add_argument("netlist", help="a .cir file")
    p.add_argument("--backend", choices=("numpy", "ngspice"), default="numpy", help="who solves the circuit")
    p.add_argument("--mode", choices=("shared", "batch"), default="shared",
                   help="ngspice through its shared library or an `ngspice -b` subprocess")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds before the analysis is stopped with an error (batch: the process is killed; "
                        "shared: the analysis is halted)")
    p.add_argument("--trust-deck", action="store_true",
                   help="run the deck's own commands (.control blocks, '*#' lines, scripts, includes): skips the "
                        "deck policy; only for decks you would run yourself (ngspice backend)")
    p.add_argument("--json", action="store_true", help='print {"voltages": {node: volts}, "status": ...}')
    p.set_defaults(func=run)


def simulate_numpy(text: str) -> tuple[dict[str, float], dict]:
    """Parse a netlist back into its circuit and solve it with the NumPy Newton solver."""
    parsed = parse_netlist(text)
    circuit, g, x = parsed.to_circuit()
    kw = parsed.compile_kwargs()
    X = np.zeros((1, circuit.n_features)) if x is None else np.atleast_2d(x)
    ref = None if kw["nudge_ref"] is None else np.atleast_2d(kw["nudge_ref"])
    target = None if kw["target"] is None else np.atleast_2d(kw["target"])
    op = solve_dc(circuit, g, X, beta=kw["beta"], target=target, ref=ref)
    volts = {name: float(v) for name, v in zip(parsed.free_nodes, op.voltages[0])}
    info = {"status": op.status, "iterations": op.iterations, "residual": float(op.residual[0]),
            "seconds": op.seconds}
    return volts, info


def simulate_ngspice(text: str, mode: str, timeout: float, *, trust_deck: bool = False
                     ) -> tuple[dict[str, float], dict]:
    """Run the deck in ngspice (after the deck policy, unless ``trust_deck``); report every
    node voltage it returns."""
    run = run_deck(text, mode, timeout, trust_deck=trust_deck)
    volts = {}
    for name, vec in run.vectors.items():
        if name.startswith("i(") or name in ("v-sweep", "i-sweep") or "#" in name:
            continue
        key = name[2:-1] if name.startswith("v(") and name.endswith(")") else name
        arr = np.asarray(vec).reshape(-1)
        if arr.size:
            volts[key] = float(arr[-1])
    return volts, {"status": "converged", "seconds": run.seconds, "notes": list(run.notes)[-5:],
                   "trusted_deck": trust_deck}


def run(args: argparse.Namespace) -> int:
    path = Path(args.netlist)
    if not path.is_file():
        raise ConfigError(f"netlist not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise NetlistError(f"{path}: not a text netlist (cannot decode as UTF-8)") from None
    if args.backend == "numpy":
        volts, info = simulate_numpy(text)
    else:
        volts, info = simulate_ngspice(text, args.mode, args.timeout, trust_deck=args.trust_deck)
    if args.json:
        print_json({"voltages": volts, "backend": args.backend, **info})
        return 0
    print(f"{path}: {info['status']} ({args.backend}, {info['seconds'] * 1e3:.1f} ms)")
    width = max((len(k) for k in volts), default=4)
    for node, v in volts.items():
        print(f"  {node:<{width}}  {v: .9f} V")
    return 0
