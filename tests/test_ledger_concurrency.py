"""Limits hold under concurrency: eight OS processes post at once, on SQLite and on PostgreSQL.

Each process is a fresh `python` running `ledger_support.worker_main`, with its own
connection. All of them open the ledger, report ready, and are released together, so
their writes interleave. The check and the write are one transaction in the ledger, so
no interleaving can overspend: the totals must come to min(cap, demand) exactly, every
request must either succeed or be refused with the cap's reason, and the chain must verify.
"""

from __future__ import annotations

import os
from decimal import Decimal

import pytest

from ledger_support import (  # noqa: F401  (fixtures are used by name)
    ADMIN, GZ_PLATFORM, HZ_PLATFORM, HZ_RATE, PG_ENV, backend, clock, create_pg_database, drop_pg_database,
    guizhou_enterprise, gz_contract, hangzhou_enterprise, hz_compute, ledger, ledger_url, policy_table,
    processes_overlapped, run_workers,
)
from voucher.ledger import open_ledger

pytestmark = pytest.mark.slow

PROCESSES = 8
GZ = "guizhou-compute-voucher"
HZ = "hangzhou-compute-voucher"
RATE = {HZ: {"rate": str(HZ_RATE[HZ]["rate"])}}


def deal(ops: list, processes: int = PROCESSES) -> list[list]:
    """Spread the ops over the processes round robin: process k gets ops k, k+8, ..."""
    return [ops[k::processes] for k in range(processes)]


def faces(results: list[list[dict]]) -> list[Decimal]:
    out = []
    for per_process in results:
        for r in per_process:
            if r["ok"] and "voucher" in r:
                out.append(Decimal(r["voucher"]["face"]))
            elif r["ok"] and "post" in r:
                out += [Decimal(v["face"]) for v in r["post"]["vouchers"]]
    return out


def test_annual_cap_holds_when_eight_processes_claim_for_one_enterprise(ledger, ledger_url):
    e = guizhou_enterprise(1)
    ledger.register_enterprise(e, actor=ADMIN)
    code = e.credit_code
    # 80 contracts of 1,000,000: 30,000 each, 2,400,000 asked for against the year's 2,000,000.
    ops = [["claim", code, GZ, gz_contract(f"CAP-{i}", "1000000"), f"cap-{i}"] for i in range(80)]
    results = run_workers([{"url": ledger_url, "ops": part} for part in deal(ops)])

    assert processes_overlapped(results)
    flat = [r for per in results for r in per]
    assert len(flat) == 80
    granted = faces(results)
    assert sum(granted) == Decimal("2000000.00")  # == min(cap, demand), never above
    # Serialized, the grants are 66 × 30,000, then the 20,000 left, then nothing.
    assert sorted(granted) == [Decimal("20000.00")] + [Decimal("30000.00")] * 66
    refusals = [r for r in flat if not r["ok"]]
    assert len(refusals) == 13
    for r in refusals:
        assert (r["error"], r["reason"]) == ("CapReached", "cap"), r
        assert "cap per enterprise per year 2,000,000.00 reached" in r["message"]

    assert ledger.verify()["ok"]
    assert ledger.balances(policy_id=GZ, year=2026)["totals"]["budget"] == "-2000000.00"
    report = ledger.yearly_report(GZ, 2026)
    assert (report["granted"], report["vouchers"]) == ("2000000.00", 67)


def test_shared_pool_holds_when_eight_processes_claim_for_many_enterprises(ledger, ledger_url):
    ledger.onboard_party(HZ_PLATFORM, "platform", "杭州算力服务平台", actor=ADMIN)
    codes = []
    for i in range(16):
        e = hangzhou_enterprise(i + 1)
        ledger.register_enterprise(e, actor=ADMIN)
        codes.append(e.credit_code)
    # 16 purchases of 40,000,000 at the administrator's 10%: 64,000,000 asked of a 50,000,000 pool.
    # Half are applied for and approved, half posted by the platform.
    ops = [["claim", code, HZ, hz_compute(f"POOL-{i}", "40000000"), f"pool-{i}"] if i % 2 else
           ["post", code, hz_compute(f"POOL-{i}", "40000000"), HZ_PLATFORM] for i, code in enumerate(codes)]
    results = run_workers([{"url": ledger_url, "ops": part, "parameters": RATE} for part in deal(ops)])

    assert processes_overlapped(results)
    flat = [r for per in results for r in per]
    granted = faces(results)
    assert sum(granted) == Decimal("50000000.00")
    assert sorted(granted) == [Decimal("2000000.00")] + [Decimal("4000000.00")] * 12
    refused = 0
    for r in flat:
        if r["op"][0] == "post" and not r["post"]["vouchers"]:
            reasons = [t for n in r["post"]["not_issued"] if n["policy_id"] == HZ for t in n["reasons"]]
            assert any("shared pool per year 50,000,000.00 reached" in t for t in reasons), r
            refused += 1
        elif not r["ok"]:
            assert (r["error"], r["reason"]) == ("CapReached", "cap"), r
            assert "shared pool per year 50,000,000.00 reached" in r["message"]
            refused += 1
    assert refused == 3

    assert ledger.verify()["ok"]
    report = ledger.yearly_report(HZ, 2026)
    assert (report["granted"], report["pool_left"], report["vouchers"]) == ("50000000.00", "0.00", 13)


