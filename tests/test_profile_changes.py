"""Eligibility facts come from an administrator (issue 7, point 4), on SQLite and PostgreSQL.

Jinan's data voucher asks 具有独立法人资格，正常经营，且尚未实现数据资产入表: an enterprise
registered as not a legal person is refused, and saying otherwise itself changes nothing
until an administrator approves. A 15,000 booking service then earns a 15,000 voucher
(the service's price, at most 20,000).
"""

from __future__ import annotations

import json

import pytest
from conftest import cli
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_support import (  # noqa: F401  (fixtures)
    ADMIN,
    ADMIN2,
    Clock,
    all_entries,
    backend,
    clock,
    jinan_enterprise,
    jn_service,
    ledger,
    ledger_url,
    policy_table,
    refused,
)

from voucher.enterprise import ROLES
from voucher.ledger import open_ledger
from voucher.errors import Conflict, Forbidden, InputError, NotFound
from voucher.quota import NotEligible

JN = "jinan-data-voucher"


def enterprise_actor(code: str) -> str:
    return f"enterprise:{code}"


@pytest.fixture
def not_legal(ledger) -> str:
    """A Jinan enterprise the administrator registered as not an independent legal person."""
    e = jinan_enterprise(1, legal_person=False)
    ledger.register_enterprise(e, actor=ADMIN)
    return e.credit_code


def claim(ledger, code: str, tx_id: str) -> dict:
    app = ledger.apply(code, JN, jn_service(tx_id, "15000"), actor=enterprise_actor(code))
    return ledger.approve(app["id"], actor=ADMIN)["voucher"]


def test_a_fact_the_enterprise_asserts_counts_only_once_an_administrator_approves(ledger, not_legal):
    code = not_legal
    refused(ledger, NotEligible, ledger.apply, code, JN, jn_service("JN-1", "15000"), actor=enterprise_actor(code),
            why="eligibility", says="具有独立法人资格")
    change = ledger.submit_enterprise_change(code, {"legal_person": True}, actor=enterprise_actor(code))
    assert (change["status"], change["changes"], change["before"]) == ("pending", {"legal_person": True},
                                                                       {"legal_person": False})
    # The attack of the issue: the enterprise said so itself a minute ago; it is still refused.
    refused(ledger, NotEligible, ledger.apply, code, JN, jn_service("JN-1", "15000"), actor=enterprise_actor(code),
            why="eligibility", says="具有独立法人资格")
    assert ledger.enterprise_view(code)["profile"]["legal_person"] is False
    assert ledger.enterprise_view(code)["pending_change"]["id"] == change["id"]

    approved = ledger.approve_enterprise_change(change["id"], actor=ADMIN)
    assert (approved["status"], approved["decided_by"]) == ("approved", ADMIN)
    assert ledger.enterprise_view(code)["pending_change"] is None
    assert claim(ledger, code, "JN-1")["face"] == "15000.00"

    submitted, decided = (all_entries(ledger, event=e)[0] for e in ("enterprise.change", "enterprise.change.approve"))
    assert (submitted["actor"], submitted["enterprise"], submitted["ref"]) == (enterprise_actor(code), code,
                                                                              change["id"])
    assert submitted["memo"]["changes"] == {"legal_person": True} and submitted["memo"]["status"] == "pending"
    assert (decided["actor"], decided["ref"], decided["memo"]) == (ADMIN, change["id"],
                                                                  {"changes": {"legal_person": True}})
    assert ledger.verify()["ok"]


def test_only_an_administrator_registers_sets_facts_or_decides(ledger, not_legal):
    code = not_legal
    me = enterprise_actor(code)
    refused(ledger, Forbidden, ledger.register_enterprise, jinan_enterprise(1, legal_person=True), actor=me,
            says="only an administrator")
    refused(ledger, Forbidden, ledger.register_enterprise, jinan_enterprise(7), actor=me)  # a code nobody registered
    change = ledger.submit_enterprise_change(code, {"legal_person": True}, actor=me)
    refused(ledger, Forbidden, ledger.approve_enterprise_change, change["id"], actor=me)
    refused(ledger, Forbidden, ledger.reject_enterprise_change, change["id"], reason="mine", actor=me)
    refused(ledger, Forbidden, ledger.approve_enterprise_change, change["id"], actor="platform:p")


