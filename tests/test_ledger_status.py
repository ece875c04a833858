"""A partly spent voucher says so: `issued`, `partly_redeemed`, `redeemed`; on SQLite and PostgreSQL.

A 1,000,000.00 Guizhou contract issues a 30,000.00 voucher (3%, 贵州算力券). `redeemed` means
nothing is left, neither available nor held; a held remainder may still lapse back, so a
voucher with one is `partly_redeemed`. A reversal moves the status back; a hold alone
redeems nothing.
"""

from __future__ import annotations

from datetime import date

import pytest

from ledger_support import (  # noqa: F401  (fixtures are used by name)
    ADMIN, GZ_PLATFORM, backend, clock, guizhou_enterprise, gz_contract, ledger, ledger_url, load_old_ledger,
    policy_table, unmigrated_url,
)
from voucher.ledger import open_ledger
from voucher.redemption import spend_status


@pytest.fixture
def gz(ledger):
    ledger.register_enterprise(guizhou_enterprise(1), actor=ADMIN)
    ledger.onboard_party(GZ_PLATFORM, "platform", "贵州算力调度平台", actor=ADMIN)
    return guizhou_enterprise(1).credit_code


def state(ledger, voucher_id):
    v = ledger.voucher(voucher_id)
    return v["status"], v["available"], v["held"]


def test_spend_status():
    assert spend_status(0, 3000000) == "issued"
    assert spend_status(0, 0) == "issued"  # nothing redeemed (all of it held, say)
    assert spend_status(100, 2999900) == "partly_redeemed"
    assert spend_status(3000000, 0) == "redeemed"


def test_a_partly_spent_voucher_says_so_with_the_amount_left(ledger, gz, clock):
    v = ledger.post_transaction(gz, gz_contract("GZ-1", "1000000.00"), platform=GZ_PLATFORM, actor="p")[
        "vouchers"][0]["id"]
    assert state(ledger, v) == ("issued", "30000.00", "0.00")
    hold = ledger.hold(v, enterprise=gz, amount="5000", platform=GZ_PLATFORM, ttl_seconds=60, actor="p")
    assert state(ledger, v) == ("issued", "25000.00", "5000.00")  # a hold redeems nothing
    first = ledger.redeem(v, enterprise=gz, amount="10000", party=GZ_PLATFORM, invoice="I-1", actor=gz)
    assert state(ledger, v) == ("partly_redeemed", "15000.00", "5000.00")
    assert [x["id"] for x in ledger.vouchers(status="partly_redeemed")["items"]] == [v]
    assert ledger.vouchers(status="redeemed")["items"] == []

    ledger.redeem(v, enterprise=gz, amount="15000", party=GZ_PLATFORM, invoice="I-2", actor=gz)
    assert state(ledger, v) == ("partly_redeemed", "0.00", "5000.00")  # 5,000 held may still come back
    clock.advance(seconds=61)
    ledger.expire()  # the hold lapses: still partly redeemed, 5,000 left
    assert state(ledger, v) == ("partly_redeemed", "5000.00", "0.00")
    hold = ledger.hold(v, enterprise=gz, amount="5000", platform=GZ_PLATFORM, actor="p")
    ledger.commit_hold(hold["id"], platform=GZ_PLATFORM, invoice="I-3", actor="p")
    assert state(ledger, v) == ("redeemed", "0.00", "0.00")  # 10,000 + 15,000 + 5,000 = 30,000: nothing left

    redeem_entry = next(e for e in ledger.entries(voucher_id=v, event="redeem")["items"] if e["ref"] == first["id"])
    ledger.reverse(redeem_entry["id"], reason="wrong voucher", actor=ADMIN)
    assert state(ledger, v) == ("partly_redeemed", "10000.00", "0.00")
    assert ledger.verify()["ok"]


def test_a_fully_reversed_voucher_is_issued_again_and_the_sweep_expires_a_partly_redeemed_one(ledger, gz, clock):
    v = ledger.post_transaction(gz, gz_contract("GZ-1", "1000000.00"), platform=GZ_PLATFORM, actor="p")[
        "vouchers"][0]["id"]
    ledger.redeem(v, enterprise=gz, amount="1000", party=GZ_PLATFORM, invoice="I-1", actor=gz)
    entry = ledger.entries(voucher_id=v, event="redeem")["items"][0]
    ledger.reverse(entry["id"], reason="redeemed in error", actor=ADMIN)
    assert state(ledger, v) == ("issued", "30000.00", "0.00")
    ledger.redeem(v, enterprise=gz, amount="1000", party=GZ_PLATFORM, invoice="I-2", actor=gz)
    assert state(ledger, v)[0] == "partly_redeemed"
    clock.set(date(2026, 9, 2))  # valid through 2026-09-01 (six months from issue)
    assert ledger.expire() == {"as_of": "2026-09-02", "expired": [v], "returned": "29000.00"}
    assert state(ledger, v) == ("expired", "0.00", "0.00")


def test_an_old_ledger_gets_the_new_statuses(unmigrated_url):
    """In tests/data/ledger-0001.json, V23 (a Jinan data voucher of 20,000.00) had 5,000.00 redeemed and
    showed `redeemed`; migrated, it shows `partly_redeemed` with 15,000.00 left."""
    load_old_ledger(unmigrated_url)
    led = open_ledger(unmigrated_url, table=policy_table())
    try:
        view = led.voucher("V23")
        assert (view["status"], view["face"], view["available"]) == ("partly_redeemed", "20000.00", "15000.00")
        assert {v["id"]: v["status"] for v in led.vouchers()["items"]} == {
            "V10": "expired", "V12": "expired", "V23": "partly_redeemed", "V30": "voided"}
        assert led.verify()["ok"]
    finally:
        led.close()
