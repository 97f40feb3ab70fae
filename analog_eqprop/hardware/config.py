"""Hardware models as frozen configs: devices, wires, amplifiers; named presets from TOML files.

A :class:`HardwareConfig` says what the physical circuit is made of, apart from its graph:

* :class:`DeviceConfig` -- the programmable conductances (range, levels, write and read
  noise, device-to-device variation, asymmetric and soft-bounded updates, stuck devices);
* :class:`WireConfig` -- line resistance and capacitance per crossbar cell;
* :class:`AmplifierConfig` -- gain, gain spread, offset and supply of the amplifiers, by
  model name from ``hardware_models/amplifiers.toml``;
* the diode card (``hardware_models/diodes.lib``) that replaces the circuit's, if any.

Presets are the ``*.toml`` files of ``hardware_models/`` (every number there carries a
comment naming its source), shipped inside the package (see
:func:`~analog_eqprop.circuits.elements.hardware_models_dir`); :func:`load_hardware` takes a
preset name or the path of a user's own ``.toml`` / ``.json`` file (whose ``diode`` may name a
card of the user's own library, ``diode = "my.lib:DX"``, relative to that file), and
:func:`with_overrides` changes fields one by one (``read_noise=0.02`` or
``device.read_noise=0.02``), as the CLI's ``--hardware-set`` does. :func:`hardware_to_toml`
writes a config back so that it loads unchanged.

Examples
--------
>>> cfg = load_hardware("rram")
>>> cfg.device.n_levels, cfg.device.g_max
(32, 1e-05)
>>> cfg2 = with_overrides(cfg, ["read_noise=0.02", "wire.r_cell=2.5"])
>>> cfg2.device.read_noise, cfg2.wire.r_cell, cfg2.device.n_levels
(0.02, 2.5, 32)
>>> load_hardware_text(hardware_to_toml(cfg2)) == cfg2
True
>>> sorted(HARDWARE_PRESETS)[:4]
['ecram', 'ideal', 'pcm', 'rram']
"""

from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping

from analog_eqprop.circuits.elements import HARDWARE_MODELS_DIR, is_library_spec
from analog_eqprop.config import from_dict, load_config_file, option, to_dict
from analog_eqprop.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

__all__ = [
    "DeviceConfig", "WireConfig", "AmplifierConfig", "HardwareConfig", "HARDWARE_PRESETS", "AMPLIFIER_FILE",
    "load_hardware", "load_hardware_text", "hardware_from_dict", "hardware_to_toml", "with_overrides",
    "amplifier_models", "parse_assignments", "describe_hardware",
]

AMPLIFIER_FILE = HARDWARE_MODELS_DIR / "amplifiers.toml"


def _fraction(owner: str, name: str, value: float, hi: float = 1.0) -> None:
    if not (math.isfinite(value) and 0.0 <= value <= hi):
        raise ConfigError(f"{owner}.{name} must be in [0, {hi}], got {value!r}")


