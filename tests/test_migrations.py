"""A ledger made by an older release migrates when opened, and still verifies."""

from __future__ import annotations

from audit_support import old_url  # noqa: F401  (fixtures are used by name)
from ledger_support import backend, load_old_ledger, policy_table  # noqa: F401

from voucher.ledger import open_ledger
from voucher.store import TABLES


def test_a_ledger_of_schema_0001_migrates_and_verifies(old_url):
    old = load_old_ledger(old_url)
    led = open_ledger(old_url, table=policy_table())
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
