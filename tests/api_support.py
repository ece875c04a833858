"""Fixtures and helpers for the API tests (imported by tests/test_api*.py, not a conftest).

    from api_support import app_fixture, client_fixture, world_fixture  # noqa: F401  (registers app, client, world)

Each fixture function is named `<name>_fixture` and registered under `<name>`, so that
importing it does not shadow the test parameter of the same name.

`world` is a small ledger every lifecycle test starts from: three enterprises, two
platforms, a provider, and one key per role (two administrators, for the four-eyes
rule). The clock is fixed, and tests move it by hand, so expiry and holds are exact.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import Clock, credit_code

from api import create_app
from voucher.keys import create_key
from voucher.ledger import open_ledger
from voucher.transactions import CHINA_TZ

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 3, 2, 10, 0, tzinfo=CHINA_TZ)


GUIYANG_A = credit_code(101)
GUIYANG_B = credit_code(102)
JINAN = credit_code(103, "370100")
HANGZHOU = [credit_code(200 + i, "330100") for i in range(8)]


def profile(code: str, **extra) -> dict:
    city = {"52": ("贵州省", "贵阳市"), "37": ("山东省", "济南市"), "33": ("浙江省", "杭州市")}[code[2:4]]
    return {"credit_code": code, "name": f"企业{code[-4:]}", "province": city[0], "city": city[1],
            "registered_province": city[0], "local_tax": True, "roles": ["demand"], "sme": True, **extra}


def tx(id_: str, amount: str = "1000000.00", *, day: str = "2026-03-01", kind: str = "compute_purchase",
       province: str = "贵州省", city: str = "贵阳市", **extra) -> dict:
    return {"id": id_, "date": day, "kind": kind, "amount": amount, "province": province, "city": city, **extra}


class Caller:
    """A test client acting as one key: `.get(path)`, `.post(path, body, key="...")`."""

    def __init__(self, client, key: str | None) -> None:
        self.client, self.key = client, key

    def headers(self, idem: str | None = None, extra: dict | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        if idem is not None:
            headers["Idempotency-Key"] = idem
        return {**headers, **(extra or {})}

    def get(self, path: str, **kwargs):
        return self.client.get(path, headers=self.headers(), **kwargs)

    def post(self, path: str, body: dict | None = None, *, key: str | None = "auto", headers: dict | None = None):
        idem = uuid.uuid4().hex if key == "auto" else key
        return self.client.post(path, json=body, headers=self.headers(idem, headers))

    def delete(self, path: str):
        return self.client.delete(path, headers=self.headers())


@pytest.fixture(name="clock")
def clock_fixture() -> Clock:
    return Clock(START)


@lru_cache(maxsize=1)
def checkpoint_key() -> str:
    """An Ed25519 private key (PEM text) for the server to sign checkpoints with, made once per run."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()).decode()


@pytest.fixture(name="app")
def app_fixture(tmp_path, clock):
    url = f"sqlite:///{tmp_path}/api.db"
    book = open_ledger(url, clock=clock)  # the value the source leaves to an administrator, set as one would
    book.set_parameter("hangzhou-compute-voucher", "rate", "0.5", actor="admin:seed")
    book.close()
    app = create_app({"DATABASE_URL": url, "CLOCK": clock, "TESTING": True, "CHECKPOINT_KEY": checkpoint_key()})
    yield app
    app.extensions["voucher"].close()


@pytest.fixture(name="client")
def client_fixture(app):
    return app.test_client()


PARTIES = (("gz-compute", "platform"), ("other-platform", "platform"), ("jn-provider", "provider"),
           ("other-provider", "provider"))


