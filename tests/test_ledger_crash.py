"""A writer killed with SIGKILL mid-stream loses nothing it acknowledged and leaves a chain that verifies.

The writer is a separate `python` (ledger_support.worker_main in loop mode): for each n
it onboards provider crash-n and posts a platform transaction crash-n that issues a
Hangzhou compute voucher, then prints crash-n, flushed, only after both calls returned.
The test reads some of those acknowledgements and kills the process without warning,
most likely inside a transaction. Reopened, the ledger must verify and hold every
acknowledged party and voucher, and take new writes.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from ledger_support import (  # noqa: F401  (fixtures are used by name)
    ADMIN, HZ_PLATFORM, all_entries, backend, clock, hangzhou_enterprise, hz_compute, ledger_url, policy_table,
    start_worker,
)
from voucher.ledger import open_ledger

pytestmark = pytest.mark.slow

RATE = {"hangzhou-compute-voucher": {"rate": "0.01"}}


@pytest.mark.parametrize("acknowledged_before_kill", [5, 40])
def test_sigkill_mid_stream_loses_no_acknowledged_posting(ledger_url, clock, acknowledged_before_kill):
    led = open_ledger(ledger_url, table=policy_table(), clock=clock)
    e = hangzhou_enterprise(1)
    led.register_enterprise(e, actor=ADMIN)
    led.onboard_party(HZ_PLATFORM, "platform", "杭州算力服务平台", actor=ADMIN)
    led.close()

    proc = start_worker({"url": ledger_url, "loop": True, "wait": False, "prefix": "crash", "code": e.credit_code,
                         "platform": HZ_PLATFORM, "parameters": RATE})
    acked = []
    try:
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 60
        while len(acked) < acknowledged_before_kill and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            acked.append(line.strip())
        assert len(acked) == acknowledged_before_kill
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        acked += [line.strip() for line in proc.stdout.read().splitlines() if line.strip()]  # flushed before death
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            stream.close()

    again = open_ledger(ledger_url, table=policy_table(), clock=clock)
    try:
        result = again.verify()
        assert result["ok"], result
        onboarded = {x["ref"] for x in all_entries(again, event="party.onboard")}
        businesses = {v["business"]: v for v in again.vouchers(enterprise=e.credit_code, limit=100000)["items"]}
        for n, party in enumerate(acked, start=1):
            assert party == f"crash-{n}"
            assert party in onboarded
            assert businesses[party]["face"] == "10.00"  # 1,000 × the administrator's 1%
        # What was written is whole: every issue entry has its voucher row and the other way round.
        issued = all_entries(again, event="issue")
        assert sorted(x["voucher_id"] for x in issued) == sorted(v["id"] for v in businesses.values())
        assert len(businesses) in (len(acked), len(acked) + 1)  # at most the one in flight beyond them
        totals = again.balances()["totals"]
        assert sum(float(t) for t in totals.values()) == 0
        # The ledger takes writes again: the writer's lock died with it.
        out = again.post_transaction(e.credit_code, hz_compute("after-crash", "1000"), platform=HZ_PLATFORM,
                                     actor="platform:hz", parameters={"hangzhou-compute-voucher": {"rate": 1}})
        assert [v["face"] for v in out["vouchers"]] == ["1000.00"]
        assert again.verify()["ok"]
    finally:
        again.close()
