"""API keys: stored as SHA-256 only, one role and subject each, revoked at once; and the CLI that makes them."""

from __future__ import annotations

import hashlib

import pytest
from api_support import (  # noqa: F401  (fixtures)
    GUIYANG_A,
    app_fixture,
    client_fixture,
    clock_fixture,
    world_fixture,
)
from click.testing import CliRunner

from voucher.keys import authenticate, create_key, keys_cli, list_keys, revoke_key
from voucher.errors import InputError, NotFound
from voucher.store import open_store


@pytest.fixture
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path}/keys.db")
    yield s
    s.close()


def test_a_key_is_stored_hashed_and_authenticates(store):
    made = create_key(store, "enterprise", GUIYANG_A.lower(), name="finance desk")
    assert made["key"].startswith(f"vk_{made['id']}_") and made["subject"] == GUIYANG_A
    with store.read() as tx:
        rows = tx.rows("SELECT * FROM api_keys")
    assert made["key"] not in repr(rows)
    assert rows[0]["hash"] == hashlib.sha256(made["key"].encode()).hexdigest()
    who = authenticate(store, made["key"])
    assert who.role == "enterprise" and who.subject == GUIYANG_A and who.actor == f"enterprise:{GUIYANG_A}"
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


def test_administrator_is_an_alias(store):
    assert create_key(store, "administrator", "li")["role"] == "admin"


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


def test_cli_creates_lists_and_revokes(tmp_path):
    url = f"sqlite:///{tmp_path}/cli.db"
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
