"""Worked examples from each clause in policy-sources.md, through `estimate` and the shipped table.

Every expected number is worked out from the clause text in a comment beside it. Where a
test needs one clause on its own (the Guiyang 1‰ would otherwise be outbid by the Guizhou
3% under 不重复支持，就高不就低), it uses a table of just that row; the stacking between them is
tested on the full table.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from voucher.calculator import estimate
from voucher.eligibility import passes
from voucher.history import History
from voucher.policy import PolicyTable, load_policy_table
from voucher.transactions import transaction_from_dict

D = Decimal


def tx(id, day, kind, amount, **fields):
    """A transaction read the way input is read: strings in, exact Decimals out."""
    return transaction_from_dict({"id": id, "date": day, "kind": kind, "amount": amount, **fields})


def only(table, *ids):
    return PolicyTable([table.get(i) for i in ids])


def grants(est, policy_id):
    return [g for g in est.grants if g.policy.id == policy_id]


def amounts(est, policy_id):
    return [g.amount for g in grants(est, policy_id)]


def refusal(est, policy_id, code):
    """The first refusal of `code` for the policy (the one kept with its reason)."""
    refusals = est.result(policy_id).refusals
    assert code in refusals, f"{policy_id}: expected a {code!r} refusal, got {sorted(refusals)}"
    return refusals[code][1]


def explained(grant):
    return "\n".join(grant.explain())


# --- 1. Guiyang: 年度交易金额超过 500 万元 … 交易额 1‰ … 累计最高不超过 100 万元 … 扶持年限 1 年 ----------------

@pytest.fixture
def guiyang(make_enterprise):
    return make_enterprise(name="贵阳数据买方", province="贵州省", city="贵阳市", local_tax=True,
                           exchange_certified=True, roles=["demand"])


def gydex(id, day, amount, platform="贵阳大数据交易所"):
    return tx(id, day, "data_purchase", amount, province="贵州省", city="贵阳市", platform=platform)


def test_guiyang_exactly_5_million_gets_nothing(table, guiyang):
    # 超过 500 万元 is strict: 3,000,000.00 + 2,000,000.00 = 5,000,000.00 does not pass.
    est = estimate(only(table, "guiyang-data-trading"), guiyang,
                   [gydex("A", "2025-03-01", "3000000.00"), gydex("B", "2025-09-01", "2000000.00")])
    assert est.total == 0
    r = refusal(est, "guiyang-data-trading", "threshold")
    assert "5,000,000.00" in r.reason and "strict" in r.reason and "年度交易金额超过 500 万元" in r.reason


@pytest.mark.parametrize(("annual", "granted"), [
    ("5000000.01", D("5000.00")),  # 5,000,000.01 × 0.001 = 5,000.00001 → 5,000.00: the whole amount, not the excess
    ("123456789.05", D("123456.79")),  # 123,456,789.05 × 0.001 = 123,456.78905 → 123,456.79 (四舍五入)
    ("2000000000.00", D("1000000.00")),  # 2,000,000,000 × 0.001 = 2,000,000 → the cumulative cap 1,000,000
])
def test_guiyang_one_per_mille_of_the_year(table, guiyang, annual, granted):
    est = estimate(only(table, "guiyang-data-trading"), guiyang, [gydex("A", "2025-06-30", annual)])
    assert amounts(est, "guiyang-data-trading") == [granted]
    text = explained(est.grants[0])
    assert "clause 「7.引导企业数据入场交易" in text and "× 0.001" in text
    assert "threshold > 5,000,000.00 (strict, 年度交易金额超过 500 万元)" in text


def test_guiyang_cap_is_explained(table, guiyang):
    est = estimate(only(table, "guiyang-data-trading"), guiyang, [gydex("A", "2025-06-30", "2000000000.00")])
    (grant,) = est.grants
    assert grant.before_caps == D("2000000.00")
    # 累计支持最高不超过 100 万元: 2,000,000.00 - 1,000,000.00 removed.
    assert "cumulative cap per enterprise 1,000,000.00: used 0.00, remaining 1,000,000.00, removed 1,000,000.00" \
        in grant.explain()


def test_guiyang_supports_one_year_only(table, guiyang):
    # 资金扶持年限 1 年: 2025 qualifies (6,000,000 × 1‰ = 6,000); 2026 qualifies too but is refused.
    est = estimate(only(table, "guiyang-data-trading"), guiyang,
                   [gydex("A", "2025-05-01", "6000000.00"), gydex("B", "2026-05-01", "8000000.00")])
    assert amounts(est, "guiyang-data-trading") == [D("6000.00")]
    r = refusal(est, "guiyang-data-trading", "cap")
    assert r.business == "guiyang-data-trading/2026"
    assert r.reason == "2026: at most 1 years of support per enterprise; 1 used"


def test_guiyang_purchase_off_the_exchange_is_not_eligible(table, guiyang):
    est = estimate(only(table, "guiyang-data-trading"), guiyang,
                   [gydex("A", "2025-05-01", "9000000.00", platform="其他平台")])
    assert est.total == 0
    assert "在贵阳大数据交易所购买数据产品和服务" in refusal(est, "guiyang-data-trading", "eligibility").reason


def test_guiyang_compute_usage_has_its_own_quota(table, guiyang):
    # Task 14 参照数据交易: 7,000,000 of compute in 贵安新区 × 1‰ = 7,000, although task 7's
    # 1,000,000 and its one year were used up in the same year: the quotas are separate.
    used = History()
    used.record("guiyang-data-trading", 2025, D("1000000.00"), business="guiyang-data-trading/2025",
                group="guizhou-data-compute", exclusive=None)
    est = estimate(only(table, "guiyang-compute-usage"), guiyang,
                   [tx("C", "2025-04-01", "compute_purchase", "7000000.00", province="贵州省", city="贵安新区")],
                   history=used)
    assert amounts(est, "guiyang-compute-usage") == [D("7000.00")]


def test_guiyang_compute_must_be_in_guiyang_or_guian(table, guiyang):
    est = estimate(only(table, "guiyang-compute-usage"), guiyang,
                   [tx("C", "2025-04-01", "compute_purchase", "7000000.00", province="贵州省", city="遵义市")])
    assert est.total == 0
    assert "使用贵阳贵安区域内算力资源" in refusal(est, "guiyang-compute-usage", "eligibility").reason


# --- 2. Guizhou: 合同成交金额的3% 现金券 … 年度累计兑现额度最高不超过200万元 … 有效期6个月 ---------------------------

def compute(id, day, amount, role="demand", city="贵安新区"):
    return tx(id, day, "compute_purchase", amount, role=role, province="贵州省", city=city,
              platform="贵州算力调度平台")


def test_guizhou_two_contracts_meet_the_yearly_cap(table, guiyang):
    # 50,000,000 × 3% = 1,500,000; 30,000,000 × 3% = 900,000, but only 2,000,000 - 1,500,000 = 500,000 is left.
    est = estimate(table, guiyang, [compute("GZ-1", "2026-02-10", "50000000.00"),
                                    compute("GZ-2", "2026-05-18", "30000000.00")])
    assert amounts(est, "guizhou-compute-voucher") == [D("1500000.00"), D("500000.00")]
    second = grants(est, "guizhou-compute-voucher")[1]
    assert second.before_caps == D("900000.00")
    assert ("cap per enterprise per year 2,000,000.00: used 1,500,000.00, remaining 500,000.00, "
            "removed 400,000.00") in second.explain()
    # The same contracts qualified for Guiyang task 14 (1‰): set aside for the higher voucher.
    assert second.set_aside == (("guiyang-compute-usage", D("30000.00")),)
    assert "就高不就低" in refusal(est, "guiyang-compute-usage", "set_aside").reason


def test_guizhou_cap_spent_falls_back_to_guiyang(table, guiyang):
    # A third contract finds the 2,000,000 spent: the Guizhou voucher refuses it, so under
    # 就高不就低 the next scheme takes it: Guiyang task 14 gives 10,000,000 × 1‰ = 10,000
    # (the year's compute, 90,000,000, passes the 5,000,000 threshold).
    est = estimate(table, guiyang, [compute("GZ-1", "2026-02-10", "50000000.00"),
                                    compute("GZ-2", "2026-05-18", "30000000.00"),
                                    compute("GZ-3", "2026-11-02", "10000000.00")])
    assert amounts(est, "guizhou-compute-voucher") == [D("1500000.00"), D("500000.00")]
    assert "cap per enterprise per year 2,000,000.00 reached" in refusal(est, "guizhou-compute-voucher", "cap").reason
    assert amounts(est, "guiyang-compute-usage") == [D("10000.00")]
    assert est.total == D("2010000.00")


def test_compute_provider_gets_nothing(table, guiyang):
    # 算力提供方不得申领.
    est = estimate(table, guiyang, [compute("GZ-P", "2026-11-02", "1000000.00", role="compute_provider")])
    assert est.total == 0
    r = refusal(est, "guizhou-compute-voucher", "role")
    assert r.reason == 'role "compute_provider" may not claim (allowed: data_provider, demand)'
    assert "role" in est.result("guizhou-physical-voucher").refusals


@pytest.mark.parametrize(("issued", "valid_through"), [
    ("2026-03-15", date(2026, 9, 15)),  # the corresponding day six months later
    ("2026-08-31", date(2027, 2, 28)),  # no 31 February: the month's last day
    ("2027-08-31", date(2028, 2, 29)),  # 2028 is a leap year
])
def test_guizhou_voucher_valid_six_months(table, guiyang, issued, valid_through):
    # 有效期为6个月，自发放之日起计算: 1,000,000 × 3% = 30,000, valid through the day below.
    est = estimate(table, guiyang, [compute("GZ-E", issued, "1000000.00", city="遵义市")])
    (grant,) = grants(est, "guizhou-compute-voucher")
    assert grant.amount == D("30000.00")
    assert grant.expires_on == valid_through
    assert f"voucher valid through {valid_through} (6 months)" in grant.explain()


def test_physical_voucher_needs_an_administrator(table, guiyang):
    # 具体活动方案由平台服务方制定: no value in the source, so the row never invents one.
    est = estimate(table, guiyang, [compute("GZ-1", "2026-03-01", "1000000.00", city="遵义市")])
    assert "an administrator must set it" in refusal(est, "guizhou-physical-voucher", "unset").reason
    assert amounts(est, "guizhou-compute-voucher") == [D("30000.00")]


def test_cash_or_physical_never_both(table, guiyang):
    # 实物券不得与现金券重复申领: with a physical voucher worth 50,000 set by the administrator,
    # one business gets the higher of 50,000 and the cash 1,000,000 × 3% = 30,000, not both.
    est = estimate(table, guiyang, [compute("GZ-1", "2026-03-01", "1000000.00", city="遵义市")],
                   parameters={"guizhou-physical-voucher": {"amount": D("50000")}})
    (grant,) = est.grants
    assert (grant.policy.id, grant.amount) == ("guizhou-physical-voucher", D("50000"))
    assert grant.policy.voucher.kind == "physical" and grant.expires_on == date(2026, 9, 1)
    assert grant.set_aside == (("guizhou-compute-voucher", D("30000.00")),)
    assert "granted under guizhou-physical-voucher (50,000.00), the higher" in \
        refusal(est, "guizhou-compute-voucher", "set_aside").reason
    assert est.total == D("50000")


def test_business_claimed_as_cash_cannot_be_claimed_as_physical(table, guiyang):
    before = History()
    before.record("guizhou-compute-voucher", 2026, D("30000.00"), business="GZ-1", group="guizhou-data-compute",
                  exclusive="guizhou-voucher-kind")
    est = estimate(table, guiyang, [compute("GZ-1", "2026-03-01", "1000000.00", city="遵义市")], history=before,
                   parameters={"guizhou-physical-voucher": {"amount": D("50000")}})
    assert est.total == 0
    r = refusal(est, "guizhou-physical-voucher", "claimed")
    assert "already claimed under guizhou-compute-voucher" in r.reason and "实物券不得与现金券重复申领" in r.reason


def test_stacking_guiyang_and_guizhou_on_one_purchase(table, guiyang):
    # A 6,000,000 purchase on the exchange qualifies for Guiyang (6,000,000 × 1‰ = 6,000) and for the
    # Guizhou voucher (6,000,000 × 3% = 180,000): 不重复支持，就高不就低 grants 180,000 and sets 6,000 aside.
    est = estimate(table, guiyang, [gydex("GY-1", "2026-06-03", "6000000.00")])
    (grant,) = est.grants
    assert (grant.policy.id, grant.amount) == ("guizhou-compute-voucher", D("180000.00"))
    assert grant.set_aside == (("guiyang-data-trading", D("6000.00")),)
    r = refusal(est, "guiyang-data-trading", "set_aside")
    assert r.business == "GY-1"
    assert r.reason == ("business GY-1 is granted under guizhou-compute-voucher (180,000.00), the higher "
                        "(不重复支持，就高不就低)")
    assert any(line.startswith("stacking (") and "guiyang-data-trading would give 6,000.00, set aside" in line
               for line in grant.explain())
    assert est.total == D("180000.00")


def test_zero_contract_grants_nothing_and_does_not_fail(table, guiyang):
    est = estimate(table, guiyang, [compute("GZ-0", "2026-03-01", "0.00", city="遵义市")])
    assert est.total == 0
    assert refusal(est, "guizhou-compute-voucher", "zero").reason == "nothing to grant: the amount before caps is 0.00"


# --- 3. Jinan: 每家企业最高可申领2万元数据券 … 尚未实现数据资产入表 ---------------------------------------------

@pytest.fixture
def jinan(make_enterprise):
    return make_enterprise(name="济南制造", province="山东省", city="济南市")


def booking(id, day, amount):
    return tx(id, day, "data_asset_booking_service", amount, province="山东省", city="济南市")


def test_jinan_20000_once(table, jinan):
    # A 30,000 booking service: the voucher covers 20,000 (每家企业最高2万元); a second service is refused.
    est = estimate(table, jinan, [booking("JN-1", "2024-10-08", "30000.00"), booking("JN-2", "2024-12-01", "8000.00")])
    (grant,) = est.grants
    assert grant.amount == D("20000.00")
    assert grant.policy.voucher.kind == "data" and grant.policy.voucher.settlement == "proof_confirm_settle"
    assert "cumulative cap per enterprise 20,000.00: used 0.00, remaining 20,000.00, removed 10,000.00" in \
        grant.explain()
    assert refusal(est, "jinan-data-voucher", "cap").reason == "at most 1 claims per enterprise; 1 used"


def test_jinan_cheaper_service_uses_the_one_voucher(table, jinan):
    # 15,000 is granted in full; the 5,000 left under the 20,000 is not claimable later (one voucher).
    est = estimate(table, jinan, [booking("JN-1", "2024-10-08", "15000.00"), booking("JN-2", "2024-12-01", "5000.00")])
    assert amounts(est, "jinan-data-voucher") == [D("15000.00")]
    assert "cap" in est.result("jinan-data-voucher").refusals


def test_jinan_zero_service_does_not_spend_the_voucher(table, jinan):
    est = estimate(table, jinan, [booking("JN-0", "2024-10-01", "0.00"), booking("JN-1", "2024-10-08", "12000.00")])
    assert amounts(est, "jinan-data-voucher") == [D("12000.00")]


@pytest.mark.parametrize(("profile", "clause"), [
    ({"data_assets_booked": True}, "尚未实现数据资产入表"),
    ({"operating": False}, "正常经营"),
    ({"legal_person": False}, "具有独立法人资格"),
])
def test_jinan_eligibility(table, make_enterprise, profile, clause):
    ent = make_enterprise(province="山东省", city="济南市", **profile)
    est = estimate(table, ent, [booking("JN-1", "2024-10-08", "30000.00")])
    assert est.total == 0
    assert clause in refusal(est, "jinan-data-voucher", "eligibility").reason


# --- 4. Hangzhou: 2023-08-25 … 2026-12-31, 从优、就高、不重复 ---------------------------------------------------

@pytest.fixture
def hangzhou(make_enterprise):
    return make_enterprise(name="杭州智算", province="浙江省", city="杭州市", sme=True,
                           recognitions=["hangzhou_ai_park", "hangzhou_demo_platform"])


RATE_20 = {"hangzhou-compute-voucher": {"rate": D("0.2")}}


def hz_compute(id, day, amount):
    return tx(id, day, "compute_purchase", amount, province="浙江省", city="杭州市")


def test_hangzhou_compute_voucher_rate_is_set_by_an_administrator(table, hangzhou):
    # The clause gives only the pool (每年总额不超过5000万元), no rate: refused until one is set.
    est = estimate(table, hangzhou, [hz_compute("HZ-1", "2025-03-01", "1000000.00")])
    assert est.total == 0
    assert "an administrator must set it (parameter hangzhou-compute-voucher.rate)" in \
        refusal(est, "hangzhou-compute-voucher", "unset").reason


def test_hangzhou_compute_voucher_with_a_rate(table, hangzhou):
    # With the rate 0.2 set: 1,000,000 × 0.2 = 200,000, well inside the 50,000,000 pool.
    est = estimate(table, hangzhou, [hz_compute("HZ-1", "2025-03-01", "1000000.00")], parameters=RATE_20)
    (grant,) = est.grants
    assert grant.amount == D("200000.00") and grant.rate == D("0.2")
    assert "shared pool per year 50,000,000.00: used 0.00, remaining 50,000,000.00, removed 0.00" in grant.explain()


def test_hangzhou_compute_pool_near_its_end(table, hangzhou):
    # Others have used 49,900,000 of 2025's 50,000,000: 1,000,000 × 0.2 = 200,000 gets the 100,000 left,
    # the next purchase that year nothing; 2026 has a fresh pool.
    used = History()
    used.pool_used[("hangzhou-compute-voucher", 2025)] = D("49900000.00")
    est = estimate(table, hangzhou, [hz_compute("HZ-1", "2025-03-01", "1000000.00"),
                                     hz_compute("HZ-2", "2025-04-01", "1000000.00"),
                                     hz_compute("HZ-3", "2026-01-05", "1000000.00")],
                   history=used, parameters=RATE_20)
    assert amounts(est, "hangzhou-compute-voucher") == [D("100000.00"), D("200000.00")]
    first = grants(est, "hangzhou-compute-voucher")[0]
    assert "shared pool per year 50,000,000.00: used 49,900,000.00, remaining 100,000.00, removed 100,000.00" \
        in first.explain()
    r = refusal(est, "hangzhou-compute-voucher", "cap")
    assert r.business == "HZ-2"
    assert r.reason == "shared pool per year 50,000,000.00 reached (50,000,000.00 used): nothing left"


def test_hangzhou_compute_voucher_does_not_require_an_sme(table, make_enterprise):
    # 重点支持中小企业 favours SMEs; it does not exclude others.
    big = make_enterprise(province="浙江省", city="杭州市", sme=False)
    est = estimate(table, big, [hz_compute("HZ-1", "2025-03-01", "1000000.00")], parameters=RATE_20)
    assert est.total == D("200000.00")


def test_hangzhou_compute_voucher_is_for_hangzhou_enterprises(table, guiyang):
    est = estimate(table, guiyang, [hz_compute("HZ-1", "2025-03-01", "1000000.00")], parameters=RATE_20)
    assert "全市（杭州市）" in refusal(est, "hangzhou-compute-voucher", "eligibility").reason


@pytest.mark.parametrize(("day", "inside"), [
    ("2023-08-24", False), ("2023-08-25", True), ("2026-12-31", True), ("2027-01-05", False),
])
def test_hangzhou_window(table, hangzhou, day, inside):
    # 本意见自2023年8月25日起施行，有效期至2026年12月31日: a demonstration project of 10,000,000 × 30% = 3,000,000.
    est = estimate(table, hangzhou, [tx("DEMO", day, "demo_project", "10000000.00", category="selected")])
    if inside:
        assert amounts(est, "hangzhou-demo-project") == [D("3000000.00")]
    else:
        assert est.total == 0
        r = refusal(est, "hangzhou-demo-project", "window")
        assert r.reason == f"{day} is outside the policy window 2023-08-25 … 2026-12-31"


@pytest.mark.parametrize(("cost", "granted"), [
    ("30000000.00", D("30000000.00")),  # the whole training cost, under the ceiling
    ("80000000.00", D("50000000.00")),  # 补助金额最高不超过5000万元
])
def test_hangzhou_general_model_ceiling(table, hangzhou, cost, granted):
    est = estimate(table, hangzhou, [tx("LLM-1", "2024-06-01", "model_training", cost, role="developer",
                                        city="杭州市", category="leading_over_100b")])
    (grant,) = est.grants
    assert grant.amount == granted
    assert any(line.startswith("cap per item 50,000,000.00") for line in grant.explain())


@pytest.mark.parametrize(("fields", "code", "reason"), [
    # not stated: more than 100 billion parameters and rated leading by a third party
    ({"role": "developer", "category": ""}, "eligibility",
     'transaction.category eq "leading_over_100b" failed (is ""): 参数量超过千亿，经权威第三方评测机构评测性能达到国内领先的通用大模型'),
    # not the lead developer (牵头研发单位)
    ({"role": "demand", "category": "leading_over_100b"}, "role", 'role "demand" may not claim (allowed: developer)'),
])
def test_hangzhou_general_model_refusals(table, hangzhou, fields, code, reason):
    est = estimate(table, hangzhou, [tx("LLM-1", "2024-06-01", "model_training", "30000000.00", **fields)])
    assert est.total == 0
    assert refusal(est, "hangzhou-general-model", code).reason == reason


@pytest.mark.parametrize(("cost", "granted"), [
    ("10000000.00", D("3000000.00")),  # 10,000,000 × 30% = 3,000,000
    ("20000000.00", D("5000000.00")),  # 20,000,000 × 30% = 6,000,000 → 补助金额最高不超过500万元
])
def test_hangzhou_specialised_model(table, hangzhou, cost, granted):
    est = estimate(table, hangzhou, [tx("SM-1", "2025-05-01", "model_rd", cost, role="developer", city="杭州市",
                                        category="selected")])
    assert amounts(est, "hangzhou-specialised-model") == [granted]


def test_hangzhou_specialised_model_ten_a_year(table, hangzhou):
    # 每年评选不超过10个: 9 awarded to others in 2025, so this enterprise's first model is the tenth
    # and its second is refused; 2026 starts a new count.
    awarded = History()
    awarded.pool_awards[("hangzhou-specialised-model", 2025)] = 9
    models = [tx(f"SM-{n}", day, "model_rd", "10000000.00", role="developer", city="杭州市", category="selected")
              for n, day in ((1, "2025-05-01"), (2, "2025-06-01"), (3, "2026-02-01"))]
    est = estimate(table, hangzhou, models, history=awarded)
    assert [g.business for g in est.grants] == ["SM-1", "SM-3"]
    assert amounts(est, "hangzhou-specialised-model") == [D("3000000.00"), D("3000000.00")]
    r = refusal(est, "hangzhou-specialised-model", "cap")
    assert (r.business, r.reason) == ("SM-2", "at most 10 awards a year for all claimants; 10 used")


def test_hangzhou_specialised_model_must_land_in_hangzhou(table, hangzhou):
    est = estimate(table, hangzhou, [tx("SM-1", "2025-05-01", "model_rd", "10000000.00", role="developer",
                                        city="上海市", category="selected")])
    assert "在杭成功落地" in refusal(est, "hangzhou-specialised-model", "eligibility").reason


def test_hangzhou_ai_park(table, hangzhou):
    # 每年对绩效评价结果优秀的 … 最高不超过200万元: 2,000,000 for an excellent year; a second evaluation
    # the same year finds the 2,000,000 spent; a 'good' rating gets nothing; 2026 is a new year.
    evaluations = [tx("PARK-2024", "2024-12-20", "park_evaluation", "0.00", role="platform", category="excellent"),
                   tx("PARK-2024b", "2024-12-28", "park_evaluation", "0.00", role="platform", category="excellent"),
                   tx("PARK-2025", "2025-12-20", "park_evaluation", "0.00", role="platform", category="good"),
                   tx("PARK-2026", "2026-12-20", "park_evaluation", "0.00", role="platform", category="excellent")]
    est = estimate(table, hangzhou, evaluations)
    assert amounts(est, "hangzhou-ai-park") == [D("2000000"), D("2000000")]
    assert "cap per enterprise per year 2,000,000.00 reached" in refusal(est, "hangzhou-ai-park", "cap").reason
    assert "每年对绩效评价结果优秀的" in refusal(est, "hangzhou-ai-park", "eligibility").reason


def test_hangzhou_recognition_awards_once(table, hangzhou):
    # 首次认定: 单项冠军 2,000,000, 小巨人 1,000,000, 隐形冠军 1,000,000, each once; a renewed
    # 单项冠军 gets nothing; 小巨人 was already paid before (history).
    before = History()
    before.once_keys.add(("hangzhou-recognition-award", "little_giant"))
    events = [tx("R-1", "2024-01-10", "recognition", "0", category="single_champion"),
              tx("R-2", "2024-03-10", "recognition", "0", category="hidden_champion"),
              tx("R-3", "2025-01-10", "recognition", "0", category="single_champion"),
              tx("R-4", "2025-02-10", "recognition", "0", category="little_giant")]
    est = estimate(table, hangzhou, events, history=before)
    assert [(g.business, g.amount) for g in est.grants] == [("R-1", D("2000000")), ("R-2", D("1000000"))]
    r = refusal(est, "hangzhou-recognition-award", "once")
    assert (r.business, r.reason) == ("R-3", "single_champion is awarded once (首次); it was paid before")
    assert est.result("hangzhou-recognition-award").refusals["once"][0] == 2
    assert "award for single_champion: 2,000,000.00" in est.grants[0].explain()


@pytest.mark.parametrize(("volume", "granted"), [
    ("20000000.00", None),  # 年服务交易额超过2000万元 is strict
    ("20000000.01", D("2000000")),  # the ceiling, 最高不超过200万元
])
def test_hangzhou_service_platform(table, hangzhou, volume, granted):
    est = estimate(table, hangzhou, [tx("PF-2025", "2025-12-31", "platform_service", volume, role="platform")])
    if granted is None:
        assert est.total == 0
        assert "年服务交易额超过2000万元" in refusal(est, "hangzhou-service-platform", "threshold").reason
    else:
        assert amounts(est, "hangzhou-service-platform") == [granted]


# --- 5. Hubei: 8% / 2% / 1% of the year's technology contracts, 100万 / 100万 / 150万 a year -----------------------

@pytest.mark.parametrize(("role", "policy_id", "granted"), [
    ("buyer", "hubei-tech-transfer-buyer", D("1000000.00")),  # 20,000,000 × 8% = 1,600,000 → 每家企业每年最高100万元
    ("completing_unit", "hubei-tech-transfer-completing-unit", D("400000.00")),  # 20,000,000 × 2%
    ("transfer_institution", "hubei-tech-transfer-institution", D("200000.00")),  # 20,000,000 × 1%
])
def test_hubei_one_contract_three_parties(table, make_enterprise, role, policy_id, granted):
    party = make_enterprise(province="湖北省", city="武汉市", roles=[role])
    est = estimate(table, party, [tx("HB-2025-001", "2025-06-30", "technology_contract", "20000000.00", role=role,
                                     province="湖北省", counterparty="武汉大学")])
    assert [(g.policy.id, g.amount) for g in est.grants] == [(policy_id, granted)]
    assert est.grants[0].year == 2025  # the contract year; paid the following year (上年度)


def test_hubei_buyer_cap_is_explained(table, make_enterprise):
    buyer = make_enterprise(province="湖北省", city="武汉市", roles=["buyer"])
    est = estimate(table, buyer, [tx("HB-1", "2025-06-30", "technology_contract", "20000000.00", role="buyer")])
    (grant,) = est.grants
    assert grant.before_caps == D("1600000.00")
    assert "cap per enterprise per year 1,000,000.00: used 0.00, remaining 1,000,000.00, removed 600,000.00" in \
        grant.explain()


def test_hubei_contracts_of_a_year_are_summed(table, make_enterprise):
    # 上年度相关技术交易额: 2025's 10,000,000 + 5,000,000 = 15,000,000 × 8% = 1,200,000 → 1,000,000;
    # 2026's 5,000,000 × 8% = 400,000 under a fresh yearly cap.
    buyer = make_enterprise(province="湖北省", city="武汉市", roles=["buyer"])
    est = estimate(table, buyer, [tx("HB-1", "2025-03-01", "technology_contract", "10000000.00", role="buyer"),
                                  tx("HB-2", "2025-09-01", "technology_contract", "5000000.00", role="buyer"),
                                  tx("HB-3", "2026-02-01", "technology_contract", "5000000.00", role="buyer")])
    assert [(g.year, g.amount) for g in est.grants] == [(2025, D("1000000.00")), (2026, D("400000.00"))]


def test_hubei_transfer_institution_cap(table, make_enterprise):
    # 200,000,000 × 1% = 2,000,000 → 每年最高150万元.
    inst = make_enterprise(province="湖北省", city="武汉市", roles=["transfer_institution"])
    est = estimate(table, inst, [tx("HB-1", "2025-06-30", "technology_contract", "200000000.00",
                                    role="transfer_institution")])
    assert amounts(est, "hubei-tech-transfer-institution") == [D("1500000.00")]


def test_hubei_is_for_hubei_parties(table, guiyang):
    est = estimate(table, guiyang, [tx("HB-1", "2025-06-30", "technology_contract", "20000000.00", role="buyer")])
    assert est.total == 0
    assert "eligibility" in est.result("hubei-tech-transfer-buyer").refusals


def test_hubei_concept_verification_once_per_centre(table, make_enterprise):
    # 按每个不超过500万元予以一次性支持: 8,000,000 → 5,000,000; another centre 3,000,000 → 3,000,000;
    # the first centre claimed again → refused.
    univ = make_enterprise(province="湖北省", city="武汉市")
    est = estimate(table, univ, [tx("CV-1", "2025-04-01", "concept_verification_centre", "8000000.00"),
                                 tx("CV-2", "2025-05-01", "concept_verification_centre", "3000000.00"),
                                 tx("CV-1", "2026-04-01", "concept_verification_centre", "1000000.00")])
    assert amounts(est, "hubei-concept-verification") == [D("5000000.00"), D("3000000.00")]
    assert "already claimed under hubei-concept-verification" in \
        refusal(est, "hubei-concept-verification", "claimed").reason


# --- 6. Fuzhou (征求意见稿): milestones, honours, major projects, out-of-province bids -----------------------------

@pytest.fixture
def fuzhou(make_enterprise):
    return make_enterprise(name="福州软件", province="福建省", city="福州市", recognitions=["fuzhou_leader"])


FUZHOU = ("fuzhou-revenue-milestones", "fuzhou-honours", "fuzhou-major-project", "fuzhou-out-of-province-bid")


def bid(id, day, amount, province="广东省"):
    return tx(id, day, "bid_won", amount, province=province)


def test_fuzhou_draft_is_not_applied_unless_asked(table, fuzhou):
    business = [tx("REV-2025", "2025-12-31", "annual_revenue", "1200000000.00"),
                tx("HON-1", "2025-05-01", "honour", "0", category="first_top100"),
                tx("MP-1", "2025-05-01", "major_project", "5000000.00"),
                bid("BID-1", "2025-05-01", "10000000.00")]
    est = estimate(table, fuzhou, business)
    assert est.total == 0
    for policy_id in FUZHOU:
        assert est.result(policy_id).policy.status == "draft"
        assert "征求意见稿" in refusal(est, policy_id, "draft").reason
    # What the draft would give: 2,200,000 + 500,000 + 5,000,000 × 30% + 10,000,000 × 3%.
    est = estimate(table, fuzhou, business, include_drafts=True)
    assert {pid: est.result(pid).amount for pid in FUZHOU} == {
        "fuzhou-revenue-milestones": D("2200000"), "fuzhou-honours": D("500000"),
        "fuzhou-major-project": D("1500000.00"), "fuzhou-out-of-province-bid": D("300000.00")}


@pytest.mark.parametrize(("contract", "granted"), [
    ("4999999.99", None),  # below 500 万元以上
    ("5000000.00", D("150000.00")),  # 以上 includes 5,000,000: × 3% = 150,000
    ("40000000.00", D("1000000.00")),  # × 3% = 1,200,000 → 单个项目奖励不超过 100 万元
])
def test_fuzhou_bid_threshold_and_project_cap(table, fuzhou, contract, granted):
    est = estimate(table, fuzhou, [bid("BID-1", "2025-05-01", contract)], include_drafts=True)
    if granted is None:
        assert est.total == 0
        r = refusal(est, "fuzhou-out-of-province-bid", "threshold")
        assert r.reason == ("4,999,999.99 does not pass the threshold ≥ 5,000,000.00 "
                            "(inclusive: 单个中标合同金额 500 万元以上)")
    else:
        (grant,) = est.grants
        assert grant.amount == granted
        assert "threshold ≥ 5,000,000.00 (inclusive, 单个中标合同金额 500 万元以上)" in explained(grant)


def test_fuzhou_three_large_bids_meet_the_yearly_cap(table, fuzhou):
    # 40,000,000 × 3% = 1,200,000 → 1,000,000 per project, twice: the 2,000,000 a year is spent and
    # the third bid is refused; a bid in 2026 starts a new year.
    bids = [bid("BID-1", "2025-03-01", "40000000.00"), bid("BID-2", "2025-06-01", "40000000.00"),
            bid("BID-3", "2025-09-01", "40000000.00"), bid("BID-4", "2026-01-10", "40000000.00")]
    est = estimate(table, fuzhou, bids, include_drafts=True)
    assert [(g.business, g.amount) for g in est.grants] == [
        ("BID-1", D("1000000.00")), ("BID-2", D("1000000.00")), ("BID-4", D("1000000.00"))]
    r = refusal(est, "fuzhou-out-of-province-bid", "cap")
    assert (r.business, r.reason) == ("BID-3", "cap per enterprise per year 2,000,000.00 reached "
                                               "(2,000,000.00 used): nothing left")


def test_fuzhou_third_bid_reduced_to_what_the_year_has_left(table, fuzhou):
    # 40,000,000 → 1,000,000 (per-project cap); 30,000,000 × 3% = 900,000; 20,000,000 × 3% = 600,000,
    # but only 2,000,000 - 1,900,000 = 100,000 is left this year.
    bids = [bid("BID-1", "2025-03-01", "40000000.00"), bid("BID-2", "2025-06-01", "30000000.00"),
            bid("BID-3", "2025-09-01", "20000000.00")]
    est = estimate(table, fuzhou, bids, include_drafts=True)
    assert amounts(est, "fuzhou-out-of-province-bid") == [D("1000000.00"), D("900000.00"), D("100000.00")]
    third = est.grants[2].explain()
    assert "cap per item 1,000,000.00: used 0.00, remaining 1,000,000.00, removed 0.00" in third
    assert ("cap per enterprise per year 2,000,000.00: used 1,900,000.00, remaining 100,000.00, "
            "removed 500,000.00") in third


@pytest.mark.parametrize("province", ["福建省", ""])
def test_fuzhou_bid_must_be_out_of_province(table, fuzhou, province):
    est = estimate(table, fuzhou, [bid("BID-1", "2025-05-01", "10000000.00", province=province)],
                   include_drafts=True)
    assert "中标省外公开招投标项目" in refusal(est, "fuzhou-out-of-province-bid", "eligibility").reason


def test_fuzhou_bid_needs_a_leader(table, make_enterprise):
    plain = make_enterprise(province="福建省", city="福州市")
    est = estimate(table, plain, [bid("BID-1", "2025-05-01", "10000000.00")], include_drafts=True)
    assert "对龙头企业中标" in refusal(est, "fuzhou-out-of-province-bid", "eligibility").reason


def test_fuzhou_revenue_jumping_two_milestones(table, fuzhou):
    # 2024: 450,000,000 passes none. 2025: 1,200,000,000 首次突破 5亿 and 10亿: 1,000,000 + 1,200,000.
    # 2026: 1,300,000,000 passes only milestones already paid.
    years = [tx("REV-2024", "2024-12-31", "annual_revenue", "450000000.00"),
             tx("REV-2025", "2025-12-31", "annual_revenue", "1200000000.00"),
             tx("REV-2026", "2026-12-31", "annual_revenue", "1300000000.00")]
    est = estimate(table, fuzhou, years, include_drafts=True)
    (grant,) = est.grants
    assert (grant.business, grant.amount, grant.once) == ("REV-2025", D("2200000"), ("rev_500m", "rev_1b"))
    assert "milestones rev_500m (> 500,000,000: 1,000,000), rev_1b (> 1,000,000,000: 1,200,000)" in explained(grant)
    assert est.result("fuzhou-revenue-milestones").refusals["milestone"][0] == 2  # 2024 and 2026


def test_fuzhou_milestone_paid_before_is_not_paid_again(table, fuzhou):
    before = History()
    before.once_keys.add(("fuzhou-revenue-milestones", "rev_500m"))
    est = estimate(table, fuzhou, [tx("REV-2025", "2025-12-31", "annual_revenue", "1200000000.00")],
                   history=before, include_drafts=True)
    assert amounts(est, "fuzhou-revenue-milestones") == [D("1200000")]


def test_fuzhou_break_through_is_strict(table, fuzhou):
    # 突破 5 亿元: exactly 500,000,000.00 does not break through it.
    est = estimate(table, fuzhou, [tx("REV-2025", "2025-12-31", "annual_revenue", "500000000.00")],
                   include_drafts=True)
    assert est.total == 0
    assert "milestone" in est.result("fuzhou-revenue-milestones").refusals


def test_fuzhou_honours(table, fuzhou):
    # 首次入选 top 100: 500,000 once; 持续上榜且排名提升: 300,000 again each year it happens.
    events = [tx("H-2024", "2024-11-01", "honour", "0", category="first_top100"),
              tx("H-2025a", "2025-11-01", "honour", "0", category="first_top100"),
              tx("H-2025b", "2025-11-01", "honour", "0", category="rank_improved"),
              tx("H-2026", "2026-11-01", "honour", "0", category="rank_improved")]
    est = estimate(table, fuzhou, events, include_drafts=True)
    assert [(g.business, g.amount) for g in est.grants] == [
        ("H-2024", D("500000")), ("H-2025b", D("300000")), ("H-2026", D("300000"))]
    assert refusal(est, "fuzhou-honours", "once").business == "H-2025a"


@pytest.mark.parametrize(("investment", "granted"), [
    ("5000000.00", D("1500000.00")),  # 5,000,000 × 30%
    ("10000000.00", D("2000000.00")),  # 10,000,000 × 30% = 3,000,000 → 最高不超过 200 万元
])
def test_fuzhou_major_project(table, fuzhou, investment, granted):
    est = estimate(table, fuzhou, [tx("MP-1", "2025-05-01", "major_project", investment)], include_drafts=True)
    assert amounts(est, "fuzhou-major-project") == [granted]


# --- every scheme of the sources has a row ----------------------------------------------------------------

def test_every_scheme_has_a_row(table):
    assert {p.id for p in table} >= {
        "guiyang-data-trading", "guiyang-compute-usage", "guizhou-compute-voucher", "guizhou-physical-voucher",
        "jinan-data-voucher", "hangzhou-compute-voucher", "hangzhou-general-model", "hangzhou-specialised-model",
        "hangzhou-demo-project", "hangzhou-ai-park", "hangzhou-recognition-award", "hangzhou-service-platform",
        "hubei-tech-transfer-buyer", "hubei-tech-transfer-completing-unit", "hubei-tech-transfer-institution",
        "hubei-concept-verification", *FUZHOU}
    for p in table:
        if p.formula.rate_set_by or p.formula.amount_set_by:
            assert p.interpretation  # the row says why the value is left to an administrator
        if p.city == "杭州市":
            assert (p.valid_from, p.valid_until) == (date(2023, 8, 25), date(2026, 12, 31))
            assert (p.stacking.group, p.stacking.clause) == ("hangzhou-ai", "从优、就高、不重复")
        if p.city == "福州市":
            assert p.status == "draft"


def test_guizhou_data_provider_must_be_registered_in_guizhou(table):
    """算力提供方与数据提供方应需在贵州省内注册独立法人: a condition on the data-provider role only."""
    from datetime import date
    from decimal import Decimal

    from voucher.calculator import estimate
    from voucher.enterprise import Enterprise, uscc_check_char
    from voucher.transactions import Transaction

    def enterprise(registered: str) -> Enterprise:
        c17 = "91520100MA6H3K7Q2"
        return Enterprise(c17 + uscc_check_char(c17), province="贵州省", city="贵阳市",
                          registered_province=registered, roles=frozenset({"demand", "data_provider"}))

    def sale(role: str) -> Transaction:
        return Transaction(f"S-{role}", date(2026, 4, 1), "data_purchase", Decimal("1000000.00"), role=role,
                           province="贵州省")

    # Registered in Shanghai: as a data provider it is refused, naming the clause; as the demand side it is not.
    elsewhere = estimate(table, enterprise("上海市"), [sale("data_provider"), sale("demand")])
    result = elsewhere.result("guizhou-compute-voucher")
    assert result.amount == Decimal("30000.00") and result.grants == 1  # the demand side's 3% of 1,000,000
    count, refusal = result.refusals["eligibility"]
    assert refusal.business == "" and "as data_provider" in refusal.reason and "应需在贵州省内注册" in refusal.reason
    # Registered in Guizhou, the data provider's sale earns 3% too.
    home = estimate(table, enterprise("贵州省"), [sale("data_provider")])
    assert home.result("guizhou-compute-voucher").amount == Decimal("30000.00")


# --- branches no shipped row reaches: a per-year rate left to an administrator; the ne / not_contains ops ----

def with_rate_left_open(table, policy_id):
    """The row as if its source named no rate (rate_set_by = "administrator"), as Hangzhou's does."""
    p = table.get(policy_id)
    return dataclasses.replace(p, formula=dataclasses.replace(p.formula, rate=None, rate_set_by="administrator"))


