"""benchmarks/mutation.py's bookkeeping: the equivalent-mutant table and the rerun's sync of the
package (the scratch copy's other modules brought up to date, the mutated module left as the run
had it)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import mutation  # noqa: E402


def test_equivalent_matches_by_pattern_and_module():
    name = "analog_eqprop.solvers.newton.xǁ_Nodalǁlinear__mutmut_25"
    assert "memo" in mutation.equivalent("solvers/newton.py", name)
    assert mutation.equivalent("solvers/bcd.py", name) is None
    assert mutation.equivalent("solvers/newton.py", name.replace("_25", "_3")) is None
    # every entry names a module the tool runs, and gives a reason
    assert set(mutation.EQUIVALENT) <= set(mutation.MODULES)
    assert all(len(why) > 20 for table in mutation.EQUIVALENT.values() for why in table.values())


def test_a_rerun_syncs_the_other_modules_and_keeps_the_mutated_one(tmp_path, capsys):
    work = tmp_path / "solvers_newton"
    stale = work / "analog_eqprop" / "validation.py"
    mutated = work / "analog_eqprop" / "solvers" / "newton.py"
    for f in (stale, work / "mutants" / "analog_eqprop" / "validation.py"):
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("# old\n")
    mutated.parent.mkdir(parents=True, exist_ok=True)
    mutated.write_text("# the run's source\n")
    mutation._sync_package("solvers/newton.py", work)
    current = (ROOT / "analog_eqprop" / "validation.py").read_text()
    assert stale.read_text() == current
    assert (work / "mutants" / "analog_eqprop" / "validation.py").read_text() == current
    assert (work / "mutants" / "analog_eqprop" / "results.py").is_file()  # missing files are copied too
    assert mutated.read_text() == "# the run's source\n"  # never overwritten
    assert not (work / "mutants" / "analog_eqprop" / "solvers" / "newton.py").exists()
    assert "solvers/newton.py changed since the run" in capsys.readouterr().err
