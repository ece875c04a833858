"""One replay handler per journal event: how each entry changes the tables derived from the journal.

Each mirrors, row for row, what the ledger's step wrote beside its entry (`parties.py`,
`quota.py`, `lifecycle.py`, `redemption.py`); a step that changes what it writes changes
its handler here, and the tests of `audit verify` over every lifecycle say when they drift.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from voucher.businesses import claim_key, normal_key, transaction_of
from voucher.enterprise import Enterprise
from voucher.kinds import FormulaKind
from voucher.replay import Entry, Replay, ReplayError, handles
from voucher.states import CLOSED, REDEMPTION_TRANSITIONS, VOUCHER_TRANSITIONS, Event, VoucherStatus


# --- handlers: parties, enterprises, parameters ------------------------------------------------


@handles(Event.ENTERPRISE_REGISTER)
def _register(r: Replay, e: Entry) -> None:
    if r.get("enterprises", e.enterprise):  # an update keeps the standing (blacklist)
        r.update("enterprises", e.enterprise, profile=e.memo, entry_id=e.id)
    else:
        r.insert("enterprises", credit_code=e.enterprise, profile=e.memo, status="active", entry_id=e.id)


@handles(Event.PARTY_ONBOARD)
def _onboard(r: Replay, e: Entry) -> None:
    r.insert("parties", id=e.ref, kind=e.memo["kind"], name=e.memo["name"], status="onboarded", entry_id=e.id)


@handles(Event.PARTY_EXIT)
def _exit(r: Replay, e: Entry) -> None:
    if r.get("parties", e.ref) is None:
        raise ReplayError(f"party {e.ref} does not exist")
    if r.get("parties", e.ref)["status"] != "blacklisted":
        r.update("parties", e.ref, status="exited", entry_id=e.id)


@handles(Event.BLACKLIST)
def _blacklist(r: Replay, e: Entry) -> None:
    found = False
    for table in ("enterprises", "parties"):
        if r.get(table, e.ref):
            r.update(table, e.ref, status="blacklisted", entry_id=e.id)
            found = True
    if not found:
        raise ReplayError(f"no enterprise or party {e.ref}")


@handles(Event.ENTERPRISE_CHANGE)
def _change(r: Replay, e: Entry) -> None:
    """Submitted: it supersedes the enterprise's pending change; a descriptive one applies at once."""
    m = e.memo
    for earlier in m.get("supersedes", []):
        r.update("enterprise_changes", earlier, status="superseded", decided_at=e.at, decided_entry=e.id)
    if m["status"] == "applied":
        _profile(r, e)
    r.insert("enterprise_changes", id=e.ref, enterprise=e.enterprise, changes=m["changes"], before=m["before"],
             status=m["status"], submitted_by=e.actor, submitted_at=e.at, entry_id=e.id)


@handles(Event.ENTERPRISE_CHANGE_APPROVE, Event.ENTERPRISE_CHANGE_REJECT)
def _decide_change(r: Replay, e: Entry) -> None:
    _open(r, "enterprise_changes", e.ref, {"pending"}, e)
    approved = e.event == Event.ENTERPRISE_CHANGE_APPROVE
    if approved:
        _profile(r, e)
    r.update("enterprise_changes", e.ref, status="approved" if approved else "rejected", decided_by=e.actor,
             decided_at=e.at, decided_entry=e.id, reason=None if approved else e.memo.get("reason"))


def _profile(r: Replay, e: Entry) -> None:
    """The profile as it is, with the entry's changes laid over it (as `ProfileChanges._store_profile`)."""
    current = _open(r, "enterprises", e.enterprise, None, e)["profile"]
    profile = Enterprise.from_dict({**current, **e.memo["changes"]}).to_dict()
    r.update("enterprises", e.enterprise, profile=profile, entry_id=e.id)


@handles(Event.PARAMETER_SET)
def _parameter(r: Replay, e: Entry) -> None:
    r.insert("parameters", policy_id=e.policy_id, name=e.memo["name"], value=e.memo["value"], entry_id=e.id)


