"""How often does ``branch_current`` need its safeguards? (issue 17, mutation testing)

The diode-with-series-resistance solver (:func:`analog_eqprop.elements.diode.branch_current`)
runs Newton from a start value inside a bracket, bisects whenever a step leaves the bracket,
and falls back after ``max_iter`` steps. Mutants of the bisection and of the fallback survive
every test; this script measures, on an instrumented copy of the function, whether any branch
voltage reaches them: the most Newton steps taken, bisections and fallbacks, per card, over
40,000 branch voltages from -1 kV to 1 kV (log-spaced from 1 uV on each side).

Example::

    python benchmarks/branch_current_safeguards.py
"""

from __future__ import annotations

import inspect

import numpy as np

import analog_eqprop.elements.diode as diode


def instrumented():
    src = inspect.getsource(diode.branch_current)
    edits = [
        ("    for _ in range(max_iter):", "    for it in range(max_iter):\n        STATS['steps'] = max(STATS['steps'], it + 1)"),
        ("        vj = np.where((new < lo) | (new > hi), 0.5 * (lo + hi), new)",
         "        STATS['bisections'] += int(np.sum((new < lo) | (new > hi)))\n"
         "        vj = np.where((new < lo) | (new > hi), 0.5 * (lo + hi), new)"),
        ("    else:\n        i, g = diode_current(vj,", "    else:\n        STATS['fallbacks'] += 1\n        i, g = diode_current(vj,"),
    ]
    for old, new in edits:
        if src.count(old) != 1:
            raise SystemExit(f"branch_current changed; re-point this script ({old.strip()!r} not found once)")
        src = src.replace(old, new)
    ns = dict(vars(diode))
    exec(src, ns)
    return ns["branch_current"], ns


def main() -> None:
    cards = diode.load_diode_models()
    models = [cards["D1N4148"], cards["DSHOCKLEY"],
              diode.DiodeModel("DZENER", IS=1e-12, N=1.5, RS=2.0, BV=5.0, IBV=1e-3, NBV=2.0),
              diode.DiodeModel("DRS", IS=4.352e-9, N=1.906, RS=0.6458),
              diode.DiodeModel("DBIGRS", IS=1e-16, N=1.0, RS=1e6),
              diode.DiodeModel("DSHARP", IS=1e-9, N=0.02, RS=1e-3),
              diode.DiodeModel("DLOWBV", IS=1e-14, N=1.0, RS=10.0, BV=1.0, IBV=1e-6)]
    v = np.concatenate([-np.logspace(-6, 3, 20000), np.logspace(-6, 3, 20000)])
    fn, ns = instrumented()
    print(f"{'card':<10}{'most steps':>11}{'bisections':>11}{'fallbacks':>10}  (of {v.size} branch voltages)")
    for m in models:
        ns["STATS"] = {"steps": 0, "bisections": 0, "fallbacks": 0}
        i, _, _ = fn(v, m)
        assert np.all(np.isfinite(i))
        st = ns["STATS"]
        print(f"{m.name:<10}{st['steps']:>11}{st['bisections']:>11}{st['fallbacks']:>10}")


if __name__ == "__main__":
    main()
