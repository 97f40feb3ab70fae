"""The model files analog_eqprop reads at run time: diode cards (``diodes.lib``), amplifier tables
(``amplifiers.toml``) and hardware presets (the other ``*.toml``).

This folder is the place to read and edit them; ``pyproject.toml`` installs it as the package
``analog_eqprop.hardware_models``, so an installed copy finds them with ``importlib.resources``
(see ``analog_eqprop.circuits.elements.hardware_models_dir``).
"""
