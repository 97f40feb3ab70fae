"""Element physics, kept importable here: each kind now lives in its own module of
:mod:`analog_eqprop.elements` (the diode and its model cards in :mod:`analog_eqprop.elements.diode`,
model-card libraries and physical constants in :mod:`analog_eqprop.elements.library`)."""

from analog_eqprop.elements.diode import (  # noqa: F401
    DiodeModel,
    branch_current,
    diode_current,
    diode_model,
    load_diode_models,
    parse_model_cards,
)
from analog_eqprop.elements.library import (  # noqa: F401
    BOLTZMANN,
    CHARGE,
    GMIN,
    HARDWARE_MODELS_DIR,
    T_NOMINAL,
    hardware_models_dir,
    is_library_spec,
    thermal_voltage,
)
from analog_eqprop.spice.numbers import spice_number  # noqa: F401 - the one SPICE number reader

__all__ = [
    "BOLTZMANN", "CHARGE", "T_NOMINAL", "thermal_voltage", "DiodeModel", "diode_current", "parse_model_cards",
    "load_diode_models", "diode_model", "is_library_spec", "hardware_models_dir", "HARDWARE_MODELS_DIR", "GMIN",
    "spice_number", "branch_current",
]