def test_a_rejection_keeps_the_profile_and_records_the_reason(ledger):
    booked = jinan_enterprise(3, data_assets_booked=True)
    ledger.register_enterprise(booked, actor=ADMIN)
    code = booked.credit_code
    change = ledger.submit_enterprise_change(code, {"data_assets_booked": False}, actor=enterprise_actor(code))
    refused(ledger, InputError, ledger.reject_enterprise_change, change["id"], reason=" ", actor=ADMIN)
    rejected = ledger.reject_enterprise_change(change["id"], reason="入表 already filed in 2025", actor=ADMIN2)
    assert (rejected["status"], rejected["decided_by"], rejected["reason"]) == (
        "rejected", ADMIN2, "入表 already filed in 2025")
    refused(ledger, NotEligible, ledger.apply, code, JN, jn_service("JN-3", "15000"), actor=enterprise_actor(code),
            says="尚未实现数据资产入表")
    refused(ledger, Conflict, ledger.approve_enterprise_change, change["id"], actor=ADMIN, says="already rejected")
    entry = all_entries(ledger, event="enterprise.change.reject")[0]
    assert (entry["actor"], entry["memo"]) == (ADMIN2, {"reason": "入表 already filed in 2025"})


def test_a_name_takes_effect_at_once_and_a_change_with_a_fact_waits_whole(ledger, not_legal):
    code = not_legal
    renamed = ledger.submit_enterprise_change(code, {"name": "济南新名科技有限公司"}, actor=enterprise_actor(code))
    assert renamed["status"] == "applied" and renamed["decided_by"] is None
    view = ledger.enterprise_view(code)
    assert view["profile"]["name"] == "济南新名科技有限公司" and view["pending_change"] is None
    mixed = ledger.submit_enterprise_change(code, {"name": "又一个名字", "sme": True}, actor=enterprise_actor(code))
    assert mixed["status"] == "pending"
    assert ledger.enterprise_view(code)["profile"]["name"] == "济南新名科技有限公司"
    ledger.approve_enterprise_change(mixed["id"], actor=ADMIN)
    profile = ledger.enterprise_view(code)["profile"]
    assert (profile["name"], profile["sme"]) == ("又一个名字", True)


@pytest.mark.parametrize("field, value", [
    ("registered_province", "贵州省"), ("local_tax", True), ("roles", ["demand", "data_provider"]), ("sme", True),
    ("data_assets_booked", True), ("recognitions", ["little_giant"]), ("province", "贵州省"), ("city", "贵阳市"),
    ("operating", False), ("exchange_certified", True),
])
def test_every_fact_a_condition_may_read_waits(ledger, not_legal, field, value):
    change = ledger.submit_enterprise_change(not_legal, {field: value}, actor=enterprise_actor(not_legal))
    assert change["status"] == "pending"
    assert ledger.enterprise_view(not_legal)["profile"][field] != value


def test_a_new_submission_supersedes_the_pending_one_and_approval_applies_over_the_profile_now(ledger, not_legal):
    code = not_legal
    first = ledger.submit_enterprise_change(code, {"sme": True}, actor=enterprise_actor(code))
    second = ledger.submit_enterprise_change(code, {"legal_person": True}, actor=enterprise_actor(code))
    assert ledger.enterprise_change(first["id"])["status"] == "superseded"
    assert [c["id"] for c in ledger.enterprise_changes(status="pending")["items"]] == [second["id"]]
    assert all_entries(ledger, event="enterprise.change")[-1]["memo"]["supersedes"] == [first["id"]]
    refused(ledger, Conflict, ledger.approve_enterprise_change, first["id"], actor=ADMIN, says="superseded")
    # Meanwhile the administrator corrects the city; approval changes only the field asked for.
    ledger.register_enterprise(jinan_enterprise(1, legal_person=False, city="济南市历下区"), actor=ADMIN)
    ledger.approve_enterprise_change(second["id"], actor=ADMIN)
    profile = ledger.enterprise_view(code)["profile"]
    assert (profile["city"], profile["legal_person"], profile["sme"]) == ("济南市历下区", True, False)


