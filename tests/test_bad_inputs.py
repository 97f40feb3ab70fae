"""The bad-input catalogue: every public entry point names the problem, never a deep traceback.

Each case feeds one malformed input to a public function or to the CLI and asserts (1) the
exception is one of the toolkit's own (:class:`AnalogEqpropError`: never a KeyError,
IndexError or a NumPy error from deep inside) and (2) its message names the problem so a
user can act on it.
"""

from __future__ import annotations

import gzip
import json
import re
import struct
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from analog_eqprop.errors import AnalogEqpropError, ConfigError, DataError, GraphError


# ----------------------------------------------------------------------------- builders
def _hop_graph():
    G = nx.Graph()
    G.add_nodes_from(["a", "b"], role="input")
    G.add_nodes_from(["h1", "h2"], role="hidden")
    G.add_node("y", role="output")
    G.add_edges_from([("a", "h1"), ("b", "h2"), ("h1", "y"), ("h2", "y")], weight=0.3)
    return G


def _circ_graph():
    G = _hop_graph()
    for _, _, d in G.edges(data=True):
        d["weight"] = 1e-5
    return G


def _hopfield(G):
    from analog_eqprop.models import HopfieldNetwork

    return HopfieldNetwork.from_graph(G)


def _circuit(G, **kw):
    from analog_eqprop.circuits import circuit_from_graph

    return circuit_from_graph(G, **kw)


def _mut(G, f):
    f(G)
    return G


