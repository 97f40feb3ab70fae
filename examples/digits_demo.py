"""Digital vs analog on the built-in digits: one circuit trained with NumPy and with ngspice.

Question answered: "If I train on the NumPy twin, would the SPICE-simulated circuit have
learned the same thing?" Trains a drn 64-32-10 circuit twice from the same conductances on
the same batches, once per backend, and measures fixed-point agreement (max |dV| on the
same conductances), update agreement (cosine), weight divergence and both accuracy curves;
writes report.json and four figures. `make demo` runs the same comparison for 10 epochs
through the command line (`analog-eqprop compare`).

    python examples/digits_demo.py                       # 2 epochs, ~25 s; figures in digits_demo/
    python examples/digits_demo.py --epochs 10 --out runs/digits
"""

import argparse
import sys

from analog_eqprop.circuits.config import CircuitConfig, build_circuit
from analog_eqprop.compare import compare_backends, default_train_config
from analog_eqprop.data import load_digits
from analog_eqprop.plotting import save_comparison_figures
from analog_eqprop.solvers.ngspice_shared import ngspice_available

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--out", default="digits_demo", help="directory for report.json and the PNGs")
args = parser.parse_args()
if not ngspice_available():
    sys.exit("ngspice is not installed (Debian: apt-get install ngspice libngspice0)")

circuit = build_circuit([64, 32, 10], CircuitConfig.preset("drn"), seed=0)
config = default_train_config(learning_rates=(2e-7,), batch_size=20)  # Adam, 0.2 uS steps, beta = 1 uS
report = compare_backends(circuit, load_digits(), epochs=args.epochs, train_config=config,
                          callback=lambda chk, a, b: print(f"epoch {a['epoch']}: test error numpy "
                                                           f"{100 * a['test_error']:.2f}%, ngspice "
                                                           f"{100 * b['test_error']:.2f}%", flush=True))
print(report.table())
report.to_json(f"{args.out}/report.json")
print("figures:", ", ".join(str(p) for p in save_comparison_figures(report, args.out)))

s = report.summary()
assert s["max_abs_dv"] <= 1e-6 and s["accuracy_gap_pp"] <= 0.3, "the two backends should agree"
