"""Every field of a policy file is acted on (issue 8.4): flip it and the outcome changes.

`transferable` decides who may spend a voucher, `one_claim_per_business` whether a grant
claims its business, `formula.base` what the rate multiplies, `formula.rounding` the fen,
`formula.note` what the policy's detail shows. Amounts are worked from the clauses:
Guizhou's cash voucher is 合同成交金额的3%, the physical voucher's value is the campaign's
(the tests set 1,000 as an administrator would), Fuzhou's out-of-province bid award is
按不超过合同金额 3%.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from ledger_support import (  # noqa: F401  (fixtures are used by name)
    ADMIN, GZ_PLATFORM, PHYSICAL, backend, clock, fuzhou_enterprise, guizhou_enterprise, gz_contract, ledger_url,
    policy_table, refused,
)
from voucher.calculator import estimate
from voucher.errors import Conflict, Forbidden, PolicyInvalid
from voucher.ledger import open_ledger
from voucher.money import ROUNDING_MODES, Rounding
from voucher.policy import PolicyTable, load_policy_file
from voucher.transactions import transaction_from_dict

GZ, GZ_PHYSICAL, BID = "guizhou-compute-voucher", "guizhou-physical-voucher", "fuzhou-out-of-province-bid"


def flipped(**changes) -> PolicyTable:
    """The shipped table with some policies' sections replaced: {policy id: {section: {field: value}}}."""
    policies = []
    for p in policy_table():
        for section, values in changes.get(p.id.replace("-", "_"), {}).items():
            p = dataclasses.replace(p, **{section: dataclasses.replace(getattr(p, section), **values)})
        policies.append(p)
    return PolicyTable(policies)


@pytest.fixture
def open_with(ledger_url, clock):
    opened = []

    def make(table: PolicyTable):
        led = open_ledger(ledger_url, table=table, clock=clock)
        opened.append(led)
        for serial in (1, 2):
            led.register_enterprise(guizhou_enterprise(serial), actor=ADMIN)
        led.onboard_party(GZ_PLATFORM, "platform", "贵州算力调度平台", actor=ADMIN)
        return led
    yield make
    for led in opened:
        led.close()


def claim(ledger, code, policy, tx, parameters=None):
    app = ledger.apply(code, policy, tx, actor=code, parameters=parameters)
    return ledger.approve(app["id"], actor=ADMIN, parameters=parameters)["voucher"]


# --- transferable ----------------------------------------------------------------------------------


@pytest.mark.parametrize("transferable", [False, True])
def test_transferable_decides_who_may_spend_the_voucher(open_with, transferable):
    ledger = open_with(flipped(guizhou_compute_voucher={"voucher": {"transferable": transferable}}))
    holder, other = guizhou_enterprise(1).credit_code, guizhou_enterprise(2).credit_code
    v = claim(ledger, holder, GZ, gz_contract("GZ-C1", "1000000"))
    assert v["face"] == "30000.00"  # 3% of 1,000,000
    spend = dict(enterprise=other, amount="100.00", party=GZ_PLATFORM, invoice="INV-1", actor=other)
    if not transferable:  # 不得转让: the clause as shipped
        refused(ledger, Forbidden, ledger.redeem, v["id"], **spend, says="不得转让")
        return
    red = ledger.redeem(v["id"], **spend)
    assert (red["status"], red["amount"], red["enterprise"]) == ("redeemed", "100.00", holder)
    assert ledger.voucher(v["id"])["available"] == "29900.00"
    # Whoever spends a transferable voucher must be in good standing too.
    ledger.blacklist(other, reason="套取财政资金", actor=ADMIN)
    refused(ledger, Forbidden, ledger.redeem, v["id"], **{**spend, "invoice": "INV-2"})
    assert ledger.verify()["ok"]


def test_the_shipped_vouchers_are_not_transferable():
    # Guizhou: 不得转让、赠送、买卖、质押、出借; Jinan and Hangzhou say the same.
    assert {p.id for p in policy_table() if p.voucher.transferable} == set()


# --- one claim per business ------------------------------------------------------------------------


