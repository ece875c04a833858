"""Request bodies and query strings. Each loads into what the library takes.

Unknown fields are refused (marshmallow's RAISE, which the OpenAPI document shows as
`additionalProperties: false`), so a misspelt field is an error rather than a silent
default. Where the library already validates a record (`transaction_from_dict`,
`Enterprise.from_dict`, `History.from_dict`), the schema hands its output to that same
function, so the HTTP and the CLI paths cannot drift apart.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from api.fields import Bool, ChinaDate, CreditCode, Id, Int, Money, PartyId, Rate, Text
from voucher.webhooks import EVENT_TYPES
from voucher.enterprise import ROLES, Enterprise
from voucher.errors import InputError
from voucher.history import History
from voucher.money import plain
from voucher.states import VoucherStatus
from voucher.transactions import KINDS, transaction_from_dict

MAX_TRANSACTIONS = 10_000
"""Per estimate request; a larger book goes through the CLI, which streams."""

YEAR = validate.Range(1900, 2200)
NAME = validate.Length(1, 200)
SHORT = validate.Length(max=200)
ID = validate.Length(1, 100)


def _raise_at(exc: InputError, prefix: str) -> None:
    """Turn the library's InputError into a marshmallow error at the same field."""
    field = exc.field.split(".", 1)[1] if exc.field.startswith(prefix + ".") else exc.field
    raise ValidationError(exc.problem, field_name=field) from None


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("must not be blank")


class TransactionIn(Schema):
    """One business: a contract, a purchase or an award event."""

    id = Id(required=True, max_length=200, metadata={"description": "The business key; one claim per id."})
    date = ChinaDate(required=True)
    kind = Text(required=True, validate=validate.OneOf(sorted(KINDS)))
    amount = Money(required=True)
    role = Text(validate=validate.OneOf(sorted(ROLES)), metadata={"description": "Default demand."})
    province = Text(validate=SHORT)
    city = Text(validate=SHORT)
    platform = Text(validate=SHORT)
    category = Text(validate=SHORT)
    counterparty = Text(validate=SHORT)

    @post_load
    def build(self, data: dict, **kwargs):
        raw = dict(data, date=data["date"].isoformat(), amount=plain(data["amount"]))
        try:
            return transaction_from_dict(raw, "transaction")
        except InputError as exc:
            _raise_at(exc, "transaction")


class ProfileFields(Schema):
    """The fields of an enterprise's profile, save its credit code."""

    name = Text(validate=SHORT)
    province = Text(validate=SHORT)
    city = Text(validate=SHORT)
    registered_province = Text(validate=SHORT)
    local_tax = Bool()
    roles = fields.List(Text(validate=validate.OneOf(sorted(ROLES))), validate=validate.Length(max=20))
    sme = Bool()
    legal_person = Bool()
    operating = Bool()
    data_assets_booked = Bool()
    exchange_certified = Bool()
    recognitions = fields.List(Text(validate=ID), validate=validate.Length(max=50))


class EnterpriseIn(ProfileFields):
    """What eligibility needs to know about an enterprise (its profile)."""

    credit_code = CreditCode(required=True)

    @post_load
    def build(self, data: dict, **kwargs) -> Enterprise:
        try:
            return Enterprise.from_dict(data)
        except InputError as exc:
            _raise_at(exc, "enterprise")


class ProfileChangeIn(Schema):
    """An enterprise asks to change fields of its profile; facts wait for an administrator's approval."""

    enterprise = CreditCode(metadata={"description": "Defaults to the calling enterprise."})
    changes = fields.Nested(ProfileFields, required=True, metadata={
        "description": "Only the fields to change. `name` takes effect at once; any other field is an "
                       "eligibility fact and takes effect when an administrator approves."})


class ProfileChangesQuery(Schema):
    enterprise = CreditCode()
    status = fields.String(validate=validate.OneOf(["pending", "applied", "approved", "rejected", "superseded"]))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


class GrantedIn(Schema):
    policy_id = Id(required=True)
    year = Int(required=True, validate=YEAR)
    amount = Money(required=True)
    business = Text(validate=NAME)
    group = Text(validate=ID)
    once = fields.List(Text(validate=ID), validate=validate.Length(max=50))


class PoolUsedIn(Schema):
    policy_id = Id(required=True)
    year = Int(required=True, validate=YEAR)
    amount = Money(required=True)
    awards = Int(validate=validate.Range(0, 1_000_000))


class HistoryIn(Schema):
    """What was granted before, when the ledger does not hold it (a what-if)."""

    granted = fields.List(fields.Nested(GrantedIn), validate=validate.Length(max=MAX_TRANSACTIONS))
    pool_used = fields.List(fields.Nested(PoolUsedIn), validate=validate.Length(max=1000))

    @post_load
    def build(self, data: dict, **kwargs) -> History:
        raw = {name: [dict(row, amount=plain(row["amount"])) for row in data.get(name, [])]
               for name in ("granted", "pool_used")}
        try:
            return History.from_dict(raw)
        except InputError as exc:
            _raise_at(exc, "history")


class ParameterValuesIn(Schema):
    rate = Rate()
    amount = Money()


