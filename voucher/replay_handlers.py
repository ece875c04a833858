"""One replay handler per journal event: how each entry changes the tables derived from the journal.

Each mirrors, row for row, what the ledger's step wrote beside its entry (`parties.py`,
`quota.py`, `lifecycle.py`, `redemption.py`); a step that changes what it writes changes
its handler here, and the tests of `audit verify` over every lifecycle say when they drift.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from voucher.replay import Entry, Replay, ReplayError, handles


# --- handlers: parties, enterprises, parameters ------------------------------------------------


@handles("enterprise.register")
def _register(r: Replay, e: Entry) -> None:
    if r.get("enterprises", e.enterprise):  # an update keeps the standing (blacklist)
        r.update("enterprises", e.enterprise, profile=e.memo, entry_id=e.id)
    else:
        r.insert("enterprises", credit_code=e.enterprise, profile=e.memo, status="active", entry_id=e.id)


@handles("party.onboard")
def _onboard(r: Replay, e: Entry) -> None:
    r.insert("parties", id=e.ref, kind=e.memo["kind"], name=e.memo["name"], status="onboarded", entry_id=e.id)


@handles("party.exit")
def _exit(r: Replay, e: Entry) -> None:
    if r.get("parties", e.ref) is None:
        raise ReplayError(f"party {e.ref} does not exist")
    if r.get("parties", e.ref)["status"] != "blacklisted":
        r.update("parties", e.ref, status="exited", entry_id=e.id)


@handles("blacklist")
def _blacklist(r: Replay, e: Entry) -> None:
    found = False
    for table in ("enterprises", "parties"):
        if r.get(table, e.ref):
            r.update(table, e.ref, status="blacklisted", entry_id=e.id)
            found = True
    if not found:
        raise ReplayError(f"no enterprise or party {e.ref}")


@handles("parameter.set")
def _parameter(r: Replay, e: Entry) -> None:
    r.insert("parameters", policy_id=e.policy_id, name=e.memo["name"], value=e.memo["value"], entry_id=e.id)


# --- handlers: applications and issue ----------------------------------------------------------


@handles("apply")
def _apply(r: Replay, e: Entry) -> None:
    r.insert("applications", id=f"A{e.id}", enterprise=e.enterprise, policy_id=e.policy_id, business=e.ref,
             tx=e.memo, status="applied", platform=e.memo.get("platform"), actor=e.actor, entry_id=e.id)


@handles("approve")
def _approve(r: Replay, e: Entry) -> None:
    app = _open(r, "applications", e.ref, {"applied"}, e)
    r.update("applications", e.ref, status="approved", entry_id=e.id)
    r.context["issuing"] = {"application": e.ref, "tx": app["tx"]}  # the issue entry that follows is for it


@handles("reject")
def _reject(r: Replay, e: Entry) -> None:
    _open(r, "applications", e.ref, {"applied"}, e)
    r.update("applications", e.ref, status="rejected", reason=e.memo.get("reason"), entry_id=e.id)


@handles("transaction.post")
def _post(r: Replay, e: Entry) -> None:
    r.context["issuing"] = {"application": None, "tx": e.memo}  # the issue entries that follow are for it


@handles("issue")
def _issue(r: Replay, e: Entry) -> None:
    """New issue entries carry every column of the voucher; older ones are completed from the entry
    that came before in the same step (the posted business or the approved application) and the policy."""
    m, issuing = e.memo, r.context.get("issuing") or {}
    t = issuing.get("tx") or {}
    issued_on = m.get("issued_on", e.day)
    old = {} if "claims" in m else _from_policy(r, e, t, issued_on)
    application = m["application_id"] if "application_id" in m else issuing.get("application")
    r.insert("vouchers", id=e.voucher_id, enterprise=e.enterprise, policy_id=e.policy_id,
             policy_version=m.get("policy_version"), kind=m.get("kind", old.get("kind")), business=e.ref,
             year=e.year, face=e.amount("voucher"), issued_on=issued_on,
             expires_on=m["expires_on"] if "expires_on" in m else old.get("expires_on"),
             status="issued", platform=m["platform"] if "platform" in m else t.get("platform"),
             once_keys=list(m.get("once_keys", old.get("once_keys", []))), application_id=application, entry_id=e.id)
    for business, scope in m.get("claims", old.get("claims", [])):
        if r.get("claims", business, scope):
            raise ReplayError(f"business {business} is already claimed ({scope})")
        r.insert("claims", business=business, scope=scope, voucher_id=e.voucher_id, policy_id=e.policy_id)
        r.context.setdefault("claims_of", {}).setdefault(e.voucher_id, []).append((business, scope))
    if application:
        r.update("applications", application, voucher_id=e.voucher_id)


def _from_policy(r: Replay, e: Entry, t: dict, issued_on: str) -> dict:
    """What an issue entry written before its memo carried them implies: kind, expiry, once keys and claims."""
    from voucher.calculator import expiry_date

    p = r.policy(e.policy_id)
    if p is None:
        raise ReplayError(f"policy {e.policy_id} is not in the policy table: the voucher's kind, expiry and "
                          "claims cannot be derived")
    months = p.voucher.validity_months
    f = p.formula
    if f.kind == "by_category":
        once = [t.get("category")] if t.get("category") in f.once else []
    elif f.kind == "milestones":  # the milestones passed and not already paid to this enterprise
        paid = {k for v in r.rows["vouchers"].values() if v["enterprise"] == e.enterprise
                and v["policy_id"] == p.id and v["status"] != "voided" for k in v["once_keys"]}
        once = [m.key for m in f.milestones if Decimal(t.get("amount", "0")) > m.over and m.key not in paid]
    else:
        once = []
    business = f"{e.enterprise}:{e.ref}" if f.aggregate == "year" else e.ref
    scopes = [f"group:{p.stacking.group}"] + ([f"excl:{p.voucher.exclusive_group}"] if p.voucher.exclusive_group else [])
    return {"kind": p.voucher.kind if p.voucher.issues_voucher else "award",
            "expires_on": expiry_date(date.fromisoformat(issued_on), months).isoformat() if months else None,
            "once_keys": once, "claims": [[business, scope] for scope in scopes]}


@handles("expire", "void")
def _close(r: Replay, e: Entry) -> None:
    v = _open(r, "vouchers", e.voucher_id, None, e)
    if v["status"] in ("expired", "voided"):
        raise ReplayError(f"voucher {e.voucher_id} is already {v['status']}")
    r.update("vouchers", e.voucher_id, status="expired" if e.event == "expire" else "voided", entry_id=e.id)
    if e.event == "void":  # a voided voucher no longer claims its business
        for key in r.context.get("claims_of", {}).pop(e.voucher_id, []):
            r.delete("claims", key)


# --- handlers: holds and redemptions -----------------------------------------------------------


@handles("hold")
def _hold(r: Replay, e: Entry) -> None:
    r.insert("holds", id=e.ref, voucher_id=e.voucher_id, party=e.memo["platform"], amount=e.amount("hold"),
             expires_at=e.memo["expires_at"], status="held", entry_id=e.id)


@handles("hold.release", "hold.lapse")
def _end_hold(r: Replay, e: Entry) -> None:
    _open(r, "holds", e.ref, {"held"}, e)
    r.update("holds", e.ref, status="released" if e.event == "hold.release" else "lapsed")


@handles("redeem")
def _redeem(r: Replay, e: Entry) -> None:
    hold = e.memo.get("hold")
    if hold:
        _open(r, "holds", hold, {"held"}, e)
        r.update("holds", hold, status="committed")
    r.insert("redemptions", id=e.ref, voucher_id=e.voucher_id, party=e.memo["party"], amount=e.amount("receivable"),
             invoice=e.memo["invoice"], status="redeemed", hold_id=hold, entry_id=e.id)
    r.update("vouchers", e.voucher_id, status="redeemed")


REDEMPTION_STEPS: dict[str, tuple[set[str] | None, str, Callable[[Entry], dict]]] = {
    "proof": ({"redeemed"}, "proof_uploaded", lambda e: {"proof_hash": e.memo.get("file_hash")}),
    "confirm": ({"proof_uploaded"}, "confirmed", lambda e: {"rating": e.memo.get("rating")}),
    "settle.request": ({"redeemed", "confirmed"}, "settlement_requested", lambda e: {}),
    "settle.approve": ({"settlement_requested"}, "approved", lambda e: {"approved_by": e.actor}),
    "pay": ({"approved"}, "paid", lambda e: {"paid_by": e.actor}),
    "clawback": ({"redeemed", "proof_uploaded", "confirmed", "settlement_requested", "approved", "paid"},
                 "clawed_back", lambda e: {}),
    "reverse": ({"redeemed", "proof_uploaded", "confirmed"}, "reversed", lambda e: {}),
}
"""event → (the statuses it may follow, the status it sets, the other columns it sets)."""


@handles(*REDEMPTION_STEPS)
def _redemption_step(r: Replay, e: Entry) -> None:
    follows, status, columns = REDEMPTION_STEPS[e.event]
    _open(r, "redemptions", e.ref, follows, e)
    r.update("redemptions", e.ref, status=status, entry_id=e.id, **columns(e))


def _open(r: Replay, table: str, key: str | None, follows: set[str] | None, e: Entry) -> dict:
    """The expected row, which must exist and (if `follows` is given) be in one of those states."""
    row = r.get(table, key)
    if row is None:
        raise ReplayError(f"{table} {key} does not exist")
    if follows is not None and row["status"] not in follows:
        raise ReplayError(f"{e.event} on {table} {key}, which the journal shows {row['status']} "
                          f"(it needs {' or '.join(sorted(follows))})")
    return row
