"""``analog-eqprop netlist``: write a circuit as a SPICE netlist that ``ngspice -b`` runs as is."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analog_eqprop.circuits import circuit_from_graph, drn_circuit, kendall_circuit, layered_circuit, random_circuit
from analog_eqprop.cli.common import JSON_HELP, HelpFormatter, print_json
from analog_eqprop.data import load_dataset
from analog_eqprop.errors import ConfigError, DataError
from analog_eqprop.graphs import read_graph
from analog_eqprop.netlist import compile_netlist
from analog_eqprop.netlist.parser import option_value

DESCRIPTION = """\
Compile a circuit graph (.json node-link or .graphml; nodes with roles input, hidden,
output, bias, ground and edges whose weight is a conductance in siemens) or a generated
circuit into a SPICE netlist: one .op of one example, node names made safe for SPICE,
the circuit's labels kept in '* @' metadata comments.

--form norton folds the input sources and their resistors into one conductance and one
current source per node: the same node voltages, a much smaller and faster deck.

examples:
  analog-eqprop netlist net.json -o net.cir
  analog-eqprop netlist --builder drn --sizes 64,32,10 --input-index 0 -o drn.cir
  analog-eqprop netlist --builder kendall --sizes 784,100,10 --form norton --input-index 3 \\
      --dataset mnist -o kendall.cir --json
  analog-eqprop netlist net.graphml --diode D1N4148 --clamp=-0.5,0.5 \\
      --options reltol=1e-6,vntol=1e-9 -o net.cir
  ngspice -b net.cir        # prints the free nodes' voltages
