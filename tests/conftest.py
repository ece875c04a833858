"""Shared fixtures and helpers: the policy table as shipped, enterprises with valid credit codes,
the settable clock, and the runners of the `voucher` command.

Helpers are imported by name (`from conftest import Clock, credit_code, cli`); each exists
only here.
"""

from __future__ import annotations

import itertools
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from voucher.cli import main
from voucher.enterprise import Enterprise, uscc_check_char
from voucher.policy import PolicyTable, load_policy_table
from voucher.transactions import CHINA_TZ

ROOT = Path(__file__).resolve().parent.parent
POLICY_DIR = ROOT / "policies"
START = datetime(2026, 3, 1, 10, 0, tzinfo=CHINA_TZ)

# Administrative division codes (GB/T 2260) of the cities the sources name; characters 3-8 of a code.
DIVISIONS = {"贵阳市": "520100", "济南市": "370100", "杭州市": "330100", "武汉市": "420100", "福州市": "350100"}


def credit_code(serial: int, division: str = "520100") -> str:
    """A unified social credit code that passes GB 32100-2015's check.

    "91" (registered with market regulation, an enterprise), the six-digit division code,
    nine digits made from `serial`, and the check character computed from those 17.
    """
    body = f"91{division}{serial:09d}"
    return body + uscc_check_char(body)


@pytest.fixture(scope="session")
def table() -> PolicyTable:
    """Every policy in `policies/`, loaded once; `load_policy_table` raises if any file is invalid."""
    return load_policy_table(POLICY_DIR)


@pytest.fixture
def make_enterprise():
    """Build an `Enterprise` through `from_dict`, as input is read, with a fresh valid credit code."""
    serials = itertools.count(1)

    def make(**fields) -> Enterprise:
        division = DIVISIONS.get(fields.get("city", ""), "110000")
        fields.setdefault("credit_code", credit_code(next(serials), division))
        return Enterprise.from_dict(fields)

    return make


class Clock:
    """A clock the ledger calls; `set` and `advance` move it."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime | date) -> None:
        if not isinstance(when, datetime):
            when = datetime(when.year, when.month, when.day, 10, 0, tzinfo=CHINA_TZ)
        self.now = when

    def advance(self, **delta) -> None:
        self.now = self.now + timedelta(**delta)


# --- the `voucher` command, as estimates and ledger steps run it -------------------------------


def cli(*args: str, db: str | None = None, actor: str = "admin:li", stdin: bytes | str | None = None):
    """`voucher --policies policies [--db DB --actor ACTOR] ARGS...` through click's runner; the result."""
    prefix = ["--policies", str(POLICY_DIR)] + (["--db", db, "--actor", actor] if db else [])
    return CliRunner().invoke(main, [*prefix, *args], input=stdin)


def run(*args: str, db: str | None = None, actor: str = "admin:li", code: int = 0):
    """`cli(...)`, checking the exit status is `code`."""
    result = cli(*args, db=db, actor=actor)
    assert result.exit_code == code, result.output
    return result


def sqlite_rows(path) -> dict:
    """Every row of every table of the SQLite file at `path`, to compare before and after."""
    with sqlite3.connect(path) as db:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {name: db.execute(f'SELECT * FROM "{name}"').fetchall() for name in names}
