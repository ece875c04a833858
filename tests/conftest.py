"""Shared fixtures: the policy table as shipped, and enterprises with valid credit codes."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from voucher.enterprise import Enterprise, uscc_check_char
from voucher.policy import PolicyTable, load_policy_table

POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"

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
