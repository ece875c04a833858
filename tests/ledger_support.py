"""Shared fixtures and helpers for the ledger tests, run against SQLite and PostgreSQL.

Test modules import the fixtures they use from here (`from ledger_support import ...`):
pytest registers a fixture wherever its function is a module global.

`ledger_url` is parametrized over the two backends. SQLite gets a file in `tmp_path`;
PostgreSQL gets a fresh database per test, copied from a template migrated once per
test run, on the server named by $VOUCHER_TEST_PG (for example
postgresql://postgres@127.0.0.1:5432/test). Without that variable the PostgreSQL
half of every test is skipped, saying why.

The clock is a mutable holder the ledger calls: tests move time to expire vouchers and
let holds lapse. `refused` runs a step that must be refused and checks that the ledger
is exactly as it was before: every row of every table, not just the entry count.

`worker_main` is the body of the OS processes the concurrency and crash tests start.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from conftest import START, Clock, credit_code  # noqa: F401  (re-exported to the ledger tests)

from voucher.enterprise import Enterprise
from voucher.ledger import Ledger, open_ledger
from voucher.policy import PolicyTable, load_policy_table
from voucher.store import TABLES

TESTS_DIR = Path(__file__).resolve().parent
POLICY_DIR = TESTS_DIR.parent / "policies"
PG_ENV = "VOUCHER_TEST_PG"
PG_SKIP = f"{PG_ENV} is not set: set it to a PostgreSQL URL (e.g. postgresql://postgres@127.0.0.1:5432/test) " \
          "to run the ledger tests on PostgreSQL too"
BACKENDS = ["sqlite", "postgres"]

ADMIN = "admin:li"
ADMIN2 = "admin:wang"
GZ_PLATFORM = "gz-compute-platform"
HZ_PLATFORM = "hz-compute-platform"
JN_PROVIDER = "jn-booking-services"


@lru_cache(maxsize=1)
def policy_table() -> PolicyTable:
    return load_policy_table(POLICY_DIR)


# --- PostgreSQL databases per test -------------------------------------------------------------


def _with_db(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def _admin(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True)


_template: dict[str, str] = {}


def _pg_template(admin_url: str) -> str:
    """A database migrated once per test run; each test's database is a copy of it."""
    if admin_url not in _template:
        name = f"voucher_t_tmpl_{uuid.uuid4().hex[:10]}"
        with _admin(admin_url) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        open_ledger(_with_db(admin_url, name), table=policy_table()).close()
        _template[admin_url] = name
        atexit.register(_drop, admin_url, name)
    return _template[admin_url]


def _drop(admin_url: str, name: str) -> None:
    try:
        with _admin(admin_url) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    except Exception:  # the server went away: nothing left to clean
        pass


def create_pg_database(admin_url: str, *, migrated: bool = True) -> str:
    """A fresh, uniquely named database (already migrated unless asked otherwise); returns its URL."""
    template = _pg_template(admin_url) if migrated else "template0"
    name = f"voucher_t_{uuid.uuid4().hex[:12]}"
    with _admin(admin_url) as conn:
        for attempt in range(50):  # the template's last session may still be closing
            try:
                conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
                break
            except Exception as exc:  # psycopg.errors.ObjectInUse
                if "being accessed" not in str(exc) or attempt == 49:
                    raise
                time.sleep(0.05)
    return _with_db(admin_url, name)


def drop_pg_database(url: str) -> None:
    admin_url = os.environ[PG_ENV]
    _drop(admin_url, urlsplit(url).path.lstrip("/"))


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    if request.param == "postgres" and not os.environ.get(PG_ENV):
        pytest.skip(PG_SKIP)
    return request.param


