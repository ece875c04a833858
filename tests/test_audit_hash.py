"""The hash covers every column: an entry written now (version 2) covers every column of itself and of its
postings; an entry of the first release (version 1) is checked by its own hash, and its postings' copied
columns against what the entry implies. Every column of `entries` and `postings` is tampered with, on
SQLite and PostgreSQL, and each change is found at the entry it belongs to.
"""

from __future__ import annotations

import pytest
from audit_support import problems_of  # noqa: F401  (fixtures are used by name)
from ledger_support import (
    unmigrated_url,  # noqa: F401
    ADMIN, GZ_PLATFORM, all_entries, backend, clock, guizhou_enterprise, gz_contract, ledger, ledger_url,
    load_old_ledger, policy_table, raw_execute, refused,
)

from voucher.errors import CapReached
from voucher.journal import ENTRY_COLUMNS_V2, HASH_VERSION, POSTING_COLUMNS
from voucher.ledger import open_ledger
from voucher.store import TABLES

OTHER = guizhou_enterprise(9).credit_code

ENTRY_EDITS = {  # column → SQL expression for a changed value
    "id": "id + 1000", "at": "'2026-03-01T11:00:00+08:00'", "day": "'2026-03-02'", "event": "'redeem.forged'",
    "actor": "'admin:mallory'", "enterprise": f"'{OTHER}'", "policy_id": "'jinan-data-voucher'", "year": "2025",
    "voucher_id": "'V1'", "ref": "'R1'", "reverses": "1", "memo": "'{}'", "prev_hash": "'" + "0" * 64 + "'",
    "hash": "'" + "f" * 64 + "'", "hash_version": "3",
}
POSTING_EDITS = {  # on the receivable leg (n = 1) of a redemption
    "entry_id": "1", "n": "7", "account": "'receivable:another'", "kind": "'paid'", "enterprise": f"'{OTHER}'",
    "policy_id": "'jinan-data-voucher'", "year": "2025", "party": "'another'", "amount": "amount * 10",
    "day": "'2026-03-02'",
}


def test_every_column_is_hashed_or_tampered_here():
    """A column added to `entries` or `postings` later needs a new hash version: this fails until it has one."""
    assert set(ENTRY_COLUMNS_V2) == set(TABLES["entries"]) - {"hash"} == set(ENTRY_EDITS) - {"hash"}
    assert set(POSTING_COLUMNS) == set(TABLES["postings"]) == set(POSTING_EDITS)
    assert HASH_VERSION == 2


@pytest.fixture
def redeemed(ledger):
    """A ledger of version 2 entries; returns (ledger, the redemption's entry id)."""
    e = guizhou_enterprise(1)
    ledger.register_enterprise(e, actor=ADMIN)
    ledger.onboard_party(GZ_PLATFORM, "platform", "贵州算力调度平台", actor=ADMIN)
    v = ledger.post_transaction(e.credit_code, gz_contract("GZ-1", "1000000"), platform=GZ_PLATFORM,
                                actor="platform:gz")["vouchers"][0]["id"]
    ledger.redeem(v, enterprise=e.credit_code, amount="1000", party=GZ_PLATFORM, invoice="INV-1", actor=e.credit_code)
    ledger.onboard_party("another", "provider", "另一家", actor=ADMIN)
    assert ledger.verify()["ok"]
    return ledger, all_entries(ledger, event="redeem")[0]["id"]


@pytest.mark.parametrize("column", sorted(ENTRY_EDITS))
def test_a_changed_entry_column_is_found(redeemed, ledger_url, column):
    ledger, red = redeemed
    assert raw_execute(ledger_url, f"UPDATE entries SET {column} = {ENTRY_EDITS[column]} WHERE id = ?", (red,)) == 1
    result = ledger.verify()
    assert (result["ok"], result["first_bad_entry"]) == (False, red), result["problems"][:3]
    assert result["problems"][0]["kind"] in ("chain", "head")


@pytest.mark.parametrize("column", sorted(POSTING_EDITS))
def test_a_changed_posting_column_is_found(redeemed, ledger_url, column):
    ledger, red = redeemed
    assert raw_execute(ledger_url, f"UPDATE postings SET {column} = {POSTING_EDITS[column]} "
                                   "WHERE entry_id = ? AND n = 1", (red,)) == 1
    result = ledger.verify()
    assert not result["ok"]
    assert red in {p.get("entry") for p in problems_of(result, "chain")}, result["problems"][:3]


