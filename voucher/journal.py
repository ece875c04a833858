"""The journal: append-only, double-entry, hash-chained entries, and idempotent writes.

Every movement of money is one entry whose postings sum to zero (positive = debit).
Entries are never updated or deleted; a correction is another entry that names the one
it reverses. Each entry's hash covers every column of it and of its postings, and the
previous hash, so changing any stored entry breaks the chain (`verify`, in `audit.py`).

Accounts, as `kind:key`:
  budget:{policy}:{year}   a policy's budget; goes negative as it grants, back up as value returns
  voucher:{voucher}        a holder's unspent voucher value
  hold:{voucher}           value reserved by a platform's checkout
  receivable:{party}       owed to a provider or platform for redeemed value
  paid:{party}             paid out
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from voucher.errors import Conflict, InputError, quote
from voucher.idempotency import PRUNE_BATCH, PRUNE_EVERY, Replay, keep_period, prune
from voucher.store import Tx, from_fen, to_fen_int
from voucher.transactions import CHINA_TZ


class IdempotencyMismatch(InputError):
    """The same idempotency key was sent before with a different request."""

    code = "idempotency_key_reused"


class Posting(NamedTuple):
    """One leg of an entry: an amount (debit positive) to one account."""

    kind: str  # budget, voucher, hold, receivable, paid
    key: str
    amount: Decimal
    party: str = ""

    @property
    def account(self) -> str:
        return f"{self.kind}:{self.key}"


HASH_VERSION = 2
"""The hash version `append` writes. 1: the entry's columns and each posting's (account, amount),
as the first release wrote them; 2: every column of the entry and of each posting, and the version."""

ENTRY_COLUMNS_V2 = ("id", "at", "day", "event", "actor", "enterprise", "policy_id", "year", "voucher_id", "ref",
                    "reverses", "memo", "prev_hash", "hash_version")
POSTING_COLUMNS = ("entry_id", "n", "account", "kind", "enterprise", "policy_id", "year", "party", "amount", "day")
"""What a version 2 hash covers: every column but `hash` itself (tests/test_audit.py checks that no column is
left out, so a column added later must come with a new version)."""


def _sha256(doc: dict) -> str:
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chain_hash(prev_hash: str, entry: dict, postings: list[tuple[str, int]]) -> str:
    """Version 1: SHA-256 over the previous hash, the entry's fields and its postings' (account, amount)."""
    body = {k: entry.get(k) for k in ("id", "at", "day", "event", "actor", "enterprise", "policy_id", "year",
                                      "voucher_id", "ref", "reverses", "memo")}
    return _sha256({"prev": prev_hash, "entry": body, "postings": postings})


def entry_hash(entry: dict, postings: list[dict]) -> str:
    """The hash an entry (a row of `entries`) must carry, by its `hash_version`; postings are rows in order of n.

    Version 2 covers every column, so a posting moved to another enterprise, year or party
    (what caps and balances read) breaks the hash as surely as a changed amount.
    """
    version = entry.get("hash_version")
    if version in (1, None):  # None: written before the column existed, as version 1
        return chain_hash(entry["prev_hash"], entry, [(p["account"], int(p["amount"])) for p in postings])
    if version == 2:
        return _sha256({"version": 2, "entry": {c: entry.get(c) for c in ENTRY_COLUMNS_V2},
                        "postings": [[p.get(c) for c in POSTING_COLUMNS] for p in postings]})
    raise ValueError(f"unknown hash version {quote(version)}")


def equal_to(filters: dict) -> tuple[list[str], list]:
    """SQL conditions `column = ?` and their parameters, for each filter that is given (not None)."""
    given = {column: value for column, value in filters.items() if value is not None}
    return [f"{column} = ?" for column in given], list(given.values())


def fingerprint(request: object) -> str:
    text = json.dumps(request, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Journal:
    """The append and read primitives every ledger operation is built from."""

    def __init__(self, store, clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.clock = clock or (lambda: datetime.now(CHINA_TZ))
        self.keep_keys = keep_period()  # how long a write's idempotency key is remembered
        self._pruned_at: datetime | None = None

    def now(self) -> datetime:
        return self.clock().astimezone(CHINA_TZ)

    def today(self) -> date:
        return self.now().date()

    def idempotent(self, key: str | None, request: object, work: Callable[[Tx], dict]) -> dict:
        """Run `work` in one write transaction, once per key: a retry within `keep_keys` gets the first answer.

        A key older than that is as if never sent. `work` may return a `Replay` (an answer it
        read, having written nothing): no key is kept for it. Writes prune expired keys now and then.
        """
        if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 255):
            raise InputError("Idempotency-Key", "must be 1 to 255 characters")
        fp = fingerprint(request)
        with self.store.write() as db:
            now = self.now()
            if key:
                seen = db.one("SELECT fingerprint, response, at FROM requests WHERE key = ?", (key,))
                if seen and seen["at"] < (now - self.keep_keys).isoformat():
                    db.run("DELETE FROM requests WHERE key = ?", (key,))
                elif seen:
                    if seen["fingerprint"] != fp:
                        raise IdempotencyMismatch("Idempotency-Key", "was used before with a different request")
                    return json.loads(seen["response"])
            result = work(db)
            if isinstance(result, Replay):
                return result.answer
            if key:
                db.insert("requests", {"key": key, "fingerprint": fp, "at": now.isoformat(),
                                       "response": json.dumps(result, ensure_ascii=False, default=str)})
            if self._pruned_at is None or not timedelta(0) <= now - self._pruned_at < PRUNE_EVERY:
                prune(db, now - self.keep_keys, PRUNE_BATCH)
                self._pruned_at = now
            return result

    def append(self, db: Tx, event: str, *, actor: str, postings: tuple[Posting, ...] = (),
               enterprise: str | None = None, policy_id: str | None = None, year: int | None = None,
               voucher_id: str | None = None, ref: str | None = None, reverses: int | None = None,
               memo: dict | None = None) -> int:
        """Write one balanced entry chained to the last; returns its id. Caller holds the write lock."""
        if not actor:
            raise InputError("actor", "every step records who took it")
        fen = [(p, to_fen_int(p.amount)) for p in postings]
        if sum(f for _, f in fen) != 0:
            raise Conflict(f"entry {event} does not balance: {[(p.account, str(p.amount)) for p in postings]}")
        head = db.head
        now = self.now()
        entry = {"id": head["last_id"] + 1, "at": now.isoformat(), "day": now.date().isoformat(), "event": event,
                 "actor": actor, "enterprise": enterprise, "policy_id": policy_id, "year": year,
                 "voucher_id": voucher_id, "ref": ref, "reverses": reverses,
                 "memo": json.dumps(memo or {}, sort_keys=True, ensure_ascii=False, default=str)}
        entry["prev_hash"] = head["last_hash"]
        entry["hash_version"] = HASH_VERSION
        legs = [{"entry_id": entry["id"], "n": n, "account": p.account, "kind": p.kind, "enterprise": enterprise,
                 "policy_id": policy_id, "year": year, "party": p.party, "amount": f, "day": entry["day"]}
                for n, (p, f) in enumerate(fen)]
        entry["hash"] = entry_hash(entry, legs)
        db.insert("entries", entry)
        db.insert_many("postings", legs)
        db.advance(entry["id"], entry["hash"])
        return entry["id"]

    def next_id(self, db: Tx) -> int:
        """The id the next appended entry will get (the caller holds the write lock)."""
        return db.head["last_id"] + 1

    def emit(self, db: Tx, entry_id: int, event_type: str, subjects: list[str], payload: dict) -> None:
        """Queue a webhook event in the same transaction as the entry that caused it (the outbox)."""
        next_id = (db.value("SELECT MAX(id) FROM outbox") or 0) + 1
        db.insert("outbox", {"id": next_id, "entry_id": entry_id, "type": event_type,
                             "subjects": json.dumps(sorted(set(filter(None, subjects)))),
                             "payload": json.dumps(payload, ensure_ascii=False, default=str),
                             "at": self.now().isoformat()})

    def balance(self, db: Tx, *, account: str | None = None, kind: str | None = None,
                enterprise: str | None = None, policy_id: str | None = None, year: int | None = None,
                party: str | None = None, on: date | None = None) -> Decimal:
        """Sum of postings matching every filter given, up to and including day `on`."""
        where, params = equal_to({"account": account, "kind": kind, "enterprise": enterprise,
                                  "policy_id": policy_id, "year": year, "party": party})
        if on is not None:
            where.append("day <= ?")
            params.append(on.isoformat())
        sql = "SELECT COALESCE(SUM(amount), 0) AS total FROM postings"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return from_fen(db.value(sql, params))

    def verify(self, page: int = 5000, *, checkpoint: dict | None = None, public_key: object = None) -> dict:
        """Prove the whole ledger: the chain, every posting's columns, the balances that may not go negative,
        every table derived from the journal, and (given one) a signed checkpoint. See `voucher.audit`."""
        from voucher.audit import verify_ledger

        return verify_ledger(self, page=page, checkpoint=checkpoint, public_key=public_key)