@dataclass(frozen=True)
class DeviceConfig:
    """One kind of programmable conductance (a memristive device) and how it is written.

    Noise and variation figures are dimensionless fractions; ranges are in siemens. The
    defaults are an ideal device: the circuit's own range, continuous values, no noise.
    """

    g_min: float | None = option(None, "lowest conductance of the device (none: the circuit's g_min)", unit="S")
    g_max: float | None = option(None, "highest conductance of the device (none: the circuit's g_max)", unit="S")
    n_levels: int = option(0, "programmable levels, evenly spaced from g_min to g_max (0: continuous)")
    write_noise: float = option(
        0.0, "std of one programming pulse's error as a fraction of (g_max - g_min); k pulses add sqrt(k) times it")
    read_noise: float = option(0.0, "relative std of a fresh multiplicative error on every read (see read_refresh)")
    read_refresh: Literal["solve", "free_phase"] = option(
        "solve", "when read noise is redrawn: every solve, or every free phase (its nudged phases reuse the sample, "
                 "as for noise slow next to one training step, e.g. 1/f)")
    d2d_variation: float = option(0.0, "relative std of each device's fixed conductance factor (device to device)")
    step_d2d: float = option(0.0, "relative std of each device's fixed update step size (device to device)")
    asymmetry: float = option(0.0, "up steps are (1 + a) and down steps (1 - a) times the requested change")
    soft_bounds_up: float = option(
        0.0, "0: up steps independent of g; 1: up steps proportional to (g_max - g) (soft bound)")
    soft_bounds_down: float = option(
        0.0, "0: down steps independent of g; 1: down steps proportional to (g - g_min) (soft bound)")
    stuck_min: float = option(0.0, "fraction of devices stuck at g_min (never change)")
    stuck_max: float = option(0.0, "fraction of devices stuck at g_max (never change)")
    init_low: float | None = option(
        None, "initial conductances are mapped onto [g_min + low (g_max - g_min), g_min + high (g_max - g_min)] "
              "(none: keep the circuit's, clipped to the range)")
    init_high: float | None = option(None, "upper end of the initial mapping, fraction of the range")
    rounding: Literal["stochastic", "nearest"] = option(
        "stochastic", "how a change is rounded to whole pulses (level steps): stochastic keeps its mean")

    def __post_init__(self) -> None:
        own = "DeviceConfig"
        for name in ("g_min", "g_max"):
            v = getattr(self, name)
            if v is not None and not (math.isfinite(v) and v > 0):
                raise ConfigError(f"{own}.{name} must be a finite conductance > 0 S (or none), got {v!r}")
        if self.g_min is not None and self.g_max is not None and not self.g_min < self.g_max:
            raise ConfigError(f"{own}: need g_min < g_max, got {self.g_min!r}, {self.g_max!r} S")
        if self.n_levels < 0 or self.n_levels == 1:
            raise ConfigError(f"{own}.n_levels must be 0 (continuous) or >= 2, got {self.n_levels}")
        for name in ("write_noise", "read_noise", "d2d_variation", "step_d2d"):
            _fraction(own, name, getattr(self, name), hi=10.0)
        if not (math.isfinite(self.asymmetry) and -1.0 < self.asymmetry < 1.0):
            raise ConfigError(f"{own}.asymmetry must be in (-1, 1), got {self.asymmetry!r}")
        for name in ("soft_bounds_up", "soft_bounds_down", "stuck_min", "stuck_max"):
            _fraction(own, name, getattr(self, name))
        if self.stuck_min + self.stuck_max > 1.0:
            raise ConfigError(f"{own}: stuck_min + stuck_max must be <= 1, got {self.stuck_min + self.stuck_max!r}")
        if (self.init_low is None) != (self.init_high is None):
            raise ConfigError(f"{own}: give both init_low and init_high, or neither")
        if self.init_low is not None:
            _fraction(own, "init_low", self.init_low)
            _fraction(own, "init_high", self.init_high)
            if not self.init_low <= self.init_high:
                raise ConfigError(f"{own}: need init_low <= init_high, got {self.init_low!r}, {self.init_high!r}")


