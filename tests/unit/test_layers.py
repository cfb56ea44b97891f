"""The layering the README's architecture section draws, checked on the import graph.

grimp (import-linter's graph) reads every import statement, including the ones inside
functions, so a lazy import cannot hide a dependency or a cycle.
"""

from __future__ import annotations

import grimp
import pytest

PACKAGES = ("actors", "persistence", "venue", "venues", "system", "ops")
# Who may not import whom: the engine's actors see only themselves, the store and the venue
# interface; the interface and the store see nothing of the engine.
FORBIDDEN = {
    "actors": ("system", "venues", "ops"),
    "venue": ("actors", "persistence", "system", "venues", "ops"),
    "persistence": ("actors", "system", "venues", "ops", "venue"),
}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def imports_of(graph: grimp.ImportGraph, package: str) -> set[tuple[str, str]]:
    """(importer, imported) pairs from `package`'s modules to modules outside it."""
    pairs = set()
    for module in graph.find_descendants(package) | {package}:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.split(".")[0] != package:
                pairs.add((module, imported))
    return pairs


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(graph, package):
    banned = FORBIDDEN[package]
    wrong = sorted((a, b) for a, b in imports_of(graph, package) if b.split(".")[0] in banned)
    assert wrong == [], f"{package}/ imports what it may not: {wrong}"


def cycles(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """Import cycles among `package`'s modules (Tarjan's strongly connected components);
    a package's __init__ importing its own modules is not a cycle of behaviour, so the
    edges from a package to its own submodules are left out."""
    nodes = sorted(graph.find_descendants(package) | {package})
    edges = {n: sorted(m for m in graph.find_modules_directly_imported_by(n)
                       if m in nodes and not m.startswith(n + ".")) for n in nodes}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for n in nodes:
        if n not in index:
            visit(n)
    return out


@pytest.mark.parametrize("package", ["actors", "venue", "venues", "persistence"])
def test_no_import_cycles(graph, package):
    assert cycles(graph, package) == []


def test_the_cycle_finder_finds_a_cycle():
    """The check above can fail: a graph with a circle is reported."""
    g = grimp.ImportGraph()
    for m in ("p", "p.a", "p.b", "p.c"):
        g.add_module(m)
    g.add_import(importer="p.a", imported="p.b")
    g.add_import(importer="p.b", imported="p.a")
    g.add_import(importer="p.c", imported="p.a")
    assert cycles(g, "p") == [["p.a", "p.b"]]
