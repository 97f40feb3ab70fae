"""Mutation testing of the core physics modules: how many planted bugs do the fast tests catch?

For each module in :data:`MODULES` (the one place to re-point when modules move), mutmut
(``pip install -e '.[dev]'``) plants small bugs one at a time -- an operator swapped, a
constant changed, an argument dropped -- and runs the module's owning fast test files against
each; a mutant is *killed* when a test fails (or it times out), *survives* when all pass.

Each module runs in its own scratch copy of the repository (``build/mutation/<module>/``), so
runs never touch the working tree, and one module can be re-run alone. Raise statements are
not mutated (``do_not_mutate_patterns``): their only mutants are the message text, which the
bad-input tests match by fragment, so such survivors would say nothing about the physics.

Printed per module: mutants, killed (incl. timeouts), survived, no tests, kill rate, wall time
and the load average before and after; the survivors' diffs go to
``build/mutation/<module>/survivors.txt`` and everything to ``build/mutation/summary.json``.

CPU is shared: the run is niced and single-child by default.

Example::

    python benchmarks/mutation.py                          # every module (~1-3 h on 2 busy cores)
    python benchmarks/mutation.py --modules eqprop/core.py --max-children 2
    python benchmarks/mutation.py --modules eqprop/core.py --rerun-survivors   # after new tests
    python benchmarks/mutation.py --modules netlist/compiler.py --resume       # after an interruption
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: what every element kind is exercised by: circuits, decks, ngspice agreement, BCD, power and hardware variants
_CIRCUIT = ["tests/test_circuits.py", "tests/test_netlist.py", "tests/test_agreement.py", "tests/test_bcd.py",
            "tests/test_hardware.py"]

#: Module (under analog_eqprop/) -> the fast test files that own it. Re-point here when modules move.
#: mutmut runs, for each mutant, only the listed tests that execute the mutated function.
MODULES: dict[str, list[str]] = {
    # the element kinds (issue 14): each kind's physics, cards, stamps and deck lines
    # (test_devices: the general-kind loop; test_api: save/load)
    "elements/diode.py": _CIRCUIT + ["tests/test_model_cards.py", "tests/test_newton_convergence.py",
                                     "tests/test_devices.py", "tests/test_api.py"],
    # test_conductances / test_nudge: the survivors of the 2026-12-03 runs (caches, Norton refusals; outputs
    # against node 0, mixed outputs, refused outputs)
    "elements/conductance.py": _CIRCUIT + ["tests/test_perf_paths.py", "tests/test_api.py",
                                           "tests/test_conductances.py"],
    "elements/nudge.py": _CIRCUIT + ["tests/test_losses.py", "tests/test_compare.py", "tests/test_nudge.py"],
    "elements/source.py": _CIRCUIT + ["tests/test_bad_inputs.py", "tests/test_sources.py"],
    "elements/amplifier.py": _CIRCUIT + ["tests/test_amp_offset.py", "tests/test_amplifiers.py"],
    "elements/base.py": _CIRCUIT + ["tests/test_devices.py", "tests/test_mosfet.py"],
    "elements/mosfet.py": ["tests/test_mosfet.py", "tests/test_transistor_edges.py", "tests/test_netlist.py",
                           "tests/test_circuits.py"],
    "elements/device.py": ["tests/test_devices.py", "tests/test_netlist.py", "tests/test_circuits.py"],
    "elements/expression.py": ["tests/test_devices.py", "tests/test_netlist.py"],
    "elements/library.py": ["tests/test_model_cards.py", "tests/test_circuits.py", "tests/test_netlist.py"],
    # the netlist compiler and the circuit description
    # test_compiler_mutants: the sweep's backend decks, transients, nodesets, options, refusals (2026-12-03 run)
    "netlist/compiler.py": ["tests/test_netlist.py", "tests/test_amp_offset.py", "tests/test_agreement.py",
                            "tests/test_hardware.py", "tests/test_mosfet.py", "tests/test_devices.py",
                            "tests/test_compiler_mutants.py"],
    # test_api: tied parameters (Conv2D); found missing by the 2026-12-03 run; test_description_mutants:
    # plain data, pickling, with_values and owner terminals (the survivors of the second run)
    "circuits/description.py": ["tests/test_circuits.py", "tests/test_bcd.py", "tests/test_amp_offset.py",
                                "tests/test_agreement.py", "tests/test_bad_inputs.py", "tests/test_api.py",
                                "tests/test_description_mutants.py"],
    # solvers
    "solvers/newton.py": ["tests/test_circuits.py", "tests/test_agreement.py", "tests/test_bad_inputs.py",
                          "tests/test_newton_convergence.py", "tests/test_mosfet.py", "tests/test_newton_mutants.py",
                          "tests/test_amp_offset.py"],  # the amplifiers' offset drive (found by the 2026-12-03 run)
    "solvers/mna.py": ["tests/test_circuits.py", "tests/test_bcd.py", "tests/test_amp_offset.py",
                       "tests/test_agreement.py", "tests/test_perf_paths.py"],
    # ngspice's convergence aids of the Newton solver (junction limiting, gmin and source stepping)
    "solvers/continuation.py": ["tests/test_continuation.py", "tests/test_newton_convergence.py",
                                "tests/test_circuits.py", "tests/test_mosfet.py", "tests/test_agreement.py"],
    # test_bcd_mutants: dense and clashing weight blocks, precision, refusals (lines coverage found untested)
    "solvers/bcd.py": ["tests/test_bcd.py", "tests/test_perf_paths.py", "tests/test_bad_inputs.py",
                       "tests/test_bcd_mutants.py"],
    # the block plan, split from solvers/bcd.py after its 2026-12-03 run (the same owners)
    "solvers/bcd_plan.py": ["tests/test_bcd.py", "tests/test_perf_paths.py", "tests/test_bad_inputs.py",
                            "tests/test_bcd_mutants.py", "tests/test_dense_builders.py"],
    # which circuits BCD takes, and its sweeps on torch tensors (CPU torch in CI)
    "solvers/bcd_checks.py": ["tests/test_bcd.py", "tests/test_bcd_mutants.py", "tests/test_dense_builders.py",
                              "tests/test_mosfet.py", "tests/test_devices.py"],
    "solvers/bcd_device.py": ["tests/test_perf_paths.py", "tests/test_bcd.py", "tests/test_bcd_mutants.py"],
    # EqProp, its gradient checks and losses, and the resistive model's gradient and update paths
    "eqprop/core.py": ["tests/test_theory.py", "tests/test_circuits.py", "tests/test_losses.py",
                       "tests/test_bad_inputs.py"],
    "eqprop/gradcheck.py": ["tests/test_theory.py", "tests/test_circuits.py", "tests/test_losses.py",
                            "tests/test_bad_inputs.py"],
    "eqprop/losses.py": ["tests/test_losses.py", "tests/test_bad_inputs.py", "tests/test_losses_mutants.py"],
    "models/grad_plan.py": ["tests/test_perf_paths.py", "tests/test_circuits.py", "tests/test_bcd.py",
                            "tests/test_training.py"],
    "models/resistive.py": ["tests/test_perf_paths.py", "tests/test_circuits.py", "tests/test_losses.py",
                            "tests/test_bcd.py", "tests/test_compare.py"],
}

#: Modules mutated only in some functions (mutmut's mutant names, fnmatch patterns; "ǁ" joins a
#: class and its method): the resistive model's EqProp gradient (the per-edge reference, the fused
#: SGD step; the block plan is models/grad_plan.py) and exact gradient, not its bookkeeping.
FOCUS: dict[str, list[str]] = {
    "models/resistive.py": ["*ǁenergy_grad_diff*", "*ǁ_edge_diff__*", "*ǁeqprop_sgd_step__*",
                            "*ǁimplicit_gradient__*", "*ǁclamped_nodes__*", "*ǁ_bias_grad__*"],
}

_START = "start value or bracket of branch_current's safeguarded Newton: the same root"
_SAFEGUARD = ("branch_current's bisection / max_iter fallback: never reached (<= 7 Newton steps, no bisection, "
              "no fallback on 40,000 branch voltages +-1 uV..1 kV of 6 cards with RS: branch_current_safeguards.py)")
_DEFAULT = "an argument passed at the value it defaults to (callers pass no other)"

#: Survivors judged equivalent -- no caller can observe the change -- with the reason (mutmut's
#: name without the module prefix, fnmatch patterns). A rerun skips them; the report's "of
#: non-equivalent" kill rate leaves them out. Add here only with a reason a reviewer can check.
EQUIVALENT: dict[str, dict[str, str]] = {
    "elements/diode.py": {
        **{f"x_branch_current__mutmut_{k}": _START
           for k in (32, 36, 41, 42, 44, 50, 51, 61, 62, 65, 78, 80, 89, 90, 137)},
        **{f"x_branch_current__mutmut_{k}": _SAFEGUARD
           for k in (3, 151, 157, 158, 164, 170, 177, 179, 180, *range(185, 201))},
        **{f"x_branch_current__mutmut_{k}": "reshape(-2) is reshape(-1) for NumPy" for k in (106, 109, 112, 115)},
        **{f"x_branch_current__mutmut_{k}": _DEFAULT for k in (21, 125)},
        "xǁDiodesǁread__mutmut_[234]": "Reader.model_text ignores its types argument (each kind picks its cards)",
        "xǁDiodesǁread__mutmut_7": "parse_model_cards('') is {} too",
        "xǁDiodesǁhardware__mutmut_18": "a float zeros column: Diodes.__post_init__ casts every column to its integer dtype",
        "xǁDiodesǁhardware__mutmut_20": "a float zeros column: Diodes.__post_init__ casts every column to its integer dtype",
        "xǁDiodesǁwrite__mutmut_[345]": "the text of a deck's section comment",
        "xǁDiodesǁread__mutmut_9": "the source name of a duplicate-card message: the parser refuses duplicates first",
        "xǁDiodesǁread__mutmut_1[123]": "the source name of a duplicate-card message: the parser refuses duplicates first",
        "xǁDiodesǁhardware__mutmut_6": "getattr without a default: every caller's config has a diode field",
        "x_branch_current__mutmut_2": "breakdown_voltage's iteration meets reltol 1.001 and 1e-3 at its first step (the "
                                      "same BV to the last bit for D1N4148, a 5 V and a 1 V card)",
        "xǁDiodesǁcurrents__mutmut_27": "np.stack axis +2 is axis -2 for the 4-d result",
        **{f"x__junction_cocontent__mutmut_{k}": "a boundary moved by one point (u == -3 n V_T, v == -BV), where "
           "both sides agree: the co-content is continuous there" for k in (16, 83)},
        **{f"x__junction_cocontent__mutmut_{k}": "a value in lanes np.where discards, or exp's cap 700 -> 701"
           for k in (24, 42, 93)},
        **{f"x__junction_cocontent__mutmut_{k}": "no float64 cast: every expression promotes integer volts"
           for k in (70, 72)},
    },
    "solvers/continuation.py": {
        **{f"x_pnjlim__mutmut_{k}": "np.errstate's arguments: nothing in the block divides by zero or takes the log "
           "of a value <= 0 (vt > 0, the where() guards), so no warning is raised or silenced" for k in (22, 23, 24, 25)},
        **{f"x_pnjlim__mutmut_{k}": "a limited rising lane has |vnew - vold| > 2 vt, so arg = (vnew - vold) / vt "
           "rounds above 2 (2 vt is exact): the guard of `up` at arg == 2 is read only in discarded lanes"
           for k in (45, 49)},
        **{f"x_pnjlim__mutmut_{k}": "`down` is selected only where arg <= 0: its guard (arg < 2) and fill value "
           "act in discarded lanes" for k in (62, 63, 66)},
        **{f"x_pnjlim__mutmut_{k}": "`off` is selected only where vnew > vcrit > 0 (vcrit > 0 for every card with "
           "IS < n V_T / sqrt 2): its guard (vnew > 0) and fill value act in discarded lanes" for k in (76, 79)},
        **{f"x_pnjlim__mutmut_{k}": "0 < arg <= 1 is a change of at most vt < 2 vt: not limited, up/down discarded"
           for k in (95, 96)},
        "x_pnjlim__mutmut_112": "vold == 0: -vold - 1 and 2 vold - 1 are both -1",
        **{f"x_pnjlim__mutmut_{k}": "the reverse bound is <= -1: no vnew in [0, 1) is below it" for k in (125, 126)},
        **{f"x_gmin_stepping__mutmut_{k}": "the dtype of the internal state array (holds 0, 1, -1; compared with == "
           "only)" for k in (28, 30)},
        **{f"x_source_stepping__mutmut_{k}": "the dtype of the internal state array (holds 0, 1, -1; compared with "
           "== only)" for k in (23, 25)},
        **{f"x_gmin_stepping__mutmut_{k}": "`// 4` or `/ 4` against integer iteration counts: it <= floor(s / 4) iff "
           "it <= s / 4, it > floor(3 s / 4) iff it > 3 s / 4" for k in (72, 88)},
        **{f"x_source_stepping__mutmut_{k}": "`// 4` or `/ 4` against integer iteration counts: it <= floor(s / 4) "
           "iff it <= s / 4, it > floor(3 s / 4) iff it > 3 s / 4" for k in (66, 77)},
        **{f"x_gmin_stepping__mutmut_{k}": "the failed mark's value: only state == 0 and state == 1 are read"
           for k in (118, 130)},
        **{f"x_source_stepping__mutmut_{k}": "the failed mark's value: only state == 0 and state == 1 are read"
           for k in (105, 113)},
        "x_source_stepping__mutmut_90": "an increment of exactly 1e-8: the stuck rule acts only at lam == 1 (elsewhere "
                                        "the increment is rise >= 1e-7), and 1 - lam_ok is never the float 1e-8",
    },
    "solvers/newton.py": {
        "xǁ_Nodalǁlimit_general__mutmut_5": "an extra zero column past ground's: no junction index reaches it",
        "xǁ_Nodalǁlimit_general__mutmut_37": "a rise of exactly 10 n V_T counted as over: its scale is cap / cap = 1",
        **{f"xǁ_Nodalǁlimit_general__mutmut_{k}": "the ratio of junctions not over (1 -> 2) or the clip's upper bound "
           "(1 -> 2 or none): some junction is over (else the early return) and its ratio is < 1, so the minimum is "
           "< 1 either way" for k in (54, 58, 65)},
        "xǁNewtonSolverǁ_continue__mutmut_36": "warm=None is falsy: the cold start, as warm=False",
        "xǁ_Nodalǁevaluate__mutmut_8": "an extra zero column past ground's: no terminal index reaches it",
        **{f"xǁ_Nodalǁevaluate__mutmut_{k}": "the zero padding of u for general_stamps, which reads only the free "
           "nodes' columns (terminal_voltages(u[:, :n_free])) and sizes its output by system.n"
           for k in (33, 34, 36, 44)},
        "x__batched_solve__mutmut_1": "solve(None, ...) raises LinAlgError: every example takes the per-example "
                                      "loop, the same LAPACK solve of the same matrix",
        "x__batched_solve__mutmut_8": "np.full_like(a float array, None) fills NaN too",
        **{f"xǁ_Nodalǁlinear__mutmut_{k}": "the memo of the last (G, D) never hits (a None key never equals g): "
           "recomputed, the same numbers" for k in (1, 2, 25)},
        "xǁ_Nodalǁlinear__mutmut_17": "bincount without minlength: the last flat index nf * nf - 1 is the last free "
                                      "node's diagonal, which every circuit stamps (a floating node is refused)",
        **{f"xǁNewtonSolverǁ_solve__mutmut_{k}": "the n == 0 branch of the linear path: a circuit has at least one "
           "output, a free node, so n >= 1 (Circuit refuses one without)" for k in (38, 46)},
        **{f"xǁ_Nodalǁ__init____mutmut_{k}": "the guard (or the remap) of an index that is an internal node: "
           "MNASystem gives internal nodes only to diode anodes behind RS, so no diode or transistor terminal is "
           "one (t == nf, the first internal node, included)" for k in (9, 11, 19, 104)},
        "xǁ_Nodalǁ__init____mutmut_51": "exempt=(rs > 0) in the full formulation, whose rs is all zero: no junction "
                                        "exempt, as exempt=None",
        "xǁ_Nodalǁ__init____mutmut_92": "values '' for None: both falsy, and general_stamps reads values only when "
                                        "truthy",
        "x__nodal__mutmut_1": "the per-system cache of formulations missed: the same formulation built again",
        **{f"xǁNewtonSolverǁ_solve__mutmut_{k}": "np.array's dtype for the list of aided examples: it is non-empty "
           "here (every unconverged example is listed), ints, so int64 either way" for k in (145, 147)},
        "xǁNewtonSolverǁ_solve__mutmut_162": "gmin of eq.internal, which reads it only when not given the currents "
                                             "(it is given them)",
        **{f"xǁNewtonSolverǁ_solve__mutmut_{k}": "eq.internal recomputes the branch currents at the same u and gmin "
           "instead of taking i_end (the currents there): the same numbers" for k in (163, 167)},
        **{f"xǁNewtonSolverǁ_solve__mutmut_{k}": "the default of the aids looked up for the error message: None or () "
           "are both falsy, the message the same" for k in (191, 193)},
        "xǁNewtonSolverǁ_solve__mutmut_111": "_iterate evaluates the branches at the start itself when not passed "
                                             "them: the same u and gmin, the same numbers",
        "xǁNewtonSolverǁ_solve__mutmut_124": "_continue called with every example converged: it tries nothing and "
                                             "returns [] (work, not a value)",
        "xǁ_Nodalǁdirection__mutmut_40": "a chord ratio of exactly 1e-3 (>= for >): a float equality the conductances "
                                         "never meet",
        **{f"xǁ_Nodalǁdirection__mutmut_{k}": "check_finite of the chord LU: J and r are finite there (an example "
           "whose residual is not finite has left the batch), so the check passes and changes nothing"
           for k in (55, 57, 58, 64, 67, 69)},
        "xǁ_Nodalǁdirection__mutmut_50": "every warning an error around the chord LU, not only LinAlgWarning: "
                                         "lu_factor / lu_solve of finite arrays raise no other",
        "xǁ_Nodalǁinternal__mutmut_8": "an extra zero column past ground's: no terminal index reaches it",
        "xǁNewtonSolverǁ_newton__mutmut_10": "keyword arguments dropped: every caller (_solve, _continue) passes "
                                             "them all by position",
        **{f"xǁNewtonSolverǁ_iterate__mutmut_{k}": "np.max's initial of a non-empty row (b and diag(G) have a "
           "column per unknown, at least one)" for k in (25, 28, 35, 37)},
        "xǁNewtonSolverǁ_iterate__mutmut_46": "re-evaluates the branches at the same u with the same gmin: the same "
                                              "numbers",
        **{f"xǁNewtonSolverǁ_iterate__mutmut_{k}": "np.max's initial of a non-empty row (the other kinds' currents "
           "have a column per unknown)" for k in (208, 211)},
        "xǁNewtonSolverǁ_iterate__mutmut_169": "a step of exactly reltol |u| + vntol (< for <=): a float equality the "
                                               "iterates never meet",
        "xǁ_Nodalǁinternal__mutmut_10": "recomputes the branch currents the caller passed, at the same u: the same "
                                        "numbers",
        **{f"xǁ_Nodalǁinternal__mutmut_{k}": "the i=None branch: its one caller (_solve) always passes i"
           for k in range(11, 18)},
        **{f"xǁ_Nodalǁcompanion__mutmut_{k}": "an RS term of a limited junction: RS is 0 there (the reduced "
           "formulation exempts RS branches from limiting, the full one has RS in G)" for k in (16, 17, 19, 24, 25)},
        "xǁNewtonSolverǁresidual__mutmut_16": "general_stamps of a circuit without other nonlinear kinds is zeros "
                                              "(r += 0, J += 0)",
        "xǁNewtonSolverǁresidual__mutmut_26": "jac=False path: general_stamps also builds the Jacobian, which is then "
                                              "unused (work, not a value)",
    },
    "eqprop/losses.py": {
        "x_get_loss__mutmut_4": "the default name 'mse' -> 'MSE': get_loss looks names up lower-cased",
    },
    "elements/conductance.py": {  # the fourth session's full run (numbers of the module as of 46feeac)
        "xǁConductancesǁwrite__mutmut_13": "the value appended for index -1 (a terminal that is no source): read only "
                                           "where kind != 1, and masked there by (kind == 1) &",
        "xǁConductancesǁwrite__mutmut_95": "called only when 1/g[k] is not finite: 2/g[k] is not either, and the "
                                           "message names the same conductance",
        **{f"xǁConductancesǁwrite__mutmut_{k}": "the kind of a single-point deck's Norton current: Deck.value ignores "
           "it outside a sweep, and this branch writes single-point decks only" for k in (168, 177, 178)},
        "xǁConductancesǁwrite__mutmut_194": "SPICE reads a B source's i= in either case",
    },
    "netlist/compiler.py": {
        "xǁNetlistǁwrite__mutmut_10": "encoding 'UTF-8' for 'utf-8': the same codec",
        "xǁNetlistǁfree_voltages__mutmut_8": "reshape(-2) is reshape(-1) for NumPy",
        "xǁNetlistǁfree_voltages__mutmut_3[02]": "no float64 cast of the sweep vector: np.rint of integers or floats "
                                                 "gives the same example indices",
        "xǁDeckǁvalue__mutmut_2": "reshape(None) of a 1-D column: every caller passes one (v_src[:, s], current[:, j], "
                                  "t[:, k])",
        "xǁDeckǁvalue__mutmut_[46]": "no float64 cast: format_number (one example) and Deck.tables (a sweep) cast again",
        "xǁDeckǁvalue__mutmut_8": "reshape(-2) is reshape(-1) for NumPy",
        "xǁDeckǁtables__mutmut_[35]": "no float64 cast: both callers pass float64 arrays (Deck.value casts; the "
                                      "Norton currents are float64 sums)",
        "x__numbers__mutmut_[35]": "the name in a refusal no deck reaches: every array written as metadata (x, "
                                   "target, nudge_ref, nudge_current) was refused by _batch if not finite",
        "x__numbers__mutmut_8": "no float64 cast: format_number casts each value with float()",
        "x__numbers__mutmut_10": "no float64 cast: format_number casts each value with float()",
        "x__numbers__mutmut_12": "reshape(-2) is reshape(-1) for NumPy",
        "x__transient__mutmut_4[5-8]": "the text of a deck's section comment",
        **{f"x__transient__mutmut_{k}": "the name in a refusal no deck reaches: _batch has refused a non-finite "
           "capacitance or v0" for k in (55, 57, 61, 63)},
        **{f"x__header__mutmut_{k}": "the cut of the 'also:' comment line (300 characters, or 200, 301, none): it "
           "holds a count and a noun per element kind, far shorter" for k in (60, 62, 70)},
        "x__header__mutmut_68": "the text of a deck's comment line (the separator of its 'also:' list of kinds)",
        "x__free_nodes__mutmut_6": "the last layer's start value: no layer number equals None or ''",
        "x__free_nodes__mutmut_21": "next(..., None) for next(..., len(run)): run[:None] is run[:len(run)]",
        "xǁDeckǁ__init____mutmut_7": "Deck.beta's start value: _compile sets it before any card is written, and the "
                                     "PySpice writer's Deck writes transistor and device cards, which read no nudge",
        "xǁDeckǁ__init____mutmut_19": "a non-sweep deck reserves the node name idx too: no helper node's name can be "
                                      "idx (<pos>_target, <copy>_int, gate<k> and their _<n> variants)",
        "x__compile__mutmut_8[89]": "the analysis _header gets for a sweep ('dc' or another word): _header tells "
                                    "only 'op' and 'tran' apart by it, and a sweep by d.sweep",
        "x__compile__mutmut_12[57]": "the name in a refusal no deck reaches: _batch has refused a non-finite nodeset",
        "x_compile_netlist__mutmut_38": "sweep=None for sweep=False: every use is a truth test",
        "x_compile_sweep__mutmut_38": "analysis=None for 'op' in a sweep: _compile allows both and writes a .dc "
                                      "whatever analysis says",
    },
    "elements/nudge.py": {  # the fourth session's full run (numbers of the module as of 46feeac)
        "xǁOutputsǁread_out__mutmut_9": "neg > 0 for neg >= 0 in the gather index: where neg == 0 it is 0 either way",
        "xǁOutputsǁread_out__mutmut_10": "neg >= 1 for neg >= 0 in the gather index: where neg == 0 it is 0 either way",
        "xǁOutputsǁread_out__mutmut_11": "the gather index of a single-ended output among differential ones (1 for 0): "
                                         "masked by the next line's where; a checked circuit with a differential "
                                         "output has two distinct free nodes, so index 1 exists",
        "xǁOutputsǁwrite__mutmut_7": "deck.batch is 1 in a single-point deck (one row of x)",
        "xǁOutputsǁwrite__mutmut_134": "the name in the iz card's refusal: -current is finite exactly when current is, "
                                       "and the iy card of the same output, written first, raises first",
        "xǁOutputsǁwrite__mutmut_140": "a sweep deck's nudge source named biz<k> for bz<k>: unique either way, and "
                                       "nothing reads it by name",
        "xǁOutputsǁwrite__mutmut_174": "a sweep deck's target source named bvy<k> for by<k>: unique either way, and "
                                       "nothing reads it by name",
        "xǁOutputsǁwrite__mutmut_14[3]": "SPICE reads a B source's i= in either case",
        "xǁOutputsǁwrite__mutmut_177": "SPICE reads a B source's v= in either case (and a single-point deck ignores "
                                       "the kind)",
        "xǁOutputsǁwrite__mutmut_152": "deck.name(-1) is '0' (ground), as the else branch",
        "xǁOutputsǁpower__mutmut_1[46]": "no float64 cast: every use of target_v meets a float64 array first (out - "
                                         "target_v, target_v * i_r) and NumPy converts integer or float32 targets "
                                         "exactly",
    },
    "solvers/bcd.py": {
        **{f"xǁBCDPlanǁnorton__mutmut_{k}": "the memo of the last batch's Norton currents never hits: they are "
           "computed again, the same values (a cache shortcut)" for k in (25, 35)},
        "xǁBCDPlanǁbuilt__mutmut_15": "fresh_g=True taken as not fresh: g is checked, compared and copied again, "
                                      "the same blocks (fresh only skips that work; no caller passes fresh_g=False)",
        **{f"xǁBCDBackendǁsweeps_device__mutmut_{k}": "a bound moved to the device for a layer that has none "
           "(has_lo / has_hi also guard its only use)" for k in (6, 11)},
        **{f"xǁBCDBackendǁsweeps_device__mutmut_{k}": "the initial delta / it, or the batch size it is made with: "
           "max_iter >= 1 and the last sweep is always watched, so both are always replaced (vs is never empty, "
           "every layer has the batch's rows)" for k in (15, 16, 18, 19, 20, 22, 25)},
        "xǁBCDPlanǁ_drive_blocks__mutmut_40": "bincount without minlength: present is only read at sources that "
                                              "occur (<= its largest index)",
        "xǁBCDPlanǁbuilt__mutmut_80": "bincount without minlength: every free node has a conductance (a floating "
                                      "node is refused by the circuit check), so the diagonal reaches n_free anyway",
        "xǁBCDPlanǁnorton__mutmut_20": "the stacked-batch shortcut tried or missed: np.array_equal against the "
                                       "tiled batch guards it, and the full product gives the same currents",
        **{f"xǁBCDPlanǁnorton__mutmut_{k}": "astype with a copy: the same values (a copy more)" for k in (60, 100)},
        "xǁBCDBackendǁ_kkt__mutmut_70": "max(initial=None) is max(): every layer has at least one node",
        "xǁBCDPlanǁ_schedule__mutmut_10": "pair links left out of the colouring: only the order of the layers in a "
                                          "sweep can change, and every order is exact BCD to the same minimiser "
                                          "(layers are updated one after another)",
        "xǁBCDPlanǁ_schedule__mutmut_40": "NumPy reads a sort kind by its first letter, in either case",
        "xǁBCDBackendǁoperating_point__mutmut_110": "i_ext cast to float64, not the run's dtype: the in-place += "
                                                    "into the layer currents casts it to theirs",
        "xǁBCDBackendǁoperating_point__mutmut_140": "astype with a copy: the same values (a copy more)",
        "xǁBCDBackendǁoperating_point__mutmut_210": "coupling None in the xp path: it refused coupled pairs above, so "
                                                    "coupling is 0.0 there, and None is as falsy",
        "xǁBCDBackendǁsweeps_device__mutmut_80": "change is None only when no layer has a node",
        "xǁ_Gatherǁ__init____mutmut_75": "what a slice gather keeps in edges / flat: build() of a slice reads only "
                                         "start and shape",
        "xǁ_Gatherǁslice_of__mutmut_7": "what a slice gather keeps in coef / edges / flat: build() of a slice "
                                        "reads only start and shape",
        **{f"xǁ_Gatherǁbuild__mutmut_{k}": "the 'put' kind built by the 'sum' path: bincount over unique flat "
           "indices puts each value as it is (0 + v)" for k in (22, 23)},
        "xǁBCDPlanǁbuilt__mutmut_1": "the default of same_g: its one caller (operating_point) passes it",
        "xǁBCDPlanǁbuilt__mutmut_41": "placeholders overwritten before built() returns (nothing between raises for "
                                      "a checked g)",
        "xǁBCDPlanǁbuilt__mutmut_42": "_folded set to {} again at the end of built(), before any use",
        **{f"xǁBCDPlanǁbuilt__mutmut_{k}": "astype with a copy: the same values (a copy more)" for k in (99, 101, 102)},
        **{f"xǁBCDPlanǁnorton__mutmut_{k}": "the identical batch missed by the first memo check is caught by the "
           "stacked-batch check with reps = 1 (np.tile(b, (1, 1)) is a copy): the same currents, no recount"
           for k in (6, 7, 8, 11)},
        "xǁBCDPlanǁnorton__mutmut_18": "the memoised batch's rows or features as the guard: both >= 1 (an empty batch "
                                       "is refused by solve_args)",
        **{f"xǁBCDPlanǁnorton__mutmut_{k}": "astype with a copy: the same values (a copy more)" for k in (58, 61)},
        **{f"xǁBCDPlanǁbounds_as__mutmut_{k}": "the name of the bounds' cache entry" for k in (4, 8, 9)},
        "xǁBCDBackendǁsweeps_device__mutmut_26": "it's start value: the loop assigns it (max_iter >= 1)",
        "xǁBCDBackendǁsweeps_device__mutmut_63": "a layer's change computed on a sweep that is not watched: change is "
                                                 "read only when watched",
        "xǁBCDBackendǁsweeps_device__mutmut_83": "change is None only when no layer has a node",
        "xǁBCDBackendǁsweeps_device__mutmut_84": "max(initial=None) of a non-empty delta (a batch has >= 1 example)",
        "xǁBCDBackendǁsweeps_device__mutmut_86": "a change exactly equal to tol (< for <=): with tol > 0 a float "
                                                 "equality; with tol = 0 only the last sweep is watched, after which "
                                                 "the loop ends either way",
        "xǁBCDBackendǁnudge__mutmut_77": "= for |= on a pair's pos node: where diag_p <= 0 (beta < 0, diag_p in "
                                         "(beta, 0]) the pair test holds too -- diag_n = D_n + beta is either <= 0 "
                                         "with |diag_n| < |beta| or > 0, so diag_p diag_n <= beta^2 either way",
        **{f"xǁBCDBackendǁ_kkt__mutmut_{k}": "the out= buffer of an elementwise step: a fresh array, the same values"
           for k in (33, 36, 39, 42, 74, 76)},
        "xǁBCDBackendǁ_kkt__mutmut_72": "max without initial of a non-empty row (every layer has a node)",
        **{f"xǁ_Gatherǁ__init____mutmut_{k}": "the sort kind of a gather's flat indices: 'STABLE' is read as "
           "'stable'; the default quicksort orders repeated indices (parallel edges on one entry) otherwise, whose "
           "bincount sum is then added up in another order: equal up to rounding (unique indices have one order)"
           for k in (12, 14, 16)},
        **{f"xǁ_Gatherǁ__init____mutmut_{k}": "a gather without edges: never built (only blocks that some edge "
           "touches get one)" for k in (28, 31, 43)},
        "xǁ_Gatherǁ__init____mutmut_44": "a one-edge block gathered as a permutation, not a slice: the same value",
        **{f"xǁ_Gatherǁ__init____mutmut_{k}": "a slice gather keeps its index arrays (memory): build() of a slice "
           "reads only start and shape" for k in (73, 74)},
        "xǁBCDPlanǁ_dense_blocks__mutmut_11": "with no dense block, rest is every edge in increasing order: "
                                              "np.arange(n_edges) exactly",
        "xǁBCDPlanǁ_dense_blocks__mutmut_58": "a dense block inside one layer (la == lb): check_bcd_circuit refuses "
                                              "couplings within a layer",
        "xǁBCDPlanǁ_dense_blocks__mutmut_68": "a block whose rows start at a source ends at or before the last "
                                              "source (the terminals past the sources are amplifier copies, and "
                                              "amplified circuits take the per-edge set-up before this test)",
        "xǁBCDPlanǁ_dense_blocks__mutmut_69": "a source block that ends at the last source taken edge by edge: the "
                                              "per-edge set-up finds the same block (a slice only saves index "
                                              "arrays)",
        "xǁBCDPlanǁ_free_blocks__mutmut_11": "l1 == l2 only for a coupling inside a layer, which check_bcd_circuit "
                                             "refuses",
        "xǁBCDPlanǁ_free_blocks__mutmut_42": "bincount without minlength: the set of nonzero keys is the same",
        "xǁBCDPlanǁ_drive_blocks__mutmut_63": "zero offsets kept instead of None: const += 0, the same currents",
        "xǁBCDPlanǁ_pairs__mutmut_54": "empty pair arrays instead of None for a layer without pairs: every use "
                                       "indexes with them (no-ops) or tests defer.size",
        **{f"xǁBCDPlanǁ_schedule__mutmut_{k}": "the colours or the sort of equal colours: layers are updated one "
           "after another in every order, each an exact minimisation, and layers of one colour are not coupled "
           "(their order changes no number); a colouring that ignores links only reorders the sweep"
           for k in (8, 22, 32, 36, 38)},
        **{f"xǁBCDPlanǁnorton__mutmut_{k}": "the fold map of a layer not reused (recomputed): the same array"
           for k in (76, 77)},
        **{f"xǁBCDPlanǁnorton__mutmut_{k}": "astype with a copy: the same values (a copy more)"
           for k in (82, 84, 86, 98, 102)},
        "xǁBCDBackendǁ_dtype__mutmut_6": "np.dtype(None) is float64",
        "xǁBCDPlanǁ__init____mutmut_17": "NumPy reads a sort kind by its first letter, in either case",
        "xǁBCDPlanǁ__init____mutmut_29": "bincount without minlength of np.unique's inverse: every layer index occurs",
        **{f"xǁBCDPlanǁ__init____mutmut_{k}": "a start value built() overwrites before any read (_borrowed is only "
           "truth-tested, and the first built() has no old g to compare with)" for k in (114, 115, 116, 117)},
        **{f"xǁBCDPlanǁ_bounds__mutmut_{k}": "a ground rail's source index -1 - n_free or -2 for -1: every use tests "
           "d_src >= 0 or clips it at 0" for k in (21, 29)},
        **{f"xǁBCDPlanǁ_bounds__mutmut_{k}": "a flag set more often than needed (bounds recomputed per call, or a "
           "clip at an infinite bound): the same voltages, more work" for k in (38, 41, 49, 55)},
        **{f"xǁBCDBackendǁoperating_point__mutmut_{k}": "a promise (same_g / fresh_g) not passed to the device "
           "path, or g checked although promised: the same blocks, more work" for k in (22, 23, 33, 34, 58, 62, 66)},
        "xǁBCDBackendǁoperating_point__mutmut_117": "coupling None for 0.0: both falsy, only truth-tested until the "
                                                    "nudge sets it",
        **{f"xǁBCDBackendǁoperating_point__mutmut_{k}": "astype with a copy: the same values (a copy more)"
           for k in (137, 139, 152, 154, 155)},
        "xǁBCDBackendǁoperating_point__mutmut_142": "the source voltages computed when constant bounds and no "
                                                    "internal nodes do not need them (work)",
        "xǁBCDBackendǁoperating_point__mutmut_151": "input-dependent bounds left in float64 in a float32 run: the clip "
                                                    "compares in float64 and rounds to float32, which differs from "
                                                    "clipping at the float32-rounded bound only for a voltage within "
                                                    "one float32 ulp of it",
        **{f"xǁBCDBackendǁoperating_point__mutmut_{k}": "the KKT residual's work buffers in float64 in a float32 run "
           "(device path): the reported residual, a diagnostic, is summed in float64 instead of float32 -- rounding "
           "only; the voltages are untouched" for k in (222, 224, 227, 229)},
        "xǁBCDBackendǁoperating_point__mutmut_262": "a float64 second work buffer in a float32 run (as _260: float32 "
                                                    "results bit for bit)",
        **{f"xǁBCDBackendǁoperating_point__mutmut_{k}": "a start value the sweep loop overwrites (max_iter >= 1; delta "
           "is reset at each sweep)" for k in (266, 271, 272)},
        **{f"xǁBCDBackendǁoperating_point__mutmut_{k}": "the out= buffer of an elementwise step: a fresh array, the "
           "same values" for k in (316, 319)},
        **{f"xǁBCDBackendǁoperating_point__mutmut_{k}": "max's initial of a non-empty row or batch" for k in (327, 329, 334)},
        "xǁBCDBackendǁoperating_point__mutmut_336": "a change exactly equal to tol (< for <=): with tol > 0 a float "
                                                    "equality; with tol = 0 only the last sweep is watched, after "
                                                    "which the loop ends either way",
        "xǁBCDPlanǁ_ends__mutmut_35": "m2 of a swapped edge (its a end not free) is never read: every use of m2 "
                                      "selects q2 >= 0, and a swapped edge has q2 = qa < 0",
        "xǁBCDBackendǁoperating_point__mutmut_260": "a float64 second work buffer in a float32 run: it holds float32 "
                                                    "products (cast exactly) and every sum or difference through it is "
                                                    "rounded back to float32, which with 53 >= 2 * 24 + 2 bits gives the "
                                                    "float32 result bit for bit (double rounding is innocuous for + - *: "
                                                    "Figueroa 1995); only memory differs",
    },
    "circuits/description.py": {
        # not equivalent but untestable here: the module-level loop runs _legacy_accessor at import,
        # in mutmut's forkserver, before a mutant is selected, so the mutant never runs. Run by hand
        # in a fresh process (cd build/mutation/circuits_description/mutants && MUTANT_UNDER_TEST=<name>
        # python -m pytest tests/test_circuits.py::test_circuit_accessors_by_hand) each one fails it
        "x__legacy_accessor__mutmut_[1356789]": "import-time code (runs before mutmut selects a mutant); each "
                                                "one fails test_circuit_accessors_by_hand when imported fresh",
        "x__legacy_accessor__mutmut_[24]": "the docstring of a legacy accessor property (import-time code too)",
        **{f"xǁCircuitǁuntied__mutmut_{k}": "a float empty edge_param: Conductances.__post_init__ casts param to "
           "its integer dtype" for k in (8, 10)},
        "xǁCircuitǁ_check_connected__mutmut_3": "one more vertex, linked to nothing: ground is nt - 1 at both ends "
                                                "alike, so no component that holds a free node changes",
        **{f"xǁCircuitǁ_check_connected__mutmut_{k}": "the no-links branch is never taken: the source table always "
           "gives one pair (empty arrays without sources), so pairs is never empty"
           for k in (8, 15, 16, 17, 18, 19, 22, 29, 30, 31, 32, 33)},
        **{f"xǁCircuitǁ_check_connected__mutmut_{k}": "no int64 cast: every kind's links are integer columns (and "
           "coo_matrix casts its indices to its own index dtype)" for k in (11, 13, 25, 27)},
        **{f"xǁCircuitǁ_check_connected__mutmut_{k}": "directed=None / True / scipy's default: connection='weak' "
           "gives a directed graph the same components as the undirected one" for k in (62, 64, 65)},
        "xǁCircuitǁ_check__mutmut_27": "g_max <= inf: an infinite g_max is refused before, by the finite-number "
                                       "check (test_description_mutants: g_max-inf)",
        **{f"xǁCircuitǁterminal_kind__mutmut_{k}": "<= instead of <: differs only at the index one past a range, "
           "which the next owner's range overwrites, or at n_terminals, out of range (every table's check refuses "
           "such terminals before a caller asks)" for k in (14, 24)},
    },
}


# BCDPlan and _Gather moved to solvers/bcd_plan.py after the 2026-12-03 run of solvers/bcd.py (the
# functions unchanged, so their mutants keep their names): their entries follow them
_PLAN = ("xǁBCDPlanǁ", "xǁ_Gatherǁ")
EQUIVALENT["solvers/bcd_plan.py"] = {k: v for k, v in EQUIVALENT["solvers/bcd.py"].items() if k.startswith(_PLAN)}
EQUIVALENT["solvers/bcd.py"] = {k: v for k, v in EQUIVALENT["solvers/bcd.py"].items() if not k.startswith(_PLAN)}


def equivalent(module: str, name: str) -> str | None:
    """Why mutant ``name`` of ``module`` is equivalent (None: it is not judged so)."""
    short = name.rsplit(".", 1)[-1]
    return next((why for pat, why in EQUIVALENT.get(module, {}).items() if fnmatch.fnmatch(short, pat)), None)


#: mutmut statuses that count as killed: a test failed, the tests ran out of time, or the test
#: process crashed (ngspice on a mutated deck) -- the mutant did not pass unnoticed.
KILLED = ("killed", "timeout", "segfault")
#: Repository paths a test run needs besides the package and the tests.
ALSO_COPY = ["hardware_models", "netlists", "examples", "README.md", "benchmarks"]  # benchmarks: test_perf_paths imports drn_models
#: Lines whose statements are not mutated: raise statements (their mutants are message text).
DO_NOT_MUTATE = [r"^\s*raise \w"]
#: Added to every pytest run: hypothesis's examples fixed (seed 0), the same for every mutant.
PYTEST_ARGS = ["--hypothesis-seed=0"]


def _tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return [p for p in out.splitlines() if (ROOT / p).is_file()]


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def prepare(module: str, tests: list[str], work: Path) -> list[str]:
    """A scratch copy of the repository in ``work`` whose pyproject.toml points mutmut at ``module``."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for rel in _tracked_files():
        dst = work / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dst)
    # an editable install maps analog_eqprop.hardware_models onto the source tree's folder: give the
    # copy its own, found first as a regular subpackage
    shutil.copytree(work / "hardware_models", work / "analog_eqprop" / "hardware_models", dirs_exist_ok=True)
    present = [t for t in tests if (ROOT / t).is_file()]
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    text = re.sub(r"\n\[tool\.mutmut\].*?(?=\n\[|\Z)", "", text, flags=re.S)  # ours replaces any
    text += (
        "\n[tool.mutmut]\n"
        'source_paths = ["analog_eqprop"]\n'
        f'only_mutate = ["analog_eqprop/{module}"]\n'
        f"also_copy = {_toml_list(ALSO_COPY)}\n"
        f"pytest_add_cli_args_test_selection = {_toml_list(present)}\n"
        f"do_not_mutate_patterns = {_toml_list(DO_NOT_MUTATE)}\n"
        # property tests draw the same examples for every mutant: a random draw would kill or spare
        # mutants by chance (and a draw that finds a real bug fails the clean run, which stops mutmut)
        f"pytest_add_cli_args = {_toml_list(PYTEST_ARGS)}\n"
        # ngspice must not be initialised before a fork: each mutant's process starts clean
        'process_isolation = "forkserver"\n'
        # a mutant is stopped after 2 x multiplier x (its tests' CPU time + 1 s): mutmut's 15 let one
        # that defeats a cache (every call recomputing) run 40 min; 4 still allows a test 8x slower
        "timeout_multiplier = 4.0\n"
        'forkserver_warmup = "collect"\n'
    )
    (work / "pyproject.toml").write_text(text, encoding="utf-8")
    return present


