"""Model-card libraries: where the shipped cards live, reading ``.model`` cards, ``FILE:NAME`` specs.

Device kinds with SPICE model cards (diodes, MOSFETs) share this: a ``.lib`` file is read
line by line (``+`` continuation lines joined, ``*`` and ``;`` comments dropped), each
``.model NAME TYPE (KEY=VALUE ...)`` card of the wanted types is handed to the kind's card
class, values read by the one SPICE number reader. A user names a card by its name in the
shipped library, or as ``FILE.lib:NAME`` / ``FILE.lib`` in a library file of their own.

Physical constants are ngspice's own (``src/include/ngspice/const.h``), so thermal voltages
match ngspice to the last digit.

Examples
--------
>>> cards = model_cards(".model DX D(IS=1n N=2)\\n.model M1 NMOS(LEVEL=1\\n+ VTO=0.5)\\n", ("NMOS",))
>>> [(name, kind, params) for name, kind, params in cards]
[('M1', 'NMOS', [('LEVEL', 1.0), ('VTO', 0.5)])]
"""

from __future__ import annotations

import math
import re
from importlib import resources
from pathlib import Path

from analog_eqprop.errors import ConfigError, NetlistError
from analog_eqprop.spice.numbers import spice_number

__all__ = ["BOLTZMANN", "CHARGE", "T_NOMINAL", "GMIN", "thermal_voltage", "hardware_models_dir",
           "HARDWARE_MODELS_DIR", "model_cards", "read_library", "library_spec", "is_library_spec", "resolve_model",
           "CARD_NAME"]

# ngspice's own constants (src/include/ngspice/const.h), so V_T matches to the last digit.
BOLTZMANN = 1.38064852e-23  # J/K
CHARGE = 1.6021766208e-19  # C
T_NOMINAL = 300.15  # K (27 degC, ngspice's default TEMP and TNOM)
GMIN = 1e-12  # S, ngspice's default junction gmin
E = math.e

#: A model card name: letters, digits and ``_``, starting with a letter.
CARD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_MODEL_RE = re.compile(r"^\s*\.model\s+([A-Za-z][A-Za-z0-9_]*)\s+([A-Za-z]+)\s*\(?(.*?)\)?\s*$", re.IGNORECASE)
_PARAM_RE = re.compile(r"([A-Za-z][A-Za-z0-9_]*)=(\S+)$")


def hardware_models_dir() -> Path:
    """The folder of the model files the library ships (diode cards, amplifier tables, presets).

    In the repository they live in the top-level ``hardware_models/``, the place to read and
    edit them; ``pyproject.toml`` maps that folder onto the package ``analog_eqprop.hardware_models``,
    so a wheel carries them inside the package and an editable install reads the folder itself.
    Either way they are found with :mod:`importlib.resources`, never by the repository's layout.
    A user's own files are read by path instead (:func:`load_diode_models`, :func:`diode_model`,
    :func:`analog_eqprop.hardware.load_hardware`).
    """
    try:
        return Path(str(resources.files("analog_eqprop.hardware_models")))
    except ModuleNotFoundError:  # an install without them: every reader names the missing file here
        return Path(str(resources.files("analog_eqprop").joinpath("hardware_models")))


#: Where the shipped model files are (see :func:`hardware_models_dir`).
HARDWARE_MODELS_DIR = hardware_models_dir()


def thermal_voltage(temperature_k: float = T_NOMINAL) -> float:
    """``k T / q`` in volts (0.0258649 V at 300.15 K)."""
    return BOLTZMANN * temperature_k / CHARGE


def model_cards(text: str, types: tuple[str, ...]) -> list[tuple[str, str, list[tuple[str, float]]]]:
    """``(name, TYPE, [(KEY, value), ...])`` of every ``.model`` card of ``types`` (upper case)
    in SPICE library text, in order; keys upper case, values read by the SPICE number reader."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].rstrip()
        if not line.strip() or line.lstrip().startswith("*"):
            continue
        if line.lstrip().startswith("+") and lines:
            lines[-1] += " " + line.lstrip()[1:]
        else:
            lines.append(line)
    out = []
    for line in lines:
        m = _MODEL_RE.match(line)
        if not m or m.group(2).upper() not in types:
            continue
        params = []
        # every token must be KEY=VALUE: a token skipped here would leave a parameter out that
        # ngspice refuses the card for (or reads), so the two would simulate different devices
        for tok in re.sub(r"\s*=\s*", "=", m.group(3)).replace(",", " ").split():
            kv = _PARAM_RE.match(tok)
            if kv is None:
                raise NetlistError(f".model {m.group(1)}: cannot read {tok!r}; parameters are KEY=VALUE")
            try:
                params.append((kv.group(1).upper(), spice_number(kv.group(2))))
            except NetlistError as exc:
                raise NetlistError(f".model {m.group(1)} parameter {kv.group(1)}: {exc}") from None
        out.append((m.group(1), m.group(2).upper(), params))
    return out


def read_library(path: Path, what: str) -> str:
    """The text of a model library file; ConfigError naming ``what`` (``"diode model"``) if it
    cannot be read."""
    if not path.is_file():
        where = "" if path.parent != HARDWARE_MODELS_DIR else \
            " (the installation lacks its hardware_models; reinstall analog_eqprop)"
        raise ConfigError(f"{what} library not found: {path}{where}")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what} library {path}: {exc}") from None


def is_library_spec(spec: object) -> bool:
    """Whether ``spec`` names a library file (``FILE`` or ``FILE:NAME``) rather than a card name."""
    return isinstance(spec, (str, Path)) and library_spec(str(spec))[0] is not None


def library_spec(text: str) -> tuple[Path | None, str | None]:
    """``(file, card name)`` of a spec: ``(None, None)`` for a bare card name, ``(FILE, NAME)``
    for ``FILE:NAME``, ``(FILE, None)`` for a file alone."""
    text = text.strip()
    if CARD_NAME.fullmatch(text):
        return None, None
    head, sep, tail = text.rpartition(":")
    if sep and head and CARD_NAME.fullmatch(tail) and (Path(head).is_file() or not Path(text).is_file()):
        return Path(head), tail
    return Path(text), None


def resolve_model(spec, load, what: str, models: dict | None = None):
    """A model card from a card name (in ``models``, default ``load(None)``: the shipped
    library), ``FILE:NAME`` or ``FILE`` alone (exactly one card of the kind); ``load(path)``
    reads a library into ``{name: model}``. ConfigError naming ``what`` and the choices."""
    text = str(spec)
    file, name = library_spec(text)
    if file is None:
        lib = models if models is not None else load(None)
        if text not in lib:
            raise ConfigError(f"unknown {what} {text!r}; known: {', '.join(sorted(lib))} "
                              f"(or give a library file: FILE.lib or FILE.lib:NAME)")
        return lib[text]
    lib = load(file)
    if name is None:
        if len(lib) != 1:
            raise ConfigError(f"{file} holds {len(lib)} {what}s ({', '.join(sorted(lib)) or 'none'}); "
                              f"name one: {file}:NAME")
        return next(iter(lib.values()))
    if name not in lib:
        raise ConfigError(f"{file} has no {what} {name!r}; it has {', '.join(sorted(lib)) or 'none'}")
    return lib[name]
