"""Rewrite the golden netlists in this folder (``python netlists/regenerate.py``).

Each golden is a fixed circuit (fixed seed), a fixed example and fixed options, compiled
by :func:`analog_eqprop.netlist.compile_netlist`. ``tests/test_netlist.py`` rebuilds them
in memory with :func:`golden_netlists` and compares byte for byte, so any change to the
compiler's output shows up as a diff of these files. Regenerate only on purpose, and
review the diff.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OPTIONS = {"reltol": 1e-6, "vntol": 1e-9}


def _digit() -> np.ndarray:
    """The first test image of the built-in 8x8 digits set (64 features in [0, 1])."""
    from analog_eqprop.data import load_dataset

    return load_dataset("digits").x_test[0]


def golden_netlists() -> dict[str, str]:
    """File name -> netlist text of every golden."""
    from analog_eqprop.circuits import drn_circuit, kendall_circuit, layered_circuit, transistor_circuit
    from analog_eqprop.netlist import compile_netlist

    x = _digit()
    tiny = layered_circuit([2, 2, 1], seed=0)
    nudged = kendall_circuit(2, 2, 2, seed=0, nudge="resistive")
    drn = drn_circuit([64, 32, 10], seed=0)
    kendall = kendall_circuit(64, 16, 10, seed=0)
    transistors = transistor_circuit([2, 3, 2], seed=0)
    target = np.eye(2)[0]
    return {
        "tiny_layered-2-2-1.cir": compile_netlist(tiny, x=[0.25, 0.75], options=OPTIONS).text,
        "tiny_kendall-4-2-4_resistive-nudge.cir": compile_netlist(nudged, x=[0.25, 0.75], beta=1e-5, target=target,
                                                         options=OPTIONS).text,
        "digits_drn-64-32-10.cir": compile_netlist(drn, x=x, options=OPTIONS).text,
        "digits_kendall-128-16-20.cir": compile_netlist(kendall, x=x, options=OPTIONS).text,
        "digits_kendall-128-16-20_norton.cir": compile_netlist(kendall, x=x, form="norton", options=OPTIONS).text,
        "tiny_transistor-4-3-2.cir": compile_netlist(transistors, x=[0.25, 0.75], options=OPTIONS).text,
    }


def main() -> int:
    for name, text in golden_netlists().items():
        path = HERE / name
        old = path.read_text(encoding="utf-8") if path.exists() else None
        path.write_text(text, encoding="utf-8", newline="\n")
        print(f"{'unchanged' if old == text else 'wrote':9} {name}: {text.count(chr(10))} lines, {len(text)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
