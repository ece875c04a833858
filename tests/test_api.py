"""Every endpoint through Flask's test client, with the role rules the issue names.

An enterprise cannot see another's ledger; a platform cannot redeem for another
platform; only administrators approve and pay (and not the same one for both).
"""

from __future__ import annotations

import csv
import io

import pytest
from api_support import (  # noqa: F401  (fixtures)
    GUIYANG_A,
    GUIYANG_B,
    HANGZHOU,
    JINAN,
    app_fixture,
    client_fixture,
    clock_fixture,
    profile,
    tx,
    world_fixture,
)
from conftest import POLICY_DIR

SHA = "ab" * 32
POLICY_FILES = list(POLICY_DIR.glob("*.toml"))


def issue(world, code=GUIYANG_A, id_="T1", amount="1000000.00", caller=None, **extra) -> dict:
    body = {"enterprise": code, "transaction": tx(id_, amount, **extra)}
    r = (caller or world.platform).post("/v1/transactions", body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def jinan_voucher(world) -> str:
    """Apply and approve Jinan's data voucher (proof, confirmation, settlement path)."""
    r = world.ent_jn.post("/v1/applications", {"policy_id": "jinan-data-voucher", "transaction": tx(
        "JN-1", "15000.00", kind="data_asset_booking_service", province="山东省", city="济南市")})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["status"] == "applied"
    r = world.admin.post(f"/v1/applications/{r.get_json()['id']}/approve")
    assert r.status_code == 200, r.get_json()
    return r.get_json()["voucher"]["id"]


# --- health, policies, docs -------------------------------------------------------------------

def test_health_and_readiness_are_public(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "ok" and ready["database"] == "sqlite" and ready["policies"] == len(POLICY_FILES)


def test_policies_list_show_and_in_force_on_a_date(client):
    all_ = client.get("/v1/policies").get_json()
    assert sorted(p["id"] for p in all_) == sorted(path.stem for path in POLICY_FILES)  # one per file, named by it
    on = client.get("/v1/policies?on=2027-01-01").get_json()
    ids = {p["id"] for p in on}
    assert "hangzhou-compute-voucher" not in ids  # its window ended 2026-12-31
    assert "guizhou-compute-voucher" in ids and all(p["in_force_on"] for p in on)
    assert not {p["id"] for p in on} & {p["id"] for p in all_ if p["status"] == "draft"}
    drafts = client.get("/v1/policies?status=draft").get_json()
    assert drafts and all(p["status"] == "draft" for p in drafts)
    detail = client.get("/v1/policies/guizhou-compute-voucher?on=2026-03-01").get_json()
    assert detail["formula"]["rate"] == "0.03" and detail["caps"]["per_entity_year"] == "2000000.00"
    assert detail["voucher"]["validity_months"] == 6 and detail["in_force_on"] is True
    assert client.get("/v1/policies?kind=data_purchase").get_json()
    assert client.get("/v1/policies/nope").status_code == 404


def test_openapi_and_docs_page(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.") and "/v1/estimates" in spec["paths"]
    page = client.get("/docs")
    assert page.status_code == 200 and b"/openapi.json" in page.data and b"<script src" not in page.data
    assert client.get("/problems/cap_reached").status_code == 200
    assert client.get("/problems/nope").status_code == 404


# --- estimates ----------------------------------------------------------------------------------

def test_estimate_what_if(world):
    r = world.platform.post("/v1/estimates", {"profile": profile(GUIYANG_A), "transactions": [
        tx("X1", "1000000.00"), tx("X2", "3200000.00", kind="data_purchase")]}, key=None)
    assert r.status_code == 200
    data = r.get_json()
    assert data["total"] == "126000.00" and data["from_ledger"] is False and data["as_of"] == "2026-03-02"
    assert [(g["policy_id"], g["amount"]) for g in data["grants"]] == [
        ("guizhou-compute-voucher", "30000.00"), ("guizhou-compute-voucher", "96000.00")]
    assert data["grants"][0]["explanation"]
    short = world.platform.post("/v1/estimates", {"profile": profile(GUIYANG_A), "transactions": [tx("X1")],
                                                  "grants": False}).get_json()
    assert "grants" not in short and short["total"] == "30000.00"


def test_estimate_against_the_ledger_counts_what_was_granted(world):
    issue(world, amount="60000000.00")  # 1.8M of the 2M yearly cap
    body = {"enterprise": GUIYANG_A, "transactions": [tx("NEXT", "10000000.00")]}
    data = world.ent_a.post("/v1/estimates", body).get_json()
    guizhou = next(g for g in data["grants"] if g["policy_id"] == "guizhou-compute-voucher")
    assert guizhou["amount"] == "200000.00" and data["from_ledger"] is True
    assert world.admin.post("/v1/estimates", body).status_code == 200
    assert world.ent_b.post("/v1/estimates", body).status_code == 403  # another enterprise's ledger
    assert world.platform.post("/v1/estimates", body).status_code == 403
    unknown = world.admin.post("/v1/estimates", {**body, "enterprise": HANGZHOU[7]})
    assert unknown.status_code == 404


def test_estimate_with_history_and_parameters(world):
    body = {"profile": profile(HANGZHOU[0]), "transactions": [tx("H1", "1000000.00", province="浙江省", city="杭州市")],
            "parameters": {"hangzhou-compute-voucher": {"rate": "0.1"}},
            "history": {"pool_used": [{"policy_id": "hangzhou-compute-voucher", "year": 2026,
                                       "amount": "49950000.00"}]}}
    data = world.platform.post("/v1/estimates", body).get_json()
    assert next(g for g in data["grants"] if g["policy_id"] == "hangzhou-compute-voucher")["amount"] == "50000.00"
    bad = world.platform.post("/v1/estimates", {**body, "parameters": {"no-such-policy": {"rate": "0.1"}}})
    assert bad.status_code == 422 and bad.get_json()["field"] == "parameters.no-such-policy.rate"


def test_an_administrator_sets_a_value_the_source_leaves_open(world):
    # The fixture's administrator set Hangzhou's rate to 0.5; estimates use what the ledger records.
    body = {"profile": profile(HANGZHOU[0]), "transactions": [tx("H2", "1000000.00", province="浙江省", city="杭州市")]}
    hangzhou = "hangzhou-compute-voucher"

    def granted() -> str:
        data = world.platform.post("/v1/estimates", body).get_json()
        return next(g for g in data["grants"] if g["policy_id"] == hangzhou)["amount"]

    assert granted() == "500000.00"
    changed = world.admin.post(f"/v1/policies/{hangzhou}/parameters", {"name": "rate", "value": "0.2"})
    assert changed.status_code == 200
    assert changed.get_json()["value"] == "0.2" and changed.get_json()["entry_id"] > 0
    assert granted() == "200000.00"  # 1,000,000 × 0.2
    # Only an administrator; only where the source leaves the value open; only a rate in [0, 1].
    assert world.ent_a.post(f"/v1/policies/{hangzhou}/parameters", {"name": "rate", "value": "0.9"}).status_code == 403
    fixed = world.admin.post("/v1/policies/guizhou-compute-voucher/parameters", {"name": "rate", "value": "0.5"})
    assert fixed.status_code == 422 and fixed.get_json()["field"] == "name"
    too_big = world.admin.post(f"/v1/policies/{hangzhou}/parameters", {"name": "rate", "value": "1.5"})
    assert too_big.status_code == 422 and too_big.get_json()["field"] == "value"
    assert granted() == "200000.00"


# --- issuing, visibility ------------------------------------------------------------------------

def test_platform_posts_a_transaction_and_vouchers_are_issued(world):
    data = issue(world)
    [voucher] = data["vouchers"]
    assert voucher["policy_id"] == "guizhou-compute-voucher" and voucher["face"] == "30000.00"
    assert voucher["platform"] == "gz-compute" and data["transaction"]["platform"] == "gz-compute"
    assert any(n["policy_id"] == "hangzhou-compute-voucher" for n in data["not_issued"])
    entry = world.admin.get(f"/v1/ledger/entries?voucher_id={voucher['id']}").get_json()["items"][0]
    assert entry["actor"] == "platform:gz-compute"  # every write records the actor


@pytest.mark.parametrize("caller", ["ent_a", "provider", "admin"])
def test_only_platforms_post_transactions(world, caller):
    r = getattr(world, caller).post("/v1/transactions", {"enterprise": GUIYANG_A, "transaction": tx("T1")})
    assert r.status_code == 403 and r.get_json()["code"] == "forbidden"


def test_a_platform_cannot_post_in_another_platforms_name(world):
    r = world.platform.post("/v1/transactions", {"enterprise": GUIYANG_A,
                                                 "transaction": tx("T1", platform="other-platform")})
    assert r.status_code == 403 and r.get_json()["field"] == "transaction.platform"


def test_voucher_visibility(world):
    vid = issue(world)["vouchers"][0]["id"]
    assert world.ent_a.get(f"/v1/vouchers/{vid}").status_code == 200
    assert world.platform.get(f"/v1/vouchers/{vid}").status_code == 200
    assert world.admin.get(f"/v1/vouchers/{vid}").status_code == 200
    for other in (world.ent_b, world.platform2):
        r = other.get(f"/v1/vouchers/{vid}")
        assert r.status_code == 404 and r.content_type == "application/problem+json"
    assert world.provider.get(f"/v1/vouchers/{vid}").status_code == 403
    assert world.anon.get(f"/v1/vouchers/{vid}").status_code == 401


def test_voucher_list_is_paginated_and_an_enterprise_sees_its_own(world):
    for i in range(3):
        issue(world, id_=f"A{i}")
    issue(world, GUIYANG_B, id_="B0")
    page = world.ent_a.get("/v1/vouchers?limit=2").get_json()
    assert len(page["items"]) == 2 and page["next"]
    rest = world.ent_a.get(f"/v1/vouchers?limit=2&after={page['next']}").get_json()
    assert len(rest["items"]) == 1 and rest["next"] is None
    assert {v["enterprise"] for v in page["items"] + rest["items"]} == {GUIYANG_A}
    assert world.ent_a.get(f"/v1/vouchers?enterprise={GUIYANG_B}").status_code == 403
    assert len(world.admin.get("/v1/vouchers").get_json()["items"]) == 4
    assert world.admin.get("/v1/vouchers?status=voided").get_json()["items"] == []


def test_ledger_entries_and_balances_per_role(world):
    issue(world)
    issue(world, GUIYANG_B, id_="B1")
    mine = world.ent_a.get("/v1/ledger/entries").get_json()["items"]
    assert mine and {e["enterprise"] for e in mine} == {GUIYANG_A}
    assert world.ent_a.get(f"/v1/ledger/entries?enterprise={GUIYANG_B}").status_code == 403
    assert world.ent_a.get(f"/v1/ledger/balances?enterprise={GUIYANG_B}").status_code == 403
    assert world.platform.get("/v1/ledger/entries").status_code == 403
    first = world.admin.get("/v1/ledger/entries?limit=3").get_json()
    second = world.admin.get(f"/v1/ledger/entries?limit=3&after={first['next']}").get_json()
    assert [e["id"] for e in first["items"]] == [1, 2, 3] and second["items"][0]["id"] == 4
    balances = world.ent_a.get("/v1/ledger/balances").get_json()
    assert balances["filters"]["enterprise"] == GUIYANG_A
    assert balances["totals"] == {"budget": "-30000.00", "voucher": "30000.00"}
    on = world.admin.get("/v1/ledger/balances?on=2026-01-01").get_json()
    assert on["accounts"] == {}


def test_reports_audit_and_export_are_for_administrators(world):
    issue(world)
    report = world.admin.get("/v1/reports/guizhou-compute-voucher/2026").get_json()
    assert report["granted"] == "30000.00" and report["vouchers"] == 1
    assert world.admin.get("/v1/reports/no-such-policy/2026").status_code == 404
    assert world.admin.get("/v1/reports/guizhou-compute-voucher/1800").status_code == 404
    verify = world.admin.get("/v1/audit/verify").get_json()
    assert verify["ok"] is True and verify["entries"] > 0
    export = world.admin.get("/v1/ledger/export.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert any(r["account"] == "budget:guizhou-compute-voucher:2026" and r["amount"] == "-30000.00" for r in rows)
    for caller in (world.ent_a, world.platform, world.provider):
        for path in ("/v1/reports/guizhou-compute-voucher/2026", "/v1/audit/verify", "/v1/ledger/export.csv"):
            assert caller.get(path).status_code == 403


# --- redemption, settlement, payment --------------------------------------------------------------

def test_platform_redeems_for_itself_and_settlement_is_paid_by_a_second_administrator(world):
    vid = issue(world)["vouchers"][0]["id"]
    r = world.platform.post(f"/v1/vouchers/{vid}/redemptions", {"enterprise": GUIYANG_A, "amount": "1000.00",
                                                                 "invoice": "INV-1"})
    assert r.status_code == 201, r.get_json()
    red = r.get_json()
    assert red["party"] == "gz-compute" and red["amount"] == "1000.00"
    assert world.ent_a.get(f"/v1/redemptions/{red['id']}").status_code == 200
    assert world.ent_b.get(f"/v1/redemptions/{red['id']}").status_code == 404
    assert world.platform.post(f"/v1/redemptions/{red['id']}/settlement").get_json()["status"] == \
        "settlement_requested"
    assert world.platform.post(f"/v1/redemptions/{red['id']}/settlement/approve").status_code == 403
    assert world.admin.post(f"/v1/redemptions/{red['id']}/settlement/approve").get_json()["status"] == "approved"
    assert world.ent_a.post(f"/v1/redemptions/{red['id']}/pay").status_code == 403
    four_eyes = world.admin.post(f"/v1/redemptions/{red['id']}/pay")
    assert four_eyes.status_code == 403 and four_eyes.get_json()["field"] == "actor"
    paid = world.admin2.post(f"/v1/redemptions/{red['id']}/pay").get_json()
    assert paid["status"] == "paid" and paid["approved_by"] == "admin:li" and paid["paid_by"] == "admin:wang"
    voucher = world.ent_a.get(f"/v1/vouchers/{vid}").get_json()
    assert voucher["available"] == "29000.00" and voucher["redemptions"][0]["status"] == "paid"


def test_a_platform_cannot_redeem_for_another_platform(world):
    vid = issue(world)["vouchers"][0]["id"]
    r = world.platform.post(f"/v1/vouchers/{vid}/redemptions", {"enterprise": GUIYANG_A, "amount": "10.00",
                                                                 "invoice": "INV-X", "party": "other-platform"})
    assert r.status_code == 403 and r.get_json()["field"] == "party"
    # Another platform may not spend a voucher issued through gz-compute, even naming its true holder:
    # voucher ids are sequential and credit codes public, so anything less would let it redeem any voucher.
    for holder in (GUIYANG_B, GUIYANG_A):
        r = world.platform2.post(f"/v1/vouchers/{vid}/redemptions", {"enterprise": holder, "amount": "10.00",
                                                                      "invoice": "INV-Y"})
        assert r.status_code == 404 and r.get_json()["field"] == "voucher"
    held = world.platform2.post(f"/v1/vouchers/{vid}/holds", {"enterprise": GUIYANG_A, "amount": "10.00",
                                                              "ttl_seconds": 60})
    assert held.status_code == 404
    assert world.ent_a.get(f"/v1/vouchers/{vid}").get_json()["available"] == "30000.00"  # nothing spent
    # The issuing platform, naming someone else as the holder, is refused: vouchers are not transferable.
    r = world.platform.post(f"/v1/vouchers/{vid}/redemptions", {"enterprise": GUIYANG_B, "amount": "10.00",
                                                                 "invoice": "INV-W"})
    assert r.status_code == 403 and r.get_json()["field"] == "voucher"
    assert world.provider.post(f"/v1/vouchers/{vid}/redemptions",
                               {"enterprise": GUIYANG_A, "amount": "10.00", "invoice": "INV-Z"}).status_code == 403


def test_enterprise_redeems_its_own_voucher_with_a_provider(world):
    vid = issue(world)["vouchers"][0]["id"]
    body = {"amount": "500.00", "invoice": "INV-E", "party": "jn-provider"}
    assert world.ent_b.post(f"/v1/vouchers/{vid}/redemptions", body).status_code == 403
    no_party = world.ent_a.post(f"/v1/vouchers/{vid}/redemptions", {"amount": "5.00", "invoice": "I"})
    assert no_party.status_code == 422 and no_party.get_json()["field"] == "party"
    r = world.ent_a.post(f"/v1/vouchers/{vid}/redemptions", body)
    assert r.status_code == 201 and r.get_json()["party"] == "jn-provider"
    too_much = world.ent_a.post(f"/v1/vouchers/{vid}/redemptions", {**body, "amount": "99999.00", "invoice": "I2"})
    assert too_much.status_code == 409 and too_much.get_json()["field"] == "amount"
    reused = world.ent_a.post(f"/v1/vouchers/{vid}/redemptions", body)
    assert reused.status_code == 409 and reused.get_json()["field"] == "invoice"


def test_jinan_proof_confirm_settle_pay(world):
    vid = jinan_voucher(world)
    red = world.ent_jn.post(f"/v1/vouchers/{vid}/redemptions", {"amount": "15000.00", "invoice": "JN-INV",
                                                                 "party": "jn-provider"}).get_json()
    rid = red["id"]
    early = world.provider.post(f"/v1/redemptions/{rid}/settlement")
    assert early.status_code == 409  # proof and confirmation come first for this policy
    assert world.provider2.post(f"/v1/redemptions/{rid}/proof", {"file_hash": SHA}).status_code == 403
    assert world.provider.post(f"/v1/redemptions/{rid}/proof", {"file_hash": "not-a-hash"}).status_code == 422
    assert world.provider.post(f"/v1/redemptions/{rid}/proof", {"file_hash": SHA}).get_json()["proof_hash"] == SHA
    assert world.ent_a.post(f"/v1/redemptions/{rid}/confirm", {"rating": 5}).status_code == 403
    assert world.ent_jn.post(f"/v1/redemptions/{rid}/confirm", {"rating": 6}).status_code == 422
    assert world.ent_jn.post(f"/v1/redemptions/{rid}/confirm", {"rating": 4}).get_json()["rating"] == 4
    assert world.provider.get(f"/v1/redemptions/{rid}").status_code == 200
    assert world.provider2.get(f"/v1/redemptions/{rid}").status_code == 404
    assert world.provider.post(f"/v1/redemptions/{rid}/settlement").get_json()["status"] == "settlement_requested"
    assert world.admin2.post(f"/v1/redemptions/{rid}/settlement/approve").status_code == 200
    assert world.admin.post(f"/v1/redemptions/{rid}/pay").get_json()["status"] == "paid"


def test_applications_show_and_reject(world):
    body = {"policy_id": "jinan-data-voucher", "transaction": tx("JN-2", "15000.00", kind="data_asset_booking_service",
                                                                  province="山东省", city="济南市")}
    assert world.ent_a.post("/v1/applications", {**body, "enterprise": JINAN}).status_code == 403
    assert world.admin.post("/v1/applications", body).status_code == 403
    app_id = world.ent_jn.post("/v1/applications", body).get_json()["id"]
    assert world.ent_jn.get(f"/v1/applications/{app_id}").status_code == 200
    assert world.ent_a.get(f"/v1/applications/{app_id}").status_code == 404
    assert world.ent_jn.post(f"/v1/applications/{app_id}/approve").status_code == 403
    assert world.admin.post(f"/v1/applications/{app_id}/reject", {"reason": " "}).status_code == 422
    rejected = world.admin.post(f"/v1/applications/{app_id}/reject", {"reason": "incomplete documents"})
    assert rejected.get_json()["status"] == "rejected"
    assert world.admin.post(f"/v1/applications/{app_id}/approve").status_code == 409


def test_not_eligible_is_409(world):
    r = world.ent_a.post("/v1/applications", {"policy_id": "jinan-data-voucher", "transaction": tx(
        "JN-3", "1000.00", kind="compute_purchase")})
    assert r.status_code == 409


def test_holds_commit_and_release(world):
    vid = issue(world)["vouchers"][0]["id"]
    hold = world.platform.post(f"/v1/vouchers/{vid}/holds", {"enterprise": GUIYANG_A, "amount": "2000.00"})
    assert hold.status_code == 201 and hold.get_json()["status"] == "held"
    hid = hold.get_json()["id"]
    assert world.ent_a.get(f"/v1/vouchers/{vid}").get_json()["held"] == "2000.00"
    assert world.platform2.post(f"/v1/holds/{hid}/commit", {"invoice": "H-INV"}).status_code == 403
    red = world.platform.post(f"/v1/holds/{hid}/commit", {"invoice": "H-INV"})
    assert red.status_code == 201 and red.get_json()["amount"] == "2000.00"
    second = world.platform.post(f"/v1/vouchers/{vid}/holds", {"enterprise": GUIYANG_A, "amount": "100.00"})
    released = world.platform.post(f"/v1/holds/{second.get_json()['id']}/release")
    assert released.get_json()["status"] == "released"
    assert world.ent_a.get(f"/v1/vouchers/{vid}").get_json()["available"] == "28000.00"


def test_hold_lapses_when_its_time_passes(world, clock):
    vid = issue(world)["vouchers"][0]["id"]
    hid = world.platform.post(f"/v1/vouchers/{vid}/holds", {"enterprise": GUIYANG_A, "amount": "2000.00",
                                                            "ttl_seconds": 60}).get_json()["id"]
    clock.advance(minutes=2)
    r = world.platform.post(f"/v1/holds/{hid}/commit", {"invoice": "LATE"})
    assert r.status_code == 409


def test_void_clawback_and_reverse(world):
    vid = issue(world)["vouchers"][0]["id"]
    red = world.platform.post(f"/v1/vouchers/{vid}/redemptions", {"enterprise": GUIYANG_A, "amount": "1000.00",
                                                                  "invoice": "V-1"}).get_json()
    entry = world.admin.get(f"/v1/ledger/entries?voucher_id={vid}&event=redeem").get_json()["items"][0]
    assert world.ent_a.post(f"/v1/entries/{entry['id']}/reverse", {"reason": "typo"}).status_code == 403
    reversed_ = world.admin.post(f"/v1/entries/{entry['id']}/reverse", {"reason": "wrong amount"}).get_json()
    assert reversed_["reverses"] == entry["id"] and reversed_["redemption"]["status"] == "reversed"
    red2 = world.platform.post(f"/v1/vouchers/{vid}/redemptions", {"enterprise": GUIYANG_A, "amount": "500.00",
                                                                   "invoice": "V-2"}).get_json()
    clawed = world.admin.post(f"/v1/redemptions/{red2['id']}/clawback", {"reason": "fake invoice"}).get_json()
    assert clawed["status"] == "clawed_back"
    assert world.platform.post(f"/v1/vouchers/{vid}/void", {"reason": "x"}).status_code == 403
    voided = world.admin.post(f"/v1/vouchers/{vid}/void", {"reason": "issued in error"}).get_json()
    assert voided["status"] == "voided" and voided["available"] == "0.00"
    assert world.admin.post(f"/v1/vouchers/{vid}/void", {"reason": "again"}).status_code == 409
    assert world.admin.post(f"/v1/entries/{10**9}/reverse", {"reason": "x"}).status_code == 404
    assert red["id"] != red2["id"]


def test_blacklist_exit_and_registration(world):
    # Only an administrator registers or sets a profile; an enterprise submits a change, which waits.
    assert world.ent_a.post("/v1/enterprises", profile(GUIYANG_A, sme=False)).status_code == 403
    assert world.ent_a.post("/v1/enterprises", profile(GUIYANG_B)).status_code == 403
    assert world.ent_a.post("/v1/profile-changes", {"changes": {"sme": False}}).get_json()["status"] == "pending"
    shown = world.ent_a.get(f"/v1/enterprises/{GUIYANG_A}").get_json()
    assert shown["profile"]["sme"] is True and shown["status"] == "active"
    assert shown["pending_change"]["changes"] == {"sme": False}
    assert world.ent_a.get(f"/v1/enterprises/{GUIYANG_B}").status_code == 404
    assert world.platform.post("/v1/blacklist", {"subject": GUIYANG_A, "reason": "fraud"}).status_code == 403
    r = world.admin.post("/v1/blacklist", {"subject": GUIYANG_A, "reason": "套取财政资金"})
    assert r.status_code == 200 and r.get_json()["status"] == "blacklisted"
    refused = world.platform.post("/v1/transactions", {"enterprise": GUIYANG_A, "transaction": tx("T9")})
    assert refused.status_code == 403 and refused.get_json()["field"] == "enterprise"
    assert world.admin.post("/v1/blacklist", {"subject": "nobody", "reason": "x"}).status_code == 404
    exited = world.admin.post("/v1/parties/jn-provider/exit", {"reason": "left the scheme"}).get_json()
    assert exited["status"] == "exited"
    assert world.admin.post("/v1/parties/nobody/exit", {"reason": "x"}).status_code == 404
    assert world.admin.post("/v1/parties", {"id": "p", "kind": "bank", "name": "x"}).status_code == 422


def test_the_environment_configures_the_app_and_the_mapping_wins(tmp_path, monkeypatch):
    from datetime import datetime

    from api import create_app
    from voucher.transactions import CHINA_TZ

    (tmp_path / "policies").mkdir()
    source = POLICY_DIR / "guizhou-compute-voucher.toml"
    (tmp_path / "policies" / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("VOUCHER_DATABASE_URL", f"sqlite:///{tmp_path}/env.db")
    monkeypatch.setenv("VOUCHER_POLICIES", str(tmp_path / "policies"))
    monkeypatch.setenv("VOUCHER_CHECKPOINT_PUBLIC_KEY", "/keys/checkpoint.pub")
    monkeypatch.setenv("VOUCHER_MAX_BODY", "1024")
    monkeypatch.setenv("VOUCHER_NOW", "2026-11-20T10:00:00+08:00")
    app = create_app({"TESTING": True, "CHECKPOINT_PUBLIC_KEY": "/elsewhere.pub"})
    try:
        assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path}/env.db"
        assert app.config["MAX_CONTENT_LENGTH"] == 1024
        assert app.config["CHECKPOINT_PUBLIC_KEY"] == "/elsewhere.pub"  # the mapping given to create_app wins
        assert app.config["CLOCK"]() == datetime(2026, 11, 20, 10, 0, tzinfo=CHINA_TZ)
        client = app.test_client()
        assert [p["id"] for p in client.get("/v1/policies").get_json()] == ["guizhou-compute-voucher"]
        assert client.get("/readyz").get_json()["policies"] == 1
    finally:
        app.extensions["voucher"].close()


def test_a_posted_business_is_parsed_once_on_its_way_in(world, monkeypatch):
    """The request schema makes the `Transaction`; the ledger takes it as it is (no dict round trip).

    The schema keeps its own reference to the parser, so any call of the module's parser
    during the request is a second parse.
    """
    import sys

    import voucher.transactions

    calls = []
    original = voucher.transactions.transaction_from_dict
    for name, module in list(sys.modules.items()):  # wherever the domain holds the parser
        if name.startswith("voucher") and getattr(module, "transaction_from_dict", None) is original:
            monkeypatch.setattr(module, "transaction_from_dict", lambda *a, **k: calls.append(a) or original(*a, **k))
    r = world.platform.post("/v1/transactions", {"enterprise": GUIYANG_A, "transaction": tx("ONCE-1")})
    assert r.status_code == 201 and r.get_json()["vouchers"][0]["face"] == "30000.00"  # 3% of 1,000,000
    r = world.ent_a.post("/v1/applications", {"policy_id": "guizhou-compute-voucher", "transaction": tx("ONCE-2")})
    assert r.status_code == 201, r.get_json()
    assert calls == []
