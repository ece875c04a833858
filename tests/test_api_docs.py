"""The contract is documented and the documentation is true.

Every operation of the committed document is served, and answers a caller without a key as
its security says (public: 200; otherwise 401); each has a summary, its roles, its success
schema and the problem+json default; every POST documents Idempotency-Key (required where money
moves); the committed api/openapi.json is the one the code generates; and the estimate,
sent without a second marshmallow pass, is exactly what its schema would produce.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

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

from api.schemas.policy import EstimateOut

COMMITTED = Path(__file__).resolve().parent.parent / "api" / "openapi.json"
MONEY_MOVING = {
    "POST /v1/transactions", "POST /v1/applications/{application_id}/approve",
    "POST /v1/vouchers/{voucher_id}/redemptions",
    "POST /v1/vouchers/{voucher_id}/holds", "POST /v1/holds/{hold_id}/commit", "POST /v1/holds/{hold_id}/release",
    "POST /v1/vouchers/{voucher_id}/void", "POST /v1/redemptions/{redemption_id}/settlement/approve",
    "POST /v1/redemptions/{redemption_id}/pay", "POST /v1/redemptions/{redemption_id}/clawback",
    "POST /v1/entries/{entry_id}/reverse",
}
PUBLIC = {"GET /healthz", "GET /readyz", "GET /v1/policies", "GET /v1/policies/{policy_id}"}


@pytest.fixture
def spec(client):
    return client.get("/openapi.json").get_json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "delete"):
                yield f"{method.upper()} {path}", op


PATH_VALUES = {"policy_id": "guizhou-compute-voucher", "year": "2026", "entry_id": "1"}
"""Values for the path parameters of the committed document; any other parameter gets "x1"."""


def committed_operations():
    spec = json.loads(COMMITTED.read_text(encoding="utf-8"))
    return [(label, op) for label, op in operations(spec)]


@pytest.mark.parametrize(("label", "op"), committed_operations(), ids=[label for label, _ in committed_operations()])
def test_every_documented_operation_is_served_and_guarded_as_documented(client, label, op):
    """Called as documented (api/openapi.json, what clients read) without a key: a public operation
    answers 200; every other one 401 with the problem and the challenge, not the router's 404 or 405."""
    method, path = label.split(" ", 1)
    url = re.sub(r"{([^}]+)}", lambda m: PATH_VALUES.get(m.group(1), "x1"), path)
    r = client.open(url, method=method, json={} if method == "POST" else None,
                    headers={"Idempotency-Key": "docs-1"} if method == "POST" else {})
    if op.get("security") == []:
        assert label in PUBLIC and r.status_code == 200, (label, r.status_code, r.get_data(as_text=True)[:300])
    else:
        assert r.status_code == 401, (label, r.status_code, r.get_data(as_text=True)[:300])
        assert r.get_json()["code"] == "unauthenticated" and r.headers["WWW-Authenticate"].startswith("Bearer")


def test_every_operation_says_who_may_call_and_what_comes_back(spec):
    for label, op in operations(spec):
        assert op.get("summary"), label
        assert op["responses"]["default"]["$ref"] == "#/components/responses/DEFAULT_ERROR", label
        success = [code for code in op["responses"] if code.startswith("2")]
        assert success, label
        if label in PUBLIC:
            assert op.get("security") == [], label
        else:
            assert "Roles:" in op.get("description", ""), label
        params = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "header"}
        if label.startswith("POST"):
            assert "Idempotency-Key" in params, label
            assert params["Idempotency-Key"]["required"] is (label in MONEY_MOVING), label
    assert spec["components"]["responses"]["DEFAULT_ERROR"]["content"]["application/problem+json"]


def test_money_is_a_decimal_string_in_every_schema(spec):
    def walk(schema_name, schema):
        for name, prop in schema.get("properties", {}).items():
            if name in ("amount", "face", "available", "held", "total", "base", "before_caps", "net_granted"):
                assert prop.get("type") == "string" and "pattern" in prop, f"{schema_name}.{name}"
    for name, schema in spec["components"]["schemas"].items():
        if name != "PaginationMetadata":  # flask-smorest's own, unused here
            walk(name, schema)


def test_the_committed_openapi_document_is_current(spec):
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == spec, ("api/openapi.json is stale; regenerate it with "
                               "VOUCHER_DATABASE_URL=sqlite:// flask --app api openapi write api/openapi.json")


def test_the_estimate_is_what_its_schema_would_send(world):
    three = [tx("X1"), tx("X2", "3200000.00", kind="data_purchase"), tx("X3", "5.00", day="2023-01-01")]
    for body in ({"profile": profile(GUIYANG_A), "transactions": three},
                 {"profile": profile(GUIYANG_A), "transactions": [], "include_drafts": True, "grants": False}):
        sent = world.platform.post("/v1/estimates", body).get_json()
        assert EstimateOut().dump(sent) == sent
