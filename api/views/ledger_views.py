"""Reading the ledger: entries with cursors, balances, yearly reports, CSV export; and reversal (audit: `audit.py`).

An enterprise reads its own entries and balances (the filter is forced to it; asking
for another's is 403). Reports, the audit and the export are for administrators. A
scoped administrator's entries, balances and export hold only its policies' entries and
postings, its reports are its policies', and the whole-ledger audit is not for it.
"""

from __future__ import annotations

import io

from flask import Response

from api.services import ledger, policy_table
from api.auth import current_principal, in_scope_record, own_enterprise, policy_in_scope, requires, scope_ids
from api.idempotency import idempotent, key
from api.schemas.ledger import BalancesOut, EntriesPage, ReportOut, ReversedOut
from api.schemas.requests import BalancesQuery, EntriesQuery, ReasonIn
from api.views import Blueprint

blp = Blueprint("ledger", __name__, url_prefix="/v1", description="Entries, balances, reports, audit, export.")
MAX_ID = 2**62


@blp.route("/ledger/entries")
@requires("enterprise", "admin")
@blp.arguments(EntriesQuery(), location="query")
@blp.response(200, EntriesPage)
def entries(args: dict):
    """Journal entries in order, each with its postings and hash; pass `next` as `after` for the next page."""
    args["enterprise"] = own_enterprise(args.get("enterprise"))
    policy_in_scope(args.get("policy_id"))
    filters = {k: v for k, v in args.items() if v is not None and k not in ("after", "limit")}
    return ledger().entries(after=args["after"], limit=args["limit"], policy_ids=scope_ids(), **filters)


@blp.route("/ledger/balances")
@requires("enterprise", "admin")
@blp.arguments(BalancesQuery(), location="query")
@blp.response(200, BalancesOut)
def balances(args: dict):
    """Every account the filters touch, with its balance at the end of day `on` (default today)."""
    args["enterprise"] = own_enterprise(args.get("enterprise"))
    policy_in_scope(args.get("policy_id"))
    return ledger().balances(**args, policy_ids=scope_ids())


@blp.route("/reports/<id:policy_id>/<int(min=1900, max=2200):year>")
@requires("admin")
@blp.response(200, ReportOut)
def yearly_report(policy_id: str, year: int):
    """A policy's year: granted, redeemed, paid, expired, voided, clawed back, and what is left of a pool."""
    policy_table().get(policy_id)  # 404 for an unknown policy
    policy_in_scope(policy_id)
    return ledger().yearly_report(policy_id, year)


@blp.route("/ledger/export.csv")
@requires("admin")
@blp.response(200, content_type="text/csv", description="One row per posting, in ledger order.")
def export_csv():
    """The whole ledger as CSV: one row per posting (and one per entry that moves no money).

    A scoped administrator gets the entries of its policies only.
    """
    out = io.StringIO()
    ledger().export_csv(out, policy_ids=scope_ids())
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="ledger.csv"'})


@blp.route(f"/entries/<int(max={MAX_ID}):entry_id>/reverse", methods=["POST"])
@requires("admin")
@idempotent(required=True)
@blp.arguments(ReasonIn())
@blp.response(200, ReversedOut)
def reverse(args: dict, entry_id: int):
    """Correct a redemption made in error, before settlement is asked: a reversing entry that names it."""
    in_scope_record("entry", entry_id, lambda: ledger().entry_policy(entry_id))
    return ledger().reverse(entry_id, reason=args["reason"], actor=current_principal().actor, key=key())
