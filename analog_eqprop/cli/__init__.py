"""The ``analog-eqprop`` command: a thin layer over the library, one module per subcommand."""

from __future__ import annotations

import argparse
import os
import sys

from analog_eqprop import __version__
from analog_eqprop.cli import (compare_cmd, data_cmd, gradcheck_cmd, netlist_cmd, report_cmd, simulate_cmd,
                               train_cmd)
from analog_eqprop.errors import AnalogEqpropError

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="analog-eqprop",
        description="Equilibrium Propagation on simulated analog hardware (NumPy and ngspice backends).",
    )
    parser.add_argument("--version", action="version", version=f"analog-eqprop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for mod in (train_cmd, gradcheck_cmd, netlist_cmd, simulate_cmd, compare_cmd, report_cmd):
        mod.add_parser(sub)
    data_cmd.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for a usage or input error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AnalogEqpropError as exc:
        print(f"analog-eqprop {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"analog-eqprop {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`... --json | head`): stop quietly, as Unix tools do; point
        # stdout at /dev/null so that the interpreter's final flush does not raise again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
