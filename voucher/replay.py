"""Replaying the journal: what every table derived from it must hold, and the balances that may not go negative.

The journal is the truth; `vouchers`, `redemptions` and the other tables are what the
ledger's steps wrote beside each entry, so that reads and checks need not replay it.
A hand edit there (a paid redemption set back to `approved`) goes unseen by the hash
chain, and would let the same money be paid twice. `Replay` applies the entries in
order, one small handler per event (`HANDLERS`), to rows of the tables in `DERIVED`;
`compare` then reads the stored rows and reports every column that differs.

To replay a new event, register a handler (in `replay_handlers.py`): `@handles("event.name")`
on a function of `(replay, entry)` that inserts or updates rows with `replay.insert` / `replay.update`.
To check a new table, append a `Derived` to `DERIVED`. An event without a handler is
reported, so a step added later cannot escape the audit unnoticed.

State is one dict of expected rows per derived table and one balance per account:
proportional to the derived rows, whatever the number of entries.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple

from voucher.errors import quote
from voucher.money import plain
from voucher.store import from_fen


class Leg(NamedTuple):
    """One stored posting of an entry, as the replay reads it."""

    account: str
    kind: str
    party: str | None
    amount: int  # fen


class Entry(NamedTuple):
    """One stored entry with its memo read and its legs in order."""

    id: int
    day: str
    event: str
    actor: str
    enterprise: str | None
    policy_id: str | None
    year: int | None
    voucher_id: str | None
    ref: str | None
    reverses: int | None
    memo: dict
    legs: tuple[Leg, ...]
    at: str = ""

    def amount(self, kind: str) -> int:
        """The positive amount the entry moves into an account of `kind` (the leg that receives)."""
        return next(leg.amount for leg in self.legs if leg.kind == kind and leg.amount > 0)


class Problem(NamedTuple):
    """Something the audit found; `kind` is chain, posting, head, checkpoint, balance, replay or table."""

    kind: str
    detail: str
    entry: int | None = None
    table: str | None = None
    row: dict | None = None
    column: str | None = None
    expected: Any = None
    found: Any = None

    def to_dict(self) -> dict:
        out = {"kind": self.kind, "detail": self.detail}
        for name in ("entry", "table", "row", "column"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.kind == "table":
            out["expected"], out["found"] = self.expected, self.found
        return out


class Derived(NamedTuple):
    """A table derived from the journal: its key and the columns the replay must reproduce."""

    table: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    json_columns: tuple[str, ...] = ()  # compared as parsed JSON, not as text
    money_columns: tuple[str, ...] = ()  # fen, reported as decimal strings


DERIVED: list[Derived] = [
    Derived("enterprises", ("credit_code",), ("credit_code", "profile", "status", "entry_id"), ("profile",)),
    Derived("parties", ("id",), ("id", "kind", "name", "status", "entry_id")),
    Derived("parameters", ("policy_id", "name"), ("policy_id", "name", "value", "entry_id")),
    Derived("enterprise_changes", ("id",), ("id", "enterprise", "changes", "before", "status", "submitted_by",
                                            "submitted_at", "decided_by", "decided_at", "reason", "entry_id",
                                            "decided_entry"), ("changes", "before")),
    Derived("applications", ("id",), ("id", "enterprise", "policy_id", "business", "business_key", "tx", "status",
                                      "voucher_id", "platform", "actor", "reason", "entry_id"), ("tx",)),
    Derived("businesses", ("key",), ("key", "id", "enterprise", "platform", "tx", "entry_id"), ("tx",)),
    Derived("vouchers", ("id",), ("id", "enterprise", "policy_id", "policy_version", "kind", "business", "year",
                                  "face", "issued_on", "expires_on", "status", "platform", "once_keys",
                                  "application_id", "entry_id"), ("once_keys",), ("face",)),
    Derived("claims", ("business", "scope"), ("business", "scope", "voucher_id", "policy_id")),
    Derived("redemptions", ("id",), ("id", "voucher_id", "party", "amount", "invoice", "invoice_key", "status",
                                     "proof_hash", "rating", "approved_by", "paid_by", "hold_id", "entry_id"), (),
            ("amount",)),
    Derived("holds", ("id",), ("id", "voucher_id", "party", "amount", "expires_at", "status", "entry_id"),
            (), ("amount",)),
]
"""Every table the journal determines, in the order problems are reported."""

NEVER_NEGATIVE = frozenset({"voucher", "hold", "receivable", "paid"})
NEVER_POSITIVE = frozenset({"budget"})  # a budget goes negative as it grants; value returned brings it back to 0

Handler = Callable[["Replay", Entry], None]
HANDLERS: dict[str, Handler] = {}
"""Event name → the function that applies such an entry to the expected rows."""


def handles(*events: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for event in events:
            HANDLERS[event] = handler
        return handler
    return register


class ReplayError(Exception):
    """An entry the derived rows cannot follow (a step on a row that does not exist, or in the wrong state)."""


class Replay:
    """The expected rows of every derived table, and every account's running balance, entry by entry."""

    def __init__(self, table=None) -> None:
        self.policies = table
        self.specs = {d.table: d for d in DERIVED}
        self.rows: dict[str, dict[tuple, dict]] = {d.table: {} for d in DERIVED}
        self.balances: dict[str, int] = {}
        self.context: dict[str, Any] = {}  # what a later entry of the same step reads (the business being issued)
        self.problems: list[Problem] = []
        self._flagged: set[str] = set()

    # --- the rows -------------------------------------------------------------------------

    def get(self, table: str, *key: object) -> dict | None:
        return self.rows[table].get(tuple(key))

    def insert(self, table: str, **values: object) -> dict:
        spec = self.specs[table]
        row = {column: values.get(column) for column in spec.columns}
        self.rows[table][tuple(row[c] for c in spec.key)] = row
        return row

    def update(self, table: str, key: object, **values: object) -> dict:
        row = self.rows[table].get(key if isinstance(key, tuple) else (key,))
        if row is None:
            raise ReplayError(f"{table} {key} does not exist")
        row.update(values)
        return row

    def delete(self, table: str, key: tuple) -> None:
        self.rows[table].pop(key, None)

    def policy(self, policy_id: str | None):
        try:
            return self.policies.get(policy_id) if self.policies is not None else None
        except Exception:  # noqa: BLE001  (NotFound: a policy the table no longer holds)
            return None

    # --- entries --------------------------------------------------------------------------

    def apply(self, entry: Entry) -> None:
        handler = HANDLERS.get(entry.event)
        if handler is None:
            self.problems.append(Problem("replay", f"entry {entry.id}: no replay handler for event "
                                         f"{quote(entry.event)}; the tables it writes are not checked", entry.id))
        else:
            try:
                handler(self, entry)
            except (ReplayError, LookupError, TypeError, ValueError, StopIteration, AttributeError) as exc:
                self.problems.append(Problem("replay", f"entry {entry.id} ({entry.event}): {exc}", entry.id))
        self._balances(entry)

    def _balances(self, entry: Entry) -> None:
        for leg in entry.legs:
            self.balances[leg.account] = self.balances.get(leg.account, 0) + leg.amount
        for account in dict.fromkeys(leg.account for leg in entry.legs):
            kind, total = account.split(":", 1)[0], self.balances[account]
            bad = (kind in NEVER_NEGATIVE and total < 0) or (kind in NEVER_POSITIVE and total > 0)
            if bad and account not in self._flagged:
                rule = "may never go negative" if kind in NEVER_NEGATIVE else "may never rise above zero"
                self.problems.append(Problem("balance", f"entry {entry.id} ({entry.event}) takes {account} to "
                                             f"{plain(from_fen(total))}: a {kind} account {rule}", entry.id,
                                             row={"account": account}))
                self._flagged.add(account)
            elif not bad:
                self._flagged.discard(account)

    # --- comparing with what is stored ----------------------------------------------------

    def compare(self, db, spec: Derived) -> list[Problem]:
        """Every difference between the expected rows of one table and the stored ones."""
        problems: list[Problem] = []
        expected = self.rows[spec.table]
        seen: set[tuple] = set()
        for stored in db.rows(f"SELECT * FROM {spec.table} ORDER BY {', '.join(spec.key)}"):
            key = tuple(stored[c] for c in spec.key)
            row_id = dict(zip(spec.key, key))
            seen.add(key)
            want = expected.get(key)
            if want is None:
                problems.append(Problem("table", f"{spec.table} {_key_text(key)}: a row no entry of the journal "
                                        "made", table=spec.table, row=row_id, found=_shown(spec, stored)))
                continue
            for column in spec.columns:
                value, found = want[column], _read(spec, column, stored.get(column))
                if value != found:
                    problems.append(Problem(
                        "table", f"{spec.table} {_key_text(key)}: {column} is {_show(spec, column, found)!s}; "
                        f"the journal says {_show(spec, column, value)!s}", table=spec.table, row=row_id,
                        column=column, expected=_show(spec, column, value), found=_show(spec, column, found)))
        for key, want in expected.items():
            if key not in seen:
                problems.append(Problem("table", f"{spec.table} {_key_text(key)}: missing; the journal made it",
                                        table=spec.table, row=dict(zip(spec.key, key)),
                                        expected=_shown(spec, want)))
        return problems


def _key_text(key: tuple) -> str:
    return " / ".join(str(k) for k in key)


def _read(spec: Derived, column: str, value: object) -> object:
    if column in spec.json_columns and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _show(spec: Derived, column: str, value: object) -> object:
    if column in spec.money_columns and isinstance(value, int):
        return plain(from_fen(value))
    return value


def _shown(spec: Derived, row: dict) -> dict:
    return {c: _show(spec, c, _read(spec, c, row.get(c))) for c in spec.columns}


from voucher import replay_handlers  # noqa: E402,F401  (registers one handler per event in HANDLERS)
