"""The role matrix: every documented operation × every kind of caller, and scoped administrators.

`test_role_matrix` reads who may call each operation from the OpenAPI document (the
"Roles:" line `requires` writes) and calls it as an anonymous client, an enterprise, a
platform, a provider, an administrator and a scoped administrator: a caller the line
leaves out is refused (401/403), one it names is not.

Scoped administrators (issue 7, point 11): `gz` holds a key limited to `province:贵州省`.
`test_scoped_admin_matrix` takes every operation an administrator may call and calls it on
an object of a Guizhou policy (in scope) and on one of Jinan's or Hangzhou's (out of
scope): outside, a record is 404, a policy named is 403, a list is filtered, and nothing
is written; inside, the step is taken. Acts across programmes are for the operator only.

And the attack of point 4 over HTTP: an enterprise cannot make itself eligible.
"""

from __future__ import annotations

import csv
import io
import re
from types import SimpleNamespace

import pytest
from api_support import (  # noqa: F401  (fixtures)
    GUIYANG_A,
    GUIYANG_B,
    HANGZHOU,
    JINAN,
    Caller,
    app_fixture,
    client_fixture,
    clock_fixture,
    profile,
    tx,
    world_fixture,
)

from voucher.webhooks import Worker
from voucher.keys import create_key

SHA = "ef" * 32
GZ_POLICIES = {"guizhou-compute-voucher", "guizhou-physical-voucher", "guiyang-compute-usage", "guiyang-data-trading"}
JN = "jinan-data-voucher"


def operations(client):
    spec = client.get("/openapi.json").get_json()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "delete") and op.get("security") != []:
                yield method.upper(), path, op


def roles_of(op: dict) -> tuple[set[str], bool]:
    """The roles the operation names, and whether an administrator's key must be unscoped."""
    named = re.search(r"Roles: (.*)\.", op["description"]).group(1).split(", ")
    return {r.removesuffix(" (unscoped)") for r in named}, any(r.endswith("(unscoped)") for r in named)


def concrete(path: str) -> str:
    values = {"policy_id": "guizhou-compute-voucher", "year": "2026", "entry_id": "999999",
              "credit_code": GUIYANG_A}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "X404"), path)


def call(caller: Caller, method: str, path: str, body: dict | None = None):
    if method == "GET":
        return caller.get(path)
    if method == "DELETE":
        return caller.delete(path)
    return caller.post(path, body if body is not None else {})


@pytest.fixture
def scoped(world):
    """The world, plus two administrators limited to Guizhou's policies (two, for the four-eyes rule)."""
    keys = {name: create_key(world.ledger, "admin", name, scope=["province:贵州省"])["key"]
            for name in ("gz-li", "gz-wang")}
    return SimpleNamespace(gz=Caller(world.client, keys["gz-li"]), gz2=Caller(world.client, keys["gz-wang"]))


def test_role_matrix(world, scoped):
    callers = {"anonymous": world.anon, "enterprise": world.ent_a, "platform": world.platform,
               "provider": world.provider, "admin": world.admin, "scoped admin": scoped.gz}
    cells = 0
    for method, path, op in operations(world.client):
        roles, unscoped = roles_of(op)
        for who, caller in callers.items():
            status = call(caller, method, concrete(path)).status_code
            role = "admin" if who == "scoped admin" else who
            if who == "anonymous":
                expected_refusal = 401
            elif role not in roles or (who == "scoped admin" and unscoped):
                expected_refusal = 403
            else:
                expected_refusal = None
            label = f"{who} {method} {path}: {status}"
            if expected_refusal:
                assert status == expected_refusal, label
            else:
                assert status not in (401, 403) and status < 500, label
            cells += 1
    assert cells >= 6 * 40


# --- scoped administrators: every admin operation, on an object in and out of scope -------------------------

def issue(world, id_: str, code: str = GUIYANG_A) -> str:
    r = world.platform.post("/v1/transactions", {"enterprise": code, "transaction": tx(id_)})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["vouchers"][0]["id"]


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def jn_tx(id_: str, amount: str = "15000.00") -> dict:
    return tx(id_, amount, kind="data_asset_booking_service", province="山东省", city="济南市")


