"""Schema-driven fuzzing: schemathesis reads /openapi.json and sends what it describes, and worse.

Checks, on every response: no 500; the status is documented (every operation documents
its success codes and a default problem+json); the content type is the documented
one; the body matches the documented schema; documented headers are present. Bounded
(examples per operation, derandomized, no example database), so CI runs the same cases
each time in well under a minute.

Each operation is called with a key of the role that may use it, so the fuzzer reaches
the code behind the role check, over a small seeded ledger (an issued voucher, a
redemption, an application) whose ids it also tries.

Every operation that takes a date is also fuzzed with the dates at both ends of the
calendar (0001-01-01, 9999-12-31, and 9999-07-01, whose six months pass the end), in
the body and in the query; about half of those bodies are made a business some policy
grants for (Guizhou compute purchases by a registered enterprise), so that the date
reaches the calculator's expiry and not only the parser.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from api_support import GUIYANG_A, JINAN, Caller, make_keys, profile, tx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api import create_app
from voucher.checkpoint import keygen

EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
ROLE_BY_PATH = [  # the first match wins
    (r"^POST /v1/(transactions|vouchers/[^/]+/holds|holds/)", "platform"),
    (r"^POST /v1/vouchers/[^/]+/redemptions", "platform"),
    (r"^POST /v1/redemptions/[^/]+/(proof|settlement)$", "provider"),
    (r"^POST /v1/(applications|redemptions/[^/]+/confirm)$", "ent_jn"),
]


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory):
    where = tmp_path_factory.mktemp("fuzz")
    keygen(str(where / "checkpoint.pem"), str(where / "checkpoint.pub"))  # else the checkpoint endpoints are 503
    app = create_app({"DATABASE_URL": f"sqlite:///{where}/fuzz.db", "TESTING": True,
                      "CHECKPOINT_KEY": str(where / "checkpoint.pem")})
    with app.app_context():
        keys = make_keys(app.extensions["voucher"].ledger())
    client = app.test_client()
    admin, platform = Caller(client, keys["admin"]), Caller(client, keys["platform"])
    for code in (GUIYANG_A, JINAN):
        admin.post("/v1/enterprises", profile(code))
    for party, kind in (("gz-compute", "platform"), ("jn-provider", "provider")):
        admin.post("/v1/parties", {"id": party, "kind": kind, "name": party})
    vid = platform.post("/v1/transactions", {"enterprise": GUIYANG_A, "transaction": tx("F1")}).get_json()[
        "vouchers"][0]["id"]
    platform.post(f"/v1/vouchers/{vid}/redemptions", {"enterprise": GUIYANG_A, "amount": "10.00", "invoice": "F-1"})
    Caller(client, keys["ent_jn"]).post("/v1/applications", {"policy_id": "jinan-data-voucher", "transaction": tx(
        "FJ", "1000.00", kind="data_asset_booking_service", province="山东省", city="济南市")})
    yield app, keys
    app.extensions["voucher"].close()


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_world):
    return schemathesis.openapi.from_wsgi("/openapi.json", fuzz_world[0])


def cases() -> list:
    """(operation, mode) for every documented operation, read from a spec-only app (it opens no database).

    Invalid data is generated only where there is something to make invalid: a body or a parameter.
    """
    spec = create_app({"DATABASE_URL": "sqlite://"}).test_client().get("/openapi.json").get_json()
    out = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            label = f"{method.upper()} {path}"
            out.append(pytest.param(label, GenerationMode.POSITIVE, id=f"{label} valid"))
            if op.get("requestBody") or op.get("parameters") or item.get("parameters"):
                out.append(pytest.param(label, GenerationMode.NEGATIVE, id=f"{label} invalid"))
    return out


@pytest.mark.parametrize("operation, mode", cases())
def test_no_500_and_every_response_follows_the_schema(fuzz_schema, fuzz_world, operation, mode):
    _, keys = fuzz_world
    method, path = operation.split(" ", 1)
    role = next((r for pattern, r in ROLE_BY_PATH if re.search(pattern, operation)), "admin")
    headers = {"Authorization": f"Bearer {keys[role]}"}

    @given(case=fuzz_schema[path][method].as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


EDGE_DATES = ["0001-01-01", "9999-07-01", "9999-12-31", "9999-06-30"]


def _takes_a_date(spec: dict, node: object, seen: frozenset = frozenset()) -> bool:
    """Whether an operation's parameters or body (following $ref) hold a field of format date."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            target = spec
            for part in ref.removeprefix("#/").split("/"):
                target = target[part]
            return _takes_a_date(spec, target, seen | {ref})
        return node.get("format") == "date" or any(_takes_a_date(spec, v, seen) for v in node.values())
    if isinstance(node, list):
        return any(_takes_a_date(spec, v, seen) for v in node)
    return False


def dated_operations() -> list:
    spec = create_app({"DATABASE_URL": "sqlite://"}).test_client().get("/openapi.json").get_json()
    return [f"{method.upper()} {path}" for path, item in spec["paths"].items() for method, op in item.items()
            if method in ("get", "post")
            and _takes_a_date(spec, {"parameters": op.get("parameters"), "body": op.get("requestBody")})]


def _dated(value: object, day: str) -> object:
    """`value` with every date (a `date` field, an `on` parameter) set to `day`."""
    if isinstance(value, list):
        return [_dated(v, day) for v in value]
    if not isinstance(value, dict):
        return value
    return {k: day if k in ("date", "on") else _dated(v, day) for k, v in value.items()}


def _grantable(body: dict, day: str) -> dict:
    """The body made one a policy grants for: Guizhou compute purchases on `day` by a registered enterprise."""
    business = {"id": "EDGE-1", "date": day, "kind": "compute_purchase", "amount": "1000000.00", "province": "贵州省",
                "city": "贵阳市", "role": "demand"}
    body = {k: v for k, v in body.items() if k not in ("profile", "history", "parameters", "transaction")}
    if "transactions" in body:
        body["transactions"] = [{**business, "id": f"EDGE-{i}"} for i in range(max(1, len(body["transactions"])))]
    else:
        body["transaction"] = business
    return {**body, "enterprise": GUIYANG_A}


def test_the_edges_of_the_calendar_are_among_the_dates_fuzzed():
    assert {"POST /v1/estimates", "POST /v1/transactions", "POST /v1/applications", "GET /v1/policies",
            "GET /v1/ledger/balances"} <= set(dated_operations())


@pytest.mark.parametrize("day", EDGE_DATES)
@pytest.mark.parametrize("operation", dated_operations())
def test_dates_at_both_ends_of_the_calendar_never_500(fuzz_schema, fuzz_world, operation, day):
    _, keys = fuzz_world
    method, path = operation.split(" ", 1)
    role = next((r for pattern, r in ROLE_BY_PATH if re.search(pattern, operation)), "admin")
    headers = {"Authorization": f"Bearer {keys[role]}"}

    @given(case=fuzz_schema[path][method].as_strategy(generation_mode=GenerationMode.POSITIVE),
           grantable=st.booleans())
    @settings(max_examples=8, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case, grantable) -> None:
        if isinstance(case.body, dict):
            case.body = _grantable(case.body, day) if grantable else _dated(case.body, day)
        if case.query and "on" in case.query:
            case.query = {**case.query, "on": day}
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()
