"""Signed checkpoints: a ledger rewritten or truncated after a checkpoint no longer verifies against it.

The hash chain alone cannot tell a ledger whose last entry was deleted (and its head moved back), or
whose earlier entry was rewritten with every later hash recomputed, from an honest one: both verify.
A checkpoint signed with a key kept outside the database can. Run on SQLite and PostgreSQL, through
`voucher audit keygen | checkpoint | verify`.
"""

from __future__ import annotations

import json
import os
import stat
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from audit_support import DOOMED, audited, problems_of  # noqa: F401  (fixtures are used by name)
from click.testing import CliRunner
from ledger_support import ADMIN, POLICY_DIR, backend, clock, ledger, ledger_url, raw_execute  # noqa: F401

from voucher.checkpoint import FORMAT, KEY_ENV, PUBLIC_KEY_ENV, check_signature, keygen, latest_checkpoint
from voucher.cli import main
from voucher.journal import entry_hash


LAST = 44  # the entries `audited` writes


def cli(url: str | None, *args: str, env: dict | None = None):
    base = ["--policies", str(POLICY_DIR)] + (["--db", url] if url else [])
    return CliRunner().invoke(main, [*base, *map(str, args)], env={KEY_ENV: None, PUBLIC_KEY_ENV: None, **(env or {})})


def one_line_error(result, *words: str) -> None:
    """Refused: exit 1, one line on stderr naming the problem, no traceback."""
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def keys(tmp_path):
    made = keygen(str(tmp_path / "checkpoint.pem"), str(tmp_path / "checkpoint.pub"))
    return SimpleNamespace(private=tmp_path / "checkpoint.pem", public=tmp_path / "checkpoint.pub", id=made["key_id"])


@pytest.fixture
def signed(audited, ledger_url, keys, tmp_path):
    """(ledger, the checkpoint's file): a checkpoint of the audited ledger, printed by the CLI."""
    ledger, _ = audited
    out = cli(ledger_url, "--actor", "admin:zhao", "audit", "checkpoint", "--key", keys.private)
    assert out.exit_code == 0, out.output
    path = tmp_path / "checkpoint.json"
    path.write_text(out.stdout, encoding="utf-8")
    return ledger, path


def verify_cli(url: str, checkpoint, public) -> dict:
    out = cli(url, "audit", "verify", "--json", "--checkpoint", checkpoint, "--public-key", public)
    report = json.loads(out.stdout)
    assert out.exit_code == (0 if report["ok"] else 1)
    return report


