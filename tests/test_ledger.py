"""The journal under the lifecycle: double entry, idempotency, balances on a date, cursors, export.

Run on SQLite and PostgreSQL through the `ledger` fixture (see ledger_support.py).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from ledger_support import (  # noqa: F401  (fixtures are used by name)
    ADMIN, GZ_PLATFORM, HZ_PLATFORM, HZ_RATE, all_entries, backend, balance, clock, dump, guizhou_enterprise,
    gz_contract, hangzhou_enterprise, hz_compute, ledger, ledger_url, policy_table, refused,
)
from voucher.businesses import BusinessMismatch
from voucher.errors import Conflict, Forbidden, InputError, NotFound
from voucher.journal import IdempotencyMismatch, Posting
from voucher.ledger import open_ledger
from voucher.reports import EXPORT_COLUMNS

GZ = "guizhou-compute-voucher"


@pytest.fixture
def gz(ledger):
    e = guizhou_enterprise(1)
    ledger.register_enterprise(e, actor=ADMIN)
    ledger.onboard_party(GZ_PLATFORM, "platform", "贵州算力调度平台", actor=ADMIN)
    return e.credit_code


def issue(ledger, code, tx_id="GZ-C1", amount="50000000", day="2026-03-01"):
    app = ledger.apply(code, GZ, gz_contract(tx_id, amount, day), actor=code)
    return ledger.approve(app["id"], actor=ADMIN)["voucher"]


# --- double entry, append only ------------------------------------------------------------------


def test_every_entry_balances_and_every_account_sums_to_zero(ledger, gz, clock):
    v = issue(ledger, gz)["id"]
    h = ledger.hold(v, enterprise=gz, amount="1000", platform=GZ_PLATFORM, actor=GZ_PLATFORM)
    ledger.commit_hold(h["id"], platform=GZ_PLATFORM, invoice="INV-H", actor=GZ_PLATFORM)
    r = ledger.redeem(v, enterprise=gz, amount="250000.55", party=GZ_PLATFORM, invoice="INV-1", actor=gz)["id"]
    ledger.request_settlement(r, party=GZ_PLATFORM, actor=GZ_PLATFORM)
    ledger.approve_settlement(r, actor=ADMIN)
    ledger.pay(r, actor="admin:wang")
    clock.set(date(2026, 9, 2))
    ledger.expire()
    entries = all_entries(ledger)
    assert len(entries) == ledger.verify()["entries"]
    moving = [e for e in entries if e["postings"]]
    assert {e["event"] for e in moving} == {"issue", "hold", "redeem", "pay", "expire"}
    for e in moving:
        assert len(e["postings"]) >= 2
        assert sum(Decimal(p["amount"]) for p in e["postings"]) == 0, e
    totals = ledger.balances()["totals"]
    assert sum(Decimal(t) for t in totals.values()) == 0
    assert totals == {"budget": "-251000.55", "hold": "0.00", "paid": "250000.55", "receivable": "1000.00",
                      "voucher": "0.00"}
    # 1,500,000 issued, 1,000 and 250,000.55 redeemed, the 1,248,999.45 left expired.
    assert ledger.yearly_report(GZ, 2026)["expired"] == "1248999.45"


def test_entries_are_never_rewritten(ledger, gz):
    v = issue(ledger, gz)["id"]
    before = all_entries(ledger)
    ledger.redeem(v, enterprise=gz, amount="100", party=GZ_PLATFORM, invoice="INV-1", actor=gz)
    red = all_entries(ledger, event="redeem")[0]
    ledger.reverse(red["id"], reason="mistake", actor=ADMIN)
    ledger.void(v, reason="closed", actor=ADMIN)
    after = all_entries(ledger)
    assert after[:len(before)] == before
    assert [e["id"] for e in after] == list(range(1, len(after) + 1))
    assert [e["event"] for e in after[len(before):]] == ["redeem", "reverse", "void"]


def test_each_step_records_who_and_when(ledger, gz, clock):
    clock.set(date(2026, 3, 2))
    v = issue(ledger, gz)["id"]
    clock.advance(hours=5, minutes=7)
    ledger.redeem(v, enterprise=gz, amount="10", party=GZ_PLATFORM, invoice="INV-1", actor="platform:gz")
    e = all_entries(ledger, voucher_id=v)
    assert [(x["event"], x["actor"], x["at"]) for x in e] == [
        ("issue", ADMIN, "2026-03-02T10:00:00+08:00"), ("redeem", "platform:gz", "2026-03-02T15:07:00+08:00")]
    refused(ledger, InputError, ledger.redeem, v, enterprise=gz, amount="10", party=GZ_PLATFORM, invoice="INV-2",
            actor="")


# --- idempotency ---------------------------------------------------------------------------------


def test_same_key_same_request_same_answer_written_once(ledger, gz):
    tx = gz_contract("GZ-C1", "50000000")
    first = ledger.apply(gz, GZ, tx, actor=gz, key="apply-1")
    state = dump(ledger)
    again = ledger.apply(gz, GZ, dict(tx), actor=gz, key="apply-1")
    assert again == first
    assert dump(ledger) == state

    approved = ledger.approve(first["id"], actor=ADMIN, key="approve-1")
    state = dump(ledger)
    assert ledger.approve(first["id"], actor=ADMIN, key="approve-1") == approved
    assert dump(ledger) == state

    v = approved["voucher"]["id"]
    red = ledger.redeem(v, enterprise=gz, amount="100.00", party=GZ_PLATFORM, invoice="INV-1", actor=gz, key="r-1")
    state = dump(ledger)
    assert ledger.redeem(v, enterprise=gz, amount="100", party=GZ_PLATFORM, invoice="INV-1", actor=gz,
                         key="r-1") == red  # 100 and 100.00 are one amount
    assert dump(ledger) == state
    assert ledger.voucher(v)["available"] == "1499900.00"


def test_same_key_different_request_is_refused(ledger, gz):
    ledger.apply(gz, GZ, gz_contract("GZ-C1", "50000000"), actor=gz, key="k1")
    err = refused(ledger, IdempotencyMismatch, ledger.apply, gz, GZ, gz_contract("GZ-C1", "50000001"),
                  actor=gz, key="k1")
    assert err.code == "idempotency_key_reused" and err.field == "Idempotency-Key"
    refused(ledger, IdempotencyMismatch, ledger.onboard_party, "p2", "provider", "x", actor=ADMIN, key="k1")
    refused(ledger, InputError, ledger.apply, gz, GZ, gz_contract("GZ-C2", "1"), actor=gz, key="x" * 256)


def test_a_refusal_is_not_remembered_under_its_key(ledger, clock):
    code = guizhou_enterprise(1).credit_code
    refused(ledger, NotFound, ledger.apply, code, GZ, gz_contract("GZ-C1", "1000000"), actor=code, key="k")
    ledger.register_enterprise(guizhou_enterprise(1), actor=ADMIN)
    assert ledger.apply(code, GZ, gz_contract("GZ-C1", "1000000"), actor=code, key="k")["status"] == "applied"


def test_post_transaction_resent_with_the_same_external_id_writes_once(ledger, gz):
    tx = gz_contract("GZ-C1", "50000000")
    first = ledger.post_transaction(gz, tx, platform=GZ_PLATFORM, actor="platform:gz")
    assert [v["face"] for v in first["vouchers"]] == ["1500000.00"]
    state = dump(ledger)
    again = ledger.post_transaction(gz, dict(tx), platform=GZ_PLATFORM, actor="platform:gz")
    assert again == first
    assert dump(ledger) == state
    assert len(ledger.vouchers(enterprise=gz)["items"]) == 1
    # The same external id with other content is refused, naming what differs.
    err = refused(ledger, BusinessMismatch, ledger.post_transaction, gz, gz_contract("GZ-C1", "60000000"),
                  platform=GZ_PLATFORM, actor="platform:gz")
    assert err.fields == ("transaction.amount",)
    refused(ledger, NotFound, ledger.post_transaction, gz, gz_contract("GZ-C9", "1"), platform="nobody",
            actor="platform:x")
    refused(ledger, Forbidden, ledger.post_transaction, gz, gz_contract("GZ-C9", "1", platform="other"),
            platform=GZ_PLATFORM, actor="platform:gz")


def test_idempotency_survives_reopening_the_ledger(ledger, ledger_url, gz, clock):
    first = ledger.post_transaction(gz, gz_contract("GZ-C1", "1000000"), platform=GZ_PLATFORM, actor="p")
    other = open_ledger(ledger_url, table=policy_table(), clock=clock)
    try:
        assert other.post_transaction(gz, gz_contract("GZ-C1", "1000000"), platform=GZ_PLATFORM, actor="p") == first
        assert other.verify()["entries"] == ledger.verify()["entries"]
    finally:
        other.close()


# --- balances on a date, cursors, export -----------------------------------------------------------


def test_balances_on_a_date(ledger, gz, clock):
    clock.set(date(2026, 3, 10))
    v = issue(ledger, gz, day="2026-03-10")["id"]  # valid through 2026-09-10
    clock.set(date(2026, 4, 15))
    ledger.redeem(v, enterprise=gz, amount="400000", party=GZ_PLATFORM, invoice="INV-1", actor=gz)
    clock.set(date(2026, 9, 11))
    ledger.expire()

    def at(day):
        return ledger.balances(enterprise=gz, on=day)["accounts"]

    assert at(date(2026, 3, 9)) == {}
    assert at(date(2026, 3, 10)) == {f"budget:{GZ}:2026": "-1500000.00", f"voucher:{v}": "1500000.00"}
    assert at(date(2026, 4, 14)) == at(date(2026, 3, 10))
    assert at(date(2026, 4, 15)) == {f"budget:{GZ}:2026": "-1500000.00", f"receivable:{GZ_PLATFORM}": "400000.00",
                                     f"voucher:{v}": "1100000.00"}
    assert at(date(2026, 9, 10)) == at(date(2026, 4, 15))
    assert at(date(2026, 9, 11)) == {f"budget:{GZ}:2026": "-400000.00", f"receivable:{GZ_PLATFORM}": "400000.00",
                                     f"voucher:{v}": "0.00"}
    assert ledger.balances(enterprise=gz, on=date(2026, 4, 15))["as_of"] == "2026-04-15"
    assert balance(ledger, f"voucher:{v}", on=date(2026, 5, 1)) == Decimal("1100000.00")
    # By policy and year: the budget's view.
    by_policy = ledger.balances(policy_id=GZ, year=2026, on=date(2026, 4, 15))
    assert by_policy["totals"] == {"budget": "-1500000.00", "receivable": "400000.00", "voucher": "1100000.00"}
    assert ledger.balances(policy_id=GZ, year=2027)["accounts"] == {}


def test_entries_cursor_covers_every_entry_exactly_once(ledger, gz):
    for i in range(4):
        issue(ledger, gz, f"GZ-C{i}", "1000000")
    total = ledger.verify()["entries"]
    assert total == 2 + 4 * 3  # register, onboard; apply, approve, issue for each
    seen, after, pages = [], 0, 0
    while True:
        page = ledger.entries(after=after, limit=3)
        assert len(page["items"]) <= 3
        seen += [e["id"] for e in page["items"]]
        pages += 1
        if page["next"] is None:
            break
        after = page["next"]
    assert seen == list(range(1, total + 1))
    assert pages == -(-total // 3)
    exact = ledger.entries(after=0, limit=total)
    assert len(exact["items"]) == total and exact["next"] is None
    issues = all_entries(ledger, event="issue")
    assert len(issues) == 4 and all(e["policy_id"] == GZ for e in issues)
    refused(ledger, InputError, ledger.entries, colour="red")
    refused(ledger, InputError, ledger.entries, limit=0)
    refused(ledger, InputError, ledger.entries, limit=1001)


def test_vouchers_cursor(ledger, gz):
    ids = [issue(ledger, gz, f"GZ-C{i}", "1000000")["id"] for i in range(5)]
    seen, after = [], None
    while True:
        page = ledger.vouchers(enterprise=gz, after=after, limit=2)
        seen += [v["id"] for v in page["items"]]
        if page["next"] is None:
            break
        after = page["next"]
    assert seen == ids


def test_export_csv_has_one_row_per_posting(ledger, gz):
    v = issue(ledger, gz)["id"]
    ledger.redeem(v, enterprise=gz, amount="100", party=GZ_PLATFORM, invoice="INV-1", actor=gz)
    red = all_entries(ledger, event="redeem")[0]
    ledger.reverse(red["id"], reason="mistake", actor=ADMIN)
    out = io.StringIO()
    count = ledger.export_csv(out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == list(EXPORT_COLUMNS)
    entries = all_entries(ledger)
    assert count == len(rows) - 1 == sum(max(1, len(e["postings"])) for e in entries)
    reversing = [r for r in rows[1:] if r[2] == "reverse"]
    assert len(reversing) == 2 and {r[9] for r in reversing} == {str(red["id"])}
    assert sum(Decimal(r[11]) for r in rows[1:] if r[11]) == 0


def test_reports_agree_with_balances(ledger):
    ledger.onboard_party(HZ_PLATFORM, "platform", "杭州算力服务平台", actor=ADMIN)
    codes = []
    for i in range(3):
        e = hangzhou_enterprise(i + 1)
        ledger.register_enterprise(e, actor=ADMIN)
        codes.append(e.credit_code)
        ledger.post_transaction(e.credit_code, hz_compute(f"HZ-{i}", "1234567.89"), platform=HZ_PLATFORM,
                                actor="p", parameters=HZ_RATE)
    report = ledger.yearly_report("hangzhou-compute-voucher", 2026)
    # 1,234,567.89 × 10% = 123,456.789 → 123,456.79 (half up), three times.
    assert (report["granted"], report["pool_left"], report["enterprises"]) == ("370370.37", "49629629.63", 3)
    budget = ledger.balances(policy_id="hangzhou-compute-voucher", year=2026)["totals"]["budget"]
    assert Decimal(budget) == -Decimal(report["net_granted"])


@pytest.mark.parametrize("legs", [
    (("budget", f"{GZ}:2026", "-100.00"), ("voucher", "V-X", "99.99")),  # one fen short
    (("budget", f"{GZ}:2026", "-100.00"),),  # one leg alone
    (("voucher", "V-X", "50.00"), ("voucher", "V-Y", "50.00")),  # both sides debit
], ids=["a-fen-short", "one-leg", "same-sign"])
def test_an_entry_that_does_not_balance_is_refused_and_nothing_is_written(ledger, gz, legs):
    issue(ledger, gz)  # a ledger with something in it, so "nothing written" means something

    def append_unbalanced():
        with ledger.store.write() as tx:
            ledger.append(tx, "test.unbalanced", actor=ADMIN,
                          postings=tuple(Posting(kind, key, Decimal(amount)) for kind, key, amount in legs))

    err = refused(ledger, Conflict, append_unbalanced, says="entry test.unbalanced does not balance")
    assert all(f"'{kind}:{key}', '{amount}'" in str(err) for kind, key, amount in legs)  # it names every leg
    assert ledger.verify()["ok"]
