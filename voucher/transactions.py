"""Transactions (the businesses policies reward) and streaming readers for CSV and JSON Lines."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import IO, NamedTuple

from voucher.errors import InputError
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


def parse_china_date(value: object, field: str) -> date:
    """A date, or a timestamp with an offset converted to its calendar date in China."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return value
    elif isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise InputError(field, f"{value!r} is not a date (YYYY-MM-DD) or an ISO timestamp") from None
    else:
        raise InputError(field, "must be a date string YYYY-MM-DD")
    if moment.tzinfo is None:
        return moment.date()  # a naive timestamp is taken to be China time already
    return moment.astimezone(CHINA_TZ).date()


def transaction_from_dict(data: dict, where: str = "transaction") -> Transaction:
    """Build a Transaction from JSON/CSV values, naming the field of any bad value."""
    if not isinstance(data, dict):
        raise InputError(where, "must be an object")
    unknown = [k for k in data if k not in FIELDS]
    if unknown:
        raise InputError(f"{where}.{unknown[0]}", f"unknown field; known fields: {', '.join(FIELDS)}")
    for name in ("id", "date", "kind", "amount"):
        if data.get(name) in (None, ""):
            raise InputError(f"{where}.{name}", "is required")
    text = {}
    for name in ("id", "kind", "role", "province", "city", "platform", "category", "counterparty"):
        value = data.get(name, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise InputError(f"{where}.{name}", "must be a string")
        if len(value) > 200:
            raise InputError(f"{where}.{name}", "is longer than 200 characters")
        text[name] = value.strip()
    if not text["id"]:
        raise InputError(f"{where}.id", "is required")
    if text["kind"] not in KINDS:
        raise InputError(f"{where}.kind", f"unknown kind {text['kind']!r}; one of {', '.join(sorted(KINDS))}")
    return Transaction(
        id=text["id"], date=parse_china_date(data["date"], f"{where}.date"), kind=text["kind"],
        amount=parse_money(data["amount"], f"{where}.amount"), role=text["role"] or "demand",
        province=text["province"], city=text["city"], platform=text["platform"],
        category=text["category"], counterparty=text["counterparty"],
    )


def read_csv(stream: IO[str]) -> Iterator[Transaction]:
    """Stream rows of a CSV with a header naming the transaction fields; empty cells are blank."""
    reader = csv.DictReader(stream)
    if reader.fieldnames and reader.fieldnames[0].startswith("\ufeff"):  # Excel's "CSV UTF-8"
        reader.fieldnames = [reader.fieldnames[0][1:], *reader.fieldnames[1:]]
    for row in reader:
        # The line the record starts on: blank lines are skipped and a quoted cell may span lines.
        number = reader.line_num - sum(v.count("\n") for v in row.values() if isinstance(v, str))
        if None in row:
            raise InputError(f"line {number}", "has more cells than the header")
        yield transaction_from_dict({k: v for k, v in row.items() if v not in (None, "")}, f"line {number}")


def read_json(stream: IO[str]) -> Iterator[Transaction]:
    """JSON Lines (one object a line, streamed) or one JSON array / {"transactions": [...]}."""
    first, newlines = stream.read(1), 0
    while first and (first.isspace() or first == "\ufeff"):
        newlines += first == "\n"
        first = stream.read(1)
    if first == "[" or first == "{":
        rest = stream.read()
        try:
            doc = json.loads(first + rest, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            if first == "{" and "\n{" in rest:
                yield from _json_lines(io.StringIO("\n" * newlines + first + rest))
                return
            raise InputError("input", f"not valid JSON: {exc}") from None
        if isinstance(doc, dict) and "transactions" not in doc:  # JSON Lines of one line
            yield transaction_from_dict(doc, f"line {newlines + 1}")
            return
        items = doc.get("transactions") if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            raise InputError("transactions", "must be a list")
        for i, item in enumerate(items):
            yield transaction_from_dict(item, f"transactions[{i}]")
    elif first:
        raise InputError("input", "JSON input must start with [ or {")


def _json_lines(stream: IO[str]) -> Iterator[Transaction]:
    for number, line in enumerate(stream, start=1):
        if line.strip():
            try:
                item = json.loads(line, parse_float=Decimal)
            except json.JSONDecodeError as exc:
                raise InputError(f"line {number}", f"not valid JSON: {exc}") from None
            yield transaction_from_dict(item, f"line {number}")


def read_transactions(stream: IO[str], fmt: str) -> Iterable[Transaction]:
    if fmt == "csv":
        return read_csv(stream)
    if fmt == "jsonl":
        return _json_lines(stream)
    return read_json(stream)
