"""The bad-input catalogue: every public entry point names the problem, never a deep traceback.

Each case feeds one malformed input to a public function or to the CLI and asserts (1) the
exception is one of the toolkit's own (:class:`AnalogEqpropError`: never a KeyError,
IndexError or a NumPy error from deep inside) and (2) its message names the problem so a
user can act on it.
"""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from analog_eqprop.errors import AnalogEqpropError


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
