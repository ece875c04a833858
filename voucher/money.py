"""Exact money: yuan amounts as `Decimal`, parsed strictly and rounded to the fen by a named rule.

An accounting system never touches binary floating point: a float cannot hold 0.01
exactly, so every amount enters through `parse_money` (strings and integers only) and
leaves through `to_fen`, whose rounding mode each policy file names.
"""

from __future__ import annotations

import decimal
import re
from decimal import Decimal

from voucher.errors import InputError

Money = Decimal
"""An amount in yuan (CNY). Always a finite `Decimal`; after `to_fen`, exact to 0.01."""

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_YUAN = Decimal(10) ** 15
"""Larger than any budget in the sources (the largest is 5×10^7) by eight orders of magnitude."""

ROUNDING_MODES = {
    "ROUND_HALF_UP": decimal.ROUND_HALF_UP,  # 四舍五入, the usual rule for public funds
    "ROUND_HALF_EVEN": decimal.ROUND_HALF_EVEN,
    "ROUND_DOWN": decimal.ROUND_DOWN,  # never pays a fraction of a fen more than earned
}
DEFAULT_ROUNDING = "ROUND_HALF_UP"

# Digits with an optional point and an optional small exponent; no commas, spaces or "_".
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?")
_CONTEXT = decimal.Context(prec=40, traps=[decimal.InvalidOperation, decimal.Overflow])


def parse_decimal(value: object, field: str, *, places: int | None = None) -> Decimal:
    """Read a decimal from a string or an int; refuse floats, which are already inexact."""
    if isinstance(value, bool) or isinstance(value, float):
        raise InputError(field, f"must be a decimal string, not a {type(value).__name__} ({value!r})")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not _NUMBER.fullmatch(text):
            raise InputError(field, f"{value!r} is not a decimal number (write it like 1234.56)")
        number = Decimal(text)
    else:
        raise InputError(field, f"must be a decimal string, not {type(value).__name__}")
    if not number.is_finite():
        raise InputError(field, f"{value!r} is not a finite number")
    if number and number.adjusted() > 15:
        raise InputError(field, f"{value!r} is too large (at most 10^15)")
    if places is not None and number.as_tuple().exponent < -places:
        if number != number.quantize(Decimal(1).scaleb(-places), context=_CONTEXT):
            raise InputError(field, f"{value!r} has more than {places} decimal places")
    return number


def parse_money(value: object, field: str, *, positive: bool = False, allow_zero: bool = True) -> Money:
    """Parse a yuan amount: at most two decimal places, at most 10^15, never negative."""
    amount = parse_decimal(value, field, places=2)
    if amount < 0:
        raise InputError(field, f"{value!r} is negative; an amount must be zero or more")
    if abs(amount) > MAX_YUAN:
        raise InputError(field, f"{value!r} is too large (at most 1,000,000,000,000,000 yuan)")
    if amount == 0 and (positive or not allow_zero):
        raise InputError(field, "must be more than zero")
    return amount.copy_abs().quantize(FEN)  # "-0" is zero, not Decimal("-0.00") printed as "-0.00"


def parse_rate(value: object, field: str) -> Decimal:
    """A rate between 0 and 1 inclusive (3% is written 0.03)."""
    rate = parse_decimal(value, field, places=10)
    if not 0 <= rate <= 1:
        raise InputError(field, f"{value!r} must be between 0 and 1 (3% is written 0.03)")
    return rate


def rounding_mode(name: str) -> str:
    try:
        return ROUNDING_MODES[name]
    except KeyError:
        raise InputError("rounding", f"unknown rounding {name!r}; one of {', '.join(ROUNDING_MODES)}") from None


def to_fen(amount: Decimal, rounding: str = decimal.ROUND_HALF_UP) -> Money:
    """Quantize to 0.01 yuan with `rounding` (a `decimal` module constant)."""
    return amount.quantize(FEN, rounding=rounding, context=_CONTEXT)


def fmt_yuan(amount: Decimal) -> str:
    """1234567.8 -> '1,234,567.80'."""
    return f"{to_fen(amount):,.2f}"


def fmt_wan(amount: Decimal) -> str:
    """Exact amount in 万元 for people: 1234567.8 -> '123.45678万元', 2000000 -> '200万元'."""
    wan = (to_fen(amount) / 10000).normalize(_CONTEXT)
    text = f"{wan:,f}"
    return f"{text}万元"


def plain(amount: Decimal) -> str:
    """The canonical wire form: a plain decimal string with two places, no exponent."""
    return f"{to_fen(amount):.2f}"
