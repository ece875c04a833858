"""Enterprises, providers and platforms: registration, onboarding, exit, blacklist (列入黑名单)."""

from __future__ import annotations

import json

from api.app import ledger
from api.auth import current_principal, own_enterprise, requires
from api.idempotency import idempotent, key
from api.schemas.ledger import BlacklistOut, EnterpriseOut, EnterpriseStatus, PartyExitOut, PartyOut
from api.schemas.requests import BlacklistIn, EnterpriseIn, PartyExitIn, PartyIn
from api.views import Blueprint
from voucher.errors import NotFound, quote

blp = Blueprint("parties", __name__, url_prefix="/v1", description="Enterprises, providers, platforms, blacklist.")


@blp.route("/enterprises", methods=["POST"])
@requires("enterprise", "admin")
@idempotent(required=False)
@blp.arguments(EnterpriseIn())
@blp.response(200, EnterpriseStatus)
def register_enterprise(profile):
    """Record or update an enterprise's profile (an enterprise its own); a blacklisting is kept."""
    own_enterprise(profile.credit_code)
    return ledger().register_enterprise(profile, actor=current_principal().actor, key=key())


@blp.route("/enterprises/<id:credit_code>")
@requires("enterprise", "admin")
@blp.response(200, EnterpriseOut)
def show_enterprise(credit_code: str):
    """An enterprise's profile and standing; an enterprise sees its own only."""
    code = credit_code.strip().upper()
    who = current_principal()
    with ledger().store.read() as tx:
        row = tx.one("SELECT credit_code, profile, status FROM enterprises WHERE credit_code = ?", (code,))
    if not row or (who.role == "enterprise" and code != who.subject):
        raise NotFound(f"enterprise {quote(credit_code)} is not registered", field="credit_code")
    return {"credit_code": row["credit_code"], "status": row["status"], "profile": json.loads(row["profile"])}


@blp.route("/parties", methods=["POST"])
@requires("admin")
@idempotent(required=False)
@blp.arguments(PartyIn())
@blp.response(200, PartyOut)
def onboard(args: dict):
    """Onboard a provider (服务商) or platform; only onboarded parties take redemptions."""
    return ledger().onboard_party(args["id"], args["kind"], args["name"], actor=current_principal().actor, key=key())


@blp.route("/parties/<id:party_id>/exit", methods=["POST"])
@requires("admin")
@idempotent(required=False)
@blp.arguments(PartyExitIn())
@blp.response(200, PartyExitOut)
def exit_party(args: dict, party_id: str):
    """A party leaves, voluntarily or forced out (强制退出); it takes no new redemptions."""
    return ledger().exit_party(party_id, reason=args["reason"], forced=args["forced"],
                               actor=current_principal().actor, key=key())


@blp.route("/blacklist", methods=["POST"])
@requires("admin")
@idempotent(required=False)
@blp.arguments(BlacklistIn())
@blp.response(200, BlacklistOut)
def blacklist(args: dict):
    """Blacklist an enterprise or a party: it can no longer apply, redeem or be paid."""
    return ledger().blacklist(args["subject"], reason=args["reason"], actor=current_principal().actor, key=key())
