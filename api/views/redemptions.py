"""After a redemption: proof of service, the holder's confirmation, settlement, payment, clawback.

The party paid (a provider or a platform) uploads proof and asks for settlement; the
holder confirms and rates; administrators approve and pay, and the one who approved a
settlement may not also pay it (four eyes; the ledger refuses it with 403).
"""

from __future__ import annotations

from api.services import ledger
from api.auth import current_principal, in_scope_record, may_see_redemption, requires
from api.idempotency import idempotent, key
from api.schemas.ledger import RedemptionOut
from api.schemas.requests import ConfirmIn, ProofIn, ReasonIn
from api.views import Blueprint
from voucher.errors import NotFound, quote

blp = Blueprint("redemptions", __name__, url_prefix="/v1/redemptions",
                description="Proof, confirmation, settlement and payment of redemptions.")


@blp.route("/<id:redemption_id>")
@requires("enterprise", "platform", "provider", "admin")
@blp.response(200, RedemptionOut)
def show(redemption_id: str):
    """One redemption: the holder, the party paid and administrators may see it."""
    found = ledger().redemption(redemption_id)
    if not may_see_redemption(found):
        raise NotFound(f"no redemption {quote(redemption_id)}", field="redemption")
    return found


def redemption_in_scope(redemption_id: str) -> None:
    """A scoped administrator acts on the redemptions of its own policies; the others are 404."""
    in_scope_record("redemption", redemption_id, lambda: ledger().redemption(redemption_id)["policy_id"])


@blp.route("/<id:redemption_id>/proof", methods=["POST"])
@requires("provider", "platform")
@idempotent(required=False)
@blp.arguments(ProofIn())
@blp.response(200, RedemptionOut)
def proof(args: dict, redemption_id: str):
    """The provider's proof of service: the SHA-256 of the file, bound to the redemption."""
    who = current_principal()
    return ledger().proof(redemption_id, party=who.subject, file_hash=args["file_hash"], actor=who.actor, key=key())


@blp.route("/<id:redemption_id>/confirm", methods=["POST"])
@requires("enterprise")
@idempotent(required=False)
@blp.arguments(ConfirmIn())
@blp.response(200, RedemptionOut)
def confirm(args: dict, redemption_id: str):
    """The holder confirms the service was done and rates it from 1 to 5."""
    who = current_principal()
    return ledger().confirm(redemption_id, enterprise=who.subject, rating=args["rating"], actor=who.actor, key=key())


@blp.route("/<id:redemption_id>/settlement", methods=["POST"])
@requires("provider", "platform")
@idempotent(required=False)
@blp.response(200, RedemptionOut)
def request_settlement(redemption_id: str):
    """The party paid asks for settlement (兑现申请); after confirmation where the policy asks for proof."""
    who = current_principal()
    return ledger().request_settlement(redemption_id, party=who.subject, actor=who.actor, key=key())


@blp.route("/<id:redemption_id>/settlement/approve", methods=["POST"])
@requires("admin")
@idempotent(required=True)
@blp.response(200, RedemptionOut)
def approve_settlement(redemption_id: str):
    """An administrator approves the settlement."""
    redemption_in_scope(redemption_id)
    return ledger().approve_settlement(redemption_id, actor=current_principal().actor, key=key())


@blp.route("/<id:redemption_id>/pay", methods=["POST"])
@requires("admin")
@idempotent(required=True)
@blp.response(200, RedemptionOut)
def pay(redemption_id: str):
    """Pay (拨付): the receivable becomes paid. Not by the administrator who approved it."""
    redemption_in_scope(redemption_id)
    return ledger().pay(redemption_id, actor=current_principal().actor, key=key())


@blp.route("/<id:redemption_id>/clawback", methods=["POST"])
@requires("admin")
@idempotent(required=True)
@blp.arguments(ReasonIn())
@blp.response(200, RedemptionOut)
def clawback(args: dict, redemption_id: str):
    """Fraud found later (套取财政资金): the redeemed value returns to the policy's budget."""
    redemption_in_scope(redemption_id)
    return ledger().clawback(redemption_id, reason=args["reason"], actor=current_principal().actor, key=key())