"""

BUILDERS = ("layered", "drn", "kendall", "random")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("netlist", help="write a circuit as a SPICE netlist", description=DESCRIPTION,
                       formatter_class=HelpFormatter)
    p.add_argument("graph", nargs="?", help="circuit graph file (.json or .graphml); or use --builder")
    p.add_argument("-o", "--output", default=None, help="netlist file to write (default: standard output)")
    b = p.add_argument_group("generated circuit (instead of GRAPH)")
    b.add_argument("--builder", choices=BUILDERS, default=None, help="generate a circuit of this kind")
    b.add_argument("--sizes", default=None,
                   help="layer sizes, e.g. 64,32,10 (kendall and random: FEATURES,HIDDEN,CLASSES)")
    b.add_argument("--p", type=float, default=0.5, help="--builder random: edge probability")
    b.add_argument("--seed", type=int, default=0, help="seed of the generated conductances")
    c = p.add_argument_group("circuit")
    c.add_argument("--diode", default=None, help="clamp diode model from hardware_models/diodes.lib, e.g. D1N4148")
    c.add_argument("--clamp", default=None, metavar="LOW,HIGH",
                   help="clamp rails of hidden nodes [V]; 'none' for no diode on that side, e.g. 0,none (write --clamp=-0.5,0.5 for a negative LOW)")
    d = p.add_argument_group("example")
    d.add_argument("--input-index", type=int, default=None,
                   help="write this example's features as the input voltages (default: example 0 with --dataset; "
                        "0 V inputs without)")
    d.add_argument("--dataset", default=None, help="data set of the example (default: digits with --input-index)")
    d.add_argument("--split", choices=("test", "train"), default="test", help="split of --input-index")
    n = p.add_argument_group("netlist")
    n.add_argument("--form", choices=("full", "norton"), default="full", help="full deck or Norton-folded inputs")
    n.add_argument("--options", default=None, metavar="K=V,...",
                   help="simulator options, e.g. reltol=1e-6,vntol=1e-9 (a bare word is a flag)")
    n.add_argument("--title", default=None, help="title line (made safe for SPICE)")
    n.add_argument("--no-probes", dest="probes", action="store_false",
                   help="leave out the .save/.print lines of the free nodes")
    p.add_argument("--json", action="store_true",
                   help=JSON_HELP + ": a summary of the netlist written (needs -o, since without it the netlist "
                        "itself goes to standard output)")
    p.set_defaults(func=run)


def _sizes(text: str | None, n: int | None = None) -> list[int]:
    try:
        sizes = [int(s) for s in (text or "").split(",")]
    except ValueError:
        raise ConfigError(f"--sizes must be comma-separated integers, got {text!r}") from None
    if n is not None and len(sizes) != n:
        raise ConfigError(f"--sizes needs {n} numbers here, got {text!r}")
    return sizes


def _clamp(text: str | None) -> tuple[float | None, float | None] | None:
    if text is None:
        return None
    parts = text.split(",")
    if len(parts) != 2:
        raise ConfigError(f"--clamp wants LOW,HIGH (either may be 'none'), got {text!r}")
    try:
        return tuple(None if s.strip().lower() in ("", "none") else float(s) for s in parts)  # type: ignore[return-value]
    except ValueError:
        raise ConfigError(f"--clamp wants two numbers or 'none', got {text!r}") from None


def _options(text: str | None) -> dict[str, object] | None:
    if not text:
        return None
    out: dict[str, object] = {}
    for item in text.split(","):
        key, eq, value = item.strip().partition("=")
        if not key:
            raise ConfigError(f"--options: empty entry in {text!r}")
        if not eq:
            out[key] = True
            continue
        out[key] = option_value(value)
    return out


def _circuit(args: argparse.Namespace):
    kw = {}
    if args.diode is not None:
        kw["diode"] = args.diode
    clamp = _clamp(args.clamp)
    if clamp is not None:
        kw["clamp"] = clamp
    if args.graph and args.builder:
        raise ConfigError("give either a GRAPH file or --builder, not both")
    if args.graph:
        G = read_graph(args.graph)
        return circuit_from_graph(G, name=str(G.graph.get("name") or Path(args.graph).stem), **kw)
    if not args.builder:
        raise ConfigError("give a GRAPH file or --builder (layered, drn, kendall, random)")
    if args.builder == "layered":
        return layered_circuit(_sizes(args.sizes or "4,3,2"), seed=args.seed, **kw)
    if args.builder == "drn":
        return drn_circuit(_sizes(args.sizes or "64,32,10"), seed=args.seed, **kw)
    if args.builder == "kendall":
        return kendall_circuit(*_sizes(args.sizes or "64,16,10", 3), seed=args.seed, **kw)
    return random_circuit(*_sizes(args.sizes or "4,6,3", 3), p=args.p, seed=args.seed, **kw)


def _example(args: argparse.Namespace, n_features: int):
    """``(features, index, data set)`` of the deck's input example: ``--input-index`` of
    ``--dataset``; a data set named without an index gives its example 0 (said on standard
    error); neither gives ``(None, None, None)``: 0 V inputs."""
    index, name = args.input_index, args.dataset
    if index is None:
        if name is None:
            return None, None, None
        index = 0
        print(f"netlist: no --input-index: writing {args.split} example 0 of {name} as the inputs", file=sys.stderr)

    name = name or "digits"
    ds = load_dataset(name)
    x = ds.x_test if args.split == "test" else ds.x_train
    if not 0 <= index < len(x):
        raise ConfigError(f"--input-index {index} is outside the {len(x)} {args.split} examples")
    if x.shape[1] != n_features:
        raise DataError(f"{name} has {x.shape[1]} features per example but the circuit reads {n_features}")
    return x[index], index, name


def run(args: argparse.Namespace) -> int:
    if args.json and not args.output:
        raise ConfigError("--json needs -o FILE (the netlist cannot share standard output with the summary)")
    circuit = _circuit(args)
    x, index, dataset = _example(args, circuit.n_features)
    net = compile_netlist(circuit, x=x, form=args.form,
                          options=_options(args.options), title=args.title, probes=args.probes)
    if not args.output:
        sys.stdout.write(net.text)
        return 0
    path = net.write(args.output)
    if args.json:
        counts: dict[str, int] = {}
        for line in net.lines:
            if line[:1].isalpha():
                kind = line[0].upper()
                counts[kind] = counts.get(kind, 0) + 1
        print_json({"path": str(path), "n_lines": net.n_lines, "n_bytes": len(net.text.encode("utf-8")),
                    "circuit": circuit.name, "form": net.form, "n_free": circuit.n_free,
                    "nodes": net.node_names, "elements": counts, "example": index, "dataset": dataset})
    else:
        print(f"wrote {path}: {net.n_lines} lines, {circuit.n_free} free nodes, {net.form} form")
    return 0
