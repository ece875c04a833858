"""The closed sets of the ledger, in one place: voucher and redemption statuses, journal events, transitions.

Each set is an `enum.StrEnum`, so a member is the very string the database, the journal and
the JSON hold (`VoucherStatus.ISSUED == "issued"`). The transition tables say which event
moves a row from which statuses to which: the ledger's steps (`lifecycle.py`,
`redemption.py`), the audit's replay (`replay_handlers.py`) and the README's tables (checked
by `tests/test_states.py`) all read them, so none can drift from the others.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class VoucherStatus(StrEnum):
    ISSUED = "issued"
    PARTLY_REDEEMED = "partly_redeemed"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    VOIDED = "voided"


class RedemptionStatus(StrEnum):
    REDEEMED = "redeemed"
    PROOF_UPLOADED = "proof_uploaded"
    CONFIRMED = "confirmed"
    SETTLEMENT_REQUESTED = "settlement_requested"
    APPROVED = "approved"
    PAID = "paid"
    CLAWED_BACK = "clawed_back"
    REVERSED = "reversed"


class Event(StrEnum):
    """The name of every kind of journal entry (`entries.event`)."""

    ENTERPRISE_REGISTER = "enterprise.register"
    ENTERPRISE_CHANGE = "enterprise.change"
    ENTERPRISE_CHANGE_APPROVE = "enterprise.change.approve"
    ENTERPRISE_CHANGE_REJECT = "enterprise.change.reject"
    PARTY_ONBOARD = "party.onboard"
    PARTY_EXIT = "party.exit"
    BLACKLIST = "blacklist"
    PARAMETER_SET = "parameter.set"
    APPLY = "apply"
    APPROVE = "approve"
    REJECT = "reject"
    TRANSACTION_POST = "transaction.post"
    ISSUE = "issue"
    EXPIRE = "expire"
    VOID = "void"
    HOLD = "hold"
    HOLD_RELEASE = "hold.release"
    HOLD_LAPSE = "hold.lapse"
    REDEEM = "redeem"
    PROOF = "proof"
    CONFIRM = "confirm"
    SETTLE_REQUEST = "settle.request"
    SETTLE_APPROVE = "settle.approve"
    PAY = "pay"
    CLAWBACK = "clawback"
    REVERSE = "reverse"


V, R = VoucherStatus, RedemptionStatus

LIVE = frozenset({V.ISSUED, V.PARTLY_REDEEMED, V.REDEEMED})
"""A voucher that may still change: spending moves it among these (`redemption.spend_status`)."""
CLOSED = frozenset({V.EXPIRED, V.VOIDED})
"""Final: nothing moves a voucher out of these."""


class Transition(NamedTuple):
    """An event may follow a row in one of `needs` (empty: it makes the row) and leaves it in `to`."""

    needs: frozenset[str]
    to: str


VOUCHER_TRANSITIONS: dict[Event, Transition] = {
    Event.ISSUE: Transition(frozenset(), V.ISSUED),
    Event.EXPIRE: Transition(LIVE, V.EXPIRED),
    Event.VOID: Transition(LIVE, V.VOIDED),
}
"""The events that set a voucher's status outright. Spending (redeem, reverse, a hold and its end) moves
a live voucher among `LIVE` by what is redeemed and what is left (`redemption.spend_status`)."""

REDEMPTION_TRANSITIONS: dict[Event, Transition] = {
    Event.REDEEM: Transition(frozenset(), R.REDEEMED),
    Event.PROOF: Transition(frozenset({R.REDEEMED}), R.PROOF_UPLOADED),
    Event.CONFIRM: Transition(frozenset({R.PROOF_UPLOADED}), R.CONFIRMED),
    Event.SETTLE_REQUEST: Transition(frozenset({R.REDEEMED, R.CONFIRMED}), R.SETTLEMENT_REQUESTED),
    Event.SETTLE_APPROVE: Transition(frozenset({R.SETTLEMENT_REQUESTED}), R.APPROVED),
    Event.PAY: Transition(frozenset({R.APPROVED}), R.PAID),
    Event.CLAWBACK: Transition(frozenset(set(R) - {R.CLAWED_BACK, R.REVERSED}), R.CLAWED_BACK),
    Event.REVERSE: Transition(frozenset({R.REDEEMED, R.PROOF_UPLOADED, R.CONFIRMED}), R.REVERSED),
}
"""Every event that moves a redemption, with the statuses it may follow. One narrowing is the policy's:
where its settlement is `proof_confirm_settle` (Jinan), a settlement request follows confirmation only
(`settlement_needs`)."""

PROOF_FIRST = "proof_confirm_settle"


def settlement_needs(settlement: str) -> frozenset[str]:
    """The statuses a settlement request may follow under a policy's `voucher.settlement`."""
    if settlement == PROOF_FIRST:
        return frozenset({R.CONFIRMED})
    return REDEMPTION_TRANSITIONS[Event.SETTLE_REQUEST].needs


def transition_table(transitions: dict[Event, Transition]) -> str:
    """The table as the README shows it: one Markdown row per event, statuses in their declared order."""
    statuses = type(next(iter(transitions.values())).to)
    order = {s: i for i, s in enumerate(statuses)}

    def states(names: frozenset[str]) -> str:
        return ", ".join(f"`{s}`" for s in sorted(names, key=order.__getitem__)) if names else "(new)"

    rows = [f"| `{event}` | {states(t.needs)} | `{t.to}` |" for event, t in transitions.items()]
    return "\n".join(["| event | from | to |", "|---|---|---|", *rows])
