"""Every table derived from the journal is re-derived by replaying it, and compared column by column.

A hand edit to a derived table (the chain does not cover them) is reported with the table, the row,
the column, what the journal implies and what the table holds. So are balances that may not go
negative, and a second payment of one redemption. Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json

import pytest
from audit_support import DOOMED, audited, problems_of  # noqa: F401  (fixtures are used by name)
from ledger_support import (
    unmigrated_url,  # noqa: F401
    ADMIN, ADMIN2, GZ_PLATFORM, backend, clock, ledger, ledger_url, load_old_ledger, policy_table, raw_execute,
    refused,
)

from voucher.errors import Conflict
from voucher.journal import Posting
from voucher.ledger import open_ledger
from voucher.replay import DERIVED, HANDLERS
from voucher.store import TABLES, from_fen


def table_problem(result: dict, table: str) -> dict:
    assert not result["ok"]
    found = [p for p in problems_of(result, "table") if p["table"] == table]
    assert found, result["problems"]
    return found[0]


def test_every_derived_column_is_declared_and_every_event_has_a_handler():
    """A column added to a derived table, or a new step's event, must be taught to the replay."""
    for spec in DERIVED:
        assert set(spec.columns) == set(TABLES[spec.table]), spec.table
    assert {"issue", "redeem", "pay", "hold", "expire", "void", "enterprise.register", "party.onboard",
            "parameter.set", "apply", "approve", "reject", "transaction.post"} <= set(HANDLERS)


# One hand edit per derived table: (table, SQL on the ids of `audited`, row key, column, journal says, found).
EDITS = {
    "vouchers": ("UPDATE vouchers SET status = 'issued' WHERE id = '{v_void}'", {"id": "{v_void}"}, "status",
                 "voided", "issued"),
    "vouchers.face": ("UPDATE vouchers SET face = 10000000 WHERE id = '{v_jn}'", {"id": "{v_jn}"}, "face",
                      "20000.00", "100000.00"),
    "redemptions": ("UPDATE redemptions SET amount = 100 WHERE id = '{confirmed}'", {"id": "{confirmed}"},
                    "amount", "5000.00", "1.00"),
    "holds": ("UPDATE holds SET status = 'held' WHERE id = '{released}'", {"id": "{released}"}, "status",
              "released", "held"),
    "claims": ("UPDATE claims SET voucher_id = '{v_jn}' WHERE business = 'GZ-1' "
               "AND scope = 'group:guizhou-data-compute'",
               {"business": "GZ-1", "scope": "group:guizhou-data-compute"}, "voucher_id", "{v_gz}", "{v_jn}"),
    "applications": ("UPDATE applications SET status = 'applied' WHERE id = '{rejected}'", {"id": "{rejected}"},
                     "status", "rejected", "applied"),
    "enterprises": ("UPDATE enterprises SET status = 'active' WHERE credit_code = '{gz2}'",
                    {"credit_code": "{gz2}"}, "status", "blacklisted", "active"),
    "parties": ("UPDATE parties SET status = 'onboarded' WHERE id = '" + DOOMED + "'", {"id": DOOMED}, "status",
                "blacklisted", "onboarded"),
    "parameters": ("UPDATE parameters SET value = '0.5' WHERE policy_id = 'hangzhou-compute-voucher'",
                   {"policy_id": "hangzhou-compute-voucher", "name": "rate"}, "value", "0.1", "0.5"),
}


@pytest.mark.parametrize("case", sorted(EDITS))
def test_a_hand_edit_of_a_derived_table_is_reported_with_its_row(audited, ledger_url, case):
    ledger, ids = audited
    sql, row, column, expected, found = _fill(EDITS[case], vars(ids))
    assert raw_execute(ledger_url, sql) == 1
    result = ledger.verify()
    problem = table_problem(result, case.split(".")[0])
    assert (problem["row"], problem["column"], problem["expected"], problem["found"]) == (row, column, expected, found)
    assert column in result["problem"] and result["first_bad_entry"] is None
    assert len(problems_of(result, "table")) == 1 and len(result["problems"]) == 1


def _fill(case: tuple, ids: dict) -> tuple:
    def fill(value):
        if isinstance(value, str):
            return value.format(**ids)
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value
    return tuple(fill(v) for v in case)


def test_a_changed_json_column_is_compared_by_value(audited, ledger_url):
    """An enterprise's profile: legal_person flipped by hand (what eligibility reads) is reported."""
    ledger, ids = audited
    with ledger.store.read() as tx:
        profile = json.loads(tx.value("SELECT profile FROM enterprises WHERE credit_code = ?", (ids.hz,)))
    raw_execute(ledger_url, "UPDATE enterprises SET profile = ? WHERE credit_code = ?",
                (json.dumps({**profile, "legal_person": not profile["legal_person"]}, indent=1), ids.hz))
    problem = table_problem(ledger.verify(), "enterprises")
    assert (problem["row"], problem["column"]) == ({"credit_code": ids.hz}, "profile")
    assert problem["expected"]["legal_person"] is profile["legal_person"]
    raw_execute(ledger_url, "UPDATE enterprises SET profile = ? WHERE credit_code = ?",  # other spacing: same value
                (json.dumps(profile, indent=3), ids.hz))
    assert ledger.verify()["ok"]


