"""Ledger postings per second beside the raw insert rate of the same database, in the same run.

    python bench/bench_ledger.py --n 2000                       # SQLite only
    python bench/bench_ledger.py --n 2000 --pg postgresql://postgres@127.0.0.1:5432/test

A ledger posting is one balanced entry (two legs) chained to the previous hash, written
under the ledger's write lock: the head row read and updated, the entry and its legs
inserted. The floor is one plain INSERT of a row of similar width, with the same
durability settings (SQLite: WAL, synchronous=FULL; PostgreSQL: its defaults). Both are
run one commit per posting and in batches of --batch per commit, back to back in each of
--rounds rounds, and the medians reported: fsync times swing on a shared machine, and
interleaving lets a slow spell fall on the ledger and its floor alike. A third line times
a whole voucher issue (calculator, quota read from the ledger, claims, outbox) per commit.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voucher.enterprise import Enterprise, uscc_check_char  # noqa: E402
from voucher.journal import Posting  # noqa: E402
from voucher.ledger import Ledger  # noqa: E402
from voucher.policy import load_policy_table  # noqa: E402
from voucher.store import PostgresStore, SQLiteStore  # noqa: E402

RAW_DDL = "CREATE TABLE raw (id BIGINT PRIMARY KEY, at TEXT, account TEXT, amount BIGINT, memo TEXT)"


def raw_sqlite(path: str, n: int, batch: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(RAW_DDL)
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        conn.execute("BEGIN IMMEDIATE")
        for i in range(start, min(start + batch, n)):
            conn.execute("INSERT INTO raw VALUES (?, ?, ?, ?, ?)", (i, "2026-01-01T00:00:00", "voucher:V1", 100, "{}"))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return n / elapsed


def raw_pg(url: str, n: int, batch: int) -> float:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS raw")
        conn.execute(RAW_DDL)
        t0 = time.perf_counter()
        for start in range(0, n, batch):
            with conn.transaction():
                for i in range(start, min(start + batch, n)):
                    conn.execute("INSERT INTO raw VALUES (%s, %s, %s, %s, %s)",
                                 (i, "2026-01-01T00:00:00", "voucher:V1", 100, "{}"))
        elapsed = time.perf_counter() - t0
        conn.execute("DROP TABLE raw")
    return n / elapsed


def ledger_postings(store, n: int, batch: int) -> float:
    book = Ledger(store, load_policy_table(ROOT / "policies"))
    legs = (Posting("budget", "bench:2026", Decimal("-1.00")), Posting("voucher", "V-bench", Decimal("1.00")))
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        with store.write() as tx:
            for _ in range(start, min(start + batch, n)):
                book.append(tx, "bench", actor="bench", policy_id="bench", year=2026, postings=legs)
    return n / (time.perf_counter() - t0)


def voucher_issues(store, n: int) -> float:
    book = Ledger(store, load_policy_table(ROOT / "policies"))
    c17 = "91520100MA6H3K7P1"
    code = c17 + uscc_check_char(c17)
    book.register_enterprise(Enterprise(code, province="贵州省", city="贵阳市", roles=frozenset({"demand"})),
                             actor="admin:bench")  # only an administrator registers an enterprise
    book.onboard_party("bench-platform", "platform", "bench", actor="bench")
    t0 = time.perf_counter()
    for i in range(n):
        book.post_transaction(code, {"id": f"B{i}", "date": "2026-03-01", "kind": "compute_purchase",
                                     "amount": "1000.00", "province": "贵州省"}, platform="bench-platform", actor="bench")
    return n / (time.perf_counter() - t0)


def fresh_pg(url: str) -> tuple[str, callable]:
    import psycopg

    name = f"voucher_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    base = url.rsplit("/", 1)[0]

    def drop() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return f"{base}/{name}", drop


def report(name: str, rounds: list[dict]) -> None:
    """Medians over the rounds; each round measured the ledger and its floor back to back."""
    def mid(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    def ratio(a: str, b: str) -> float:
        return statistics.median(r[a] / r[b] for r in rounds)

    print(f"{name}: single  {mid('one'):9,.0f} postings/s   raw insert {mid('raw1'):9,.0f}/s   "
          f"ratio {ratio('one', 'raw1'):.2f} (median of {len(rounds)} rounds; "
          f"range {min(r['one'] / r['raw1'] for r in rounds):.2f}-{max(r['one'] / r['raw1'] for r in rounds):.2f})")
    print(f"{name}: batched {mid('many'):9,.0f} postings/s   raw insert {mid('rawb'):9,.0f}/s   "
          f"ratio {ratio('many', 'rawb'):.2f}")
    print(f"{name}: voucher issue (post_transaction, one commit each) {mid('issues'):,.0f}/s")


def sqlite_round(tmp: str, i: int, n: int, batch: int) -> dict:
    return {"raw1": raw_sqlite(f"{tmp}/raw1-{i}.db", n, 1), "one": ledger_postings(SQLiteStore(f"{tmp}/l1-{i}.db"), n, 1),
            "rawb": raw_sqlite(f"{tmp}/rawb-{i}.db", n, batch),
            "many": ledger_postings(SQLiteStore(f"{tmp}/lb-{i}.db"), n, batch),
            "issues": voucher_issues(SQLiteStore(f"{tmp}/iss-{i}.db"), max(n // 4, 10))}


def pg_round(server: str, n: int, batch: int) -> dict:
    result = {}
    for measure in ("raw1", "one", "rawb", "many", "issues"):
        url, drop = fresh_pg(server)
        try:
            if measure.startswith("raw"):
                result[measure] = raw_pg(url, n, 1 if measure == "raw1" else batch)
                continue
            store = PostgresStore(url)
            result[measure] = (ledger_postings(store, n, 1) if measure == "one" else
                               ledger_postings(store, n, batch) if measure == "many" else
                               voucher_issues(store, max(n // 4, 10)))
            store.close()
        finally:
            drop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="postings per measurement")
    parser.add_argument("--batch", type=int, default=100, help="postings per commit when batched")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the medians are reported")
    parser.add_argument("--pg", help="PostgreSQL server URL; a scratch database is created and dropped")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report("sqlite", [sqlite_round(tmp, i, args.n, args.batch) for i in range(args.rounds)])
    if args.pg:
        report("postgres", [pg_round(args.pg, args.n, args.batch) for _ in range(args.rounds)])


if __name__ == "__main__":
    main()