def _counts(work: Path, focus: list[str] | None = None) -> dict[str, int]:
    """Mutants per status (only those matching ``focus`` when given)."""
    out = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=work,
                         capture_output=True, text=True).stdout
    counts: dict[str, int] = {}
    names: dict[str, list[str]] = {}
    for line in out.splitlines():
        if ":" not in line:
            continue
        name, status = (s.strip() for s in line.rsplit(":", 1))
        if focus and not any(fnmatch.fnmatch(name, pat) for pat in focus):
            continue
        counts[status] = counts.get(status, 0) + 1
        names.setdefault(status, []).append(name)
    (work / "results.json").write_text(json.dumps(names, indent=1), encoding="utf-8")
    return counts


def _merge_rerun(work: Path, last: dict[str, list[str]], rerun: set[str]) -> dict[str, int]:
    """The last run's verdicts with the re-tested mutants' new ones. mutmut resets every cached
    verdict when the test selection changes (a new owning test file), so a mutant that was not
    re-tested keeps the status it had (rather than coming back "not checked")."""
    fresh = json.loads((work / "results.json").read_text())
    status = {n: st for st, ns in last.items() for n in ns}
    for st, ns in fresh.items():
        for n in ns:
            if n in rerun or n not in status:
                status[n] = st
    names: dict[str, list[str]] = {}
    for n, st in status.items():
        names.setdefault(st, []).append(n)
    (work / "results.json").write_text(json.dumps(names, indent=1), encoding="utf-8")
    return {st: len(ns) for st, ns in names.items()}


