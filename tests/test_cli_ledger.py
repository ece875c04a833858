"""`voucher ledger …` commands an administrator runs, each on a SQLite ledger in tmp_path.

Each test checks what the command printed (for people, --json or --get) and what it left in
the ledger's tables, read with sqlite3 behind the CLI's back. The clock is stopped at
2026-03-02 10:00 China time ($VOUCHER_NOW), so issue and expiry days are exact.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import ROOT, run

PROFILE = str(ROOT / "examples" / "enterprise.json")
CODE = "91520100MA6H3K7P1R"  # examples/enterprise.json: Guiyang, local tax, exchange certified
GZ = "guizhou-compute-voucher"


def contract(tmp_path: Path, tx_id: str, amount: str) -> str:
    path = tmp_path / f"{tx_id}.json"
    path.write_text(json.dumps({"id": tx_id, "date": "2026-03-01", "kind": "compute_purchase", "amount": amount,
                                "province": "贵州省"}), encoding="utf-8")
    return str(path)


def row(tmp_path: Path, sql: str, *params) -> tuple:
    with sqlite3.connect(tmp_path / "ledger.db") as db:
        return db.execute(sql, params).fetchone()


@pytest.fixture
def db(tmp_path, monkeypatch) -> str:
    """A ledger with the example enterprise, a platform and a provider."""
    monkeypatch.setenv("VOUCHER_NOW", "2026-03-02T10:00:00+08:00")
    url = f"sqlite:///{tmp_path}/ledger.db"
    run("ledger", "register", "--profile", PROFILE, db=url)
    run("ledger", "onboard", "gz-compute", "--kind", "platform", db=url)
    run("ledger", "onboard", "jn-provider", "--kind", "provider", db=url)
    return url


def issue(db: str, tmp_path: Path, tx_id: str = "GZ-1", amount: str = "1000000.00") -> dict:
    out = run("ledger", "issue", "--enterprise", CODE, "--transaction", contract(tmp_path, tx_id, amount),
              "--platform", "gz-compute", "--json", db=db, actor="platform:gz-compute")
    return json.loads(out.stdout)


def test_issue_posts_the_business_and_issues_the_voucher(db, tmp_path):
    out = issue(db, tmp_path)
    [voucher] = out["vouchers"]
    assert (voucher["policy_id"], voucher["face"], voucher["issued_on"], voucher["expires_on"]) == (
        GZ, "30000.00", "2026-03-02", "2026-09-02")  # 1,000,000 × 3%; valid six months from issue
    assert {n["policy_id"] for n in out["not_issued"]} == {"guizhou-physical-voucher", "hangzhou-compute-voucher"}
    assert row(tmp_path, "SELECT enterprise, face, status, platform FROM vouchers WHERE id = ?", voucher["id"]) == (
        CODE, 3_000_000, "issued", "gz-compute")  # face in fen
    # The same business posted again is the same posting: the voucher already issued, no second one.
    again = run("ledger", "issue", "--enterprise", CODE, "--transaction", str(tmp_path / "GZ-1.json"),
                "--platform", "gz-compute", "--get", "vouchers.0.id", db=db)
    assert again.stdout == f"{voucher['id']}\n"
    assert row(tmp_path, "SELECT COUNT(*) FROM vouchers") == (1,)


def test_void_returns_the_unspent_value_to_the_budget(db, tmp_path):
    vid = issue(db, tmp_path)["vouchers"][0]["id"]
    text = run("ledger", "void", vid, "--reason", "重复申报", db=db).stdout
    assert f"id: {vid}\n" in text and "status: voided\n" in text
    assert row(tmp_path, "SELECT status FROM vouchers WHERE id = ?", vid) == ("voided",)
    balances = json.loads(run("ledger", "balances", "--json", db=db).stdout)
    assert balances["accounts"].get(f"voucher:{vid}", "0.00") == "0.00"
    assert balances["accounts"].get(f"budget:{GZ}:2026", "0.00") == "0.00"
    assert "refused: " in run("ledger", "void", vid, "--reason", "再次作废", db=db, code=1).stderr


def test_set_parameter_records_the_value_the_source_leaves_open(db, tmp_path):
    text = run("ledger", "set-parameter", "hangzhou-compute-voucher", "rate", "0.2", db=db).stdout
    assert "policy_id: hangzhou-compute-voucher\n" in text and "name: rate\n" in text and "value: 0.2\n" in text
    assert row(tmp_path, "SELECT value FROM parameters WHERE policy_id = ? AND name = 'rate'",
               "hangzhou-compute-voucher") == ("0.2",)
    # A policy whose source fixes its rate has no parameter to set.
    refused = run("ledger", "set-parameter", GZ, "rate", "0.5", db=db, code=1)
    assert refused.stdout == "" and refused.stderr == (
        f'error: NAME: {GZ} takes no "rate" from an administrator: its source fixes it\n')
    assert row(tmp_path, "SELECT COUNT(*) FROM parameters WHERE policy_id = ?", GZ) == (0,)


def test_reject_closes_an_application_without_a_voucher(db, tmp_path):
    app = json.loads(run("ledger", "apply", "--enterprise", CODE, "--policy", GZ, "--transaction",
                         contract(tmp_path, "GZ-2", "500000.00"), "--json", db=db, actor=CODE).stdout)
    assert run("ledger", "reject", app["id"], "--reason", "材料不全", "--get", "status", db=db).stdout == "rejected\n"
    assert row(tmp_path, "SELECT status, reason, voucher_id FROM applications WHERE id = ?", app["id"]) == (
        "rejected", "材料不全", None)
    assert row(tmp_path, "SELECT COUNT(*) FROM vouchers") == (0,)
    assert "refused: " in run("ledger", "approve", app["id"], db=db, code=1).stderr  # rejected is final


def test_exit_takes_a_provider_out(db, tmp_path):
    out = json.loads(run("ledger", "exit", "jn-provider", "--reason", "自愿退出", "--json", db=db).stdout)
    assert (out["id"], out["status"]) == ("jn-provider", "exited")
    assert row(tmp_path, "SELECT status FROM parties WHERE id = 'jn-provider'") == ("exited",)
    entry = row(tmp_path, "SELECT event, actor, memo FROM entries ORDER BY id DESC LIMIT 1")
    assert entry[:2] == ("party.exit", "admin:li") and json.loads(entry[2])["reason"] == "自愿退出"
    # Exited, it takes no redemption.
    vid = issue(db, tmp_path)["vouchers"][0]["id"]
    refused = run("ledger", "redeem", vid, "--enterprise", CODE, "--amount", "100.00", "--party", "jn-provider",
                  "--invoice", "INV-1", db=db, code=1)
    assert "refused: " in refused.stderr
    assert row(tmp_path, "SELECT COUNT(*) FROM redemptions") == (0,)


def test_blacklist_stops_an_enterprise_claiming(db, tmp_path):
    out = run("ledger", "blacklist", CODE, "--reason", "套取财政资金", db=db).stdout
    assert out == f"subject: {CODE}\nstatus: blacklisted\nreason: 套取财政资金\n"
    assert row(tmp_path, "SELECT status FROM enterprises WHERE credit_code = ?", CODE) == ("blacklisted",)
    refused = run("ledger", "issue", "--enterprise", CODE, "--transaction", contract(tmp_path, "GZ-3", "1000000.00"),
                  "--platform", "gz-compute", db=db, code=1)
    assert "黑名单" in refused.stderr
    assert row(tmp_path, "SELECT COUNT(*) FROM vouchers") == (0,)


def test_balances_and_history_show_what_the_journal_holds(db, tmp_path):
    vid = issue(db, tmp_path)["vouchers"][0]["id"]
    issue(db, tmp_path, "GZ-2", "500000.00")  # 15,000.00 more
    text = run("ledger", "balances", db=db).stdout
    assert f"  budget:{GZ}:2026: -45000.00\n" in text and f"  voucher:{vid}: 30000.00\n" in text
    assert "  voucher: 45000.00\n" in text  # totals by kind
    only = json.loads(run("ledger", "balances", "--json", "--on", "2026-03-01", db=db).stdout)
    assert only["accounts"] == {}  # nothing was issued by the end of 2026-03-01
    history = json.loads(run("ledger", "history", "--voucher", vid, "--json", db=db).stdout)
    assert [e["event"] for e in history["items"]] == ["issue"]
    assert [(p["account"], p["amount"]) for p in history["items"][0]["postings"]] == [
        (f"budget:{GZ}:2026", "-30000.00"), (f"voucher:{vid}", "30000.00")]
    page = json.loads(run("ledger", "history", "--limit", "2", "--json", db=db).stdout)
    assert [e["id"] for e in page["items"]] == [1, 2] and page["next"] == 2
    rest = json.loads(run("ledger", "history", "--after", "2", "--json", db=db).stdout)
    (count,) = row(tmp_path, "SELECT COUNT(*) FROM entries")
    assert [e["id"] for e in rest["items"]] == list(range(3, count + 1)) and rest["next"] is None
