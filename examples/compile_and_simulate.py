"""Compile a circuit to a SPICE netlist, run it in ngspice, and check it against the NumPy twin.

Question answered: "What does my network look like as a circuit, and does ngspice agree
with the NumPy solver that training uses?" Builds a drn 64-16-10 circuit (Scellier 2024
style: +/-x input sources, diode-clamped hidden nodes, linear outputs), writes one digit as
a netlist you can run yourself (`ngspice -b drn_digit.cir`), simulates it in ngspice and
solves the same circuit with NumPy.

    python examples/compile_and_simulate.py            # ~3 s; writes drn_digit.cir here
"""

import sys

import numpy as np

from analog_eqprop.circuits import drn_circuit
from analog_eqprop.data import load_digits
from analog_eqprop.models import ResistiveNetwork
from analog_eqprop.netlist import compile_netlist
from analog_eqprop.solvers.ngspice_shared import ngspice_available, run_netlist

circuit = drn_circuit([64, 16, 10], seed=0)
x = load_digits().x_test[:1]                                  # one 8x8 digit, pixels in [0, 1]
print(f"{circuit.name}: {circuit.n_free} free nodes, {circuit.n_sources} sources, "
      f"{circuit.n_edges} conductances, {circuit.n_diodes} diodes")

netlist = compile_netlist(circuit, circuit.edge_g, x[0], options={"reltol": 1e-6, "vntol": 1e-9})
path = netlist.write("drn_digit.cir")
print(f"wrote {path} ({netlist.n_lines} lines), e.g.:")
print("\n".join("  " + line for line in netlist.lines if line.startswith(("vs0 ", "r0 ", "d0 ", ".model", ".op"))))

v_numpy = ResistiveNetwork(circuit).relax(x).state[:, : circuit.n_free]
if not ngspice_available():
    sys.exit("ngspice is not installed (Debian: apt-get install ngspice libngspice0); stopping here")
run = run_netlist(netlist.text)                              # libngspice, in this process
v_spice = netlist.free_voltages(run.vectors)

print(f"\n{'node':>6}  {'NumPy [V]':>14}  {'ngspice [V]':>14}")
for label, a, b in list(zip(netlist.free_labels, v_numpy[0], v_spice[0]))[-10:]:   # the output nodes
    print(f"{label:>6}  {a:14.9f}  {b:14.9f}")
dv = float(np.max(np.abs(v_numpy - v_spice)))
print(f"max |V_numpy - V_ngspice| over all {circuit.n_free} nodes: {dv:.2e} V "
      f"(ngspice {run.seconds * 1e3:.1f} ms)")
assert dv < 1e-6, "the NumPy twin and ngspice should agree to well under a microvolt"
