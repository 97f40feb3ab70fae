"""The typed contracts (analog_eqprop.contracts): every model and backend satisfies them, and the
layers above use nothing of a model or backend that the contracts do not declare.

* each energy model (Hopfield, resistive on every backend, hardware) is an ``EnergyModel``, with
  the optional abilities it claims, and its methods take the protocol's parameters;
* each backend is a ``Backend``; the ``operating_point`` keywords it takes beyond the common
  call are exactly those its ``capabilities`` declare;
* statically (``ast``), in the modules that type against the contracts (trainer, optimisers,
  phase log, EqProp, gradient checks, comparison, API), every attribute read on a
  protocol-typed value is a member of that protocol, or of a protocol or class the code
  checked it against (``isinstance`` / ``has_ability``) in the same function.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
from pathlib import Path

import numpy as np
import pytest

from analog_eqprop import contracts
from analog_eqprop.circuits import drn_circuit, layered_circuit, transistor_circuit
from analog_eqprop.contracts import (
    Backend,
    BackendCapabilities,
    CheckpointState,
    CircuitModel,
    EnergyModel,
    ExactGradient,
    FusedSGDStep,
    has_ability,
    protocol_members,
)
from analog_eqprop.errors import ConfigError
from analog_eqprop.hardware import HardwareNetwork
from analog_eqprop.models import HopfieldNetwork, ResistiveNetwork
from analog_eqprop.results import OperatingPoint, RelaxResult
from analog_eqprop.solvers.backends import BCDBackend, NgspiceBackend, NumpyBackend, get_backend

ROOT = Path(__file__).resolve().parents[1]
PROTOCOLS = {name: getattr(contracts, name) for name in
             ("EnergyModel", "ExactGradient", "FusedSGDStep", "CheckpointState", "CircuitModel", "Backend")}
#: The modules that must use models and backends through the contracts only.
TYPED_MODULES = ("analog_eqprop.training.trainer", "analog_eqprop.training.optim", "analog_eqprop.training.phase_log",
                 "analog_eqprop.eqprop.core", "analog_eqprop.eqprop.gradcheck", "analog_eqprop.compare.core",
                 "analog_eqprop.api.model", "analog_eqprop.api.io")


def _models():
    hop = HopfieldNetwork.layered([3, 4, 2], seed=0)
    res = ResistiveNetwork(layered_circuit([3, 4, 2], seed=0))
    bcd = ResistiveNetwork(drn_circuit([3, 4, 2], seed=0), backend="bcd", bias_currents=True)
    hw = HardwareNetwork(layered_circuit([3, 4, 2], seed=0), "rram", seed=1)
    mos = ResistiveNetwork(transistor_circuit([3, 4, 2], seed=0))  # trained gate voltages: values=
    return {"hopfield": hop, "resistive": res, "resistive-bcd": bcd, "hardware": hw, "transistor": mos}


#: The abilities each model has (and, by omission, lacks).
ABILITIES = {
    "hopfield": {EnergyModel, ExactGradient},
    "resistive": {EnergyModel, ExactGradient, FusedSGDStep, CircuitModel},
    "resistive-bcd": {EnergyModel, ExactGradient, FusedSGDStep, CircuitModel},
    "hardware": {EnergyModel, CheckpointState, CircuitModel},
    "transistor": {EnergyModel, ExactGradient, FusedSGDStep, CircuitModel},
}


@pytest.mark.parametrize("kind", sorted(ABILITIES))
def test_every_model_satisfies_the_protocols_it_claims(kind):
    model = _models()[kind]
    for proto in (EnergyModel, ExactGradient, FusedSGDStep, CheckpointState, CircuitModel):
        want = proto in ABILITIES[kind]
        assert isinstance(model, proto) is want, (kind, proto.__name__)
        assert has_ability(model, proto) is want, (kind, proto.__name__)


def _params(fn) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(fn).parameters)


@pytest.mark.parametrize("kind", sorted(ABILITIES))
def test_model_methods_take_the_protocols_parameters(kind):
    """A model's method takes every parameter the protocol's does, by the same name and kind."""
    model = _models()[kind]
    for proto in ABILITIES[kind]:
        for name in protocol_members(proto):
            declared = inspect.getattr_static(proto, name)
            if not inspect.isfunction(declared):
                continue  # a property or attribute: present (checked above)
            mine = _params(getattr(type(model), name))
            if any(p.kind is p.VAR_KEYWORD for p in mine.values()):
                continue
            for pname, p in _params(declared).items():
                assert pname in mine, f"{type(model).__name__}.{name} lacks parameter {pname!r} of {proto.__name__}"
                if p.kind is p.KEYWORD_ONLY:
                    assert mine[pname].kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD), (name, pname)
                if p.default is not p.empty:
                    assert mine[pname].default is not p.empty, f"{type(model).__name__}.{name}: {pname} needs a default"


@pytest.mark.parametrize("kind", sorted(ABILITIES))
def test_a_relaxation_returns_the_shared_result_type(kind):
    model = _models()[kind]
    x = np.full((2, model.n_inputs), 0.5)
    res = model.relax(x, model.init_state(2))
    assert isinstance(res, RelaxResult) and res.state.shape[0] == 2
    if isinstance(model, CircuitModel):
        assert isinstance(model.last_op, OperatingPoint)


def _backends():
    out = {"numpy": NumpyBackend(), "bcd": BCDBackend(), "ngspice": NgspiceBackend()}
    try:
        import torch  # noqa: F401
    except ImportError:
        pass
    else:
        out["bcd-torch"] = BCDBackend(xp="torch")
    return out


def test_every_backend_is_a_backend_and_declares_what_it_takes():
    common = set(_params(Backend.operating_point))
    for name, be in _backends().items():
        assert isinstance(be, Backend), name
        assert isinstance(be.capabilities, BackendCapabilities) and isinstance(be.stats, dict), name
        extra = set(_params(type(be).operating_point)) - common
        declared = set(be.capabilities.keywords()) - {"beta", "g"}  # these widen the common ones
        assert extra == declared, f"{name}: operating_point takes {sorted(extra)}, capabilities say {sorted(declared)}"
        assert common <= set(_params(type(be).operating_point)), name
    assert _backends()["bcd"].capabilities.per_example_beta and not NumpyBackend.capabilities.per_example_beta
    if "bcd-torch" in _backends():
        assert _backends()["bcd-torch"].capabilities.device_arrays and not BCDBackend().capabilities.device_arrays


def test_capability_keywords_name_every_field():
    names = {f.name for f in dataclasses.fields(BackendCapabilities)}
    everything = BackendCapabilities(**{n: True for n in names})
    assert len(everything.keywords()) == len(names)
    with pytest.raises(dataclasses.FrozenInstanceError):
        everything.same_conductances = False


def test_element_values_go_only_to_a_backend_that_declares_them():
    """A network that trains other kinds' columns (gate voltages) hands them over as ``values=``
    on every solve: a backend without ``capabilities.element_values`` is refused when the network
    is built (it would fail on the keyword, or solve with the circuit's initial gates)."""
    c = transistor_circuit([2, 3, 2], seed=0)
    with pytest.raises(ConfigError, match="capabilities.element_values"):
        ResistiveNetwork(c, backend="bcd")
    net = ResistiveNetwork(c)
    assert net.element_values and NumpyBackend.capabilities.element_values
    assert NgspiceBackend.capabilities.element_values and not BCDBackend().capabilities.element_values
    x = np.full((2, 2), 0.5)
    before = net.relax(x, net.init_state(2)).state
    gates = [n for n in net.params if n.startswith("vg")]
    assert gates
    for name in gates:
        net.params[name] += 0.3  # the backend must see the trained gates, not the circuit's
    after = net.relax(x, net.init_state(2)).state
    assert not np.allclose(before, after)
    op = NumpyBackend().operating_point(net.system, net.g, x, values=net.element_values)
    np.testing.assert_allclose(op.state, after, atol=1e-9)


def test_get_backend_refuses_what_is_not_a_backend():
    class Half:
        name = "half"

        def operating_point(self, system, g, x, **kw):
            raise AssertionError

    with pytest.raises(ConfigError, match="lacks: capabilities, stats"):
        get_backend(Half())
    be = NumpyBackend()
    assert get_backend(be) is be
    with pytest.raises(ConfigError, match="apply to a backend named by a string"):
        get_backend(be, reltol=1e-3)


def test_has_ability_reads_no_property():
    """A circuit model's ``params`` brings a device copy home and ``g`` copies every conductance:
    asking whether it is a CircuitModel must not call them."""

    class Watched(ResistiveNetwork):
        reads = 0

        @property
        def g(self):
            Watched.reads += 1
            return super().g

    net = Watched(layered_circuit([2, 3, 2], seed=0))
    assert has_ability(net, CircuitModel) and has_ability(net, FusedSGDStep)
    assert Watched.reads == 0


# -- static: what the layers above call on a model or a backend ------------------------------
def _resolve(module, name: str):
    return getattr(module, name, None)


def _members_of(obj) -> set[str]:
    """Protocol members, or for a class everything it has: class attributes and the attributes
    its methods assign on ``self``."""
    if getattr(obj, "_is_protocol", False):
        return set(protocol_members(obj))
    names = set(dir(obj))
    for klass in inspect.getmro(obj):
        if klass is object:
            continue
        try:
            tree = ast.parse(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"
                    and isinstance(node.ctx, ast.Store)):
                names.add(node.attr)
    return names


def _protocol_of_annotation(ann: ast.expr | None) -> str | None:
    if ann is None:
        return None
    text = ast.unparse(ann).strip("'\"")
    for part in text.replace(" ", "").split("|"):
        if part in PROTOCOLS:
            return part
    return None


def _member_type(proto: str, member: str) -> str | None:
    """The protocol a member of ``proto`` returns (e.g. CircuitModel.backend -> Backend)."""
    attr = inspect.getattr_static(PROTOCOLS[proto], member, None)
    ann = None
    if isinstance(attr, property):
        ann = attr.fget.__annotations__.get("return")
    if ann is None:
        for klass in PROTOCOLS[proto].__mro__:
            ann = getattr(klass, "__annotations__", {}).get(member) or ann
    return ann if isinstance(ann, str) and ann in PROTOCOLS else None


def _uses(module_name: str) -> list[tuple[str, int, str, str]]:
    """``(where, line, expression, attribute)`` for every attribute read on a protocol-typed value
    that is not declared by its protocol or by what the function narrowed it to."""
    module = importlib.import_module(module_name)
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    bad = []

    def check_function(fn: ast.FunctionDef, typed: dict[str, str]):
        typed = dict(typed)
        for arg in fn.args.args + fn.args.kwonlyargs + fn.args.posonlyargs:
            proto = _protocol_of_annotation(arg.annotation)
            if proto:
                typed[arg.arg] = proto
        narrowed: dict[str, set[str]] = {}
        for node in ast.walk(fn):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                proto = _protocol_of_annotation(node.annotation)
                if proto:
                    typed[node.target.id] = proto
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                    node.func.id in ("isinstance", "has_ability") and len(node.args) == 2:
                kinds = node.args[1].elts if isinstance(node.args[1], ast.Tuple) else [node.args[1]]
                for k in kinds:
                    obj = _resolve(module, ast.unparse(k))
                    if obj is not None:
                        narrowed.setdefault(ast.unparse(node.args[0]), set()).update(_members_of(obj))
        changed = True
        while changed:  # aliases: model = self.model; model, cfg = self.model, self.config
            changed = False
            for node in ast.walk(fn):
                if not isinstance(node, ast.Assign) or len(node.targets) != 1:
                    continue
                pairs = []
                tgt, val = node.targets[0], node.value
                if isinstance(tgt, ast.Tuple) and isinstance(val, ast.Tuple) and len(tgt.elts) == len(val.elts):
                    pairs = list(zip(tgt.elts, val.elts))
                else:
                    pairs = [(tgt, val)]
                for t, v in pairs:
                    src = ast.unparse(v)
                    if isinstance(t, ast.Name) and src in typed and typed.get(t.id) != typed[src]:
                        typed[t.id] = typed[src]
                        narrowed.setdefault(t.id, set()).update(narrowed.get(src, set()))
                        changed = True
        for node in ast.walk(fn):
            if not isinstance(node, ast.Attribute) or not isinstance(node.ctx, ast.Load):
                continue
            base = ast.unparse(node.value)
            proto = typed.get(base)
            if proto is None and isinstance(node.value, ast.Attribute):  # model.backend.stats
                outer = typed.get(ast.unparse(node.value.value))
                proto = _member_type(outer, node.value.attr) if outer else None
            if proto is None:
                continue
            allowed = protocol_members(PROTOCOLS[proto]) | narrowed.get(base, set())
            if node.attr not in allowed:
                bad.append((f"{module_name}.{fn.name}", node.lineno, base, node.attr))

    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            check_function(node, {})
        elif isinstance(node, ast.ClassDef):
            typed = {}
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    proto = _protocol_of_annotation(item.annotation)
                    if proto:
                        typed[f"self.{item.target.id}"] = proto
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    check_function(item, typed)
    return bad


@pytest.mark.parametrize("module", TYPED_MODULES)
def test_callers_use_only_declared_members(module):
    bad = _uses(module)
    assert not bad, "members used but not declared by the contract:\n" + "\n".join(
        f"  {where}:{line}: {base}.{attr}" for where, line, base, attr in bad)


def test_the_static_check_sees_the_trainers_calls():
    """The scan follows the trainer's own names for the model (self.model, a local alias) and
    would catch an undeclared member."""
    src = inspect.getsource(importlib.import_module("analog_eqprop.training.trainer"))
    assert "model, cfg = self.model, self.config" in src and "model.prepare(" in src
    declared = protocol_members(EnergyModel)
    assert {"prepare", "relax", "output", "cost", "param_layer", "init_state", "project",
            "energy_grad_diff"} <= declared
    saved = EnergyModel.__dict__["project"]
    try:
        delattr(EnergyModel, "project")
        assert any(attr == "project" for *_, attr in _uses("analog_eqprop.training.trainer"))
    finally:
        setattr(EnergyModel, "project", saved)


# -- the API drives the trainer through its public methods -----------------------------------
def test_trainer_continues_for_n_more_epochs_after_a_history():
    from analog_eqprop.data import load_xor
    from analog_eqprop.training import TrainConfig, Trainer

    cfg = TrainConfig(epochs=1, batch_size=4, learning_rates=(0.2, 0.1))
    net = HopfieldNetwork.layered([2, 6, 2], seed=0)
    first = Trainer(net, cfg, progress=False)
    first.train(load_xor(), 2)
    again = Trainer(net, cfg, progress=False, history=first.history)  # e.g. after new settings
    assert again.epoch == 2
    hist = again.train(load_xor(), 1)
    assert [r["epoch"] for r in hist] == [1, 2, 3] and again.epoch == 3
    with pytest.raises(ConfigError, match="epochs must be >= 0"):
        again.train(load_xor(), -1)


def test_evaluate_is_the_trainers_evaluation():
    from analog_eqprop.data import load_xor
    from analog_eqprop.training import TrainConfig, Trainer, evaluate

    d = load_xor()
    net = ResistiveNetwork(layered_circuit([2, 4, 2], seed=0))
    tr = Trainer(net, TrainConfig.for_model("circuit", eval_batch_size=3), progress=False)
    assert evaluate(net, d.x_test, d.y_test, batch_size=2) == tr.evaluate(d.x_test, d.y_test)


def test_an_empty_test_split_gets_no_test_columns():
    from analog_eqprop.data import Dataset
    from analog_eqprop.training import TrainConfig, Trainer

    x, y = np.random.default_rng(0).random((4, 2)), np.array([0, 1, 1, 0])
    hist = Trainer(HopfieldNetwork.layered([2, 3, 2], seed=0), TrainConfig(epochs=1, batch_size=2),
                   progress=False).fit(Dataset("d", x, y, x[:0], y[:0], n_classes=2))
    assert "train_error" in hist[-1] and not any(k.startswith("test_") for k in hist[-1])


def test_the_api_sets_no_trainer_state():
    """api/ assigns only the trainer's documented output settings (never epoch, history, config)."""
    allowed = {"progress", "phase_log", "checkpoint_path", "log_path"}
    bad = []
    for name in ("model.py", "io.py", "history.py"):
        tree = ast.parse((ROOT / "analog_eqprop" / "api" / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
                if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
            for t in targets:
                for el in (t.elts if isinstance(t, ast.Tuple) else [t]):
                    if isinstance(el, ast.Attribute) and ast.unparse(el.value) in ("tr", "trainer", "self._trainer",
                                                                                   "model._trainer"):
                        if el.attr not in allowed:
                            bad.append(f"api/{name}:{node.lineno}: {ast.unparse(el)}")
    assert not bad, bad