def test_the_version_cannot_be_lowered_to_the_first_releases(redeemed, ledger_url):
    ledger, red = redeemed
    raw_execute(ledger_url, "UPDATE entries SET hash_version = 1 WHERE id = ?", (red,))
    result = ledger.verify()
    assert result["first_bad_entry"] == red and "version 1 hash after version 2" in result["problem"]


def test_moving_an_enterprises_postings_to_another_is_found(ledger, ledger_url):
    """The attack of issue 7: with the cap's postings moved to another enterprise, the cap reads nothing used."""
    e, gz = guizhou_enterprise(1), "guizhou-compute-voucher"
    ledger.register_enterprise(e, actor=ADMIN)
    app = ledger.apply(e.credit_code, gz, gz_contract("GZ-A1", "100000000"), actor=e.credit_code)
    issued = ledger.approve(app["id"], actor=ADMIN)["voucher"]
    assert issued["face"] == "2000000.00"  # 3% of 100,000,000, held to the 2,000,000 a year cap
    refused(ledger, CapReached, ledger.apply, e.credit_code, gz, gz_contract("GZ-A2", "100000000"),
            actor=e.credit_code)
    assert raw_execute(ledger_url, "UPDATE postings SET enterprise = ? WHERE enterprise = ?",
                       (OTHER, e.credit_code)) == 2
    again = ledger.apply(e.credit_code, gz, gz_contract("GZ-A3", "100000000"), actor=e.credit_code)
    assert again["status"] == "applied"  # the cap no longer sees the 2,000,000: what verify must catch
    result = ledger.verify()
    issue = int(issued["id"][1:])
    assert (result["ok"], result["first_bad_entry"]) == (False, issue)
    assert {p["entry"] for p in problems_of(result, "chain")} == {issue}
    assert {(p["entry"], p["column"]) for p in problems_of(result, "posting")} == {(issue, "enterprise")}


# --- entries of the first release: version 1 ------------------------------------------------------

OLD_REDEEM = 13  # tests/data/ledger-0001.json: R13, 1,000.00 of V10 to gz-compute-platform, later paid


@pytest.fixture
def old_ledger(unmigrated_url):
    load_old_ledger(unmigrated_url)
    led = open_ledger(unmigrated_url, table=policy_table())
    try:
        assert led.verify()["ok"]
        yield led
    finally:
        led.close()


@pytest.mark.parametrize("column", sorted(POSTING_EDITS))
def test_a_changed_posting_of_a_version_1_entry_is_found(old_ledger, unmigrated_url, column):
    assert raw_execute(unmigrated_url, f"UPDATE postings SET {column} = {POSTING_EDITS[column]} "
                                "WHERE entry_id = ? AND n = 1", (OLD_REDEEM,)) == 1
    result = old_ledger.verify()
    assert not result["ok"]
    found = {p.get("entry") for p in result["problems"] if p["kind"] in ("chain", "posting")}
    assert OLD_REDEEM in found, result["problems"][:3]


@pytest.mark.parametrize("column", sorted(set(ENTRY_EDITS) - {"hash_version"}) + ["hash_version=2"])
def test_a_changed_column_of_a_version_1_entry_is_found(old_ledger, unmigrated_url, column):
    column, _, value = column.partition("=")
    raw_execute(unmigrated_url, f"UPDATE entries SET {column} = {value or ENTRY_EDITS[column]} WHERE id = ?", (OLD_REDEEM,))
    result = old_ledger.verify()
    assert (result["ok"], result["first_bad_entry"]) == (False, OLD_REDEEM), result["problems"][:3]


def test_new_entries_after_old_ones_are_version_2_and_verify(old_ledger):
    old_ledger.onboard_party("newcomer", "provider", "新服务商", actor=ADMIN)
    with old_ledger.store.read() as tx:
        versions = tx.rows("SELECT hash_version, COUNT(*) AS n FROM entries GROUP BY hash_version ORDER BY 1")
    assert versions == [{"hash_version": 1, "n": 35}, {"hash_version": 2, "n": 1}]
    assert old_ledger.verify()["ok"]
