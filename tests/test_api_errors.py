"""Every error is RFC 9457 problem+json with the exact status, the field and the reason; no input gives a 500.

And idempotency: a retry with the same key returns the first response and writes
nothing; the same key with another body is 422; money-moving requests without a key are 400;
estimates, being reads, ignore the key.
"""

from __future__ import annotations

import json
import logging
import sqlite3

import psycopg
import pytest
from api_support import (  # noqa: F401  (fixtures)
    GUIYANG_A,
    app_fixture,
    client_fixture,
    clock_fixture,
    profile,
    tx,
    world_fixture,
)

from api import create_app
from api.errors import STATUS, status_for
from voucher.errors import CapReached, Conflict, Forbidden, InputError, NotFound
from voucher.journal import IdempotencyMismatch
from voucher.ledger import Ledger
from voucher.lifecycle import NotEligible

EST = "/v1/estimates"


def problem(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    body = response.get_json()
    assert {"type", "title", "status", "detail", "code"} <= set(body) and body["status"] == status
    if field is not None:
        assert body["field"] == field, body
        assert any(e["field"] == field and e["reason"] for e in body["errors"])
    return body


@pytest.mark.parametrize("exc, status", [
    (InputError("amount", "bad"), 422), (IdempotencyMismatch("Idempotency-Key", "reused"), 422),
    (NotFound("x"), 404), (Conflict("x"), 409), (CapReached("x"), 409), (NotEligible("x"), 409),
    (Forbidden("x"), 403),
])
def test_one_table_maps_domain_errors(exc, status):
    assert status_for(exc) == status
    assert all(isinstance(code, int) for code in STATUS.values())


def _estimate(amount=None, **overrides) -> dict:
    body = {"profile": profile(GUIYANG_A), "transactions": [tx("X1", "1000.00" if amount is None else amount)]}
    body.update(overrides)
    return body


@pytest.mark.parametrize("body, field, reason_part", [
    (_estimate(12.5), "transactions[0].amount", "not a JSON number"),
    (_estimate(1000), "transactions[0].amount", "not a JSON number"),
    (_estimate("1,000.00"), "transactions[0].amount", "separators are read only in CSV files"),
    (_estimate("12.345"), "transactions[0].amount", "more than 2 decimal places"),
    (_estimate("-5"), "transactions[0].amount", "is negative"),
    (_estimate("1e3"), "transactions[0].amount", "has an exponent"),
    (_estimate(transactions=[{**tx("X1"), "kind": "lottery"}]), "transactions[0].kind", "Must be one of"),
    (_estimate(transactions=[{**tx("X1"), "date": "2026-02-30"}]), "transactions[0].date", "not a day of the calendar"),
    (_estimate(transactions=[{**tx("X1"), "colour": "red"}]), "transactions[0].colour", "Unknown field"),
    (_estimate(transactions=[{**tx("X1"), "id": "   "}]), "transactions[0].id", "is required"),
    (_estimate(transactions=[{**tx("X1"), "id": "a\x00b"}]), "transactions[0].id", "control character (U+0000)"),
    (_estimate(profile={**profile(GUIYANG_A), "credit_code": "91520100000000101X"}), "profile.credit_code",
     "check character"),
    (_estimate(profile={**profile(GUIYANG_A), "sme": "yes"}), "profile.sme", "true or false"),
    (_estimate(include_drafts=1), "include_drafts", "true or false"),
    ({"transactions": []}, "profile", "either profile"),
    (_estimate(enterprise=GUIYANG_A), "profile", "either profile"),
    ({"profile": profile(GUIYANG_A)}, "transactions", "Missing data"),
    (_estimate(parameters={"hangzhou-compute-voucher": {"rate": "1.5"}}), "parameters.hangzhou-compute-voucher.rate",
     "between 0 and 1"),
    (_estimate(parameters={"hangzhou-compute-voucher": {"rate": 0.2}}), "parameters.hangzhou-compute-voucher.rate",
     "not a JSON number"),
])
def test_invalid_input_is_422_with_the_field_and_the_reason(world, body, field, reason_part):
    body_out = problem(world.platform.post(EST, body), 422, field)
    reasons = " ".join(e["reason"] for e in body_out["errors"] if e["field"] == field)
    assert reason_part in reasons


def raw_post(world, path, data, content_type="application/json", **headers):
    return world.client.post(path, data=data, headers={"Authorization": f"Bearer {world.keys['admin']}",
                                                       "Content-Type": content_type, **headers})


@pytest.mark.parametrize("data, status", [
    ("{bad json", 400), ("[" * 50_000 + "]" * 50_000, 400), ('{"a": NaN}', 400), (b"\xff\xfe", 400),
    ('{"transactions": [], "profile": {"credit_code": "' + "9" * 5000 + '"}}', 422),
    ('{"transactions": ' + "1" * 5000 + "}", 400),  # an integer longer than Python will parse
    ("[]", 422), ('"text"', 422), ("null", 422),
])
def test_malformed_bodies_never_500(world, data, status):
    problem(raw_post(world, EST, data), status)


def test_body_that_is_not_json_is_415_and_an_oversized_one_413(world):
    problem(raw_post(world, EST, "a=1", content_type="application/x-www-form-urlencoded"), 415)
    problem(raw_post(world, EST, "x" * (2 * 1024 * 1024 + 1)), 413)


def test_auth_errors(world):
    problem(world.anon.get("/v1/vouchers"), 401, "Authorization")
    r = world.client.get("/v1/vouchers", headers={"Authorization": "Bearer vk_000000000000_nonsensenonsensenonsense"})
    assert problem(r, 401)["detail"] == "the API key is unknown or revoked"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    problem(world.client.get("/v1/vouchers", headers={"Authorization": "Basic abc"}), 401, "Authorization")
    ok = world.client.get("/v1/vouchers", headers={"X-API-Key": world.keys["admin"]})
    assert ok.status_code == 200
    problem(world.provider.get("/v1/vouchers"), 403, "Authorization")


def test_unknown_routes_and_methods(world):
    problem(world.admin.get("/v1/nope"), 404)
    r = world.client.delete("/v1/policies")
    problem(r, 405)
    assert "GET" in r.headers["Allow"]
    problem(world.admin.get("/v1/vouchers/a%00b"), 404)
    problem(world.admin.get("/v1/ledger/entries?after=99999999999999999999999"), 422, "after")
    problem(world.admin.get("/v1/ledger/entries?limit=0"), 422, "limit")
    problem(world.admin.get("/v1/ledger/balances?on=yesterday"), 422, "on")


def test_a_cap_is_409_with_its_reason(world):
    for i in range(7):  # 7 × 300,000 passes the 2,000,000 yearly cap: the 7th gets the 200,000 left
        world.platform.post("/v1/transactions", {"enterprise": GUIYANG_A, "transaction": tx(f"C{i}", "10000000.00")})
    r = world.ent_a.post("/v1/applications", {"policy_id": "guizhou-compute-voucher",
                                              "transaction": tx("C-apply", "10000000.00")})
    body = problem(r, 409, "policy_id")
    assert body["code"] == "cap_reached" and body["reason"] == "cap"


# --- idempotency --------------------------------------------------------------------------------

def entries(world) -> int:
    return len(world.admin.get("/v1/ledger/entries?limit=1000").get_json()["items"])


def test_money_moving_requests_need_a_key(world):
    body = {"enterprise": GUIYANG_A, "transaction": tx("T1")}
    problem(world.platform.post("/v1/transactions", body, key=None), 400, "Idempotency-Key")
    problem(world.platform.post("/v1/transactions", body, key="   "), 400, "Idempotency-Key")
    problem(world.platform.post("/v1/transactions", body, key="é"), 422)
    problem(world.platform.post("/v1/transactions", body, key="x" * 256), 422)
    assert world.platform.post("/v1/transactions", body, key='"quoted-sf-string"').status_code == 201


def test_a_retry_returns_the_first_response_and_writes_nothing(world):
    body = {"enterprise": GUIYANG_A, "transaction": tx("T1")}
    first = world.platform.post("/v1/transactions", body, key="k-1")
    before = entries(world)
    again = world.platform.post("/v1/transactions", body, key="k-1")
    assert again.status_code == first.status_code == 201
    assert again.get_json() == first.get_json()
    assert entries(world) == before
    changed = world.platform.post("/v1/transactions", {**body, "transaction": tx("T2")}, key="k-1")
    assert problem(changed, 422, "Idempotency-Key")["code"] == "idempotency_key_reused"
    assert entries(world) == before


def test_keys_are_scoped_to_the_caller(world):
    vid = world.platform.post("/v1/transactions", {"enterprise": GUIYANG_A, "transaction": tx("T1")}).get_json()[
        "vouchers"][0]["id"]
    a = world.ent_a.post(f"/v1/vouchers/{vid}/redemptions", {"amount": "1.00", "invoice": "I-1",
                                                             "party": "jn-provider"}, key="same")
    b = world.platform.post(f"/v1/vouchers/{vid}/redemptions", {"enterprise": GUIYANG_A, "amount": "2.00",
                                                                "invoice": "I-2"}, key="same")
    assert a.status_code == b.status_code == 201 and a.get_json()["id"] != b.get_json()["id"]


def test_retried_redemption_and_payment_write_once(world):
    vid = world.platform.post("/v1/transactions", {"enterprise": GUIYANG_A, "transaction": tx("T1")}).get_json()[
        "vouchers"][0]["id"]
    body = {"enterprise": GUIYANG_A, "amount": "100.00", "invoice": "INV-R"}
    first = world.platform.post(f"/v1/vouchers/{vid}/redemptions", body, key="r-1").get_json()
    assert world.platform.post(f"/v1/vouchers/{vid}/redemptions", body, key="r-1").get_json() == first
    assert world.ent_a.get(f"/v1/vouchers/{vid}").get_json()["available"] == "29900.00"
    world.platform.post(f"/v1/redemptions/{first['id']}/settlement")
    world.admin.post(f"/v1/redemptions/{first['id']}/settlement/approve")
    paid = world.admin2.post(f"/v1/redemptions/{first['id']}/pay", key="p-1")
    assert world.admin2.post(f"/v1/redemptions/{first['id']}/pay", key="p-1").get_json() == paid.get_json()
    assert problem(world.admin2.post(f"/v1/redemptions/{first['id']}/pay", key="p-2"), 409)


def test_optional_keys_on_other_posts_and_estimates(world):
    body = _estimate()
    first = world.ent_a.post(EST, body, key="e-1")
    assert world.ent_a.post(EST, body, key="e-1").get_json() == first.get_json()
    # An estimate is a read: the key is ignored, so another body under it is simply estimated.
    other = world.ent_a.post(EST, _estimate("2000.00"), key="e-1")
    assert other.status_code == 200 and other.get_json()["total"] == "60.00"  # 3% of 2,000.00
    sub = {"url": "https://example.com/hook", "events": ["voucher.issued"]}
    one = world.ent_a.post("/v1/webhooks", sub, key="s-1").get_json()
    assert world.ent_a.post("/v1/webhooks", sub, key="s-1").get_json() == one
    assert len(world.ent_a.get("/v1/webhooks").get_json()) == 1
    assert json.loads(json.dumps(one))["secret"].startswith("whsec_")


# --- what is not the caller's fault: a bug is 500, a busy or lost database 503 -----------------------------

def _raising(exc: Exception):
    def balances(self, **kwargs):
        raise exc
    return balances


@pytest.mark.parametrize("exc", [RuntimeError("secret internals at 0x7f"), ZeroDivisionError("division by zero"),
                                 sqlite3.OperationalError("no such table: secret_internals")],
                         ids=["bug", "arithmetic", "sqlite-not-busy"])
def test_an_unexpected_error_is_500_logged_and_tells_nothing(world, monkeypatch, caplog, exc):
    monkeypatch.setattr(Ledger, "balances", _raising(exc))
    with caplog.at_level(logging.ERROR, logger="api"):
        r = world.admin.get("/v1/ledger/balances")
    body = problem(r, 500)
    assert (body["code"], body["detail"]) == ("internal_error", "an unexpected error occurred; it has been logged")
    assert "secret" not in r.get_data(as_text=True) and "Retry-After" not in r.headers
    [record] = [rec for rec in caplog.records if rec.getMessage() == "unhandled error"]
    assert record.exc_info[1] is exc  # the traceback goes to the log, not to the caller


@pytest.mark.parametrize("exc", [sqlite3.OperationalError("database is locked"),
                                 sqlite3.OperationalError("database table is busy"),
                                 sqlite3.OperationalError("unable to open database file"),
                                 psycopg.OperationalError("connection to server at 10.0.0.5 failed")],
                         ids=["sqlite-locked", "sqlite-busy", "sqlite-unopenable", "postgres-lost"])
def test_a_busy_or_lost_database_is_503_with_retry_after(world, monkeypatch, exc):
    monkeypatch.setattr(Ledger, "balances", _raising(exc))
    body = problem(world.admin.get("/v1/ledger/balances"), 503)
    assert (body["code"], body["detail"]) == ("unavailable", "the database is busy or unreachable; retry")
    assert "10.0.0.5" not in json.dumps(body)
    r = world.admin.get("/v1/ledger/balances")
    assert r.headers["Retry-After"] == "1"


@pytest.mark.parametrize("url", ["postgresql://nobody@127.0.0.1:1/none", "sqlite:///{tmp}/a-file/api.db"],
                         ids=["postgres-refused", "sqlite-unopenable"])
def test_readyz_is_503_when_the_database_cannot_be_reached(tmp_path, url):
    (tmp_path / "a-file").write_text("not a directory")  # so the SQLite file can never be created under it
    app = create_app({"DATABASE_URL": url.format(tmp=tmp_path), "TESTING": True})
    client = app.test_client()
    assert client.get("/healthz").status_code == 200  # alive: a lost database does not restart the process
    r = client.get("/readyz")
    body = problem(r, 503)
    assert (body["code"], body["detail"]) == ("unavailable", "the database does not answer")
    assert r.headers["Retry-After"] == "1"
    app.extensions["voucher"].close()


def test_the_error_handlers_shape_whatever_reaches_them(app):
    """The handlers called directly, for what Flask's routing rarely hands them: each answer is problem+json."""
    from werkzeug.exceptions import InternalServerError, NotFound as RouteNotFound

    from api.errors import flatten, handle_http_exception, handle_unexpected, http_code

    assert flatten({"transactions": [{"amount": ["bad"]}, {"date": ["worse"]}]}) == [
        {"field": "transactions.amount", "reason": "bad"}, {"field": "transactions.date", "reason": "worse"}]
    assert flatten({"profile": 5}) == [{"field": "profile", "reason": "5"}]
    assert flatten(None) == [{"field": "body", "reason": "None"}]
    assert (http_code(413), http_code(599)) == ("request_entity_too_large", "http_error")
    with app.test_request_context():
        routed = handle_unexpected(RouteNotFound())
        assert (routed.status_code, routed.get_json()["code"]) == (404, "not_found")
        domain = handle_unexpected(NotFound("no voucher \"V9\"", field="voucher"))
        assert (domain.status_code, domain.get_json()["field"]) == (404, "voucher")
        wrapped = handle_http_exception(InternalServerError(original_exception=RuntimeError("secret")))
        assert (wrapped.status_code, wrapped.get_json()["code"]) == (500, "internal_error")
        assert "secret" not in wrapped.get_data(as_text=True)