@pytest.fixture
def objects(world):
    """Guizhou records (in scope) and Jinan records (out of scope), at every stage an admin step needs."""
    w, o = world, SimpleNamespace()
    o.gz_void, o.gz_spend = issue(w, "GZ-V"), issue(w, "GZ-S")
    o.gz_apps = [ok(w.ent_a.post("/v1/applications", {"policy_id": "guizhou-compute-voucher",
                                                       "transaction": tx(f"GZ-APP-{i}")}), 201)["id"]
                 for i in (1, 2)]
    o.gz_reds = [ok(w.platform.post(f"/v1/vouchers/{o.gz_spend}/redemptions",
                                    {"enterprise": GUIYANG_A, "amount": "100.00", "invoice": f"GZ-INV-{i}"}), 201)["id"]
                 for i in (1, 2, 3)]
    ok(w.platform.post(f"/v1/redemptions/{o.gz_reds[0]}/settlement"))
    o.jn_apps = [ok(w.ent_jn.post("/v1/applications", {"policy_id": JN, "transaction": jn_tx(f"JN-APP-{i}")}),
                    201)["id"] for i in (1, 2, 3)]
    o.jn_voucher = ok(w.admin.post(f"/v1/applications/{o.jn_apps.pop()}/approve"))["voucher"]["id"]
    o.jn_reds = []
    for i in (1, 2, 3, 4):
        o.jn_reds.append(ok(w.ent_jn.post(f"/v1/vouchers/{o.jn_voucher}/redemptions", {
            "amount": "1000.00", "invoice": f"JN-INV-{i}", "party": "jn-provider"}), 201)["id"])
    for red in o.jn_reds[:2]:  # proof, confirmation, settlement request: ready for an administrator
        ok(w.provider.post(f"/v1/redemptions/{red}/proof", {"file_hash": SHA}))
        ok(w.ent_jn.post(f"/v1/redemptions/{red}/confirm", {"rating": 5}))
        ok(w.provider.post(f"/v1/redemptions/{red}/settlement"))
    ok(w.admin.post(f"/v1/redemptions/{o.jn_reds[1]}/settlement/approve"))  # ready to pay
    entries = w.admin.get("/v1/ledger/entries?event=redeem&limit=1000").get_json()["items"]
    o.gz_redeem_entry = next(e["id"] for e in entries if e["ref"] == o.gz_reds[2])
    o.jn_redeem_entry = next(e["id"] for e in entries if e["ref"] == o.jn_reds[2])
    o.change = ok(w.ent_a.post("/v1/profile-changes", {"changes": {"legal_person": False}}), 201)["id"]
    return o


def head(world) -> int:
    with world.ledger.store.read() as tx_:
        return tx_.value("SELECT last_id FROM head WHERE id = 1")


