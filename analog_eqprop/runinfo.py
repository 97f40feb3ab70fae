"""What a run needs to be reproduced: its settings, package versions, simulator version."""

from __future__ import annotations

import datetime as _dt
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from analog_eqprop.solvers.ngspice_batch import ngspice_version

__all__ = ["run_metadata", "package_versions"]

_PACKAGES = ("analog_eqprop", "numpy", "scipy", "networkx", "matplotlib", "PySpice", "scikit-learn")


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages a result depends on (None where absent)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _git_commit() -> str | None:
    """The commit of the source checkout this package runs from; None for an installed copy
    (its site-packages may lie inside some other git repository, e.g. a project's .venv)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / "pyproject.toml").is_file():
        return None
    try:
        res = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel", "HEAD"], capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    out = res.stdout.splitlines()
    if res.returncode != 0 or len(out) != 2 or Path(out[0]).resolve() != root:
        return None
    return out[1]


def _ngspice_version() -> str | None:
    try:
        return ngspice_version()
    except Exception:  # noqa: BLE001 - a missing or broken simulator just means "unknown"
        return None


def run_metadata(config: dict[str, Any], *, with_ngspice: bool = False) -> dict[str, Any]:
    """Settings plus versions, machine and time, to store beside a run's results.

    Examples
    --------
    >>> info = run_metadata({"epochs": 3})
    >>> info["config"]["epochs"], "numpy" in info["versions"]
    (3, True)
    """
    return {
        "config": config,
        "versions": package_versions(),
        "ngspice": _ngspice_version() if with_ngspice else None,
        "git_commit": _git_commit(),
        "machine": {"platform": platform.platform(), "processor": platform.machine()},
        "time_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
