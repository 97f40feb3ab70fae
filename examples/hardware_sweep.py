"""Train a resistive circuit on device models: accuracy against levels, noise and variation.

Question answered: "How much do real devices cost a circuit trained with EqProp?"

Trains the same 64-16-10 deep resistive network on a slice of the built-in digits, once per
hardware setting (one non-ideality at a time, from an ideal device in a 0.1-20 uS window),
then reports the physical figures of one preset (power, and with ngspice the settling time and
energy per example). The full sweep, with plots, is ``benchmarks/hardware_sweep.py``.

    python examples/hardware_sweep.py            # ~20 s on a laptop
"""

from analog_eqprop.circuits import drn_circuit
from analog_eqprop.data import load_digits
from analog_eqprop.hardware import HardwareNetwork
from analog_eqprop.hardware.energy import energy_report
from analog_eqprop.hardware.sweep import SWEEP_BASE, summarize, sweep_hardware
from analog_eqprop.solvers.ngspice_shared import ngspice_available
from analog_eqprop.training import TrainConfig

data = load_digits().subset(n_test=200)
circuit = drn_circuit([64, 16, 10], seed=0)
train = TrainConfig(epochs=2, learning_rates=(1e-7,), optimizer="adam", beta=1e-6, beta_mode="positive")
settings = {"n_levels": [0, 32, 4], "read_noise": [0.0, 0.01], "d2d_variation": [0.0, 0.3]}
table = summarize(sweep_hardware(circuit, data, settings, base=SWEEP_BASE, train=train))
print(f"{'setting':<16}{'value':>8}{'test error %':>14}")
for row in table:
    print(f"{row['setting']:<16}{row['value']!s:>8}{100 * row['test_error']:>14.1f}")

net = HardwareNetwork(circuit, "rram", seed=0)
rep = energy_report(net, data.x_test[:20], data.y_test[:20], n_settle=1, transient=ngspice_available())
print(f"rram preset: {1e3 * rep['power_free']['dissipated']:.2f} mW per example (free phase)", end="")
if "energy_inference_J" in rep:
    print(f", settles in {1e12 * rep['settling_free_s'][0]:.1f} ps, "
          f"{1e15 * rep['energy_inference_J']:.1f} fJ per inference", end="")
print()
best = min(r["test_error"] for r in table)
assert best < 0.6, "the ideal end of the sweep should learn something in 2 epochs"