def cells(w, o) -> dict:
    """label -> (out-of-scope call and its status, in-scope call and its status); None: no such side."""
    rv = lambda red: f"/v1/redemptions/{red}"  # noqa: E731
    return {
        "GET /v1/applications/{application_id}": (
            (lambda c: c.get(f"/v1/applications/{o.jn_apps[0]}"), 404),
            (lambda c: c.get(f"/v1/applications/{o.gz_apps[0]}"), 200)),
        "POST /v1/applications/{application_id}/approve": (
            (lambda c: c.post(f"/v1/applications/{o.jn_apps[0]}/approve"), 404),
            (lambda c: c.post(f"/v1/applications/{o.gz_apps[0]}/approve"), 200)),
        "POST /v1/applications/{application_id}/reject": (
            (lambda c: c.post(f"/v1/applications/{o.jn_apps[1]}/reject", {"reason": "x"}), 404),
            (lambda c: c.post(f"/v1/applications/{o.gz_apps[1]}/reject", {"reason": "not ours"}), 200)),
        "GET /v1/vouchers": (
            (lambda c: c.get(f"/v1/vouchers?policy_id={JN}"), 403),
            (lambda c: c.get("/v1/vouchers?policy_id=guizhou-compute-voucher"), 200)),
        "GET /v1/vouchers/{voucher_id}": (
            (lambda c: c.get(f"/v1/vouchers/{o.jn_voucher}"), 404),
            (lambda c: c.get(f"/v1/vouchers/{o.gz_spend}"), 200)),
        "POST /v1/vouchers/{voucher_id}/void": (
            (lambda c: c.post(f"/v1/vouchers/{o.jn_voucher}/void", {"reason": "x"}), 404),
            (lambda c: c.post(f"/v1/vouchers/{o.gz_void}/void", {"reason": "issued in error"}), 200)),
        "GET /v1/redemptions/{redemption_id}": (
            (lambda c: c.get(rv(o.jn_reds[0])), 404), (lambda c: c.get(rv(o.gz_reds[0])), 200)),
        "POST /v1/redemptions/{redemption_id}/settlement/approve": (
            (lambda c: c.post(rv(o.jn_reds[0]) + "/settlement/approve"), 404),
            (lambda c: c.post(rv(o.gz_reds[0]) + "/settlement/approve"), 200)),
        "POST /v1/redemptions/{redemption_id}/pay": (  # paid by the second Guizhou administrator: four eyes
            (lambda c: c.post(rv(o.jn_reds[1]) + "/pay"), 404), None),
        "POST /v1/redemptions/{redemption_id}/clawback": (
            (lambda c: c.post(rv(o.jn_reds[3]) + "/clawback", {"reason": "x"}), 404),
            (lambda c: c.post(rv(o.gz_reds[1]) + "/clawback", {"reason": "fake invoice"}), 200)),
        "POST /v1/entries/{entry_id}/reverse": (
            (lambda c: c.post(f"/v1/entries/{o.jn_redeem_entry}/reverse", {"reason": "x"}), 404),
            (lambda c: c.post(f"/v1/entries/{o.gz_redeem_entry}/reverse", {"reason": "wrong amount"}), 200)),
        "GET /v1/ledger/entries": (
            (lambda c: c.get(f"/v1/ledger/entries?policy_id={JN}"), 403),
            (lambda c: c.get("/v1/ledger/entries?policy_id=guizhou-compute-voucher"), 200)),
        "GET /v1/ledger/balances": (
            (lambda c: c.get(f"/v1/ledger/balances?policy_id={JN}"), 403),
            (lambda c: c.get("/v1/ledger/balances?policy_id=guizhou-compute-voucher"), 200)),
        "GET /v1/reports/{policy_id}/{year}": (
            (lambda c: c.get(f"/v1/reports/{JN}/2026"), 403),
            (lambda c: c.get("/v1/reports/guizhou-compute-voucher/2026"), 200)),
        "GET /v1/ledger/export.csv": (None, (lambda c: c.get("/v1/ledger/export.csv"), 200)),  # filtered: below
        "POST /v1/policies/{policy_id}/parameters": (
            (lambda c: c.post("/v1/policies/hangzhou-compute-voucher/parameters", {"name": "rate", "value": "0.9"}),
             403),
            (lambda c: c.post("/v1/policies/guizhou-physical-voucher/parameters",
                              {"name": "amount", "value": "1000.00"}), 200)),
        "POST /v1/estimates": (  # against the ledger reads every programme; a what-if reads nothing
            (lambda c: c.post("/v1/estimates", {"enterprise": GUIYANG_A, "transactions": [tx("E1")]}), 403),
            (lambda c: c.post("/v1/estimates", {"profile": profile(GUIYANG_A), "transactions": [tx("E1")]}), 200)),
        "GET /v1/enterprises/{credit_code}": (None, (lambda c: c.get(f"/v1/enterprises/{JINAN}"), 200)),
        "GET /v1/profile-changes": (None, (lambda c: c.get("/v1/profile-changes?status=pending"), 200)),
        "GET /v1/profile-changes/{change_id}": (None, (lambda c: c.get(f"/v1/profile-changes/{o.change}"), 200)),
        # Across programmes: for an unscoped key only, whatever the object.
        "GET /v1/audit/verify": ((lambda c: c.get("/v1/audit/verify"), 403), None),
        "POST /v1/audit/verify": ((lambda c: c.post("/v1/audit/verify", {"checkpoint": {}}), 403), None),
        "POST /v1/audit/checkpoints": ((lambda c: c.post("/v1/audit/checkpoints"), 403), None),
        "GET /v1/audit/checkpoints/latest": ((lambda c: c.get("/v1/audit/checkpoints/latest"), 403), None),
        "POST /v1/enterprises": ((lambda c: c.post("/v1/enterprises", profile(GUIYANG_A)), 403), None),
        "POST /v1/profile-changes/{change_id}/approve": (
            (lambda c: c.post(f"/v1/profile-changes/{o.change}/approve"), 403), None),
        "POST /v1/profile-changes/{change_id}/reject": (
            (lambda c: c.post(f"/v1/profile-changes/{o.change}/reject", {"reason": "x"}), 403), None),
        "POST /v1/parties": ((lambda c: c.post("/v1/parties", {"id": "p9", "kind": "provider", "name": "p"}), 403),
                             None),
        "POST /v1/parties/{party_id}/exit": ((lambda c: c.post("/v1/parties/jn-provider/exit", {"reason": "x"}), 403),
                                             None),
        "POST /v1/blacklist": ((lambda c: c.post("/v1/blacklist", {"subject": JINAN, "reason": "x"}), 403), None),
        # Webhooks: a scoped administrator manages its own subscriptions only (see the fan-out test).
        "POST /v1/webhooks": (None, (lambda c: c.post("/v1/webhooks", {"url": "https://example.org/h",
                                                                         "events": ["voucher.issued"]}), 201)),
        "GET /v1/webhooks": (None, (lambda c: c.get("/v1/webhooks"), 200)),
        "DELETE /v1/webhooks/{subscription_id}": (
            (lambda c: c.delete(f"/v1/webhooks/{w.admin_sub}"), 404), None),
        "GET /v1/webhooks/{subscription_id}/deliveries": (
            (lambda c: c.get(f"/v1/webhooks/{w.admin_sub}/deliveries"), 404), None),
    }


