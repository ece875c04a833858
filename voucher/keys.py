"""API keys: each names one role and one subject, and is stored only as its SHA-256.

A key is `vk_<id>_<secret>`: the id is public (it names the key in lists and in
revocation), the secret is 256 random bits. Such a secret cannot be guessed or
brute-forced from its hash, so a plain SHA-256 is enough; the slow password hashes exist
for low-entropy human passwords, and would only slow every request.

Roles, and what the subject is:
  enterprise  its unified social credit code, registered in the ledger: its own vouchers only
  platform    the id of a party onboarded as a platform: transactions, holds, redemptions for itself
  provider    the id of a party onboarded as a provider: proof and settlement requests for itself
  admin       a person's name: approves, pays, blacklists, audits; within a scope if it has one

A key for a subject the ledger does not know as a party of that role is refused when
it is made (a platform's id cannot become a provider's key). An administrator's key may
carry a scope: policy ids and `province:NAME` / `city:NAME` terms, resolved against the
policy table each time the key is used (a new policy file of that province joins the
scope when it is loaded); outside it the API refuses the key. No scope is the operator.

The ledger records every write's actor as "role:subject". Keys are made and revoked
from the command line (`voucher keys ...`, see `register`), never over HTTP. They live
in the ledger's database (table `api_keys`), so one URL and one backup hold both.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import UTC, datetime
from typing import NamedTuple

import click

from voucher.enterprise import validate_credit_code
from voucher.errors import InputError, NotFound, VoucherError, quote
from voucher.policy import PolicyTable, load_policy_table
from voucher.store import open_store

ROLES = ("enterprise", "platform", "provider", "admin")
ROLE_ALIASES = {"administrator": "admin"}
_SUBJECT = re.compile(r"[^\s\x00-\x1f\x7f:]{1,100}")
_PRESENTED = re.compile(r"vk_[0-9a-f]{12}_[A-Za-z0-9_-]{20,100}")


class Principal(NamedTuple):
    """Who is calling: the key's id, role, subject and, for a scoped administrator, its scope terms."""

    key_id: str
    role: str
    subject: str
    scope: tuple[str, ...] | None = None

    @property
    def actor(self) -> str:
        """How the ledger records this caller on every entry it writes."""
        return f"{self.role}:{self.subject}"


def _store(where):
    """Accept a store, a ledger (which has one) or a database URL."""
    if where is None or isinstance(where, str):
        return open_store(where)
    return getattr(where, "store", where)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def normalize_role(role: str) -> str:
    role = ROLE_ALIASES.get(role, role)
    if role not in ROLES:
        raise InputError("role", f"{quote(role)} is not a role; one of {', '.join(ROLES)}")
    return role


def validate_subject(role: str, subject: object) -> str:
    """An enterprise is its credit code; a party or an administrator is a name without spaces or ':'."""
    if role == "enterprise":
        return validate_credit_code(subject, "subject")
    if not isinstance(subject, str) or not _SUBJECT.fullmatch(subject):
        raise InputError("subject", "must be 1 to 100 characters, without spaces or ':'")
    return subject


SCOPE_KINDS = ("province", "city")


def parse_scope(terms, table: PolicyTable) -> tuple[str, ...]:
    """Scope terms as given (`policy-id`, `province:贵州省`, `city:杭州市`; comma-separated allowed),
    each checked to name at least one policy of the table, without duplicates."""
    out: list[str] = []
    for raw in terms:
        for term in (t.strip() for t in str(raw).split(",")):
            if not term:
                continue
            kind, sep, value = term.partition(":")
            if sep:
                if kind not in SCOPE_KINDS or not value.strip():
                    raise InputError("scope", f"{term}: use a policy id, province:NAME or city:NAME")
                term = f"{kind}:{value.strip()}"
            if not resolve_scope((term,), table):
                raise InputError("scope", f"{term} names no policy in the table")
            if term not in out:
                out.append(term)
    if not out:
        raise InputError("scope", "name at least one policy id, province:NAME or city:NAME")
    return tuple(out)


