"""API keys: stored as SHA-256 only, one role and subject each, revoked at once; and the CLI that makes them.

A key's subject is a party of its role (issue 7, point 7): an enterprise key needs a
registered credit code, a platform or provider key a party onboarded as that kind; and an
administrator's key may carry a scope of policies (point 11), which `keys list` shows.
"""

from __future__ import annotations

import hashlib

import pytest
from api_support import (  # noqa: F401  (fixtures)
    GUIYANG_A,
    GUIYANG_B,
    app_fixture,
    client_fixture,
    clock_fixture,
    profile,
    world_fixture,
)
from click.testing import CliRunner

from voucher.enterprise import Enterprise
from voucher.errors import InputError, NotFound
from voucher.keys import authenticate, create_key, keys_cli, list_keys, resolve_scope, revoke_key
from voucher.ledger import open_ledger
from voucher.policy import load_policy_table


@pytest.fixture
def store(tmp_path):
    """A ledger with one registered enterprise, a platform and a provider (keys take it as their store)."""
    book = open_ledger(f"sqlite:///{tmp_path}/keys.db")
    book.register_enterprise(Enterprise.from_dict(profile(GUIYANG_A)), actor="admin:seed")
    book.onboard_party("gz-compute", "platform", "平台", actor="admin:seed")
    book.onboard_party("jn-provider", "provider", "服务商", actor="admin:seed")
    yield book
    book.close()


def key_rows(store) -> list[dict]:
    with store.store.read() as tx:
        return tx.rows("SELECT * FROM api_keys")


def test_a_key_is_stored_hashed_and_authenticates(store):
    made = create_key(store, "enterprise", GUIYANG_A.lower(), name="finance desk")
    assert made["key"].startswith(f"vk_{made['id']}_") and made["subject"] == GUIYANG_A
    rows = key_rows(store)
    assert made["key"] not in repr(rows)
    assert rows[0]["hash"] == hashlib.sha256(made["key"].encode()).hexdigest()
    who = authenticate(store, made["key"])
    assert who.role == "enterprise" and who.subject == GUIYANG_A and who.actor == f"enterprise:{GUIYANG_A}"
    assert who.scope is None
    assert authenticate(store, made["key"] + "x") is None
    assert authenticate(store, "") is None and authenticate(store, None) is None


@pytest.mark.parametrize("role, subject, field", [
    ("root", "x", "role"), ("enterprise", "not-a-code", "subject"), ("platform", "has space", "subject"),
    ("provider", "a:b", "subject"), ("admin", "", "subject"),
])
def test_bad_roles_and_subjects_are_refused(store, role, subject, field):
    with pytest.raises(InputError) as caught:
        create_key(store, role, subject)
    assert caught.value.field == field


@pytest.mark.parametrize("role, subject, says", [
    ("provider", "gz-compute", "gz-compute is a platform, not a provider"),
    ("platform", "jn-provider", "jn-provider is a provider, not a platform"),
    ("platform", "plat-unknown", "plat-unknown is not an onboarded platform"),
    ("provider", "nobody", "nobody is not an onboarded provider"),
    ("enterprise", GUIYANG_B, f"enterprise {GUIYANG_B} is not registered"),
])
def test_a_key_subject_must_be_a_party_of_its_role(store, role, subject, says):
    with pytest.raises(InputError) as caught:
        create_key(store, role, subject)
    assert caught.value.field == "subject" and says in caught.value.message
    assert key_rows(store) == []  # nothing written


def test_a_party_that_left_or_is_blacklisted_gets_no_new_key(store):
    store.exit_party("jn-provider", reason="closed", forced=False, actor="admin:li")
    store.blacklist("gz-compute", reason="fraud", actor="admin:li")
    for role, subject, status in (("provider", "jn-provider", "exited"), ("platform", "gz-compute", "blacklisted")):
        with pytest.raises(InputError) as caught:
            create_key(store, role, subject)
        assert f"{role} {subject} is {status}, not onboarded" in caught.value.message
    assert key_rows(store) == []
    assert create_key(store, "admin", "anyone-by-name")["subject"] == "anyone-by-name"  # admins stay names


def test_administrator_is_an_alias(store):
    assert create_key(store, "administrator", "li")["role"] == "admin"


