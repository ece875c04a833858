"""Idempotency keys are kept for a stated period, then pruned; on SQLite and PostgreSQL.

The period is VOUCHER_IDEMPOTENCY_DAYS (default 7 days, at least the draft's 24 hours).
Within it a retry gets the first answer and writes nothing; after it the key is as if
never sent, and the expiry sweep (which the webhooks worker runs hourly) deletes it.
Writes prune too, at most every ten minutes and a thousand rows at a time.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger_support import (  # noqa: F401  (fixtures are used by name)
    ADMIN, START, backend, clock, dump, ledger, ledger_url, policy_table,
)
from voucher.errors import InputError
from voucher.idempotency import KEEP_ENV, PRUNE_BATCH, keep_period
from voucher.ledger import open_ledger


def keys(ledger) -> set[str]:
    with ledger.store.read() as tx:
        return {r["key"] for r in tx.rows("SELECT key FROM requests")}


def onboard(ledger, party: str, key: str | None) -> dict:
    return ledger.onboard_party(party, "provider", f"服务商 {party}", actor=ADMIN, key=key)


def test_a_key_answers_within_its_period_and_is_pruned_after_it(ledger, clock):
    assert ledger.keep_keys == timedelta(days=7)
    first = onboard(ledger, "p-old", "k-old")  # 2026-03-01 10:00
    clock.advance(days=5)
    onboard(ledger, "p-recent", "k-recent")  # 2026-03-06 10:00

    clock.advance(days=1, hours=23, minutes=59)  # 6 days 23:59 after k-old: still within its period
    state = dump(ledger)
    assert onboard(ledger, "p-old", "k-old") == first
    assert dump(ledger) == state

    clock.advance(minutes=2)  # 7 days and a minute after k-old, 2 days after k-recent
    ledger.expire()
    assert keys(ledger) == {"k-recent"}
    entries = ledger.verify()["entries"]
    onboard(ledger, "p-old", "k-old")  # the key is forgotten: the request runs again
    assert ledger.verify()["entries"] == entries + 1
    assert keys(ledger) == {"k-recent", "k-old"}


def test_a_key_past_its_period_is_ignored_even_before_it_is_pruned(ledger, clock):
    onboard(ledger, "p-1", "k-1")
    clock.advance(days=8)
    entries = ledger.verify()["entries"]
    onboard(ledger, "p-1", "k-1")
    assert ledger.verify()["entries"] == entries + 1


def test_writes_prune_stale_keys_at_most_every_ten_minutes(ledger, clock):
    onboard(ledger, "p-0", None)  # the first write of the process prunes (nothing yet)
    with ledger.store.write() as tx:
        tx.insert_many("requests", [{"key": f"stale-{n}", "fingerprint": "x", "response": "{}",
                                     "at": (START - timedelta(days=8, seconds=n)).isoformat()}
                                    for n in range(PRUNE_BATCH + 5)])
    clock.advance(minutes=9)
    onboard(ledger, "p-1", "k-1")  # within ten minutes of the last prune: none now
    assert len(keys(ledger)) == PRUNE_BATCH + 6
    clock.advance(minutes=2)
    onboard(ledger, "p-2", "k-2")  # a batch, the oldest first: five stale keys wait for the next
    assert keys(ledger) == {"k-1", "k-2"} | {f"stale-{n}" for n in range(5)}
    ledger.expire()  # the sweep takes every stale key
    assert keys(ledger) == {"k-1", "k-2"}


def test_the_period_comes_from_the_environment(ledger_url, clock, monkeypatch):
    assert keep_period({}) == timedelta(days=7)
    assert keep_period({KEEP_ENV: " 30 "}) == timedelta(days=30)
    for bad in ("0", "-1", "1.5", "１", "a week", "3651"):
        with pytest.raises(InputError) as info:
            keep_period({KEEP_ENV: bad})
        assert info.value.field == KEEP_ENV
    monkeypatch.setenv(KEEP_ENV, "1")
    short = open_ledger(ledger_url, table=policy_table(), clock=clock)
    try:
        onboard(short, "p-1", "k-1")
        clock.advance(hours=23)
        short.expire()
        assert keys(short) == {"k-1"}
        clock.advance(hours=2)
        short.expire()
        assert keys(short) == set()
    finally:
        short.close()
