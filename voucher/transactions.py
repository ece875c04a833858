"""Transactions (the businesses policies reward), China dates, ids and strict JSON.

The one parser for what people and programs send: dates (`parse_china_date`), ids
(`parse_id`), JSON text (`load_json`) and the transaction records built from them; amounts
are `voucher.money`'s, files are `voucher.readers`'. The CLI, the CSV page and the HTTP
API all read through these, so a value refused on one boundary is refused on every one,
with the same words.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from typing import NamedTuple

from voucher.errors import InputError, quote
from voucher.money import Money, parse_money

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
"""China Standard Time; no daylight saving since 1991, so a fixed offset is exact and needs no tzdata."""

KINDS = frozenset({
    "data_purchase", "compute_purchase", "data_asset_booking_service", "model_training", "model_rd",
    "demo_project", "park_evaluation", "recognition", "platform_service", "technology_contract",
    "concept_verification_centre", "annual_revenue", "honour", "major_project", "bid_won",
})
"""The kinds of business the policy table knows; a transaction of another kind is a typo."""

FIELDS = ("id", "date", "kind", "amount", "role", "province", "city", "platform", "category", "counterparty")
REQUIRED = ("id", "date", "kind", "amount")
ID_LENGTH = 200
"""The longest business id (contract number, exchange transaction id); invoices and party ids take 100."""


class Transaction(NamedTuple):
    """One business: a contract, a purchase, an award event.

    A NamedTuple rather than a frozen dataclass: a million of them are built per second
    of estimating, and a tuple is built several times faster.

    Attributes:
        id: the business key (contract number, exchange transaction id); one claim per id.
        date: the calendar date in China's time zone.
        kind: what happened (data_purchase, compute_purchase, technology_contract, ...).
        amount: the base in yuan: contract value, cost, investment or revenue.
        role: the enterprise's role in it (demand, data_provider, buyer, ...).
        province, city: where the service, resource or project is.
        platform: the exchange or platform that carried it.
        category: a sub-kind that fixes an award (a recognition title, an honour).
    """

    id: str
    date: date
    kind: str
    amount: Money
    role: str = "demand"
    province: str = ""
    city: str = ""
    platform: str = ""
    category: str = ""
    counterparty: str = ""

    @property
    def year(self) -> int:
        return self.date.year

    def to_dict(self) -> dict:
        data = {name: getattr(self, name) for name in FIELDS}
        data["date"] = self.date.isoformat()
        data["amount"] = f"{self.amount:.2f}"
        return data


# --- ids -------------------------------------------------------------------------------------

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
"""Unicode's control characters (Cc) and unpaired surrogates (Cs: not UTF-8, so not storable)."""

def parse_id(value: object, field: str, *, max_length: int = ID_LENGTH, party: bool = False) -> str:
    """An id: 1 to `max_length` characters, no control characters; spaces around it are not part of it.

    Business ids and invoice numbers pass here (and are compared by `businesses.normal_key`).
    `party`: an onboarded provider's or platform's id, which may hold no space at all, nor
    ':' (keys are written `role:subject`).
    """
    if not isinstance(value, str):
        raise InputError(field, "must be a string")
    if party and value != value.strip():
        raise InputError(field, f"{quote(value)} must be 1 to {max_length} characters without spaces or ':'")
    value = value.strip()
    if not value:
        raise InputError(field, "is required")
    if len(value) > max_length:
        raise InputError(field, f"is longer than {max_length} characters")
    bad = _CONTROL.search(value)
    if bad is not None:
        raise InputError(field, f"{quote(value)} contains a control character (U+{ord(bad[0]):04X})")
    if party and any(ch.isspace() or ch == ":" for ch in value):
        raise InputError(field, f"{quote(value)} must be 1 to {max_length} characters without spaces or ':'")
    return value


# --- dates -----------------------------------------------------------------------------------

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
                        r"(Z|[+-][0-9]{2}:[0-9]{2})?")
_CHINA_OFFSET = timedelta(hours=8)
DATE_FORMS = "YYYY-MM-DD, or an ISO timestamp with its offset (2026-03-02T10:00:00+08:00)"


def _date_problem(text: str) -> str:
    shown = quote(text)
    if text != text.strip():
        return f"{shown} has spaces around it; write the date alone, as YYYY-MM-DD"
    if text and (text[0] in "\"'“‘" or text[-1] in "\"'”’"):
        return f"{shown} is in quotes; write the date alone, as YYYY-MM-DD"
    if any(not ch.isascii() and ch.isdigit() for ch in text):
        return f"{shown} has full-width or non-ASCII digits; write ASCII digits, as YYYY-MM-DD"
    if re.fullmatch(r"[0-9]{8}", text):
        return f"{shown} is not a date; write it as YYYY-MM-DD ({text[:4]}-{text[4:6]}-{text[6:]})"
    return f"{shown} is not a date: write {DATE_FORMS}"


