"""Estimate throughput beside the floor of raw `decimal` arithmetic, measured in the same run.

    python bench/bench_estimate.py --n 1000000

The floor does the least any calculator must: rate × amount, quantize to the fen, take
the smaller of it and a cap, for each of the same transactions. The ratio says what the
policy table, eligibility, stacking, caps and explanations cost on top of that.
Memory: peak RSS is read after 10% and after 100% of the stream; flat means the
estimate streams instead of holding the input.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voucher.calculator import Calculation, stream  # noqa: E402
from voucher.enterprise import Enterprise, uscc_check_char  # noqa: E402
from voucher.policy import load_policy_table  # noqa: E402
from voucher.transactions import Transaction  # noqa: E402

KINDS = (
    ("compute_purchase", "demand", "贵州省", "贵阳市", "贵州算力调度平台"),
    ("data_purchase", "demand", "贵州省", "贵阳市", "贵阳大数据交易所"),
    ("technology_contract", "buyer", "湖北省", "武汉市", ""),
    ("bid_won", "demand", "广东省", "深圳市", ""),
)


def transactions(n: int):
    """A cheap, repeatable stream: amounts and dates cycle through precomputed tables."""
    days = [date(2024, 1, 1) + timedelta(days=d) for d in range(1096)]
    amounts = [(Decimal(100_000 + (i * 7919) % 90_000_000) / 100 + 1000).quantize(Decimal("0.01"))
               for i in range(997)]
    kinds = len(KINDS)
    for i in range(n):
        kind, role, province, city, platform = KINDS[i % kinds]
        yield Transaction(f"T{i}", days[i % 1096], kind, amounts[i % 997], role, province, city, platform)


def floor(n: int) -> float:
    rate, cap, fen, total = Decimal("0.03"), Decimal("2000000"), Decimal("0.01"), Decimal(0)
    t0 = time.perf_counter()
    for tx in transactions(n):
        total += min((tx.amount * rate).quantize(fen, rounding=ROUND_HALF_UP), cap)
    return time.perf_counter() - t0


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(n: int) -> dict:
    table = load_policy_table(Path(__file__).resolve().parent.parent / "policies")
    c17 = "91520100MA6H3K7P1"
    enterprise = Enterprise(c17 + uscc_check_char(c17), province="贵州省", city="贵阳市", local_tax=True,
                            exchange_certified=True, roles=frozenset({"demand", "buyer"}),
                            recognitions=frozenset({"fuzhou_leader"}))
    calc = Calculation(table, enterprise, include_drafts=True)
    grants, rss_early, tenth = 0, 0.0, max(n // 10, 1)
    t0 = time.perf_counter()
    for i, tx in enumerate(transactions(n), start=1):
        grants += len(calc.feed(tx))
        if i == tenth:
            rss_early = rss_mib()
    grants += len(calc.finish())
    elapsed = time.perf_counter() - t0
    total = calc.estimate([]).total
    floor_s = floor(n)
    return {"n": n, "seconds": elapsed, "tx_per_s": n / elapsed, "floor_per_s": n / floor_s,
            "ratio": floor_s / elapsed, "grants": grants, "total": total,
            "rss_at_10pct_mib": rss_early, "rss_at_end_mib": rss_mib()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="transactions to estimate")
    args = parser.parse_args()
    r = run(args.n)
    print(f"estimate: {r['n']:,} transactions in {r['seconds']:.2f} s = {r['tx_per_s']:,.0f} tx/s "
          f"({r['grants']:,} grants, total {r['total']:,.2f} yuan)")
    print(f"floor (raw decimal rate×amount, quantize, cap): {r['floor_per_s']:,.0f} tx/s")
    print(f"ratio estimate/floor: {r['ratio']:.3f}")
    print(f"peak RSS: {r['rss_at_10pct_mib']:.1f} MiB after 10%, {r['rss_at_end_mib']:.1f} MiB at the end")


if __name__ == "__main__":
    main()
