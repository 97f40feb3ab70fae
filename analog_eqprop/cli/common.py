"""Shared CLI plumbing: flags generated from config dataclasses and the one table of defaults,
settings files (including a run's own ``run.json``), resuming, output."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import typing
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from analog_eqprop.circuits.config import CircuitConfig
from analog_eqprop.config import from_dict, load_config_file, to_dict
from analog_eqprop.defaults import MODEL_DEFAULTS, MODEL_KINDS
from analog_eqprop.errors import ConfigError
from analog_eqprop.models.hopfield import HopfieldConfig
from analog_eqprop.training.checkpoint import load_checkpoint
from analog_eqprop.training.trainer import TrainConfig

__all__ = ["add_dataclass_flags", "collect_settings", "split_settings", "print_json", "HelpFormatter",
           "default_text", "format_value", "load_settings_file", "run_record_settings", "read_run_settings",
           "resume_conflicts", "JSON_HELP", "model_defaults"]

#: What ``--json`` means in every subcommand.
JSON_HELP = "print one JSON object on standard output for scripts, instead of the text report"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Show defaults and keep the description's line breaks.

    A default is appended only where the help text does not state one already and there is
    one to show: flags that fall back to a config file or to the table of defaults have
    ``None`` here (their help states the default), and on/off switches have none.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if ("(default" in text or action.default in (None, argparse.SUPPRESS) or action.nargs == 0
                or isinstance(action.default, bool)):
            return text
        return super()._get_help_string(action)


def format_value(value: Any) -> str:
    """A default as a user would type it: ``2e-7``, ``0.4,0.2``, ``none``, ``true``.

    Examples
    --------
    >>> format_value((0.4, 0.2)), format_value(2e-07), format_value(None), format_value(True)
    ('0.4,0.2', '2e-7', 'none', 'true')
    """
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return ",".join(format_value(v) for v in value)
    if isinstance(value, float) and math.isfinite(value):
        text = f"{value:g}"
        if "e" in text:
            mant, exp = text.split("e")
            text = f"{mant}e{int(exp)}"
        return text
    return str(value)


def default_text(name: str, fallback: Any, defaults: Mapping[str, Mapping[str, Any]] | None) -> str:
    """The ``default: ...`` text of one setting: one value, or one per label where they differ.

    ``defaults`` maps a label (a kind of model, a circuit builder) to the defaults of that
    case; a setting a case does not name takes ``fallback``.

    Examples
    --------
    >>> default_text("beta", 0.5, {"hopfield": {"beta": 1.0}, "circuit": {"beta": 1e-6}})
    'default: 1 (hopfield) / 1e-6 (circuit)'
    >>> default_text("epochs", 25, {"hopfield": {}, "circuit": {}})
    'default: 25'
    """
    if not defaults:
        return f"default: {format_value(fallback)}"
    groups: dict[str, list[str]] = {}
    for label, table in defaults.items():
        groups.setdefault(format_value(table.get(name, fallback)), []).append(label)
    if len(groups) == 1:
        return f"default: {next(iter(groups))}"
    return "default: " + " / ".join(f"{value} ({', '.join(labels)})" for value, labels in groups.items())


def _flag_type(hint: Any) -> tuple[Any, dict]:
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return str, {"choices": typing.get_args(hint)}
    if origin is tuple:
        return str, {"metavar": "A,B,..."}
    if hint is bool:
        return None, {}
    return str, {}


def add_dataclass_flags(parser: argparse.ArgumentParser, cls: type, title: str,
                        defaults: Mapping[str, Mapping[str, Any]] | None = None, *,
                        skip: Iterable[str] = (), fixed: Mapping[str, Any] | None = None) -> None:
    """One ``--field-name`` flag per dataclass field; default None so files and tables fill gaps.

    Each help ends with the default a run will use, from ``defaults`` (label -> defaults of
    that case, e.g. per kind of model; see :func:`default_text`) or the field's own; ``fixed``
    names fields whose default is one value whatever the case (e.g. the field that picks it).
    """
    fixed = dict(fixed or {})
    group = parser.add_argument_group(title)
    hints = typing.get_type_hints(cls)
    skip = set(skip)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        unit = f.metadata.get("unit")
        helptext = (f.metadata.get("doc", "") + (f" [{unit}]" if unit else "")
                    + f" ({default_text(f.name, fixed.get(f.name, f.default), None if f.name in fixed else defaults)})"
                    ).replace("%", "%%")
        typ, extra = _flag_type(hints[f.name])
        if hints[f.name] is bool:
            group.add_argument(flag, dest=f.name, default=None, action=argparse.BooleanOptionalAction,
                               help=helptext)
        else:
            group.add_argument(flag, dest=f.name, default=None, type=typ, help=helptext, **extra)


# -- settings files -------------------------------------------------------------------------
#: Sections of a run record's ``config`` that hold settings (the rest is metadata).
_RECORD_SECTIONS = ("run", "train", "hopfield", "circuit", "compare")
#: Where a recorded run lived, not how it ran: a run record used as ``--config`` drops them.
_RECORD_PLACES = ("out", "log")


def run_record_settings(record: Mapping[str, Any], *, source: str = "run.json") -> dict[str, Any]:
    """The flat settings of a run record (the ``run.json`` a run directory holds).

    Examples
    --------
    >>> rec = {"config": {"run": {"model": "circuit"}, "train": {"beta": 1e-6}, "circuit": {"g_min": 1e-7}},
    ...        "versions": {}, "git_commit": None}
    >>> run_record_settings(rec)
    {'model': 'circuit', 'beta': 1e-06, 'g_min': 1e-07}
    """
    config = record.get("config")
    if not isinstance(config, Mapping) or not isinstance(config.get("run"), Mapping):
        raise ConfigError(f"{source}: not a run record (no config.run table)")
    out: dict[str, Any] = {}
    for section in _RECORD_SECTIONS:
        part = config.get(section)
        if part is None:
            continue
        if not isinstance(part, Mapping):
            raise ConfigError(f"{source}: config.{section} must be a table of settings")
        out.update(part)
    return out


def _is_run_record(data: Mapping[str, Any]) -> bool:
    return isinstance(data.get("config"), Mapping) and isinstance(data["config"].get("run"), Mapping)


def load_settings_file(path: str | Path) -> dict[str, Any]:
    """Settings from a ``.toml`` / ``.json`` file of flat keys, or from a run's ``run.json``
    (its recorded settings, less where that run wrote: ``out`` and ``log``), to reproduce it."""
    data = load_config_file(path)
    if _is_run_record(data):
        data = {k: v for k, v in run_record_settings(data, source=str(path)).items() if k not in _RECORD_PLACES}
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def read_run_settings(out: Path) -> dict[str, Any]:
    """The settings a run directory was made with: ``OUT/run.json`` (else the copy inside its
    checkpoint). Raises ConfigError when there is no run to continue."""
    info = out / "run.json"
    if info.is_file():
        try:
            record = json.loads(info.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{info}: unreadable run record ({exc})") from None
        if not isinstance(record, Mapping):
            raise ConfigError(f"{info}: not a run record")
        return run_record_settings(record, source=str(info))
    ckpt = out / "checkpoint.npz"
    if ckpt.is_file():
        _, meta = load_checkpoint(ckpt)
        return run_record_settings(meta.get("run_info") or {}, source=str(ckpt))
    raise ConfigError(f"--resume: {out} holds no run to continue (no run.json, no checkpoint.npz)")


def collect_settings(args: argparse.Namespace, keys: Iterable[str]) -> dict[str, Any]:
    """Settings from ``--config FILE`` overlaid with the flags given on the command line."""
    settings: dict[str, Any] = {}
    if getattr(args, "config", None):
        settings.update(load_settings_file(args.config))
    for k in keys:
        v = getattr(args, k, None)
        if v is not None:
            settings[k] = v
    return settings


def resume_conflicts(saved: Mapping[str, Any], given: Mapping[str, Any], safe: Iterable[str],
                     flatten: Callable[[Mapping[str, Any]], dict[str, Any]]) -> list[str]:
    """The settings in ``given`` that would change a resumed run: those whose resolved value
    (``flatten`` of the merged settings) differs from the saved run's, except ``safe`` ones."""
    safe = set(safe)
    before = flatten(saved)
    after = flatten({**saved, **given})
    return sorted(k for k in set(before) | set(after) if k not in safe and before.get(k) != after.get(k))