def test_an_admin_scope_is_stored_checked_and_resolved(store):
    table = load_policy_table()
    made = create_key(store, "admin", "gz-bureau", scope=["province:贵州省", "hangzhou-compute-voucher, city:杭州市"],
                      table=table)
    assert made["scope"] == ["province:贵州省", "hangzhou-compute-voucher", "city:杭州市"]
    who = authenticate(store, made["key"])
    assert who.scope == ("province:贵州省", "hangzhou-compute-voucher", "city:杭州市")
    ids = resolve_scope(who.scope, table)
    # The four Guizhou files (two of them Guiyang's) and the seven Hangzhou ones: 11 of the 20.
    assert {"guizhou-compute-voucher", "guizhou-physical-voucher", "guiyang-compute-usage",
            "guiyang-data-trading", "hangzhou-compute-voucher", "hangzhou-ai-park"} <= ids and len(ids) == 11
    assert "jinan-data-voucher" not in ids
    listed = {k["id"]: k for k in list_keys(store)}
    assert listed[made["id"]]["scope"] == made["scope"]
    assert resolve_scope(("province:火星",), table) == frozenset()  # resolving never widens to everything
    for bad, says in ((["province:火星"], "names no policy"), (["no-such-policy"], "names no policy"),
                      (["county:x"], "use a policy id"), ([" , "], "at least one")):
        with pytest.raises(InputError) as caught:
            create_key(store, "admin", "x", scope=bad, table=table)
        assert caught.value.field == "scope" and says in caught.value.message
    with pytest.raises(InputError) as caught:
        create_key(store, "enterprise", GUIYANG_A, scope=["province:贵州省"], table=table)
    assert "only an administrator" in caught.value.message
    assert len(key_rows(store)) == 1


def test_revoke_takes_effect_on_the_next_request(world):
    made = create_key(world.ledger, "admin", "zhao")
    headers = {"Authorization": f"Bearer {made['key']}"}
    assert world.client.get("/v1/audit/verify", headers=headers).status_code == 200
    revoked = revoke_key(world.ledger, made["id"], revoked_by="admin:li")
    assert revoked["revoked_at"]
    assert world.client.get("/v1/audit/verify", headers=headers).status_code == 401
    assert made["id"] not in {k["id"] for k in list_keys(world.ledger)}
    assert made["id"] in {k["id"] for k in list_keys(world.ledger, include_revoked=True)}
    with pytest.raises(NotFound):
        revoke_key(world.ledger, "nope")


def test_cli_creates_lists_and_revokes(store):
    url = f"sqlite:///{store.store.path}"
    runner = CliRunner()
    created = runner.invoke(keys_cli, ["create", "platform", "gz-compute", "--name", "ops", "--database-url", url])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("vk_")
    listed = runner.invoke(keys_cli, ["list", "--database-url", url])
    key_id = key.split("_")[1]
    assert key_id in listed.output and "gz-compute" in listed.output and key not in listed.output
    assert runner.invoke(keys_cli, ["revoke", key_id, "--database-url", url]).exit_code == 0
    assert key_id not in runner.invoke(keys_cli, ["list", "--database-url", url]).output
    bad = runner.invoke(keys_cli, ["create", "enterprise", "123", "--database-url", url])
    assert bad.exit_code != 0 and "subject" in bad.output
    missing = runner.invoke(keys_cli, ["revoke", "000000000000", "--database-url", url])
    assert missing.exit_code != 0


@pytest.mark.parametrize("args, says", [
    (["provider", "gz-compute"], "Error: subject: gz-compute is a platform, not a provider"),
    (["enterprise", GUIYANG_B], f"Error: subject: enterprise {GUIYANG_B} is not registered"),
    (["platform", "plat-1"], "Error: subject: plat-1 is not an onboarded platform"),
    (["admin", "li", "--scope", "province:火星"], "Error: scope: province:火星 names no policy in the table"),
    (["provider", "jn-provider", "--scope", "province:贵州省"], "Error: scope: only an administrator's key"),
])
def test_cli_refuses_a_subject_of_another_role_in_one_line(store, args, says):
    url = f"sqlite:///{store.store.path}"
    result = CliRunner().invoke(keys_cli, ["create", *args, "--database-url", url])
    assert result.exit_code == 1
    assert result.output.strip().startswith(says) and len(result.output.strip().splitlines()) == 1, result.output
    assert "Traceback" not in result.output
    assert key_rows(store) == []


def test_cli_makes_a_scoped_admin_key_and_lists_its_scope(store):
    url = f"sqlite:///{store.store.path}"
    runner = CliRunner()
    made = runner.invoke(keys_cli, ["create", "admin", "hz-bureau", "--scope", "city:杭州市", "--database-url", url])
    assert made.exit_code == 0, made.output
    assert "within city:杭州市" in made.stderr
    runner.invoke(keys_cli, ["create", "admin", "operator", "--database-url", url])
    lines = runner.invoke(keys_cli, ["list", "--database-url", url]).output.splitlines()
    assert any("hz-bureau" in line and "scope city:杭州市" in line for line in lines), lines
    assert any("operator" in line and "unscoped" in line for line in lines), lines
    as_json = runner.invoke(keys_cli, ["list", "--json", "--database-url", url]).output
    assert '"scope": [\n      "city:杭州市"\n    ]' in as_json and '"scope": null' in as_json
