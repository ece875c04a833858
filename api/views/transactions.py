"""Platforms post the businesses they carry; every voucher-issuing policy that grants for one issues now.

The posting platform is the key's subject, never a field of the body: a platform cannot
post, or issue vouchers, in another platform's name.
"""

from __future__ import annotations

from api.services import ledger
from api.auth import current_principal, requires
from api.idempotency import idempotent, key
from api.schemas.ledger import PostedOut
from api.schemas.requests import PostTransactionIn
from api.views import Blueprint

blp = Blueprint("transactions", __name__, url_prefix="/v1/transactions",
                description="Businesses posted by platforms; they issue vouchers.")


@blp.route("", methods=["POST"])
@requires("platform")
@idempotent(required=True)
@blp.arguments(PostTransactionIn())
@blp.response(201, PostedOut)
def post_transaction(args: dict):
    """Post one business for an enterprise; returns the vouchers issued and why other policies issued none.

    Caps and shared pools are checked and spent in the same database transaction, so
    concurrent posts never overspend them. Stacking is the calculator's: within a
    stacking group only the highest grant is issued. One business, one entry: re-posting
    a transaction id the ledger holds (compared case-, width- and invisible-character-blind)
    returns the first answer and writes nothing, whatever Idempotency-Key comes with it;
    with other content it is 409 `business_differs`, listing each differing field in `errors`.
    """
    who = current_principal()
    return ledger().post_transaction(args["enterprise"], args["transaction"], platform=who.subject,
                                     actor=who.actor, key=key())