def test_keygen_writes_a_private_key_only_its_owner_reads(tmp_path):
    made = cli(None, "audit", "keygen", "--private", tmp_path / "k.pem", "--public", tmp_path / "k.pub")
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(os.stat(tmp_path / "k.pem").st_mode) == 0o600
    assert (tmp_path / "k.pem").read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert (tmp_path / "k.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    before = (tmp_path / "k.pem").read_bytes()
    again = cli(None, "audit", "keygen", "--private", tmp_path / "k.pem", "--public", tmp_path / "other.pub")
    assert again.exit_code == 1 and "never overwritten" in again.output
    assert (tmp_path / "k.pem").read_bytes() == before and not (tmp_path / "other.pub").exists()


def test_help_names_the_key_file_and_the_variables():
    assert KEY_ENV in cli(None, "audit", "checkpoint", "--help").output
    assert "--key" in cli(None, "audit", "checkpoint", "--help").output
    assert PUBLIC_KEY_ENV in cli(None, "audit", "verify", "--help").output


def test_a_checkpoint_names_the_head_and_the_count_signed(signed, keys):
    ledger, path = signed
    body = json.loads(path.read_text())
    report = ledger.verify()
    assert body["format"] == FORMAT and body["entries"] == report["entries"] == LAST
    assert body["chains"] == [{"name": "main", "head_id": LAST, "head_hash": report["last_hash"]}]
    assert datetime.fromisoformat(body["at"]).utcoffset() == timedelta(hours=8) and body["key_id"] == keys.id
    assert check_signature(body, str(keys.public))["entries"] == LAST
    assert latest_checkpoint(ledger.store) == {"actor": "admin:zhao", "checkpoint": body}


def test_the_key_may_come_from_the_variable_as_a_file_or_as_pem(audited, ledger_url, keys):
    for value in (str(keys.private), keys.private.read_text()):
        out = cli(ledger_url, "audit", "checkpoint", env={KEY_ENV: value})
        assert out.exit_code == 0, out.output
        assert json.loads(out.stdout)["key_id"] == keys.id


def test_a_ledger_that_only_grew_since_verifies_against_it(signed, ledger_url, keys):
    ledger, path = signed
    assert verify_cli(ledger_url, path, keys.public)["ok"]
    ledger.onboard_party("late-provider", "provider", "后来的服务商", actor=ADMIN)
    report = verify_cli(ledger_url, path, keys.public)
    assert report["ok"] and report["entries"] == LAST + 1 and report["checkpoint"]["chains"][0]["head_id"] == LAST


def test_deleting_the_last_entry_and_moving_the_head_back_is_found(audited, ledger_url, keys, tmp_path):
    ledger, _ = audited
    ledger.onboard_party("late-provider", "provider", "后来的服务商", actor=ADMIN)  # entry LAST + 1
    path = tmp_path / "cp.json"
    path.write_text(cli(ledger_url, "audit", "checkpoint", "--key", keys.private).stdout)
    with ledger.store.read() as tx:
        previous = tx.value("SELECT hash FROM entries WHERE id = ?", (LAST,))
    for sql, params in (("DELETE FROM postings WHERE entry_id = ?", (LAST + 1,)),
                        ("DELETE FROM entries WHERE id = ?", (LAST + 1,)),
                        ("DELETE FROM parties WHERE id = 'late-provider'", ()),
                        ("UPDATE head SET last_id = ?, last_hash = ?", (LAST, previous))):
        raw_execute(ledger_url, sql, params)
    assert ledger.verify()["ok"]  # what the chain alone cannot see
    report = verify_cli(ledger_url, path, keys.public)
    assert (report["ok"], report["first_bad_entry"]) == (False, LAST + 1)
    assert [p["kind"] for p in report["problems"]] == ["checkpoint"] and "truncated" in report["problem"]


def test_rewriting_an_earlier_entry_with_the_chain_recomputed_is_found(signed, ledger_url, keys):
    ledger, path = signed
    rewrite_from(ledger, ledger_url, 10, actor="admin:mallory")
    assert ledger.verify()["ok"]  # every hash after it recomputed: the chain holds
    report = verify_cli(ledger_url, path, keys.public)
    assert (report["ok"], report["first_bad_entry"]) == (False, LAST)
    assert [p["kind"] for p in report["problems"]] == ["checkpoint"] and "rewritten" in report["problem"]


def rewrite_from(ledger, url: str, first: int, **changes) -> None:
    """Change entry `first` and recompute its hash and every later one, and the head, as a tamperer would."""
    with ledger.store.read() as tx:
        rows = tx.rows("SELECT * FROM entries WHERE id >= ? ORDER BY id", (first,))
        legs = {r["id"]: tx.rows("SELECT * FROM postings WHERE entry_id = ? ORDER BY n", (r["id"],)) for r in rows}
        prev = tx.value("SELECT hash FROM entries WHERE id = ?", (first - 1,))
    for row in rows:
        row = {**row, **(changes if row["id"] == first else {}), "prev_hash": prev}
        row["hash"] = prev = entry_hash(row, legs[row["id"]])
        raw_execute(url, "UPDATE entries SET actor = ?, prev_hash = ?, hash = ? WHERE id = ?",
                    (row["actor"], row["prev_hash"], row["hash"], row["id"]))
    raw_execute(url, "UPDATE head SET last_hash = ?", (prev,))


@pytest.mark.parametrize("edit", ["head_id", "head_hash", "entries", "at", "signature", "other key"])
def test_an_edited_or_forged_checkpoint_is_refused(signed, ledger_url, keys, tmp_path, edit):
    ledger, path = signed
    body = json.loads(path.read_text())
    if edit == "other key":  # a checkpoint the tamperer signed for the ledger they rewrote
        other = keygen(str(tmp_path / "mallory.pem"), str(tmp_path / "mallory.pub"))
        out = cli(ledger_url, "audit", "checkpoint", "--key", tmp_path / "mallory.pem")
        body = json.loads(out.stdout)
        assert body["key_id"] == other["key_id"] != keys.id
    elif edit in ("head_id", "head_hash"):
        body["chains"][0][edit] = LAST - 1 if edit == "head_id" else "0" * 64
    else:
        body[edit] = {"entries": LAST - 1, "at": "2099-01-01T00:00:00+08:00",
                      "signature": body["signature"][:-4] + "AAA="}[edit]
    path.write_text(json.dumps(body))
    out = cli(ledger_url, "audit", "verify", "--checkpoint", path, "--public-key", keys.public)
    one_line_error(out, "refused: checkpoint:", "does not verify")
    if edit == "other key":
        assert keys.id in out.stderr


@pytest.mark.parametrize("args, words", [
    (["audit", "checkpoint"], ["no signing key", "--key", KEY_ENV]),
    (["audit", "checkpoint", "--key", "/nonexistent/key.pem"], ["--key", "cannot read"]),
    (["audit", "checkpoint", "--key", POLICY_DIR / "guizhou-compute-voucher.toml"], ["--key", "PEM"]),
    (["audit", "verify", "--checkpoint", POLICY_DIR / "guizhou-compute-voucher.toml"], ["--checkpoint", "JSON"]),
])
def test_cli_errors_are_one_line(audited, ledger_url, args, words):
    one_line_error(cli(ledger_url, *args), *words)


def test_a_checkpoint_without_a_public_key_or_of_another_shape_is_refused(signed, ledger_url, keys, tmp_path):
    _, path = signed
    one_line_error(cli(ledger_url, "audit", "verify", "--checkpoint", path), "--public-key", PUBLIC_KEY_ENV)
    (tmp_path / "bad.json").write_text(json.dumps({"format": FORMAT, "chains": []}))
    one_line_error(cli(ledger_url, "audit", "verify", "--checkpoint", tmp_path / "bad.json", "--public-key",
                       keys.public), "checkpoint:")


def test_no_checkpoint_of_a_ledger_that_does_not_verify(audited, ledger_url, keys):
    ledger, _ = audited
    raw_execute(ledger_url, f"UPDATE parties SET status = 'onboarded' WHERE id = '{DOOMED}'")
    one_line_error(cli(ledger_url, "audit", "checkpoint", "--key", keys.private), "does not verify")
    assert latest_checkpoint(ledger.store) is None


def _ec_key():
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def test_keys_that_are_missing_unreadable_or_not_ed25519_are_refused_naming_the_flag(tmp_path):
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

    from voucher.checkpoint import load_private_key, load_public_key
    from voucher.errors import InputError

    ec = _ec_key()
    ec_private = ec.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    ec_public = ec.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    cases = [
        (load_private_key, "  ", "no key given"),
        (load_private_key, None, "no key given"),
        (load_private_key, ec_private, "is not an Ed25519 key"),
        (load_private_key, str(tmp_path / "absent.pem"),
         f"cannot read {tmp_path / 'absent.pem'}: No such file or directory"),
        (load_public_key, ec_public, "is not an Ed25519 key"),
        (load_public_key, "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n",
         "is not a PEM public key (`voucher audit keygen` writes one)"),
    ]
    for load, source, problem in cases:
        with pytest.raises(InputError) as info:
            load(source, "--key")
        assert (info.value.field, info.value.problem) == ("--key", problem), source


def test_keygen_into_a_folder_that_is_not_there_names_the_flag_and_the_path(tmp_path):
    from voucher.errors import InputError

    with pytest.raises(InputError) as info:
        keygen(str(tmp_path / "k.pem"), str(tmp_path / "missing" / "k.pub"))
    assert info.value.field == "--public" and info.value.problem.startswith(f"cannot write {tmp_path / 'missing'}")
    # Both files or neither: the private key written first is taken back, not left without its pair.
    assert not (tmp_path / "k.pem").exists()
