"""The schema every policy file must follow; unknown keys are refused so a typo cannot pass silently."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from voucher.enterprise import ROLES, Enterprise
from voucher.errors import quote
from voucher.kinds import ConditionOp, FormulaBase, FormulaKind
from voucher.money import Rounding
from voucher.transactions import FIELDS, KINDS
from voucher.policy_records import (
    DRAFT, IN_FORCE, Caps, Condition, Formula, Milestone, Policy, PolicyError, Stacking, Threshold,
    VoucherTerms,
)

_ADMIN = validate.OneOf(["administrator"])
_KINDS = sorted(KINDS)
# What a condition may test: a typo here would compare None and silently refuse (or grant) every time.
_CONDITION_FIELDS = sorted([f"enterprise.{f.name}" for f in dataclasses.fields(Enterprise)]
                           + [f"transaction.{name}" for name in (*FIELDS, "year")])


def _amount(**kw):
    return fields.Decimal(validate=validate.Range(min=0, max=Decimal(10) ** 15), **kw)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class ConditionSchema(_Strict):
    field = fields.String(required=True, validate=validate.OneOf(_CONDITION_FIELDS))
    op = fields.String(required=True, validate=validate.OneOf(list(ConditionOp)))
    value = fields.Raw(required=True)
    clause = fields.String(required=True)
    roles = fields.List(fields.String(validate=validate.OneOf(sorted(ROLES))), load_default=list,
                        metadata={"description": "Only claimants in these roles must meet it (default: all)."})


class MilestoneSchema(_Strict):
    over = _amount(required=True)
    award = _amount(required=True)
    key = fields.String(required=True)


class FormulaSchema(_Strict):
    kind = fields.String(required=True, validate=validate.OneOf(list(FormulaKind)))
    aggregate = fields.String(load_default="item", validate=validate.OneOf(["item", "year"]))
    rate = fields.Decimal(validate=validate.Range(min=0, max=1))
    rate_set_by = fields.String(validate=_ADMIN)
    amount = _amount()
    amount_set_by = fields.String(validate=_ADMIN)
    categories = fields.Dict(keys=fields.String(), values=_amount())
    milestones = fields.List(fields.Nested(MilestoneSchema))
    once = fields.List(fields.String(), load_default=list)
    rounding = fields.String(load_default=Rounding.ROUND_HALF_UP, validate=validate.OneOf(list(Rounding)))
    base = fields.String(load_default=FormulaBase.AMOUNT, validate=validate.OneOf(list(FormulaBase)))
    note = fields.String(load_default="")

    @validates_schema
    def _shape(self, data, **kwargs):
        kind = FormulaKind(data["kind"])
        if kind == FormulaKind.RATE and ("rate" in data) == ("rate_set_by" in data):
            raise ValidationError("a rate formula needs exactly one of rate or rate_set_by", "rate")
        if kind == FormulaKind.FIXED and ("amount" in data) == ("amount_set_by" in data):
            raise ValidationError("a fixed formula needs exactly one of amount or amount_set_by", "amount")
        if kind == FormulaKind.BY_CATEGORY and not data.get("categories"):
            raise ValidationError("a by_category formula needs categories", "categories")
        if kind == FormulaKind.MILESTONES and not data.get("milestones"):
            raise ValidationError("a milestones formula needs milestones", "milestones")


class ThresholdSchema(_Strict):
    amount = _amount(required=True)
    inclusive = fields.Boolean(required=True)
    on = fields.String(load_default="item", validate=validate.OneOf(["item", "year"]))
    clause = fields.String(load_default="")


class CapsSchema(_Strict):
    per_item = _amount()
    per_entity_year = _amount()
    per_entity_total = _amount()
    pool_year = _amount()
    awards_per_year = fields.Integer(strict=True, validate=validate.Range(min=1))
    claims_per_entity = fields.Integer(strict=True, validate=validate.Range(min=1))
    years_per_entity = fields.Integer(strict=True, validate=validate.Range(min=1))
    clause = fields.String(load_default="")


class VoucherSchema(_Strict):
    issues_voucher = fields.Boolean(load_default=False)
    kind = fields.String(load_default="cash", validate=validate.OneOf(["cash", "physical", "data"]))
    validity_months = fields.Integer(strict=True, validate=validate.Range(min=1, max=120))
    month_end_rule = fields.String(load_default="")
    transferable = fields.Boolean(load_default=False)
    exclusive_group = fields.String()
    one_claim_per_business = fields.Boolean(load_default=True)
    settlement = fields.String(load_default="direct", validate=validate.OneOf(["direct", "proof_confirm_settle"]))
    clause = fields.String(load_default="")


class StackingSchema(_Strict):
    group = fields.String(required=True)
    rule = fields.String(required=True, validate=validate.OneOf(["highest"]))
    clause = fields.String(load_default="")


class PolicySchema(_Strict):
    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]*$"))
    name_zh = fields.String(required=True)
    name_en = fields.String(required=True)
    authority = fields.String(required=True)
    document = fields.String(required=True)
    published_in = fields.String(load_default="")
    clause = fields.String(required=True, validate=validate.Length(min=1))
    status = fields.String(required=True, validate=validate.OneOf([IN_FORCE, DRAFT]))
    province = fields.String(required=True)
    city = fields.String(load_default="")
    valid_from = fields.Date()
    valid_until = fields.Date()
    business_age_years = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=0, max=10))
    kinds = fields.List(fields.String(validate=validate.OneOf(_KINDS)), required=True,
                        validate=validate.Length(min=1))
    roles = fields.List(fields.String(validate=validate.OneOf(sorted(ROLES))), required=True,
                        validate=validate.Length(min=1))
    interpretation = fields.List(fields.String(), load_default=list)
    eligibility = fields.List(fields.Nested(ConditionSchema), load_default=list)
    formula = fields.Nested(FormulaSchema, required=True)
    threshold = fields.Nested(ThresholdSchema)
    caps = fields.Nested(CapsSchema, load_default=dict)
    voucher = fields.Nested(VoucherSchema, load_default=dict)
    stacking = fields.Nested(StackingSchema)

    @validates_schema
    def _consistent(self, data, **kwargs):
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            raise ValidationError("ends before valid_from", "valid_until")
        for i, cond in enumerate(data.get("eligibility", [])):
            stray = sorted(set(cond["roles"]) - set(data.get("roles", [])))
            if stray:
                raise ValidationError(f"condition {i} names role {quote(stray[0])}, which this policy does not "
                                      "admit",
                                      "eligibility")
        formula = data.get("formula", {})
        threshold = data.get("threshold")
        if threshold and threshold["on"] == "year" and formula.get("aggregate") != "year":
            raise ValidationError("an annual threshold needs formula.aggregate = 'year'", "threshold")
        if formula.get("rate_set_by") or formula.get("amount_set_by"):
            if not data.get("interpretation"):
                raise ValidationError("a value set by an administrator must be explained", "interpretation")


def _flatten(messages, prefix=""):
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = key if key != "_schema" else ""
            yield from _flatten(value, f"{prefix}.{name}".strip(".") if name != "" else prefix)
    elif isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages):
        yield prefix or "(policy)", "; ".join(messages)
    else:
        for item in messages:
            yield from _flatten(item, prefix)


def build_policy(data: dict, *, version: str, source: str) -> Policy | list[PolicyError]:
    """Validate one file's data and build the record, or return every problem found."""
    try:
        d = PolicySchema().load(data)
    except ValidationError as exc:
        return [PolicyError(source, f, m) for f, m in _flatten(exc.messages)]
    f = d["formula"]
    formula = Formula(
        kind=FormulaKind(f["kind"]), aggregate=f["aggregate"], rate=f.get("rate"), rate_set_by=f.get("rate_set_by"),
        amount=f.get("amount"), amount_set_by=f.get("amount_set_by"),
        categories=tuple(sorted((k, Decimal(v)) for k, v in f.get("categories", {}).items())),
        milestones=tuple(sorted((Milestone(m["over"], m["award"], m["key"]) for m in f.get("milestones", [])),
                                key=lambda m: m.over)),
        once=frozenset(f["once"]),
        rounding=Rounding(f["rounding"]), base=FormulaBase(f["base"]), note=f["note"],
    )
    t = d.get("threshold")
    s = d.get("stacking") or {"group": d["id"], "rule": "highest", "clause": ""}
    return Policy(
        id=d["id"], version=version, name_zh=d["name_zh"], name_en=d["name_en"], authority=d["authority"],
        document=d["document"], published_in=d["published_in"], clause=d["clause"].strip(),
        status=d["status"], province=d["province"], city=d["city"],
        valid_from=d.get("valid_from"), valid_until=d.get("valid_until"),
        business_age_years=d["business_age_years"], kinds=frozenset(d["kinds"]), roles=frozenset(d["roles"]), formula=formula,
        threshold=Threshold(t["amount"], t["inclusive"], t["on"], t["clause"]) if t else None,
        caps=Caps(**d["caps"]), voucher=VoucherTerms(**d["voucher"]), stacking=Stacking(**s),
        eligibility=tuple(Condition(c["field"], ConditionOp(c["op"]), c["value"], c["clause"], frozenset(c["roles"]))
                          for c in d["eligibility"]),
        interpretation=tuple(d["interpretation"]), source=source,
    )
