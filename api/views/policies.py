"""The policy table: list, show, and which policies are in force on a date. Public, as the sources are."""

from __future__ import annotations

from datetime import date

from api.app import ledger, policy_table
from api.auth import current_principal, requires
from api.idempotency import idempotent, key
from api.schemas.policy import ParameterOut, PolicyDetail, PolicySummary
from api.schemas.requests import ParameterIn, PoliciesQuery, PolicyQuery
from api.views import Blueprint
from voucher.policy import IN_FORCE, Policy

blp = Blueprint("policies", __name__, url_prefix="/v1/policies", description="The policy table.")


def summary(p: Policy, on: date | None = None) -> dict:
    data = {"id": p.id, "version": p.version, "name_zh": p.name_zh, "name_en": p.name_en, "status": p.status,
            "authority": p.authority, "province": p.province, "city": p.city, "valid_from": p.valid_from,
            "valid_until": p.valid_until, "kinds": sorted(p.kinds), "roles": sorted(p.roles)}
    if on is not None:
        data["in_force_on"] = p.status == IN_FORCE and p.in_window(on)
    return data


def detail(p: Policy, on: date | None = None) -> dict:
    f, c, v, s = p.formula, p.caps, p.voucher, p.stacking
    caps = {name: getattr(c, name) for name in ("per_item", "per_entity_year", "per_entity_total", "pool_year",
                                                 "awards_per_year", "claims_per_entity", "years_per_entity")}
    return {**summary(p, on), "document": p.document, "published_in": p.published_in, "clause": p.clause,
            "interpretation": list(p.interpretation),
            "eligibility": [{"field": e.field, "op": e.op, "clause": e.clause,
                             "value": sorted(e.value) if isinstance(e.value, (set, frozenset, tuple, list))
                             else e.value} for e in p.eligibility],
            "formula": {"kind": f.kind, "aggregate": f.aggregate, "rate": str(f.rate) if f.rate is not None else None,
                        "rate_set_by": f.rate_set_by, "amount": f.amount, "amount_set_by": f.amount_set_by,
                        "categories": dict(f.categories), "rounding": f.rounding,
                        "milestones": [{"key": m.key, "over": m.over, "award": m.award} for m in f.milestones]},
            "threshold": None if not p.threshold else {"amount": p.threshold.amount, "inclusive": p.threshold.inclusive,
                                                       "on": p.threshold.on, "clause": p.threshold.clause},
            "caps": {**{k: x for k, x in caps.items() if x is not None},
                     "clause": c.clause},
            "voucher": {"issues_voucher": v.issues_voucher, "kind": v.kind, "validity_months": v.validity_months,
                        "month_end_rule": v.month_end_rule, "transferable": v.transferable,
                        "exclusive_group": v.exclusive_group, "settlement": v.settlement},
            "stacking": {"group": s.group, "rule": s.rule, "clause": s.clause}}


@blp.route("")
@blp.doc(security=[])
@blp.arguments(PoliciesQuery(), location="query")
@blp.response(200, PolicySummary(many=True))
def list_policies(args: dict):
    """List the policy table.

    With `on`, only the policies in force that day: inside their window and not a draft
    for comment (征求意见稿), unless `status=draft` asks for the drafts whose window covers it.
    """
    on, status, kind = args.get("on"), args.get("status"), args.get("kind")
    rows = list(policy_table())
    if on is not None:
        rows = [p for p in rows if p.in_window(on) and p.status == (status or IN_FORCE)]
    elif status:
        rows = [p for p in rows if p.status == status]
    if kind:
        rows = [p for p in rows if kind in p.kinds]
    return [summary(p, on) for p in rows]


@blp.route("/<id:policy_id>")
@blp.doc(security=[])
@blp.arguments(PolicyQuery(), location="query")
@blp.response(200, PolicyDetail)
def show_policy(args: dict, policy_id: str):
    """One policy with the clause it implements, its formula, caps, voucher terms and stacking group."""
    return detail(policy_table().get(policy_id), args.get("on"))


@blp.route("/<id:policy_id>/parameters", methods=["POST"])
@requires("admin")
@idempotent(required=False)
@blp.arguments(ParameterIn())
@blp.response(200, ParameterOut)
def set_parameter(args: dict, policy_id: str):
    """Set a value the source leaves to an administrator (Hangzhou's voucher rate); recorded in the ledger."""
    return ledger().set_parameter(policy_id, args["name"], args["value"], actor=current_principal().actor, key=key())
