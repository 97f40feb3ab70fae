"""Circuit elements' physics: the diode model card and its DC current, as ngspice computes it.

Resistors, sources and amplifiers are linear and need no more than their value; the diode is
the one nonlinear element. :func:`diode_current` reproduces ngspice 39's DC diode equations
(``dioload.c``) so that the NumPy solver and ngspice find the same operating point to 1e-9 V:

* forward (``v >= -3 n V_T``): ``i = IS (exp(v / (n V_T)) - 1)``
* reverse: ``i = -IS (1 + (3 n V_T / (e v))^3)`` (ngspice's smooth cubic, not the plain exponential)
* breakdown (only if ``BV`` is given, ``v < -BV_eff``): ``i = -IS exp(-(BV_eff + v) / (NBV V_T))``

plus ``gmin * v`` (ngspice's 1e-12 S across every junction), with ``V_T = k T / q`` at
300.15 K using ngspice's constants. A series resistance ``RS`` becomes an internal node in
both backends, exactly as ngspice builds it.

Examples
--------
>>> d = DiodeModel("DX", IS=1e-14, N=1.0)
>>> i, g = diode_current(np.array([0.6]), d)
>>> float(i[0])  # ngspice 39.3 reports 1.18720e-04 A for this junction
0.00011871962955870681
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from analog_eqprop.circuits.spice_numbers import spice_number  # re-exported: the one SPICE number reader
from analog_eqprop.errors import ConfigError, NetlistError

__all__ = [
    "BOLTZMANN", "CHARGE", "T_NOMINAL", "thermal_voltage", "DiodeModel", "diode_current", "parse_model_cards",
    "load_diode_models", "diode_model", "is_library_spec", "hardware_models_dir", "HARDWARE_MODELS_DIR", "GMIN", "spice_number",
]

# ngspice's own constants (src/include/ngspice/const.h), so V_T matches to the last digit.
BOLTZMANN = 1.38064852e-23  # J/K
CHARGE = 1.6021766208e-19  # C
T_NOMINAL = 300.15  # K (27 degC, ngspice's default TEMP and TNOM)
GMIN = 1e-12  # S, ngspice's default junction gmin
_E = math.e

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


@dataclass(frozen=True)
class DiodeModel:
    """A SPICE diode model card (level 1), the parameters that matter at DC plus the rest.

    Parameters
    ----------
    name : str
        Model name as it appears in the netlist (letters, digits, ``_``).
    IS : float
        Saturation current [A].
    N : float
        Emission coefficient.
    RS : float
        Series resistance [ohm]; 0 for none.
    BV : float or None
        Reverse breakdown voltage [V]; None for no breakdown region.
    IBV : float
        Current at the breakdown voltage [A].
    NBV : float
        Breakdown emission coefficient (ngspice default: N).
    extra : tuple of (str, float)
        Other card parameters (CJO, VJ, M, TT, ...) that matter only for AC and transient runs.
    ideal : bool
        Marks the ideal-diode limit: the exact block coordinate descent solver treats it as a
        hard clamp; SPICE simulates the card itself, an approximation of the ideal.
    """

    name: str
    IS: float = 1e-14
    N: float = 1.0
    RS: float = 0.0
    BV: float | None = None
    IBV: float = 1e-3
    NBV: float | None = None
    extra: tuple[tuple[str, float], ...] = field(default=())
    ideal: bool = False

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", self.name):
            raise ConfigError(f"diode model name {self.name!r} must be letters, digits and '_' (starting with a letter)")
        for key in ("IS", "N", "IBV"):
            v = getattr(self, key)
            if not (math.isfinite(v) and v > 0):
                raise ConfigError(f"diode model {self.name}: {key} must be a finite number > 0, got {v!r}")
        if not (math.isfinite(self.RS) and self.RS >= 0):
            raise ConfigError(f"diode model {self.name}: RS must be >= 0 ohm, got {self.RS!r}")
        if self.BV is not None and not (math.isfinite(self.BV) and self.BV > 0):
            raise ConfigError(f"diode model {self.name}: BV must be > 0 V, got {self.BV!r}")

    def vte(self, temperature_k: float = T_NOMINAL) -> float:
        """``N k T / q`` [V]."""
        return self.N * thermal_voltage(temperature_k)

    def breakdown_voltage(self, temperature_k: float = T_NOMINAL, reltol: float = 1e-3) -> float | None:
        """ngspice's effective breakdown voltage (``DIOtBrkdwnV``, ``diotemp.c``) at TEMP = TNOM."""
        if self.BV is None:
            return None
        vt = thermal_voltage(temperature_k)
        nbv = self.NBV if self.NBV is not None else self.N
        bv, cbv = self.BV, self.IBV
        if cbv < self.IS * bv / vt:
            return bv
        tol = reltol * cbv
        xbv = bv - nbv * vt * math.log(1 + cbv / self.IS)
        for _ in range(25):
            xbv = bv - nbv * vt * math.log(cbv / self.IS + 1 - xbv / vt)
            xcbv = self.IS * (math.exp((bv - xbv) / (nbv * vt)) - 1 + xbv / vt)
            if abs(xcbv - cbv) <= tol:
                break
        return xbv

    def card(self) -> str:
        """The ``.model`` line."""
        parts = [f"IS={self.IS:.10g}", f"N={self.N:.10g}"]
        if self.RS:
            parts.append(f"RS={self.RS:.10g}")
        if self.BV is not None:
            parts += [f"BV={self.BV:.10g}", f"IBV={self.IBV:.10g}"]
        if self.NBV is not None:
            parts.append(f"NBV={self.NBV:.10g}")
        parts += [f"{k}={v:.10g}" for k, v in self.extra]
        return f".model {self.name} D({' '.join(parts)})"


