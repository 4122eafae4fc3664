"""nnlib's modules import one another without a circle.

The graph is read from the source (ast), not from a running interpreter: every ``import`` and
``from ... import`` anywhere in a module -- at the top, inside a function, under ``if`` -- that
names another nnlib module is an edge. A circle (a -> b -> ... -> a) fails the test and is printed.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "nnlib"


def _module_name(path: Path) -> str:
    return "nnlib" if path.name == "__init__.py" else f"nnlib.{path.stem}"


def _resolve(name: str, modules: set[str]) -> str | None:
    """The nnlib module that the dotted ``name`` lies in (``nnlib.mlp.MLP`` -> ``nnlib.mlp``)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _edges(path: Path, modules: set[str]) -> set[str]:
    """The nnlib modules that ``path`` imports, wherever the import statement stands."""
    me = _module_name(path)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):                    # import nnlib.x [as y]
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level > 1:
                raise AssertionError(f"{path.name}: relative import from above the nnlib package")
            # every module lives directly in nnlib/, so level 1 means the package nnlib
            base = "nnlib" if node.level == 1 else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            # from . import losses -> nnlib.losses; from .mlp import MLP -> nnlib.mlp.MLP, which
            # lies in nnlib.mlp; from . import x where x is no module -> the package nnlib itself
            targets = [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            mod = _resolve(target, modules)
            if mod is not None and mod != me:
                found.add(mod)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PKG.glob("*.py"))
    modules = {_module_name(p) for p in paths}
    return {_module_name(p): _edges(p, modules) for p in paths}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of the directed graph as [a, b, ..., a], or None (depth-first search)."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = GREY
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if colour.get(nxt, BLACK) == GREY:
                return stack[stack.index(nxt):] + [nxt]
            if colour.get(nxt) == WHITE and (found := visit(nxt)):
                return found
        stack.pop()
        colour[node] = BLACK
        return None

    for node in sorted(graph):
        if colour[node] == WHITE and (found := visit(node)):
            return found
    return None


def test_the_graph_is_read_correctly():
    graph = import_graph()
    # a few edges known from the source, including a package-level one and a relative "from ."
    assert "nnlib.train" in graph["nnlib.mlp"]                 # from . import losses, train
    assert "nnlib.kernels" in graph["nnlib.train_kernels"]     # from .kernels import backward, ...
    assert "nnlib.mlp" in graph["nnlib"]                       # from .mlp import MLP
    assert "nnlib.mlp" in graph["nnlib.course"]


def test_the_cycle_finder_finds_a_function_level_circle(tmp_path):
    (tmp_path / "a.py").write_text("from .b import f\n")
    (tmp_path / "b.py").write_text("def f():\n    from .a import g\n    return g\n")
    (tmp_path / "c.py").write_text("from . import a\n")
    modules = {"nnlib.a", "nnlib.b", "nnlib.c"}
    graph = {_module_name(p): _edges(p, modules) for p in sorted(tmp_path.glob("*.py"))}
    assert graph == {"nnlib.a": {"nnlib.b"}, "nnlib.b": {"nnlib.a"}, "nnlib.c": {"nnlib.a"}}
    assert find_cycle(graph) in (["nnlib.a", "nnlib.b", "nnlib.a"], ["nnlib.b", "nnlib.a", "nnlib.b"])
    assert find_cycle({"x": {"y"}, "y": set()}) is None


def test_nnlib_has_no_import_circle():
    cycle = find_cycle(import_graph())
    if cycle:
        pytest.fail("nnlib modules import each other in a circle: " + " -> ".join(cycle))
