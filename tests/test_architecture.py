"""The package's import graph: a layered DAG, module-level imports, no private names across modules.

Read statically (``ast``) from the source tree, so that an import hidden inside a function
counts as much as one at the top. The layers are listed here (bottom first) and in the
README ("Layers and contracts"); a package imports only from lower layers and never from a
peer in its own layer. Inside a package any import is fine as long as there is no cycle.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "analog_eqprop"

#: Bottom first. A component is a subpackage or a top-level module of analog_eqprop
#: ("analog_eqprop" itself is the package's __init__). Peers in one tuple do not import each other.
LAYERS: list[tuple[str, ...]] = [
    ("errors",),
    ("analog_eqprop",),
    ("results",),
    ("contracts",),
    ("config", "validation"),
    ("defaults",),
    ("_sgd_kernels",),
    ("kernels",),
    ("spice", "graphs", "data", "parallel"),
    ("elements",),
    ("circuits",),
    ("netlist",),
    ("solvers",),
    ("eqprop",),
    ("models",),
    ("training",),
    ("hardware",),
    ("runinfo",),
    ("compare", "plotting"),
    ("api",),
    ("cli",),
    ("__main__",),
]

#: Function-level imports of analog_eqprop modules that stay, with the reason: (importer, imported).
ALLOWED_LOCAL: dict[tuple[str, str], str] = {
    ("analog_eqprop.kernels", "analog_eqprop._sgd_kernels"):
        "numba (optional) compiles these generated sources; they are parsed only when it does",
}

#: Private names of the standard library used in annotations and ctypes calls.
STDLIB_PRIVATE = {"_SubParsersAction", "_Pointer"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}
TREES = {m: ast.parse(p.read_text(encoding="utf-8"), filename=str(p)) for m, p in MODULES.items()}


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The analog_eqprop modules an import statement loads (a name that is a submodule counts
    as that submodule, anything else as the module it comes from)."""
    out = []
    if isinstance(node, ast.Import):
        for a in node.names:
            if a.name.split(".")[0] == "analog_eqprop":
                name = a.name
                while name not in MODULES:
                    name = name.rpartition(".")[0]
                out.append(name)
        return out
    base = node.module or ""
    if node.level:
        pkg = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
        pkg = pkg[: len(pkg) - node.level + 1]
        base = ".".join(pkg + ([base] if base else []))
    if base.split(".")[0] != "analog_eqprop":
        return out
    for a in node.names:
        full = f"{base}.{a.name}"
        out.append(full if full in MODULES else base)
    return out


