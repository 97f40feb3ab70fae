"""Device non-idealities, hardware presets, power and energy of analog EqProp circuits.

* :mod:`.config` -- frozen configs (:class:`HardwareConfig` of :class:`DeviceConfig`,
  :class:`WireConfig`, :class:`AmplifierConfig`) and the named presets of ``hardware_models/``;
* :mod:`.device` -- :class:`DeviceArray`: levels, noise, variation, asymmetric soft-bounded
  updates, stuck devices;
* :mod:`.transforms` -- circuit -> physical circuit (range, diode card, amplifiers, wires);
* :mod:`.network` -- :class:`HardwareNetwork`, the trainable model built of devices;
* :mod:`.power` -- power per element kind at an operating point;
* :mod:`.energy` -- settling times from ngspice transients, energy per inference / example;
* :mod:`.sweep` -- accuracy against one non-ideality at a time (examples and benchmarks).

Presets, their sources and how to override them: ``hardware_models/*.toml`` and
:func:`load_hardware`; the CLI takes ``--hardware NAME|FILE --hardware-set KEY=VALUE`` (train,
report).

Examples
--------
>>> from analog_eqprop.circuits import layered_circuit
>>> net = HardwareNetwork(layered_circuit([2, 3, 1], seed=0), "ecram", seed=0)
>>> net.hardware.device.n_levels, net.devices.g_max
(101, 3e-05)
"""

from analog_eqprop.hardware.config import (
    AMPLIFIER_FILE,
    HARDWARE_PRESETS,
    AmplifierConfig,
    DeviceConfig,
    HardwareConfig,
    WireConfig,
    hardware_from_dict,
    hardware_to_toml,
    load_hardware,
    load_hardware_text,
    with_overrides,
)
from analog_eqprop.hardware.device import DeviceArray
from analog_eqprop.hardware.network import HardwareNetwork, wrap_model
from analog_eqprop.hardware.power import PowerBreakdown, power_breakdown
from analog_eqprop.hardware.transforms import line_resistance, with_lines

__all__ = [
    "AMPLIFIER_FILE", "HARDWARE_PRESETS", "AmplifierConfig", "DeviceConfig", "HardwareConfig", "WireConfig",
    "hardware_from_dict", "hardware_to_toml", "load_hardware", "load_hardware_text", "with_overrides",
    "DeviceArray", "HardwareNetwork", "wrap_model", "PowerBreakdown", "power_breakdown", "line_resistance",
    "with_lines",
]