def test_scoped_admin_matrix(world, scoped, objects):
    w, o = world, objects
    w.admin_sub = ok(w.admin.post("/v1/webhooks", {"url": "https://example.org/admin",
                                                   "events": ["voucher.issued"]}), 201)["id"]
    table = cells(w, o)
    admin_ops = {f"{m} {p}" for m, p, op in operations(w.client) if "admin" in roles_of(op)[0]}
    assert admin_ops == set(table), admin_ops ^ set(table)  # every admin operation has its cells

    for label, (outside, _) in table.items():  # out of scope first: refused, and nothing written
        if outside:
            before = head(w)
            r = outside[0](scoped.gz)
            assert r.status_code == outside[1], (label, r.get_json())
            assert head(w) == before, label
    assert ok(w.admin.get(f"/v1/applications/{o.jn_apps[0]}"))["status"] == "applied"
    assert ok(w.admin.get(f"/v1/vouchers/{o.jn_voucher}"))["status"] != "voided"
    assert ok(w.admin.get(f"/v1/redemptions/{o.jn_reds[1]}"))["status"] == "approved"  # not paid
    assert ok(w.admin.get(f"/v1/enterprises/{GUIYANG_A}"))["pending_change"]["status"] == "pending"

    for label, (_, inside) in table.items():  # in scope: the step is taken
        if inside:
            r = inside[0](scoped.gz)
            assert r.status_code == inside[1], (label, r.get_json())
    paid = ok(scoped.gz2.post(f"/v1/redemptions/{o.gz_reds[0]}/pay"))
    assert (paid["status"], paid["approved_by"], paid["paid_by"]) == ("paid", "admin:gz-li", "admin:gz-wang")
    assert ok(w.admin.get(f"/v1/applications/{o.gz_apps[0]}"))["status"] == "approved"
    assert ok(w.admin.get(f"/v1/vouchers/{o.gz_void}"))["status"] == "voided"


