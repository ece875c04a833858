"""Responses about the ledger: vouchers, applications, redemptions, entries, balances, reports.

The ledger returns plain dicts (`voucher_view`, `redemption_view`, ...); these schemas
document them and dump them, so a field the ledger adds is not published until it is
described here.
"""

from __future__ import annotations

from marshmallow import Schema, fields

from api.fields import Money, SignedMoney
from api.schemas.policy import Opt
from voucher.states import RedemptionStatus, VoucherStatus

Str = fields.String
Int = fields.Integer


def date_str(**kwargs) -> fields.String:
    return Str(metadata={"format": "date"}, **kwargs)


class TransactionOut(Schema):
    id = Str(required=True)
    date = date_str(required=True)
    kind = Str(required=True)
    amount = Money(required=True)
    role = Str(required=True)
    province = Str(required=True)
    city = Str(required=True)
    platform = Str(required=True)
    category = Str(required=True)
    counterparty = Str(required=True)


class VoucherOut(Schema):
    id = Str(required=True)
    enterprise = Str(required=True)
    policy_id = Str(required=True)
    policy_version = Str(required=True)
    kind = Str(required=True, metadata={"description": "cash, physical, data; award for a direct grant."})
    business = Str(required=True)
    year = Int(required=True)
    face = Money(required=True)
    available = Money(required=True)
    held = Money(required=True)
    issued_on = date_str(required=True)
    expires_on = Opt(date_str(required=True))
    status = Str(required=True, metadata={
        "enum": [s.value for s in VoucherStatus],
        "description": "issued: nothing redeemed; partly_redeemed: some redeemed, `available` (and `held`) left; "
                       "redeemed: nothing left, neither available nor held; expired, voided: closed, the rest "
                       "returned to the budget. A reversed redemption moves it back."})
    platform = Opt(Str(required=True))
    application_id = Opt(Str(required=True))


class RedemptionOut(Schema):
    id = Str(required=True)
    voucher_id = Str(required=True)
    enterprise = Str(required=True)
    policy_id = Str(required=True)
    party = Str(required=True)
    amount = Money(required=True)
    invoice = Str(required=True)
    status = Str(required=True, metadata={"enum": [s.value for s in RedemptionStatus]})
    proof_hash = Opt(Str(required=True))
    rating = Opt(Int(required=True))
    approved_by = Opt(Str(required=True))
    paid_by = Opt(Str(required=True))


class VoucherDetail(VoucherOut):
    redemptions = fields.List(fields.Nested(RedemptionOut), required=True)


class VouchersPage(Schema):
    items = fields.List(fields.Nested(VoucherOut), required=True)
    next = Opt(Str(required=True, metadata={"description": "Pass as ?after= for the next page; null at the end."}))


class HoldOut(Schema):
    id = Str(required=True)
    voucher_id = Str(required=True)
    party = Str(required=True)
    amount = Money(required=True)
    expires_at = Str(required=True, metadata={"format": "date-time"})
    status = Str(required=True, metadata={"enum": ["held", "released", "committed", "lapsed"]})


class ApplicationOut(Schema):
    id = Str(required=True)
    enterprise = Str(required=True)
    policy_id = Str(required=True)
    business = Str(required=True)
    status = Str(required=True, metadata={"enum": ["applied", "approved", "rejected"]})
    voucher_id = Opt(Str(required=True))
    reason = Opt(Str(required=True))


class ApprovedOut(Schema):
    application = fields.Nested(ApplicationOut, required=True)
    voucher = fields.Nested(VoucherOut, required=True)


class NotIssued(Schema):
    policy_id = Str(required=True)
    reasons = fields.List(Str(), required=True)


class PostedOut(Schema):
    transaction = fields.Nested(TransactionOut, required=True)
    vouchers = fields.List(fields.Nested(VoucherOut), required=True)
    not_issued = fields.List(fields.Nested(NotIssued), required=True)


class PostingOut(Schema):
    account = Str(required=True, metadata={"example": "voucher:V5"})
    amount = SignedMoney(required=True)


class EntryOut(Schema):
    id = Int(required=True)
    at = Str(required=True, metadata={"format": "date-time"})
    event = Str(required=True)
    actor = Str(required=True, metadata={"description": "role:subject of whoever took the step."})
    enterprise = Opt(Str(required=True))
    policy_id = Opt(Str(required=True))
    year = Opt(Int(required=True))
    voucher_id = Opt(Str(required=True))
    ref = Opt(Str(required=True))
    reverses = Opt(Int(required=True))
    hash = Str(required=True)
    memo = fields.Dict(required=True)
    postings = fields.List(fields.Nested(PostingOut), required=True)


class EntriesPage(Schema):
    items = fields.List(fields.Nested(EntryOut), required=True)
    next = Opt(Int(required=True, metadata={"description": "Pass as ?after= for the next page; null at the end."}))


class BalanceFilters(Schema):
    enterprise = Opt(Str(required=True))
    policy_id = Opt(Str(required=True))
    year = Opt(Int(required=True))


