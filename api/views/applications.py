"""Applications (申领): an enterprise applies, an administrator approves (the voucher is issued) or rejects."""

from __future__ import annotations

from api.services import ledger
from api.auth import current_principal, in_scope_record, own_enterprise, requires
from api.idempotency import idempotent, key
from api.schemas.ledger import ApplicationOut, ApprovedOut
from api.schemas.requests import ApplicationIn, ApproveIn, ReasonIn
from api.views import Blueprint
from api.views.estimates import checked_parameters
from voucher.errors import NotFound, quote

blp = Blueprint("applications", __name__, url_prefix="/v1/applications",
                description="Apply for a policy's grant; administrators approve or reject.")


@blp.route("", methods=["POST"])
@requires("enterprise")
@idempotent(required=False)
@blp.arguments(ApplicationIn())
@blp.response(201, ApplicationOut)
def apply(args: dict):
    """Apply for one policy's grant for one business; checked now against the caps, decided by approval."""
    who = current_principal()
    code = own_enterprise(args.get("enterprise"))
    return ledger().apply(code, args["policy_id"], args["transaction"], actor=who.actor, key=key())


@blp.route("/<id:application_id>")
@requires("enterprise", "admin")
@blp.response(200, ApplicationOut)
def show(application_id: str):
    """One application; an enterprise sees its own only, a scoped administrator those of its policies."""
    app = ledger().application(application_id)
    who = current_principal()
    if who.role == "enterprise" and app["enterprise"] != who.subject:
        raise NotFound(f"no application {quote(application_id)}", field="application")
    in_scope_record("application", application_id, lambda: app["policy_id"])
    return app


def application_in_scope(application_id: str) -> None:
    in_scope_record("application", application_id, lambda: ledger().application(application_id)["policy_id"])


@blp.route("/<id:application_id>/approve", methods=["POST"])
@requires("admin")
@idempotent(required=True)
@blp.arguments(ApproveIn(), required=False)
@blp.response(200, ApprovedOut)
def approve(args: dict, application_id: str):
    """Approve: the voucher is issued in the same transaction, for what the caps leave at that moment."""
    application_in_scope(application_id)
    return ledger().approve(application_id, actor=current_principal().actor, key=key(),
                            parameters=checked_parameters(args.get("parameters")))


@blp.route("/<id:application_id>/reject", methods=["POST"])
@requires("admin")
@idempotent(required=False)
@blp.arguments(ReasonIn())
@blp.response(200, ApplicationOut)
def reject(args: dict, application_id: str):
    """Reject, stating the reason."""
    application_in_scope(application_id)
    return ledger().reject(application_id, reason=args["reason"], actor=current_principal().actor, key=key())