# --- handlers: applications and issue ----------------------------------------------------------


@handles(Event.APPLY)
def _apply(r: Replay, e: Entry) -> None:
    r.insert("applications", id=f"A{e.id}", enterprise=e.enterprise, policy_id=e.policy_id, business=e.ref,
             business_key=normal_key(e.ref), tx=e.memo, status="applied", platform=e.memo.get("platform"), actor=e.actor, entry_id=e.id)


@handles(Event.APPROVE)
def _approve(r: Replay, e: Entry) -> None:
    app = _open(r, "applications", e.ref, {"applied"}, e)
    r.update("applications", e.ref, status="approved", entry_id=e.id)
    r.context["issuing"] = {"application": e.ref, "tx": app["tx"]}  # the issue entry that follows is for it


@handles(Event.REJECT)
def _reject(r: Replay, e: Entry) -> None:
    _open(r, "applications", e.ref, {"applied"}, e)
    r.update("applications", e.ref, status="rejected", reason=e.memo.get("reason"), entry_id=e.id)


@handles(Event.TRANSACTION_POST)
def _post(r: Replay, e: Entry) -> None:
    r.context["issuing"] = {"application": None, "tx": e.memo}  # the issue entries that follow are for it
    if r.get("businesses", normal_key(e.ref)) is None:  # the first posting of a business holds its key
        r.insert("businesses", key=normal_key(e.ref), id=e.ref, enterprise=e.enterprise,
                 platform=e.memo.get("platform", ""), tx=transaction_of(e.memo), entry_id=e.id)


@handles(Event.ISSUE)
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
             status=VOUCHER_TRANSITIONS[Event.ISSUE].to,
             platform=m["platform"] if "platform" in m else t.get("platform"),
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
    p = r.policy(e.policy_id)
    if p is None:
        raise ReplayError(f"policy {e.policy_id} is not in the policy table: the voucher's kind, expiry and "
                          "claims cannot be derived")
    f = p.formula
    if f.kind == FormulaKind.BY_CATEGORY:
        once = [t.get("category")] if t.get("category") in f.once else []
    elif f.kind == FormulaKind.MILESTONES:  # the milestones passed and not already paid to this enterprise
        paid = {k for v in r.rows["vouchers"].values() if v["enterprise"] == e.enterprise
                and v["policy_id"] == p.id and v["status"] != VoucherStatus.VOIDED for k in v["once_keys"]}
        once = [m.key for m in f.milestones if Decimal(t.get(f.base, "0")) > m.over and m.key not in paid]
    else:
        once = []
    scopes = p.claim_scopes()
    # Keys normalised by schema step 0003, unless that key was already claimed: the old spelling stays.
    key = claim_key(e.enterprise, e.ref, per_year=f.aggregate == "year")
    raw = f"{e.enterprise}:{e.ref}" if f.aggregate == "year" else e.ref
    claims = [[raw if r.get("claims", key, scope) else key, scope] for scope in scopes]
    expires = p.voucher.last_valid_day(date.fromisoformat(issued_on))
    return {"kind": p.voucher.grant_kind, "expires_on": expires.isoformat() if expires else None,
            "once_keys": once, "claims": claims}


@handles(Event.EXPIRE, Event.VOID)
def _close(r: Replay, e: Entry) -> None:
    v = _open(r, "vouchers", e.voucher_id, None, e)
    if v["status"] in CLOSED:
        raise ReplayError(f"voucher {e.voucher_id} is already {v['status']}")
    r.update("vouchers", e.voucher_id, status=VOUCHER_TRANSITIONS[Event(e.event)].to, entry_id=e.id)
    if e.event == Event.VOID:  # a voided voucher no longer claims its business
        for key in r.context.get("claims_of", {}).pop(e.voucher_id, []):
            r.delete("claims", key)


# --- handlers: holds and redemptions -----------------------------------------------------------


@handles(Event.HOLD)
def _hold(r: Replay, e: Entry) -> None:
    r.insert("holds", id=e.ref, voucher_id=e.voucher_id, party=e.memo["platform"], amount=e.amount("hold"),
             expires_at=e.memo["expires_at"], status="held", entry_id=e.id)


