"""Who imports whom: no import cycle in the web app or the command line (issue 8).

Every `import` counts, at the top of a module or inside a function: a cycle hidden in a
function is still a cycle a newcomer has to untangle. The ledger's own modules still have
cycles (the journal and its audit, the schema and the steps that fill it); they are listed
in `KNOWN` until the ledger is rebuilt by composition, and the test fails if a new one
appears or a known one is left in the list after it is gone.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

KNOWN = {
    frozenset({"voucher.audit", "voucher.businesses", "voucher.idempotency", "voucher.journal", "voucher.redemption",
               "voucher.replay", "voucher.replay_handlers", "voucher.schema", "voucher.store"}),
}


def modules() -> dict[str, Path]:
    found = {}
    for package in ("voucher", "api"):
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `path` imports anywhere in it (`from a import b` counts a.b when that is a module)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                out.add(name if name in known else node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {name for name in out if name in known}


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_new_import_cycle_and_none_in_the_web_app_or_the_command_line():
    known = modules()
    graph = {name: imports(path, known) - {name} for name, path in known.items()}
    found = set(cycles(graph))
    assert found - KNOWN == set(), "a new import cycle"
    assert KNOWN - found == set(), "a known cycle is gone: take it out of KNOWN"
    assert not any(m.startswith(("api.", "voucher.cli")) for cycle in found for m in cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset({"a", "b", "c"})]