def _write_idx(path: Path, data: bytes, gz: bool = True) -> Path:
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def _idx_header(dtype_code: int, dims: tuple[int, ...]) -> bytes:
    return bytes([0, 0, dtype_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)


# ------------------------------------------------------------------- the catalogue
# (case id, callable taking tmp_path, expected message fragment)
CASES = [
    # graphs
    ("graph-missing-role", lambda t: _hopfield(_mut(_hop_graph(), lambda G: G.add_node("z"))), "'z'"),
    ("graph-unknown-role", lambda t: _hopfield(_mut(_hop_graph(), lambda G: G.nodes["h1"].update(role="neuron"))),
     "neuron"),
    ("graph-no-input", lambda t: _hopfield(_mut(_hop_graph(), lambda G: [G.nodes[n].update(role="hidden")
                                                                           for n in ("a", "b")])), "input"),
    ("graph-no-output", lambda t: _hopfield(_mut(_hop_graph(), lambda G: G.nodes["y"].update(role="hidden"))),
     "output"),
    ("graph-isolated-node", lambda t: _hopfield(_mut(_hop_graph(), lambda G: G.add_node("h9", role="hidden"))),
     "h9"),
    ("graph-unreachable-output", lambda t: _hopfield(_mut(_hop_graph(), lambda G: (
        G.add_node("y2", role="output"), G.add_node("h3", role="hidden"), G.add_edge("h3", "y2", weight=0.1)))),
     "y2"),
    ("graph-nan-weight", lambda t: _hopfield(_mut(_hop_graph(), lambda G: G.edges["a", "h1"].update(
        weight=float("nan")))), "nan"),
    ("graph-inf-weight", lambda t: _hopfield(_mut(_hop_graph(), lambda G: G.edges["a", "h1"].update(
        weight=float("inf")))), "inf"),
    ("graph-self-loop", lambda t: _hopfield(_mut(_hop_graph(), lambda G: G.add_edge("h1", "h1", weight=0.1))),
     "h1"),
    ("graph-directed", lambda t: _hopfield(nx.DiGraph(_hop_graph())), "directed"),
    ("graph-input-input-edge", lambda t: _hopfield(_mut(_hop_graph(), lambda G: G.add_edge("a", "b", weight=0.1))),
     "input"),
    ("graph-missing-weight", lambda t: _hopfield(_mut(_hop_graph(), lambda G: G.edges["a", "h1"].pop("weight"))),
     "weight"),
    ("graph-text-weight", lambda t: _hopfield(_mut(_hop_graph(), lambda G: G.edges["a", "h1"].update(weight="big"))),
     "weight"),
    ("graph-nan-bias", lambda t: _hopfield(_mut(_hop_graph(), lambda G: G.nodes["h1"].update(bias=float("nan")))),
     "bias"),
    ("graph-layer-mixes-roles", lambda t: _hopfield(_mut(_hop_graph(), lambda G: [
        G.nodes[n].update(layer=0 if d["role"] == "input" else 1) for n, d in G.nodes(data=True)])), "layer"),
    ("graph-empty", lambda t: _hopfield(nx.Graph()), "empty"),
    ("graph-huge-fan-in", lambda t: _hopfield(_huge_fan_in()), "dense"),
    ("graph-file-missing", lambda t: __import__("analog_eqprop.graphs", fromlist=["read_graph"]).read_graph(
        t / "nope.json"), "nope.json"),
    ("graph-file-bad-json", lambda t: __import__("analog_eqprop.graphs", fromlist=["read_graph"]).read_graph(
        _text(t / "g.json", "{not json")), "g.json"),
    ("graph-file-bad-extension", lambda t: __import__("analog_eqprop.graphs", fromlist=["read_graph"]).read_graph(
        _text(t / "g.txt", "x")), ".graphml"),
    # circuits
    ("circuit-negative-conductance", lambda t: _circuit(_mut(_circ_graph(), lambda G: G.edges["a", "h1"].update(
        weight=-1e-5))), "weight"),
    ("circuit-zero-conductance", lambda t: _circuit(_mut(_circ_graph(), lambda G: G.edges["a", "h1"].update(
        weight=0.0))), "weight"),
    ("circuit-bias-without-voltage", lambda t: _circuit(_mut(_circ_graph(), lambda G: (
        G.add_node("vb", role="bias"), G.add_edge("vb", "h1", weight=1e-5)))), "voltage"),
    ("circuit-unknown-diode", lambda t: _circuit(_circ_graph(), diode="D2N9999", clamp=(0.0, None)), "D2N9999"),
    ("circuit-bad-polarity", lambda t: _circuit(_mut(_circ_graph(), lambda G: G.nodes["y"].update(polarity=0))),
     "polarity"),
    ("circuit-bad-nudge", lambda t: _circuit(_circ_graph(), nudge="magnetic"), "nudge"),
    ("circuit-bad-device-range", lambda t: _circuit(_circ_graph(), g_min=1e-3, g_max=1e-6), "g_min"),
    # configs
    ("config-beta-zero", lambda t: _train_config(beta=0.0), "beta must be > 0"),
    ("config-negative-lr", lambda t: _train_config(learning_rates=(0.1, -0.2)), "learning_rates[1]"),
    ("config-zero-batch", lambda t: _train_config(batch_size=0), "batch"),
    ("config-unknown-mode", lambda t: _train_config(beta_mode="both"), "beta_mode"),
    ("config-unknown-optimizer", lambda t: _train_config(optimizer="rmsprop"), "optimizer"),
    ("config-negative-eps", lambda t: _hop_config(eps=-0.5), "eps"),
    ("config-negative-sigma", lambda t: _hop_config(sigma=-1.0), "sigma"),
    ("config-unknown-key", lambda t: _from_dict({"betta": 1.0}), "did you mean 'beta'"),
    ("config-wrong-type", lambda t: _from_dict({"epochs": "ten"}), "expected an integer"),
    ("config-bool-for-number", lambda t: _from_dict({"beta": True}), "boolean"),
    ("config-toml-syntax", lambda t: _load_cfg(_text(t / "c.toml", "beta = = 1")), "c.toml"),
    ("config-file-missing", lambda t: _load_cfg(t / "missing.toml"), "missing.toml"),
    ("config-circuit-g-range", lambda t: _circuit_config(g_init_low=1e-3, g_init_high=1e-6), "g_init_low"),
    # data
    ("idx-bad-magic", lambda t: _read_idx(_write_idx(t / "a.gz", b"\x01\x02\x08\x01" + struct.pack(">I", 1) + b"\x00")),
     "magic"),
    ("idx-truncated", lambda t: _read_idx(_write_idx(t / "b.gz", _idx_header(8, (10, 28, 28)) + b"\x00" * 100)),
     "truncated"),
    ("idx-corrupt-gzip", lambda t: _read_idx(_text_bytes(t / "c.gz", b"\x1f\x8b" + b"garbage" * 10)), "c.gz"),
    ("idx-empty-file", lambda t: _read_idx(_text_bytes(t / "d.idx", b"")), "empty"),
    ("idx-unknown-type", lambda t: _read_idx(_write_idx(t / "e.gz", _idx_header(0x42, (2,)) + b"\x00\x00")), "type"),
    ("data-dir-missing", lambda t: _load_mnist(t / "no-such-dir"), "no-such-dir"),
    ("data-count-mismatch", lambda t: _load_mnist(_fake_mnist(t, n_labels=5)), "5"),
    ("data-unknown-name", lambda t: __import__("analog_eqprop.data", fromlist=["x"]).load_dataset("cifar-10"),
     "cifar-10"),
    ("data-empty-train", lambda t: _empty_dataset(), "empty"),
    ("data-wrong-feature-count", lambda t: _hopfield(_hop_graph()).check_inputs(np.zeros((3, 5))), "(batch, 2)"),
    ("data-nan-inputs", lambda t: _circ_model().check_inputs(np.full((2, 2), np.nan)), "NaN"),
    ("data-labels-out-of-range", lambda t: _one_hot(np.array([0, 7]), 3), "[0, 3)"),
    # netlists
    ("netlist-control-block", lambda t: _parse("t\n* analog_eqprop netlist, format 1\n.control\nshell ls\n.endc\n.end"),
     ".control"),
    ("netlist-foreign", lambda t: _parse("title\nR1 a 0 1k\n.end\n"), "line 2"),
    ("netlist-hash-command", lambda t: _check_deck("t\n*#shell rm -rf /tmp/x\nR1 a 0 1k\n.end\n"), "'*#'"),
    ("netlist-include", lambda t: _check_deck("t\n.include /etc/passwd\n.end\n"), "reads another file"),
    ("netlist-empty", lambda t: _check_deck("   \n\n"), "empty"),
    ("netlist-nul", lambda t: _check_deck("t\nR1 a 0 1k\x00\n.end"), "NUL"),
    # checkpoints
    ("checkpoint-corrupt", lambda t: _load_ck(_text_bytes(t / "ck.npz", b"PK\x03\x04broken")), "ck.npz"),
    ("checkpoint-missing", lambda t: _load_ck(t / "none.npz"), "none.npz"),
]


def _text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _text_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _huge_fan_in():
    """A sparse graph whose input->hidden block would be 200k x 60k dense (96 GB in float64)."""
    G = nx.Graph()
    n_in, n_hid = 200_000, 60_000
    G.add_nodes_from((f"x{i}" for i in range(n_in)), role="input")
    G.add_nodes_from((f"h{i}" for i in range(n_hid)), role="hidden")
    G.add_node("y", role="output")
    G.add_edges_from(((f"x{i}", f"h{i % n_hid}") for i in range(n_in)), weight=0.01)
    G.add_edges_from(((f"h{i}", "y") for i in range(n_hid)), weight=0.01)
    return G


def _train_config(**kw):
    from analog_eqprop.training import TrainConfig

    return TrainConfig(**kw)


def _hop_config(**kw):
    from analog_eqprop.models import HopfieldConfig

    return HopfieldConfig(**kw)


def _circuit_config(**kw):
    from analog_eqprop.circuits.config import CircuitConfig

    return CircuitConfig(**kw)


def _from_dict(d):
    from analog_eqprop.config import from_dict
    from analog_eqprop.training import TrainConfig

    return from_dict(TrainConfig, d)


def _load_cfg(path):
    from analog_eqprop.config import load_config_file

    return load_config_file(path)


def _read_idx(path):
    from analog_eqprop.data import read_idx

    return read_idx(path)


def _load_mnist(path):
    from analog_eqprop.data import load_mnist

    return load_mnist(path)


def _fake_mnist(t: Path, n_labels: int) -> Path:
    d = t / "mnist"
    d.mkdir()
    imgs = _idx_header(8, (4, 28, 28)) + b"\x00" * (4 * 28 * 28)
    labs = _idx_header(8, (n_labels,)) + b"\x01" * n_labels
    for split in ("train", "t10k"):
        _write_idx(d / f"{split}-images-idx3-ubyte.gz", imgs)
        _write_idx(d / f"{split}-labels-idx1-ubyte.gz", labs)
    return d


def _empty_dataset():
    from analog_eqprop.data import Dataset

    return Dataset("empty", np.zeros((0, 4)), np.zeros(0, int), np.zeros((2, 4)), np.zeros(2, int), 2)


def _circ_model():
    from analog_eqprop.models import ResistiveNetwork

    return ResistiveNetwork(_circuit(_circ_graph()))


def _one_hot(labels, n):
    from analog_eqprop.training import one_hot_targets

    return one_hot_targets(labels, n)


def _parse(text):
    from analog_eqprop.netlist import parse_netlist

    return parse_netlist(text)


def _check_deck(text):
    from analog_eqprop.solvers.ngspice_batch import check_netlist_text

    return check_netlist_text(text)


def _load_ck(path):
    from analog_eqprop.training import load_checkpoint

    return load_checkpoint(path)


def test_the_catalogue_is_big_enough():
    assert len(CASES) >= 40
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case, call, fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_error(case, call, fragment, tmp_path):
    with pytest.raises(AnalogEqpropError) as info:
        call(tmp_path)
    assert fragment.lower() in str(info.value).lower(), f"{case}: message does not name the problem: {info.value}"


# ------------------------------------------------------------------------- the CLI
CLI_CASES = [
    (["train", "--sizes", "64,x,10"], "comma-separated integers"),
    (["train", "--beta", "0"], "beta must be > 0"),
    (["train", "--dataset", "imagenet"], "imagenet"),
    (["train", "--config", "/nonexistent/run.toml"], "/nonexistent/run.toml"),
    (["train", "--learning-rates", "0.1,0.1,0.1"], "3 entries but the network has 2 layers"),
    (["train", "--model", "circuit", "--g-min", "1", "--g-max", "0.5"], "g_min"),
    (["train", "--data-dir", "/nonexistent/mnist", "--dataset", "mnist"], "/nonexistent/mnist"),
    (["gradcheck", "--betas", "0.1,-1"], "> 0"),
    (["gradcheck", "--random", "4,6"], "NI,NH,NO,P"),
    (["simulate", "/nonexistent/x.cir"], "not found"),
]


@pytest.mark.parametrize("argv, fragment", CLI_CASES, ids=[" ".join(a[:3]) for a, _ in CLI_CASES])
def test_cli_bad_input_exits_2_with_a_named_problem(argv, fragment, tmp_path, capsys):
    from analog_eqprop.cli import main

    code = main([*argv, *(["--out", str(tmp_path / "run")] if argv[0] == "train" else [])])
    err = capsys.readouterr().err
    assert code == 2
    assert fragment.lower() in err.lower()
    assert "Traceback" not in err


def test_cli_binary_netlist(tmp_path, capsys):
    from analog_eqprop.cli import main

    bad = tmp_path / "bin.cir"
    bad.write_bytes(b"\xff\xfe\x00binary")
    assert main(["simulate", str(bad)]) == 2
    assert "UTF-8" in capsys.readouterr().err


def test_cli_corrupt_config_json(tmp_path, capsys):
    from analog_eqprop.cli import main

    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps([1, 2, 3]))
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "r")]) == 2
    assert "c.json" in capsys.readouterr().err


