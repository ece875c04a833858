"""Estimates: what the policies would grant, computed by the same calculator the ledger issues with.

The response is the calculator's own `Estimate.to_dict()`, sent without a second pass
through marshmallow: for a typical request that pass cost as much as the estimate
itself. `EstimateOut` still documents it, and tests/test_api_docs.py holds the two
together (dumping through the schema must change nothing).

A what-if names a `profile` (and, if it likes, a `history` of earlier grants): nothing is
read or written. Naming a registered `enterprise` instead takes its profile and what the
ledger has granted it (and, for shared pools, everyone) so caps count them; only the
enterprise itself and administrators may ask that, since it reveals the ledger.

An estimate is a read: it never takes the write lock and keeps nothing. What it needs from
the ledger is read in one short read transaction (a snapshot); the calculation runs after
it, holding no transaction, so a long estimate never holds up a posting. An Idempotency-Key
header is accepted and ignored: a retry simply computes again.
"""

from __future__ import annotations

import json

from flask import current_app

from api.services import ledger, parameters, policy_table
from api.auth import current_principal, own_enterprise, requires, scope_ids
from api.idempotency import ignored
from api.schemas.policy import EstimateOut
from api.schemas.requests import EstimateIn
from api.views import Blueprint
from voucher.calculator import estimate as run_estimate
from voucher.enterprise import Enterprise
from voucher.errors import Forbidden, NotFound

blp = Blueprint("estimates", __name__, url_prefix="/v1/estimates", description="Stateless what-if estimates.")


def checked_parameters(values: dict | None) -> dict | None:
    """Parameters name real policies and values their sources leave open, as the CLI's --param must:
    a typo would otherwise be silently ignored."""
    table = policy_table()
    for policy_id, names in (values or {}).items():
        for name, value in names.items():
            table.parameter(policy_id, name, value, f"parameters.{policy_id}.{name}")
    return values


def registered(db, code: str) -> Enterprise:
    row = db.one("SELECT profile FROM enterprises WHERE credit_code = ?", (code,))
    if not row:
        raise NotFound(f"enterprise {code} is not registered", field="enterprise")
    return Enterprise.from_dict(json.loads(row["profile"]))


def ledger_history(book, db, code: str, years: set[int]):
    """The enterprise's own grants, and the shared pools in every year the transactions fall in."""
    return book.quota_used(db, code, list(policy_table()), years=sorted(years))


@blp.route("", methods=["POST"])
@requires("enterprise", "platform", "provider", "admin")
@ignored
@blp.arguments(EstimateIn())
@blp.response(200, EstimateOut)
def estimate(args: dict):
    """Estimate what an enterprise's transactions earn under every policy, with the reasons for each refusal."""
    code = args.get("enterprise")
    if code is not None:
        if current_principal().role in ("platform", "provider"):
            raise Forbidden("only the enterprise itself or an administrator may estimate against its ledger",
                            field="enterprise")
        if scope_ids() is not None:  # the history read spans every programme, and the answer shows it
            raise Forbidden("an estimate against the ledger reads every programme's grants: it is for an "
                            "administrator without a scope; send a what-if profile instead", field="enterprise")
        own_enterprise(code)
    params = checked_parameters(args.get("parameters"))
    book = ledger()

    if code is None:
        profile, history, values = args["profile"], args.get("history"), parameters(params)
    else:  # one short snapshot of what the caps count; the calculation below holds no transaction
        with book.store.read() as db:
            profile = registered(db, code)
            history = ledger_history(book, db, code, {t.year for t in args["transactions"]})
            values = book.parameters(db, params)
    result = run_estimate(policy_table(), profile, args["transactions"], history=history, parameters=values,
                          include_drafts=args["include_drafts"], keep_grants=args["grants"])
    data = result.to_dict(grants=args["grants"])
    data.update(enterprise=profile.credit_code, as_of=book.today().isoformat(), from_ledger=code is not None)
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return current_app.response_class(body, mimetype="application/json")
