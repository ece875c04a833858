"""The policy table: list, show, and which policies are in force on a date. Public, as the sources are."""

from __future__ import annotations

from datetime import date

from api.services import ledger, policy_table
from api.auth import current_principal, policy_in_scope, requires
from api.idempotency import idempotent, key
from api.schemas.policy import ParameterOut, PolicyDetail, PolicySummary
from api.schemas.requests import ParameterIn, PoliciesQuery, PolicyQuery
from api.views import Blueprint
from voucher.policy import IN_FORCE, Policy

blp = Blueprint("policies", __name__, url_prefix="/v1/policies", description="The policy table.")


def summary(p: Policy, on: date | None = None) -> dict:
    data = p.summary()
    if on is not None:
        data["in_force_on"] = p.status == IN_FORCE and p.in_window(on)
    return data


def detail(p: Policy, on: date | None = None) -> dict:
    return {**p.detail(), **summary(p, on)}


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
    policy_table().get(policy_id)  # 404 for an unknown policy, before the scope's 403
    policy_in_scope(policy_id)
    return ledger().set_parameter(policy_id, args["name"], args["value"], actor=current_principal().actor, key=key())