def resolve_scope(terms, table: PolicyTable) -> frozenset[str]:
    """The ids of the policies the terms name today; a term that names none adds none (never all)."""
    ids: set[str] = set()
    for term in terms:
        kind, sep, value = term.partition(":")
        if not sep:
            ids.update(p.id for p in table if p.id == term)
        elif kind in SCOPE_KINDS:
            ids.update(p.id for p in table if getattr(p, kind) == value)
    return frozenset(ids)


def _check_subject_registered(db, role: str, subject: str) -> None:
    """An enterprise key needs a registered enterprise; a platform or provider key a party onboarded as one."""
    if role == "enterprise":
        if not db.one("SELECT credit_code FROM enterprises WHERE credit_code = ?", (subject,)):
            raise InputError("subject", f"enterprise {subject} is not registered; an administrator registers it "
                                        "first (voucher ledger register)")
    elif role in ("platform", "provider"):
        row = db.one("SELECT kind, status FROM parties WHERE id = ?", (subject,))
        if not row:
            raise InputError("subject", f"{subject} is not an onboarded {role}; onboard it first "
                                        f"(voucher ledger onboard {subject} --kind {role})")
        if row["kind"] != role:
            raise InputError("subject", f"{subject} is a {row['kind']}, not a {role}")
        if row["status"] != "onboarded":
            raise InputError("subject", f"{role} {subject} is {row['status']}, not onboarded")


def create_key(where, role: str, subject: str, *, name: str = "", created_by: str = "cli",
               scope=None, table: PolicyTable | None = None) -> dict:
    """Make a key; the returned `key` is shown this once and never stored.

    The subject must be a party of the role (checked in the same transaction as the
    insert); `scope` (admin only) is a list of terms, see `parse_scope`.
    """
    role = normalize_role(role)
    subject = validate_subject(role, subject)
    terms = None
    if scope:
        if role != "admin":
            raise InputError("scope", "only an administrator's key has a scope")
        terms = parse_scope(scope, table or load_policy_table())
    key_id = secrets.token_hex(6)
    key = f"vk_{key_id}_{secrets.token_urlsafe(32)}"
    row = {"id": key_id, "hash": hash_key(key), "role": role, "subject": subject, "name": name or "",
           "created_at": datetime.now(UTC).isoformat(timespec="seconds"), "created_by": created_by,
           "scope": json.dumps(list(terms), ensure_ascii=False) if terms else None}
    with _store(where).write() as db:
        _check_subject_registered(db, role, subject)
        db.insert("api_keys", row)
    return {"id": key_id, "key": key, "role": role, "subject": subject, "name": row["name"],
            "created_at": row["created_at"], "scope": list(terms) if terms else None}