def test_retries_with_one_key_from_eight_processes_write_once(ledger, ledger_url):
    e = guizhou_enterprise(2)
    ledger.register_enterprise(e, actor=ADMIN)
    ledger.onboard_party(GZ_PLATFORM, "platform", "贵州算力调度平台", actor=ADMIN)
    code = e.credit_code
    ops = [["post", code, gz_contract("DUP-1", "10000000"), GZ_PLATFORM],  # the platform's id is the key
           ["apply", code, GZ, gz_contract("DUP-2", "10000000"), "one-apply-key"],
           ["claim", code, GZ, gz_contract("DUP-3", "10000000"), "dup-3"]]
    results = run_workers([{"url": ledger_url, "ops": ops} for _ in range(PROCESSES)])

    for i in range(len(ops)):
        answers = [{k: v for k, v in per[i].items() if k != "span"} for per in results]
        assert all(a["ok"] for a in answers), answers
        assert all(a == answers[0] for a in answers), answers
    assert [v["face"] for v in results[0][0]["post"]["vouchers"]] == ["300000.00"]
    assert results[0][2]["voucher"]["face"] == "300000.00"

    assert ledger.verify() | {"last_hash": None} == {"ok": True, "entries": 2 + 2 + 1 + 3, "first_bad_entry": None,
                                                     "problem": None, "last_hash": None, "problems": []}
    vouchers = ledger.vouchers(enterprise=code)["items"]
    assert sorted(v["business"] for v in vouchers) == ["DUP-1", "DUP-3"]
    assert ledger.balances(enterprise=code)["totals"]["voucher"] == "600000.00"


def test_award_count_and_one_claim_per_business_hold_under_eight_processes(ledger, ledger_url):
    codes = []
    for i in range(16):
        e = hangzhou_enterprise(i + 1)
        ledger.register_enterprise(e, actor=ADMIN)
        codes.append(e.credit_code)
    demand = []
    for i in range(8):
        e = guizhou_enterprise(100 + i, roles=frozenset({"demand", "data_provider"}))
        ledger.register_enterprise(e, actor=ADMIN)
        demand.append(e.credit_code)
    # 16 selected models for at most 10 awards a year (30% of 10,000,000 = 3,000,000 each), and
    # 8 parties of one Guizhou contract, which only one of them may claim (同一业务只能一方申领).
    models = [["claim", code, "hangzhou-specialised-model",
               {"id": f"MODEL-{i}", "date": "2026-03-01", "kind": "model_rd", "amount": "10000000",
                "role": "developer", "city": "杭州市", "category": "selected"}, f"model-{i}"]
              for i, code in enumerate(codes)]
    shared = [["claim", code, GZ, gz_contract("SHARED-1", "10000000", role="demand" if i % 2 else "data_provider"),
               f"shared-{i}"] for i, code in enumerate(demand)]
    ops = [op for pair in zip(models[:8], shared) for op in pair] + models[8:]
    results = run_workers([{"url": ledger_url, "ops": part} for part in deal(ops)])
    assert processes_overlapped(results)

    flat = [r for per in results for r in per]
    awards = [r for r in flat if r["op"][2] == "hangzhou-specialised-model"]
    assert sorted(Decimal(r["voucher"]["face"]) for r in awards if r["ok"]) == [Decimal("3000000.00")] * 10
    for r in awards:
        if not r["ok"]:
            assert (r["error"], r["reason"]) == ("CapReached", "cap"), r
            assert "at most 10 awards a year" in r["message"]
    claims = [r for r in flat if r["op"][2] == GZ]
    assert [Decimal(r["voucher"]["face"]) for r in claims if r["ok"]] == [Decimal("300000.00")]
    for r in claims:
        if not r["ok"]:  # claimed already, or another party's application for it is open
            assert r["error"] == "Conflict" and (r["reason"] == "claimed" or "open application" in r["message"]), r

    assert ledger.verify()["ok"]
    assert ledger.yearly_report("hangzhou-specialised-model", 2026)["vouchers"] == 10
    assert [v["business"] for v in ledger.vouchers(policy_id=GZ)["items"]] == ["SHARED-1"]


def test_eight_processes_open_a_new_ledger_at_once(backend, tmp_path, clock):
    """Each creates the schema if it is missing; none may fail because another is doing it too."""
    url = f"sqlite:///{tmp_path / 'new.db'}" if backend == "sqlite" else \
        create_pg_database(os.environ[PG_ENV], migrated=False)
    try:
        results = run_workers([{"url": url, "open_late": True, "ops": [["onboard", f"provider-{k}"]]}
                               for k in range(PROCESSES)])
        assert all(per[0]["ok"] for per in results), results
        led = open_ledger(url, table=policy_table(), clock=clock)
        try:
            assert led.verify()["ok"] and led.verify()["entries"] == PROCESSES
        finally:
            led.close()
    finally:
        if backend == "postgres":
            drop_pg_database(url)
