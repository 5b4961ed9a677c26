"""The package's architecture, read from its source: no import cycles, the layers, no private
names across modules.

The import graph is built with :mod:`ast` from every ``import`` statement of every module of
``gupcheck``, those inside functions included: an import moved into a function to dodge a cycle
is still a cycle (the two modules still need each other), so it is counted as one.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pytest

import gupcheck
from gupcheck.engine import model as engine_model

PACKAGE = Path(gupcheck.__file__).parent

#: the interface a model implements (gupcheck.engine.model), which is all the kernel may import
#: from the engine, and only through the package (``from gupcheck.engine import Model``)
MODEL_INTERFACE = frozenset(
    name for name in gupcheck.engine.__all__
    if getattr(getattr(gupcheck.engine, name), "__module__", None) == engine_model.__name__)

#: namedtuple's public API, underscored only so as not to clash with field names
NAMEDTUPLE_API = frozenset({"_replace", "_fields", "_asdict", "_make"})


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module of gupcheck
    names: tuple[str, ...]  # the names taken from it (``from target import ...``), else ()
    line: int
    in_function: bool

    def where(self) -> str:
        return f"{self.source}:{self.line}" + (" (inside a function)" if self.in_function else "")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
TREES: dict[str, ast.Module] = {m: ast.parse(p.read_text(encoding="utf-8"), str(p))
                                for m, p in MODULES.items()}


def _base(module: str, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` statement names."""
    if not node.level:
        return node.module or ""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _function_nodes(tree: ast.Module) -> set[int]:
    inside: set[int] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside.update(id(n) for n in ast.walk(fn) if n is not fn)
    return inside


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    """The nodes under ``if TYPE_CHECKING:``: imports for annotations only, which never run
    (the operation tables' types name the state and the step context they take, and the
    state names the table type its initial state reads)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING":
            inside.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return inside


def module_imports(module: str, tree: ast.Module) -> list[Import]:
    """Every import of another gupcheck module by ``module`` that runs, module and function
    level (not those for type annotations only)."""
    out = []
    inside = _function_nodes(tree)
    typing_only = _type_checking_nodes(tree)
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        found: list[tuple[str, tuple[str, ...]]] = []
        if isinstance(node, ast.Import):
            found = [(a.name, ()) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _base(module, node)
            for a in node.names:  # ``from pkg import submodule`` imports the submodule
                sub = f"{base}.{a.name}"
                found.append((sub, ()) if sub in MODULES else (base, (a.name,)))
        for target, names in found:
            if target in MODULES and target != module:
                out.append(Import(module, target, names, node.lineno, id(node) in inside))
    return out


IMPORTS = [i for m, t in TREES.items() for i in module_imports(m, t)]


def graph() -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(MODULES)
    for imp in IMPORTS:
        g.add_edge(imp.source, imp.target)
    return g


def cycles() -> list[list[str]]:
    return sorted(nx.simple_cycles(graph()), key=lambda c: (len(c), sorted(c)))


def _explain(cycle: list[str]) -> str:
    steps = []
    for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True):
        imp = next(i for i in IMPORTS if i.source == a and i.target == b)
        steps.append(f"{a} -> {b} ({imp.where()})")
    return "; ".join(steps)


def test_the_graph_sees_function_level_imports() -> None:
    """The test itself: an import inside a function is an edge, as one at module level."""
    tree = ast.parse("from . import a\ndef f():\n    from .replay import confirm\n")
    found = module_imports("gupcheck.engine.reduce", tree)
    assert [(i.target, i.names, i.in_function) for i in found] == [
        ("gupcheck.engine", ("a",), False),
        ("gupcheck.engine.replay", ("confirm",), True)]


def test_no_import_cycles() -> None:
    found = cycles()
    assert not found, "import cycles:\n" + "\n".join(_explain(c) for c in found)


def _layer(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_the_engine_imports_nothing_of_gupcheck_outside_the_engine() -> None:
    """The checker is generic: no kernel, design, scenario, lab, report, CLI or conform code."""
    bad = [f"{i.where()} imports {i.target}" for i in IMPORTS
           if _layer(i.source) == "gupcheck.engine" and _layer(i.target) != "gupcheck.engine"]
    assert not bad, bad


def test_the_kernel_imports_only_the_engines_model_interface() -> None:
    """The rule: gupcheck.kernel imports gupcheck.kernel, and from the engine only the interface
    a model implements (``from gupcheck.engine import Model, Label, Invariant, Eventually,
    LeadsTo, Wait``: the names gupcheck.engine exports from gupcheck.engine.model) — never a
    search, a result or an engine submodule; and nothing of the layers above (designs,
    scenarios, lab, reports, CLI, conform)."""
    assert {"Model", "Label", "Invariant", "LeadsTo", "Wait"} <= MODEL_INTERFACE
    assert "check" not in MODEL_INTERFACE and "Result" not in MODEL_INTERFACE
    bad = []
    for i in IMPORTS:
        if _layer(i.source) != "gupcheck.kernel" or _layer(i.target) == "gupcheck.kernel":
            continue
        if i.target == "gupcheck.engine" and i.names and set(i.names) <= MODEL_INTERFACE:
            continue
        bad.append(f"{i.where()} imports {i.target} {list(i.names)}")
    assert not bad, bad


def test_designs_import_only_the_kernel() -> None:
    bad = [f"{i.where()} imports {i.target}" for i in IMPORTS
           if _layer(i.source) == "gupcheck.designs"
           and _layer(i.target) not in ("gupcheck.designs", "gupcheck.kernel")]
    assert not bad, bad


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _defined_names(tree: ast.Module) -> set[str]:
    """Every name a module defines: functions, classes, assigned names and attributes, and
    strings (``__slots__``)."""
    out: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(n.name)
        elif isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store):
            out.add(n.attr)
        elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            out.add(n.id)
        elif isinstance(n, ast.Constant) and isinstance(n.value, str):
            out.add(n.value)
    return out


def private_uses(module: str, tree: ast.Module) -> list[str]:
    """A private name used in ``module`` that another module defines.

    ``from m import _x``; ``m._x``; and ``obj._x`` where ``_x`` is defined nowhere in this
    module, so that it is another module's (``ctx._call`` on a Context of runtime.py).
    ``self._x`` is the class's own business (a base class's, at worst).
    """
    out = [f"{module}:{i.line}: from {i.target} import {n}"
           for i in module_imports(module, tree) for n in i.names if _is_private(n)]
    defined = _defined_names(tree)
    for n in ast.walk(tree):
        if not isinstance(n, ast.Attribute) or not _is_private(n.attr):
            continue
        if n.attr in NAMEDTUPLE_API or n.attr in defined:
            continue
        if isinstance(n.value, ast.Name) and n.value.id in ("self", "cls"):
            continue
        out.append(f"{module}:{n.lineno}: {ast.unparse(n)}")
    return out


def test_the_private_name_check_sees_attribute_access_and_imports() -> None:
    """The test itself, on the offenders it found in the engine (issue 16)."""
    src = ("from .runtime import _hidden\n"
           "from . import checkpoint as ckpt\n"
           "def f(ctx):\n    _own = 1\n    return ctx._call, ckpt._one_line, ctx._own\n")
    assert private_uses("gupcheck.engine.bfs", ast.parse(src)) == [
        "gupcheck.engine.bfs:1: from gupcheck.engine.runtime import _hidden",
        "gupcheck.engine.bfs:5: ctx._call", "gupcheck.engine.bfs:5: ckpt._one_line"]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_is_used_across_modules(module: str) -> None:
    found = private_uses(module, TREES[module])
    assert not found, ("private names of other modules (make them public, or move the code "
                       f"to the module that owns them): {found}")
