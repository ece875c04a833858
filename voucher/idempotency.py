"""How long the ledger remembers an idempotency key, and the pruning that keeps `requests` bounded.

Only writes keep a key (reads such as estimates keep nothing). A key is kept for
`VOUCHER_IDEMPOTENCY_DAYS` days (default 7; at least 1, the "at least 24 hours" of
draft-ietf-httpapi-idempotency-key-header): a retry within that period gets the first
answer and writes nothing. An older key is treated as never sent and is deleted:
opportunistically by any write (at most once every `PRUNE_EVERY`, at most `PRUNE_BATCH`
rows, so no single request pays for a backlog) and in full by the expiry sweep, which
the webhooks worker runs hourly. A business posted by a platform stays de-duplicated
after its key is gone: `businesses` remembers it for good (see voucher/businesses.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timedelta

from voucher.errors import InputError, quote
from voucher.store import Tx

KEEP_ENV = "VOUCHER_IDEMPOTENCY_DAYS"
DEFAULT_KEEP_DAYS = 7
PRUNE_EVERY = timedelta(minutes=10)
PRUNE_BATCH = 1000


class Replay:
    """An answer a write's work read rather than wrote (a re-posted business): no key is kept for it."""

    def __init__(self, answer: dict) -> None:
        self.answer = answer


def keep_period(env: Mapping[str, str] | None = None) -> timedelta:
    """The period from the environment; a value under one day or not a whole number is refused at start."""
    text = (os.environ if env is None else env).get(KEEP_ENV, "").strip()
    if not text:
        return timedelta(days=DEFAULT_KEEP_DAYS)
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 3650:
        raise InputError(KEEP_ENV, f"{quote(text)}: a whole number of days from 1 (the draft's 24 hours) to 3650")
    return timedelta(days=int(text))


def prune(db: Tx, before: datetime, limit: int | None = None) -> int:
    """Delete keys stored before `before` (the oldest first, at most `limit`); returns how many."""
    cutoff = before.isoformat()
    if limit is None:
        return db.run("DELETE FROM requests WHERE at < ?", (cutoff,))
    return db.run("DELETE FROM requests WHERE key IN (SELECT key FROM requests WHERE at < ? ORDER BY at LIMIT ?)",
                  (cutoff, limit))
