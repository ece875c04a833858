"""Caps and pools count the year the money is granted, and a business cannot be dated anywhere (issue 7.1).

Guizhou's clause: 同一主体年度累计兑现额度最高不超过200万元 — 2,000,000 a year per enterprise, counted
on vouchers issued in the calendar year (the policy file's own reading). Hangzhou's compute voucher
draws on a 50,000,000 pool a year. Before this change the ledger counted both by the business's own
date, so contracts dated 2024, 2027, 2099 or 9998 each opened another year's quota on the same day.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest
from api_support import GUIYANG_A, app_fixture, client_fixture, tx, world_fixture  # noqa: F401
from ledger_support import (  # noqa: F401  (fixtures)
    ADMIN,
    GZ_PLATFORM,
    HZ_PLATFORM,
    HZ_RATE,
    backend,
    balance,
    clock,
    gz_contract,
    guizhou_enterprise,
    hangzhou_enterprise,
    hz_compute,
    ledger,
    ledger_url,
    policy_table,
    refused,
)

from voucher.calculator import estimate
from voucher.errors import CapReached, InputError
from voucher.ledger import open_ledger
from voucher.policy import PolicyTable
from voucher.quota import NotEligible
from voucher.transactions import transaction_from_dict

GZ = "guizhou-compute-voucher"
HZ = "hangzhou-compute-voucher"


@pytest.fixture
def gz_at_cap(ledger, clock):
    """A Guizhou enterprise already granted its 2,000,000 for 2026 (3% of 66,666,666.67 → 2,000,000.00)."""
    clock.set(date(2026, 11, 20))
    ledger.onboard_party(GZ_PLATFORM, "platform", "贵州算力调度平台", actor=ADMIN)
    e = guizhou_enterprise(1)
    ledger.register_enterprise(e, actor=ADMIN)
    out = ledger.post_transaction(e.credit_code, gz_contract("GZ-FULL", "66666666.67", "2026-11-20"),
                                  platform=GZ_PLATFORM, actor="platform:" + GZ_PLATFORM)
    assert [v["face"] for v in out["vouchers"]] == ["2000000.00"]
    return e.credit_code


@pytest.mark.parametrize("day", ["2027-01-01", "2099-06-30", "9998-12-31", "2026-11-21"])
def test_a_business_dated_after_today_is_refused_and_writes_nothing(ledger, gz_at_cap, day):
    err = refused(ledger, InputError, ledger.post_transaction, gz_at_cap, gz_contract(f"GZ-{day}", "66666666.67", day),
                  platform=GZ_PLATFORM, actor="platform:" + GZ_PLATFORM)
    assert err.field == "transaction.date" and "after today (2026-11-20, China time)" in str(err)
    refused(ledger, InputError, ledger.apply, gz_at_cap, GZ, gz_contract(f"GZ-A-{day}", "1000", day), actor=gz_at_cap)


def test_back_dated_contracts_do_not_open_another_year_of_the_guizhou_cap(ledger, gz_at_cap, clock):
    # 2025 is within business_age_years = 1: admitted, but it counts in 2026, the year of issue,
    # where 2,000,000 − 2,000,000 = 0 is left.
    out = ledger.post_transaction(gz_at_cap, gz_contract("GZ-2025", "66666666.67", "2025-12-31"),
                                  platform=GZ_PLATFORM, actor="platform:" + GZ_PLATFORM)
    assert out["vouchers"] == []
    (reasons,) = [n["reasons"] for n in out["not_issued"] if n["policy_id"] == GZ]
    assert "cap per enterprise per year 2,000,000.00 reached" in reasons[0]
    # 2024 is older than the policy admits when posted in 2026: refused for its age, not its cap.
    out = ledger.post_transaction(gz_at_cap, gz_contract("GZ-2024", "66666666.67", "2024-06-01"),
                                  platform=GZ_PLATFORM, actor="platform:" + GZ_PLATFORM)
    (reasons,) = [n["reasons"] for n in out["not_issued"] if n["policy_id"] == GZ]
    assert out["vouchers"] == [] and "grants for businesses of 2025 or later" in reasons[0]
    err = refused(ledger, NotEligible, ledger.apply, gz_at_cap, GZ, gz_contract("GZ-2024B", "1000", "2024-06-01"),
                  actor=gz_at_cap, why="age")
    assert "business_age_years = 1" in str(err)
    # Whatever the dates, one day's grants stay within one year's cap.
    assert balance(ledger, f"budget:{GZ}:2026") == Decimal("-2000000.00")
    assert ledger.balances(enterprise=gz_at_cap)["totals"]["voucher"] == "2000000.00"
    # In the new year the quota is new: a 2026 contract issued on 2027-01-04 gets 3% of 1,000,000 = 30,000.
    clock.set(date(2027, 1, 4))
    out = ledger.post_transaction(gz_at_cap, gz_contract("GZ-DEC", "1000000", "2026-12-30"),
                                  platform=GZ_PLATFORM, actor="platform:" + GZ_PLATFORM)
    assert [(v["face"], v["year"], v["issued_on"], v["expires_on"]) for v in out["vouchers"]] == [
        ("30000.00", 2027, "2027-01-04", "2027-07-04")]
    assert ledger.verify()["ok"]


def test_hangzhou_pool_is_drawn_once_a_year_whatever_the_business_dates(ledger, clock):
    # 10% (the administrator's rate here) of 500,000,000 = 50,000,000: the whole pool in one voucher.
    clock.set(date(2026, 11, 20))
    ledger.onboard_party(HZ_PLATFORM, "platform", "杭州算力服务平台", actor=ADMIN)
    codes = []
    for i in range(4):
        e = hangzhou_enterprise(10 + i)
        ledger.register_enterprise(e, actor=ADMIN)
        codes.append(e.credit_code)
    faces = []
    for code, day in zip(codes, ["2026-11-20", "2025-01-02", "2026-01-01", "2025-12-31"]):
        out = ledger.post_transaction(code, hz_compute(f"HZ-{day}", "500000000", day), platform=HZ_PLATFORM,
                                      actor="platform:hz", parameters=HZ_RATE)
        faces += [v["face"] for v in out["vouchers"]]
    assert faces == ["50000000.00"]  # the first; the other three find the 2026 pool empty
    assert ledger.yearly_report(HZ, 2026)["pool_left"] == "0.00"
    assert ledger.yearly_report(HZ, 2025)["granted"] == "0.00"


def test_business_age_is_a_field_of_the_policy_file(ledger_url, clock):
    # A policy that admits only this calendar year's businesses (business_age_years = 0).
    table = policy_table()
    strict = dataclasses.replace(table.get(GZ), business_age_years=0)
    led = open_ledger(ledger_url, table=PolicyTable([strict if p.id == GZ else p for p in table]), clock=clock)
    try:
        clock.set(date(2026, 1, 3))
        e = guizhou_enterprise(3)
        led.register_enterprise(e, actor=ADMIN)
        code = e.credit_code
        err = refused(led, NotEligible, led.apply, code, GZ, gz_contract("GZ-LAST", "1000", "2025-12-31"), actor=code,
                      why="age")
        assert "businesses of 2026 or later (business_age_years = 0)" in str(err)
        assert led.apply(code, GZ, gz_contract("GZ-NEW", "1000", "2026-01-02"), actor=code)["status"] == "applied"
    finally:
        led.close()
    assert table.get(GZ).business_age_years == 1  # the default, stated in the policy detail
    assert table.get(GZ).detail()["business_age_years"] == 1


def test_age_is_judged_on_the_day_of_application_and_the_cap_on_the_day_of_issue(ledger, clock):
    clock.set(date(2026, 12, 31))
    e = guizhou_enterprise(4)
    ledger.register_enterprise(e, actor=ADMIN)
    code = e.credit_code
    app = ledger.apply(code, GZ, gz_contract("GZ-OLD", "1000000", "2025-03-01"), actor=code)  # 2025: admitted in 2026
    clock.set(date(2027, 1, 4))
    voucher = ledger.approve(app["id"], actor=ADMIN)["voucher"]
    # 3% of 1,000,000 = 30,000, counted in 2027, the year of issue.
    assert (voucher["face"], voucher["year"], voucher["issued_on"]) == ("30000.00", 2027, "2027-01-04")
    assert balance(ledger, f"budget:{GZ}:2027") == Decimal("-30000.00")


def test_an_estimate_takes_future_dates_and_says_it_assumes_issue_on_the_business_date(table, make_enterprise):
    e = make_enterprise(province="贵州省", city="贵阳市", registered_province="贵州省", local_tax=True)
    txs = [transaction_from_dict(gz_contract(f"F-{y}", "50000000", f"{y}-05-01")) for y in (2026, 2099)]
    result = estimate(table, e, txs)
    grants = [g for g in result.grants if g.policy.id == GZ]
    # 3% of 50,000,000 = 1,500,000 in each year: each counts in its own year, as if issued that day.
    assert [(g.amount, g.year, g.issued_on, g.expires_on) for g in grants] == [
        (Decimal("1500000.00"), 2026, None, date(2026, 11, 1)), (Decimal("1500000.00"), 2099, None, date(2099, 11, 1))]
    assert grants[1].to_dict()["issue_assumed"] is True
    assert "an estimate: assumes issue on 2099-05-01" in grants[1].explain()[2]


def test_the_api_refuses_a_future_business_with_422_naming_the_date(world):
    # The ledger's clock here is 2026-03-01 (China time): the clock fixture of ledger_support.
    before = world.admin.get("/v1/ledger/entries?limit=1000").get_json()["items"]
    r = world.platform.post("/v1/transactions", {"enterprise": GUIYANG_A, "transaction": tx("FUT-2", day="2026-03-02")})
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["field"] == "transaction.date" and "2026-03-02 is after today (2026-03-01, China time)" in r.get_json()["detail"]
    assert world.admin.get("/v1/ledger/entries?limit=1000").get_json()["items"] == before
    r = world.ent_a.post("/v1/estimates", {"enterprise": GUIYANG_A, "transactions": [tx("FUT-3", day="2099-03-03")]})
    assert r.status_code == 200 and r.get_json()["grants"][0]["issue_assumed"] is True