def seed_subjects(ledger, codes=(GUIYANG_A, GUIYANG_B, JINAN)) -> None:
    """Register the enterprises and onboard the parties the keys stand for: a key's subject must be
    a party of its role, so they exist before their keys are made (as an operator would do it)."""
    from voucher.enterprise import Enterprise

    with ledger.store.read() as tx:
        known = {r["credit_code"] for r in tx.rows("SELECT credit_code FROM enterprises")}
        onboarded = {r["id"] for r in tx.rows("SELECT id FROM parties")}
    for code in codes:
        if code not in known:
            ledger.register_enterprise(Enterprise.from_dict(profile(code)), actor="admin:seed")
    for party, kind in PARTIES:
        if party not in onboarded:
            ledger.onboard_party(party, kind, party, actor="admin:seed")


def make_keys(ledger) -> dict[str, str]:
    seed_subjects(ledger)
    subjects = {"admin": ("admin", "li"), "admin2": ("admin", "wang"), "ent_a": ("enterprise", GUIYANG_A),
                "ent_b": ("enterprise", GUIYANG_B), "ent_jn": ("enterprise", JINAN),
                "platform": ("platform", "gz-compute"), "platform2": ("platform", "other-platform"),
                "provider": ("provider", "jn-provider"), "provider2": ("provider", "other-provider")}
    return {name: create_key(ledger, role, subject)["key"] for name, (role, subject) in subjects.items()}


@pytest.fixture(name="world")
def world_fixture(app, client):
    """Registered enterprises and parties, and a Caller per role."""
    book = app.extensions["voucher"].ledger()
    keys = make_keys(book)
    callers = {name: Caller(client, key) for name, key in keys.items()}
    admin = callers["admin"]
    for code in (GUIYANG_A, GUIYANG_B, JINAN, *HANGZHOU[:2]):
        assert admin.post("/v1/enterprises", profile(code)).status_code == 200
    for party, kind in PARTIES:
        assert admin.post("/v1/parties", {"id": party, "kind": kind, "name": party}).status_code == 200
    return SimpleNamespace(app=app, client=client, ledger=book, keys=keys, anon=Caller(client, None), **callers)


# --- a real gunicorn on a local port ---------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn -c gunicorn.conf.py on 127.0.0.1:<free port>, stopped (whole process group) on exit."""

    def __init__(self, database_url: str, *, workers: int = 3, env: dict | None = None,
                 app: str | None = None, chdir: Path = ROOT) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "VOUCHER_DATABASE_URL": database_url, "VOUCHER_BIND": f"127.0.0.1:{self.port}",
                    "VOUCHER_WORKERS": str(workers), "VOUCHER_ACCESS_LOG": "", **(env or {})}
        self.argv = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")] + ([app] if app else [])
        self.chdir = chdir
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.proc = subprocess.Popen(self.argv, cwd=self.chdir, env=self.env, start_new_session=True,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("gunicorn did not answer within 30 s")

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)  # the group we started: master and its workers
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(timeout=5)
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()


def fresh_pg_database(base_url: str) -> str:
    """CREATE DATABASE voucher_api_<random> on the server of `base_url`; returns its URL."""
    import psycopg

    name = f"voucher_api_{secrets.token_hex(4)}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base_url.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(base_url: str, url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(name="pg_url", scope="session")
def pg_url_fixture():
    """A fresh PostgreSQL database for this session, or skip when VOUCHER_TEST_PG is not set."""
    base = os.environ.get("VOUCHER_TEST_PG")
    if not base:
        pytest.skip("set VOUCHER_TEST_PG=postgresql://user@host:5432/db to run the PostgreSQL API tests")
    url = fresh_pg_database(base)
    yield url
    drop_pg_database(base, url)


# --- a webhook receiver and a clock for the worker ---------------------------------------------

class Receiver:
    """Records every POST; answers with the next status in `statuses` (then 200). Listens on `port`
    (default: any free one) once `thread` is started."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[tuple[dict, bytes]] = []
        self.paths: list[str] = []
        self.statuses: list[int] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                outer.paths.append(self.path)
                self.send_response(outer.statuses.pop(0) if outer.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def events(self) -> list[dict]:
        return [json.loads(body) for _, body in self.received]


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now