def _imports() -> list[tuple[str, str, bool, int]]:
    """``(importer, imported, inside a function, line)`` for every runtime import of the package
    (``if TYPE_CHECKING:`` blocks are type names only and do not count)."""
    found = []

    def walk(module, node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                walk(module, child, True)
            elif isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    walk(module, ast.Module(body=[sub], type_ignores=[]), in_function)
            elif isinstance(child, (ast.Import, ast.ImportFrom)):
                found.extend((module, t, in_function, child.lineno) for t in _targets(module, child) if t != module)
            else:
                walk(module, child, in_function)

    for module, tree in TREES.items():
        walk(module, tree, False)
    return found


IMPORTS = _imports()


def _component(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(v):
        state[v] = 1
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if state.get(w) == 1:
                return stack[stack.index(w):] + [w]
            if w not in state:
                found = visit(w)
                if found:
                    return found
        state[v] = 2
        stack.pop()
        return None

    for v in sorted(graph):
        if v not in state:
            found = visit(v)
            if found:
                return found
    return None


def test_the_static_graph_sees_the_package():
    assert len(MODULES) > 50 and "analog_eqprop.training.trainer" in MODULES
    edges = {(a, b) for a, b, _, _ in IMPORTS}
    assert ("analog_eqprop.training.trainer", "analog_eqprop.eqprop.core") in edges
    assert ("analog_eqprop.api", "analog_eqprop.api.model") in edges  # a name that is a submodule
    assert not any(b == "analog_eqprop.api.model" for a, b, _, _ in IMPORTS if a == "analog_eqprop.api.io"), \
        "TYPE_CHECKING imports are type names only"


def test_the_import_graph_has_no_cycle():
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for a, b, _, _ in IMPORTS:
        graph[a].add(b)
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_every_import_goes_down_the_layers():
    layer = {name: k for k, names in enumerate(LAYERS) for name in names}
    unknown = sorted({_component(m) for m in MODULES} - set(layer))
    assert not unknown, f"components missing from LAYERS (place them, and in the README): {unknown}"
    bad = [f"{a}:{line} imports {b} ({_component(a)} is layer {layer[_component(a)]}, {_component(b)} is "
           f"layer {layer[_component(b)]})"
           for a, b, _, line in IMPORTS
           if _component(a) != _component(b) and layer[_component(b)] >= layer[_component(a)]]
    assert not bad, "imports that go up (or sideways) the layers:\n" + "\n".join(bad)


def test_function_level_imports_only_where_allowed():
    local = {(a, b): line for a, b, inside, line in IMPORTS if inside}
    listed = set(ALLOWED_LOCAL)
    extra = sorted(f"{a}:{line} -> {b}" for (a, b), line in local.items() if (a, b) not in listed)
    assert not extra, ("function-level imports of the package (move them to module level, or list them in "
                       "ALLOWED_LOCAL with the reason):\n" + "\n".join(extra))
    stale = sorted(f"{a} -> {b}" for a, b in listed if (a, b) not in local)
    assert not stale, "allow-list entries with no such import any more (delete them):\n" + "\n".join(stale)
    assert all(reason.strip() for reason in ALLOWED_LOCAL.values())


def _private_uses() -> set[tuple[str, str, int]]:
    """``(module, name, line)``: a private name imported from another module of the package, or an
    attribute ``x._name`` read where the module itself defines no ``_name``."""
    uses = set()
    for module, tree in TREES.items():
        own = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                own.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                own.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
                own.add(node.attr)
            elif isinstance(node, ast.arg):
                own.add(node.arg)
            elif isinstance(node, ast.alias):
                own.add((node.asname or node.name).split(".")[0])
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
                own.add(node.value)  # __slots__ entries, setattr names
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and _targets(module, node):
                base = node.module or ""
                for a in node.names:
                    private = a.name.startswith("_") and not a.name.startswith("__")
                    if private and f"{base}.{a.name}" not in MODULES:  # a private module is fine
                        uses.add((module, a.name, node.lineno))
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                if node.attr not in own and node.attr not in STDLIB_PRIVATE:
                    uses.add((module, node.attr, node.lineno))
    return uses


def test_no_private_names_across_modules():
    uses = _private_uses()
    extra = sorted(f"{m}:{line} uses {n}" for m, n, line in uses)
    assert not extra, "private names of other modules (make them public, or move them):\n" + "\n".join(extra)


def test_the_checks_catch_what_they_are_for(tmp_path, monkeypatch):
    """The detectors on a tiny package of their own: a cycle through a function-level import,
    a private name imported across modules."""
    pkg = tmp_path / "analog_eqprop"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "a.py").write_text("from analog_eqprop.sub.b import f\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from analog_eqprop.sub import a\n\n"
                                      "from analog_eqprop.sub.c import _hidden\n")
    (pkg / "sub" / "c.py").write_text("_hidden = 1\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    mods = {_module_name(p): p for p in pkg.rglob("*.py")}
    monkeypatch.setattr(sys.modules[__name__], "MODULES", mods)
    monkeypatch.setattr(sys.modules[__name__], "TREES", {m: ast.parse(p.read_text()) for m, p in mods.items()})
    imports = _imports()
    assert ("analog_eqprop.sub.b", "analog_eqprop.sub.a", True, 2) in imports
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for a, b, _, _ in imports:
        graph[a].add(b)
    assert _find_cycle(graph) in (["analog_eqprop.sub.a", "analog_eqprop.sub.b", "analog_eqprop.sub.a"],
                                  ["analog_eqprop.sub.b", "analog_eqprop.sub.a", "analog_eqprop.sub.b"])
    assert {(m, n) for m, n, _ in _private_uses()} == {("analog_eqprop.sub.b", "_hidden")}


def test_the_readme_lists_the_layers():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- layers -->\n```\n(.*?)```", text, re.S)
    assert m, "README: the layer diagram (<!-- layers --> and a fenced block) is missing"
    rows = [line.split("  ")[0].strip() for line in m.group(1).splitlines() if line.strip()]
    listed = [tuple(name.strip() for name in row.split(",")) for row in reversed(rows)]
    assert listed == LAYERS, "README's layer diagram (top first) differs from tests/test_architecture.py LAYERS"


@pytest.mark.parametrize("module", ["analog_eqprop.results", "analog_eqprop.contracts"])
def test_the_shared_types_sit_below_every_solver_and_model(module):
    """results and contracts import nothing of the package but each other (type names aside)."""
    deps = {b for a, b, _, _ in IMPORTS if a == module}
    assert deps <= {"analog_eqprop.results", "analog_eqprop.errors"}, deps