def test_a_scoped_admin_reads_only_its_policies(world, scoped, objects):
    w, gz = world, scoped.gz
    listed = ok(gz.get("/v1/vouchers?limit=1000"))["items"]
    assert {v["policy_id"] for v in listed} == {"guizhou-compute-voucher"} and len(listed) == 2
    assert len(ok(w.admin.get("/v1/vouchers?limit=1000"))["items"]) == 3
    entries = ok(gz.get("/v1/ledger/entries?limit=1000"))["items"]
    assert entries and {e["policy_id"] for e in entries} <= GZ_POLICIES
    everything = ok(w.admin.get("/v1/ledger/entries?limit=1000"))["items"]
    assert any(e["policy_id"] == JN for e in everything) and any(e["policy_id"] is None for e in everything)
    balances = ok(gz.get("/v1/ledger/balances"))["accounts"]
    assert balances["budget:guizhou-compute-voucher:2026"] == "-60000.00"  # two vouchers of 1,000,000 × 3%
    assert not any(JN in a or objects.jn_voucher in a for a in balances)
    assert balances["receivable:gz-compute"] == "300.00"  # Guizhou's three redemptions of 100.00
    assert "receivable:jn-provider" not in balances
    rows = list(csv.DictReader(io.StringIO(gz.get("/v1/ledger/export.csv").get_data(as_text=True))))
    assert rows and {r["policy_id"] for r in rows} <= GZ_POLICIES
    assert ok(gz.get("/v1/reports/guizhou-compute-voucher/2026"))["granted"] == "60000.00"


def test_a_scoped_admin_key_hears_only_its_policies(world, scoped):
    w = world
    ok(scoped.gz.post("/v1/webhooks", {"url": "https://example.org/gz", "events": ["voucher.issued"]}), 201)
    ok(w.admin.post("/v1/webhooks", {"url": "https://example.org/all", "events": ["voucher.issued"]}), 201)
    issue(w, "GZ-H1")
    app = ok(w.ent_jn.post("/v1/applications", {"policy_id": JN, "transaction": jn_tx("JN-H1")}), 201)["id"]
    ok(w.admin.post(f"/v1/applications/{app}/approve"))
    Worker(w.ledger.store, ledger=w.ledger, allow_private=True).fan_out()
    with w.ledger.store.read() as tx_:
        rows = tx_.rows("SELECT s.url, o.payload FROM webhook_deliveries d JOIN webhook_subscriptions s "
                        "ON s.id = d.subscription_id JOIN outbox o ON o.id = d.event_id")
    heard = {url: sorted(re.search(r'"policy_id": "([^"]+)"', p).group(1) for u, p in
                         ((r["url"], r["payload"]) for r in rows) if u == url)
             for url in ("https://example.org/gz", "https://example.org/all")}
    assert heard == {"https://example.org/gz": ["guizhou-compute-voucher"],
                     "https://example.org/all": ["guizhou-compute-voucher", JN]}
    assert [s["owner"] for s in ok(scoped.gz.get("/v1/webhooks"))] == ["admin:gz-li"]
    assert len(ok(w.admin.get("/v1/webhooks"))) == 2


def test_a_scope_that_names_nothing_today_never_means_everything(world):
    key = create_key(world.ledger, "admin", "gone", scope=["hubei-tech-transfer-buyer"])["key"]
    with world.ledger.store.write() as tx_:  # as if the policy file had been withdrawn since
        tx_.run("UPDATE api_keys SET scope = ? WHERE subject = 'gone'", ('["no-longer-a-policy"]',))
    gone = Caller(world.client, key)
    issue(world, "GZ-N1")
    assert ok(gone.get("/v1/vouchers"))["items"] == []
    assert ok(gone.get("/v1/ledger/entries"))["items"] == []
    assert ok(gone.get("/v1/ledger/balances"))["accounts"] == {}
    assert gone.get("/v1/reports/guizhou-compute-voucher/2026").status_code == 403


# --- point 4 over HTTP: eligibility facts come from an administrator ---------------------------------------

