"""Eligibility: the conditions a policy file sets on the enterprise and on the business.

Enterprise conditions do not change during an estimate, so they are tested once per
policy (and once per claimant role, for a condition that binds only some roles); the
transaction conditions are tested per business by the calculator, with `passes`; `dated`
is the ledger's test of a business's date against the day it was posted.
"""

from __future__ import annotations

from datetime import date

from voucher.enterprise import Enterprise
from voucher.errors import PolicyInvalid, quote
from voucher.kinds import ConditionOp
from voucher.policy import Condition, Policy
from voucher.results import Refusal
from voucher.transactions import Transaction


def passes(op: ConditionOp, actual: object, expected: object) -> bool:
    if op == ConditionOp.EQ:
        return actual == expected
    if op == ConditionOp.NE:
        return actual != expected
    if op == ConditionOp.IN:
        return actual in expected
    if op == ConditionOp.NOT_IN:
        return actual not in expected
    if op == ConditionOp.CONTAINS:
        return expected in actual
    if op == ConditionOp.NOT_CONTAINS:
        return expected not in actual
    raise PolicyInvalid(f"unknown condition op {quote(op)} (one of {', '.join(ConditionOp)})", field="eligibility.op")


def describe(cond: Condition, actual: object) -> str:
    return f"{cond.field} {cond.op} {quote(cond.value)} failed (is {quote(actual)}): {cond.clause}"


def enterprise_refusal(p: Policy, enterprise: Enterprise) -> Refusal | None:
    """The first enterprise condition binding every claimant that fails, if any."""
    for cond in p.eligibility:
        if cond.field.startswith("enterprise.") and not cond.roles:
            actual = getattr(enterprise, cond.field[11:], None)
            if not passes(cond.op, actual, cond.value):
                return Refusal("eligibility", describe(cond, actual), "")
    return None


def role_refusals(p: Policy, enterprise: Enterprise) -> dict[str, Refusal]:
    """For each claimant role, the first enterprise condition for that role that fails (算力/数据提供方 …)."""
    refusals: dict[str, Refusal] = {}
    for cond in p.eligibility:
        if cond.field.startswith("enterprise.") and cond.roles:
            actual = getattr(enterprise, cond.field[11:], None)
            if not passes(cond.op, actual, cond.value):
                for role in cond.roles - refusals.keys():
                    refusals[role] = Refusal("eligibility", f"as {role}: {describe(cond, actual)}", "")
    return refusals


def dated(p: Policy, tx: Transaction, posted: date) -> Refusal | None:
    """A business the ledger may not grant for: dated after the day it was posted, or too old."""
    if tx.date > posted:
        return Refusal("future", f"dated {tx.date}, after the day it was posted ({posted}, China time): "
                       "a business is claimed once it has happened", tx.id)
    oldest = p.oldest_business_year(posted)
    if tx.date.year < oldest:
        return Refusal("age", f"dated {tx.date}: posted on {posted}, {p.id} grants for businesses of {oldest} "
                       f"or later (business_age_years = {p.business_age_years})", tx.id)
    return None
