"""Shared CLI plumbing: flags generated from config dataclasses, config-file merging, output."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import typing
from typing import Any

from analog_eqprop.config import from_dict, load_config_file
from analog_eqprop.errors import ConfigError

__all__ = ["add_dataclass_flags", "collect_settings", "split_settings", "print_json", "HelpFormatter"]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Show defaults and keep the description's line breaks.

    A default is appended only where the help text does not state one already and there is
    one to show (flags that fall back to a config file have ``None`` here).
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "(default" in text or action.default in (None, argparse.SUPPRESS) or action.default is False:
            return text
        return super()._get_help_string(action)


def _flag_type(hint: Any) -> tuple[Any, dict]:
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return str, {"choices": typing.get_args(hint)}
    if origin is tuple:
        return str, {"metavar": "A,B,..."}
    if hint is bool:
        return None, {}
    return str, {}


def add_dataclass_flags(parser: argparse.ArgumentParser, cls: type, title: str) -> None:
    """One ``--field-name`` flag per dataclass field; default None so files can fill gaps."""
    group = parser.add_argument_group(title)
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        unit = f.metadata.get("unit")
        default = f.default
        if isinstance(default, tuple):
            default = ",".join(map(str, default))
        helptext = f.metadata.get("doc", "") + (f" [{unit}]" if unit else "") + f" (default: {default})"
        typ, extra = _flag_type(hints[f.name])
        if hints[f.name] is bool:
            group.add_argument(flag, dest=f.name, default=None, action=argparse.BooleanOptionalAction,
                               help=helptext)
        else:
            group.add_argument(flag, dest=f.name, default=None, type=typ, help=helptext, **extra)


def collect_settings(args: argparse.Namespace, keys: list[str]) -> dict[str, Any]:
    """Settings from ``--config FILE`` overlaid with the flags given on the command line."""
    settings: dict[str, Any] = {}
    if getattr(args, "config", None):
        settings.update({k.replace("-", "_"): v for k, v in load_config_file(args.config).items()})
    for k in keys:
        v = getattr(args, k, None)
        if v is not None:
            settings[k] = v
    return settings


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