@dataclass(frozen=True)
class WireConfig:
    """The lines of a crossbar: every device sits on one line per terminal (lumped per line)."""

    r_cell: float = option(0.0, "line resistance per crossbar cell (0: ideal wires)", unit="ohm")
    c_cell: float = option(0.0, "line capacitance per crossbar cell (transient runs only)", unit="F")
    c_node: float = option(0.0, "extra capacitance at every neuron node (transient runs only)", unit="F")

    def __post_init__(self) -> None:
        for name in ("r_cell", "c_cell", "c_node"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ConfigError(f"WireConfig.{name} must be a finite number >= 0, got {v!r}")


@dataclass(frozen=True)
class AmplifierConfig:
    """The circuit's bidirectional amplifiers (Kendall et al. 2020), by model name."""

    model: str = option("ideal", "amplifier model, a table of hardware_models/amplifiers.toml")
    gain: float | None = option(None, "gain A of every amplifier (none: the circuit's)")
    gain_variation: float = option(0.0, "relative std of each amplifier's fixed gain error (and of its back gain)")
    offset: float = option(0.0, "spread (std) of the amplifiers' input-referred offset voltages: each "
                           "amplifier gets its own fixed offset", unit="V")
    supply_voltage: float = option(0.0, "supply voltage, for the quiescent power", unit="V")
    supply_current: float = option(0.0, "quiescent supply current of one amplifier", unit="A")

    def __post_init__(self) -> None:
        if self.gain is not None and not (math.isfinite(self.gain) and self.gain > 0):
            raise ConfigError(f"AmplifierConfig.gain must be > 0 (or none), got {self.gain!r}")
        _fraction("AmplifierConfig", "gain_variation", self.gain_variation)
        for name in ("offset", "supply_voltage", "supply_current"):
            v = getattr(self, name)
            if not math.isfinite(v) or (name != "offset" and v < 0):
                raise ConfigError(f"AmplifierConfig.{name} must be finite{'' if name == 'offset' else ' and >= 0'}, "
                                  f"got {v!r}")


@dataclass(frozen=True)
class HardwareConfig:
    """Everything the physical circuit is made of besides its graph (see the module docstring)."""

    name: str = option("ideal", "preset name (informative)")
    description: str = option("", "one line on what the preset models")
    device: DeviceConfig = option(DeviceConfig(), "the programmable conductances")
    wire: WireConfig = option(WireConfig(), "the crossbar lines")
    amplifier: AmplifierConfig = option(AmplifierConfig(), "the amplifiers, if the circuit has any")
    diode: str | None = option(None, "diode card replacing the circuit's: a name from hardware_models/diodes.lib, "
                                     "or FILE.lib[:NAME] of your own library (none: keep)")


# ----------------------------------------------------------------------------- files
def _presets() -> dict[str, Path]:
    return {p.stem: p for p in sorted(HARDWARE_MODELS_DIR.glob("*.toml")) if p != AMPLIFIER_FILE}


#: Preset name -> TOML file (every ``hardware_models/*.toml`` but the amplifier table).
HARDWARE_PRESETS: dict[str, Path] = _presets()


def amplifier_models(path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """The amplifier tables of ``hardware_models/amplifiers.toml`` (model name -> settings)."""
    data = load_config_file(path or AMPLIFIER_FILE)
    bad = [k for k, v in data.items() if not isinstance(v, dict)]
    if bad:
        raise ConfigError(f"{path or AMPLIFIER_FILE}: top-level key(s) {bad} must be [tables] of amplifier models")
    return data


def _amplifier(table: Mapping[str, Any] | None, source: str) -> AmplifierConfig:
    table = dict(table or {})
    name = str(table.get("model", "ideal"))
    models = amplifier_models()
    if name not in models:
        raise ConfigError(f"{source}: unknown amplifier model {name!r}; {AMPLIFIER_FILE.name} has "
                          f"{', '.join(sorted(models))}")
    base = {k: v for k, v in models[name].items() if k != "description"}
    return from_dict(AmplifierConfig, {**base, **table, "model": name}, source=source)


def hardware_from_dict(data: Mapping[str, Any], *, source: str = "hardware") -> HardwareConfig:
    """A :class:`HardwareConfig` from nested tables; the amplifier table's ``model`` first
    loads that model's values from ``amplifiers.toml``, then the table's own keys override."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a table of hardware settings, got {type(data).__name__}")
    data = dict(data)
    amp = data.pop("amplifier", None)
    if amp is not None and not isinstance(amp, Mapping):
        raise ConfigError(f"{source}: [amplifier] must be a table, got {amp!r}")
    cfg = from_dict(HardwareConfig, data, source=source)
    return replace(cfg, amplifier=_amplifier(amp, f"{source} [amplifier]"))


def load_hardware_text(text: str, *, source: str = "<text>") -> HardwareConfig:
    """A hardware config from TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: cannot parse: {exc}") from None
    return hardware_from_dict(data, source=source)


def load_hardware(spec: str | Path | HardwareConfig | None = "ideal",
                  overrides: Iterable[str] | Mapping[str, Any] | None = None) -> HardwareConfig:
    """A preset by name (``ideal``, ``rram``, ``pcm``, ``ecram``...), a ``.toml`` / ``.json``
    file, or a config passed through; then ``overrides`` (see :func:`with_overrides`)."""
    if isinstance(spec, HardwareConfig):
        cfg = spec
    else:
        spec = "ideal" if spec is None else spec
        name = str(spec)
        if name in HARDWARE_PRESETS:
            path = HARDWARE_PRESETS[name]
        elif Path(name).suffix.lower() in (".toml", ".json") or Path(name).is_file():
            path = Path(name)
        else:
            known = ", ".join(HARDWARE_PRESETS) or f"none: {HARDWARE_MODELS_DIR} holds no presets, reinstall"
            raise ConfigError(f"unknown hardware {name!r}: give a preset ({known}) or a .toml / .json file")
        data = load_config_file(path)
        diode = data.get("diode")
        if isinstance(diode, str) and is_library_spec(diode) and not Path(diode).is_absolute():
            data["diode"] = str(path.resolve().parent / diode)  # a library named by the file: beside it
        cfg = hardware_from_dict(data, source=str(path))
    return with_overrides(cfg, overrides) if overrides else cfg


# ----------------------------------------------------------------------------- overrides
def parse_assignments(items: Iterable[str] | Mapping[str, Any] | str | None) -> dict[str, Any]:
    """``["a=1", "b.c=x"]`` (or one ``"a=1,b=2"`` string, or a mapping) as a dict."""
    if items is None:
        return {}
    if isinstance(items, Mapping):
        return dict(items)
    if isinstance(items, str):
        items = [s for s in items.split(",") if s.strip()]
    out: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, str) or "=" not in item:
            raise ConfigError(f"hardware setting {item!r} must look like KEY=VALUE (e.g. read_noise=0.02)")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


_SECTIONS = {"device": DeviceConfig, "wire": WireConfig, "amplifier": AmplifierConfig}


def _locate(key: str) -> tuple[str | None, str]:
    key = key.replace("-", "_")
    if "." in key:
        section, name = key.split(".", 1)
        if section not in _SECTIONS:
            raise ConfigError(f"unknown hardware section {section!r} in {key!r}; use {', '.join(_SECTIONS)}")
        if name not in {f.name for f in dataclasses.fields(_SECTIONS[section])}:
            raise ConfigError(f"{section} has no setting {name!r}; valid: "
                              f"{', '.join(f.name for f in dataclasses.fields(_SECTIONS[section]))}")
        return section, name
    if key in {f.name for f in dataclasses.fields(HardwareConfig)}:
        return None, key
    owners = [s for s, cls in _SECTIONS.items() if key in {f.name for f in dataclasses.fields(cls)}]
    if not owners:
        known = sorted({f.name for cls in _SECTIONS.values() for f in dataclasses.fields(cls)})
        raise ConfigError(f"unknown hardware setting {key!r}; known: {', '.join(known)}")
    if len(owners) > 1:
        raise ConfigError(f"hardware setting {key!r} is ambiguous; write one of "
                          f"{', '.join(f'{o}.{key}' for o in owners)}")
    return owners[0], key


def with_overrides(cfg: HardwareConfig, overrides: Iterable[str] | Mapping[str, Any] | str | None) -> HardwareConfig:
    """``cfg`` with fields replaced, e.g. ``["read_noise=0.02", "amplifier.model=lm358"]``.

    Plain names are looked up in every section (an ambiguous one must be dotted); values are
    converted like config-file values. ``amplifier=NAME`` (or ``amplifier.model=NAME``)
    switches the amplifier model, re-reading its values before the other overrides apply.
    """
    pairs = parse_assignments(overrides)
    if not pairs:
        return cfg
    data = to_dict(cfg)
    amp = data["amplifier"]
    for key, value in pairs.items():
        if key.replace("-", "_") in ("amplifier", "amplifier.model"):
            amp = {"model": value}
    data["amplifier"] = amp
    for key, value in pairs.items():
        if key.replace("-", "_") in ("amplifier", "amplifier.model"):
            continue
        section, name = _locate(key)
        target = data if section is None else data[section]
        target[name] = value
    return hardware_from_dict(data, source="hardware overrides")


# ----------------------------------------------------------------------------- TOML out
def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise ConfigError(f"cannot write {v!r} to TOML")


def _table(obj: Any) -> list[str]:
    lines = []
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if v is None or dataclasses.is_dataclass(v):
            continue  # TOML has no null: a missing key means the default (None)
        unit = f.metadata.get("unit")
        lines.append(f"{f.name} = {_toml_value(v)}" + (f"  # {unit}" if unit else ""))
    return lines


def hardware_to_toml(cfg: HardwareConfig) -> str:
    """TOML text that :func:`load_hardware_text` reads back into ``cfg`` (no source notes:
    those live in the preset files)."""
    out = _table(cfg)
    for section in _SECTIONS:
        out += ["", f"[{section}]"] + _table(getattr(cfg, section))
    return "\n".join(out) + "\n"


def describe_hardware(cfg: HardwareConfig) -> dict[str, Any]:
    """A JSON-friendly dict of ``cfg`` (what run records and reports store)."""
    return to_dict(cfg)

