"""Storage: one schema and one small transaction interface over SQLite and PostgreSQL.

SQLite (the default, one file) is created and migrated with sqlite-utils; PostgreSQL is
for several hosts sharing one ledger. The ledger writes SQL with `?` placeholders and
the PostgreSQL store turns them into `%s`. Amounts are stored as integer fen, so sums in
SQL stay exact on both (SQLite would sum decimal text as floats).

Every write runs in `write()`: on SQLite `BEGIN IMMEDIATE` takes the database's write
lock; on PostgreSQL the row of `head` is locked `FOR UPDATE`. Either way a write
transaction sees no other writer between its checks and its inserts, which is what
keeps caps and pools from being overspent, and what lets each entry chain to the last.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from voucher.errors import InputError
from voucher.money import FEN

# name → (columns {name: "int"|"text"}, primary key, unique indexes, plain indexes)
TABLES: dict[str, tuple[dict[str, str], tuple[str, ...], list[tuple[str, ...]], list[tuple[str, ...]]]] = {
    "head": ({"id": "int", "last_id": "int", "last_hash": "text"}, ("id",), [], []),
    "entries": ({"id": "int", "at": "text", "day": "text", "event": "text", "actor": "text", "enterprise": "text",
                 "policy_id": "text", "year": "int", "voucher_id": "text", "ref": "text", "reverses": "int",
                 "memo": "text", "prev_hash": "text", "hash": "text"}, ("id",), [],
                [("enterprise",), ("voucher_id",), ("policy_id", "year")]),
    "postings": ({"entry_id": "int", "n": "int", "account": "text", "kind": "text", "enterprise": "text",
                  "policy_id": "text", "year": "int", "party": "text", "amount": "int", "day": "text"},
                 ("entry_id", "n"), [], [("kind", "policy_id", "year", "enterprise"),
                                         ("kind", "policy_id", "enterprise"), ("account",)]),
    "enterprises": ({"credit_code": "text", "profile": "text", "status": "text", "entry_id": "int"},
                    ("credit_code",), [], []),
    "parties": ({"id": "text", "kind": "text", "name": "text", "status": "text", "entry_id": "int"},
                ("id",), [], []),
    "applications": ({"id": "text", "enterprise": "text", "policy_id": "text", "business": "text",
                      "tx": "text", "status": "text", "voucher_id": "text", "platform": "text", "actor": "text",
                      "reason": "text", "entry_id": "int"}, ("id",), [], [("enterprise",)]),
    "vouchers": ({"id": "text", "enterprise": "text", "policy_id": "text", "policy_version": "text",
                  "kind": "text", "business": "text", "year": "int", "face": "int", "issued_on": "text",
                  "expires_on": "text", "status": "text", "platform": "text", "once_keys": "text",
                  "application_id": "text", "entry_id": "int"}, ("id",), [],
                 [("enterprise", "policy_id"), ("policy_id", "year"), ("status", "expires_on")]),
    "claims": ({"business": "text", "scope": "text", "voucher_id": "text", "policy_id": "text"},
               ("business", "scope"), [], []),
    "redemptions": ({"id": "text", "voucher_id": "text", "party": "text", "amount": "int", "invoice": "text",
                     "status": "text", "proof_hash": "text", "rating": "int", "approved_by": "text",
                     "paid_by": "text", "hold_id": "text", "entry_id": "int"}, ("id",), [("invoice",)],
                    [("voucher_id",)]),
    "holds": ({"id": "text", "voucher_id": "text", "party": "text", "amount": "int", "expires_at": "text",
               "status": "text", "entry_id": "int"}, ("id",), [], [("voucher_id",)]),
    "parameters": ({"policy_id": "text", "name": "text", "value": "text", "entry_id": "int"},
                   ("policy_id", "name"), [], []),
    "api_keys": ({"id": "text", "hash": "text", "role": "text", "subject": "text", "name": "text",
                  "created_at": "text", "created_by": "text", "revoked_at": "text", "revoked_by": "text"},
                 ("id",), [("hash",)], []),
    "requests": ({"key": "text", "fingerprint": "text", "response": "text", "at": "text"}, ("key",), [], []),
    "outbox": ({"id": "int", "entry_id": "int", "type": "text", "subjects": "text", "payload": "text",
                "at": "text"}, ("id",), [], [("entry_id",)]),
}

SCHEMA_VERSION = "0001_ledger"


def to_fen_int(amount: Decimal) -> int:
    """Exact: an amount already quantized to the fen becomes an integer count of fen."""
    fen = amount.quantize(FEN)
    if fen != amount:
        raise InputError("amount", f"{amount} is not a whole number of fen")
    return int(fen * 100)


def from_fen(value: int) -> Decimal:
    return (Decimal(int(value)) / 100).quantize(FEN)


class Tx:
    """A transaction in progress: `rows`, `one` and `run` with `?` placeholders."""

    def __init__(self, cursor, convert, head: dict | None = None) -> None:
        self._cur = cursor
        self._convert = convert
        self._head = head
        self.head_dirty = False

    @property
    def head(self) -> dict:
        """The chain's last entry id and hash: read once per transaction, written back once at commit."""
        if self._head is None:
            self._head = self.one("SELECT last_id, last_hash FROM head WHERE id = 1")
        return self._head

    def advance(self, entry_id: int, entry_hash: str) -> None:
        self._head = {"last_id": entry_id, "last_hash": entry_hash}
        self.head_dirty = True

    def flush_head(self) -> None:
        if self.head_dirty:
            self.run("UPDATE head SET last_id = ?, last_hash = ? WHERE id = 1",
                     (self._head["last_id"], self._head["last_hash"]))
            self.head_dirty = False

    def run(self, sql: str, params: tuple | list = ()) -> int:
        self._cur.execute(self._convert(sql), tuple(params))
        return self._cur.rowcount

    def rows(self, sql: str, params: tuple | list = ()) -> list[dict]:
        self._cur.execute(self._convert(sql), tuple(params))
        return [dict(r) for r in self._cur.fetchall()]

    def one(self, sql: str, params: tuple | list = ()) -> dict | None:
        self._cur.execute(self._convert(sql), tuple(params))
        row = self._cur.fetchone()
        return dict(row) if row is not None else None

    def value(self, sql: str, params: tuple | list = ()):
        row = self.one(sql, params)
        return next(iter(row.values())) if row else None

    def insert(self, table: str, values: dict) -> None:
        self.insert_many(table, [values])

    def insert_many(self, table: str, rows: list[dict]) -> None:
        """One INSERT statement for all rows (one round trip to PostgreSQL)."""
        if not rows:
            return
        cols = ", ".join(rows[0])
        marks = ", ".join(["(" + ", ".join("?" for _ in rows[0]) + ")"] * len(rows))
        self.run(f"INSERT INTO {table} ({cols}) VALUES {marks}", [v for row in rows for v in row.values()])


