"""A ledger made by an older release migrates when opened, and still verifies."""

from __future__ import annotations

import json

import pytest
from ledger_support import (  # noqa: F401
    OLD_LEDGER, backend, dump, ledger_url, load_old_ledger, policy_table, unmigrated_url,
)

from voucher.errors import Conflict
from voucher.ledger import open_ledger
from voucher.schema import FIRST_STEP
from voucher.store import TABLES, open_store


def test_a_ledger_of_schema_0001_migrates_and_verifies(unmigrated_url):
    old = load_old_ledger(unmigrated_url)
    led = open_ledger(unmigrated_url, table=policy_table())
    try:
        result = led.verify()
        assert result["ok"], result
        assert result["entries"] == len(old["entries"]) == 35
        with led.store.read() as tx:
            for name in TABLES:  # every table of today's schema exists, the old rows are all there
                count = tx.value(f"SELECT COUNT(*) FROM {name}")
                assert count >= len(old.get(name, [])), name
            assert tx.value("SELECT COUNT(*) FROM entries WHERE hash_version = 1") == 35
    finally:
        led.close()


def test_an_old_ledger_gets_normalised_keys_and_its_businesses(unmigrated_url):
    """Keys filled for the old rows: a re-post of GZ-1, spelt `gz-1`, answers as the first did and writes nothing."""
    old = load_old_ledger(unmigrated_url)
    led = open_ledger(unmigrated_url, table=policy_table())
    try:
        with led.store.read() as tx:
            assert [(r["key"], r["id"], r["entry_id"]) for r in tx.rows("SELECT * FROM businesses ORDER BY entry_id")] \
                == [("gz-1", "GZ-1", 9), ("gz-2", "GZ-2", 11), ("hz-2", "HZ-2", 29)]
            assert {r["business"] for r in tx.rows("SELECT business FROM claims")} == {"gz-1", "gz-2", "jn-1"}
            assert {r["id"]: r["invoice_key"] for r in tx.rows("SELECT id, invoice_key FROM redemptions")} == {
                "R13": "inv-1", "R18": "inv-2", "R24": "jn-inv-1"}
            assert {r["id"]: r["business_key"] for r in tx.rows("SELECT id, business_key FROM applications")} == {
                "A21": "jn-1", "A27": "hz-1"}
        stored = json.loads(next(r for r in old["requests"] if r["key"] == "k1")["response"])
        before = dump(led)
        again = led.post_transaction("91520100000000001M", {**stored["transaction"], "id": "gz-1"},
                                     platform="gz-compute-platform", actor="platform:gz-compute-platform", key="new")
        assert again == {**stored, "not_issued": []}  # an entry of schema 0001 did not record why none issued
        assert dump(led) == before
        assert led.verify()["ok"]
    finally:
        led.close()


def test_rows_that_collide_only_once_normalised_still_migrate(unmigrated_url):
    """Two invoices that differ only by case, made before keys: the first keeps the key, the later gets none."""
    tables = json.loads(OLD_LEDGER.read_text(encoding="utf-8"))["tables"]
    for row in tables["redemptions"]:
        if row["id"] == "R18":
            row["invoice"] = "inv-1"  # R13's is INV-1
    store = open_store(unmigrated_url, upto=FIRST_STEP)
    with store.write() as tx:
        tx.run("DELETE FROM head")
        for name, rows in tables.items():
            if rows:
                tx.insert_many(name, rows)
    store.close()
    led = open_ledger(unmigrated_url, table=policy_table())
    try:
        with led.store.read() as tx:
            assert {r["id"]: r["invoice_key"] for r in tx.rows("SELECT id, invoice_key FROM redemptions")} == {
                "R13": "inv-1", "R18": None, "R24": "jn-inv-1"}
        used = led._check_invoice  # an invoice spelt either way is still refused
        for spelling in ("INV-1", "inv-1", "Inv-1\u200b"):
            with led.store.write() as tx, pytest.raises(Conflict):
                used(tx, spelling)
    finally:
        led.close()