def test_a_deleted_row_and_a_forged_row_are_reported(audited, ledger_url):
    ledger, ids = audited  # deleting a claim frees the business to be claimed again
    raw_execute(ledger_url, "DELETE FROM claims WHERE business = 'JN-1'")
    raw_execute(ledger_url, "INSERT INTO vouchers (id, enterprise, policy_id, face, status) "
                            "VALUES ('V999', ?, 'guizhou-compute-voucher', 100000000, 'issued')", (ids.gz,))
    result = ledger.verify()
    claims, vouchers = table_problem(result, "claims"), table_problem(result, "vouchers")
    assert claims["row"] == {"business": "JN-1", "scope": "group:jinan-data-voucher"} and "missing" in claims["detail"]
    assert claims["expected"]["voucher_id"] == ids.v_jn and claims["found"] is None
    assert vouchers["row"] == {"id": "V999"} and "no entry" in vouchers["detail"]
    assert vouchers["found"]["face"] == "1000000.00"


# --- the second payment ---------------------------------------------------------------------------


def test_a_paid_redemption_set_back_to_approved_is_reported_and_not_paid_again(audited, ledger_url):
    ledger, ids = audited
    raw_execute(ledger_url, "UPDATE redemptions SET status = 'approved', paid_by = NULL WHERE id = ?", (ids.paid,))
    result = ledger.verify()
    reported = {(p["column"], p["expected"], p["found"]) for p in problems_of(result, "table")
                if p["row"] == {"id": ids.paid}}
    assert reported == {("status", "paid", "approved"), ("paid_by", ADMIN2, None)}
    # `pay` reads the journal, which holds the first payment, not only the status row a hand edit set back.
    refused(ledger, Conflict, ledger.pay, ids.paid, actor=ADMIN2, says="already settled by entry")


def test_a_second_payment_in_the_journal_takes_the_receivable_negative_and_is_reported(audited):
    """What `pay` wrote before it read the journal, once the status had been set back by hand."""
    ledger, ids = audited
    with ledger.store.write() as tx:
        r = tx.one("SELECT * FROM redemptions WHERE id = ?", (ids.paid,))
        v = tx.one("SELECT * FROM vouchers WHERE id = ?", (r["voucher_id"],))
        value = from_fen(r["amount"])  # 1,000.00; the platform is owed only the 200.00 committed from a hold
        entry = ledger.append(tx, "pay", actor=ADMIN2, enterprise=v["enterprise"], policy_id=v["policy_id"],
                              year=v["year"], voucher_id=v["id"], ref=ids.paid,
                              postings=(Posting("receivable", GZ_PLATFORM, -value, party=GZ_PLATFORM),
                                        Posting("paid", GZ_PLATFORM, value, party=GZ_PLATFORM)))
    result = ledger.verify()
    assert not result["ok"] and result["first_bad_entry"] == entry
    balance = problems_of(result, "balance")
    assert [(p["entry"], p["row"]) for p in balance] == [(entry, {"account": f"receivable:{GZ_PLATFORM}"})]
    assert "-800.00" in balance[0]["detail"]
    replay = problems_of(result, "replay")
    assert [p["entry"] for p in replay] == [entry] and "shows paid" in replay[0]["detail"]


def test_a_budget_above_zero_is_reported(audited):
    """More returned to a budget than it granted: a forged clawback of value that was never granted."""
    ledger, ids = audited
    with ledger.store.write() as tx:
        entry = ledger.append(tx, "clawback", actor=ADMIN, enterprise=ids.jn, policy_id="jinan-data-voucher",
                              year=2026, voucher_id=ids.v_jn, ref=ids.confirmed,
                              postings=(Posting("receivable", "jn-booking-services", -from_fen(5000000),
                                                party="jn-booking-services"),
                                        Posting("budget", "jinan-data-voucher:2026", from_fen(5000000))))
    result = ledger.verify()
    accounts = {p["row"]["account"]: p["entry"] for p in problems_of(result, "balance")}
    assert accounts == {"receivable:jn-booking-services": entry, "budget:jinan-data-voucher:2026": entry}


# --- the ledger of the first release ----------------------------------------------------------------


def test_the_old_ledgers_derived_tables_are_derived_from_its_entries(unmigrated_url):
    """Issue entries of schema 0001 lack the voucher's kind, expiry and claims: they come from the entries
    before them and the policy table, and a hand edit there is still found."""
    load_old_ledger(unmigrated_url)
    led = open_ledger(unmigrated_url, table=policy_table())
    try:
        assert led.verify()["ok"]
        raw_execute(unmigrated_url, "UPDATE redemptions SET status = 'approved' WHERE id = 'R13'")
        raw_execute(unmigrated_url, "UPDATE vouchers SET expires_on = '2027-09-01' WHERE id = 'V10'")
        raw_execute(unmigrated_url, "UPDATE vouchers SET application_id = NULL WHERE id = 'V23'")
        result = led.verify()
        assert {(p["table"], tuple(p["row"].values()), p["column"], p["expected"], p["found"])
                for p in result["problems"]} == {
            ("redemptions", ("R13",), "status", "paid", "approved"),
            ("vouchers", ("V10",), "expires_on", "2026-09-01", "2027-09-01"),
            ("vouchers", ("V23",), "application_id", "A21", None)}
    finally:
        led.close()
