"""``analog-eqprop gradcheck``: EqProp's update against the exact gradient, per beta."""

from __future__ import annotations

import argparse

import numpy as np

from analog_eqprop.circuits.config import CircuitConfig, build_circuit
from analog_eqprop.cli.common import JSON_HELP, HelpFormatter, print_json
from analog_eqprop.eqprop import gradcheck
from analog_eqprop.errors import ConfigError
from analog_eqprop.graphs import layered_graph, random_graph, read_graph
from analog_eqprop.models import HopfieldConfig, HopfieldNetwork, ResistiveNetwork
from analog_eqprop.models.factory import make_model

DESCRIPTION = """\
Compare the EqProp gradient estimate with the exact gradient of J = C(s_0), computed by
implicit differentiation at the free fixed point (and, with --finite-differences, by
central differences of J). Prints, per beta, the cosine and relative error.

--model circuit checks resistive circuits (conductance updates from voltage drops);
there beta is in siemens and defaults to (0.1 ... 0.0001) x the mean conductance. Kendall's
amplifiers (--amplifier-back inverse) make a circuit non-reciprocal, and EqProp is then
not the gradient: the check shows it.

examples:
  analog-eqprop gradcheck --sizes 5,6,3
  analog-eqprop gradcheck --model circuit --builder kendall --amplifier-back reciprocal --sizes 4,5,3
  analog-eqprop gradcheck --random 4,6,3,0.5 --mode centered --json
  analog-eqprop gradcheck --graph net.json --betas 1e-2,1e-3
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gradcheck", help="check EqProp against the exact gradient", description=DESCRIPTION,
                       formatter_class=HelpFormatter)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--graph", help="a saved network graph (.json or .graphml)")
    src.add_argument("--sizes", help="layer sizes of a generated layered net, e.g. 5,6,3")
    src.add_argument("--random", metavar="NI,NH,NO,P", help="a generated random graph: inputs, hidden, outputs, "
                                                          "edge probability")
    p.add_argument("--model", choices=("hopfield", "circuit"), default="hopfield", help="what to check")
    p.add_argument("--builder", choices=("drn", "layered", "kendall", "random"), default="drn",
                   help="circuit family (--model circuit)")
    p.add_argument("--nudge", choices=("current", "resistive"), default="current", help="circuit nudging")
    p.add_argument("--amplifier-back", choices=("inverse", "reciprocal"), default="inverse",
                   help="CCCS gain of Kendall amplifiers: 1/A (non-reciprocal) or A")
    p.add_argument("--lateral", action="store_true", help="with --sizes: add within-layer (lateral) edges")
    p.add_argument("--skip", action="store_true", help="with --sizes: add skip-layer edges")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, inputs and targets")
    p.add_argument("--batch", type=int, default=4, help="number of random examples")
    p.add_argument("--betas", default=None, help="comma-separated nudge strengths (default 0.1,0.01,0.001,0.0001; "
                                               "for circuits times the mean conductance, in S)")
    p.add_argument("--mode", choices=("positive", "centered"), default="positive", help="one-sided or centered")
    p.add_argument("--finite-differences", action="store_true",
                   help="also check the implicit gradient against central differences of J (slow)")
    p.add_argument("--json", action="store_true", help=JSON_HELP + ": the cosine and error per beta")
    p.set_defaults(func=run)


def _centre(G, seed):
    """Generated nets get biases in (0.2, 0.6) and halved weights so that most units sit
    inside (0, 1): with the seed's zero biases many units of a small random net are clipped
    at 0, where no gradient flows and the check says little."""
    rng = np.random.default_rng(seed)
    for _, d in G.nodes(data=True):
        if d["role"] != "input":
            d["bias"] = float(rng.uniform(0.2, 0.6))
    for _, _, d in G.edges(data=True):
        d["weight"] *= 0.5
    return G


def _circuit_model(args):
    if args.graph:
        return make_model("circuit", graph=args.graph, circuit=CircuitConfig(nudge=args.nudge))
    try:
        sizes = [int(v) for v in (args.sizes or "4,5,3").split(",")]
    except ValueError:
        raise ConfigError(f"--sizes must be comma-separated integers, got {args.sizes!r}") from None
    builder = "random" if args.random else args.builder
    if args.random:
        try:
            ni, nh, no, p = args.random.split(",")
            sizes, extra = [int(ni), int(nh), int(no)], {"edge_prob": float(p)}
        except ValueError:
            raise ConfigError(f"--random wants NI,NH,NO,P like 4,6,3,0.5, got {args.random!r}") from None
    else:
        extra = {}
    cfg = CircuitConfig.preset(builder, nudge=args.nudge, amplifier_back=args.amplifier_back, **extra)
    return ResistiveNetwork(build_circuit(sizes, cfg, seed=args.seed))


def _model(args):
    if args.model == "circuit":
        return _circuit_model(args)

    cfg = HopfieldConfig(dtype="float64")
    if args.graph:
        return HopfieldNetwork.from_graph(read_graph(args.graph), cfg)
    if args.random:
        try:
            ni, nh, no, p = args.random.split(",")
            G = _centre(random_graph(int(ni), int(nh), int(no), float(p), seed=args.seed), args.seed)
        except ValueError:
            raise ConfigError(f"--random wants NI,NH,NO,P like 4,6,3,0.5, got {args.random!r}") from None
        return HopfieldNetwork.from_graph(G, cfg)
    try:
        sizes = [int(s) for s in (args.sizes or "5,6,3").split(",")]
    except ValueError:
        raise ConfigError(f"--sizes must be comma-separated integers, got {args.sizes!r}") from None
    G = layered_graph(sizes, skip=args.skip, lateral=args.lateral, seed=args.seed)
    return HopfieldNetwork.from_graph(_centre(G, args.seed), cfg)


def run(args: argparse.Namespace) -> int:
    text = args.betas or "0.1,0.01,0.001,0.0001"
    try:
        betas = tuple(float(b) for b in text.split(","))
    except ValueError:
        raise ConfigError(f"--betas must be comma-separated numbers, got {text!r}") from None
    if any(not b > 0 for b in betas):
        raise ConfigError(f"--betas must all be > 0 (EqProp divides by beta), got {text!r}")
    if args.batch < 1:
        raise ConfigError(f"--batch must be >= 1, got {args.batch}")
    model = _model(args)
    if args.model == "circuit" and args.betas is None:
        betas = tuple(b * float(np.mean(model.g)) for b in betas)
    rng = np.random.default_rng(args.seed)
    x = rng.random((args.batch, model.n_inputs))
    target = np.eye(model.n_outputs)[rng.integers(0, model.n_outputs, args.batch)]
    rep = gradcheck(model, x, target, betas=betas, mode=args.mode, finite_differences=args.finite_differences)
    if args.json:
        print_json(rep.as_dict())
        return 0
    print(f"{rep.n_params} parameters, {args.batch} examples, {args.mode} nudging, |dJ/dtheta| = {rep.exact_norm:.4g}")
    print(f"{'beta':>10}  {'cosine':>10}  {'rel_error':>10}")
    for r in rep.rows:
        print(f"{r.beta:10.3g}  {r.cosine:10.6f}  {r.rel_error:10.3g}")
    if rep.fd_cosine is not None:
        print(f"implicit vs finite differences: cosine {rep.fd_cosine:.8f}, rel error {rep.fd_rel_error:.3g}")
    return 0
