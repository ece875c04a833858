"""Fields for the wire: money as decimal strings, credit codes, party ids, rates.

marshmallow's own `Decimal` field accepts a JSON float and converts it, and by then
1234.57 may already be 1234.5699999999999; so money here is a string field that refuses
every JSON number (with a reason that says to quote it) and is checked by
`voucher.money.parse_money`, the one parser the library uses. The pattern in each field's
metadata goes into the OpenAPI document, so clients and the fuzzer see the same rule.
"""

from __future__ import annotations

import re
from decimal import Decimal

from marshmallow import ValidationError, fields

from voucher.enterprise import validate_credit_code
from voucher.errors import InputError
from voucher.money import parse_money, parse_rate, plain

MONEY_PATTERN = r"^(0|[1-9][0-9]{0,15})(\.[0-9]{1,2})?$"
SIGNED_MONEY_PATTERN = r"^-?(0|[1-9][0-9]{0,15})\.[0-9]{2}$"
RATE_PATTERN = r"^(0(\.[0-9]{1,10})?|1(\.0{1,10})?)$"
CREDIT_CODE_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
PARTY_PATTERN = r"^[^\s:]{1,100}$"
_MONEY = re.compile(MONEY_PATTERN)
_RATE = re.compile(RATE_PATTERN)
_PARTY = re.compile(PARTY_PATTERN)


def _not_a_number(value: object, example: str) -> None:
    if isinstance(value, bool) or not isinstance(value, str):
        kind = "a JSON number" if isinstance(value, (int, float)) and not isinstance(value, bool) else \
            f"a {type(value).__name__}"
        raise ValidationError(f'must be a decimal string such as "{example}", not {kind}: numbers lose cents '
                              "in many JSON libraries")


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
        _not_a_number(value, "1234.56")
        if not _MONEY.fullmatch(value):
            raise ValidationError(f"{value[:40]!r} is not an amount; write digits with at most two decimals, "
                                  "like 1234.56 (no commas, signs or exponents)")
        try:
            return parse_money(value, attr or "amount", positive=self.positive)
        except InputError as exc:
            raise ValidationError(exc.problem) from None

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
        _not_a_number(value, "0.2")
        if not _RATE.fullmatch(value):
            raise ValidationError(f"{value[:40]!r} is not a rate from 0 to 1 with at most 10 decimals")
        try:
            return parse_rate(value, attr or "rate")
        except InputError as exc:  # pragma: no cover (the pattern already holds it to 0..1)
            raise ValidationError(exc.problem) from None

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
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return validate_credit_code(text, attr or "credit_code")
        except InputError as exc:
            raise ValidationError(exc.problem) from None


class PartyId(Text):
    """A provider's or platform's id as onboarded: 1-100 characters, no spaces or ':'."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**_with({"pattern": PARTY_PATTERN, "example": "gz-compute"}, kwargs))

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not _PARTY.fullmatch(text):
            raise ValidationError("must be 1 to 100 characters without spaces or ':'")
        return text


def register(api) -> None:
    """Tell flask-smorest's spec how these fields look in OpenAPI."""
    for field in (Money, SignedMoney, Rate):
        api.register_field(field, "string", None)


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
