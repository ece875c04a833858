"""Exact money: yuan amounts as `Decimal`, parsed strictly and rounded to the fen by a named rule.

An accounting system never touches binary floating point: a float cannot hold 0.01
exactly, so every amount enters through `parse_money` (decimal strings only) and leaves
through `round_to_fen`, whose rounding mode each policy file names.

One grammar on every boundary (CLI options, CSV, JSON files, the HTTP API, parameters):
ASCII digits, an optional point and fraction, nothing else — no exponent, sign, padding,
quotes, leading zeros or full-width digits (Python's `Decimal()` and `\\d` take all of
those). A CSV file that people make may group thousands (`1,000,000.00`, correctly
grouped only); JSON and the API may not.
"""

from __future__ import annotations

import decimal
import re
from decimal import Decimal
from enum import StrEnum

from voucher.errors import InputError, quote

Money = Decimal
"""An amount in yuan (CNY). Always a finite `Decimal`; after `round_to_fen`, exact to 0.01."""

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_YUAN = Decimal(10) ** 15
"""Larger than any budget in the sources (the largest is 5×10^7) by eight orders of magnitude."""



class Rounding(StrEnum):
    """The rounding rules a policy file may name. A `decimal` rounding constant is its own name
    (`decimal.ROUND_HALF_UP == "ROUND_HALF_UP"`), so each member is both the name and the constant."""

    ROUND_HALF_UP = decimal.ROUND_HALF_UP  # 四舍五入, the usual rule for public funds
    ROUND_HALF_EVEN = decimal.ROUND_HALF_EVEN
    ROUND_DOWN = decimal.ROUND_DOWN  # never pays a fraction of a fen more than earned


ROUNDING_MODES = Rounding
"""The names a file may write, in order; `ROUNDING_MODES[name]` is the constant (a KeyError if unknown)."""
DEFAULT_ROUNDING = Rounding.ROUND_HALF_UP

# [0-9], not \d: \d (and Decimal()) also take full-width and other scripts' digits.
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.([0-9]+))?")
_GROUPED = re.compile(r"-?[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.([0-9]+))?")
_EXPONENT = re.compile(r"[-+]?[0-9.]+[eE][-+]?[0-9]+")
_QUOTES = "\"'“”‘’`"
_LONGEST = 60
_CONTEXT = decimal.Context(prec=40, traps=[decimal.InvalidOperation, decimal.Overflow])


def _problem(text: str, example: str, grouping: bool) -> str:
    """Why `text` is not a decimal number, in the words of the mistake people make."""
    shown = quote(text)
    if not text.strip():
        return "is empty" if not text else f"{shown} is blank"
    if text != text.strip():
        return f"{shown} has spaces around it; write the number alone, like {example}"
    if text[0] in _QUOTES or text[-1] in _QUOTES:
        return f"{shown} is in quotes; write the number alone, like {example}"
    if any(not ch.isascii() and (ch.isdigit() or ch in "．，－") for ch in text):
        return f"{shown} has full-width or non-ASCII digits; write ASCII digits 0-9, like {example}"
    if _EXPONENT.fullmatch(text):
        return f"{shown} has an exponent; write the digits out, like {example}"
    if "," in text:
        if grouping:
            return f"{shown} has thousands separators in the wrong places (write 1,234,567.89 or 1234567.89)"
        return f"{shown} has thousands separators; write {example} (separators are read only in CSV files)"
    if text[0] == "+":
        return f"{shown} has a sign; write the number alone, like {example}"
    if re.fullmatch(r"-?0[0-9]+(\.[0-9]*)?", text):
        return f"{shown} has leading zeros; write it like {example}"
    return f"{shown} is not a decimal number (write it like {example})"


def parse_decimal(value: object, field: str, *, places: int | None = None, grouping: bool = False,
                  example: str = "1234.56") -> Decimal:
    """Read a decimal from a string (the grammar above) or an exact `Decimal` the library made.

    Numbers are refused, a JSON number included: a fraction is already a float there, and
    many JSON libraries lose cents. `grouping` admits 1,234,567.89 (CSV files people make).
    """
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InputError(field, f"{quote(value)} is not a finite number")
        number, written = value, None
    elif isinstance(value, str):
        match = _NUMBER.fullmatch(value) if len(value) <= _LONGEST else None
        if match is None and grouping and len(value) <= _LONGEST:
            match = _GROUPED.fullmatch(value)
        if match is None:
            raise InputError(field, _problem(value, example, grouping))
        number, written = Decimal(value.replace(",", "")), match.group(1) or ""
    elif isinstance(value, bool):
        raise InputError(field, f'must be a decimal string such as "{example}", not {quote(value)}')
    elif isinstance(value, (int, float)):
        raise InputError(field, f'must be a decimal string such as "{example}", not a JSON number '
                                "(numbers lose cents in many JSON libraries)")
    else:
        raise InputError(field, f'must be a decimal string such as "{example}"')
    if number and number.adjusted() > 15:
        raise InputError(field, f"{quote(value)} is too large (at most 10^15)")
    if places is not None:
        if written is not None and len(written) > places:
            raise InputError(field, f"{quote(value)} has more than {places} decimal places")
        if written is None and number != number.quantize(Decimal(1).scaleb(-places), context=_CONTEXT):
            raise InputError(field, f"{quote(value)} has more than {places} decimal places")
    return number


def parse_money(value: object, field: str, *, positive: bool = False, allow_zero: bool = True,
                grouping: bool = False) -> Money:
    """Parse a yuan amount: at most two decimal places, at most 10^15, never negative."""
    amount = parse_decimal(value, field, places=2, grouping=grouping)
    if amount < 0:
        raise InputError(field, f"{quote(value)} is negative; an amount must be zero or more")
    if abs(amount) > MAX_YUAN:
        raise InputError(field, f"{quote(value)} is too large (at most 1,000,000,000,000,000 yuan)")
    if amount == 0 and (positive or not allow_zero):
        raise InputError(field, "must be more than zero")
    return amount.copy_abs().quantize(FEN)  # "-0" is zero, not Decimal("-0.00") printed as "-0.00"


def parse_rate(value: object, field: str) -> Decimal:
    """A rate between 0 and 1 inclusive (3% is written 0.03)."""
    rate = parse_decimal(value, field, places=10, example="0.2")
    if not 0 <= rate <= 1:
        raise InputError(field, f"{quote(value)} must be between 0 and 1 (3% is written 0.03)")
    return rate


def rounding_mode(name: str) -> Rounding:
    try:
        return Rounding(name)
    except ValueError:
        raise InputError("rounding", f"unknown rounding {quote(name)}; one of {', '.join(Rounding)}") from None


def round_to_fen(amount: Decimal, rounding: str = decimal.ROUND_HALF_UP) -> Money:
    """Quantize to 0.01 yuan with `rounding` (a `decimal` module constant)."""
    return amount.quantize(FEN, rounding=rounding, context=_CONTEXT)


def fmt_yuan(amount: Decimal) -> str:
    """1234567.8 -> '1,234,567.80'."""
    return f"{round_to_fen(amount):,.2f}"


def fmt_wan(amount: Decimal) -> str:
    """Exact amount in 万元 for people: 1234567.8 -> '123.45678万元', 2000000 -> '200万元'."""
    wan = (round_to_fen(amount) / 10000).normalize(_CONTEXT)
    text = f"{wan:,f}"
    return f"{text}万元"


def plain(amount: Decimal) -> str:
    """The canonical wire form: a plain decimal string with two places, no exponent."""
    return f"{round_to_fen(amount):.2f}"
