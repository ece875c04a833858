"""One transition table (`voucher/states.py`): the ledger's steps, the audit's replay and the README follow it.

Each redemption is walked along its path (direct settlement for Guizhou, proof first for
Jinan); in every state it passes, every event the table does not allow from that state is
tried and must be refused, writing nothing, and the step the table allows moves it to the
table's state. The replay must then find the derived tables as the ledger wrote them.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from ledger_support import (  # noqa: F401  (fixtures are used by name)
    ADMIN, ADMIN2, GZ_PLATFORM, JN_PROVIDER, backend, clock, guizhou_enterprise, gz_contract, jinan_enterprise,
    jn_service, ledger, ledger_url, refused,
)
from voucher import replay_handlers
from voucher.errors import Conflict
from voucher.states import (
    CLOSED, LIVE, REDEMPTION_TRANSITIONS, VOUCHER_TRANSITIONS, Event, RedemptionStatus, VoucherStatus,
    settlement_needs, transition_table,
)

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
HASH = "ab" * 32


@pytest.mark.parametrize(("name", "table"), [("voucher", VOUCHER_TRANSITIONS),
                                             ("redemption", REDEMPTION_TRANSITIONS)])
def test_the_readme_shows_the_transition_tables_the_code_reads(name, table):
    found = re.search(rf"<!-- transitions: {name} -->\n(.*?)\n<!-- /transitions -->", README, re.S)
    assert found, f"the README has no <!-- transitions: {name} --> table"
    assert found.group(1) == transition_table(table), (
        f"README's {name} table differs from voucher/states.py; paste:\n{transition_table(table)}")


def test_the_table_names_every_state_and_closed_states_are_final():
    assert {t.to for t in REDEMPTION_TRANSITIONS.values()} == set(RedemptionStatus)
    assert {t.to for t in VOUCHER_TRANSITIONS.values()} | LIVE == set(VoucherStatus)
    assert not any(CLOSED & t.needs for t in VOUCHER_TRANSITIONS.values())  # nothing leaves expired or voided
    # Once clawed back or reversed, nothing moves a redemption again.
    final = {RedemptionStatus.CLAWED_BACK, RedemptionStatus.REVERSED}
    assert not any(final & t.needs for t in REDEMPTION_TRANSITIONS.values())


def test_the_replay_takes_its_redemption_steps_from_the_table():
    steps = replay_handlers.REDEMPTION_STEPS
    assert set(steps) == {e for e, t in REDEMPTION_TRANSITIONS.items() if t.needs}
    for event, (follows, status, _) in steps.items():
        assert (follows, status) == tuple(REDEMPTION_TRANSITIONS[event])


def test_settlement_under_proof_first_follows_confirmation_only():
    assert settlement_needs("proof_confirm_settle") == {"confirmed"}
    assert settlement_needs("direct") == {"redeemed", "confirmed"}


def _steps(ledger, holder: str, party: str, redeem_entry: int) -> dict:
    return {
        Event.PROOF: lambda r: ledger.proof(r, party=party, file_hash=HASH, actor=party),
        Event.CONFIRM: lambda r: ledger.confirm(r, enterprise=holder, rating=4, actor=holder),
        Event.SETTLE_REQUEST: lambda r: ledger.request_settlement(r, party=party, actor=party),
        Event.SETTLE_APPROVE: lambda r: ledger.approve_settlement(r, actor=ADMIN),
        Event.PAY: lambda r: ledger.pay(r, actor=ADMIN2),
        Event.CLAWBACK: lambda r: ledger.clawback(r, reason="found later", actor=ADMIN),
        Event.REVERSE: lambda r: ledger.reverse(redeem_entry, reason="in error", actor=ADMIN),
    }


def _walk(ledger, holder, party, voucher_id, invoice, settlement, path):
    red = ledger.redeem(voucher_id, enterprise=holder, amount="1000.00", party=party, invoice=invoice, actor=holder)
    assert red["status"] == REDEMPTION_TRANSITIONS[Event.REDEEM].to
    entry = max(e["id"] for e in ledger.entries(limit=1000)["items"] if e["event"] == Event.REDEEM)
    steps = _steps(ledger, holder, party, entry)
    status = red["status"]
    for following in [*path, None]:
        for event, step in steps.items():
            needs = settlement_needs(settlement) if event == Event.SETTLE_REQUEST else \
                REDEMPTION_TRANSITIONS[event].needs
            if status not in needs:
                refused(ledger, Conflict, step, red["id"])
        if following is None:
            break
        assert status in (settlement_needs(settlement) if following == Event.SETTLE_REQUEST
                          else REDEMPTION_TRANSITIONS[following].needs)
        out = steps[following](red["id"])
        status = (out.get("redemption") or out)["status"]
        assert status == REDEMPTION_TRANSITIONS[following].to
    return status


def test_a_direct_settlement_walks_the_table(ledger):
    e = guizhou_enterprise(1)
    ledger.register_enterprise(e, actor=ADMIN)
    ledger.onboard_party(GZ_PLATFORM, "platform", "贵州算力调度平台", actor=ADMIN)
    app = ledger.apply(e.credit_code, "guizhou-compute-voucher", gz_contract("GZ-T1", "1000000"), actor=e.credit_code)
    v = ledger.approve(app["id"], actor=ADMIN)["voucher"]
    assert v["face"] == "30000.00"  # 合同成交金额的3%
    path = [Event.SETTLE_REQUEST, Event.SETTLE_APPROVE, Event.PAY, Event.CLAWBACK]
    assert _walk(ledger, e.credit_code, GZ_PLATFORM, v["id"], "T-1", "direct", path) == "clawed_back"
    assert _walk(ledger, e.credit_code, GZ_PLATFORM, v["id"], "T-2", "direct", [Event.REVERSE]) == "reversed"
    assert ledger.verify()["ok"], ledger.verify()["problems"]


def test_a_proof_first_settlement_walks_the_table(ledger):
    e = jinan_enterprise(1)
    ledger.register_enterprise(e, actor=ADMIN)
    ledger.onboard_party(JN_PROVIDER, "provider", "济南数据资产入表服务有限公司", actor=ADMIN)
    app = ledger.apply(e.credit_code, "jinan-data-voucher", jn_service("JN-T1", "30000"), actor=e.credit_code)
    v = ledger.approve(app["id"], actor=ADMIN)["voucher"]
    path = [Event.PROOF, Event.CONFIRM, Event.SETTLE_REQUEST, Event.SETTLE_APPROVE, Event.PAY]
    assert _walk(ledger, e.credit_code, JN_PROVIDER, v["id"], "J-1", "proof_confirm_settle", path) == "paid"
    assert _walk(ledger, e.credit_code, JN_PROVIDER, v["id"], "J-2", "proof_confirm_settle",
                 [Event.PROOF, Event.CONFIRM, Event.REVERSE]) == "reversed"
    assert ledger.verify()["ok"], ledger.verify()["problems"]


def test_a_closed_voucher_takes_no_closing_event(ledger):
    e = guizhou_enterprise(1)
    ledger.register_enterprise(e, actor=ADMIN)
    app = ledger.apply(e.credit_code, "guizhou-compute-voucher", gz_contract("GZ-T1", "1000000"), actor=e.credit_code)
    v = ledger.approve(app["id"], actor=ADMIN)["voucher"]
    assert v["status"] == VOUCHER_TRANSITIONS[Event.ISSUE].to
    assert ledger.void(v["id"], reason="error", actor=ADMIN)["status"] == VOUCHER_TRANSITIONS[Event.VOID].to
    refused(ledger, Conflict, ledger.void, v["id"], reason="again", actor=ADMIN, says="already voided")
    # Past its last day (six months on), expire takes only what its `needs` admit: not a voided voucher.
    assert ledger.expire(on=date(2027, 1, 1))["expired"] == []