class SQLiteStore:
    """One SQLite file in WAL mode; a process-wide lock keeps one writer per connection."""

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        import sqlite_utils

        self.path = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=60)
        self.conn.row_factory = sqlite3.Row
        _wal(self.conn)
        # FULL: a commit is on disk before it is acknowledged, so an acknowledged posting
        # survives a crash of the process or of the machine.
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA busy_timeout=60000")
        self.db = sqlite_utils.Database(self.conn)
        self._lock = threading.RLock()
        migrate_sqlite(self.db)

    @contextmanager
    def write(self) -> Iterator[Tx]:
        with self._lock:
            cur = self.conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                tx = Tx(cur, _same)
                yield tx
                tx.flush_head()
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[Tx]:
        with self._lock:
            cur = self.conn.cursor()
            cur.execute("BEGIN")
            try:
                yield Tx(cur, _same)
            finally:
                cur.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


def _wal(conn: sqlite3.Connection) -> None:
    """Switch a file to WAL; when several processes open a new file at once, the switch may meet
    another's lock without waiting on the busy timeout, so it is tried again for up to a minute."""
    import time

    deadline = time.monotonic() + 60
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _same(sql: str) -> str:
    return sql


def _pg_params(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


def migrate_sqlite(db) -> None:
    from sqlite_utils.migrations import Migrations

    migrations = Migrations("voucher")

    @migrations(name=SCHEMA_VERSION)
    def create_ledger(db) -> None:
        for name, (columns, pk, uniques, indexes) in TABLES.items():
            types = {c: (int if t == "int" else str) for c, t in columns.items()}
            db[name].create(types, pk=pk if len(pk) > 1 else pk[0], strict=True)
            for cols in uniques:
                db[name].create_index(list(cols), unique=True)
            for cols in indexes:
                db[name].create_index(list(cols))
        db["head"].insert({"id": 1, "last_id": 0, "last_hash": ""})

    for step in EXTRA_MIGRATIONS:
        migrations(name=step[0])(lambda db, sql=step[1]: [db.execute(s) for s in sql])
    # One migrator at a time: processes opening a new file at once wait here on the write lock
    # (sqlite-utils nests each migration in a savepoint), then find the schema already made.
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        migrations.apply(db)
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


EXTRA_MIGRATIONS: list[tuple[str, list[str]]] = []
"""Later schema steps as (name, [portable SQL statements]), applied in order on both databases."""


class PostgresStore:
    """PostgreSQL through psycopg; writers serialize on the `head` row."""

    dialect = "postgres"

    def __init__(self, url: str) -> None:
        import psycopg
        from psycopg.rows import dict_row

        self.url = url
        self.conn = psycopg.connect(url, row_factory=dict_row, autocommit=True)
        self._lock = threading.RLock()
        self._migrate()

    def _migrate(self) -> None:
        with self.conn.transaction():
            cur = self.conn.cursor()
            cur.execute("SELECT pg_advisory_xact_lock(7243001)")  # one migrator at a time
            cur.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
            cur.execute("SELECT name FROM schema_migrations")
            done = {r["name"] for r in cur.fetchall()}
            if SCHEMA_VERSION not in done:
                for name, (columns, pk, uniques, indexes) in TABLES.items():
                    cols = ", ".join(f"{c} {'BIGINT' if t == 'int' else 'TEXT'}" for c, t in columns.items())
                    cur.execute(f"CREATE TABLE {name} ({cols}, PRIMARY KEY ({', '.join(pk)}))")
                    for cols_ in uniques:
                        cur.execute(f"CREATE UNIQUE INDEX ON {name} ({', '.join(cols_)})")
                    for cols_ in indexes:
                        cur.execute(f"CREATE INDEX ON {name} ({', '.join(cols_)})")
                cur.execute("INSERT INTO head (id, last_id, last_hash) VALUES (1, 0, '')")
                cur.execute("INSERT INTO schema_migrations VALUES (%s, now()::text)", (SCHEMA_VERSION,))
            for name, statements in EXTRA_MIGRATIONS:
                if name not in done:
                    for sql in statements:
                        cur.execute(sql)
                    cur.execute("INSERT INTO schema_migrations VALUES (%s, now()::text)", (name,))

    @contextmanager
    def write(self) -> Iterator[Tx]:
        with self._lock, self.conn.transaction():
            cur = self.conn.cursor()
            cur.execute("SELECT last_id, last_hash FROM head WHERE id = 1 FOR UPDATE")
            tx = Tx(cur, _pg_params, head=dict(cur.fetchone()))
            yield tx
            tx.flush_head()

    @contextmanager
    def read(self) -> Iterator[Tx]:
        with self._lock, self.conn.transaction():
            cur = self.conn.cursor()
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield Tx(cur, _pg_params)

    def close(self) -> None:
        self.conn.close()


def open_store(url: str | None = None):
    """sqlite:///path/to/ledger.db (the default: voucher.db here), or postgresql://..."""
    import os

    url = url or os.environ.get("VOUCHER_DATABASE_URL") or "sqlite:///voucher.db"
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStore(url)
    if url.startswith("sqlite:///"):
        return SQLiteStore(url[len("sqlite:///"):])
    if url == "sqlite://" or url == ":memory:":
        return SQLiteStore(":memory:")
    raise InputError("database_url", f"{url!r}: use sqlite:///path.db or postgresql://host/db")
