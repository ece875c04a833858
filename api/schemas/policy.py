"""Responses about the policy table and estimates (the calculator's `to_dict` shapes, documented)."""

from __future__ import annotations

from marshmallow import Schema, fields

from api.fields import Money
from voucher.kinds import ConditionOp, FormulaBase, FormulaKind
from voucher.money import Rounding

Str = fields.String


def Opt(field: fields.Field) -> fields.Field:  # noqa: N802
    """A field that may be null (OpenAPI `nullable`)."""
    field.allow_none = True
    return field


class PolicySummary(Schema):
    id = Str(required=True)
    version = Str(required=True, metadata={"description": "First 12 hex digits of the file's SHA-256."})
    name_zh = Str(required=True)
    name_en = Str(required=True)
    status = Str(required=True, metadata={"enum": ["in_force", "draft"]})
    authority = Str(required=True)
    province = Str(required=True)
    city = Str(required=True)
    valid_from = Opt(fields.Date(required=True))
    valid_until = Opt(fields.Date(required=True))
    kinds = fields.List(Str(), required=True)
    roles = fields.List(Str(), required=True)
    in_force_on = fields.Boolean(metadata={"description": "Present when ?on= was given."})


class Condition(Schema):
    field = Str(required=True)
    op = Str(required=True, metadata={"enum": [o.value for o in ConditionOp]})
    value = fields.Raw(required=True, allow_none=True)
    clause = Str(required=True)
    roles = fields.List(Str(), required=True,
                        metadata={"description": "The claimant roles it applies to; empty: every role."})


class Milestone(Schema):
    key = Str(required=True)
    over = Money(required=True)
    award = Money(required=True)


class Formula(Schema):
    kind = Str(required=True, metadata={"enum": [k.value for k in FormulaKind]})
    aggregate = Str(required=True)
    rate = Opt(Str(required=True))
    rate_set_by = Opt(Str(required=True))
    amount = Opt(Money(required=True))
    amount_set_by = Opt(Str(required=True))
    categories = fields.Dict(keys=Str(), values=Money(), required=True)
    milestones = fields.List(fields.Nested(Milestone), required=True)
    rounding = Str(required=True, metadata={"enum": [r.value for r in Rounding]})
    rate_base = Str(required=True, metadata={
        "enum": [b.value for b in FormulaBase],
        "description": "The file's formula.base: the transaction's field a rate multiplies (milestones compare)."})
    note = Str(required=True, metadata={"description": "The clause's words for the formula."})


class Threshold(Schema):
    amount = Money(required=True)
    inclusive = fields.Boolean(required=True)
    on = Str(required=True)
    clause = Str(required=True)


class Caps(Schema):
    per_item = Opt(Money())
    per_entity_year = Opt(Money())
    per_entity_total = Opt(Money())
    pool_year = Opt(Money())
    awards_per_year = Opt(fields.Integer())
    claims_per_entity = Opt(fields.Integer())
    years_per_entity = Opt(fields.Integer())
    clause = Str()


class VoucherTerms(Schema):
    issues_voucher = fields.Boolean(required=True)
    kind = Str(required=True)
    validity_months = Opt(fields.Integer(required=True))
    month_end_rule = Str(required=True)
    transferable = fields.Boolean(required=True)
    exclusive_group = Opt(Str(required=True))
    settlement = Str(required=True)
    one_claim_per_business = fields.Boolean(required=True, metadata={
        "description": "true: a grant claims its business in the stacking (and exclusive) group, and a business "
                       "already claimed there is refused; false: it claims none."})


class Stacking(Schema):
    group = Str(required=True)
    rule = Str(required=True)
    clause = Str(required=True)


class PolicyDetail(PolicySummary):
    document = Str(required=True)
    published_in = Str(required=True)
    clause = Str(required=True)
    interpretation = fields.List(Str(), required=True)
    business_age_years = fields.Integer(required=True, metadata={
        "description": "How old a business may be when the ledger grants for it: dated this calendar year or up "
                       "to this many years before (estimates do not apply it)."})
    eligibility = fields.List(fields.Nested(Condition), required=True)
    formula = fields.Nested(Formula, required=True)
    threshold = Opt(fields.Nested(Threshold, required=True))
    caps = fields.Nested(Caps, required=True)
    voucher = fields.Nested(VoucherTerms, required=True)
    stacking = fields.Nested(Stacking, required=True)


# --- estimates ------------------------------------------------------------------------------

class NotApplied(Schema):
    code = Str(required=True, metadata={"description": "eligibility, window, role, threshold, cap, claimed, ..."})
    reason = Str(required=True)
    business = Str(required=True)
    count = fields.Integer(required=True)


class PolicyResult(Schema):
    policy_id = Str(required=True)
    policy_version = Str(required=True)
    name_zh = Str(required=True)
    name_en = Str(required=True)
    status = Str(required=True)
    applies = fields.Boolean(required=True)
    amount = Money(required=True)
    grants = fields.Integer(required=True)
    not_applied = fields.List(fields.Nested(NotApplied), required=True)


class CapStep(Schema):
    level = Str(required=True)
    limit = Money(required=True)
    used_before = Money(required=True)
    removed = Money(required=True)
    remaining_after = Opt(Money(required=True))


class SetAside(Schema):
    policy_id = Str(required=True)
    amount = Money(required=True)


class Grant(Schema):
    policy_id = Str(required=True)
    policy_version = Str(required=True)
    business = Str(required=True)
    year = fields.Integer(required=True, metadata={
        "description": "The year the grant counts against per-year caps and pools: the year of issue."})
    date = Str(required=True, metadata={"format": "date"})
    issued_on = Opt(Str(required=True, metadata={
        "format": "date", "description": "The ledger's day of issue; null in an estimate (see issue_assumed)."}))
    issue_assumed = fields.Boolean(required=True, metadata={
        "description": "True in an estimate, a what-if: it assumes issue on the business's own date."})
    base = Money(required=True)
    rate = Opt(Str(required=True))
    raw = Str(required=True, metadata={"description": "base × rate before rounding, exact."})
    before_caps = Money(required=True)
    rounding = Str(required=True)
    threshold_base = Opt(Money(required=True))
    caps = fields.List(fields.Nested(CapStep), required=True)
    set_aside = fields.List(fields.Nested(SetAside), required=True)
    amount = Money(required=True)
    expires_on = Opt(Str(required=True, metadata={"format": "date"}))
    detail = Str(required=True)
    explanation = fields.List(Str(), required=True)


class EstimateOut(Schema):
    enterprise = Str(required=True)
    as_of = Str(required=True, metadata={"format": "date"})
    total = Money(required=True)
    total_wan = Str(required=True, metadata={"example": "3万元"})
    transactions = fields.Integer(required=True)
    results = fields.List(fields.Nested(PolicyResult), required=True)
    unmatched_kinds = fields.Dict(keys=Str(), values=fields.Integer(), required=True)
    grants = fields.List(fields.Nested(Grant))
    from_ledger = fields.Boolean(required=True, metadata={"description": "History came from the ledger."})


class ParameterOut(Schema):
    policy_id = Str(required=True)
    name = Str(required=True)
    value = Str(required=True, metadata={"description": "A decimal string."})
    entry_id = fields.Integer(required=True, metadata={"description": "The ledger entry that records the setting."})