# ------------------------------------------ non-finite and mis-shaped input, every backend alike
# One small net per family with the same shapes: 2 inputs, 5 free nodes, 2 outputs, batch 3.
# The circuit (a DRN, current-mode nudging) suits every circuit backend, BCD included.
SOLVERS = ("numpy", "bcd", "ngspice", "solve_dc", "hopfield")
_X = np.full((3, 2), 0.5)
_S = np.zeros((3, 5))
_T = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
_NAN, _INF = float("nan"), float("inf")


def _with(a, idx, value):
    a = np.array(a, dtype=np.float64)
    a[idx] = value
    return a


def _drn():
    from analog_eqprop.circuits import drn_circuit

    return drn_circuit([2, 3, 2], seed=0)


def _hop_net(**params):
    from analog_eqprop.models import HopfieldConfig, HopfieldNetwork

    net = HopfieldNetwork.layered([2, 3, 2], seed=0, config=HopfieldConfig(dtype="float64"))
    return HopfieldNetwork(net.structure, {**net.params, **params}, net.config) if params else net


def _solve(solver, *, x=_X, g=None, beta=0.0, target=None, state=None, i_ext=None):
    """One call of ``solver`` with the canonical arguments (``g``: conductances for circuits, a
    replacement ``W0`` for the Hopfield net; ``state``: the start, and the reference when nudged)."""
    if solver == "hopfield":
        from analog_eqprop.models.hopfield import relax

        net = _hop_net() if g is None else _hop_net(W0=g)
        return relax(net.structure, net.params, x, _S if state is None else state, n_iter=3, beta=beta,
                     target=target)
    c = _drn()
    g = c.edge_g if g is None else g
    ref = state if np.any(beta) else None
    if solver == "solve_dc":
        from analog_eqprop.solvers.newton import solve_dc

        return solve_dc(c, g, x, beta=beta, target=target, ref=ref, u0=state)
    from analog_eqprop.solvers.backends import get_backend
    from analog_eqprop.solvers.mna import MNASystem

    kw = {} if i_ext is None else {"i_ext": i_ext}
    return get_backend(solver).operating_point(MNASystem(c), g, x, beta=beta, target_v=target, ref=ref, u0=state,
                                               **kw)