def parse_china_date(value: object, field: str) -> date:
    """A calendar date: YYYY-MM-DD, or a timestamp with an offset converted to its date in China.

    Exactly those two forms, in ASCII digits: not 20260302 (Python 3.11's `fromisoformat`
    takes that basic form), not a timestamp without an offset (whose day is a guess).
    """
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InputError(field, "a timestamp needs its offset")
        moment = value
    elif isinstance(value, date):
        return value
    elif isinstance(value, str):
        if len(value) <= 40 and _DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise InputError(field, f"{quote(value)} is not a day of the calendar") from None
        match = _TIMESTAMP.fullmatch(value) if len(value) <= 40 else None
        if match is None:
            raise InputError(field, _date_problem(value))
        if not match.group(1):
            raise InputError(field, f"{quote(value)} has no offset; add +08:00 (China time) or Z (UTC)")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise InputError(field, f"{quote(value)} is not a moment of the calendar") from None
    else:
        raise InputError(field, "must be a date string YYYY-MM-DD")
    try:  # not astimezone(): it passes through UTC, which 0001-01-01T00:00+08:00 falls outside of
        return (moment.replace(tzinfo=None) + (_CHINA_OFFSET - moment.utcoffset())).date()
    except OverflowError:
        raise InputError(field, f"{quote(value if isinstance(value, str) else value.isoformat())} falls outside "
                                "0001-01-01 to 9999-12-31 in China time") from None


# --- records ---------------------------------------------------------------------------------

def as_transaction(value: Transaction | dict) -> Transaction:
    """A business already parsed (by the API's schema) as it is; its JSON form through the one parser."""
    return value if isinstance(value, Transaction) else transaction_from_dict(value)


def as_sent(value: Transaction | dict) -> dict:
    """What an idempotency fingerprint is taken of: the JSON form, as the API has always sent it."""
    return value.to_dict() if isinstance(value, Transaction) else value


def transaction_from_dict(data: dict, where: str = "transaction", *, grouping: bool = False) -> Transaction:
    """Build a Transaction from JSON/CSV values, naming the field of any bad value.

    `grouping`: the amount may group thousands (1,000,000.00), as a CSV file people make may.
    """
    if not isinstance(data, dict):
        raise InputError(where, "must be an object")
    unknown = [k for k in data if k not in FIELDS]
    if unknown:
        raise InputError(f"{where}.{unknown[0]}", f"unknown field; known fields: {', '.join(FIELDS)}")
    for name in REQUIRED:
        if data.get(name) in (None, ""):
            raise InputError(f"{where}.{name}", "is required")
    text = {}
    for name in ("kind", "role", "province", "city", "platform", "category", "counterparty"):
        value = data.get(name, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise InputError(f"{where}.{name}", "must be a string")
        if len(value) > ID_LENGTH:
            raise InputError(f"{where}.{name}", f"is longer than {ID_LENGTH} characters")
        text[name] = value.strip()
    if text["kind"] not in KINDS:
        raise InputError(f"{where}.kind", f"unknown kind {quote(text['kind'])}; one of {', '.join(sorted(KINDS))}")
    return Transaction(
        id=parse_id(data["id"], f"{where}.id"), date=parse_china_date(data["date"], f"{where}.date"),
        kind=text["kind"], amount=parse_money(data["amount"], f"{where}.amount", grouping=grouping),
        role=text["role"] or "demand", province=text["province"], city=text["city"], platform=text["platform"],
        category=text["category"], counterparty=text["counterparty"],
    )


# --- JSON ------------------------------------------------------------------------------------

class _Named(dict):
    """A JSON object that named a key twice; `twice` is the first such key."""

    twice: str = ""


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _at(where: str, path: str) -> str:
    """A field path: `transactions` + `[3]` → transactions[3]; `line 2` + `amount` → line 2.amount."""
    if not where or not path:
        return where or path
    return where + path if path.startswith("[") else f"{where}.{path}"


def _twice(doc: object, path: str = "") -> tuple[str, str] | None:
    """(path, key) of the first object in `doc` that names a key twice."""
    if isinstance(doc, _Named):
        return path, doc.twice
    children = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, child in children:
        if isinstance(child, (dict, list)):
            found = _twice(child, f"{path}[{key}]" if isinstance(key, int) else _at(path, key))
            if found:
                return found
    return None


def load_json(text: str, where: str = "") -> object:
    """Parse JSON strictly: a key named twice is refused, naming it, as are NaN and Infinity.

    Python's `json` silently keeps the last of a duplicated key, so `{"amount": "1",
    "amount": "1000000"}` would mean whatever its last writer wanted. Numbers load as
    Python numbers; `parse_money` then refuses them where an amount is due.
    """
    seen_twice = []

    def pairs(items: list) -> dict:
        obj = dict(items)
        if len(obj) < len(items):
            keys: set = set()
            obj = _Named(obj)
            obj.twice = next(k for k, _ in items if k in keys or keys.add(k))
            seen_twice.append(obj)
        return obj

    try:
        doc = json.loads(text, object_pairs_hook=pairs, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise InputError(where or "input", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") \
            from None
    except (RecursionError, ValueError) as exc:
        raise InputError(where or "input", f"not acceptable JSON: {str(exc)[:100]}") from None
    if seen_twice:
        path, key = _twice(doc)
        raise InputError(_at(_at(where, path), key), "is named twice in one object; give each key once")
    return doc
