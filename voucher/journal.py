"""The journal: append-only, double-entry, hash-chained entries, and idempotent writes.

Every movement of money is one entry whose postings sum to zero (positive = debit).
Entries are never updated or deleted; a correction is another entry that names the one
it reverses. Each entry's hash covers its content, its postings and the previous hash,
so changing any stored entry breaks the chain from there on (`verify`).

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

from voucher.errors import Conflict, InputError
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


def chain_hash(prev_hash: str, entry: dict, postings: list[tuple[str, int]]) -> str:
    """SHA-256 over the previous hash, the entry's fields and its postings, canonically ordered."""
    body = {k: entry.get(k) for k in ("id", "at", "day", "event", "actor", "enterprise", "policy_id", "year",
                                      "voucher_id", "ref", "reverses", "memo")}
    text = json.dumps({"prev": prev_hash, "entry": body, "postings": postings}, sort_keys=True,
                      ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
        with self.store.write() as tx:
            now = self.now()
            if key:
                seen = tx.one("SELECT fingerprint, response, at FROM requests WHERE key = ?", (key,))
                if seen and seen["at"] < (now - self.keep_keys).isoformat():
                    tx.run("DELETE FROM requests WHERE key = ?", (key,))
                elif seen:
                    if seen["fingerprint"] != fp:
                        raise IdempotencyMismatch("Idempotency-Key", "was used before with a different request")
                    return json.loads(seen["response"])
            result = work(tx)
            if isinstance(result, Replay):
                return result.answer
            if key:
                tx.insert("requests", {"key": key, "fingerprint": fp, "at": now.isoformat(),
                                       "response": json.dumps(result, ensure_ascii=False, default=str)})
            if self._pruned_at is None or not timedelta(0) <= now - self._pruned_at < PRUNE_EVERY:
                prune(tx, now - self.keep_keys, PRUNE_BATCH)
                self._pruned_at = now
            return result

    def append(self, tx: Tx, event: str, *, actor: str, postings: tuple[Posting, ...] = (),
               enterprise: str | None = None, policy_id: str | None = None, year: int | None = None,
               voucher_id: str | None = None, ref: str | None = None, reverses: int | None = None,
               memo: dict | None = None) -> int:
        """Write one balanced entry chained to the last; returns its id. Caller holds the write lock."""
        if not actor:
            raise InputError("actor", "every step records who took it")
        fen = [(p, to_fen_int(p.amount)) for p in postings]
        if sum(f for _, f in fen) != 0:
            raise Conflict(f"entry {event} does not balance: {[(p.account, str(p.amount)) for p in postings]}")
        head = tx.head
        now = self.now()
        entry = {"id": head["last_id"] + 1, "at": now.isoformat(), "day": now.date().isoformat(), "event": event,
                 "actor": actor, "enterprise": enterprise, "policy_id": policy_id, "year": year,
                 "voucher_id": voucher_id, "ref": ref, "reverses": reverses,
                 "memo": json.dumps(memo or {}, sort_keys=True, ensure_ascii=False, default=str)}
        entry["prev_hash"] = head["last_hash"]
        entry["hash"] = chain_hash(head["last_hash"], entry, [(p.account, f) for p, f in fen])
        tx.insert("entries", entry)
        tx.insert_many("postings", [{"entry_id": entry["id"], "n": n, "account": p.account, "kind": p.kind,
                                     "enterprise": enterprise, "policy_id": policy_id, "year": year,
                                     "party": p.party, "amount": f, "day": entry["day"]}
                                    for n, (p, f) in enumerate(fen)])
        tx.advance(entry["id"], entry["hash"])
        return entry["id"]

    def next_id(self, tx: Tx) -> int:
        """The id the next appended entry will get (the caller holds the write lock)."""
        return tx.head["last_id"] + 1

    def emit(self, tx: Tx, entry_id: int, event_type: str, subjects: list[str], payload: dict) -> None:
        """Queue a webhook event in the same transaction as the entry that caused it (the outbox)."""
        next_id = (tx.value("SELECT MAX(id) FROM outbox") or 0) + 1
        tx.insert("outbox", {"id": next_id, "entry_id": entry_id, "type": event_type,
                             "subjects": json.dumps(sorted(set(filter(None, subjects)))),
                             "payload": json.dumps(payload, ensure_ascii=False, default=str),
                             "at": self.now().isoformat()})

    def balance(self, tx: Tx, *, account: str | None = None, kind: str | None = None,
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
        return from_fen(tx.value(sql, params))

    def verify(self, page: int = 5000) -> dict:
        """Recompute the chain and each entry's balance; report the first entry that does not match.

        Reads `page` entries (and their legs) at a time from one snapshot, so a ledger of any
        size is checked in constant memory.
        """
        with self.store.read() as tx:
            head = tx.one("SELECT last_id, last_hash FROM head WHERE id = 1")
            count = tx.value("SELECT COUNT(*) FROM entries")
            prev, number, last = "", 0, 0
            while True:
                entries = tx.rows("SELECT * FROM entries WHERE id > ? ORDER BY id LIMIT ?", (last, page))
                if not entries:
                    break
                legs: dict[int, list[tuple[str, int]]] = {}
                for row in tx.rows("SELECT entry_id, account, amount FROM postings WHERE entry_id > ? AND entry_id <= ? "
                                   "ORDER BY entry_id, n", (last, entries[-1]["id"])):
                    legs.setdefault(row["entry_id"], []).append((row["account"], int(row["amount"])))
                for entry in entries:
                    number += 1
                    postings = legs.get(entry["id"], [])
                    problem = None
                    if entry["id"] != number:
                        problem = f"entry ids jump from {number - 1} to {entry['id']}: an entry is missing"
                    elif entry["prev_hash"] != prev:
                        problem = "prev_hash does not match the previous entry's hash"
                    elif chain_hash(prev, entry, postings) != entry["hash"]:
                        problem = "hash does not match the entry's content: it was altered"
                    elif sum(a for _, a in postings) != 0:
                        problem = "postings do not sum to zero"
                    if problem:  # a missing entry is reported by its own id, the first that is not there
                        return {"ok": False, "entries": count, "problem": problem,
                                "first_bad_entry": number if entry["id"] != number else entry["id"]}
                    prev = entry["hash"]
                last = entries[-1]["id"]
            orphan = tx.value("SELECT MIN(p.entry_id) FROM postings p LEFT JOIN entries e ON e.id = p.entry_id "
                              "WHERE e.id IS NULL")
        if head["last_id"] != last or head["last_hash"] != prev:  # checked on an emptied ledger too
            removed = head["last_id"] > last
            return {"ok": False, "entries": count,
                    "first_bad_entry": min(last, head["last_id"]) + 1 if head["last_id"] != last else last,
                    "problem": "the head does not point at the last entry: "
                               + ("entries were removed" if removed else "the head or the last entry was altered")}
        if orphan is not None:
            return {"ok": False, "entries": count, "first_bad_entry": orphan, "problem": "postings without an entry"}
        return {"ok": True, "entries": count, "first_bad_entry": None, "problem": None, "last_hash": prev}