def test_an_enterprise_cannot_make_itself_eligible(world):
    w = world
    ok(w.admin.post("/v1/enterprises", profile(JINAN, legal_person=False)))
    body = {"policy_id": JN, "transaction": jn_tx("JN-ATTACK")}
    assert w.ent_jn.post("/v1/applications", body).status_code == 409  # 具有独立法人资格
    # The attack: post its own profile saying legal_person true. Refused outright now.
    attack = w.ent_jn.post("/v1/enterprises", profile(JINAN, legal_person=True))
    assert attack.status_code == 403 and attack.get_json()["field"] == "Authorization"
    change = ok(w.ent_jn.post("/v1/profile-changes", {"changes": {"legal_person": True}}), 201)
    assert change["status"] == "pending" and change["submitted_by"] == f"enterprise:{JINAN}"
    refused = w.ent_jn.post("/v1/applications", body)
    assert refused.status_code == 409 and "具有独立法人资格" in refused.get_json()["detail"]
    mine = ok(w.ent_jn.get(f"/v1/enterprises/{JINAN}"))
    assert mine["profile"]["legal_person"] is False and mine["pending_change"]["id"] == change["id"]
    assert [c["id"] for c in ok(w.ent_jn.get("/v1/profile-changes"))["items"]] == [change["id"]]
    assert w.ent_jn.post(f"/v1/profile-changes/{change['id']}/approve").status_code == 403
    queue = ok(w.admin.get("/v1/profile-changes?status=pending"))["items"]
    assert [c["id"] for c in queue] == [change["id"]]

    approved = ok(w.admin.post(f"/v1/profile-changes/{change['id']}/approve"))
    assert (approved["status"], approved["decided_by"]) == ("approved", "admin:li")
    app = ok(w.ent_jn.post("/v1/applications", body), 201)
    voucher = ok(w.admin.post(f"/v1/applications/{app['id']}/approve"))["voucher"]
    assert voucher["face"] == "15000.00"
    entry = ok(w.admin.get("/v1/ledger/entries?event=enterprise.change.approve"))["items"][0]
    assert (entry["actor"], entry["enterprise"], entry["ref"]) == ("admin:li", JINAN, change["id"])
    own = ok(w.ent_jn.get("/v1/ledger/entries?event=enterprise.change"))["items"][0]
    assert own["actor"] == f"enterprise:{JINAN}" and own["memo"]["changes"] == {"legal_person": True}


def test_an_enterprise_cannot_register_a_code_or_touch_another_s_changes(world):
    w = world
    new_code = HANGZHOU[6]
    r = w.ent_a.post("/v1/enterprises", profile(new_code))
    assert r.status_code == 403
    assert w.admin.get(f"/v1/enterprises/{new_code}").status_code == 404  # nothing was written
    assert w.ent_a.post("/v1/profile-changes", {"enterprise": GUIYANG_B, "changes": {"sme": False}}).status_code == 403
    change = ok(w.ent_a.post("/v1/profile-changes", {"changes": {"local_tax": False}}), 201)
    assert w.ent_b.get(f"/v1/profile-changes/{change['id']}").status_code == 404
    assert w.ent_b.get(f"/v1/profile-changes?enterprise={GUIYANG_A}").status_code == 403
    assert ok(w.ent_b.get("/v1/profile-changes"))["items"] == []
    assert w.ent_a.post("/v1/profile-changes", {"changes": {"credit_code": GUIYANG_B}}).status_code == 422
    assert w.ent_a.post("/v1/profile-changes", {"changes": {}}).status_code == 422
    rejected = ok(w.admin.post(f"/v1/profile-changes/{change['id']}/reject", {"reason": "税务登记 shows local tax"}))
    assert (rejected["status"], rejected["reason"]) == ("rejected", "税务登记 shows local tax")
    assert ok(w.ent_a.get(f"/v1/enterprises/{GUIYANG_A}"))["profile"]["local_tax"] is True
    renamed = ok(w.ent_a.post("/v1/profile-changes", {"changes": {"name": "贵阳新名"}}), 201)
    assert renamed["status"] == "applied"
    assert ok(w.ent_a.get(f"/v1/enterprises/{GUIYANG_A}"))["profile"]["name"] == "贵阳新名"