def _survivor_diffs(work: Path) -> None:
    names = json.loads((work / "results.json").read_text()).get("survived", [])
    with open(work / "survivors.txt", "w", encoding="utf-8") as fh:
        for name in names:
            diff = subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=work,
                                  capture_output=True, text=True).stdout
            fh.write(f"# {name}\n{diff}\n")


def _sync_package(module: str, work: Path) -> None:
    """Copy the working tree's package modules, all but the mutated one, into a scratch copy (and
    its mutants/ tree) before a rerun: the current tests may rely on changes elsewhere in the
    package since the run. The mutated module must be as the run had it (mutant names are its
    functions' and numbers); a warning says when it is not."""
    pkg = ROOT / "analog_eqprop"
    for src in pkg.rglob("*.py"):
        rel = src.relative_to(ROOT)
        if rel.as_posix() == f"analog_eqprop/{module}":
            if (work / rel).is_file() and (work / rel).read_bytes() != src.read_bytes():
                print(f"warning: {rel} changed since the run; its mutants are the old source's", file=sys.stderr)
            continue
        for dst in (work / rel, work / "mutants" / rel):
            if not dst.is_file() or dst.read_bytes() != src.read_bytes():
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)


def _frozen_selection(work: Path) -> list[str]:
    """The owning test files a scratch copy was prepared with (its pyproject.toml)."""
    m = re.search(r"pytest_add_cli_args_test_selection = (\[.*?\])\n", (work / "pyproject.toml").read_text("utf-8"))
    return json.loads(m.group(1)) if m else []


