"""Imports point one way: kumon ← knowledge, scheduling ← conversations ← whatsapp, and no module
imports one that imports it back (an inline import counts: it is still the cycle)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from kumon.testing import BASE_DIR

# The layer of each app: an app imports only apps of a lower layer (and its own modules).
LAYERS = {"kumon": 0, "knowledge": 1, "scheduling": 1, "conversations": 2, "whatsapp": 3}


def modules(root: Path = BASE_DIR) -> dict[str, Path]:
    """Every module of the apps except tests and migrations, by dotted name."""
    out: dict[str, Path] = {}
    for app in LAYERS:
        for path in (root / app).rglob("*.py"):
            rel = path.relative_to(root)
            if "tests" in rel.parts or "migrations" in rel.parts:
                continue
            name = ".".join(rel.with_suffix("").parts)
            out[name.removesuffix(".__init__")] = path
    return out


def import_graph(found: dict[str, Path]) -> dict[str, set[str]]:
    """module → the project modules it imports, anywhere in its body."""
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in found.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            graph[name].update(t for t in targets if t in found and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_app_imports_an_app_of_its_own_or_a_higher_layer() -> None:
    graph = import_graph(modules())
    upward = sorted(
        (source, target)
        for source, targets in graph.items()
        for target in targets
        if source.split(".")[0] != target.split(".")[0]
        and LAYERS[target.split(".")[0]] >= LAYERS[source.split(".")[0]]
    )
    assert upward == []
    assert len(graph) > 100 and "conversations.services" in graph["conversations.turns"]  # it reads the tree


def test_no_module_imports_one_that_imports_it_back() -> None:
    assert cycles(import_graph(modules())) == []


def test_the_checks_see_an_upward_import_and_a_cycle(tmp_path: Path) -> None:
    for app in LAYERS:
        (tmp_path / app).mkdir()
        (tmp_path / app / "__init__.py").write_text("")
    (tmp_path / "kumon" / "metrics.py").write_text("def f():\n    from conversations.models import Message\n")
    (tmp_path / "conversations" / "models.py").write_text("")
    (tmp_path / "scheduling" / "services.py").write_text("def g():\n    from scheduling.tasks import sync\n")
    (tmp_path / "scheduling" / "tasks.py").write_text("from scheduling import services\n")
    graph = import_graph(modules(tmp_path))
    assert graph["kumon.metrics"] == {"conversations.models"}
    assert cycles(graph) == [["scheduling.services", "scheduling.tasks"]]
