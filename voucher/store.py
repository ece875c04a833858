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

from voucher.errors import Conflict, InputError, NotFound, quote
from voucher.money import FEN
from voucher.schema import FIRST_STEP, FIRST_TABLES, STEPS, Step, create_table_sql, current_tables, step_sql



TABLES = current_tables()
"""Every table of the domain's schema, with its columns, after all steps."""


def to_fen_int(amount: Decimal) -> int:
    """Exact: an amount already quantized to the fen becomes an integer count of fen."""
    fen = amount.quantize(FEN)
    if fen != amount:
        raise InputError("amount", f"{amount} is not a whole number of fen")
    return int(fen * 100)


def from_fen(value: int) -> Decimal:
    return (Decimal(int(value)) / 100).quantize(FEN)


class Tx:
    """A database transaction in progress: `rows`, `one` and `run` with `?` placeholders.

    The ledger's code names it `db` wherever it is passed; `tx` and "transaction" are kept for
    the business a policy rewards (`voucher.transactions.Transaction`).
    """

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


def open_row(db: Tx, table: str, row_id: str, *, what: str, field: str, status: str) -> dict:
    """A request waiting for a decision (an application `applied`, a profile change `pending`):
    NotFound if there is none, Conflict if it was decided already."""
    row = db.one(f"SELECT * FROM {table} WHERE id = ?", (row_id,))
    if not row:
        raise NotFound(f"no {what} {quote(row_id)}", field=field)
    if row["status"] != status:
        raise Conflict(f"{what} {row_id} is already {row['status']}", field=field)
    return row


class SQLiteStore:
    """One SQLite file in WAL mode; a process-wide lock keeps one writer per connection."""

    dialect = "sqlite"

    def __init__(self, path: str, upto: str | None = None) -> None:
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
        migrate_sqlite(self.db, upto)

    @contextmanager
    def write(self) -> Iterator[Tx]:
        with self._lock:
            cur = self.conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                db = Tx(cur, _same)
                yield db
                db.flush_head()
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


def run_step(db: Tx, step: Step, dialect: str) -> None:
    for sql in step_sql(step, dialect):
        db.run(sql)
    if step.python is not None:
        step.python(db)


def migrate_sqlite(database, upto: str | None = None) -> None:
    """Apply every step not yet applied (or up to and including `upto`, for tests of old files)."""
    from sqlite_utils.migrations import Migrations

    migrations = Migrations("voucher")

    @migrations(name=FIRST_STEP)
    def create_ledger(database) -> None:
        for name, table in FIRST_TABLES.items():
            for sql in create_table_sql(name, table, "sqlite"):
                database.execute(sql)
        database["head"].insert({"id": 1, "last_id": 0, "last_hash": ""})

    for step in ([] if upto == FIRST_STEP else STEPS):
        migrations(name=step.name)(lambda database, step=step: run_step(Tx(database.conn.cursor(), _same), step, "sqlite"))
        if step.name == upto:
            break
    # One migrator at a time: processes opening a new file at once wait here on the write lock
    # (sqlite-utils nests each migration in a savepoint), then find the schema already made.
    database.conn.execute("BEGIN IMMEDIATE")
    try:
        migrations.apply(database)
    except BaseException:
        if database.conn.in_transaction:
            database.conn.execute("ROLLBACK")
        raise
    database.conn.execute("COMMIT")




class PostgresStore:
    """PostgreSQL through psycopg; writers serialize on the `head` row."""

    dialect = "postgres"

    def __init__(self, url: str, upto: str | None = None) -> None:
        import psycopg
        from psycopg.rows import dict_row

        self.url = url
        self.conn = psycopg.connect(url, row_factory=dict_row, autocommit=True)
        self._lock = threading.RLock()
        self._migrate(upto)

    def _migrate(self, upto: str | None = None) -> None:
        with self.conn.transaction():
            cur = self.conn.cursor()
            cur.execute("SELECT pg_advisory_xact_lock(7243001)")  # one migrator at a time
            cur.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
            cur.execute("SELECT name FROM schema_migrations")
            done = {r["name"] for r in cur.fetchall()}
            db = Tx(cur, _pg_params)
            if FIRST_STEP not in done:
                for name, table in FIRST_TABLES.items():
                    for sql in create_table_sql(name, table, "postgres"):
                        cur.execute(sql)
                cur.execute("INSERT INTO head (id, last_id, last_hash) VALUES (1, 0, '')")
                cur.execute("INSERT INTO schema_migrations VALUES (%s, now()::text)", (FIRST_STEP,))
            for step in ([] if upto == FIRST_STEP else STEPS):
                if step.name not in done:
                    run_step(db, step, "postgres")
                    cur.execute("INSERT INTO schema_migrations VALUES (%s, now()::text)", (step.name,))
                if step.name == upto:
                    break

    @contextmanager
    def write(self) -> Iterator[Tx]:
        with self._lock, self.conn.transaction():
            cur = self.conn.cursor()
            cur.execute("SELECT last_id, last_hash FROM head WHERE id = 1 FOR UPDATE")
            db = Tx(cur, _pg_params, head=dict(cur.fetchone()))
            yield db
            db.flush_head()

    @contextmanager
    def read(self) -> Iterator[Tx]:
        with self._lock, self.conn.transaction():
            cur = self.conn.cursor()
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield Tx(cur, _pg_params)

    def close(self) -> None:
        self.conn.close()


def open_store(url: str | None = None, *, upto: str | None = None):
    """sqlite:///path/to/ledger.db (the default: voucher.db here), or postgresql://...

    `upto` stops migrating after that step: tests use it to make a ledger of an older schema.
    """
    import os

    url = url or os.environ.get("VOUCHER_DATABASE_URL") or "sqlite:///voucher.db"
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStore(url, upto)
    if url.startswith("sqlite:///"):
        return SQLiteStore(url[len("sqlite:///"):], upto)
    if url == "sqlite://" or url == ":memory:":
        return SQLiteStore(":memory:", upto)
    raise InputError("database_url", f"{quote(url)}: use sqlite:///path.db or postgresql://host/db")