def diode_current(v: np.ndarray, model: DiodeModel, *, gmin: float = GMIN, temperature_k: float = T_NOMINAL,
                  reltol: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Junction current ``i(v)`` [A] and conductance ``di/dv`` [S], ngspice's DC equations.

    ``v`` is the junction voltage (anode minus cathode, after any series resistance).
    """
    v = np.asarray(v, dtype=np.float64)
    vte = model.vte(temperature_k)
    IS = model.IS
    fwd = v >= -3 * vte
    # Forward branch; exp's argument is capped only to avoid inf in the unused lanes of np.where.
    ev = np.exp(np.minimum(np.where(fwd, v, 0.0) / vte, 700.0))
    i_f, g_f = IS * (ev - 1), IS * ev / vte
    vr = np.where(fwd, -1.0, v)  # the reverse formula divides by v
    arg = (3 * vte / (vr * _E)) ** 3
    i_r, g_r = -IS * (1 + arg), IS * 3 * arg / vr
    i = np.where(fwd, i_f, i_r)
    g = np.where(fwd, g_f, g_r)
    bv = model.breakdown_voltage(temperature_k, reltol)
    if bv is not None:
        vtb = (model.NBV if model.NBV is not None else model.N) * thermal_voltage(temperature_k)
        brk = v < -bv
        if np.any(brk):
            evr = np.exp(np.minimum(-(bv + np.where(brk, v, -bv)) / vtb, 700.0))
            i = np.where(brk, -IS * evr, i)
            g = np.where(brk, IS * evr / vtb, g)
    return i + gmin * v, g + gmin


_MODEL_RE = re.compile(r"^\s*\.model\s+([A-Za-z][A-Za-z0-9_]*)\s+([A-Za-z]+)\s*\(?(.*?)\)?\s*$", re.IGNORECASE)
_PARAM_RE = re.compile(r"([A-Za-z][A-Za-z0-9_]*)\s*=\s*([-+0-9.eE]+[a-zA-Z]*)")
def parse_model_cards(text: str, *, source: str = "<text>") -> dict[str, DiodeModel]:
    """Diode ``.model`` cards from SPICE library text (``+`` continuation lines joined)."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].rstrip()
        if not line.strip() or line.lstrip().startswith("*"):
            continue
        if line.lstrip().startswith("+") and lines:
            lines[-1] += " " + line.lstrip()[1:]
        else:
            lines.append(line)
    models: dict[str, DiodeModel] = {}
    known = {"IS", "N", "RS", "BV", "IBV", "NBV"}
    for line in lines:
        m = _MODEL_RE.match(line)
        if not m or m.group(2).upper() != "D":
            continue
        name, body = m.group(1), m.group(3)
        kw: dict = {}
        extra = []
        for key, val in _PARAM_RE.findall(body):
            key_u = key.upper()
            if key_u in known:
                kw[key_u] = spice_number(val)
            else:
                extra.append((key_u, spice_number(val)))
        if name in models:
            raise NetlistError(f"{source}: diode model {name} defined twice")
        models[name] = DiodeModel(name, extra=tuple(extra), **kw)
    return models


def _read_library(path: Path) -> str:
    if not path.is_file():
        where = "" if path.parent != HARDWARE_MODELS_DIR else \
            " (the installation lacks its hardware_models; reinstall analog_eqprop)"
        raise ConfigError(f"diode model library not found: {path}{where}")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read diode model library {path}: {exc}") from None


def load_diode_models(path: str | Path | None = None) -> dict[str, DiodeModel]:
    """Diode models from a ``.lib`` file of ``.model NAME D(...)`` cards (default: the shipped
    ``hardware_models/diodes.lib``, see :func:`hardware_models_dir`).

    Examples
    --------
    >>> sorted(load_diode_models())
    ['D1N4148', 'DIDEAL', 'DSHOCKLEY']
    """
    path = Path(path) if path else HARDWARE_MODELS_DIR / "diodes.lib"
    return parse_model_cards(_read_library(path), source=str(path))


_CARD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def diode_model(spec: str | Path | DiodeModel, models: dict[str, DiodeModel] | None = None) -> DiodeModel:
    """A diode model from a card name, a user's library file, or a model passed through.

    ``spec`` is a name from ``models`` (default: the shipped ``diodes.lib``); or ``FILE:NAME``,
    card ``NAME`` of the library file ``FILE``; or ``FILE`` alone when it holds exactly one
    diode card. Anything but a bare card name (letters, digits, ``_``) is read as a path,
    relative to the working directory.

    Examples
    --------
    >>> diode_model("D1N4148").N
    1.906
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     lib = pathlib.Path(tmp, "mine.lib")
    ...     _ = lib.write_text(".model DFAST D(IS=2n N=1.5)\\n")
    ...     diode_model(str(lib)).name, diode_model(f"{lib}:DFAST").N
    ('DFAST', 1.5)
    """
    if isinstance(spec, DiodeModel):
        return spec
    text = str(spec)
    file, name = _library_spec(text)
    if file is None:
        lib = models if models is not None else load_diode_models()
        if text not in lib:
            raise ConfigError(f"unknown diode model {text!r}; known: {', '.join(sorted(lib))} "
                              f"(or give a library file: FILE.lib or FILE.lib:NAME)")
        return lib[text]
    lib = load_diode_models(file)
    if name is None:
        if len(lib) != 1:
            raise ConfigError(f"{file} holds {len(lib)} diode models ({', '.join(sorted(lib)) or 'none'}); "
                              f"name one: {file}:NAME")
        return next(iter(lib.values()))
    if name not in lib:
        raise ConfigError(f"{file} has no diode model {name!r}; it has {', '.join(sorted(lib)) or 'none'}")
    return lib[name]


def is_library_spec(spec: object) -> bool:
    """Whether ``spec`` names a library file (``FILE`` or ``FILE:NAME``) rather than a card name."""
    return isinstance(spec, (str, Path)) and _library_spec(str(spec))[0] is not None


def _library_spec(text: str) -> tuple[Path | None, str | None]:
    text = text.strip()
    if _CARD_NAME.fullmatch(text):
        return None, None
    head, sep, tail = text.rpartition(":")
    if sep and head and _CARD_NAME.fullmatch(tail) and (Path(head).is_file() or not Path(text).is_file()):
        return Path(head), tail
    return Path(text), None
