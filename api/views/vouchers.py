"""Vouchers: list and show, redeem, hold at checkout (then commit or release), void.

Visibility: an enterprise sees its own vouchers, a platform those it issued, an
administrator all. Someone else's voucher is answered 404, as if it did not exist,
so ids cannot be probed. Redemption: a platform redeems for itself (it is the party
paid); an enterprise redeems its own voucher with a provider it names.
"""

from __future__ import annotations

from api.services import ledger
from api.auth import current_principal, in_scope_record, may_see_voucher, own_enterprise, policy_in_scope, requires, scope_ids
from api.idempotency import idempotent, key
from api.schemas.ledger import HoldOut, RedemptionOut, VoucherDetail, VoucherOut, VouchersPage
from api.schemas.requests import CommitIn, HoldIn, ReasonIn, RedeemIn, VouchersQuery
from api.views import Blueprint
from voucher.errors import Forbidden, InputError, NotFound, quote

blp = Blueprint("vouchers", __name__, url_prefix="/v1", description="Vouchers, holds and redemptions.")


@blp.route("/vouchers")
@requires("enterprise", "admin")
@blp.arguments(VouchersQuery(), location="query")
@blp.response(200, VouchersPage)
def list_vouchers(args: dict):
    """Vouchers in issue order, `limit` at a time; pass `next` as `after` for the next page.

    A scoped administrator sees the vouchers of its policies only.
    """
    args["enterprise"] = own_enterprise(args.get("enterprise"))
    policy_in_scope(args.get("policy_id"))
    return ledger().vouchers(**args, policy_ids=scope_ids())


@blp.route("/vouchers/<id:voucher_id>")
@requires("enterprise", "platform", "admin")
@blp.response(200, VoucherDetail)
def show_voucher(voucher_id: str):
    """One voucher with what is available and held, and its redemptions."""
    voucher = ledger().voucher(voucher_id)
    if not may_see_voucher(voucher):
        raise NotFound(f"no voucher {quote(voucher_id)}", field="voucher")
    return voucher


def platform_may_spend(voucher_id: str) -> None:
    """A platform spends only vouchers issued through it; any other is spent by its holder, naming the party.

    Voucher ids are sequential and credit codes public, so without this a platform could
    redeem any enterprise's voucher in its own favour. The issuing platform never changes,
    so checking it before the ledger's transaction is safe.
    """
    if not may_see_voucher(ledger().voucher(voucher_id)):
        raise NotFound(f"no voucher {quote(voucher_id)}", field="voucher")


@blp.route("/vouchers/<id:voucher_id>/redemptions", methods=["POST"])
@requires("platform", "enterprise")
@idempotent(required=True)
@blp.arguments(RedeemIn())
@blp.response(201, RedemptionOut)
def redeem(args: dict, voucher_id: str):
    """Redeem (兑现) in full or in part against a purchase, backed by an invoice that backs no other claim."""
    who = current_principal()
    if who.role == "platform":
        if args.get("party", who.subject) != who.subject:
            raise Forbidden("a platform redeems for itself only", field="party")
        if "enterprise" not in args:
            raise InputError("enterprise", "the holder's credit code is required")
        platform_may_spend(voucher_id)
        party, holder = who.subject, args["enterprise"]
    else:
        holder = own_enterprise(args.get("enterprise"))
        if "party" not in args:
            raise InputError("party", "name the provider or platform the voucher pays")
        party = args["party"]
    return ledger().redeem(voucher_id, enterprise=holder, amount=args["amount"], party=party,
                           invoice=args["invoice"], actor=who.actor, key=key())


@blp.route("/vouchers/<id:voucher_id>/holds", methods=["POST"])
@requires("platform")
@idempotent(required=True)
@blp.arguments(HoldIn())
@blp.response(201, HoldOut)
def hold(args: dict, voucher_id: str):
    """Reserve voucher value during checkout; it lapses unless committed within ttl_seconds."""
    who = current_principal()
    platform_may_spend(voucher_id)
    return ledger().hold(voucher_id, enterprise=args["enterprise"], amount=args["amount"], platform=who.subject,
                         ttl_seconds=args["ttl_seconds"], actor=who.actor, key=key())


@blp.route("/holds/<id:hold_id>/commit", methods=["POST"])
@requires("platform")
@idempotent(required=True)
@blp.arguments(CommitIn())
@blp.response(201, RedemptionOut)
def commit_hold(args: dict, hold_id: str):
    """The checkout completed: the held value becomes a redemption in the platform's favour."""
    who = current_principal()
    return ledger().commit_hold(hold_id, platform=who.subject, invoice=args["invoice"], actor=who.actor, key=key())


@blp.route("/holds/<id:hold_id>/release", methods=["POST"])
@requires("platform")
@idempotent(required=True)
@blp.response(200, HoldOut)
def release_hold(hold_id: str):
    """The checkout was abandoned: the held value returns to the voucher."""
    who = current_principal()
    return ledger().release_hold(hold_id, platform=who.subject, actor=who.actor, key=key())


@blp.route("/vouchers/<id:voucher_id>/void", methods=["POST"])
@requires("admin")
@idempotent(required=True)
@blp.arguments(ReasonIn())
@blp.response(200, VoucherOut)
def void(args: dict, voucher_id: str):
    """Void (作废): the unspent value returns to the policy's budget; what was redeemed stays redeemed."""
    in_scope_record("voucher", voucher_id, lambda: ledger().voucher(voucher_id)["policy_id"])
    return ledger().void(voucher_id, reason=args["reason"], actor=current_principal().actor, key=key())