@pytest.mark.parametrize("changes, error, field", [
    ({}, InputError, "changes"),
    ({"credit_code": "91370100000000007X"}, InputError, "changes.credit_code"),
    ({"legal_person": "yes"}, InputError, "changes.legal_person"),
    ({"colour": "red"}, InputError, "changes.colour"),
    ({"legal_person": False}, InputError, "changes"),  # it already says so
])
def test_a_bad_change_is_refused_naming_the_field(ledger, not_legal, changes, error, field):
    err = refused(ledger, error, ledger.submit_enterprise_change, not_legal, changes,
                  actor=enterprise_actor(not_legal))
    assert err.field == field


def test_a_change_for_an_unregistered_enterprise_or_an_unknown_change(ledger):
    code = jinan_enterprise(8).credit_code
    refused(ledger, NotFound, ledger.submit_enterprise_change, code, {"sme": True}, actor=enterprise_actor(code))
    refused(ledger, NotFound, ledger.approve_enterprise_change, "C999", actor=ADMIN)


def test_an_administrator_lists_and_decides_changes_from_the_command_line(ledger_url, ledger, not_legal):
    code = not_legal
    change = ledger.submit_enterprise_change(code, {"legal_person": True}, actor=enterprise_actor(code))

    def run(*args, actor=ADMIN):
        return cli(*args, db=ledger_url, actor=actor)

    listed = run("ledger", "changes", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert [c["id"] for c in json.loads(listed.stdout)["items"]] == [change["id"]]
    text = run("ledger", "changes", "list").stdout
    assert f"id: {change['id']}" in text and "legal_person: True" in text
    refused_ = run("ledger", "changes", "approve", change["id"], actor=enterprise_actor(code))
    assert refused_.exit_code == 1 and "refused: only an administrator" in refused_.output
    done = run("ledger", "changes", "approve", change["id"], "--json")
    assert done.exit_code == 0 and json.loads(done.stdout)["decided_by"] == ADMIN
    assert json.loads(run("ledger", "changes", "list", "--json").stdout)["items"] == []
    assert run("ledger", "changes", "list", "--all", "--json").stdout.count('"approved"') == 1


TEXT = st.sampled_from(["贵州省", "山东省", "济南市", "贵阳市", "", "x"])
FIELD_VALUES = {
    "name": TEXT, "province": TEXT, "city": TEXT, "registered_province": TEXT,
    "local_tax": st.booleans(), "sme": st.booleans(), "legal_person": st.booleans(), "operating": st.booleans(),
    "data_assets_booked": st.booleans(), "exchange_certified": st.booleans(),
    "roles": st.lists(st.sampled_from(sorted(ROLES)), max_size=3),
    "recognitions": st.lists(st.sampled_from(["little_giant", "fuzhou_leader"]), max_size=2),
}
CHANGES = st.sets(st.sampled_from(sorted(FIELD_VALUES)), min_size=1).flatmap(
    lambda keys: st.fixed_dictionaries({k: FIELD_VALUES[k] for k in sorted(keys)}))


@settings(max_examples=40, deadline=None)
@given(st.lists(CHANGES, min_size=1, max_size=6))
def test_no_sequence_of_submissions_changes_a_fact_without_an_administrator(submissions):
    """Whatever an enterprise submits, in any order, the facts in force stay the administrator's,
    so the refusal it had stays; only the name may move. (SQLite in memory, a ledger per example.)"""
    book = open_ledger("sqlite://", table=policy_table(), clock=Clock())
    try:
        e = jinan_enterprise(1, legal_person=False)
        book.register_enterprise(e, actor=ADMIN)
        facts = {k: v for k, v in e.to_dict().items() if k != "name"}
        for changes in submissions:
            try:
                book.submit_enterprise_change(e.credit_code, changes, actor=enterprise_actor(e.credit_code))
            except InputError:
                pass  # changes nothing, or a value the profile refuses
            profile = book.enterprise_view(e.credit_code)["profile"]
            assert {k: profile[k] for k in facts} == facts
        with pytest.raises(NotEligible):
            book.apply(e.credit_code, JN, jn_service("JN-P", "15000"), actor=enterprise_actor(e.credit_code))
        assert len(book.enterprise_changes(status="pending")["items"]) <= 1
        assert book.verify()["ok"]
    finally:
        book.close()