def Parameters(**kwargs) -> fields.Dict:  # noqa: N802 (a field factory, named like a field)
    return fields.Dict(keys=Text(validate=ID), values=fields.Nested(ParameterValuesIn), metadata={
        "description": "Values an administrator sets where the source gives none: "
                       '{"hangzhou-compute-voucher": {"rate": "0.2"}}'}, **kwargs)


class EstimateIn(Schema):
    """A what-if: a profile and transactions; or a registered enterprise, counting its ledger history."""

    profile = fields.Nested(EnterpriseIn, metadata={"description": "A what-if profile (not stored)."})
    enterprise = CreditCode(metadata={"description": "A registered enterprise: its profile and what the "
                                                     "ledger has granted it count."})
    transactions = fields.List(fields.Nested(TransactionIn), required=True,
                               validate=validate.Length(max=MAX_TRANSACTIONS))
    history = fields.Nested(HistoryIn)
    parameters = Parameters()
    include_drafts = Bool(load_default=False)
    grants = Bool(load_default=True, metadata={"description": "Include every grant with its explanation."})

    @validates_schema
    def one_subject(self, data: dict, **kwargs) -> None:
        if ("profile" in data) == ("enterprise" in data):
            raise ValidationError("give either profile (a what-if) or enterprise (a registered one), not both",
                                  field_name="profile")
        if "enterprise" in data and "history" in data:
            raise ValidationError("the ledger supplies the history of a registered enterprise", field_name="history")


class PostTransactionIn(Schema):
    enterprise = CreditCode(required=True)
    transaction = fields.Nested(TransactionIn, required=True)


class ApplicationIn(Schema):
    enterprise = CreditCode(metadata={"description": "Defaults to the calling enterprise."})
    policy_id = Id(required=True)
    transaction = fields.Nested(TransactionIn, required=True)


class ApproveIn(Schema):
    parameters = Parameters()


class ParameterIn(Schema):
    name = fields.String(required=True, validate=validate.OneOf(["rate", "amount"]))
    value = fields.String(required=True, validate=validate.Length(1, 40),
                          metadata={"description": "A decimal string: a rate (0.2) or an amount in yuan (1000.00)."})


class ReasonIn(Schema):
    reason = Text(required=True, validate=[validate.Length(1, 500), _not_blank])


class RedeemIn(Schema):
    enterprise = CreditCode(metadata={"description": "The holder; defaults to the calling enterprise."})
    amount = Money(required=True, positive=True)
    invoice = Id(required=True)
    party = PartyId(metadata={"description": "Who is paid; a platform redeems for itself."})


class HoldIn(Schema):
    enterprise = CreditCode(required=True)
    amount = Money(required=True, positive=True)
    ttl_seconds = Int(load_default=900, validate=validate.Range(1, 86400))


class CommitIn(Schema):
    invoice = Id(required=True)


class ProofIn(Schema):
    file_hash = Text(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"),
                     metadata={"description": "SHA-256 of the proof file, 64 lowercase hex digits."})


class ConfirmIn(Schema):
    rating = Int(required=True, validate=validate.Range(1, 5))


class PartyIn(Schema):
    id = PartyId(required=True)
    kind = Text(required=True, validate=validate.OneOf(["provider", "platform"]))
    name = Text(required=True, validate=NAME)


class PartyExitIn(ReasonIn):
    forced = Bool(load_default=False)


class BlacklistIn(ReasonIn):
    subject = Id(required=True, metadata={"description": "A credit code or a party id."})


class SubscriptionIn(Schema):
    url = Text(required=True, validate=[validate.Length(1, 2000),
                                        validate.URL(schemes={"http", "https"}, require_tld=False)])
    events = fields.List(Text(validate=validate.OneOf(EVENT_TYPES)), required=True,
                         validate=validate.Length(1, len(EVENT_TYPES)))


# --- query strings ------------------------------------------------------------------------

class PoliciesQuery(Schema):
    on = ChinaDate(metadata={"description": "Only policies in force on this date."})
    status = fields.String(validate=validate.OneOf(["in_force", "draft"]))
    kind = fields.String(validate=validate.OneOf(sorted(KINDS)))


class PolicyQuery(Schema):
    on = ChinaDate(metadata={"description": "Say whether it is in force on this date."})


class EntriesQuery(Schema):
    enterprise = CreditCode()
    policy_id = Id()
    year = fields.Integer(validate=YEAR)
    voucher_id = Id()
    event = Text(validate=ID)
    after = fields.Integer(load_default=0, validate=validate.Range(0, 2**62),
                           metadata={"description": "Cursor: the `next` of the previous page."})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


class VouchersQuery(Schema):
    enterprise = CreditCode()
    policy_id = Id()
    status = fields.String(validate=validate.OneOf([s.value for s in VoucherStatus]))
    after = Text(validate=ID, metadata={"description": "Cursor: the `next` of the previous page."})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


class BalancesQuery(Schema):
    enterprise = CreditCode()
    policy_id = Id()
    year = fields.Integer(validate=YEAR)
    on = ChinaDate()


class DeliveriesQuery(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))
