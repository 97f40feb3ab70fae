"""Issue 17's planted bugs, replayed: each must make every test file that owns its code fail.

The issue planted three bugs in a copy of the repository and found test files they survived:

* ``half``: the factor 1/2 dropped from dE/dg, in the reference path and the fast paths alike
  (``models/resistive.py``, ``models/grad_plan.py``, ``models/resident.py``);
* ``centered``: the centered estimate divided by beta instead of 2 beta (``eqprop/core.py``);
* ``is_x10``: the D1N4148 card's saturation current times 10 (``hardware_models/diodes.lib``).

For each bug this script exports ``HEAD`` (``git archive``) into a scratch directory, applies
the edit (refusing if the text to replace is not found exactly once per file: a refactor must
re-point the script, not let it test nothing), runs each owning test file there with pytest,
and prints one line per file; the exit status is 1 if any file passed with the bug in place.

Examples
--------
::

    python benchmarks/planted_mutations.py              # all three, ~2-4 min on one core
    python benchmarks/planted_mutations.py --only half --json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name -> (edits: [(file, old, new)], owning test files)
PLANTED = {
    "half": (
        [("analog_eqprop/models/resistive.py", "return 0.5 * np.mean((d1 - d2)", "return 1.0 * np.mean((d1 - d2)"),
         ("analog_eqprop/models/grad_plan.py", "h = 0.5 / B", "h = 1.0 / B"),
         ("analog_eqprop/models/grad_plan.py", "(0.5 / B) * np.einsum", "(1.0 / B) * np.einsum"),
         ("analog_eqprop/models/resident.py", "h = 0.5 / B", "h = 1.0 / B")],
        ["tests/test_circuits.py", "tests/test_bcd.py", "tests/test_perf_paths.py", "tests/test_hardware.py",
         "tests/test_update_rules.py"],
    ),
    "centered": (
        [("analog_eqprop/eqprop/core.py", "1.0 / (2.0 * b), b, (s_plus, s_minus)", "1.0 / b, b, (s_plus, s_minus)")],
        ["tests/test_circuits.py", "tests/test_bcd.py", "tests/test_perf_paths.py", "tests/test_hardware.py",
         "tests/test_update_rules.py", "tests/test_theory.py"],
    ),
    "is_x10": (
        [("hardware_models/diodes.lib", ".model D1N4148 D(IS=4.352n", ".model D1N4148 D(IS=43.52n")],
        ["tests/test_model_cards.py"],
    ),
}


def _export(dest: Path) -> None:
    """``git archive HEAD`` of the repository into ``dest``."""
    with tempfile.TemporaryFile() as f:
        subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD"], stdout=f, check=True)
        f.seek(0)
        with tarfile.open(fileobj=f) as tar:
            tar.extractall(dest, filter="data")


def _apply(tree: Path, edits) -> None:
    for rel, old, new in edits:
        p = tree / rel
        text = p.read_text()
        n = text.count(old)
        if n != 1:
            raise SystemExit(f"planted_mutations: {rel}: {old!r} found {n} times (expected once); re-point PLANTED")
        p.write_text(text.replace(old, new))


def run(name: str, timeout_s: float = 900) -> list[dict]:
    edits, files = PLANTED[name]
    rows = []
    with tempfile.TemporaryDirectory(prefix=f"planted-{name}-") as tmp:
        tree = Path(tmp)
        _export(tree)
        _apply(tree, edits)
        # the package reads its model files as the resource package analog_eqprop.hardware_models
        # (pyproject maps the top-level folder onto it); an editable install of the checkout would
        # resolve it to the checkout's own folder, so the export gets the folder where a wheel puts it
        shutil.copytree(tree / "hardware_models", tree / "analog_eqprop" / "hardware_models")
        env = dict(os.environ, PYTHONPATH=str(tree))
        for f in files:
            t0 = time.perf_counter()
            p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", f],
                               cwd=tree, env=env, capture_output=True, text=True, timeout=timeout_s)
            last = (p.stdout.strip().splitlines() or [""])[-1]
            rows.append({"mutation": name, "file": f, "caught": p.returncode == 1, "rc": p.returncode,
                         "summary": last, "seconds": round(time.perf_counter() - t0, 1)})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=sorted(PLANTED), action="append", help="run only this bug (repeatable)")
    ap.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    args = ap.parse_args(argv)
    rows = []
    for name in args.only or list(PLANTED):
        for r in run(name):
            rows.append(r)
            print(json.dumps(r) if args.json else
                  f"{r['mutation']:9s} {r['file']:32s} {'caught' if r['caught'] else 'SURVIVED'}  {r['summary']}",
                  flush=True)
    return 0 if all(r["caught"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
