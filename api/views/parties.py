"""Enterprises, providers and platforms: registration, onboarding, exit, blacklist (列入黑名单); profile changes.

Only an administrator registers an enterprise: its profile holds the facts eligibility is
decided on. An enterprise reads its own profile and submits a change
(`POST /v1/profile-changes`); a change to a fact waits until an administrator approves it.
Registering, deciding facts, onboarding, exit and blacklisting reach across every
programme, so a scoped administrator may read profiles and the queue of changes but not
take these steps.
"""

from __future__ import annotations

from api.services import ledger
from api.auth import current_principal, own_enterprise, requires
from api.idempotency import idempotent, key
from api.schemas.ledger import (
    BlacklistOut,
    EnterpriseOut,
    EnterpriseStatus,
    PartyExitOut,
    PartyOut,
    ProfileChangeOut,
    ProfileChangesOut,
)
from api.schemas.requests import (
    BlacklistIn,
    EnterpriseIn,
    PartyExitIn,
    PartyIn,
    ProfileChangeIn,
    ProfileChangesQuery,
    ReasonIn,
)
from api.views import Blueprint
from voucher.errors import NotFound, quote

blp = Blueprint("parties", __name__, url_prefix="/v1",
                description="Enterprises and their profile changes, providers, platforms, blacklist.")


@blp.route("/enterprises", methods=["POST"])
@requires("admin", unscoped=True)
@idempotent(required=False)
@blp.arguments(EnterpriseIn())
@blp.response(200, EnterpriseStatus)
def register_enterprise(profile):
    """Register an enterprise or set its profile; its facts take effect at once, and a blacklisting is kept."""
    return ledger().register_enterprise(profile, actor=current_principal().actor, key=key())


@blp.route("/enterprises/<id:credit_code>")
@requires("enterprise", "admin")
@blp.response(200, EnterpriseOut)
def show_enterprise(credit_code: str):
    """An enterprise's profile in force, its standing and its pending change; an enterprise sees its own only."""
    code = credit_code.strip().upper()
    who = current_principal()
    if who.role == "enterprise" and code != who.subject:
        raise NotFound(f"enterprise {quote(credit_code)} is not registered", field="credit_code")
    try:
        return ledger().enterprise_view(code)
    except (NotFound, ValueError):  # ValueError: not a credit code at all, so no such enterprise either
        raise NotFound(f"enterprise {quote(credit_code)} is not registered", field="credit_code") from None


@blp.route("/profile-changes", methods=["POST"])
@requires("enterprise")
@idempotent(required=False)
@blp.arguments(ProfileChangeIn())
@blp.response(201, ProfileChangeOut)
def submit_change(args: dict):
    """Ask to change your profile: `name` takes effect now; any eligibility fact waits for an administrator."""
    who = current_principal()
    code = own_enterprise(args.get("enterprise"))
    return ledger().submit_enterprise_change(code, args["changes"], actor=who.actor, key=key())


@blp.route("/profile-changes")
@requires("enterprise", "admin")
@blp.arguments(ProfileChangesQuery(), location="query")
@blp.response(200, ProfileChangesOut)
def list_changes(args: dict):
    """Profile changes in the order submitted (`status=pending`: the queue); an enterprise sees its own."""
    args["enterprise"] = own_enterprise(args.get("enterprise"))
    return ledger().enterprise_changes(**args)


@blp.route("/profile-changes/<id:change_id>")
@requires("enterprise", "admin")
@blp.response(200, ProfileChangeOut)
def show_change(change_id: str):
    """One profile change; an enterprise sees its own only."""
    found = ledger().enterprise_change(change_id)
    who = current_principal()
    if who.role == "enterprise" and found["enterprise"] != who.subject:
        raise NotFound(f"no profile change {quote(change_id)}", field="change")
    return found


@blp.route("/profile-changes/<id:change_id>/approve", methods=["POST"])
@requires("admin", unscoped=True)
@idempotent(required=False)
@blp.response(200, ProfileChangeOut)
def approve_change(change_id: str):
    """Approve a change: its facts take effect now, recorded with the approving administrator."""
    return ledger().approve_enterprise_change(change_id, actor=current_principal().actor, key=key())


@blp.route("/profile-changes/<id:change_id>/reject", methods=["POST"])
@requires("admin", unscoped=True)
@idempotent(required=False)
@blp.arguments(ReasonIn())
@blp.response(200, ProfileChangeOut)
def reject_change(args: dict, change_id: str):
    """Reject a change, stating the reason; the profile stays as it is."""
    return ledger().reject_enterprise_change(change_id, reason=args["reason"], actor=current_principal().actor,
                                             key=key())


@blp.route("/parties", methods=["POST"])
@requires("admin", unscoped=True)
@idempotent(required=False)
@blp.arguments(PartyIn())
@blp.response(200, PartyOut)
def onboard(args: dict):
    """Onboard a provider (服务商) or platform; only onboarded parties take redemptions."""
    return ledger().onboard_party(args["id"], args["kind"], args["name"], actor=current_principal().actor, key=key())


@blp.route("/parties/<id:party_id>/exit", methods=["POST"])
@requires("admin", unscoped=True)
@idempotent(required=False)
@blp.arguments(PartyExitIn())
@blp.response(200, PartyExitOut)
def exit_party(args: dict, party_id: str):
    """A party leaves, voluntarily or forced out (强制退出); it takes no new redemptions."""
    return ledger().exit_party(party_id, reason=args["reason"], forced=args["forced"],
                               actor=current_principal().actor, key=key())


@blp.route("/blacklist", methods=["POST"])
@requires("admin", unscoped=True)
@idempotent(required=False)
@blp.arguments(BlacklistIn())
@blp.response(200, BlacklistOut)
def blacklist(args: dict):
    """Blacklist an enterprise or a party: it can no longer apply, redeem or be paid."""
    return ledger().blacklist(args["subject"], reason=args["reason"], actor=current_principal().actor, key=key())
