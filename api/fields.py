"""Fields for the wire: money as decimal strings, dates, ids, credit codes, party ids, rates.

marshmallow's own `Decimal` field accepts a JSON float and converts it, and by then
1234.57 may already be 1234.5699999999999; its `Date` takes 20260302 (Python 3.11's
`fromisoformat` does). So every value here is read by the library's own parser
(`voucher.money`, `voucher.transactions`), the one the CLI and the CSV reader use, and
refused in its words. The pattern in each field's metadata goes into the OpenAPI
document, so clients and the fuzzer see the same rule.
"""

from __future__ import annotations

import re
from decimal import Decimal

from marshmallow import ValidationError, fields

from voucher.enterprise import validate_credit_code
from voucher.errors import InputError
from voucher.money import parse_money, parse_rate, plain
from voucher.transactions import parse_china_date, parse_id

MONEY_PATTERN = r"^(0|[1-9][0-9]{0,15})(\.[0-9]{1,2})?$"
SIGNED_MONEY_PATTERN = r"^-?(0|[1-9][0-9]{0,15})\.[0-9]{2}$"
RATE_PATTERN = r"^(0(\.[0-9]{1,10})?|1(\.0{1,10})?)$"
CREDIT_CODE_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
PARTY_PATTERN = r"^[^\s:]{1,100}$"


def _parsed(parse, value, *args, **kwargs):
    """The library parser's value, or its problem as marshmallow's error at this field."""
    try:
        return parse(value, *args, **kwargs)
    except InputError as exc:
        raise ValidationError(exc.problem) from None


def _with(defaults: dict, kwargs: dict) -> dict:
    """Field kwargs with OpenAPI metadata defaults, which the caller's metadata overrides."""
    return {**kwargs, "metadata": {**defaults, **kwargs.get("metadata", {})}}


class Money(fields.Field):
    """Yuan, as a string with at most two decimals ("1234.56"); loads to an exact Decimal."""

    def __init__(self, *, positive: bool = False, **kwargs) -> None:
        super().__init__(**_with({"pattern": MONEY_PATTERN, "example": "1234.56",
                                  "description": "Yuan (CNY) as a decimal string, at most two decimals."}, kwargs))
        self.positive = positive

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        return _parsed(parse_money, value, attr or "amount", positive=self.positive)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return plain(value) if isinstance(value, Decimal) else str(value)


class SignedMoney(Money):
    """An account balance: budgets run negative as they grant. Output only."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**_with({"pattern": SIGNED_MONEY_PATTERN, "example": "-30000.00", "description":
                                  "Yuan as a decimal string with two decimals; negative for budget accounts."}, kwargs))


class Rate(fields.Field):
    """A rate from 0 to 1 as a string ("0.03" is 3%)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**_with({"pattern": RATE_PATTERN, "example": "0.2",
                                  "description": "A rate from 0 to 1 as a decimal string (3% is 0.03)."}, kwargs))

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        return _parsed(parse_rate, value, attr or "rate")

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


class Text(fields.String):
    """A string the databases can store: no NUL (PostgreSQL refuses it) and no lone surrogates (not UTF-8)."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if _UNSTORABLE.search(text):
            raise ValidationError("contains a NUL character or an unpaired surrogate")
        return text


class CreditCode(Text):
    """A unified social credit code (GB 32100-2015), check character verified; loads upper-cased."""

    def __init__(self, **kwargs) -> None:
        metadata = {"pattern": CREDIT_CODE_PATTERN, "example": "91520100MA6H3K7P1R",
                    "description": "Unified social credit code (统一社会信用代码), 18 characters."}
        super().__init__(**_with(metadata, kwargs))

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        return _parsed(validate_credit_code, value, attr or "credit_code")


class Id(fields.String):
    """A business id, an invoice number, a policy id: the library's id rule (length, no control characters,
    no spaces around it), as for the CLI and CSV files."""

    def __init__(self, *, max_length: int = 100, **kwargs) -> None:
        super().__init__(**_with({"minLength": 1, "maxLength": max_length}, kwargs))
        self.max_length = max_length

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        return _parsed(parse_id, value, attr or "id", max_length=self.max_length)


class PartyId(Id):
    """A provider's or platform's id as onboarded: 1-100 characters, no spaces or ':'."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**_with({"pattern": PARTY_PATTERN, "example": "gz-compute"}, kwargs))

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        return _parsed(parse_id, value, attr or "party", max_length=self.max_length, party=True)


class ChinaDate(fields.Field):
    """A date: YYYY-MM-DD, or an ISO timestamp with its offset, taken as its calendar day in China."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**_with({"type": "string", "format": "date", "example": "2026-03-02", "description":
                                  "YYYY-MM-DD (China's calendar day), or an ISO timestamp with its offset."}, kwargs))

    def _deserialize(self, value, attr, data, **kwargs):
        return _parsed(parse_china_date, value, attr or "date")

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.isoformat()


def register(api) -> None:
    """Tell flask-smorest's spec how these fields look in OpenAPI."""
    for field in (Money, SignedMoney, Rate):
        api.register_field(field, "string", None)
    api.register_field(ChinaDate, "string", "date")


class Bool(fields.Boolean):
    """true or false only: marshmallow's Boolean also takes "yes", 1 and "on", which hides typos."""

    def _deserialize(self, value, attr, data, **kwargs) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("must be true or false")
        return value


class Int(fields.Integer):
    """A JSON integer only: not "5", not 5.0, not true."""

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("must be a whole number (a JSON integer)")
        return super()._deserialize(value, attr, data, **kwargs)