@pytest.fixture
def ledger_url(backend, tmp_path):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    url = create_pg_database(os.environ[PG_ENV])
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture
def unmigrated_url(backend, tmp_path):
    """An empty database that no step has run on (`ledger_url`'s PostgreSQL copies are already migrated,
    so an old ledger loaded there would skip the steps an upgrade runs)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    url = create_pg_database(os.environ[PG_ENV], migrated=False)
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(ledger_url, clock):
    led = open_ledger(ledger_url, table=policy_table(), clock=clock)
    try:
        yield led
    finally:
        led.close()


# --- raw SQL, for tampering and for reading what a crashed writer left -------------------------


def raw_execute(url: str, sql: str, params: tuple = ()) -> int:
    """Run one statement outside the ledger (`?` placeholders); returns the rows it changed."""
    if url.startswith("sqlite:///"):
        import sqlite3

        conn = sqlite3.connect(url[len("sqlite:///"):], isolation_level=None)
        try:
            return conn.execute(sql, params).rowcount
        finally:
            conn.close()
    with _admin(url) as conn:
        return conn.execute(sql.replace("?", "%s"), params).rowcount


# --- the state of a ledger, and refusals that write nothing ------------------------------------


def dump(ledger: Ledger) -> dict:
    """Every row of every table, order-independent: what 'nothing was written' is checked on."""
    out = {}
    with ledger.store.read() as tx:
        for name in TABLES:
            rows = tx.rows(f"SELECT * FROM {name}")
            out[name] = sorted(json.dumps(r, sort_keys=True, default=str) for r in rows)
    return out


def refused(ledger: Ledger, error: type, step, *args, why: str | None = None, says: str | None = None,
            **kwargs) -> Exception:
    """`step(*args, **kwargs)` raises exactly `error` and leaves every table as it was.

    `why` is the refusal's reason code (CapReached's "cap", "claimed", "role", ...);
    `says` is text the message must contain.
    """
    before = dump(ledger)
    entries = ledger.verify()["entries"]
    with pytest.raises(error) as info:
        step(*args, **kwargs)
    assert type(info.value) is error, f"{type(info.value).__name__}: {info.value}"
    if why is not None:
        assert info.value.context.get("reason") == why, info.value.to_dict()
    if says is not None:
        assert says in str(info.value), str(info.value)
    assert ledger.verify()["entries"] == entries
    assert dump(ledger) == before, "a refused step wrote to the ledger"
    return info.value


def balance(ledger: Ledger, account: str, on: date | None = None) -> Decimal:
    return Decimal(ledger.balances(on=on)["accounts"].get(account, "0.00"))


def all_entries(ledger: Ledger, **filters) -> list[dict]:
    items, after = [], 0
    while True:
        page = ledger.entries(after=after, limit=1000, **filters)
        items += page["items"]
        if page["next"] is None:
            return items
        after = page["next"]


# --- enterprises and transactions --------------------------------------------------------------


def guizhou_enterprise(serial: int = 1, **fields) -> Enterprise:
    values = dict(credit_code=credit_code(serial, "520100"), name=f"贵州需求方{serial}", province="贵州省",
                  city="贵阳市", registered_province="贵州省", local_tax=True, roles=frozenset({"demand"}))
    values.update(fields)
    return Enterprise(**values)


def guiyang_enterprise(serial: int = 1, **fields) -> Enterprise:
    return guizhou_enterprise(serial, exchange_certified=True, **fields)


def jinan_enterprise(serial: int = 1, **fields) -> Enterprise:
    values = dict(credit_code=credit_code(serial, "370100"), name=f"济南企业{serial}", province="山东省",
                  city="济南市", roles=frozenset({"demand"}))
    values.update(fields)
    return Enterprise(**values)


def hangzhou_enterprise(serial: int = 1, **fields) -> Enterprise:
    values = dict(credit_code=credit_code(serial, "330100"), name=f"杭州企业{serial}", province="浙江省",
                  city="杭州市", sme=True, roles=frozenset({"demand", "developer"}))
    values.update(fields)
    return Enterprise(**values)


def hubei_enterprise(serial: int = 1, role: str = "buyer", **fields) -> Enterprise:
    values = dict(credit_code=credit_code(serial, "420100"), name=f"湖北单位{serial}", province="湖北省",
                  city="武汉市", roles=frozenset({role}))
    values.update(fields)
    return Enterprise(**values)


def fuzhou_enterprise(serial: int = 1, **fields) -> Enterprise:
    values = dict(credit_code=credit_code(serial, "350100"), name=f"福州软件{serial}", province="福建省",
                  city="福州市", recognitions=frozenset({"fuzhou_leader"}))
    values.update(fields)
    return Enterprise(**values)


def gz_contract(tx_id: str, amount: str, day: str = "2026-03-01", **fields) -> dict:
    return {"id": tx_id, "date": day, "kind": "compute_purchase", "amount": amount, "province": "贵州省", **fields}


def hz_compute(tx_id: str, amount: str, day: str = "2026-03-01", **fields) -> dict:
    return {"id": tx_id, "date": day, "kind": "compute_purchase", "amount": amount, "city": "杭州市", **fields}


def jn_service(tx_id: str, amount: str, day: str = "2026-03-01", **fields) -> dict:
    return {"id": tx_id, "date": day, "kind": "data_asset_booking_service", "amount": amount, "city": "济南市",
            **fields}


HZ_RATE = {"hangzhou-compute-voucher": {"rate": Decimal("0.1")}}
"""The Hangzhou source sets no rate; the tests set 10% as an administrator would."""

PHYSICAL = {"guizhou-physical-voucher": {"amount": Decimal("1000")}}
"""The physical voucher's value comes from the platform's campaign; the tests set 1,000."""


# --- OS processes ------------------------------------------------------------------------------


def start_worker(config: dict) -> subprocess.Popen:
    """A python process running `worker_main(config)`; talk to it over stdin/stdout lines."""
    code = f"import sys; sys.path.insert(0, {str(TESTS_DIR)!r}); import ledger_support; ledger_support.worker_main()"
    return subprocess.Popen([sys.executable, "-c", code, json.dumps(config)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
                            cwd=str(TESTS_DIR))


def run_workers(configs: list[dict], timeout: float = 120) -> list[list[dict]]:
    """Start every worker, wait until all are ready, release them at once, collect their results."""
    procs = [start_worker(c) for c in configs]
    try:
        for p in procs:
            line = p.stdout.readline()
            assert line.strip() == "ready", (line, p.stderr.read() if p.poll() is not None else "")
        start_at = time.time() + 0.25  # one moment for all: every process is up, none has posted
        for p in procs:
            p.stdin.write(f"{start_at}\n")
            p.stdin.flush()
        results = []
        deadline = time.monotonic() + timeout
        for p in procs:
            out, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
            assert p.returncode == 0, err
            lines = [json.loads(line) for line in out.splitlines() if line.strip()]
            assert lines and lines[-1] == {"done": True}, (out, err)
            results.append(lines[:-1])
        return results
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            for stream in (p.stdin, p.stdout, p.stderr):
                if stream and not stream.closed:
                    stream.close()


def processes_overlapped(results: list[list[dict]]) -> bool:
    """Whether requests of two different processes were in flight at the same moment."""
    spans = sorted((r["span"][0], r["span"][1], k) for k, per in enumerate(results) for r in per)
    latest_end, latest_owner = 0.0, None
    for start, end, owner in spans:
        if start < latest_end and owner != latest_owner:
            return True
        if end > latest_end:
            latest_end, latest_owner = end, owner
    return False


def _decimal_params(params: dict | None) -> dict | None:
    if not params:
        return None
    return {pid: {k: Decimal(v) for k, v in values.items()} for pid, values in params.items()}


def worker_main() -> None:
    """Carry out a list of ledger operations from argv[1] (JSON), one result line each.

    Ops: ["claim", code, policy, tx, key] applies and approves (an administrator
    approving at once); ["post", code, tx, platform] posts a platform transaction;
    ["apply", code, policy, tx, key] applies only; ["onboard", party_id] onboards a
    provider. With "loop": true the ops are repeated with fresh ids until killed.
    """
    from voucher.errors import VoucherError

    config = json.loads(sys.argv[1])
    clock = Clock(datetime.fromisoformat(config.get("now", START.isoformat())))
    params = _decimal_params(config.get("parameters"))
    if not config.get("open_late"):
        led = open_ledger(config["url"], table=policy_table(), clock=clock)
    print("ready", flush=True)
    if config.get("wait", True):
        start_at = float(sys.stdin.readline())
        time.sleep(max(0.0, start_at - time.time()))
    if config.get("open_late"):  # every process opens (and so migrates) a new ledger at once
        led = open_ledger(config["url"], table=policy_table(), clock=clock)

    def run(op: list) -> dict:
        kind = op[0]
        try:
            if kind == "claim":
                _, code, policy, tx, key = op
                app = led.apply(code, policy, tx, actor=code, key=key and f"apply:{key}", parameters=params)
                out = led.approve(app["id"], actor=ADMIN, key=key and f"approve:{key}", parameters=params)
                return {"op": op, "ok": True, "app": app, "voucher": out["voucher"]}
            if kind == "apply":
                _, code, policy, tx, key = op
                return {"op": op, "ok": True, "app": led.apply(code, policy, tx, actor=code, key=key,
                                                               parameters=params)}
            if kind == "post":
                _, code, tx, platform = op
                return {"op": op, "ok": True, "post": led.post_transaction(code, tx, platform=platform,
                                                                           actor=f"platform:{platform}",
                                                                           parameters=params)}
            if kind == "onboard":
                return {"op": op, "ok": True, "party": led.onboard_party(op[1], "provider", f"服务商 {op[1]}",
                                                                         actor=ADMIN)}
            raise ValueError(kind)
        except VoucherError as exc:
            return {"op": op, "ok": False, "error": type(exc).__name__, "reason": exc.context.get("reason"),
                    "message": str(exc)}
        except Exception as exc:  # a database error: reported, so the test names it
            return {"op": op, "ok": False, "error": type(exc).__name__, "reason": None, "message": str(exc)}

    if config.get("loop"):
        n = 0
        while True:  # until killed: print each id only after the ledger acknowledged it
            n += 1
            party = f"{config['prefix']}-{n}"
            led.onboard_party(party, "provider", f"服务商 {party}", actor=ADMIN)
            code = config["code"]
            led.post_transaction(code, hz_compute(party, "1000.00"), platform=config["platform"],
                                 actor="platform:crash", parameters=params)
            print(party, flush=True)
    for op in config["ops"]:
        began = time.time()
        result = run(op)
        result["span"] = [began, time.time()]  # when it ran: the tests check that processes overlapped
        print(json.dumps(result, ensure_ascii=False, default=str), flush=True)
    led.close()
    print(json.dumps({"done": True}), flush=True)


# --- a ledger written by an older release ------------------------------------------------------

OLD_LEDGER = TESTS_DIR / "data" / "ledger-0001.json"


def load_old_ledger(url: str) -> dict:
    """Fill the database at `url` with the rows of `tests/data/ledger-0001.json`, in schema 0001 only.

    Opening a ledger on it afterwards runs the later migration steps, as an upgrade would.
    Returns the file's tables, to compare with what the migrated ledger shows.
    """
    from voucher.schema import FIRST_STEP
    from voucher.store import open_store

    tables = json.loads(OLD_LEDGER.read_text(encoding="utf-8"))["tables"]
    store = open_store(url, upto=FIRST_STEP)
    try:
        with store.write() as tx:
            tx.run("DELETE FROM head")
            for name, rows in tables.items():
                if rows:
                    tx.insert_many(name, rows)
    finally:
        store.close()
    return tables