@handles(Event.HOLD_RELEASE, Event.HOLD_LAPSE)
def _end_hold(r: Replay, e: Entry) -> None:
    _open(r, "holds", e.ref, {"held"}, e)
    r.update("holds", e.ref, status="released" if e.event == Event.HOLD_RELEASE else "lapsed")


@handles(Event.REDEEM)
def _redeem(r: Replay, e: Entry) -> None:
    hold = e.memo.get("hold")
    if hold:
        _open(r, "holds", hold, {"held"}, e)
        r.update("holds", hold, status="committed")
    key = normal_key(e.memo["invoice"])
    used = r.context.setdefault("invoice_keys", set())
    amount = e.amount("receivable")
    # An invoice key is unique; rows made before keys that collide once normalised keep none (step 0003).
    r.insert("redemptions", id=e.ref, voucher_id=e.voucher_id, party=e.memo["party"], amount=amount,
             invoice=e.memo["invoice"], invoice_key=None if key in used else key,
             status=REDEMPTION_TRANSITIONS[Event.REDEEM].to, hold_id=hold,
             entry_id=e.id)
    used.add(key)
    _restatus(r, e, amount)


def _restatus(r: Replay, e: Entry, redeemed: int) -> None:
    """A live voucher's status after `redeemed` more fen were redeemed (less, if negative): `spend_status`."""
    from voucher.redemption import spend_status

    totals = r.context.setdefault("redeemed", {})
    totals[e.voucher_id] = totals.get(e.voucher_id, 0) + redeemed
    v = _open(r, "vouchers", e.voucher_id, None, e)
    if v["status"] in CLOSED:
        return
    accounts = (f"voucher:{e.voucher_id}", f"hold:{e.voucher_id}")
    left = sum(r.balances.get(a, 0) for a in accounts) + sum(leg.amount for leg in e.legs if leg.account in accounts)
    v["status"] = spend_status(totals[e.voucher_id], left)


_COLUMNS: dict[Event, Callable[[Entry], dict]] = {
    Event.PROOF: lambda e: {"proof_hash": e.memo.get("file_hash")},
    Event.CONFIRM: lambda e: {"rating": e.memo.get("rating")},
    Event.SETTLE_APPROVE: lambda e: {"approved_by": e.actor},
    Event.PAY: lambda e: {"paid_by": e.actor},
}
REDEMPTION_STEPS: dict[str, tuple[frozenset[str], str, Callable[[Entry], dict]]] = {
    event: (t.needs, t.to, _COLUMNS.get(event, lambda e: {}))
    for event, t in REDEMPTION_TRANSITIONS.items() if t.needs  # `redeem` makes the row (`_redeem`)
}
"""event → (the statuses it may follow, the status it sets, the other columns it sets), from
`states.REDEMPTION_TRANSITIONS`. A settlement request is replayed after `redeemed` or `confirmed`
whatever the policy's settlement rule; the ledger's step narrows it (`states.settlement_needs`)."""


@handles(*REDEMPTION_STEPS)
def _redemption_step(r: Replay, e: Entry) -> None:
    follows, status, columns = REDEMPTION_STEPS[e.event]
    row = _open(r, "redemptions", e.ref, follows, e)
    r.update("redemptions", e.ref, status=status, entry_id=e.id, **columns(e))
    if e.event == Event.REVERSE:  # the value is back: the voucher's status follows (`Redemptions.reverse`)
        _restatus(r, e, -row["amount"])


def _open(r: Replay, table: str, key: str | None, follows: set[str] | None, e: Entry) -> dict:
    """The expected row, which must exist and (if `follows` is given) be in one of those states."""
    row = r.get(table, key)
    if row is None:
        raise ReplayError(f"{table} {key} does not exist")
    if follows is not None and row["status"] not in follows:
        raise ReplayError(f"{e.event} on {table} {key}, which the journal shows {row['status']} "
                          f"(it needs {' or '.join(sorted(follows))})")
    return row