def test_a_per_year_policy_whose_rate_is_unset_grants_nothing_and_says_who_sets_it(table, guiyang):
    open_ = PolicyTable([with_rate_left_open(table, "guiyang-data-trading")])
    purchases = [gydex("A", "2025-05-01", "4000000.00"), gydex("B", "2025-08-01", "2000000.00")]
    est = estimate(open_, guiyang, purchases)
    assert est.total == 0 and est.grants == []
    r = refusal(est, "guiyang-data-trading", "unset")
    assert r.business == "guiyang-data-trading/2025"  # the year passed the threshold: only the rate is missing
    assert r.reason == ("the source gives no rate; an administrator must set it "
                        "(parameter guiyang-data-trading.rate)")
    # Set by an administrator, the year is paid: 6,000,000.00 × 0.002 = 12,000.00.
    set_ = estimate(open_, guiyang, purchases, parameters={"guiyang-data-trading": {"rate": D("0.002")}})
    assert amounts(set_, "guiyang-data-trading") == [D("12000.00")]
    # Under the threshold the threshold is the reason, not the rate.
    small = estimate(open_, guiyang, [gydex("A", "2025-05-01", "4000000.00")])
    assert set(small.result("guiyang-data-trading").refusals) == {"threshold"}


def test_an_unset_per_year_rate_offers_nothing_against_a_higher_scheme(table, guiyang):
    # 不重复支持，就高不就低 with the Guizhou voucher: 6,000,000 × 3% = 180,000 against Guiyang's year.
    both = PolicyTable([table.get("guizhou-compute-voucher"), with_rate_left_open(table, "guiyang-data-trading")])
    purchase = [gydex("A", "2025-05-01", "6000000.00")]
    unset = estimate(both, guiyang, purchase)
    assert [(g.policy.id, g.amount) for g in unset.grants] == [("guizhou-compute-voucher", D("180000.00"))]
    # A rate set at 5% makes the year worth 300,000: then it is the higher, and Guizhou's voucher gives way.
    high = estimate(both, guiyang, purchase, parameters={"guiyang-data-trading": {"rate": D("0.05")}})
    assert [(g.policy.id, g.amount) for g in high.grants] == [("guiyang-data-trading", D("300000.00"))]
    assert "granted under guiyang-data-trading (300,000.00)" in refusal(high, "guizhou-compute-voucher",
                                                                         "set_aside").reason