def _bad_g(kind):
    """A bad conductance vector (circuits) or first weight block (Hopfield) of the given kind."""
    def make(solver):
        if solver == "hopfield":
            w = _hop_net().params["W0"]
            return {"nan": _with(w, (0, 1), _NAN), "inf": _with(w, (0, 1), -_INF), "short": w[:, :2],
                    "long": np.zeros((2, 4)), "text": np.full(w.shape, "big")}[kind]
        g = _drn().edge_g
        return {"nan": _with(g, 3, _NAN), "inf": _with(g, 3, _INF), "short": g[:-1], "long": np.r_[g, 1e-5],
                "text": np.full(g.shape, "big"), "zero": _with(g, 3, 0.0), "negative": _with(g, 3, -1e-5)}[kind]
    return make


# (case id, keyword arguments (or a function of the solver giving them), error, fragments the message
# must hold: a string, a tuple of strings, or a dict by solver kind "circuit" / "hopfield")
SOLVE_CASES = [
    ("x-nan", dict(x=_with(_X, (0, 1), _NAN)), "DataError", ("x[0, 1]", "nan")),
    ("x-inf", dict(x=_with(_X, (2, 0), _INF)), "DataError", ("x[2, 0]", "inf")),
    ("x-extra-column", dict(x=np.zeros((3, 3))), "DataError", ("x must have shape", "(3, 3)")),
    ("x-missing-column", dict(x=np.zeros((3, 1))), "DataError", ("x must have shape", "(3, 1)")),
    ("x-3d", dict(x=np.zeros((3, 2, 1))), "DataError", "x must have shape"),
    ("x-text", dict(x=[["a", "b"]]), "DataError", "x must be an array of numbers"),
    ("g-nan", lambda s: dict(g=_bad_g("nan")(s)), "DataError", {"circuit": "g[3] is nan", "hopfield": "W0[0, 1]"}),
    ("g-inf", lambda s: dict(g=_bad_g("inf")(s)), "DataError", {"circuit": "g[3] is inf", "hopfield": "W0[0, 1]"}),
    ("g-short", lambda s: dict(g=_bad_g("short")(s)), "DataError",
     {"circuit": "g must have shape (28,)", "hopfield": "W0 must have shape (2, 3)"}),
    ("g-long", lambda s: dict(g=_bad_g("long")(s)), "DataError",
     {"circuit": "g must have shape (28,)", "hopfield": "W0 must have shape (2, 3)"}),
    ("g-text", lambda s: dict(g=_bad_g("text")(s)), "DataError", {"circuit": "g must be", "hopfield": "W0 must be"}),
    ("beta-nan", dict(beta=_NAN, target=_T, state=_S), "ConfigError", ("beta", "nan")),
    ("beta-inf", dict(beta=-_INF, target=_T, state=_S), "ConfigError", ("beta", "inf")),
    ("beta-text", dict(beta="0.1", target=_T, state=_S), "ConfigError", ("beta", "'0.1'")),
    ("beta-array", dict(beta=np.full(2, 0.1), target=_T, state=_S), "ConfigError", "beta"),
    ("target-missing", dict(beta=0.1, state=_S), "DataError", ("needs its target", "(3, 2)")),
    ("target-nan", dict(beta=0.1, target=_with(_T, (1, 0), _NAN), state=_S), "DataError", ("target", "[1, 0] is nan")),
    ("target-extra-column", dict(beta=0.1, target=np.zeros((3, 3)), state=_S), "DataError",
     ("target", "must have shape (3, 2)")),
    ("target-wrong-rows", dict(beta=0.1, target=np.zeros((2, 2)), state=_S), "DataError",
     ("target", "must have shape (3, 2)")),
    ("state-nan", dict(state=_with(_S, (2, 4), _NAN)), "DataError", {"circuit": "u0[2, 4] is nan",
                                                                      "hopfield": "state[2, 4] is nan"}),
    ("state-wrong-width", dict(state=np.zeros((3, 4))), "DataError", ("must have shape (3, 5", "(3, 4)")),
    ("state-wrong-rows", dict(state=np.zeros((4, 5))), "DataError", ("must have shape (3, 5", "(4, 5)")),
    ("reference-nan", dict(beta=0.1, target=_T, state=_with(_S, (0, 0), _INF)), "DataError",
     {"circuit": "ref[0, 0] is inf", "hopfield": "state[0, 0] is inf"}),
]
# preconditions only circuits have: the free state as the reference of current-mode nudging,
# conductances > 0, current sources of the right shape (BCD)
CIRCUIT_CASES = [
    ("reference-missing", dict(beta=0.1, target=_T), "DataError", ("needs the free state", "ref")),
    ("g-zero", lambda s: dict(g=_bad_g("zero")(s)), "DataError", ("g[3] is 0.0", "> 0")),
    ("g-negative", lambda s: dict(g=_bad_g("negative")(s)), "DataError", ("g[3] is -1e-05", "> 0")),
    # an empty batch: refused (Newton warned "Mean of empty slice" and BCD reported one sweep)
    ("x-empty", dict(x=np.zeros((0, 2))), "DataError", ("x has no examples", "(0, 2)")),
]


