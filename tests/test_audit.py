"""Tamper evidence: each entry's hash chains to the last; `verify` and `voucher audit verify` find edits.

The tampering is done in SQL behind the ledger's back (sqlite3 or psycopg on the same
database), as someone with access to the database file or server would do it.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ledger_support import (  # noqa: F401  (fixtures are used by name)
    ADMIN, GZ_PLATFORM, POLICY_DIR, all_entries, backend, clock, guizhou_enterprise, gz_contract, ledger, ledger_url,
    raw_execute,
)
from voucher.journal import entry_hash


@pytest.fixture
def busy(ledger):
    """A ledger with a few entries that move money; returns (ledger, the redemption entry)."""
    e = guizhou_enterprise(1)
    code = e.credit_code
    ledger.register_enterprise(e, actor=ADMIN)  # 1
    ledger.onboard_party(GZ_PLATFORM, "platform", "贵州算力调度平台", actor=ADMIN)  # 2
    app = ledger.apply(code, "guizhou-compute-voucher", gz_contract("GZ-C1", "50000000"), actor=code)  # 3
    v = ledger.approve(app["id"], actor=ADMIN)["voucher"]["id"]  # 4 approve, 5 issue
    ledger.redeem(v, enterprise=code, amount="1000", party=GZ_PLATFORM, invoice="INV-1", actor=code)  # 6
    ledger.redeem(v, enterprise=code, amount="2000", party=GZ_PLATFORM, invoice="INV-2", actor=code)  # 7
    ledger.onboard_party("another", "provider", "另一家", actor=ADMIN)  # 8
    assert ledger.verify()["ok"] and ledger.verify()["entries"] == 8
    return ledger, all_entries(ledger, event="redeem")[0]


def test_an_untouched_ledger_verifies(busy):
    ledger, _ = busy
    result = ledger.verify()
    assert result["ok"] and result["first_bad_entry"] is None and result["problem"] is None
    assert result["last_hash"] == all_entries(ledger)[-1]["hash"]
    assert len(result["last_hash"]) == 64


def test_an_empty_ledger_verifies(ledger):
    assert ledger.verify() == {"ok": True, "entries": 0, "first_bad_entry": None, "problem": None, "last_hash": "",
                               "problems": []}


def test_changed_memo_is_found(busy, ledger_url):
    ledger, red = busy
    memo = json.dumps({"party": GZ_PLATFORM, "invoice": "INV-FORGED"})
    assert raw_execute(ledger_url, "UPDATE entries SET memo = ? WHERE id = ?", (memo, red["id"])) == 1
    result = ledger.verify()
    assert (result["ok"], result["first_bad_entry"]) == (False, red["id"])
    assert "altered" in result["problem"]


def test_changed_posting_amount_is_found(busy, ledger_url):
    ledger, red = busy
    raw_execute(ledger_url, "UPDATE postings SET amount = amount * 10 WHERE entry_id = ? AND n = 1", (red["id"],))
    result = ledger.verify()
    assert (result["ok"], result["first_bad_entry"]) == (False, red["id"])


def test_a_balanced_change_of_amounts_is_still_found(busy, ledger_url):
    ledger, red = busy  # both legs changed, so the entry still sums to zero: the hash finds it
    raw_execute(ledger_url, "UPDATE postings SET amount = amount * 10 WHERE entry_id = ?", (red["id"],))
    result = ledger.verify()
    assert (result["ok"], result["first_bad_entry"]) == (False, red["id"])


def test_changed_account_or_actor_is_found(busy, ledger_url):
    ledger, red = busy
    raw_execute(ledger_url, "UPDATE postings SET account = 'receivable:another' WHERE entry_id = ? AND n = 1",
                (red["id"],))
    assert ledger.verify()["first_bad_entry"] == red["id"]
    raw_execute(ledger_url, "UPDATE entries SET actor = 'admin:mallory' WHERE id = 2")
    assert ledger.verify()["first_bad_entry"] == 2


def test_an_added_posting_is_found(busy, ledger_url):
    ledger, _ = busy  # entry 1 (a registration) moved no money; a forged pair of legs is found
    for n, amount in ((0, -500), (1, 500)):
        raw_execute(ledger_url, "INSERT INTO postings (entry_id, n, account, kind, amount, day) "
                    "VALUES (1, ?, 'voucher:V5', 'voucher', ?, '2026-03-01')", (n, amount))
    result = ledger.verify()
    assert (result["ok"], result["first_bad_entry"]) == (False, 1)


def test_an_entry_rehashed_by_the_tamperer_breaks_the_next_link(busy, ledger_url):
    ledger, red = busy
    with ledger.store.read() as tx:
        row = tx.one("SELECT * FROM entries WHERE id = ?", (red["id"],))
        legs = tx.rows("SELECT * FROM postings WHERE entry_id = ? ORDER BY n", (red["id"],))
    forged = {**row, "memo": json.dumps({"forged": True})}
    raw_execute(ledger_url, "UPDATE entries SET memo = ?, hash = ? WHERE id = ?",
                (forged["memo"], entry_hash(forged, legs), red["id"]))
    result = ledger.verify()
    assert (result["ok"], result["first_bad_entry"]) == (False, red["id"] + 1)
    assert "prev_hash" in result["problem"]


def test_deleting_the_last_entry_is_found(busy, ledger_url):
    ledger, _ = busy
    raw_execute(ledger_url, "DELETE FROM postings WHERE entry_id = 8")
    raw_execute(ledger_url, "DELETE FROM entries WHERE id = 8")
    result = ledger.verify()
    assert (result["ok"], result["first_bad_entry"], result["entries"]) == (False, 8, 7)
    assert "removed" in result["problem"]


def test_deleting_the_last_entries_reports_the_first_missing(busy, ledger_url):
    ledger, _ = busy
    raw_execute(ledger_url, "DELETE FROM postings WHERE entry_id >= 6")
    raw_execute(ledger_url, "DELETE FROM entries WHERE id >= 6")
    assert ledger.verify()["first_bad_entry"] == 6


def test_deleting_every_entry_is_found(busy, ledger_url):
    ledger, _ = busy
    raw_execute(ledger_url, "DELETE FROM postings")
    raw_execute(ledger_url, "DELETE FROM entries")
    result = ledger.verify()
    assert (result["ok"], result["first_bad_entry"], result["entries"]) == (False, 1, 0)


def test_deleting_an_entry_in_the_middle_is_found(busy, ledger_url):
    ledger, red = busy
    raw_execute(ledger_url, "DELETE FROM postings WHERE entry_id = ?", (red["id"],))
    raw_execute(ledger_url, "DELETE FROM entries WHERE id = ?", (red["id"],))
    result = ledger.verify()
    assert (result["ok"], result["first_bad_entry"]) == (False, red["id"])
    assert "missing" in result["problem"]


def test_postings_without_an_entry_are_found(busy, ledger_url):
    ledger, _ = busy
    raw_execute(ledger_url, "INSERT INTO postings (entry_id, n, account, kind, amount, day) "
                "VALUES (99, 0, 'paid:x', 'paid', 0, '2026-03-01')")
    result = ledger.verify()
    assert (result["ok"], result["first_bad_entry"]) == (False, 99)


def test_undoing_the_change_verifies_again(busy, ledger_url):
    ledger, red = busy
    original = next(e for e in all_entries(ledger) if e["id"] == red["id"])
    stored = json.dumps(original["memo"], sort_keys=True, ensure_ascii=False)
    raw_execute(ledger_url, "UPDATE entries SET memo = '{}' WHERE id = ?", (red["id"],))
    assert not ledger.verify()["ok"]
    raw_execute(ledger_url, "UPDATE entries SET memo = ? WHERE id = ?", (stored, red["id"]))
    assert ledger.verify()["ok"]


def test_audit_verify_command(busy, ledger_url, backend):
    from voucher.cli import main

    ledger, red = busy
    runner = CliRunner()
    args = ["--policies", str(POLICY_DIR), "--db", ledger_url, "audit", "verify", "--json"]
    ok = runner.invoke(main, args)
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["ok"] is True
    raw_execute(ledger_url, "UPDATE postings SET amount = 1 WHERE entry_id = ? AND n = 0", (red["id"],))
    bad = runner.invoke(main, args)
    assert bad.exit_code == 1
    report = json.loads(bad.stdout)
    assert (report["ok"], report["first_bad_entry"]) == (False, red["id"])
    readable = runner.invoke(main, args[:-1])  # without --json: a line a field, for people
    assert readable.exit_code == 1
    assert "ok: False" in readable.stdout and f"first_bad_entry: {red['id']}" in readable.stdout


def test_verify_reads_in_pages_and_finds_the_same_entry(ledger):
    """A page boundary changes nothing: every page size agrees with one pass over the whole ledger."""
    from ledger_support import ADMIN

    for i in range(7):
        ledger.onboard_party(f"p-{i}", "provider", f"服务商{i}", actor=ADMIN)
    whole = ledger.verify()
    assert whole["ok"] and whole["entries"] == 7
    for page in (1, 2, 3, 7, 100):
        assert ledger.verify(page=page) == whole
