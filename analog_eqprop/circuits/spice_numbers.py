"""The SPICE number reader, kept importable here: it lives in :mod:`analog_eqprop.spice.numbers`."""

from analog_eqprop.spice.numbers import (  # noqa: F401
    SCALE_FACTORS,
    NumberScan,
    is_spice_number,
    option_value,
    scan_number,
    spice_number,
)

__all__ = ["spice_number", "is_spice_number", "option_value", "scan_number", "NumberScan", "SCALE_FACTORS"]