def _expect(solver, err, fragments):
    import analog_eqprop.errors as errors

    if isinstance(fragments, dict):
        fragments = fragments["hopfield" if solver == "hopfield" else "circuit"]
    return getattr(errors, err), (fragments,) if isinstance(fragments, str) else fragments


_SOLVE_PARAMS = [pytest.param(s, *case[1:], id=f"{case[0]}-{s}") for case in SOLVE_CASES for s in SOLVERS]
_SOLVE_PARAMS += [pytest.param(s, *case[1:], id=f"{case[0]}-{s}") for case in CIRCUIT_CASES
                  for s in SOLVERS if s != "hopfield"]


@pytest.mark.parametrize("solver, kw, err, fragments", _SOLVE_PARAMS)
def test_every_solver_refuses_bad_arrays_and_parameters_alike(solver, kw, err, fragments):
    """Each backend refuses each bad input before solving, with the one type and a message naming it."""
    err, fragments = _expect(solver, err, fragments)
    with pytest.raises(err) as info:
        _solve(solver, **(kw(solver) if callable(kw) else kw))
    assert type(info.value) is err, f"{solver}: {type(info.value).__name__}: {info.value}"
    for f in fragments:
        assert f in str(info.value), f"{solver}: message does not name {f!r}: {info.value}"


def test_the_solver_catalogue_covers_every_backend():
    assert len(_SOLVE_PARAMS) >= 100 and {p.values[0] for p in _SOLVE_PARAMS} == set(SOLVERS)


def test_bcd_refuses_bad_current_sources():
    with pytest.raises(DataError, match=r"i_ext\[1\] is nan"):
        _solve("bcd", i_ext=_with(np.zeros(5), 1, _NAN))
    with pytest.raises(DataError, match=r"i_ext must have shape \(5,\)"):
        _solve("bcd", i_ext=np.zeros(6))


def test_ngspice_refuses_bad_nudge_currents_before_running():
    from analog_eqprop.solvers.mna import MNASystem
    from analog_eqprop.solvers.ngspice_backend import NgspiceBackend

    c = _drn()
    with pytest.raises(DataError, match=r"nudge_current\[0, 1\] is nan"):
        NgspiceBackend().operating_point(MNASystem(c), c.edge_g, _X, beta=0.1, target_v=_T,
                                         nudge_current=_with(np.zeros((3, 2)), (0, 1), _NAN))


def test_the_issue_cases_are_refused():
    """Issue 13: a NaN rail compiled and solved to "converged" NaN voltages; extra columns were trimmed."""
    from analog_eqprop.circuits import circuit_from_graph
    from analog_eqprop.solvers.newton import solve_dc

    G = _circ_graph()
    G.add_node("vb", role="bias", voltage=_NAN)
    G.add_edge("vb", "h1", weight=1e-5)
    with pytest.raises(GraphError, match=r"node 'vb': attribute 'voltage' must be a finite number, got nan"):
        circuit_from_graph(G)
    c = circuit_from_graph(_circ_graph())
    with pytest.raises(DataError, match=r"x must have shape \(batch, 2\), got \(1, 3\)"):
        solve_dc(c, c.edge_g, [[0.0, 0.0, 1.0]])