class BalancesOut(Schema):
    as_of = date_str(required=True)
    accounts = fields.Dict(keys=Str(), values=SignedMoney(), required=True)
    totals = fields.Dict(keys=Str(), values=SignedMoney(), required=True)
    filters = fields.Nested(BalanceFilters, required=True)


class ReportOut(Schema):
    policy_id = Str(required=True)
    year = Int(required=True)
    vouchers = Int(required=True)
    enterprises = Int(required=True)
    granted = SignedMoney(required=True)
    redeemed = SignedMoney(required=True)
    paid = SignedMoney(required=True)
    expired = SignedMoney(required=True)
    voided = SignedMoney(required=True)
    clawed_back = SignedMoney(required=True)
    net_granted = SignedMoney(required=True)
    pool = Opt(SignedMoney(required=True))
    pool_left = Opt(SignedMoney(required=True))


class ReversedOut(Schema):
    entry_id = Int(required=True)
    reverses = Int(required=True)
    redemption = fields.Nested(RedemptionOut, required=True)


class EnterpriseStatus(Schema):
    credit_code = Str(required=True)
    status = Str(required=True, metadata={"enum": ["active", "blacklisted"]})


class ProfileChangeOut(Schema):
    id = Str(required=True, metadata={"example": "C12"})
    enterprise = Str(required=True)
    changes = fields.Dict(required=True, metadata={"description": "The fields asked for, with their new values."})
    before = fields.Dict(required=True, metadata={"description": "The same fields as they were when submitted."})
    status = Str(required=True, metadata={
        "enum": ["pending", "applied", "approved", "rejected", "superseded"],
        "description": "pending: waits for an administrator (it changes an eligibility fact); applied: only "
                       "descriptive fields (name), in force when submitted; superseded: a later submission "
                       "replaced it."})
    submitted_by = Str(required=True)
    submitted_at = Str(required=True, metadata={"format": "date-time"})
    decided_by = Opt(Str(required=True))
    decided_at = Opt(Str(required=True, metadata={"format": "date-time"}))
    reason = Opt(Str(required=True))
    entry_id = Int(required=True, metadata={"description": "The journal entry of the submission."})
    decided_entry = Opt(Int(required=True, metadata={"description": "The journal entry of the decision."}))


class ProfileChangesOut(Schema):
    items = fields.List(fields.Nested(ProfileChangeOut), required=True)


class EnterpriseOut(EnterpriseStatus):
    profile = fields.Dict(required=True)
    pending_change = Opt(fields.Nested(ProfileChangeOut, required=True, metadata={
        "description": "The change waiting for an administrator, if any."}))


class PartyOut(Schema):
    id = Str(required=True)
    kind = Str(required=True)
    name = Str(required=True)
    status = Str(required=True, metadata={"enum": ["onboarded", "exited", "blacklisted"]})


class PartyExitOut(Schema):
    id = Str(required=True)
    status = Str(required=True)


class BlacklistOut(Schema):
    subject = Str(required=True)
    status = Str(required=True)
    reason = Str(required=True)


class SubscriptionOut(Schema):
    id = Str(required=True)
    owner = Str(required=True)
    url = Str(required=True)
    events = fields.List(Str(), required=True)
    created_at = Str(required=True, metadata={"format": "date-time"})


class SubscriptionCreated(SubscriptionOut):
    secret = Str(required=True, metadata={"description": "whsec_...: verify webhook-signature with it. Shown once."})


class DeliveryOut(Schema):
    id = Str(required=True)
    event_id = Str(required=True, metadata={"description": "The webhook-id header: de-duplicate on it."})
    event_type = Str(required=True)
    status = Str(required=True, metadata={"enum": ["pending", "delivered", "failed"]})
    attempts = Int(required=True)
    last_status = Opt(Int(required=True))
    last_error = Opt(Str(required=True))
    next_attempt_at = Opt(Str(required=True, metadata={"format": "date-time"}))
    delivered_at = Opt(Str(required=True, metadata={"format": "date-time"}))


class DeliveriesOut(Schema):
    items = fields.List(fields.Nested(DeliveryOut), required=True)


class HealthOut(Schema):
    status = Str(required=True, metadata={"enum": ["ok", "unavailable"]})
    database = Str()
    policies = Int()


class Problem(Schema):
    """RFC 9457 problem details (application/problem+json)."""

    type = Str(required=True, metadata={"example": "/problems/cap_reached"})
    title = Str(required=True)
    status = Int(required=True)
    detail = Str(required=True)
    code = Str(required=True)
    field = Str(metadata={"description": "The field (or header) to fix, dotted: transaction.amount."})
    errors = fields.List(fields.Dict(keys=Str(), values=Str()),
                         metadata={"description": "Every problem found: [{field, reason}]."})

    class Meta:
        unknown = "include"  # extension members (e.g. reason) are allowed by RFC 9457
