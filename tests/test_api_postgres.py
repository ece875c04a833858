"""The API on PostgreSQL (skipped unless VOUCHER_TEST_PG names a server): the same lifecycle, keys and webhooks.

It checks that the API's own tables and queries (keys, subscriptions, deliveries, the
fan-out cursor) are as portable as the ledger's, on a fresh database for the session.
"""

from __future__ import annotations

import pytest
from api_support import (
    GUIYANG_A,
    JINAN,
    Caller,
    START,
    Clock,
    FakeTime,
    Receiver,
    make_keys,
    pg_url_fixture,  # noqa: F401  (fixtures)
    profile,
    tx,
)

from api import create_app
from voucher.keys import list_keys, revoke_key
from voucher.webhooks import Worker, verify

SHA = "cd" * 32


@pytest.fixture(scope="module")
def pg(pg_url):
    app = create_app({"DATABASE_URL": pg_url, "CLOCK": Clock(START), "TESTING": True})
    book = app.extensions["voucher"].ledger()
    keys = make_keys(book)
    client = app.test_client()
    callers = {name: Caller(client, key) for name, key in keys.items()}
    yield app, book, keys, callers
    app.extensions["voucher"].close()


def test_lifecycle_keys_and_webhooks_on_postgresql(pg):
    app, book, keys, c = pg
    receiver = Receiver()
    receiver.thread.start()
    try:
        admin, platform, ent_a, ent_jn, provider = c["admin"], c["platform"], c["ent_a"], c["ent_jn"], c["provider"]
        for code in (GUIYANG_A, JINAN):
            assert admin.post("/v1/enterprises", profile(code)).status_code == 200
        for party, kind in (("gz-compute", "platform"), ("jn-provider", "provider")):
            assert admin.post("/v1/parties", {"id": party, "kind": kind, "name": party}).status_code == 200
        sub = ent_a.post("/v1/webhooks", {"url": receiver.url, "events": ["voucher.issued", "voucher.redeemed"]})
        assert sub.status_code == 201
        body = {"enterprise": GUIYANG_A, "transaction": tx("PG-1")}
        first = platform.post("/v1/transactions", body, key="pg-k")
        assert first.status_code == 201
        assert platform.post("/v1/transactions", body, key="pg-k").get_json() == first.get_json()
        vid = first.get_json()["vouchers"][0]["id"]
        red = platform.post(f"/v1/vouchers/{vid}/redemptions", {"enterprise": GUIYANG_A, "amount": "100.00",
                                                                "invoice": "PG-INV"}).get_json()
        assert platform.post(f"/v1/redemptions/{red['id']}/settlement").status_code == 200
        assert admin.post(f"/v1/redemptions/{red['id']}/settlement/approve").status_code == 200
        assert c["admin2"].post(f"/v1/redemptions/{red['id']}/pay").get_json()["status"] == "paid"

        app_id = ent_jn.post("/v1/applications", {"policy_id": "jinan-data-voucher", "transaction": tx(
            "PG-JN", "12000.00", kind="data_asset_booking_service", province="山东省", city="济南市")}).get_json()["id"]
        jv = admin.post(f"/v1/applications/{app_id}/approve").get_json()["voucher"]["id"]
        jr = ent_jn.post(f"/v1/vouchers/{jv}/redemptions", {"amount": "12000.00", "invoice": "PG-JN-INV",
                                                            "party": "jn-provider"}).get_json()["id"]
        assert provider.post(f"/v1/redemptions/{jr}/proof", {"file_hash": SHA}).status_code == 200
        assert ent_jn.post(f"/v1/redemptions/{jr}/confirm", {"rating": 5}).status_code == 200

        assert ent_a.post("/v1/estimates", {"enterprise": GUIYANG_A, "transactions": [tx("PG-X")]}).status_code == 200
        page = ent_a.get("/v1/ledger/entries?limit=2").get_json()
        assert len(page["items"]) == 2 and page["next"]
        assert ent_a.get("/v1/ledger/balances").get_json()["totals"]["voucher"] == "29900.00"
        assert admin.get("/v1/reports/guizhou-compute-voucher/2026").get_json()["paid"] == "100.00"
        assert admin.get("/v1/audit/verify").get_json()["ok"] is True
        assert admin.get("/v1/ledger/export.csv").status_code == 200
        assert admin.get("/readyz").get_json()["database"] == "postgres"

        worker = Worker(book.store, ledger=book, clock=FakeTime(), allow_private=True)
        assert worker.run_once()["delivered"] == 2
        secret = sub.get_json()["secret"]
        assert all(verify(secret, h, b, now=worker.clock()) for h, b in receiver.received)
        assert [e["type"] for e in receiver.events()] == ["voucher.issued", "voucher.redeemed"]
        deliveries = ent_a.get(f"/v1/webhooks/{sub.get_json()['id']}/deliveries").get_json()["items"]
        assert {d["status"] for d in deliveries} == {"delivered"}
        assert ent_a.delete(f"/v1/webhooks/{sub.get_json()['id']}").status_code == 204

        key_id = keys["provider2"].split("_")[1]
        revoke_key(book, key_id)
        assert key_id not in {k["id"] for k in list_keys(book)}
        assert c["provider2"].get(f"/v1/redemptions/{jr}").status_code == 401
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