# ------------------------------------------------------------------ the models, trainer and API
MODELS = ("hopfield", "numpy", "bcd", "ngspice")


def _model(kind):
    if kind == "hopfield":
        return _hop_net()
    from analog_eqprop.models import ResistiveNetwork

    return ResistiveNetwork(_drn(), kind)


MODEL_CASES = [
    ("x-nan", lambda m: m.relax(_with(_X, (1, 1), _NAN), m.init_state(3)), "DataError", ("x[1, 1]", "nan")),
    ("x-extra-column", lambda m: m.relax(np.zeros((3, 4)), m.init_state(3)), "DataError", "x must have shape"),
    ("target-missing", lambda m: m.relax(_X, m.init_state(3), beta=0.1), "DataError", "needs its target"),
    ("target-inf", lambda m: m.relax(_X, m.init_state(3), beta=0.1, target=_with(_T, (2, 1), _INF)), "DataError",
     ("target", "[2, 1] is inf")),
    ("target-wrong-shape", lambda m: m.relax(_X, m.init_state(3), beta=0.1, target=_T[:, :1]), "DataError",
     ("target", "must have shape (3, 2)")),
    ("beta-nan", lambda m: m.relax(_X, m.init_state(3), beta=_NAN, target=_T), "ConfigError", ("beta", "nan")),
    ("state-wrong-shape", lambda m: m.relax(_X, np.zeros((3, 7))), "DataError", "must have shape (3, 5"),
    ("check-inputs-nan", lambda m: m.check_inputs(_with(_X, (0, 0), _NAN)), "DataError", "inputs x[0, 0] is nan"),
    ("check-targets-shape", lambda m: m.check_inputs(_X, np.zeros((3, 3))), "DataError",
     "targets must have shape (3, 2)"),
    ("eqprop-beta-inf", lambda m: __import__("analog_eqprop.eqprop", fromlist=["x"]).eqprop_gradient(
        m, _X, _T, m.relax(_X, m.init_state(3)).state, _INF), "ConfigError", ("beta", "inf")),
]


@pytest.mark.parametrize("kind, call, err, fragments",
                         [pytest.param(k, *c[1:], id=f"{c[0]}-{k}") for c in MODEL_CASES for k in MODELS])
def test_every_model_refuses_bad_input_alike(kind, call, err, fragments):
    err, fragments = _expect(kind, err, fragments)
    with pytest.raises(err) as info:
        call(_model(kind))
    assert type(info.value) is err, f"{kind}: {type(info.value).__name__}: {info.value}"
    for f in fragments:
        assert f in str(info.value), f"{kind}: message does not name {f!r}: {info.value}"


def _trainer(kind):
    from analog_eqprop.training import TrainConfig, Trainer

    return Trainer(_model(kind), TrainConfig(epochs=1, batch_size=2, learning_rates=(0.1,)), progress=False)


def _api_model():
    from analog_eqprop.api import Dense, Input, Sequential

    m = Sequential([Input(2), Dense(3), Dense(2)])
    m.compile(learning_rate=0.1)
    return m


_Y = np.array([0, 1, 0])
TRAIN_CASES = [
    ("trainer-evaluate-x-nan", lambda k: _trainer(k).evaluate(_with(_X, (2, 1), _NAN), _Y), "DataError", "x[2, 1]"),
    ("trainer-evaluate-x-shape", lambda k: _trainer(k).evaluate(np.zeros((3, 3)), _Y), "DataError",
     "x must have shape"),
    ("trainer-evaluate-y-short", lambda k: _trainer(k).evaluate(_X, _Y[:2]), "DataError",
     ("labels y", "(3,)", "(2,)")),
    ("trainer-evaluate-y-fraction", lambda k: _trainer(k).evaluate(_X, [0, 1.5, 0]), "DataError",
     ("labels y[1] is 1.5",)),
    ("trainer-evaluate-y-nan", lambda k: _trainer(k).evaluate(_X, [0, _NAN, 0]), "DataError", "labels y[1] is nan"),
    ("trainer-predict-x-inf", lambda k: _trainer(k).predict(_with(_X, (0, 0), _INF)), "DataError", "x[0, 0] is inf"),
    ("trainer-epoch-y-2d", lambda k: _trainer(k).train_epoch(_X, _T), "DataError", ("labels y", "1-D")),
    ("trainer-fit-nan", lambda k: _trainer(k).fit(__import__("analog_eqprop.data", fromlist=["x"]).Dataset(
        "d", _with(_X, (0, 0), _NAN), _Y, _X, _Y, 2)), "DataError", ("x_train", "NaN")),
]


@pytest.mark.parametrize("kind, call, err, fragments",
                         [pytest.param(k, *c[1:], id=f"{c[0]}-{k}") for c in TRAIN_CASES for k in ("hopfield", "numpy")])
def test_the_trainer_refuses_bad_arrays(kind, call, err, fragments):
    err, fragments = _expect(kind, err, fragments)
    with pytest.raises(err) as info:
        call(kind)
    assert type(info.value) is err and all(f in str(info.value) for f in fragments), info.value