def split_settings(settings: dict[str, Any], *targets: tuple[type | set[str], str]) -> list[Any]:
    """Distribute a flat settings dict over dataclasses (and plain key sets); unknown keys raise."""
    remaining = dict(settings)
    out = []
    for target, label in targets:
        if isinstance(target, set):
            out.append({k: remaining.pop(k) for k in list(remaining) if k in target})
        else:
            names = {f.name for f in dataclasses.fields(target)}
            out.append(from_dict(target, {k: remaining.pop(k) for k in list(remaining) if k in names}, source=label))
    if remaining:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(remaining))}")
    return out


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=float)
    sys.stdout.write("\n")


def model_defaults(kind: str, builder: str | None = None) -> dict[str, Any]:
    """Every setting a run of ``kind`` uses when none is given: the training settings, the
    model's (HopfieldConfig, or CircuitConfig with the ``builder``'s preset) and the layer sizes.

    Examples
    --------
    >>> d = model_defaults("circuit", "kendall")
    >>> d["optimizer"], d["diode"], d["sizes"]
    ('adam', 'D1N4148', (64, 32, 10))
    """
    if kind not in MODEL_KINDS:
        raise ConfigError(f"unknown model {kind!r}; use one of {', '.join(MODEL_KINDS)}")
    out = {"model": kind, "sizes": MODEL_DEFAULTS[kind]["sizes"]}
    out.update(to_dict(TrainConfig.for_model(kind)))
    if kind == "hopfield":
        out.update(to_dict(HopfieldConfig()))
    else:
        out.update(to_dict(CircuitConfig.preset(builder or "drn")))
    return {k: tuple(v) if isinstance(v, list) else v for k, v in out.items()}