@pytest.mark.parametrize("one_claim", [True, False])
def test_one_claim_per_business_decides_whether_a_claimed_business_is_refused(open_with, one_claim):
    terms = {"voucher": {"one_claim_per_business": one_claim}}
    ledger = open_with(flipped(guizhou_compute_voucher=terms, guizhou_physical_voucher=terms))
    code = guizhou_enterprise(1).credit_code
    cash = claim(ledger, code, GZ, gz_contract("GZ-C1", "1000000"))
    assert cash["face"] == "30000.00"
    with ledger.store.read() as tx:
        claims = tx.rows("SELECT scope FROM claims WHERE voucher_id = ? ORDER BY scope", (cash["id"],))
    if one_claim:  # 实物券不得与现金券重复申领; 同一业务只能一方申领
        assert [c["scope"] for c in claims] == ["excl:guizhou-voucher-kind", "group:guizhou-data-compute"]
        refused(ledger, Conflict, ledger.apply, code, GZ_PHYSICAL, gz_contract("GZ-C1", "1000000"), actor=code,
                parameters=PHYSICAL, why="claimed")
        return
    assert claims == []
    physical = claim(ledger, code, GZ_PHYSICAL, gz_contract("GZ-C1", "1000000"), parameters=PHYSICAL)
    assert (physical["face"], physical["business"]) == ("1000.00", "GZ-C1")
    assert ledger.verify()["ok"]  # the replay writes no claims for them either


def test_an_estimate_follows_one_claim_per_business():
    from voucher.history import History

    before = History()
    cash = policy_table().get(GZ)
    before.record(GZ, 2026, Decimal("30000.00"), business="GZ-C1", **cash.claim_groups())
    contract = transaction_from_dict(gz_contract("GZ-C1", "1000000"))
    for one_claim, granted in ((True, Decimal("0.00")), (False, Decimal("30000.00"))):
        table = flipped(guizhou_compute_voucher={"voucher": {"one_claim_per_business": one_claim}})
        result = estimate(table, guizhou_enterprise(1), [contract], history=before.copy()).result(GZ)
        assert result.amount == granted, one_claim


# --- formula.base, rounding, note ------------------------------------------------------------------


def bid(amount: str):
    return transaction_from_dict({"id": "BID-1", "date": "2026-03-01", "kind": "bid_won", "amount": amount,
                                  "province": "江苏省"})


def test_the_base_names_what_the_rate_multiplies():
    table = policy_table()
    assert table.get(BID).formula.base == "amount"
    # 3% of the contract (单个中标合同金额), 5,000,000 ≥ 500 万元以上: 150,000.00.
    assert estimate(table, fuzhou_enterprise(1), [bid("5000000")], include_drafts=True).result(BID).amount == \
        Decimal("150000.00")
    # A base the calculator does not compute is refused, never read as the amount.
    other = PolicyTable([dataclasses.replace(table.get(BID), formula=dataclasses.replace(
        table.get(BID).formula, base="count"))])
    with pytest.raises(PolicyInvalid) as info:
        estimate(other, fuzhou_enterprise(1), [bid("5000000")], include_drafts=True)
    assert info.value.field == "formula.base"


def test_a_file_naming_another_base_is_refused(tmp_path):
    path = tmp_path / "minimal.toml"
    path.write_text('id = "minimal"\nname_zh = "最小政策"\nname_en = "Minimal"\nauthority = "局"\n'
                    'document = "《办法》"\nclause = "给予交易额 1‰的资金支持"\nstatus = "in_force"\n'
                    'province = "贵州省"\nkinds = ["data_purchase"]\nroles = ["demand"]\n\n'
                    '[formula]\nkind = "rate"\nrate = 0.001\nbase = "count"\n', encoding="utf-8")
    policy, errors = load_policy_file(path)
    assert policy is None and [(e.field, e.message) for e in errors] == [
        ("formula.base", "Must be one of: amount.")]


@pytest.mark.parametrize(("rounding", "award"), [
    ("ROUND_HALF_UP", "150000.05"), ("ROUND_HALF_EVEN", "150000.04"), ("ROUND_DOWN", "150000.04"),
])
def test_the_rounding_named_in_the_file_rounds_the_award(rounding, award):
    # 3% of 5,000,001.50 is 150,000.045: half a fen, rounded by the named rule.
    table = flipped(fuzhou_out_of_province_bid={"formula": {"rounding": ROUNDING_MODES[rounding]}})
    got = estimate(table, fuzhou_enterprise(1), [bid("5000001.50")], include_drafts=True).result(BID).amount
    assert got == Decimal(award)


def test_the_rounding_names_are_one_set_of_names():
    assert [r.value for r in Rounding] == ["ROUND_HALF_UP", "ROUND_HALF_EVEN", "ROUND_DOWN"]
    assert ROUNDING_MODES is Rounding and Rounding("ROUND_DOWN") is Rounding.ROUND_DOWN


def test_the_note_is_shown_in_the_policy_detail():
    table = policy_table()
    assert table.get(GZ).detail()["formula"]["note"] == "合同成交金额的3%"
    changed = flipped(guizhou_compute_voucher={"formula": {"note": "另一种说法"}})
    assert changed.get(GZ).detail()["formula"]["note"] == "另一种说法"