def run_module(module: str, work: Path, max_children: int, rerun: bool = False, resume: bool = False) -> dict:
    """Mutate ``module`` and run its tests; ``rerun``: only the last run's survivors, against the
    working tree's current tests (after new tests were written for them); ``resume``: go on with
    an interrupted run in ``work`` (mutmut keeps each mutant's result as it is decided and skips
    the decided ones), on the scratch copy as it was prepared -- its sources and tests frozen, so
    that every mutant of the run meets the same tests (``--rerun-survivors`` afterwards puts the
    survivors to the current tests)."""
    names: list[str] = list(FOCUS.get(module, []))
    resumed = resume and not rerun and (work / "mutants").is_dir() and (work / "pyproject.toml").is_file()
    if resumed:
        tests = _frozen_selection(work)
    elif rerun:
        last = json.loads((work / "results.json").read_text())
        names = [n for n in last.get("survived", []) + last.get("no tests", []) if not equivalent(module, n)]
        for dst in (work / "tests", work / "mutants" / "tests"):
            shutil.copytree(ROOT / "tests", dst, dirs_exist_ok=True)
        _sync_package(module, work)  # the other modules as the current tests expect them
        tests = [t for t in MODULES[module] if (ROOT / t).is_file()]
        cfg = work / "pyproject.toml"  # owners added since the first run test the survivors too
        cfg.write_text(re.sub(r"pytest_add_cli_args_test_selection = \[.*?\]\n",
                              lambda _: f"pytest_add_cli_args_test_selection = {_toml_list(tests)}\n",
                              cfg.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        tests = prepare(module, MODULES[module], work)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop("PYTHONPATH", None)  # the scratch copy's own package, never the caller's
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    with open(work / ("rerun.log" if rerun else "mutmut.log"), "a" if resumed else "w") as log:
        if not rerun or names:  # (a rerun with no survivors left has nothing to run)
            rc = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children), *names],
                                cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
        else:
            rc = 0
    wall = time.perf_counter() - t0
    load1 = os.getloadavg()
    counts = _counts(work, FOCUS.get(module))
    if rerun:
        counts = _merge_rerun(work, last, set(names))
    _survivor_diffs(work)
    killed = sum(counts.get(k, 0) for k in KILLED)
    total = sum(counts.values())
    scored = killed + counts.get("survived", 0)
    survivors = json.loads((work / "results.json").read_text()).get("survived", [])
    equiv = {n: why for n in survivors if (why := equivalent(module, n))}
    return {"resumed": resumed, "equivalent": len(equiv), "equivalent_survivors": equiv,
            "kill_rate_non_equivalent": killed / (scored - len(equiv)) if scored > len(equiv) else None,
            "not_checked": counts.get("not checked", 0), "module": module, "tests": tests, "rc": rc, "counts": counts, "mutants": total, "killed": killed,
            "survived": counts.get("survived", 0), "no_tests": counts.get("no tests", 0),
            "kill_rate": killed / scored if scored else None, "wall_s": round(wall, 1), "rerun_of_survivors": rerun,
            "load_before": [round(x, 2) for x in load0], "load_after": [round(x, 2) for x in load1]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modules", nargs="*", default=list(MODULES), help="paths under analog_eqprop/ (default: all)")
    ap.add_argument("--max-children", type=int, default=1, help="mutants tested at once (default 1: shared CPU)")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "mutation")
    ap.add_argument("--rerun-survivors", action="store_true",
                    help="re-test only the last run's surviving mutants against the current tests")
    ap.add_argument("--resume", action="store_true",
                    help="go on with an interrupted run (its scratch copy, as prepared) instead of starting afresh")
    args = ap.parse_args(argv)
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        ap.error(f"not in MODULES: {unknown}")
    if shutil.which("git") is None:
        ap.error("needs git (the scratch copies are made from the tracked files)")
    os.nice(10)
    args.out.mkdir(parents=True, exist_ok=True)
    summary_path = args.out / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    print(f"{'module':<26}{'mutants':>8}{'killed':>8}{'survived':>9}{'no tests':>9}{'kill %':>8}{'wall s':>8}  load")
    for module in args.modules:
        res = run_module(module, args.out / module.replace("/", "_").removesuffix(".py"), args.max_children,
                         args.rerun_survivors, args.resume)
        if args.rerun_survivors and module in summary:  # the first run's cost stays the module's figure
            res = dict(res, first_run_wall_s=summary[module].get("first_run_wall_s", summary[module]["wall_s"]),
                       first_run_survived=summary[module].get("first_run_survived", summary[module]["survived"]))
        summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}  # other runs may have written
        summary[module] = res
        summary_path.write_text(json.dumps(summary, indent=1), encoding="utf-8")
        rate = "-" if res["kill_rate"] is None else f"{100 * res['kill_rate']:.1f}"
        print(f"{module:<26}{res['mutants']:>8}{res['killed']:>8}{res['survived']:>9}{res['no_tests']:>9}{rate:>8}"
              f"{res['wall_s']:>8.0f}  {res['load_before'][0]:.1f} -> {res['load_after'][0]:.1f}", flush=True)
    done = [summary[m] for m in args.modules]
    killed = sum(r["killed"] for r in done)
    scored = killed + sum(r["survived"] for r in done)
    if scored:
        print(f"{'all':<26}{sum(r['mutants'] for r in done):>8}{killed:>8}{scored - killed:>9}"
              f"{sum(r['no_tests'] for r in done):>9}{100 * killed / scored:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
