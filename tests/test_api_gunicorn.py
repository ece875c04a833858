"""A real gunicorn (gunicorn.conf.py, several workers) on 127.0.0.1, over SQLite and, if configured, PostgreSQL.

The concurrency test of the ledger, repeated over HTTP: many clients post businesses
near Hangzhou's shared yearly pool (50,000,000 yuan) at once, through different worker
processes; the pool holds to the fen. Every request is also sent twice at the same
moment with the same Idempotency-Key; each pair gets one answer and writes once.
"""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from decimal import Decimal

import pytest
from api_support import (
    GUIYANG_A,
    HANGZHOU,
    Server,
    pg_url_fixture,  # noqa: F401  (fixtures)
    profile,
    tx,
)

from voucher.keys import create_key
from voucher.enterprise import Enterprise
from voucher.ledger import open_ledger

pytestmark = pytest.mark.slow
POOL = Decimal("50000000.00")


class Http:
    """http.client against the server, one connection per request (sync workers close them anyway)."""

    def __init__(self, server: Server, key: str | None = None) -> None:
        self.port, self.key = server.port, key

    def __call__(self, method: str, path: str, body: dict | None = None, *, idem: str | None = None,
                 headers: dict | None = None) -> tuple[int, dict | str, dict]:
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if self.key:
            hdrs["Authorization"] = f"Bearer {self.key}"
        if idem:
            hdrs["Idempotency-Key"] = idem
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=hdrs)
            response = conn.getresponse()
            raw = response.read().decode()
            ctype = response.getheader("Content-Type", "")
            return response.status, json.loads(raw) if "json" in ctype else raw, dict(response.getheaders())
        finally:
            conn.close()


def seed(url: str) -> dict:
    """Written straight to the database before gunicorn starts: keys, enterprises, the platform."""
    book = open_ledger(url)
    for code in (GUIYANG_A, *HANGZHOU):
        book.register_enterprise(Enterprise.from_dict(profile(code)), actor="admin:seed")
    book.onboard_party("gz-compute", "platform", "平台", actor="admin:seed")
    book.set_parameter("hangzhou-compute-voucher", "rate", "0.5", actor="admin:seed")
    keys = {name: create_key(book, role, subject)["key"] for name, role, subject in (
        ("admin", "admin", "li"), ("platform", "platform", "gz-compute"), ("ent_a", "enterprise", GUIYANG_A))}
    book.close()
    return keys


def run_server(url: str):
    keys = seed(url)
    with Server(url, workers=3) as server:
        yield server, keys


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory):
    yield from run_server(f"sqlite:///{tmp_path_factory.mktemp('gunicorn')}/api.db")


@pytest.fixture(scope="module")
def pg_server(pg_url):
    yield from run_server(pg_url)


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request):
    return request.getfixturevalue(f"{'sqlite' if request.param == 'sqlite' else 'pg'}_server")


def test_serves_the_api(server):
    srv, keys = server
    anon, ent, platform = Http(srv), Http(srv, keys["ent_a"]), Http(srv, keys["platform"])
    assert anon("GET", "/readyz")[0] == 200
    status, spec, _ = anon("GET", "/openapi.json")
    assert status == 200 and "/v1/transactions" in spec["paths"]
    status, body, headers = anon("GET", "/v1/vouchers")
    assert status == 401 and headers["Content-Type"] == "application/problem+json"
    status, posted, _ = platform("POST", "/v1/transactions", {"enterprise": GUIYANG_A, "transaction": tx(
        f"G-{uuid.uuid4().hex[:8]}")}, idem=uuid.uuid4().hex)
    assert status == 201, posted
    vid = posted["vouchers"][0]["id"]
    assert ent("GET", f"/v1/vouchers/{vid}")[1]["face"] == "30000.00"
    try:
        status, _, _ = anon("POST", "/v1/estimates", {"x": "y" * (3 * 1024 * 1024)})
    except (BrokenPipeError, ConnectionResetError):  # answered 401 and closed before the body was all sent
        status = 401
    assert status in (401, 413)  # refused before or while reading the body, never a 500
    status, problem, _ = Http(srv, keys["admin"])("POST", "/v1/estimates", {"x": "y" * (3 * 1024 * 1024)})
    assert status == 413 and problem["status"] == 413


def test_the_pool_holds_and_retries_write_once_under_concurrency(server):
    srv, keys = server
    platform, admin = Http(srv, keys["platform"]), Http(srv, keys["admin"])
    run = uuid.uuid4().hex[:6]
    posts = [{"enterprise": HANGZHOU[i % len(HANGZHOU)],
              "transaction": tx(f"HZ-{run}-{i}", "7000000.00", day="2026-06-01", province="浙江省", city="杭州市")}
             for i in range(24)]  # each would issue 3,500,000; the pool has room for 14 and a part
    keys_ = [uuid.uuid4().hex for _ in posts]
    results: dict[int, list] = {i: [] for i in range(len(posts))}
    barrier = threading.Barrier(len(posts) * 2)

    def send(i: int) -> None:
        barrier.wait()
        results[i].append(platform("POST", "/v1/transactions", posts[i], idem=keys_[i])[:2])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(posts)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    issued = Decimal(0)
    for i, pair in results.items():
        assert len(pair) == 2 and pair[0] == pair[1], f"request {i}: a retry got a different answer"
        status, body = pair[0]
        assert status == 201, body
        issued += sum(Decimal(v["face"]) for v in body["vouchers"] if v["policy_id"] == "hangzhou-compute-voucher")
    report = admin("GET", "/v1/reports/hangzhou-compute-voucher/2026")[1]
    assert Decimal(report["granted"]) <= POOL and report["pool_left"] == "0.00"
    assert issued == Decimal(report["granted"]) == POOL  # to the fen: no more, and nothing lost
    posted = 0
    after = 0
    while True:
        page = admin("GET", f"/v1/ledger/entries?event=transaction.post&limit=1000&after={after}")[1]
        posted += sum(1 for e in page["items"] if e["ref"].startswith(f"HZ-{run}-"))
        if page["next"] is None:
            break
        after = page["next"]
    assert posted == len(posts)  # 48 requests, 24 postings
    assert admin("GET", "/v1/audit/verify")[1]["ok"] is True
