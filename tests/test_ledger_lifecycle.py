"""The voucher lifecycle for each source's scheme, on SQLite and PostgreSQL.

Every amount is worked out from the clause (see /work/shared/policy-sources.md and
policies/*.toml); every refused step is checked to raise its exact error class and to
leave every table of the ledger as it was.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal

import pytest

from ledger_support import (  # noqa: F401  (fixtures are used by name)
    ADMIN, ADMIN2, GZ_PLATFORM, HZ_PLATFORM, HZ_RATE, JN_PROVIDER, PHYSICAL, all_entries, backend, balance,
    clock, fuzhou_enterprise, guiyang_enterprise, guizhou_enterprise, gz_contract, hangzhou_enterprise,
    hubei_enterprise, hz_compute, jinan_enterprise, jn_service, ledger, ledger_url, refused,
)
from voucher.errors import CapReached, Conflict, Forbidden, InputError, NotFound
from voucher.lifecycle import NotEligible
from voucher.transactions import CHINA_TZ

GZ = "guizhou-compute-voucher"
GZ_PHYSICAL = "guizhou-physical-voucher"
JN = "jinan-data-voucher"
HZ = "hangzhou-compute-voucher"
HZ_MODEL = "hangzhou-specialised-model"


def claim(ledger, code, policy, tx, *, parameters=None, actor=ADMIN):
    """Apply as the enterprise, approve as an administrator: the issued voucher."""
    app = ledger.apply(code, policy, tx, actor=code, parameters=parameters)
    assert app["status"] == "applied"
    out = ledger.approve(app["id"], actor=actor, parameters=parameters)
    assert out["application"]["status"] == "approved"
    assert out["application"]["voucher_id"] == out["voucher"]["id"]
    return out["voucher"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- Guizhou compute voucher: 3%, 2,000,000 a year per entity, six months --------------------------


@pytest.fixture
def gz(ledger):
    """A registered Guizhou demand-side enterprise and an onboarded platform; its credit code."""
    e = guizhou_enterprise(1)
    ledger.register_enterprise(e, actor=ADMIN)
    ledger.onboard_party(GZ_PLATFORM, "platform", "贵州算力调度平台", actor=ADMIN)
    return e.credit_code


def test_guizhou_three_percent_then_the_annual_cap(ledger, gz, clock):
    app = ledger.apply(gz, GZ, gz_contract("GZ-C1", "50000000"), actor=gz)
    assert app == {"id": app["id"], "enterprise": gz, "policy_id": GZ, "business": "GZ-C1", "status": "applied",
                   "voucher_id": None, "reason": None}
    assert balance(ledger, f"budget:{GZ}:2026") == 0  # applying grants nothing yet
    v1 = ledger.approve(app["id"], actor=ADMIN)["voucher"]
    # 50,000,000 × 3% = 1,500,000; valid six months from the day of issue, through 2026-09-01.
    assert (v1["face"], v1["available"], v1["kind"], v1["status"]) == ("1500000.00", "1500000.00", "cash", "issued")
    assert (v1["issued_on"], v1["expires_on"], v1["year"]) == ("2026-03-01", "2026-09-01", 2026)

    # 30,000,000 × 3% = 900,000, but only 2,000,000 − 1,500,000 = 500,000 is left this year.
    clock.set(date(2026, 4, 1))
    v2 = claim(ledger, gz, GZ, gz_contract("GZ-C2", "30000000", "2026-04-01"))
    assert (v2["face"], v2["expires_on"]) == ("500000.00", "2026-10-01")
    assert balance(ledger, f"budget:{GZ}:2026") == Decimal("-2000000.00")

    clock.set(date(2026, 5, 1))
    err = refused(ledger, CapReached, ledger.apply, gz, GZ, gz_contract("GZ-C3", "10000000", "2026-05-01"),
                  actor=gz, why="cap")
    assert "2,000,000" in str(err)
    # The cap is per calendar year: a contract of 2027 starts a new year's quota.
    clock.set(date(2027, 1, 4))
    v3 = claim(ledger, gz, GZ, gz_contract("GZ-C4", "10000000", "2027-01-04"))
    assert (v3["face"], v3["year"]) == ("300000.00", 2027)

    issue = all_entries(ledger, voucher_id=v1["id"], event="issue")[0]
    assert issue["actor"] == ADMIN and issue["at"].startswith("2026-03-01T10:00")
    assert sorted((p["account"], p["amount"]) for p in issue["postings"]) == [
        (f"budget:{GZ}:2026", "-1500000.00"), (f"voucher:{v1['id']}", "1500000.00")]
    assert ledger.verify()["ok"]


def test_guizhou_compute_provider_may_not_claim(ledger):
    e = guizhou_enterprise(2, roles=frozenset({"compute_provider"}))
    ledger.register_enterprise(e, actor=ADMIN)
    err = refused(ledger, NotEligible, ledger.apply, e.credit_code, GZ,
                  gz_contract("GZ-P1", "50000000", role="compute_provider"), actor=e.credit_code, why="role")
    assert "compute_provider" in str(err)
    # A data provider may (需求方和提供方均可申领): 1,000,000 × 3% = 30,000.
    v = claim(ledger, e.credit_code, GZ, gz_contract("GZ-P2", "1000000", role="data_provider"))
    assert v["face"] == "30000.00"


def test_guizhou_refuses_a_contract_outside_guizhou_and_an_unknown_enterprise(ledger, gz):
    refused(ledger, NotEligible, ledger.apply, gz, GZ, gz_contract("GZ-X", "1000000", province="浙江省"),
            actor=gz, why="eligibility")
    refused(ledger, NotFound, ledger.apply, guizhou_enterprise(9).credit_code, GZ, gz_contract("GZ-Y", "1000000"),
            actor="x")
    refused(ledger, NotFound, ledger.apply, gz, "no-such-policy", gz_contract("GZ-Z", "1000000"), actor=gz)


def test_guizhou_expiry_six_months_after_issue_returns_unused_value(ledger, gz, clock):
    v = claim(ledger, gz, GZ, gz_contract("GZ-C1", "50000000"))  # 1,500,000, valid through 2026-09-01
    clock.set(date(2026, 5, 1))
    ledger.redeem(v["id"], enterprise=gz, amount="100000", party=GZ_PLATFORM, invoice="INV-1", actor=gz)
    clock.set(date(2026, 9, 1))  # the last valid day
    assert ledger.expire() == {"as_of": "2026-09-01", "expired": [], "returned": "0.00"}
    ledger.redeem(v["id"], enterprise=gz, amount="50000", party=GZ_PLATFORM, invoice="INV-2", actor=gz)

    clock.set(date(2026, 9, 2))
    assert ledger.expire() == {"as_of": "2026-09-02", "expired": [v["id"]], "returned": "1350000.00"}
    assert ledger.expire()["expired"] == []  # a second sweep finds nothing
    after = ledger.voucher(v["id"])
    assert (after["status"], after["available"]) == ("expired", "0.00")
    assert [r["amount"] for r in after["redemptions"]] == ["100000.00", "50000.00"]
    assert balance(ledger, f"budget:{GZ}:2026") == Decimal("-150000.00")

    report = ledger.yearly_report(GZ, 2026)
    assert {k: report[k] for k in ("vouchers", "enterprises", "granted", "redeemed", "expired", "voided",
                                   "net_granted", "pool_left")} == {
        "vouchers": 1, "enterprises": 1, "granted": "1500000.00", "redeemed": "150000.00",
        "expired": "1350000.00", "voided": "0.00", "net_granted": "150000.00", "pool_left": None}

    refused(ledger, Conflict, ledger.redeem, v["id"], enterprise=gz, amount="1", party=GZ_PLATFORM,
            invoice="INV-3", actor=gz, says="expired")
    refused(ledger, Conflict, ledger.hold, v["id"], enterprise=gz, amount="1", platform=GZ_PLATFORM, actor=gz)
    refused(ledger, Conflict, ledger.void, v["id"], reason="late", actor=ADMIN)
    # 年度累计兑现额度: what expired unused no longer counts against the year's 2,000,000.
    v2 = claim(ledger, gz, GZ, gz_contract("GZ-C2", "70000000", "2026-09-02"))
    assert v2["face"] == "1850000.00"  # 2,100,000 capped at 2,000,000 − 150,000
    assert ledger.verify()["ok"]


def test_guizhou_a_voucher_past_its_day_cannot_be_spent_before_the_sweep(ledger, gz, clock):
    clock.set(date(2026, 8, 31))
    v = claim(ledger, gz, GZ, gz_contract("GZ-C1", "1000000", "2026-08-31"))  # through 2027-02-28 (no 31st)
    assert v["expires_on"] == "2027-02-28"
    clock.set(date(2027, 3, 1))
    refused(ledger, Conflict, ledger.redeem, v["id"], enterprise=gz, amount="1", party=GZ_PLATFORM,
            invoice="INV-1", actor=gz, says="逾期作废")


def test_guizhou_someone_elses_voucher_is_refused(ledger, gz):
    other = guizhou_enterprise(2)
    ledger.register_enterprise(other, actor=ADMIN)
    v = claim(ledger, gz, GZ, gz_contract("GZ-C1", "1000000"))
    refused(ledger, Forbidden, ledger.redeem, v["id"], enterprise=other.credit_code, amount="100",
            party=GZ_PLATFORM, invoice="INV-1", actor=other.credit_code, says="不得转让")
    refused(ledger, Forbidden, ledger.hold, v["id"], enterprise=other.credit_code, amount="100",
            platform=GZ_PLATFORM, actor=GZ_PLATFORM)
    refused(ledger, NotFound, ledger.redeem, "V999", enterprise=gz, amount="100", party=GZ_PLATFORM,
            invoice="INV-1", actor=gz)
    refused(ledger, Conflict, ledger.redeem, v["id"], enterprise=gz, amount="30000.01", party=GZ_PLATFORM,
            invoice="INV-1", actor=gz, says="30000.00 available")


def test_guizhou_cash_and_physical_voucher_for_one_business_refused(ledger, gz):
    cash = claim(ledger, gz, GZ, gz_contract("GZ-C1", "1000000"))
    assert cash["face"] == "30000.00"
    refused(ledger, Conflict, ledger.apply, gz, GZ_PHYSICAL, gz_contract("GZ-C1", "1000000"), actor=gz,
            parameters=PHYSICAL, why="claimed", says="GZ-C1")
    # The other way round: a physical voucher first, then cash for the same business.
    physical = claim(ledger, gz, GZ_PHYSICAL, gz_contract("GZ-C2", "1000000"), parameters=PHYSICAL)
    assert (physical["face"], physical["kind"], physical["expires_on"]) == ("1000.00", "physical", "2026-09-01")
    refused(ledger, Conflict, ledger.apply, gz, GZ, gz_contract("GZ-C2", "1000000"), actor=gz, why="claimed")
    # Without the campaign's value the physical voucher is never invented.
    refused(ledger, NotEligible, ledger.apply, gz, GZ_PHYSICAL, gz_contract("GZ-C3", "1000000"), actor=gz,
            why="unset")


def test_guizhou_posting_issues_only_the_higher_of_cash_and_physical(ledger, gz):
    out = ledger.post_transaction(gz, gz_contract("GZ-C1", "1000000"), platform=GZ_PLATFORM, actor="platform:gz",
                                  parameters=PHYSICAL)
    assert [(v["policy_id"], v["face"]) for v in out["vouchers"]] == [(GZ, "30000.00")]  # 30,000 > 1,000
    assert any(n["policy_id"] == GZ_PHYSICAL for n in out["not_issued"])
    refused(ledger, Conflict, ledger.apply, gz, GZ_PHYSICAL, gz_contract("GZ-C1", "1000000"), actor=gz,
            parameters=PHYSICAL, why="claimed")


def test_one_contract_under_two_schemes_of_one_stacking_group_refused(ledger, gz):
    # Guizhou's cash voucher and Guiyang's compute-usage support share 不重复支持，就高不就低.
    e = guiyang_enterprise(7)
    ledger.register_enterprise(e, actor=ADMIN)
    code = e.credit_code
    contract = gz_contract("GZ-GY-1", "8000000", "2026-02-27", city="贵阳市")
    assert claim(ledger, code, GZ, contract)["face"] == "240000.00"
    refused(ledger, Conflict, ledger.apply, code, "guiyang-compute-usage", contract, actor=code, why="claimed")
    # The other scheme is open for a business not yet claimed: 1‰ of 8,000,000.
    assert claim(ledger, code, "guiyang-compute-usage", {**contract, "id": "GY-2026"})["face"] == "8000.00"


def test_amounts_are_checked_before_anything_is_written(ledger, gz):
    v = claim(ledger, gz, GZ, gz_contract("GZ-C1", "1000000"))["id"]
    for bad in ("0", "-5", "1.001", "abc"):
        refused(ledger, InputError, ledger.redeem, v, enterprise=gz, amount=bad, party=GZ_PLATFORM,
                invoice="INV-1", actor=gz)
    refused(ledger, InputError, ledger.redeem, v, enterprise=gz, amount="1", party=GZ_PLATFORM, invoice=" ",
            actor=gz)
    refused(ledger, InputError, ledger.hold, v, enterprise=gz, amount="1", platform=GZ_PLATFORM, ttl_seconds=0,
            actor=gz)
    refused(ledger, InputError, ledger.apply, gz, GZ, gz_contract("GZ-C2", "-1"), actor=gz)
    refused(ledger, InputError, ledger.apply, gz, GZ, {**gz_contract("GZ-C2", "1"), "kind": "lottery"}, actor=gz)


def test_a_hold_open_at_expiry_returns_with_the_rest(ledger, gz, clock):
    v = claim(ledger, gz, GZ, gz_contract("GZ-C1", "1000000"))["id"]  # 30,000 through 2026-09-01
    clock.set(datetime(2026, 9, 1, 23, 55, tzinfo=CHINA_TZ))
    ledger.hold(v, enterprise=gz, amount="7000", platform=GZ_PLATFORM, ttl_seconds=3600, actor=GZ_PLATFORM)
    clock.advance(minutes=10)
    assert ledger.expire() == {"as_of": "2026-09-02", "expired": [v], "returned": "30000.00"}
    view = ledger.voucher(v)
    assert (view["status"], view["available"], view["held"]) == ("expired", "0.00", "0.00")
    assert [e["event"] for e in all_entries(ledger, voucher_id=v)] == ["issue", "hold", "hold.lapse", "expire"]


def test_guizhou_one_contract_is_claimed_once_by_one_party(ledger, gz):
    app = ledger.apply(gz, GZ, gz_contract("GZ-C1", "1000000"), actor=gz)
    refused(ledger, Conflict, ledger.apply, gz, GZ, gz_contract("GZ-C1", "1000000"), actor=gz,
            says="open application")
    ledger.approve(app["id"], actor=ADMIN)
    refused(ledger, Conflict, ledger.approve, app["id"], actor=ADMIN, says="already approved")
    refused(ledger, Conflict, ledger.apply, gz, GZ, gz_contract("GZ-C1", "1000000"), actor=gz, why="claimed")
    other = guizhou_enterprise(2, roles=frozenset({"data_provider"}))
    ledger.register_enterprise(other, actor=ADMIN)  # 同一业务只能一方申领: the provider side may not claim it too
    refused(ledger, Conflict, ledger.apply, other.credit_code, GZ,
            gz_contract("GZ-C1", "1000000", role="data_provider"), actor=other.credit_code, why="claimed")


def test_guizhou_rejected_application_issues_nothing(ledger, gz):
    app = ledger.apply(gz, GZ, gz_contract("GZ-C1", "1000000"), actor=gz)
    refused(ledger, InputError, ledger.reject, app["id"], reason="", actor=ADMIN)
    out = ledger.reject(app["id"], reason="合同不实", actor=ADMIN)
    assert (out["status"], out["reason"], out["voucher_id"]) == ("rejected", "合同不实", None)
    refused(ledger, Conflict, ledger.approve, app["id"], actor=ADMIN)
    assert balance(ledger, f"budget:{GZ}:2026") == 0
    assert [e["event"] for e in all_entries(ledger, enterprise=gz)][-2:] == ["apply", "reject"]


def test_guizhou_holds_reserve_commit_release_and_lapse(ledger, gz, clock):
    v = claim(ledger, gz, GZ, gz_contract("GZ-C1", "50000000"))["id"]  # 1,500,000
    h1 = ledger.hold(v, enterprise=gz, amount="200000", platform=GZ_PLATFORM, ttl_seconds=600, actor=GZ_PLATFORM)
    assert (h1["status"], h1["amount"], h1["party"]) == ("held", "200000.00", GZ_PLATFORM)
    view = ledger.voucher(v)
    assert (view["available"], view["held"]) == ("1300000.00", "200000.00")

    refused(ledger, Forbidden, ledger.commit_hold, h1["id"], platform="other-platform", invoice="INV-H1",
            actor="other")
    red = ledger.commit_hold(h1["id"], platform=GZ_PLATFORM, invoice="INV-H1", actor=GZ_PLATFORM)
    assert (red["amount"], red["status"], red["party"], red["invoice"]) == ("200000.00", "redeemed", GZ_PLATFORM,
                                                                           "INV-H1")
    view = ledger.voucher(v)
    assert (view["available"], view["held"], view["status"]) == ("1300000.00", "0.00", "partly_redeemed")
    assert balance(ledger, f"receivable:{GZ_PLATFORM}") == Decimal("200000.00")
    refused(ledger, Conflict, ledger.commit_hold, h1["id"], platform=GZ_PLATFORM, invoice="INV-H1b",
            actor=GZ_PLATFORM, says="committed")

    h2 = ledger.hold(v, enterprise=gz, amount="100000", platform=GZ_PLATFORM, actor=GZ_PLATFORM)
    assert ledger.voucher(v)["available"] == "1200000.00"
    assert ledger.release_hold(h2["id"], platform=GZ_PLATFORM, actor=GZ_PLATFORM)["status"] == "released"
    assert ledger.voucher(v)["available"] == "1300000.00"
    refused(ledger, Conflict, ledger.release_hold, h2["id"], platform=GZ_PLATFORM, actor=GZ_PLATFORM)

    refused(ledger, Conflict, ledger.hold, v, enterprise=gz, amount="1300000.01", platform=GZ_PLATFORM,
            actor=GZ_PLATFORM)
    h3 = ledger.hold(v, enterprise=gz, amount="1300000", platform=GZ_PLATFORM, ttl_seconds=60, actor=GZ_PLATFORM)
    assert ledger.voucher(v)["available"] == "0.00"
    refused(ledger, Conflict, ledger.redeem, v, enterprise=gz, amount="1", party=GZ_PLATFORM, invoice="INV-X",
            actor=gz)
    clock.advance(seconds=61)  # not committed in time: the hold lapses
    refused(ledger, Conflict, ledger.commit_hold, h3["id"], platform=GZ_PLATFORM, invoice="INV-H3",
            actor=GZ_PLATFORM, says="lapsed")
    swept = ledger.expire()  # the sweep lapses overdue holds too
    assert swept["expired"] == []
    view = ledger.voucher(v)
    assert (view["available"], view["held"]) == ("1300000.00", "0.00")
    lapse = all_entries(ledger, voucher_id=v, event="hold.lapse")
    assert [(e["ref"], e["actor"]) for e in lapse] == [(h3["id"], "system:hold-timer")]
    # An invoice backs one claim only.
    refused(ledger, Conflict, ledger.redeem, v, enterprise=gz, amount="1000", party=GZ_PLATFORM, invoice="INV-H1",
            actor=gz, says="INV-H1")
    red2 = ledger.redeem(v, enterprise=gz, amount="1300000", party=GZ_PLATFORM, invoice="INV-2", actor=gz)
    assert red2["amount"] == "1300000.00"
    assert ledger.voucher(v)["available"] == "0.00"
    assert ledger.yearly_report(GZ, 2026)["redeemed"] == "1500000.00"
    assert ledger.verify()["ok"]


def test_a_hold_is_not_committed_for_a_blacklisted_holder_or_past_the_voucher_s_last_day(ledger, gz, clock):
    v = claim(ledger, gz, GZ, gz_contract("GZ-C1", "1000000"))["id"]  # 30,000 through 2026-09-01
    clock.set(datetime(2026, 9, 1, 23, 50, tzinfo=CHINA_TZ))
    late = ledger.hold(v, enterprise=gz, amount="5000", platform=GZ_PLATFORM, ttl_seconds=3600, actor=GZ_PLATFORM)
    clock.advance(minutes=20)  # 2026-09-02 00:10: the hold has time left, the voucher has none (逾期作废)
    refused(ledger, Conflict, ledger.commit_hold, late["id"], platform=GZ_PLATFORM, invoice="INV-LATE",
            actor=GZ_PLATFORM, says="expired")

    other = guizhou_enterprise(3)
    ledger.register_enterprise(other, actor=ADMIN)
    w = claim(ledger, other.credit_code, GZ, gz_contract("GZ-C2", "1000000", "2026-09-02"))["id"]
    h = ledger.hold(w, enterprise=other.credit_code, amount="5000", platform=GZ_PLATFORM, actor=GZ_PLATFORM)
    ledger.blacklist(other.credit_code, reason="提供虚假材料", actor=ADMIN)
    refused(ledger, Forbidden, ledger.commit_hold, h["id"], platform=GZ_PLATFORM, invoice="INV-BL",
            actor=GZ_PLATFORM, says="黑名单")
    assert ledger.release_hold(h["id"], platform=GZ_PLATFORM, actor=GZ_PLATFORM)["status"] == "released"


def test_guizhou_lapsed_hold_returns_value_to_a_later_redemption(ledger, gz, clock):
    v = claim(ledger, gz, GZ, gz_contract("GZ-C1", "1000000"))["id"]  # 30,000
    ledger.hold(v, enterprise=gz, amount="30000", platform=GZ_PLATFORM, ttl_seconds=900, actor=GZ_PLATFORM)
    clock.advance(seconds=899)
    refused(ledger, Conflict, ledger.redeem, v, enterprise=gz, amount="0.01", party=GZ_PLATFORM, invoice="I1",
            actor=gz)
    clock.advance(seconds=2)
    red = ledger.redeem(v, enterprise=gz, amount="30000", party=GZ_PLATFORM, invoice="I1", actor=gz)
    assert red["amount"] == "30000.00"
    assert [e["event"] for e in all_entries(ledger, voucher_id=v)] == ["issue", "hold", "hold.lapse", "redeem"]


def test_guizhou_void_returns_unspent_value_and_frees_the_business(ledger, gz):
    v = claim(ledger, gz, GZ, gz_contract("GZ-C1", "50000000"))["id"]
    ledger.redeem(v, enterprise=gz, amount="500000", party=GZ_PLATFORM, invoice="INV-1", actor=gz)
    refused(ledger, InputError, ledger.void, v, reason="", actor=ADMIN)
    out = ledger.void(v, reason="issued in error", actor=ADMIN)
    assert (out["status"], out["available"]) == ("voided", "0.00")
    report = ledger.yearly_report(GZ, 2026)
    assert (report["granted"], report["redeemed"], report["voided"], report["net_granted"]) == (
        "1500000.00", "500000.00", "1000000.00", "500000.00")
    refused(ledger, Conflict, ledger.redeem, v, enterprise=gz, amount="1", party=GZ_PLATFORM, invoice="INV-2",
            actor=gz, says="voided")
    refused(ledger, Conflict, ledger.void, v, reason="again", actor=ADMIN)
    # The voided voucher no longer claims GZ-C1; what was redeemed (500,000) still counts.
    again = claim(ledger, gz, GZ, gz_contract("GZ-C1", "50000000"))
    assert again["face"] == "1500000.00"
    # 500,000 redeemed + 1,500,000 issued again: the year's 2,000,000 is used.
    refused(ledger, CapReached, ledger.apply, gz, GZ, gz_contract("GZ-C2", "50000000"), actor=gz, why="cap")


# --- Jinan data voucher: proof, confirmation, settlement, four eyes ---------------------------------


@pytest.fixture
def jn(ledger):
    e = jinan_enterprise(1)
    ledger.register_enterprise(e, actor=ADMIN)
    ledger.onboard_party(JN_PROVIDER, "provider", "济南数据资产入表服务有限公司", actor=ADMIN)
    return e.credit_code


def test_jinan_full_path(ledger, jn, clock):
    app = ledger.apply(jn, JN, jn_service("JN-1", "30000"), actor=jn)
    v = ledger.approve(app["id"], actor=ADMIN)["voucher"]
    # 每家企业最高可申领2万元: a 30,000 service gets 20,000; no expiry in the source.
    assert (v["face"], v["kind"], v["expires_on"]) == ("20000.00", "data", None)
    clock.advance(days=1)
    red = ledger.redeem(v["id"], enterprise=jn, amount="20000", party=JN_PROVIDER, invoice="JN-INV-1", actor=jn)
    r = red["id"]
    assert (red["status"], red["amount"]) == ("redeemed", "20000.00")

    proof = sha256(b"data asset booking report, signed")
    refused(ledger, Conflict, ledger.confirm, r, enterprise=jn, rating=5, actor=jn, says="proof_uploaded")
    refused(ledger, Conflict, ledger.request_settlement, r, party=JN_PROVIDER, actor=JN_PROVIDER, says="confirmed")
    refused(ledger, InputError, ledger.proof, r, party=JN_PROVIDER, file_hash="not-a-hash", actor=JN_PROVIDER)
    refused(ledger, InputError, ledger.proof, r, party=JN_PROVIDER, file_hash=proof.upper(), actor=JN_PROVIDER)
    ledger.onboard_party("jn-other-provider", "provider", "另一家服务商", actor=ADMIN)
    refused(ledger, Forbidden, ledger.proof, r, party="jn-other-provider", file_hash=proof, actor="jn-other")
    clock.advance(days=1)
    out = ledger.proof(r, party=JN_PROVIDER, file_hash=proof, actor=JN_PROVIDER)
    assert (out["status"], out["proof_hash"]) == ("proof_uploaded", proof)

    # Settle before the holder confirms: refused.
    refused(ledger, Conflict, ledger.request_settlement, r, party=JN_PROVIDER, actor=JN_PROVIDER, says="confirmed")
    refused(ledger, Forbidden, ledger.confirm, r, enterprise=jinan_enterprise(2).credit_code, rating=5, actor="x")
    refused(ledger, InputError, ledger.confirm, r, enterprise=jn, rating=6, actor=jn)
    refused(ledger, InputError, ledger.confirm, r, enterprise=jn, rating=True, actor=jn)
    clock.advance(days=1)
    out = ledger.confirm(r, enterprise=jn, rating=4, actor=jn)
    assert (out["status"], out["rating"]) == ("confirmed", 4)

    refused(ledger, Conflict, ledger.approve_settlement, r, actor=ADMIN, says="settlement_requested")
    refused(ledger, Conflict, ledger.pay, r, actor=ADMIN2, says="approved")
    clock.advance(days=1)
    assert ledger.request_settlement(r, party=JN_PROVIDER, actor=JN_PROVIDER)["status"] == "settlement_requested"
    clock.advance(days=1)
    out = ledger.approve_settlement(r, actor=ADMIN)
    assert (out["status"], out["approved_by"]) == ("approved", ADMIN)
    # The administrator who approved may not also pay (four eyes).
    refused(ledger, Forbidden, ledger.pay, r, actor=ADMIN, says="four eyes")
    clock.advance(days=1)
    out = ledger.pay(r, actor=ADMIN2)
    assert (out["status"], out["approved_by"], out["paid_by"]) == ("paid", ADMIN, ADMIN2)
    refused(ledger, Conflict, ledger.pay, r, actor="admin:zhao")

    accounts = ledger.balances(enterprise=jn)["accounts"]
    assert accounts == {f"budget:{JN}:2026": "-20000.00", f"paid:{JN_PROVIDER}": "20000.00",
                        f"receivable:{JN_PROVIDER}": "0.00", f"voucher:{v['id']}": "0.00"}
    steps = [(e["event"], e["actor"], e["at"][:10]) for e in all_entries(ledger, voucher_id=v["id"])]
    assert steps == [("issue", ADMIN, "2026-03-01"), ("redeem", jn, "2026-03-02"),
                     ("proof", JN_PROVIDER, "2026-03-03"), ("confirm", jn, "2026-03-04"),
                     ("settle.request", JN_PROVIDER, "2026-03-05"), ("settle.approve", ADMIN, "2026-03-06"),
                     ("pay", ADMIN2, "2026-03-07")]
    proof_entry = all_entries(ledger, voucher_id=v["id"], event="proof")[0]
    assert proof_entry["memo"] == {"file_hash": proof} and proof_entry["ref"] == r
    report = ledger.yearly_report(JN, 2026)
    assert (report["granted"], report["redeemed"], report["paid"]) == ("20000.00", "20000.00", "20000.00")
    assert ledger.verify()["ok"]


def test_jinan_partial_redemption_and_a_smaller_service(ledger, jn):
    v = claim(ledger, jn, JN, jn_service("JN-1", "15000"))
    assert v["face"] == "15000.00"  # the service's price, under 20,000
    ledger.redeem(v["id"], enterprise=jn, amount="6000", party=JN_PROVIDER, invoice="JN-INV-1", actor=jn)
    assert ledger.voucher(v["id"])["available"] == "9000.00"
    ledger.redeem(v["id"], enterprise=jn, amount="9000", party=JN_PROVIDER, invoice="JN-INV-2", actor=jn)
    assert ledger.voucher(v["id"])["available"] == "0.00"
    refused(ledger, Conflict, ledger.redeem, v["id"], enterprise=jn, amount="0.01", party=JN_PROVIDER,
            invoice="JN-INV-3", actor=jn)


def test_jinan_provider_not_onboarded_or_exited_is_refused(ledger, jn):
    v = claim(ledger, jn, JN, jn_service("JN-1", "20000"))["id"]
    refused(ledger, NotFound, ledger.redeem, v, enterprise=jn, amount="100", party="unknown-provider",
            invoice="JN-INV-1", actor=jn, says="not an onboarded")
    red = ledger.redeem(v, enterprise=jn, amount="100", party=JN_PROVIDER, invoice="JN-INV-1", actor=jn)

    out = ledger.exit_party(JN_PROVIDER, reason="拒不提供服务", forced=True, actor=ADMIN)
    assert out == {"id": JN_PROVIDER, "status": "exited"}
    exit_entry = all_entries(ledger, event="party.exit")[-1]
    assert (exit_entry["ref"], exit_entry["actor"], exit_entry["memo"]) == (
        JN_PROVIDER, ADMIN, {"reason": "拒不提供服务", "forced": True})
    refused(ledger, Forbidden, ledger.redeem, v, enterprise=jn, amount="100", party=JN_PROVIDER,
            invoice="JN-INV-2", actor=jn, says="exited")
    refused(ledger, Forbidden, ledger.proof, red["id"], party=JN_PROVIDER, file_hash=sha256(b"x"), actor="p")
    refused(ledger, NotFound, ledger.exit_party, "unknown-provider", reason="x", forced=False, actor=ADMIN)
    refused(ledger, InputError, ledger.onboard_party, "p", "bank", "银行", actor=ADMIN)

    # A blacklisted provider cannot come back.
    ledger.onboard_party("jn-fraud", "provider", "虚假服务商", actor=ADMIN)
    ledger.blacklist("jn-fraud", reason="提供虚假服务", actor=ADMIN)
    refused(ledger, Forbidden, ledger.onboard_party, "jn-fraud", "provider", "虚假服务商", actor=ADMIN)
    refused(ledger, Forbidden, ledger.redeem, v, enterprise=jn, amount="100", party="jn-fraud",
            invoice="JN-INV-3", actor=jn)


def test_jinan_blacklisted_enterprise_cannot_apply_or_redeem(ledger, jn):
    v = claim(ledger, jn, JN, jn_service("JN-1", "20000"))["id"]
    refused(ledger, InputError, ledger.blacklist, jn, reason="", actor=ADMIN)
    refused(ledger, NotFound, ledger.blacklist, "nobody", reason="x", actor=ADMIN)
    out = ledger.blacklist(jn, reason="提供虚假材料", actor=ADMIN)
    assert out == {"subject": jn, "status": "blacklisted", "reason": "提供虚假材料"}
    entry = all_entries(ledger, event="blacklist")[-1]
    assert (entry["enterprise"], entry["actor"], entry["memo"]) == (jn, ADMIN, {"reason": "提供虚假材料"})
    other = jinan_enterprise(2)
    ledger.register_enterprise(other, actor=ADMIN)
    refused(ledger, Forbidden, ledger.apply, jn, JN, jn_service("JN-2", "20000"), actor=jn, says="黑名单")
    refused(ledger, Forbidden, ledger.redeem, v, enterprise=jn, amount="100", party=JN_PROVIDER,
            invoice="JN-INV-1", actor=jn)
    # Registering the profile again keeps the standing.
    assert ledger.register_enterprise(jinan_enterprise(1), actor=ADMIN)["status"] == "blacklisted"
    refused(ledger, Forbidden, ledger.apply, jn, JN, jn_service("JN-2", "20000"), actor=jn)
    assert claim(ledger, other.credit_code, JN, jn_service("JN-3", "20000"))["face"] == "20000.00"


def test_jinan_settlement_for_a_blacklisted_holder_is_not_approved(ledger, jn):
    v = claim(ledger, jn, JN, jn_service("JN-1", "20000"))["id"]
    r = ledger.redeem(v, enterprise=jn, amount="20000", party=JN_PROVIDER, invoice="JN-INV-1", actor=jn)["id"]
    ledger.proof(r, party=JN_PROVIDER, file_hash=sha256(b"p"), actor=JN_PROVIDER)
    ledger.confirm(r, enterprise=jn, rating=5, actor=jn)
    ledger.request_settlement(r, party=JN_PROVIDER, actor=JN_PROVIDER)
    ledger.blacklist(jn, reason="涉嫌套取财政资金", actor=ADMIN)
    refused(ledger, Forbidden, ledger.approve_settlement, r, actor=ADMIN)


def test_jinan_once_per_enterprise_and_only_before_booking(ledger, jn):
    assert claim(ledger, jn, JN, jn_service("JN-1", "15000"))["face"] == "15000.00"
    # The 5,000 left under 20,000 is not claimable later: one voucher per enterprise.
    err = refused(ledger, CapReached, ledger.apply, jn, JN, jn_service("JN-2", "5000"), actor=jn, why="cap")
    assert "claims per enterprise" in str(err)
    booked = jinan_enterprise(3, data_assets_booked=True)
    ledger.register_enterprise(booked, actor=ADMIN)
    refused(ledger, NotEligible, ledger.apply, booked.credit_code, JN, jn_service("JN-3", "20000"),
            actor=booked.credit_code, why="eligibility", says="尚未实现数据资产入表")


def test_jinan_clawback_after_payment_returns_value_to_the_budget(ledger, jn):
    v = claim(ledger, jn, JN, jn_service("JN-1", "20000"))["id"]
    r = ledger.redeem(v, enterprise=jn, amount="20000", party=JN_PROVIDER, invoice="JN-INV-1", actor=jn)["id"]
    ledger.proof(r, party=JN_PROVIDER, file_hash=sha256(b"fake"), actor=JN_PROVIDER)
    ledger.confirm(r, enterprise=jn, rating=5, actor=jn)
    ledger.request_settlement(r, party=JN_PROVIDER, actor=JN_PROVIDER)
    ledger.approve_settlement(r, actor=ADMIN)
    ledger.pay(r, actor=ADMIN2)
    assert balance(ledger, f"budget:{JN}:2026") == Decimal("-20000.00")

    refused(ledger, InputError, ledger.clawback, r, reason="", actor=ADMIN)
    out = ledger.clawback(r, reason="提供虚假服务，套取财政资金", actor=ADMIN)
    assert out["status"] == "clawed_back"
    assert balance(ledger, f"budget:{JN}:2026") == 0
    assert balance(ledger, f"paid:{JN_PROVIDER}") == 0
    entry = all_entries(ledger, event="clawback")[0]
    assert entry["memo"]["from"] == "paid" and entry["memo"]["recover_from"] == JN_PROVIDER
    assert sorted((p["account"], p["amount"]) for p in entry["postings"]) == [
        (f"budget:{JN}:2026", "20000.00"), (f"paid:{JN_PROVIDER}", "-20000.00")]
    report = ledger.yearly_report(JN, 2026)
    assert (report["granted"], report["paid"], report["clawed_back"], report["net_granted"]) == (
        "20000.00", "20000.00", "20000.00", "0.00")
    refused(ledger, Conflict, ledger.clawback, r, reason="again", actor=ADMIN)
    ledger.blacklist(JN_PROVIDER, reason="提供虚假服务", actor=ADMIN)
    assert ledger.verify()["ok"]


def test_jinan_clawback_before_payment_takes_back_the_receivable(ledger, jn):
    v = claim(ledger, jn, JN, jn_service("JN-1", "20000"))["id"]
    r = ledger.redeem(v, enterprise=jn, amount="8000", party=JN_PROVIDER, invoice="JN-INV-1", actor=jn)["id"]
    ledger.clawback(r, reason="虚假服务", actor=ADMIN)
    assert balance(ledger, f"receivable:{JN_PROVIDER}") == 0
    assert balance(ledger, f"budget:{JN}:2026") == Decimal("-12000.00")  # the 12,000 still on the voucher
    refused(ledger, Conflict, ledger.proof, r, party=JN_PROVIDER, file_hash=sha256(b"x"), actor=JN_PROVIDER)


def test_reverse_a_redemption_points_at_the_original(ledger, jn):
    v = claim(ledger, jn, JN, jn_service("JN-1", "20000"))["id"]
    red = ledger.redeem(v, enterprise=jn, amount="5000", party=JN_PROVIDER, invoice="JN-INV-1", actor=jn)
    original = all_entries(ledger, voucher_id=v, event="redeem")[0]
    issue = all_entries(ledger, voucher_id=v, event="issue")[0]
    refused(ledger, Conflict, ledger.reverse, issue["id"], reason="x", actor=ADMIN, says="only a redemption")
    refused(ledger, NotFound, ledger.reverse, 99999, reason="x", actor=ADMIN)
    refused(ledger, InputError, ledger.reverse, original["id"], reason="", actor=ADMIN)
    out = ledger.reverse(original["id"], reason="wrong voucher", actor=ADMIN)
    assert out["reverses"] == original["id"] and out["redemption"]["status"] == "reversed"
    rev = all_entries(ledger, event="reverse")[0]
    assert (rev["id"], rev["reverses"], rev["ref"], rev["actor"]) == (out["entry_id"], original["id"], red["id"],
                                                                      ADMIN)
    assert sorted((p["account"], p["amount"]) for p in rev["postings"]) == sorted(
        (p["account"], str(-Decimal(p["amount"]))) for p in original["postings"])
    # The original is still there, unchanged: entries are never updated or deleted.
    assert all_entries(ledger, voucher_id=v, event="redeem")[0] == original
    assert ledger.voucher(v)["available"] == "20000.00"
    assert balance(ledger, f"receivable:{JN_PROVIDER}") == 0
    refused(ledger, Conflict, ledger.reverse, original["id"], reason="again", actor=ADMIN, says="reversed")
    assert ledger.yearly_report(JN, 2026)["redeemed"] == "0.00"
    # Too late once settlement is asked.
    r2 = ledger.redeem(v, enterprise=jn, amount="1000", party=JN_PROVIDER, invoice="JN-INV-2", actor=jn)["id"]
    ledger.proof(r2, party=JN_PROVIDER, file_hash=sha256(b"p"), actor=JN_PROVIDER)
    ledger.confirm(r2, enterprise=jn, rating=3, actor=jn)
    ledger.request_settlement(r2, party=JN_PROVIDER, actor=JN_PROVIDER)
    second = all_entries(ledger, voucher_id=v, event="redeem")[-1]
    refused(ledger, Conflict, ledger.reverse, second["id"], reason="late", actor=ADMIN, says="too late")


def test_reverse_a_redemption_made_from_a_hold_returns_value_to_the_voucher(ledger, gz):
    v = claim(ledger, gz, GZ, gz_contract("GZ-C1", "1000000"))["id"]  # 30,000
    h = ledger.hold(v, enterprise=gz, amount="10000", platform=GZ_PLATFORM, actor=GZ_PLATFORM)
    ledger.commit_hold(h["id"], platform=GZ_PLATFORM, invoice="INV-1", actor=GZ_PLATFORM)
    original = all_entries(ledger, voucher_id=v, event="redeem")[0]
    ledger.reverse(original["id"], reason="checkout cancelled", actor=ADMIN)
    view = ledger.voucher(v)
    assert (view["available"], view["held"]) == ("30000.00", "0.00")
    assert ledger.verify()["ok"]


@pytest.mark.parametrize("close", ["void", "expire"])
def test_reverse_after_the_voucher_closed_returns_value_to_the_budget(ledger, gz, clock, close):
    v = claim(ledger, gz, GZ, gz_contract("GZ-C1", "1000000"))["id"]  # 30,000 through 2026-09-01
    ledger.redeem(v, enterprise=gz, amount="1000", party=GZ_PLATFORM, invoice="INV-1", actor=gz)
    if close == "void":
        ledger.void(v, reason="issued in error", actor=ADMIN)
    else:
        clock.set(date(2026, 9, 2))
        ledger.expire()
    original = all_entries(ledger, voucher_id=v, event="redeem")[0]
    out = ledger.reverse(original["id"], reason="redeemed in error", actor=ADMIN)
    rev = all_entries(ledger, event="reverse")[0]
    assert rev["reverses"] == out["reverses"] == original["id"]
    # The voucher already gave back its unspent 29,000; the 1,000 goes to the budget, not onto a dead voucher.
    assert sorted((p["account"], p["amount"]) for p in rev["postings"]) == [
        (f"budget:{GZ}:2026", "1000.00"), (f"receivable:{GZ_PLATFORM}", "-1000.00")]
    assert ledger.voucher(v)["available"] == "0.00"
    assert balance(ledger, f"budget:{GZ}:2026") == 0
    report = ledger.yearly_report(GZ, 2026)
    assert (report["redeemed"], report["net_granted"]) == ("0.00", "0.00")
    # The enterprise's year is whole again: 2,000,000 / 3% = 66,666,666.67 of contracts.
    assert claim(ledger, gz, GZ, gz_contract("GZ-C2", "70000000", ledger.today().isoformat()))["face"] == \
        "2000000.00"
    assert ledger.verify()["ok"]


# --- Hangzhou: the city's 50,000,000 compute-voucher pool; 10 model awards a year --------------------


def hz_enterprises(ledger, n: int, start: int = 1) -> list[str]:
    codes = []
    for i in range(start, start + n):
        e = hangzhou_enterprise(i)
        ledger.register_enterprise(e, actor=ADMIN)
        codes.append(e.credit_code)
    return codes


def test_hangzhou_compute_pool_near_fifty_million(ledger, clock):
    ledger.onboard_party(HZ_PLATFORM, "platform", "杭州算力服务平台", actor=ADMIN)
    codes = hz_enterprises(ledger, 15)
    # The rate is the administrator's (10% here): 40,000,000 of compute gives 4,000,000.
    for i, code in enumerate(codes[:12]):
        out = ledger.post_transaction(code, hz_compute(f"HZ-{i}", "40000000"), platform=HZ_PLATFORM,
                                      actor="platform:hz", parameters=HZ_RATE)
        assert [v["face"] for v in out["vouchers"]] == ["4000000.00"]
    report = ledger.yearly_report(HZ, 2026)
    assert (report["pool"], report["granted"], report["pool_left"], report["vouchers"], report["enterprises"]) == (
        "50000000.00", "48000000.00", "2000000.00", 12, 12)
    # The 13th gets what is left of the pool, the 14th nothing.
    v13 = claim(ledger, codes[12], HZ, hz_compute("HZ-12", "40000000"), parameters=HZ_RATE)
    assert v13["face"] == "2000000.00"
    assert ledger.yearly_report(HZ, 2026)["pool_left"] == "0.00"
    err = refused(ledger, CapReached, ledger.apply, codes[13], HZ, hz_compute("HZ-13", "1000"), actor=codes[13],
                  parameters=HZ_RATE, why="cap")
    assert "shared pool per year" in str(err)
    out = ledger.post_transaction(codes[13], hz_compute("HZ-13", "1000"), platform=HZ_PLATFORM,
                                  actor="platform:hz", parameters=HZ_RATE)
    assert out["vouchers"] == []
    assert any("shared pool per year" in reason for n in out["not_issued"] if n["policy_id"] == HZ
               for reason in n["reasons"])

    # Value that lapses returns to the pool: part-spent voucher voided → its unspent 3,000,000 returns.
    first = ledger.vouchers(policy_id=HZ, limit=1)["items"][0]["id"]
    ledger.redeem(first, enterprise=codes[0], amount="1000000", party=HZ_PLATFORM, invoice="HZ-INV-1",
                  actor=codes[0])
    ledger.void(first, reason="企业注销", actor=ADMIN)
    report = ledger.yearly_report(HZ, 2026)
    assert (report["voided"], report["redeemed"], report["net_granted"], report["pool_left"]) == (
        "3000000.00", "1000000.00", "47000000.00", "3000000.00")
    v15 = claim(ledger, codes[14], HZ, hz_compute("HZ-14", "40000000"), parameters=HZ_RATE)
    assert v15["face"] == "3000000.00"
    assert ledger.yearly_report(HZ, 2026)["pool_left"] == "0.00"
    clock.set(date(2026, 12, 31))
    refused(ledger, CapReached, ledger.apply, codes[14], HZ, hz_compute("HZ-15", "1000000", "2026-12-31"),
            actor=codes[14], parameters=HZ_RATE, why="cap")
    # A business dated in another year draws on this year's pool all the same: the pool is the
    # year of issue's, so back-dating a contract does not reach another year's 50,000,000.
    refused(ledger, CapReached, ledger.apply, codes[14], HZ, hz_compute("HZ-16", "1000000", "2025-06-01"),
            actor=codes[14], parameters=HZ_RATE, why="cap")
    # Issued in 2027, a 2026 contract counts in 2027's pool (10% of 1,000,000 = 100,000).
    clock.set(date(2027, 1, 4))
    v17 = claim(ledger, codes[14], HZ, hz_compute("HZ-17", "1000000", "2026-12-31"), parameters=HZ_RATE)
    assert (v17["face"], v17["year"], v17["issued_on"]) == ("100000.00", 2027, "2027-01-04")
    assert ledger.yearly_report(HZ, 2027)["pool_left"] == "49900000.00"
    assert ledger.yearly_report(HZ, 2026)["pool_left"] == "0.00"
    assert ledger.verify()["ok"]


def test_hangzhou_rate_must_be_set_and_window_holds(ledger, clock):
    (code,) = hz_enterprises(ledger, 1)
    refused(ledger, NotEligible, ledger.apply, code, HZ, hz_compute("HZ-1", "1000000"), actor=code, why="unset")
    clock.set(date(2027, 1, 2))
    refused(ledger, NotEligible, ledger.apply, code, HZ, hz_compute("HZ-2", "1000000", "2027-01-01"), actor=code,
            parameters=HZ_RATE, why="window")
    clock.set(date(2026, 3, 1))
    outside = guizhou_enterprise(5)
    ledger.register_enterprise(outside, actor=ADMIN)
    refused(ledger, NotEligible, ledger.apply, outside.credit_code, HZ, hz_compute("HZ-3", "1000000"),
            actor=outside.credit_code, parameters=HZ_RATE, why="eligibility")
    app = ledger.apply(code, HZ, hz_compute("HZ-4", "1000000"), actor=code, parameters=HZ_RATE)
    # The rate is the administrator's at approval too; without it nothing is issued.
    refused(ledger, NotEligible, ledger.approve, app["id"], actor=ADMIN, why="unset")
    assert ledger.approve(app["id"], actor=ADMIN, parameters=HZ_RATE)["voucher"]["face"] == "100000.00"


def test_hangzhou_specialised_models_at_most_ten_awards_a_year(ledger, clock):
    codes = hz_enterprises(ledger, 12)

    def model(i, cost="10000000", day="2026-03-01", **fields):
        return {"id": f"MODEL-{i}", "date": day, "kind": "model_rd", "amount": cost, "role": "developer",
                "city": "杭州市", "category": "selected", **fields}

    refused(ledger, NotEligible, ledger.apply, codes[0], HZ_MODEL, model(0, category="candidate"), actor=codes[0],
            why="eligibility")
    awards = [claim(ledger, codes[0], HZ_MODEL, model(0, "20000000"))]  # 30% = 6,000,000 → at most 5,000,000
    awards += [claim(ledger, codes[i], HZ_MODEL, model(i)) for i in range(1, 10)]  # 30% of 10,000,000
    assert [a["face"] for a in awards] == ["5000000.00"] + ["3000000.00"] * 9
    assert {a["kind"] for a in awards} == {"award"}
    err = refused(ledger, CapReached, ledger.apply, codes[10], HZ_MODEL, model(10), actor=codes[10], why="cap")
    assert "at most 10 awards" in str(err)
    # A 2025 selection awarded now counts in this year's ten, the year of issue: refused too.
    refused(ledger, CapReached, ledger.apply, codes[10], HZ_MODEL, model(11, day="2025-02-01"), actor=codes[10],
            why="cap")
    clock.set(date(2027, 1, 2))
    refused(ledger, NotEligible, ledger.apply, codes[10], HZ_MODEL, model(13, day="2027-01-01"), actor=codes[10],
            why="window")
    clock.set(date(2026, 3, 1))
    report = ledger.yearly_report(HZ_MODEL, 2026)
    assert (report["vouchers"], report["granted"]) == (10, "32000000.00")
    # An award voided frees its place in the year's ten.
    ledger.void(awards[9]["id"], reason="评选撤销", actor=ADMIN)
    assert claim(ledger, codes[11], HZ_MODEL, model(12))["face"] == "3000000.00"


# --- Guiyang (annual), Hubei (three parties), Fuzhou (draft) ------------------------------------------


def test_guiyang_annual_purchases_as_one_application(ledger, clock):
    e = guiyang_enterprise(1)
    ledger.register_enterprise(e, actor=ADMIN)
    code = e.credit_code

    def year(total, y=2026, **fields):
        return {"id": f"GY-{y}-{total}", "date": f"{y}-12-31", "kind": "data_purchase", "amount": total,
                "platform": "贵阳大数据交易所", "city": "贵阳市", **fields}

    # A year's purchases are claimed once the year is over: in January 2027 for 2026.
    clock.set(date(2027, 1, 5))
    # 超过 500 万元 is strict: exactly 5,000,000 gets nothing.
    refused(ledger, NotEligible, ledger.apply, code, "guiyang-data-trading", year("5000000"), actor=code,
            why="threshold")
    refused(ledger, NotEligible, ledger.apply, code, "guiyang-data-trading", year("8000000", platform="其他平台"),
            actor=code, why="eligibility")
    v = claim(ledger, code, "guiyang-data-trading", year("8000000"))
    # 1‰ of the whole year; granted in 2027, it counts in the year of issue.
    assert (v["face"], v["kind"], v["year"]) == ("8000.00", "award", 2027)
    # 资金扶持年限 1 年: a second qualifying year is refused.
    clock.set(date(2028, 1, 5))
    refused(ledger, CapReached, ledger.apply, code, "guiyang-data-trading", year("9000000", 2027), actor=code,
            why="cap")
    clock.set(date(2027, 1, 5))
    # Cumulative 1,000,000: 1,500,000,000 a year would give 1,500,000.
    big = guiyang_enterprise(2)
    ledger.register_enterprise(big, actor=ADMIN)
    assert claim(ledger, big.credit_code, "guiyang-data-trading", year("1500000000"))["face"] == "1000000.00"
    # Task 14: compute usage in Guiyang, the same terms, its own quota.
    usage = {"id": "GY-COMPUTE-2026", "date": "2026-12-31", "kind": "compute_purchase", "amount": "6000000",
             "city": "贵安新区", "province": "贵州省"}
    assert claim(ledger, code, "guiyang-compute-usage", usage)["face"] == "6000.00"
    not_local = guiyang_enterprise(3, local_tax=False)
    ledger.register_enterprise(not_local, actor=ADMIN)
    refused(ledger, NotEligible, ledger.apply, not_local.credit_code, "guiyang-data-trading", year("8000000"),
            actor=not_local.credit_code, why="eligibility", says="本地纳税")


def test_hubei_three_parties_on_one_contract(ledger):
    roles = {"hubei-tech-transfer-buyer": "buyer", "hubei-tech-transfer-completing-unit": "completing_unit",
             "hubei-tech-transfer-institution": "transfer_institution"}
    codes = {}
    for i, (policy, role) in enumerate(roles.items(), start=1):
        e = hubei_enterprise(i, role)
        ledger.register_enterprise(e, actor=ADMIN)
        codes[policy] = e.credit_code

    def contract(tx_id, amount, role):
        return {"id": tx_id, "date": "2025-06-30", "kind": "technology_contract", "amount": amount, "role": role,
                "province": "湖北省"}

    faces = {p: claim(ledger, codes[p], p, contract("HB-T1", "10000000", r))["face"] for p, r in roles.items()}
    # 8%, 2% and 1% of one 10,000,000 contract, to three parties.
    assert faces == {"hubei-tech-transfer-buyer": "800000.00", "hubei-tech-transfer-completing-unit": "200000.00",
                     "hubei-tech-transfer-institution": "100000.00"}
    buyer = codes["hubei-tech-transfer-buyer"]
    refused(ledger, Conflict, ledger.apply, buyer, "hubei-tech-transfer-buyer",
            contract("HB-T1", "10000000", "buyer"), actor=buyer, why="claimed")
    # 每家企业每年最高100万元: 5,000,000 × 8% = 400,000, only 200,000 left in 2025.
    assert claim(ledger, buyer, "hubei-tech-transfer-buyer", contract("HB-T2", "5000000", "buyer"))["face"] == \
        "200000.00"
    refused(ledger, CapReached, ledger.apply, buyer, "hubei-tech-transfer-buyer",
            contract("HB-T3", "1000000", "buyer"), actor=buyer, why="cap")
    # The institution's cap is 1,500,000: 200,000,000 × 1% = 2,000,000 → 1,400,000 left after 100,000.
    inst = codes["hubei-tech-transfer-institution"]
    assert claim(ledger, inst, "hubei-tech-transfer-institution",
                 contract("HB-T4", "200000000", "transfer_institution"))["face"] == "1400000.00"
    refused(ledger, NotEligible, ledger.apply, buyer, "hubei-tech-transfer-buyer",
            contract("HB-T5", "1000000", "completing_unit"), actor=buyer, why="role")


def test_fuzhou_draft_is_never_applied_by_the_ledger(ledger):
    e = fuzhou_enterprise(1)
    ledger.register_enterprise(e, actor=ADMIN)
    code = e.credit_code
    err = refused(ledger, NotEligible, ledger.apply, code, "fuzhou-major-project",
                  {"id": "FZ-1", "date": "2026-03-01", "kind": "major_project", "amount": "1000000"},
                  actor=code, why="draft")
    assert "征求意见稿" in str(err)
    refused(ledger, NotEligible, ledger.apply, code, "fuzhou-out-of-province-bid",
            {"id": "FZ-2", "date": "2026-03-01", "kind": "bid_won", "amount": "10000000"}, actor=code,
            why="draft")


# --- values the source leaves to an administrator, issue-date expiry, per-year business keys ------------


def test_an_administrator_sets_hangzhou_rate_once_and_every_grant_uses_it(ledger):
    e = hangzhou_enterprise(11)
    ledger.register_enterprise(e, actor=ADMIN)
    code = e.credit_code
    # The source gives no rate: without one the application is refused and names the parameter.
    refused(ledger, NotEligible, ledger.apply, code, HZ, hz_compute("HZ-P1", "1000000"), actor=code,
            why="unset", says="hangzhou-compute-voucher.rate")
    # A rate the source fixes cannot be overridden by an administrator.
    refused(ledger, InputError, ledger.set_parameter, GZ, "rate", "0.05", actor=ADMIN)
    refused(ledger, InputError, ledger.set_parameter, HZ, "rate", "1.5", actor=ADMIN)
    ledger.set_parameter(HZ, "rate", "0.25", actor=ADMIN)
    entry = all_entries(ledger, event="parameter.set")[-1]
    assert (entry["actor"], entry["policy_id"], entry["memo"]) == (ADMIN, HZ, {"name": "rate", "value": "0.25"})
    # 1,000,000 × 0.25 = 250,000, with no parameter passed to apply or approve.
    app = ledger.apply(code, HZ, hz_compute("HZ-P1", "1000000"), actor=code)
    assert ledger.approve(app["id"], actor=ADMIN)["voucher"]["face"] == "250000.00"


def test_guizhou_voucher_runs_six_months_from_the_day_of_issue(ledger, gz, clock):
    # The contract is dated 31 August; the bureau issues on 15 September: 自发放之日起计算.
    clock.set(datetime(2026, 9, 15, 10, 0, tzinfo=CHINA_TZ))
    app = ledger.apply(gz, GZ, gz_contract("GZ-AUG", "1000000", day="2026-08-31"), actor=gz)
    v = ledger.approve(app["id"], actor=ADMIN)["voucher"]
    assert (v["issued_on"], v["expires_on"]) == ("2026-09-15", "2027-03-15")
    # Issued on 31 October: valid through the last day of April (the month has no 31st).
    clock.set(datetime(2026, 10, 31, 9, 0, tzinfo=CHINA_TZ))
    out = ledger.post_transaction(gz, gz_contract("GZ-OCT", "1000000", day="2026-10-30"), platform=GZ_PLATFORM,
                                  actor="platform:" + GZ_PLATFORM)
    assert [(x["issued_on"], x["expires_on"]) for x in out["vouchers"]] == [("2026-10-31", "2027-04-30")]
    assert ledger.expire(date(2027, 3, 15))["expired"] == []  # the last valid day is still valid
    assert ledger.expire(date(2027, 4, 30))["expired"] == [v["id"]]
    assert ledger.expire(date(2027, 5, 1))["expired"] == [out["vouchers"][0]["id"]]


def test_two_enterprises_may_use_the_same_id_for_their_own_year(ledger, clock):
    # A year's purchases are the enterprise's own business: the same id elsewhere is no double claim.
    first, second = guiyang_enterprise(21), guiyang_enterprise(22)
    year = {"id": "2026", "date": "2026-12-31", "kind": "data_purchase", "amount": "6000000",
            "platform": "贵阳大数据交易所", "city": "贵阳市"}
    clock.set(date(2027, 1, 5))
    for e in (first, second):
        ledger.register_enterprise(e, actor=ADMIN)
        assert claim(ledger, e.credit_code, "guiyang-data-trading", year)["face"] == "6000.00"
    # But one enterprise claims its year once.
    refused(ledger, Conflict, ledger.apply, first.credit_code, "guiyang-data-trading", year,
            actor=first.credit_code, why="claimed")


def test_settlement_is_not_approved_nor_paid_to_a_blacklisted_provider(ledger, jn):
    v = claim(ledger, jn, JN, jn_service("JN-1", "20000"))["id"]

    def settled_redemption(invoice: str, amount: str) -> str:
        r = ledger.redeem(v, enterprise=jn, amount=amount, party=JN_PROVIDER, invoice=invoice, actor=jn)["id"]
        ledger.proof(r, party=JN_PROVIDER, file_hash=sha256(invoice.encode()), actor=JN_PROVIDER)
        ledger.confirm(r, enterprise=jn, rating=5, actor=jn)
        ledger.request_settlement(r, party=JN_PROVIDER, actor=JN_PROVIDER)
        return r

    requested = settled_redemption("JN-INV-1", "5000")
    approved = settled_redemption("JN-INV-2", "3000")
    ledger.approve_settlement(approved, actor=ADMIN)
    ledger.blacklist(JN_PROVIDER, reason="提供虚假服务", actor=ADMIN)
    err = refused(ledger, Forbidden, ledger.approve_settlement, requested, actor=ADMIN, says="列入黑名单")
    assert err.field == "party" and str(err).startswith(f"{JN_PROVIDER} is blacklisted")
    refused(ledger, Forbidden, ledger.pay, approved, actor=ADMIN2, says="its claims are not paid")
    assert [ledger.redemption(r)["status"] for r in (requested, approved)] == ["settlement_requested", "approved"]
    assert balance(ledger, f"paid:{JN_PROVIDER}") == 0
    assert balance(ledger, f"receivable:{JN_PROVIDER}") == Decimal("8000.00")  # still owed, not paid
