"""A ledger that has been through every step that writes a derived table, for the audit tests.

`audited` builds it on the `ledger` fixture (SQLite and PostgreSQL): enterprises (one
blacklisted), parties (one blacklisted, one exited), a parameter, vouchers issued by a
platform's posting and by an approved application, one voided and two expired, claims,
redemptions paid, confirmed and committed from a hold, holds committed and released,
an approved and a rejected application.

Tampering is plain SQL behind the ledger's back (`raw_execute`), as someone with access
to the database would do it.
"""

from __future__ import annotations

import os
from datetime import date
from types import SimpleNamespace

import pytest
from ledger_support import (
    ADMIN, ADMIN2, GZ_PLATFORM, HZ_PLATFORM, JN_PROVIDER, PG_ENV, create_pg_database, drop_pg_database, gz_contract,
    guizhou_enterprise, hangzhou_enterprise, hz_compute, jinan_enterprise, jn_service,
)

DOOMED = "doomed-provider"


def build(ledger, clock) -> SimpleNamespace:
    gz, gz2, jn, hz = guizhou_enterprise(1), guizhou_enterprise(2), jinan_enterprise(3), hangzhou_enterprise(4)
    for e in (gz, gz2, jn, hz):
        ledger.register_enterprise(e, actor=ADMIN)
    for party, kind in ((GZ_PLATFORM, "platform"), (JN_PROVIDER, "provider"), (HZ_PLATFORM, "platform"),
                        (DOOMED, "provider")):
        ledger.onboard_party(party, kind, f"{party} 名称", actor=ADMIN)
    ledger.set_parameter("hangzhou-compute-voucher", "rate", "0.1", actor=ADMIN)
    gz_actor = f"platform:{GZ_PLATFORM}"
    v_gz = ledger.post_transaction(gz.credit_code, gz_contract("GZ-1", "1000000.00"), platform=GZ_PLATFORM,
                                   actor=gz_actor)["vouchers"][0]["id"]  # 30,000.00
    v_gz2 = ledger.post_transaction(gz2.credit_code, gz_contract("GZ-2", "500000.00"), platform=GZ_PLATFORM,
                                    actor=gz_actor)["vouchers"][0]["id"]  # 15,000.00
    paid = ledger.redeem(v_gz, enterprise=gz.credit_code, amount="1000.00", party=GZ_PLATFORM, invoice="INV-1",
                         actor=gz.credit_code)["id"]
    ledger.request_settlement(paid, party=GZ_PLATFORM, actor=gz_actor)
    ledger.approve_settlement(paid, actor=ADMIN)
    ledger.pay(paid, actor=ADMIN2)
    committed = ledger.hold(v_gz, enterprise=gz.credit_code, amount="200.00", platform=GZ_PLATFORM,
                            actor=gz_actor)["id"]
    from_hold = ledger.commit_hold(committed, platform=GZ_PLATFORM, invoice="INV-2", actor=gz_actor)["id"]
    released = ledger.hold(v_gz, enterprise=gz.credit_code, amount="50.00", platform=GZ_PLATFORM,
                           actor=gz_actor)["id"]
    ledger.release_hold(released, platform=GZ_PLATFORM, actor=gz_actor)
    approved = ledger.apply(jn.credit_code, "jinan-data-voucher", jn_service("JN-1", "30000.00"),
                            actor=jn.credit_code)["id"]
    v_jn = ledger.approve(approved, actor=ADMIN)["voucher"]["id"]  # 20,000.00 (the cap)
    confirmed = ledger.redeem(v_jn, enterprise=jn.credit_code, amount="5000.00", party=JN_PROVIDER,
                              invoice="JN-INV-1", actor=jn.credit_code)["id"]
    ledger.proof(confirmed, party=JN_PROVIDER, file_hash="a" * 64, actor=f"provider:{JN_PROVIDER}")
    ledger.confirm(confirmed, enterprise=jn.credit_code, rating=5, actor=jn.credit_code)
    rejected = ledger.apply(hz.credit_code, "hangzhou-compute-voucher", hz_compute("HZ-1", "100000.00"),
                            actor=hz.credit_code)["id"]
    ledger.reject(rejected, reason="材料不全", actor=ADMIN)
    v_void = ledger.post_transaction(hz.credit_code, hz_compute("HZ-2", "100000.00"), platform=HZ_PLATFORM,
                                     actor=f"platform:{HZ_PLATFORM}")["vouchers"][0]["id"]
    ledger.void(v_void, reason="重复申报", actor=ADMIN)
    clock.set(date(2026, 9, 15))
    ledger.expire()  # both Guizhou vouchers (last valid day 2026-09-01)
    ledger.blacklist(gz2.credit_code, reason="套取财政资金", actor=ADMIN)
    ledger.blacklist(DOOMED, reason="虚假交易", actor=ADMIN)
    ledger.exit_party(JN_PROVIDER, reason="自愿退出", forced=False, actor=ADMIN)
    return SimpleNamespace(gz=gz.credit_code, gz2=gz2.credit_code, jn=jn.credit_code, hz=hz.credit_code,
                           v_gz=v_gz, v_gz2=v_gz2, v_jn=v_jn, v_void=v_void, paid=paid, from_hold=from_hold,
                           confirmed=confirmed, committed=committed, released=released, approved=approved,
                           rejected=rejected)


@pytest.fixture
def audited(ledger, clock):
    """(ledger, ids) after every kind of step; it verifies."""
    ids = build(ledger, clock)
    result = ledger.verify()
    assert result["ok"], result["problems"]
    return ledger, ids


def problems_of(result: dict, kind: str) -> list[dict]:
    return [p for p in result["problems"] if p["kind"] == kind]