@pytest.mark.parametrize(("op", "actual", "expected", "result"), [
    ("eq", "贵阳市", "贵阳市", True), ("eq", "遵义市", "贵阳市", False),
    ("ne", "遵义市", "贵阳市", True), ("ne", "贵阳市", "贵阳市", False),
    ("in", "贵安新区", ("贵阳市", "贵安新区"), True), ("in", "遵义市", ("贵阳市", "贵安新区"), False),
    ("not_in", "遵义市", ("贵阳市",), True), ("not_in", "贵阳市", ("贵阳市",), False),
    ("contains", frozenset({"little_giant"}), "little_giant", True), ("contains", frozenset(), "little_giant", False),
    ("not_contains", frozenset(), "little_giant", True),
    ("not_contains", frozenset({"little_giant", "x"}), "little_giant", False),
])
def test_every_condition_op(op, actual, expected, result):
    assert passes(op, actual, expected) is result


NE_POLICY = '''\
id = "ops-ne"
name_zh = "条件测试"
name_en = "Condition test"
authority = "某市大数据发展管理局"
document = "《某办法》"
clause = "遵义市以外、未获评小巨人的企业，非关联交易，给予交易额 1%的资金支持"
status = "in_force"
province = "贵州省"
kinds = ["data_purchase"]
roles = ["demand"]

[[eligibility]]
field = "enterprise.city"
op = "ne"
value = "遵义市"
clause = "遵义市以外"

[[eligibility]]
field = "enterprise.recognitions"
op = "not_contains"
value = "little_giant"
clause = "未获评小巨人"

[[eligibility]]
field = "transaction.counterparty"
op = "ne"
value = "关联方"
clause = "非关联交易"

[formula]
kind = "rate"
rate = 0.01
'''


