"""Frozen dataclass configurations: defaults with units, dict / TOML / JSON round trips.

Every configuration object in analog_eqprop is a frozen dataclass whose fields carry a
default, a unit and a one-line description in their metadata (see :func:`option`).
This module turns plain mappings (a TOML file, parsed CLI flags, a JSON report) into
those objects with checks that name the offending key, and back.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Demo:
...     beta: float = option(0.5, "nudge strength", unit="1")
...     n_iter: int = option(20, "relaxation steps")
>>> from_dict(Demo, {"beta": 1, "n-iter": 5})
Demo(beta=1.0, n_iter=5)
>>> from_dict(Demo, {"betta": 1})
Traceback (most recent call last):
...
analog_eqprop.errors.ConfigError: Demo: unknown key 'betta' (did you mean 'beta'?); valid keys: beta, n_iter
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import sys
import types
import typing
from pathlib import Path
from typing import Any, Mapping, TypeVar

from analog_eqprop.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

__all__ = ["option", "from_dict", "to_dict", "load_config_file", "describe", "check_positive", "check_range"]

T = TypeVar("T")


def option(default: Any, doc: str, *, unit: str | None = None) -> Any:
    """A dataclass field with a default, a description and a unit kept in its metadata.

    Parameters
    ----------
    default : object
        Default value (immutable: tuples, not lists).
    doc : str
        One-line description shown by ``--help`` and :func:`describe`.
    unit : str, optional
        Physical unit, e.g. ``"V"``, ``"S"``, ``"A"``, ``"s"``; ``None`` for counts and flags.
    """
    return dataclasses.field(default=default, metadata={"doc": doc, "unit": unit})


def _norm_key(key: str) -> str:
    return key.strip().replace("-", "_")


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Convert ``value`` to the annotated type ``hint`` or raise ConfigError naming ``where``."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and (value is None or (isinstance(value, str) and value.strip().lower() in
                                                     ("none", "null", ""))):
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{where}: {value!r} matches none of {hint}")
    if origin is typing.Literal:
        if value in args:
            return value
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, args))}")
    if origin is tuple:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            if isinstance(value, str) and "," in value:
                value = [v for v in value.split(",") if v.strip()]
            elif isinstance(value, (int, float, str)) and len(args) == 2 and args[1] is Ellipsis:
                value = [value]
            else:
                raise ConfigError(f"{where}: expected a list, got {type(value).__name__} {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(f"{where}: expected {len(args)} entries, got {len(value)}")
        return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected an integer, got a boolean {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise ConfigError(f"{where}: expected an integer, got {type(value).__name__} {value!r}")
    if hint is float:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected a number, got a boolean {value!r}")
        if isinstance(value, (int, float)):
            out = float(value)
        elif isinstance(value, str):
            try:
                out = float(value.strip())
            except ValueError:
                raise ConfigError(f"{where}: expected a number, got the text {value!r}") from None
        else:
            raise ConfigError(f"{where}: expected a number, got {type(value).__name__} {value!r}")
        if not math.isfinite(out):
            raise ConfigError(f"{where}: must be finite, got {out!r}")
        return out
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: expected text, got {type(value).__name__} {value!r}")
    if dataclasses.is_dataclass(hint):
        if isinstance(value, hint):
            return value
        if isinstance(value, Mapping):
            return from_dict(hint, value)
        raise ConfigError(f"{where}: expected a table of {hint.__name__} settings, got {value!r}")
    return value


def from_dict(cls: type[T], data: Mapping[str, Any], *, source: str | None = None) -> T:
    """Build the frozen dataclass ``cls`` from a mapping, checking keys and types.

    Keys may use dashes or underscores. Unknown keys, wrong types and values rejected by
    the class's own ``__post_init__`` checks raise :class:`~analog_eqprop.errors.ConfigError`
    naming the key (and ``source``, e.g. a file name, when given).
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source or cls.__name__}: expected a table of settings, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    prefix = f"{source}: " if source else ""
    kwargs: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = _norm_key(str(raw_key))
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"{prefix}{cls.__name__}: unknown key {raw_key!r}{hint}; valid keys: {', '.join(fields)}"
            )
        kwargs[key] = _coerce(value, hints[key], f"{prefix}{cls.__name__}.{key}")
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{prefix}{exc}") from None


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON- and TOML-friendly dict of a config dataclass (tuples become lists)."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (tuple, list)):
            return [plain(x) for x in v]
        return v

    return plain(config)


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a ``.toml`` or ``.json`` settings file into a dict (errors name the file)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        elif path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        else:
            raise ConfigError(f"{path}: unsupported config format {path.suffix!r}; use .toml or .json")
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot parse: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a table of settings at the top level")
    return data


def describe(cls: type) -> list[tuple[str, Any, str | None, str]]:
    """``(name, default, unit, doc)`` for every field of a config class, for help texts."""
    out = []
    for f in dataclasses.fields(cls):
        out.append((f.name, f.default, f.metadata.get("unit"), f.metadata.get("doc", "")))
    return out


def check_positive(owner: str, **values: float) -> None:
    """Raise ConfigError unless every given value is > 0."""
    for name, v in values.items():
        if not v > 0:
            raise ConfigError(f"{owner}.{name} must be > 0, got {v!r}")


def check_range(owner: str, name: str, value: float, lo: float, hi: float) -> None:
    """Raise ConfigError unless ``lo <= value <= hi``."""
    if not lo <= value <= hi:
        raise ConfigError(f"{owner}.{name} must be in [{lo}, {hi}], got {value!r}")
