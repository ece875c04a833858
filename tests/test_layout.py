"""The layering the project promises: the domain never imports the web layer, the calculator does no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = sorted((ROOT / "voucher").glob("*.py"))


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", DOMAIN, ids=lambda p: p.name)
def test_voucher_never_imports_api(path):
    assert not {n for n in imported(path) if n == "api" or n.startswith("api.")}


@pytest.mark.parametrize("name", ["calculator", "eligibility", "results", "history", "money", "policy", "enterprise"])
def test_the_calculator_and_its_types_do_no_io(name):
    io = {"sqlite3", "sqlite_utils", "psycopg", "flask", "requests", "urllib", "http", "socket", "voucher.store",
          "voucher.ledger", "voucher.journal", "subprocess"}
    assert imported(ROOT / "voucher" / f"{name}.py") & io == set()


def test_modules_stay_small():
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in DOMAIN + sorted(ROOT.glob("api/**/*.py"))}
    assert {name: n for name, n in sizes.items() if n > 420} == {}
