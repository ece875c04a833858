"""A ledger made by an older release migrates when opened, and still verifies."""

from __future__ import annotations

import os

import pytest
from ledger_support import PG_ENV, backend, create_pg_database, drop_pg_database, load_old_ledger, policy_table  # noqa: F401

from voucher.ledger import open_ledger
from voucher.store import TABLES


@pytest.fixture
def old_url(backend, tmp_path):
    """An empty database of no schema at all: `load_old_ledger` makes it schema 0001, opening it migrates it."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    url = create_pg_database(os.environ[PG_ENV], migrated=False)
    try:
        yield url
    finally:
        drop_pg_database(url)


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
