"""Webhooks end to end: subscribe over HTTP, post and redeem, run the worker, receive signed events locally.

The receiver is a tiny HTTP server on 127.0.0.1 started in the test; the worker's
clock is a number the test moves, so retries and backoff run without sleeping.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date

import pytest
from api_support import (  # noqa: F401  (fixtures)
    GUIYANG_A,
    GUIYANG_B,
    ROOT,
    FakeTime,
    Receiver,
    app_fixture,
    client_fixture,
    clock_fixture,
    free_port,
    tx,
    world_fixture,
)

from voucher.webhooks import Worker, run_worker, sign, verify
from voucher.webhooks import main as webhooks_main


@pytest.fixture
def receiver():
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture
def worker(world):
    fake = FakeTime()
    w = Worker(world.ledger.store, ledger=world.ledger, clock=fake, schedule=(10, 20), allow_private=True,
               timeout=5)
    w.fake = fake
    return w


def subscribe(caller, url: str, *events: str) -> dict:
    r = caller.post("/v1/webhooks", {"url": url, "events": list(events)})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def post(world, code=GUIYANG_A, id_="T1") -> str:
    r = world.platform.post("/v1/transactions", {"enterprise": code, "transaction": tx(id_)})
    return r.get_json()["vouchers"][0]["id"]


def test_events_are_delivered_signed_to_those_they_concern(world, receiver, worker):
    mine = subscribe(world.ent_a, receiver.url + "/a", "voucher.issued", "voucher.redeemed", "settlement.paid")
    other = subscribe(world.ent_b, receiver.url + "/b", "voucher.issued")
    platform = subscribe(world.platform, receiver.url + "/p", "voucher.issued")
    vid = post(world)
    red = world.platform.post(f"/v1/vouchers/{vid}/redemptions", {"enterprise": GUIYANG_A, "amount": "100.00",
                                                                  "invoice": "W-1"}).get_json()
    world.platform.post(f"/v1/redemptions/{red['id']}/settlement")
    world.admin.post(f"/v1/redemptions/{red['id']}/settlement/approve")
    world.admin2.post(f"/v1/redemptions/{red['id']}/pay")
    stats = worker.run_once()
    assert stats["delivered"] == 4 and stats["retrying"] == stats["failed"] == 0
    secrets_by_path = {"/a": mine["secret"], "/b": other["secret"], "/p": platform["secret"]}
    by_type: dict[str, list] = {}
    for path, (headers, body) in zip(receiver.paths, receiver.received, strict=True):
        event = json.loads(body)
        by_type.setdefault(event["type"], []).append((path, event))
        assert headers["webhook-id"] == event["id"] and headers["webhook-id"].startswith("evt_")
        assert headers["webhook-signature"].startswith("v1,")
        assert verify(secrets_by_path[path], headers, body, now=worker.fake.now)
        assert not verify(secrets_by_path["/b"], headers, body, now=worker.fake.now)
    assert sorted(by_type) == ["settlement.paid", "voucher.issued", "voucher.redeemed"]
    assert sorted(p for p, _ in by_type["voucher.issued"]) == ["/a", "/p"]  # not enterprise B
    assert by_type["voucher.issued"][0][1]["data"]["id"] == vid
    assert by_type["settlement.paid"][0][1]["data"]["status"] == "paid"
    assert worker.run_once()["delivered"] == 0  # nothing twice
    listed = world.ent_a.get(f"/v1/webhooks/{mine['id']}/deliveries").get_json()["items"]
    assert {d["status"] for d in listed} == {"delivered"} and all(d["attempts"] == 1 for d in listed)


def test_signature_is_standard_webhooks():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    # The Standard Webhooks reference vector.
    assert sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == \
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    headers = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
               "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}
    assert verify(secret, headers, body, now=1614265330)
    assert not verify(secret, headers, body + b" ", now=1614265330)
    assert not verify(secret, headers, body, now=1614265330 + 3600)  # stale


def test_failures_are_retried_with_backoff_then_given_up(world, receiver, worker):
    sub = subscribe(world.ent_a, receiver.url, "voucher.issued")
    receiver.statuses = [500, 503]
    post(world)
    assert worker.run_once()["retrying"] == 1
    assert worker.run_once()["retrying"] == 0  # not due yet
    worker.fake.now += 10
    assert worker.run_once()["retrying"] == 1
    worker.fake.now += 20
    assert worker.run_once()["delivered"] == 1
    [delivery] = world.ent_a.get(f"/v1/webhooks/{sub['id']}/deliveries").get_json()["items"]
    assert delivery["attempts"] == 3 and delivery["last_status"] == 200
    ids = {h["webhook-id"] for h, _ in receiver.received}
    assert len(receiver.received) == 3 and len(ids) == 1  # one id across retries: receivers de-duplicate on it
    receiver.statuses = [500, 500, 500]
    post(world, id_="T2")
    for step in (0, 10, 20):
        worker.fake.now += step
        worker.run_once()
    failed = world.ent_a.get(f"/v1/webhooks/{sub['id']}/deliveries").get_json()["items"][0]
    assert failed["status"] == "failed" and failed["attempts"] == 3 and failed["last_error"] == "HTTP 500"


def test_private_addresses_are_refused_unless_allowed(world, receiver):
    sub = subscribe(world.ent_a, receiver.url, "voucher.issued")
    post(world)
    strict = Worker(world.ledger.store, ledger=world.ledger, clock=FakeTime())
    assert strict.run_once()["failed"] == 1 and not receiver.received
    [delivery] = world.ent_a.get(f"/v1/webhooks/{sub['id']}/deliveries").get_json()["items"]
    assert "private address" in delivery["last_error"]


def test_expiring_in_30_days_once_and_expired(world, receiver, worker, clock):
    subscribe(world.ent_a, receiver.url, "voucher.expiring", "voucher.expired")
    vid = post(world)  # issued 2026-03-01, valid for six months (to about 2026-09-01, by the ledger's rule)
    expires_on = world.ent_a.get(f"/v1/vouchers/{vid}").get_json()["expires_on"]
    assert worker.sweep_expiring(date(2026, 7, 1)) == 0
    assert worker.sweep_expiring(date(2026, 8, 5)) == 1
    assert worker.sweep_expiring(date(2026, 8, 6)) == 0  # once per voucher
    clock.advance(days=200)  # 2026-09-18: the ledger's expiry sweep runs inside run_once
    stats = worker.run_once()
    assert stats["expired"] == 1 and stats["delivered"] == 2
    types = [e["type"] for e in receiver.events()]
    assert types == ["voucher.expiring", "voucher.expired"]
    assert receiver.events()[0]["data"] == {"voucher_id": vid, "enterprise": GUIYANG_A,
                                            "policy_id": "guizhou-compute-voucher", "expires_on": expires_on,
                                            "available": "30000.00"}


def test_outbox_is_written_with_the_posting_or_not_at_all(world):
    vid = post(world)
    with world.ledger.store.read() as tx_:
        before = tx_.value("SELECT COUNT(*) FROM outbox")
    refused = world.platform.post(f"/v1/vouchers/{vid}/redemptions", {"enterprise": GUIYANG_A,
                                                                      "amount": "99999999.00", "invoice": "NO"})
    assert refused.status_code == 409
    with world.ledger.store.read() as tx_:
        assert tx_.value("SELECT COUNT(*) FROM outbox") == before


def test_subscriptions_are_private_to_their_owner(world, receiver, worker):
    sub = subscribe(world.ent_a, receiver.url, "voucher.issued")
    assert [s["id"] for s in world.ent_a.get("/v1/webhooks").get_json()] == [sub["id"]]
    assert world.ent_b.get("/v1/webhooks").get_json() == []
    assert "secret" not in world.ent_a.get("/v1/webhooks").get_json()[0]
    assert sub["id"] in {s["id"] for s in world.admin.get("/v1/webhooks").get_json()}
    assert world.ent_b.delete(f"/v1/webhooks/{sub['id']}").status_code == 404
    assert world.ent_b.get(f"/v1/webhooks/{sub['id']}/deliveries").status_code == 404
    post(world)
    assert world.ent_a.delete(f"/v1/webhooks/{sub['id']}").status_code == 204
    assert worker.run_once()["delivered"] == 0
    assert world.ent_a.get("/v1/webhooks").get_json() == []
    assert world.ent_a.post("/v1/webhooks", {"url": "ftp://x", "events": ["voucher.issued"]}).status_code == 422
    assert world.ent_a.post("/v1/webhooks", {"url": receiver.url, "events": ["nope"]}).status_code == 422
    assert world.ent_a.post("/v1/webhooks", {"url": receiver.url, "events": []}).status_code == 422
    assert world.ent_b.get(f"/v1/webhooks/{sub['id']}/deliveries").status_code == 404


def test_admin_subscription_gets_every_event(world, receiver, worker):
    subscribe(world.admin, receiver.url, "voucher.issued")
    post(world)
    post(world, GUIYANG_B, "T2")
    assert worker.run_once()["delivered"] == 2


def test_a_network_error_is_retried_on_the_schedule_until_the_receiver_answers(world, worker):
    port = free_port()  # nothing listens here yet: the connection is refused
    sub = subscribe(world.ent_a, f"http://127.0.0.1:{port}/hook", "voucher.issued")
    vid = post(world)
    assert worker.run_once() == {"expired": 0, "expiring": 0, "events": 1, "delivered": 0, "retrying": 1,
                                 "failed": 0}
    [delivery] = world.ent_a.get(f"/v1/webhooks/{sub['id']}/deliveries").get_json()["items"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status"]) == ("pending", 1, None)
    assert delivery["last_error"].startswith("ConnectionRefusedError")
    worker.fake.now += 9  # the schedule's first wait is 10 seconds
    assert worker.run_once()["retrying"] == 0
    late = Receiver(port)  # the receiver comes up on that port
    late.thread.start()
    try:
        worker.fake.now += 1
        assert worker.run_once()["delivered"] == 1
        [(headers, body)] = late.received
        assert json.loads(body)["data"]["id"] == vid and verify(sub["secret"], headers, body, now=worker.fake.now)
    finally:
        late.server.shutdown()
        late.server.server_close()
    [delivery] = world.ent_a.get(f"/v1/webhooks/{sub['id']}/deliveries").get_json()["items"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status"]) == ("delivered", 2, 200)


def test_the_worker_loops_until_it_is_told_to_stop(world, receiver, tmp_path):
    """`voucher-webhooks` as deployed: it delivers, sleeps while idle, picks up later events, stops on SIGTERM."""
    subscribe(world.ent_a, receiver.url, "voucher.issued")
    first = post(world)
    env = {**os.environ, "VOUCHER_POLICIES": str(ROOT / "policies")}
    proc = subprocess.Popen([sys.executable, "-m", "voucher.webhooks", "--database-url",
                             world.app.config["DATABASE_URL"], "--allow-private", "--interval", "0.05"],
                            cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(receiver.received) == 1, proc)
        time.sleep(0.3)  # several idle passes
        assert proc.poll() is None and len(receiver.received) == 1  # still running, nothing sent twice
        second = post(world, GUIYANG_A, "T2")
        wait_for(lambda: len(receiver.received) == 2, proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log = proc.stderr.read()
        proc.stderr.close()
    assert [e["data"]["id"] for e in receiver.events()] == [first, second]
    assert "stopped: {" in log and "Traceback" not in log
    with world.ledger.store.read() as tx_:
        assert tx_.value("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'delivered'") == 2


def wait_for(condition, proc, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the worker did not deliver in time"
        time.sleep(0.05)


def test_one_pass_from_the_command_line_delivers_and_exits(world, receiver):
    subscribe(world.ent_a, receiver.url, "voucher.issued")
    vid = post(world)
    url = world.app.config["DATABASE_URL"]
    webhooks_main(["--database-url", url, "--once", "--allow-private", "--no-expire"])  # returns: one pass
    assert [e["data"]["id"] for e in receiver.events()] == [vid]
    # With the ledger's expiry sweep, on the real clock (past the voucher's last day, 2026-09-02): the voucher
    # expires and its voucher.expired event is queued, but this subscriber asked for voucher.issued only.
    stats = run_worker(True, url=url, allow_private=True)
    assert (stats["expired"], stats["events"], stats["delivered"], stats["retrying"], stats["failed"]) == (
        1, 1, 0, 0, 0)
    assert len(receiver.received) == 1
    assert world.ent_a.get(f"/v1/vouchers/{vid}").get_json()["status"] == "expired"


def test_a_subscription_deleted_after_the_event_was_queued_gets_nothing(world, receiver, worker):
    sub = subscribe(world.ent_a, receiver.url, "voucher.issued")
    post(world)
    assert worker.fan_out() == 1  # the delivery is queued for the subscription
    assert world.ent_a.delete(f"/v1/webhooks/{sub['id']}").status_code == 204
    assert worker.deliver_due() == {"delivered": 0, "retrying": 0, "failed": 1}
    assert not receiver.received
    with world.ledger.store.read() as tx_:
        row = tx_.one("SELECT status, last_error FROM webhook_deliveries WHERE subscription_id = ?", (sub["id"],))
    assert row == {"status": "failed", "last_error": "the subscription was deleted"}


def test_an_unresolvable_host_is_retried_not_refused_as_private(world):
    sub = subscribe(world.ent_a, "https://receiver.invalid/hook", "voucher.issued")  # .invalid never resolves
    post(world)
    strict = Worker(world.ledger.store, ledger=world.ledger, clock=FakeTime(), timeout=2)
    assert strict.run_once()["retrying"] == 1
    [delivery] = world.ent_a.get(f"/v1/webhooks/{sub['id']}/deliveries").get_json()["items"]
    assert delivery["status"] == "pending" and "private" not in delivery["last_error"]


def test_a_voucher_with_nothing_left_is_not_announced_as_expiring(world, worker):
    vid = post(world)  # 30,000.00, its last day about 2026-09-02
    red = world.platform.post(f"/v1/vouchers/{vid}/redemptions", {"enterprise": GUIYANG_A, "amount": "30000.00",
                                                                  "invoice": "ALL"})
    assert red.status_code == 201
    assert worker.sweep_expiring(date(2026, 8, 5)) == 0


@pytest.mark.parametrize("headers", [{}, {"webhook-id": "evt_1"}, {"webhook-id": "evt_1", "webhook-timestamp": "soon"},
                                     {"webhook-id": "evt_1", "webhook-timestamp": None}],
                         ids=["no-headers", "no-timestamp", "bad-timestamp", "null-timestamp"])
def test_a_receiver_refuses_a_request_without_a_readable_id_and_timestamp(headers):
    assert verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", headers, b"{}", now=1614265330) is False