API_CASES = [
    ("api-fit-x-nan", lambda m: m.fit(_with(_X, (1, 0), _NAN), _Y), "x[1, 0] is nan"),
    ("api-fit-x-extra-column", lambda m: m.fit(np.zeros((3, 3)), _Y), "x must have shape (batch, 2)"),
    ("api-fit-y-short", lambda m: m.fit(_X, _Y[:2]), "labels y must be a 1-D label vector of shape (3,)"),
    ("api-fit-y-out-of-range", lambda m: m.fit(_X, [0, 2, 0]), "labels y[1] is 2"),
    ("api-evaluate-y-long", lambda m: m.evaluate(_X, [0, 1, 0, 1]), "shape (3,)"),
    ("api-evaluate-x-text", lambda m: m.evaluate([["a", "b"]], [0]), "inputs x must be an array of numbers"),
    ("api-predict-x-extra-column", lambda m: m.predict(np.zeros((3, 3))), "inputs x must have shape (batch, 2)"),
    ("api-predict-x-inf", lambda m: m.predict(_with(_X, (2, 1), -_INF)), "inputs x[2, 1] is -inf"),
]


@pytest.mark.parametrize("call, fragment", [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES])
def test_the_api_refuses_bad_arrays(call, fragment):
    with pytest.raises(DataError) as info:
        call(_api_model())
    assert fragment in str(info.value), info.value


# ----------------------------------------------------------------- settings: non-finite values
def _cfg(module, cls, **kw):
    return getattr(__import__(module, fromlist=[cls]), cls)(**kw)


CONFIG_CASES = [
    ("train-momentum-nan", lambda: _cfg("analog_eqprop.training", "TrainConfig", momentum=_NAN),
     "TrainConfig.momentum must be finite"),
    ("train-lr-inf", lambda: _cfg("analog_eqprop.training", "TrainConfig", learning_rates=(0.1, _INF)),
     "TrainConfig.learning_rates[1] must be finite"),
    ("train-beta-inf", lambda: _cfg("analog_eqprop.training", "TrainConfig", beta=_INF), "TrainConfig.beta"),
    ("hopfield-eps-inf", lambda: _cfg("analog_eqprop.models", "HopfieldConfig", eps=_INF), "HopfieldConfig.eps"),
    ("hopfield-sigma-inf", lambda: _cfg("analog_eqprop.models", "HopfieldConfig", sigma=_INF),
     "HopfieldConfig.sigma"),
    ("circuit-clamp-nan", lambda: _cfg("analog_eqprop.circuits.config", "CircuitConfig", clamp_low=_NAN),
     "CircuitConfig.clamp_low"),
    ("circuit-gain-inf", lambda: _cfg("analog_eqprop.circuits.config", "CircuitConfig", input_gain=_INF),
     "CircuitConfig.input_gain"),
    ("circuit-gmax-inf", lambda: _cfg("analog_eqprop.circuits.config", "CircuitConfig", g_max=_INF),
     "CircuitConfig.g_max"),
    ("api-clamp-nan", lambda: _cfg("analog_eqprop.api", "DiodeClamp", low=_NAN), "DiodeClamp.low"),
    ("api-target-inf", lambda: _cfg("analog_eqprop.api", "Output", target_on=_INF), "Output.target_on"),
    ("api-back-nan", lambda: _cfg("analog_eqprop.api", "Amplifier", back=_NAN), "Amplifier.back"),
    ("bcd-tol-nan", lambda: _cfg("analog_eqprop.solvers.bcd", "BCDBackend", tol=_NAN), "tol"),
    ("relax-eps-nan", lambda: __import__("analog_eqprop.models.hopfield", fromlist=["x"]).relax(
        _hop_net().structure, _hop_net().params, _X, _S, n_iter=2, eps=_NAN), "eps must be a finite number"),
    ("relax-n-iter-fraction", lambda: __import__("analog_eqprop.models.hopfield", fromlist=["x"]).relax(
        _hop_net().structure, _hop_net().params, _X, _S, n_iter=2.5), "n_iter must be an integer"),
]


@pytest.mark.parametrize("call, fragment", [c[1:] for c in CONFIG_CASES], ids=[c[0] for c in CONFIG_CASES])
def test_non_finite_settings_are_refused(call, fragment):
    with pytest.raises(ConfigError) as info:
        call()
    assert fragment in str(info.value), info.value


# -------------------------------------------------------- graph attributes: parse failures by name
# (attribute, node it goes on, bad value, extra attributes that make the node read it)
_ATTRS = [
    ("layer", "h1", None), ("feature", "a", None), ("gain", "a", None), ("offset", "a", None),
    ("voltage", "vb", None), ("clamp_low", "h1", None), ("clamp_high", "h1", None), ("amplifier", "h1", None),
    ("amplifier_back", "h1", {"amplifier": 2.0}), ("amp_offset", "h1", {"amplifier": 2.0}),
    ("output_index", "y", None), ("polarity", "y", None),
]
_INTEGER_ATTRS = {"layer", "feature", "output_index", "polarity"}
_BAD_VALUES = [("text", "abc"), ("nan", _NAN), ("inf", _INF), ("list", [1.0]), ("bool", True)]


