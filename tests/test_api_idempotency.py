"""Reads never take the write lock and keep nothing; one business, one entry; statuses, over HTTP.

On SQLite and PostgreSQL (the PostgreSQL half skips unless VOUCHER_TEST_PG is set). An
estimate computes from one short read snapshot, holding no transaction while it
calculates, and ignores an Idempotency-Key: so a slow estimate never holds up a posting,
and nothing of it is stored.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
from api_support import GUIYANG_A, START, Caller, Clock, make_keys, profile, tx
from ledger_support import PG_ENV, PG_SKIP, create_pg_database, drop_pg_database

from api import create_app
from api.views import estimates

PAUSE = 5.0  # how long the slow estimate waits for the post before giving up


@pytest.fixture(params=["sqlite", "postgres"])
def api(request, tmp_path):
    """An app over either database, with the enterprises and parties of the lifecycle tests."""
    import os

    if request.param == "postgres":
        if not os.environ.get(PG_ENV):
            pytest.skip(PG_SKIP)
        url = create_pg_database(os.environ[PG_ENV])
    else:
        url = f"sqlite:///{tmp_path}/api.db"
    app = create_app({"DATABASE_URL": url, "CLOCK": Clock(START), "TESTING": True})
    book = app.extensions["voucher"].ledger()
    keys = make_keys(book)
    client = app.test_client()
    c = {name: Caller(client, key) for name, key in keys.items()}
    assert c["admin"].post("/v1/enterprises", profile(GUIYANG_A)).status_code == 200
    assert c["admin"].post("/v1/parties", {"id": "gz-compute", "kind": "platform", "name": "gz"}).status_code == 200
    try:
        yield SimpleNamespace(app=app, ledger=book, keys=keys, **c)
    finally:
        app.extensions["voucher"].close()
        if request.param == "postgres":
            drop_pg_database(url)


def stored_keys(api) -> int:
    with api.ledger.store.read() as t:
        return t.value("SELECT COUNT(*) FROM requests")


@pytest.mark.parametrize(("with_key", "against_ledger"), [(True, True), (True, False), (False, True)],
                         ids=["key-ledger", "key-what-if", "no-key-ledger"])
def test_a_slow_estimate_does_not_hold_up_a_post(api, monkeypatch, with_key, against_ledger):
    """The estimate pauses inside its calculation until the post is answered (or PAUSE passes)."""
    calculating, posted = threading.Event(), threading.Event()
    real = estimates.run_estimate

    def slow(*args, **kwargs):
        calculating.set()
        posted.wait(PAUSE)
        return real(*args, **kwargs)

    monkeypatch.setattr(estimates, "run_estimate", slow)
    body = {"transactions": [tx("E-1", "2000000.00")]}
    body.update({"enterprise": GUIYANG_A} if against_ledger else {"profile": profile(GUIYANG_A)})
    answers = {}

    def estimate() -> None:
        caller = Caller(api.app.test_client(), api.keys["ent_a"])
        answers["estimate"] = caller.post("/v1/estimates", body, key="est-1" if with_key else None)

    thread = threading.Thread(target=estimate)
    thread.start()
    try:
        assert calculating.wait(PAUSE)
        began = time.monotonic()
        platform = Caller(api.app.test_client(), api.keys["platform"])
        answers["post"] = platform.post("/v1/transactions", {"enterprise": GUIYANG_A, "transaction": tx("P-1")})
        waited = time.monotonic() - began
    finally:
        posted.set()
        thread.join(PAUSE * 2)
    assert answers["post"].status_code == 201, answers["post"].get_json()
    assert waited < 1.0, f"the post waited {waited:.2f} s for the estimate"
    assert answers["estimate"].status_code == 200
    assert answers["estimate"].get_json()["total"] == "60000.00"  # 3% of 2,000,000.00


def test_an_estimate_with_a_key_keeps_nothing(api):
    before = stored_keys(api)
    many = {"enterprise": GUIYANG_A, "transactions": [tx(f"E-{n}", "1000.00") for n in range(200)]}
    first = api.ent_a.post("/v1/estimates", many, key="same")
    assert first.status_code == 200 and first.get_json()["total"] == "6000.00"  # 200 × 30.00
    assert api.ent_a.post("/v1/estimates", many, key="same").get_json() == first.get_json()
    assert stored_keys(api) == before
    entries = api.admin.get("/v1/audit/verify").get_json()["entries"]
    api.ent_a.post("/v1/estimates", {"profile": profile(GUIYANG_A), "transactions": []}, key="e-2")
    assert stored_keys(api) == before
    assert api.admin.get("/v1/audit/verify").get_json()["entries"] == entries


def test_the_estimate_documents_the_key_as_ignored(api):
    spec = api.app.test_client().get("/openapi.json").get_json()
    (header,) = [p for p in spec["paths"]["/v1/estimates"]["post"]["parameters"] if p["name"] == "Idempotency-Key"]
    assert header["required"] is False and "ignored" in header["description"]


def test_sixty_four_keys_one_entry_and_a_different_body_names_the_fields(api):
    body = {"enterprise": GUIYANG_A, "transaction": tx("BASE-1")}
    first = api.platform.post("/v1/transactions", body, key="k-0")
    assert first.status_code == 201
    entries = api.admin.get("/v1/audit/verify").get_json()["entries"]
    for n, spelling in enumerate(["BASE-1", "ＢASE-1", "base-1", "BASE-1\u200b"] * 16):
        again = api.platform.post("/v1/transactions", {**body, "transaction": tx(spelling)}, key=f"k-{n + 1}")
        assert (again.status_code, again.get_json()) == (201, first.get_json())
    assert api.admin.get("/v1/audit/verify").get_json()["entries"] == entries

    changed = api.platform.post("/v1/transactions", {**body, "transaction": tx("base-1", "1000000.01",
                                                                                city="遵义市")})
    problem = changed.get_json()
    assert changed.status_code == 409 and changed.content_type == "application/problem+json"
    assert problem["code"] == "business_differs" and problem["field"] == "transaction.amount"
    assert [e["field"] for e in problem["errors"]] == ["transaction.amount", "transaction.city"]
    assert problem["differs"] == "transaction.amount, transaction.city"
    assert api.admin.get("/v1/audit/verify").get_json()["entries"] == entries


def test_a_partly_spent_voucher_over_http(api):
    vid = api.platform.post("/v1/transactions", {"enterprise": GUIYANG_A, "transaction": tx("T-1")}).get_json()[
        "vouchers"][0]["id"]  # 3% of 1,000,000.00 = 30,000.00
    api.platform.post(f"/v1/vouchers/{vid}/redemptions", {"enterprise": GUIYANG_A, "amount": "100.00",
                                                          "invoice": "INV-1"})
    view = api.ent_a.get(f"/v1/vouchers/{vid}").get_json()
    assert (view["status"], view["available"]) == ("partly_redeemed", "29900.00")
    listed = api.ent_a.get("/v1/vouchers?status=partly_redeemed").get_json()["items"]
    assert [v["id"] for v in listed] == [vid]
    again = api.platform.post(f"/v1/vouchers/{vid}/redemptions", {"enterprise": GUIYANG_A, "amount": "1.00",
                                                                  "invoice": "ｉｎｖ-1"})
    assert again.status_code == 409 and again.get_json()["field"] == "invoice"
    api.platform.post(f"/v1/vouchers/{vid}/redemptions", {"enterprise": GUIYANG_A, "amount": "29900.00",
                                                          "invoice": "INV-2"})
    assert api.ent_a.get(f"/v1/vouchers/{vid}").get_json()["status"] == "redeemed"
