"""The model API: tied / fixed conductances, layer blocks, fit / evaluate / predict on every backend,
save / load, netlist export, and the README's Model API script."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from analog_eqprop.api import (
    Amplifier,
    AveragePooling2D,
    Conv2D,
    Dense,
    DiodeClamp,
    History,
    Input,
    LocallyConnected2D,
    Model,
    Output,
    ResistiveNudge,
    Sequential,
    build_graph,
    circuit_from_dict,
    circuit_to_dict,
    load_model,
)
from analog_eqprop.circuits import circuit_from_graph, circuit_graph, drn_circuit, kendall_circuit
from analog_eqprop.data import Dataset, load_digits, load_iris, load_xor, write_idx
from analog_eqprop.eqprop import eqprop_gradient, gradcheck
from analog_eqprop.errors import CheckpointError, ConfigError, DataError, GraphError
from analog_eqprop.models import HopfieldConfig, HopfieldNetwork, ResistiveNetwork
from analog_eqprop.solvers.ngspice_shared import ngspice_available

ROOT = Path(__file__).resolve().parent.parent
needs_ngspice = [pytest.mark.ngspice, pytest.mark.skipif(not ngspice_available(), reason="ngspice not installed")]


def _digits8(n_train=60, n_test=30):
    return load_digits().subset(n_train=n_train, n_test=n_test)


def _conv_model(seed=0, **kw):
    return Sequential([Input(64, shape=(8, 8)), Conv2D(2, kernel=2, stride=2, clamp=DiodeClamp(0.0)),
                       AveragePooling2D(2), Dense(10)], seed=seed, **kw)


# -- tied and fixed conductances ----------------------------------------------------------------
def test_edge_param_checks():
    c = drn_circuit([2, 3, 2], seed=0)
    n = c.n_edges
    assert not c.tied and c.n_params == n
    ok = np.arange(n)
    ok[1] = -1
    ok[2:] -= 1
    assert replace(c, edge_param=ok).n_params == n - 1
    for bad, msg in ((np.arange(n - 1), "entries"), (np.full(n, -2), ">= -1"),
                     (np.r_[np.arange(n - 1), n], "without gaps"), (np.zeros(n, int), "different layers")):
        with pytest.raises(GraphError, match=msg):
            replace(c, edge_param=bad)
    first_layer = np.flatnonzero(c.edge_layer == 0)
    tie = np.arange(n)
    tie[first_layer[1]] = tie[first_layer[0]]
    tie[tie > first_layer[1]] -= 1
    with pytest.raises(GraphError, match="start at different values"):
        replace(c, edge_param=tie)
    g = np.array(c.edge_g)
    g[first_layer[1]] = g[first_layer[0]]
    assert replace(c, edge_g=g, edge_param=tie).n_params == n - 1


def test_graph_ties_and_fixed_edges_compile_to_edge_param():
    G = circuit_graph([3, 4, 2], seed=0)
    edges = list(G.edges())
    for e in edges[:3]:
        G.edges[e].update(tie="t", weight=3e-6)
    G.edges[edges[5]]["trainable"] = False
    c = circuit_from_graph(G, clamp=(0.0, None))
    assert c.tied and c.n_params == c.n_edges - 3
    assert c.edge_param[:3].tolist() == [0, 0, 0] and c.edge_param[5] == -1
    assert not circuit_from_graph(circuit_graph([3, 4, 2], seed=0)).tied  # no attributes: as before
    G.edges[edges[3]].update(tie="t", weight=4e-6)
    with pytest.raises(GraphError, match="different weights"):
        circuit_from_graph(G)
    G.edges[edges[3]].update(tie="t", weight=3e-6, trainable=False)
    with pytest.raises(GraphError, match="both fixed"):
        circuit_from_graph(G)


def test_tied_gradient_is_the_sum_over_its_conductances():
    model = _conv_model()
    c = model.circuit
    tied = model.network
    free = ResistiveNetwork(c.untied(), g=tied.g)
    x, t = _digits8().x_train[:5], np.eye(10)[:5]
    s0 = tied.relax(x, tied.init_state(5)).state
    gt = eqprop_gradient(tied, x, t, s0, 1e-8, mode="centered").grads
    gf = eqprop_gradient(free, x, t, s0, 1e-8, mode="centered").grads
    edge = np.zeros(c.n_edges)
    for lay, idx in enumerate(free._layer_idx):
        edge[idx] = gf[f"g{lay}"]
    want = np.bincount(c.edge_param[c.edge_param >= 0], weights=edge[c.edge_param >= 0])
    got = np.concatenate([gt[k] for k in sorted(gt)])
    assert sorted(gt) == ["g0", "g2"]  # the pooling layer has no parameters
    assert np.allclose(got, want, rtol=1e-10, atol=1e-12 * np.abs(want).max())


def test_tied_model_gradcheck():
    model = Sequential([Input(9, shape=(3, 3)), Conv2D(2, kernel=2, stride=1, clamp=DiodeClamp(0.0)),
                        AveragePooling2D(2), Dense(2)], seed=1)
    rng = np.random.default_rng(0)
    x, t = rng.random((3, 9)), np.eye(2)[[0, 1, 0]]
    rep = gradcheck(model.network, x, t, betas=(1e-9,), mode="centered", finite_differences=True)
    assert rep.rows[0].rel_error < 1e-5 and rep.fd_rel_error < 1e-6
    assert rep.n_params == model.circuit.n_params


def test_fixed_and_tied_conductances_under_training():
    model = _conv_model()
    c = model.circuit
    g0 = model.network.g
    model.compile(learning_rate=1e-6, beta=1e-6, batch_size=10)
    model.fit(_digits8(), epochs=1)
    g1 = model.network.g
    fixed = c.edge_param < 0
    assert fixed.sum() == 4 * 8 and np.array_equal(g1[fixed], g0[fixed])
    assert not np.array_equal(g1[~fixed], g0[~fixed])
    for p in np.unique(c.edge_param[~fixed]):  # every conductance of a parameter moved together
        assert np.unique(g1[c.edge_param == p]).size == 1


def test_untied_networks_keep_the_fast_paths():
    net = ResistiveNetwork(drn_circuit([5, 6, 3], seed=0))
    assert net._map is None and net._pbuf is net._gbuf and net._pidx is net._layer_sel


# -- blocks -------------------------------------------------------------------------------
def test_layer_shapes_and_counts():
    G = build_graph([Input(36, shape=(6, 6)), LocallyConnected2D(3, kernel=3, stride=(1, 3), bias=False),
                     Dense(4)], seed=0)
    c = circuit_from_graph(G)
    assert c.n_free == 4 * 2 * 3 + 4
    assert c.n_edges == 24 * 9 * 2 + 4 * 24 + 4 * 2  # LC windows (+x, -x), dense, dense bias
    single = build_graph([Input(4, encoding="single", gain=0.5), Dense(2)], seed=0)
    assert [d["gain"] for _, d in single.nodes(data=True) if d["role"] == "input"] == [0.5] * 4
    diff = circuit_from_graph(build_graph([Input(2), Dense(3, amplifier=Amplifier(2.0, "reciprocal")),
                                           Dense(2), Output("differential", 0.2, -0.2)], seed=0))
    assert diff.differential and diff.n_outputs == 2 and diff.n_amps == 3 and np.all(diff.amp_back == 2.0)
    off = circuit_from_graph(build_graph([Input(2), Dense(3, amplifier=Amplifier(2.0, offset=0.01)), Dense(2)],
                                         seed=0))
    assert np.all(off.amp_offset == 0.01) and not np.any(diff.amp_offset)


@pytest.mark.parametrize("blocks, msg", [
    ([Dense(2)], "starts with an Input"),
    ([Input(4), Dense(2), AveragePooling2D(1)], "last layer must be a Dense"),
    ([Input(4, shape=(2, 2)), LocallyConnected2D(1, kernel=3), Dense(2)], "larger than its input"),
    ([Input(64, shape=(8, 8)), Conv2D(1, kernel=3, stride=2), Dense(2)], "leaves input row 7 unconnected"),
    ([Input(4), "dense"], "unknown block"),
    ([Input(4), Dense(2, amplifier=Amplifier())], "cannot have an amplifier"),
])
def test_block_errors(blocks, msg):
    with pytest.raises(ConfigError, match=msg):
        build_graph(blocks)


def test_block_setting_errors():
    for make, msg in ((lambda: Input(5, shape=(2, 2)), "shape"), (lambda: DiodeClamp(None, None), "low or high"),
                      (lambda: Dense(0), "units"), (lambda: Amplifier(offset=float("inf")), "offset"), (lambda: Dense(2, g_init=(1e-5, 1e-6)), "g_init"),
                      (lambda: Conv2D(1, kernel=0), "kernel"), (lambda: AveragePooling2D(2, g=0.0), "> 0"),
                      (lambda: Dense(2, update_rule="magic"), "update rule")):
        with pytest.raises(ConfigError, match=msg):
            make()


# -- fit / evaluate / predict ---------------------------------------------------------------
def test_fit_evaluate_predict_on_arrays_and_datasets():
    d = _digits8(200, 60)
    model = Sequential([Input(64), Dense(16, clamp=DiodeClamp(0.0)), Dense(10)], seed=0)
    model.compile(optimizer="adam", learning_rate=2e-7, beta=1e-6)
    hist = model.fit(d.x_train, d.y_train, epochs=2, validation_data=(d.x_test, d.y_test))
    assert isinstance(hist, History) and len(hist) == 2
    assert "valid_error" in hist[-1] and "test_error" not in hist[-1]
    ev = model.evaluate(d.x_test, d.y_test)
    # a circuit's operating point is unique (a convex co-content): persistent particles are only a
    # warm start, so evaluating the same conductances on the validation set gives the same figures
    assert ev["error"] == hist[-1]["valid_error"] and np.isclose(ev["cost"], hist[-1]["valid_cost"], rtol=1e-9)
    assert ev["n"] == 60 and np.isclose(ev["accuracy"], 1 - ev["error"])
    pred = model.predict(d.x_test)
    assert pred.shape == (60,) and np.isclose(np.mean(pred != d.y_test), ev["error"])
    model.fit(d, epochs=1)  # a Dataset: its test split is evaluated too
    assert len(model.history) == 3 and "test_error" in model.history[-1]
    with pytest.raises(DataError, match="labels"):
        model.fit(d.x_train)


def test_fit_continues_exactly_and_save_load_resumes(tmp_path):
    d = _digits8()

    def fresh():
        m = _conv_model(seed=3)
        m.compile(optimizer="adam", learning_rate=3e-7, beta=1e-6, batch_size=10, schedule="cosine", schedule_epochs=3,
                  update_rule=("power:0.8", "exact", "sign"), shuffle=True)
        return m

    whole = fresh()
    whole.fit(d, epochs=3)
    parts = fresh()
    parts.fit(d, epochs=1)
    parts.fit(d, epochs=2)
    assert np.array_equal(whole.network.g, parts.network.g)
    for where in ("dir", "one.npz"):
        m = fresh()
        m.fit(d, epochs=1)
        m.save(tmp_path / where)
        back = load_model(tmp_path / where)
        assert back.history == m.history and back.train_config == m.train_config
        back.fit(d, epochs=2)
        assert np.array_equal(back.network.g, whole.network.g), where
        assert [r["train_error"] for r in back.history] == [r["train_error"] for r in whole.history]


def test_save_load_keeps_everything(tmp_path):
    model = Sequential([Input(4), Dense(5, clamp=DiodeClamp(-0.3, 0.3, "DSHOCKLEY")), Dense(3),
                        Output("differential", 0.1, -0.1)], seed=2, loss="cross_entropy")
    path = model.save(tmp_path / "m")
    assert sorted(p.name for p in path.iterdir()) == ["circuit.json", "graph.json", "model.json", "params.npz"]
    back = Model.load(path)
    assert circuit_to_dict(back.circuit) == circuit_to_dict(model.circuit)
    assert back.network.loss == model.network.loss and back.layer_types == ["Dense", "Dense"]
    x = load_iris().x_test[:5, :4]
    assert np.allclose(back.outputs(x), model.outputs(x), atol=0)
    assert circuit_from_dict(json.loads(json.dumps(circuit_to_dict(model.circuit)))).n_diodes == 10
    with pytest.raises(CheckpointError, match="not a saved model"):
        load_model(tmp_path)


def test_compile_settings():
    model = Sequential([Input(4), Dense(5, clamp=DiodeClamp(0.0), learning_rate=1e-8, update_rule="sign"),
                        Dense(3)], seed=0)
    model.compile(learning_rate=(1e-7, 2e-7), update_rule="quantized:1e-9", loss="cross_entropy",
                  temperature=0.02)
    cfg = model.train_config
    assert cfg.learning_rates == (1e-8, 2e-7) and cfg.update_rules == ("sign", "quantized:1e-9")
    assert model.network.loss.temperature == 0.02
    with pytest.raises(ConfigError, match="2 layers"):
        model.compile(learning_rate=(1e-7,) * 3)
    resistive = Sequential([Input(2), Dense(2), ResistiveNudge()], seed=0)
    assert resistive.circuit.nudge == "resistive"
    with pytest.raises(ConfigError, match="current-mode"):
        resistive.compile(loss="cross_entropy")


def test_history_json_and_plot(tmp_path):
    model = Sequential([Input(2), Dense(4, clamp=DiodeClamp(0.0)), Dense(2)], seed=0)
    model.compile(batch_size=4)
    hist = model.fit(load_xor(), epochs=2)
    assert History.from_json(hist.to_json(tmp_path / "h.json")) == hist
    assert History.from_json(tmp_path / "h.json") == hist
    png = hist.plot(tmp_path / "h.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_phase_log_through_fit(tmp_path):
    from analog_eqprop.training.phase_log import PhaseLog, PhaseLogReader

    model = Sequential([Input(2), Dense(4, clamp=DiodeClamp(0.0)), Dense(2)], seed=0)
    model.compile(batch_size=2, beta_mode="centered")  # three phases per logged batch
    with PhaseLog(tmp_path / "phases", every=2) as log:
        model.fit(load_xor(), epochs=2, phase_log=log)
    r = PhaseLogReader(tmp_path / "phases")
    assert len(r) == 2 * 3 and r.read("currents").shape == (6, 2, model.circuit.n_edges)


def test_hopfield_model_api(tmp_path):
    net = HopfieldNetwork.layered([4, 8, 3], seed=0, config=HopfieldConfig(dtype="float64"))
    model = Model(net)
    model.compile(optimizer="sgd", learning_rate=(0.2, 0.1), beta=0.5, loss="cross_entropy", temperature=0.3,
                  batch_size=10)
    iris = load_iris()
    model.fit(iris, epochs=2)
    ev = model.evaluate(iris)
    assert 0 <= ev["error"] <= 1 and "Hopfield" in model.summary()
    model.save(tmp_path / "hop.npz")
    back = load_model(tmp_path / "hop.npz")
    assert np.allclose(back.outputs(iris.x_test), model.outputs(iris.x_test))
    back.fit(iris, epochs=1)
    model.fit(iris, epochs=1)
    assert all(np.array_equal(back.network.params[k], model.network.params[k]) for k in net.params)
    with pytest.raises(ConfigError, match="NumPy only"):
        model.evaluate(iris, backend="ngspice")


def test_backends_agree_on_a_fitted_model():
    """A model fitted with NumPy evaluates nearly the same on BCD, whose diodes are ideal clamps
    (DIDEAL's exponential lets clamped nodes sit some 10 mV below 0 V: millivolts at the outputs)."""
    d = _digits8(100, 60)
    model = Sequential([Input(64, shape=(8, 8)), LocallyConnected2D(3, kernel=4, stride=2, clamp=DiodeClamp(0.0)),
                        Dense(10)], seed=0)
    model.compile(learning_rate=2e-7, batch_size=20)
    model.fit(d, epochs=1)
    a, b = model.outputs(d.x_test), model.outputs(d.x_test, backend="bcd")
    assert np.max(np.abs(a - b)) < 1e-2 and np.mean(a.argmax(1) == b.argmax(1)) > 0.9


@pytest.mark.parametrize("task", ["xor", "iris"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_fitted_with_numpy_evaluated_by_ngspice(task, loss, request):
    for mark in needs_ngspice:
        request.applymarker(mark)
    data = load_xor() if task == "xor" else load_iris()
    n = data.n_features
    model = Sequential([Input(n), Dense(8, clamp=DiodeClamp(0.0)), Dense(data.n_classes)], seed=0,
                       loss=loss if loss == "mse" else None)
    model.compile(learning_rate=2e-7, batch_size=4, beta_mode="centered", loss=loss,
                  temperature=0.05 if loss != "mse" else None)
    model.fit(data, epochs=3)
    num = model.outputs(data.x_test)
    spice = model.outputs(data.x_test, backend="ngspice")
    assert np.max(np.abs(num - spice)) <= 1e-6
    ev_n, ev_s = model.evaluate(data), model.evaluate(data, backend="ngspice")
    assert ev_s["backend"] == "ngspice" and ev_n["error"] == ev_s["error"]
    assert np.isclose(ev_n["cost"], ev_s["cost"], rtol=1e-4)


def test_training_through_ngspice_follows_numpy(request):
    """The same model trained on ngspice (every phase simulated) and on the NumPy twin."""
    for mark in needs_ngspice:
        request.applymarker(mark)
    runs, g0 = {}, None
    for backend in ("numpy", "ngspice"):
        model = Sequential([Input(2), Dense(6, clamp=DiodeClamp(0.0)), Dense(2)], seed=0, backend=backend,
                           **({"options": {"reltol": 1e-6, "vntol": 1e-9}} if backend == "ngspice" else {}))
        g0 = model.network.g
        model.compile(learning_rate=1e-6, batch_size=2, loss="cross_entropy", temperature=0.05)
        model.fit(load_xor(), epochs=2)
        runs[backend] = model.network.g
    assert np.max(np.abs(runs["numpy"] - g0) / g0) > 0.1  # training moved the conductances...
    assert np.max(np.abs(runs["ngspice"] - runs["numpy"]) / runs["numpy"]) < 1e-9  # ...the same way (5.7e-13)


@pytest.mark.parametrize("tied", [False, True])
def test_exported_netlist_runs_in_plain_ngspice(tmp_path, tied, request):
    """A locally connected (and a convolutional + pooling) digits net, reduced MNIST: its deck runs
    in `ngspice -b` and gives the NumPy twin's voltages."""
    for mark in needs_ngspice:
        request.applymarker(mark)
    if shutil.which("ngspice") is None:
        pytest.skip("no ngspice executable")
    from analog_eqprop.solvers.ngspice_batch import run_batch

    d = _digits8(40, 3)
    model = _conv_model() if tied else Sequential(
        [Input(64, shape=(8, 8)), LocallyConnected2D(2, kernel=4, stride=2, clamp=DiodeClamp(0.0)), Dense(10)],
        seed=0)
    model.compile(batch_size=20)
    model.fit(d, epochs=1)
    x = d.x_test[0]
    deck = model.export_netlist(tmp_path / "net.cir", x=x, options={"reltol": 1e-6, "vntol": 1e-9})
    res = subprocess.run(["ngspice", "-b", str(tmp_path / "net.cir")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "error" not in res.stdout.lower()
    v_spice = deck.free_voltages(run_batch(deck.text).vectors)
    net = model.network
    v_numpy = net.relax(x[None], net.init_state(1)).state[:, : model.circuit.n_free]
    assert np.max(np.abs(v_spice - v_numpy)) <= 1e-6
    sweep = model.export_netlist(None, x=d.x_test)
    assert sweep.analysis == "dc" and sweep.n_points == 3


# -- the README's script ----------------------------------------------------------------------
def _fake_mnist(directory: Path, n_train=120, n_test=40) -> Path:
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True)
    for stem, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = (rng.random((n, 28, 28)) * 255 * (labels[:, None, None] / 9.0)).astype(np.uint8)
        for kind, arr in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)):
            raw = directory / f"{stem}-{kind}"
            write_idx(raw, arr)
            with open(raw, "rb") as src, gzip.open(str(raw) + ".gz", "wb") as dst:
                dst.write(src.read())
            raw.unlink()
    return directory


def test_readme_model_api_script_runs(tmp_path):
    """The README's 10-line script, on a subset (fake MNIST when the real one is absent)."""
    from analog_eqprop.data import resolve_data_dir

    text = (ROOT / "README.md").read_text()
    block = text.split("## Model API")[1].split("```python")[1].split("```")[0]
    assert len([ln for ln in block.splitlines() if ln.strip()]) <= 12
    block = block.replace("n_train=10000, n_test=1000", "n_train=60, n_test=20")
    env = dict(os.environ)
    try:
        resolve_data_dir("mnist")
    except DataError:
        env["ANALOG_EQPROP_MNIST_DIR"] = str(_fake_mnist(tmp_path / "mnist"))
    backend_ok = ngspice_available()
    if not backend_ok:  # the rest of the script still runs; ngspice's evaluation needs the library
        block = block.replace('backend="ngspice"', 'backend="numpy"')
    res = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "'accuracy'" in res.stdout
    deck = (tmp_path / "lc_mnist.cir").read_text()
    assert deck.rstrip().endswith(".end") and deck.count("\nr") > 1000
    assert load_model(tmp_path / "lc_mnist").circuit.n_features == 784


def test_dataset_and_dataset_free_fit_names():
    assert isinstance(Model._xy(load_xor(), None)[0], np.ndarray)
    with pytest.raises(DataError, match="not both"):
        Sequential([Input(2), Dense(2)], seed=0)._dataset(load_xor(), np.zeros(4))
    ds = Sequential([Input(2), Dense(2)], seed=0)._dataset(np.zeros((3, 2)), np.array([0, 1, 0]))
    assert isinstance(ds, Dataset) and len(ds.y_test) == 0


def test_kendall_style_circuit_through_from_circuit():
    model = Model.from_circuit(kendall_circuit(4, 3, 2, seed=0))
    model.compile(batch_size=2, beta_mode="positive")
    rng = np.random.default_rng(0)
    model.fit(Dataset("x", rng.random((4, 4)), np.array([0, 1, 1, 0]), rng.random((2, 4)), np.array([0, 1]),
                      n_classes=2), epochs=1)
    assert len(model.history) == 1 and "kendall" in model.summary()
    G = circuit_graph([3, 3, 2], seed=0)
    assert Model.from_graph(G, clamp=(0.0, None)).circuit.n_diodes == 3
