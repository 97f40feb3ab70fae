"""What the long-run scripts (``drn_mnist.py``, ``kendall_mnist.py``) record about the code they ran."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def code_commit() -> str:
    """The code's commit: ``$RUN_COMMIT`` (a run from an exported snapshot), else git's HEAD."""
    if os.environ.get("RUN_COMMIT"):
        return os.environ["RUN_COMMIT"]
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).resolve().parent,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