def _attr_graph(node, attr, value, extra):
    G = _circ_graph()
    G.add_node("vb", role="bias", voltage=1.0)
    G.add_edge("vb", "h2", weight=1e-5)
    if attr == "layer":  # a layer on every node, so that only the bad one is wrong
        for n, d in G.nodes(data=True):
            d["layer"] = {"input": 0, "bias": 0, "hidden": 1, "output": 2}[d["role"]]
    G.nodes[node].update(extra or {})
    G.nodes[node][attr] = value
    return G


_ATTR_PARAMS = [pytest.param(attr, node, value, extra, id=f"{attr}-{vid}")
                for attr, node, extra in _ATTRS for vid, value in _BAD_VALUES
                if not (attr == "amplifier_back" and vid == "text")]  # text there is a mode: its own case
_ATTR_PARAMS += [pytest.param(attr, node, 1.5, extra, id=f"{attr}-fraction")
                 for attr, node, extra in _ATTRS if attr in _INTEGER_ATTRS]
_ATTR_PARAMS += [pytest.param("amplifier_back", "h1", "sideways", {"amplifier": 2.0}, id="amplifier_back-word"),
                 pytest.param("amplifier", "h1", -4.0, None, id="amplifier-negative"),
                 pytest.param("feature", "a", -1, None, id="feature-negative")]


@pytest.mark.parametrize("attr, node, value, extra", _ATTR_PARAMS)
def test_attribute_parse_failures_name_node_and_attribute(attr, node, value, extra):
    from analog_eqprop.circuits import circuit_from_graph

    with pytest.raises(GraphError) as info:
        circuit_from_graph(_attr_graph(node, attr, value, extra))
    msg = str(info.value)
    assert f"node {node!r}" in msg and repr(attr) in msg, msg


def test_a_good_attribute_graph_compiles():
    """The catalogue's base graph is fine: every refusal above is the bad attribute's doing."""
    from analog_eqprop.circuits import circuit_from_graph

    for attr, node, extra in _ATTRS:
        good = {"layer": 1, "feature": 0, "output_index": 0, "polarity": 1, "amplifier": 2.0,
                "amplifier_back": 0.5}.get(attr, 0.25 if attr != "clamp_low" else -0.25)
        circuit_from_graph(_attr_graph(node, attr, good, extra))


@pytest.mark.parametrize("kw, fragment", [
    (dict(clamp=(_NAN, None)), "clamp[0] must be a finite number"),
    (dict(clamp=(0.0,)), "clamp must be a pair"),
    (dict(amplifier_back="sideways"), "amplifier_back must be"),
    (dict(g_max=_INF), "g_max"),
    (dict(target_on=_NAN), "target_on must be a finite number"),
    (dict(target_on=0.0, target_off=0.0), "targets must differ"),
], ids=["clamp-nan", "clamp-short", "back-word", "g-max-inf", "target-nan", "targets-equal"])
def test_builder_arguments_are_checked(kw, fragment):
    with pytest.raises(GraphError, match=re.escape(fragment)):
        _circuit(_circ_graph(), **kw)


# ------------------------------------------------------------------------ label collisions
def test_a_label_equal_to_a_clamp_rail_name_is_refused_naming_both():
    G = _circ_graph()
    G.add_node("vclamp1", role="hidden")
    G.add_edges_from([("a", "vclamp1"), ("vclamp1", "y")], weight=1e-5)
    G.nodes["h1"]["clamp_low"] = 0.2
    with pytest.raises(GraphError) as info:
        _circuit(G)
    assert "'vclamp1'" in str(info.value) and "'h1'" in str(info.value) and "clamp_low" in str(info.value)


def test_a_label_equal_to_an_amplifier_name_is_refused_naming_both():
    G = _circ_graph()
    G.add_node("h1_amp", role="hidden")
    G.add_edges_from([("b", "h1_amp"), ("h1_amp", "y")], weight=1e-5)
    G.nodes["h1"]["amplifier"] = 2.0
    with pytest.raises(GraphError) as info:
        _circuit(G)
    assert "'h1_amp'" in str(info.value) and "node 'h1'" in str(info.value)


def test_a_circuit_with_two_equal_labels_names_both_owners():
    from dataclasses import replace

    c = _circuit(_circ_graph())
    with pytest.raises(GraphError) as info:
        replace(c, sources=(c.sources[0], c.nodes[0]))
    msg = str(info.value)
    assert f"free node {c.nodes[0]!r}" in msg and f"input source {c.nodes[0]!r}" in msg, msg


# ----------------------------------------------------------------- one type per precondition
def test_a_nudge_without_target_is_one_error_everywhere():
    """beta != 0 without a target: DataError from every backend, model, the compiler and the power
    accounting (it used to be ValueError, ConfigError, NetlistError or DataError by module)."""
    from analog_eqprop.hardware.power import power_breakdown
    from analog_eqprop.netlist import compile_netlist, compile_sweep

    c = _drn()
    calls = [lambda s=s: _solve(s, beta=0.1, state=_S) for s in SOLVERS]
    calls += [lambda k=k: _model(k).relax(_X, _model(k).init_state(3), beta=0.1) for k in MODELS]
    calls += [lambda: compile_netlist(c, x=_X[0], beta=0.1), lambda: compile_sweep(c, None, _X, beta=0.1),
              lambda: power_breakdown(c, c.edge_g, _X, _S, beta=0.1)]
    for call in calls:
        with pytest.raises(DataError, match="target"):
            call()