@pytest.mark.parametrize(("profile", "counterparty", "refused_by"), [
    ({}, "", None),
    ({"city": "遵义市"}, "", 'enterprise.city ne "遵义市" failed (is "遵义市"): 遵义市以外'),
    ({"recognitions": ["little_giant"]}, "", "enterprise.recognitions not_contains \"little_giant\" failed"),
    ({}, "关联方", 'transaction.counterparty ne "关联方" failed (is "关联方"): 非关联交易'),
], ids=["eligible", "ne-enterprise", "not_contains", "ne-transaction"])
def test_ne_and_not_contains_in_a_policy_file(tmp_path, make_enterprise, profile, counterparty, refused_by):
    (tmp_path / "ops-ne.toml").write_text(NE_POLICY, encoding="utf-8")
    ops = load_policy_table(tmp_path)
    enterprise = make_enterprise(**{"province": "贵州省", "city": "贵阳市", "roles": ["demand"], **profile})
    est = estimate(ops, enterprise, [tx("A", "2026-03-01", "data_purchase", "100000.00", province="贵州省",
                                        counterparty=counterparty)])
    if refused_by is None:
        assert amounts(est, "ops-ne") == [D("1000.00")]  # 100,000.00 × 1%
    else:
        assert est.total == 0 and refused_by in refusal(est, "ops-ne", "eligibility").reason
