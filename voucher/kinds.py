"""The closed sets of a policy file, in one place: formula kinds, formula bases and condition operators.

Each is an `enum.StrEnum`, so a member is the very string the TOML file and the API write
(`FormulaKind.RATE == "rate"`); the policy schema (`policy_schema.py`) and the API's
policy schema take their choices from here.
"""

from __future__ import annotations

from enum import StrEnum


class FormulaKind(StrEnum):
    RATE = "rate"  # rate × base
    FIXED = "fixed"  # a fixed amount per business
    BY_CATEGORY = "by_category"  # a fixed amount per category
    MILESTONES = "milestones"  # an award for each threshold passed for the first time


class FormulaBase(StrEnum):
    """What a rate multiplies (and milestones compare): today only the business's amount.

    The readings of the next issue add bases (a share of the amount, a count); a file
    naming one the calculator cannot compute is refused by the schema, not ignored.
    """

    AMOUNT = "amount"


class ConditionOp(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
