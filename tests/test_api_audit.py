"""The audit over HTTP: verify reports every problem; an administrator takes a checkpoint signed with the
server's key (503 when none is set) and sends one back to verify against."""

from __future__ import annotations

import pytest
from api_support import GUIYANG_A, client_fixture, clock_fixture, tx, world_fixture  # noqa: F401  (fixtures)

from api import create_app
from voucher.checkpoint import FORMAT, check_signature, keygen, load_private_key, take_checkpoint
from voucher.ledger import open_ledger


@pytest.fixture
def keys(tmp_path):
    keygen(str(tmp_path / "server.pem"), str(tmp_path / "server.pub"))
    return tmp_path / "server.pem", tmp_path / "server.pub"


@pytest.fixture(name="app", params=["with a key", "without a key"])
def app_fixture(request, tmp_path, clock, keys):
    url = f"sqlite:///{tmp_path}/api.db"
    open_ledger(url, clock=clock).close()
    config = {"DATABASE_URL": url, "CLOCK": clock, "TESTING": True}
    if request.param == "with a key":
        config["CHECKPOINT_KEY"] = str(keys[0])
    app = create_app(config)
    yield app
    app.extensions["voucher"].close()


def test_verify_lists_problems(world):
    report = world.admin.get("/v1/audit/verify").get_json()
    assert report["ok"] is True and report["problems"] == [] and report["entries"] == 9
    with world.ledger.store.write() as t:
        t.run("UPDATE parties SET status = 'exited' WHERE id = 'gz-compute'")
    report = world.admin.get("/v1/audit/verify").get_json()
    assert report["ok"] is False and report["problems"] == [{
        "kind": "table", "detail": report["problem"], "table": "parties", "row": {"id": "gz-compute"},
        "column": "status", "expected": "onboarded", "found": "exited"}]


def test_checkpoints_are_taken_by_administrators_with_the_servers_key(world, keys):
    taken = world.admin.post("/v1/audit/checkpoints", key="cp-1")
    if not world.app.config.get("CHECKPOINT_KEY"):
        assert taken.status_code == 503 and "Retry-After" not in taken.headers
        problem = taken.get_json()
        assert (problem["code"], problem["field"]) == ("not_configured", "VOUCHER_CHECKPOINT_KEY")
        assert world.admin.get("/v1/audit/checkpoints/latest").status_code == 404
        return
    assert taken.status_code == 200, taken.get_json()
    body = taken.get_json()
    assert body["format"] == FORMAT and body["chains"] == [
        {"name": "main", "head_id": 9, "head_hash": world.admin.get("/v1/audit/verify").get_json()["last_hash"]}]
    assert check_signature(body, str(keys[1]))["entries"] == 9
    world.platform.post("/v1/transactions", {"enterprise": GUIYANG_A, "transaction": tx("AUD-1")})
    assert world.admin.post("/v1/audit/checkpoints", key="cp-1").get_json() == body  # a retry: the first answer
    assert world.admin.get("/v1/audit/checkpoints/latest").get_json() == {"actor": "admin:li", "checkpoint": body}
    assert world.ent_a.post("/v1/audit/checkpoints").status_code == 403
    assert world.admin.post("/v1/audit/checkpoints").get_json()["entries"] == 11  # a new key: a new checkpoint


def test_verify_against_a_checkpoint(world, keys):
    if not world.app.config.get("CHECKPOINT_KEY"):  # signed elsewhere: the caller sends the public key
        body = take_checkpoint(world.ledger, load_private_key(str(keys[0])), actor="admin:offline")
        unchecked = world.admin.post("/v1/audit/verify", {"checkpoint": body})
        assert unchecked.status_code == 503 and unchecked.get_json()["field"] == "public_key"
        sent = world.admin.post("/v1/audit/verify", {"checkpoint": body, "public_key": keys[1].read_text()})
        assert sent.get_json()["ok"] is True
        return
    body = world.admin.post("/v1/audit/checkpoints").get_json()
    checked = world.admin.post("/v1/audit/verify", {"checkpoint": body}).get_json()
    assert checked["ok"] is True and checked["checkpoint"]["chains"] == body["chains"]
    with_key = world.admin.post("/v1/audit/verify", {"checkpoint": body, "public_key": keys[1].read_text()})
    assert with_key.get_json()["ok"] is True
    edited = world.admin.post("/v1/audit/verify", {"checkpoint": {**body, "entries": 8}})
    assert edited.status_code == 422 and edited.get_json()["field"] == "checkpoint"
    with world.ledger.store.write() as t:  # the last entry deleted and the head moved back
        previous = t.value("SELECT hash FROM entries WHERE id = 8")
        t.run("DELETE FROM parties WHERE id = 'other-provider'")
        t.run("DELETE FROM entries WHERE id = 9")
        t.run("UPDATE head SET last_id = 8, last_hash = ?", (previous,))
    assert world.admin.get("/v1/audit/verify").get_json()["ok"] is True
    truncated = world.admin.post("/v1/audit/verify", {"checkpoint": body}).get_json()
    assert truncated["ok"] is False and truncated["problems"][0]["kind"] == "checkpoint"
    assert world.ent_a.post("/v1/audit/verify", {"checkpoint": body}).status_code == 403