def revoke_key(where, key_id: str, *, revoked_by: str = "cli") -> dict:
    """Revoke at once: the next request with the key is refused (no cache to wait out)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with _store(where).write() as db:
        row = db.one("SELECT id, revoked_at FROM api_keys WHERE id = ?", (key_id,))
        if not row:
            raise NotFound(f"no API key {quote(key_id)}", field="key_id")
        if not row["revoked_at"]:
            db.run("UPDATE api_keys SET revoked_at = ?, revoked_by = ? WHERE id = ?", (now, revoked_by, key_id))
        found = db.one("SELECT id, role, subject, name, created_at, revoked_at FROM api_keys WHERE id = ?", (key_id,))
    return found


def list_keys(where, *, include_revoked: bool = False) -> list[dict]:
    """Keys with their scope (a list of terms; None for every role but a scoped administrator)."""
    sql = "SELECT id, role, subject, name, scope, created_at, created_by, revoked_at FROM api_keys"
    if not include_revoked:
        sql += " WHERE revoked_at IS NULL"
    with _store(where).read() as db:
        rows = db.rows(sql + " ORDER BY created_at, id")
    return [{**r, "scope": json.loads(r["scope"]) if r["scope"] else None} for r in rows]


def authenticate(where, presented: str | None) -> Principal | None:
    """The principal a presented key stands for, or None if it is malformed, unknown or revoked."""
    if not presented or not _PRESENTED.fullmatch(presented):
        return None
    with _store(where).read() as db:
        row = db.one("SELECT id, role, subject, scope, revoked_at FROM api_keys WHERE hash = ?",
                     (hash_key(presented),))
    if not row or row["revoked_at"]:
        return None
    scope = tuple(json.loads(row["scope"])) if row["scope"] else None
    return Principal(row["id"], row["role"], row["subject"], scope)


# --- the command line: `voucher keys create|revoke|list` ------------------------------------

_DB = click.option("--database-url", envvar="VOUCHER_DATABASE_URL", default=None,
                   help="sqlite:///path.db or postgresql://... "
                        "(default: $VOUCHER_DATABASE_URL, else sqlite:///voucher.db)")


@click.group("keys")
def keys_cli() -> None:
    """Create, list and revoke API keys (stored hashed; a key is shown once)."""


@keys_cli.command("create")
@click.argument("role", type=click.Choice([*ROLES, *ROLE_ALIASES]))
@click.argument("subject")
@click.option("--name", default="", help="A note: who holds the key.")
@click.option("--by", "created_by", default="cli", help="Who creates it (recorded).")
@click.option("--scope", "scope", multiple=True, metavar="TERM",
              help="Admin only, repeatable or comma-separated: a policy id, province:NAME (贵州省) or city:NAME "
                   "(杭州市); the key acts only on those policies. Without it an admin key is unscoped (the "
                   "operator).")
@click.option("--policies", "policy_dir", envvar="VOUCHER_POLICIES", type=click.Path(file_okay=False),
              help="Policy table the scope is checked against (default: policies/ of this checkout).")
@_DB
@click.pass_context
def keys_create(ctx: click.Context, role: str, subject: str, name: str, created_by: str, scope: tuple[str, ...],
                policy_dir: str | None, database_url: str | None) -> None:
    """Make a key for ROLE (enterprise, platform, provider, admin) and SUBJECT.

    SUBJECT is a registered enterprise's credit code, the id of a party onboarded as that
    role (platform or provider), or an administrator's name.
    """
    root = ctx.find_root().obj or {}
    try:
        table = load_policy_table(policy_dir or root.get("policy_dir")) if scope else None
        made = create_key(database_url, role, subject, name=name, created_by=created_by, scope=scope, table=table)
    except VoucherError as exc:
        raise click.ClickException(exc.message) from None
    scoped = f" within {', '.join(made['scope'])}" if made["scope"] else ""
    click.echo(f"created key {made['id']} for {made['role']}:{made['subject']}{scoped}; it is shown only now:",
               err=True)
    click.echo(made["key"])


@keys_cli.command("revoke")
@click.argument("key_id")
@click.option("--by", "revoked_by", default="cli", help="Who revokes it (recorded).")
@_DB
def keys_revoke(key_id: str, revoked_by: str, database_url: str | None) -> None:
    """Revoke the key KEY_ID (the part after vk_); effective on the next request."""
    try:
        row = revoke_key(database_url, key_id, revoked_by=revoked_by)
    except NotFound as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"revoked key {row['id']} ({row['role']}:{row['subject']}) at {row['revoked_at']}")


@keys_cli.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked keys.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_DB
def keys_list(include_revoked: bool, as_json: bool, database_url: str | None) -> None:
    """List keys (ids, roles and subjects; never the keys themselves)."""
    rows = list_keys(database_url, include_revoked=include_revoked)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    for row in rows:
        revoked = f"  revoked {row['revoked_at']}" if row["revoked_at"] else ""
        scope = ("scope " + ",".join(row["scope"])) if row["scope"] else ("unscoped" if row["role"] == "admin" else "")
        click.echo(f"{row['id']}  {row['role']:<10} {row['subject']:<24} {scope:<28} {row['name'] or ''}{revoked}"
                   .rstrip())
