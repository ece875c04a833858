"""The ledger's schema, as the first table set and the numbered steps that change it since.

A new database runs every step in order; an existing one runs the steps it has not run
(the store records their names). A step never edits one that shipped: a ledger file made
by an older release must migrate and still verify. Steps are data where they can be
(tables, columns, indexes: each store turns them into its own SQL, TEXT and integer
columns only, so both databases hold the same values) and a Python function over a `Tx`
where a value must be recomputed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

Table = tuple[dict[str, str], tuple[str, ...], list[tuple[str, ...]], list[tuple[str, ...]]]
"""(columns {name: "int"|"text"}, primary key, unique indexes, plain indexes)."""


FIRST_TABLES: dict[str, Table] = {
    "head": ({"id": "int", "last_id": "int", "last_hash": "text"}, ("id",), [], []),
    "entries": ({"id": "int", "at": "text", "day": "text", "event": "text", "actor": "text", "enterprise": "text",
                 "policy_id": "text", "year": "int", "voucher_id": "text", "ref": "text", "reverses": "int",
                 "memo": "text", "prev_hash": "text", "hash": "text"}, ("id",), [],
                [("enterprise",), ("voucher_id",), ("policy_id", "year")]),
    "postings": ({"entry_id": "int", "n": "int", "account": "text", "kind": "text", "enterprise": "text",
                  "policy_id": "text", "year": "int", "party": "text", "amount": "int", "day": "text"},
                 ("entry_id", "n"), [], [("kind", "policy_id", "year", "enterprise"),
                                         ("kind", "policy_id", "enterprise"), ("account",)]),
    "enterprises": ({"credit_code": "text", "profile": "text", "status": "text", "entry_id": "int"},
                    ("credit_code",), [], []),
    "parties": ({"id": "text", "kind": "text", "name": "text", "status": "text", "entry_id": "int"},
                ("id",), [], []),
    "applications": ({"id": "text", "enterprise": "text", "policy_id": "text", "business": "text",
                      "tx": "text", "status": "text", "voucher_id": "text", "platform": "text", "actor": "text",
                      "reason": "text", "entry_id": "int"}, ("id",), [], [("enterprise",)]),
    "vouchers": ({"id": "text", "enterprise": "text", "policy_id": "text", "policy_version": "text",
                  "kind": "text", "business": "text", "year": "int", "face": "int", "issued_on": "text",
                  "expires_on": "text", "status": "text", "platform": "text", "once_keys": "text",
                  "application_id": "text", "entry_id": "int"}, ("id",), [],
                 [("enterprise", "policy_id"), ("policy_id", "year"), ("status", "expires_on")]),
    "claims": ({"business": "text", "scope": "text", "voucher_id": "text", "policy_id": "text"},
               ("business", "scope"), [], []),
    "redemptions": ({"id": "text", "voucher_id": "text", "party": "text", "amount": "int", "invoice": "text",
                     "status": "text", "proof_hash": "text", "rating": "int", "approved_by": "text",
                     "paid_by": "text", "hold_id": "text", "entry_id": "int"}, ("id",), [("invoice",)],
                    [("voucher_id",)]),
    "holds": ({"id": "text", "voucher_id": "text", "party": "text", "amount": "int", "expires_at": "text",
               "status": "text", "entry_id": "int"}, ("id",), [], [("voucher_id",)]),
    "parameters": ({"policy_id": "text", "name": "text", "value": "text", "entry_id": "int"},
                   ("policy_id", "name"), [], []),
    "api_keys": ({"id": "text", "hash": "text", "role": "text", "subject": "text", "name": "text",
                  "created_at": "text", "created_by": "text", "revoked_at": "text", "revoked_by": "text"},
                 ("id",), [("hash",)], []),
    "requests": ({"key": "text", "fingerprint": "text", "response": "text", "at": "text"}, ("key",), [], []),
    "outbox": ({"id": "int", "entry_id": "int", "type": "text", "subjects": "text", "payload": "text",
                "at": "text"}, ("id",), [], [("entry_id",)]),
}

"""Schema `0001_ledger`, as the first release made it. Never edited: later changes are steps."""

FIRST_STEP = "0001_ledger"


class Step(NamedTuple):
    """One named schema change, applied once, in list order, inside the migrating transaction.

    Attributes:
        tables: new tables, as `FIRST_TABLES` gives them.
        columns: table → {new column: "int"|"text"}; existing rows get NULL.
        indexes: (table, columns, unique) to add.
        sql: portable statements (TEXT/BIGINT only), run after the above.
        python: run last with a `Tx`, to fill or recompute values.
    """

    name: str
    tables: dict[str, Table] = {}
    columns: dict[str, dict[str, str]] = {}
    indexes: tuple[tuple[str, tuple[str, ...], bool], ...] = ()
    sql: tuple[str, ...] = ()
    python: Callable[[Any], None] | None = None


def _idem_fill_keys(db) -> None:
    from voucher.businesses import fill_keys  # here: the domain modules import this one

    fill_keys(db)


def _idem_voucher_status(db) -> None:
    from voucher.redemption import restatus_all

    restatus_all(db)


STEPS: list[Step] = [
    # The webhook worker's tables (voucher/webhooks.py): subscriptions, deliveries retried, its cursor,
    # notices sent once. Raw SQL, as first written by the API (the step keeps its name: ledgers have it).
    Step("api_0002_webhooks", sql=(
        # owner is "role:subject"; events a JSON list; secret the whsec_... signing secret.
        "CREATE TABLE webhook_subscriptions (id TEXT PRIMARY KEY, owner TEXT NOT NULL, role TEXT NOT NULL, "
        "subject TEXT NOT NULL, url TEXT NOT NULL, secret TEXT NOT NULL, events TEXT NOT NULL, "
        "created_at TEXT NOT NULL, deleted_at TEXT)",
        "CREATE INDEX webhook_subscriptions_owner ON webhook_subscriptions (owner)",
        # One row per (outbox event, subscription): the unit that is retried.
        "CREATE TABLE webhook_deliveries (id TEXT PRIMARY KEY, event_id BIGINT NOT NULL, "
        "subscription_id TEXT NOT NULL, event_type TEXT NOT NULL, status TEXT NOT NULL, attempts BIGINT NOT NULL, "
        "next_at BIGINT, last_status BIGINT, last_error TEXT, created_at BIGINT NOT NULL, delivered_at BIGINT)",
        "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_at)",
        "CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id)",
        # name -> value: the fan-out cursor (last outbox id handed to subscriptions).
        "CREATE TABLE webhook_state (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
        # Notices sent once per voucher (expiring in 30 days).
        "CREATE TABLE webhook_notices (voucher_id TEXT NOT NULL, type TEXT NOT NULL, at TEXT NOT NULL, "
        "PRIMARY KEY (voucher_id, type))",
    )),
    # Entries written from now on carry hash version 2 (every column of the entry and its postings);
    # those already written keep version 1, and `audit verify` checks each by its own.
    Step("0002_audit_hash_version", columns={"entries": {"hash_version": "int"}},
         sql=("UPDATE entries SET hash_version = 1",)),
    # Signed checkpoints issued (`voucher audit checkpoint`, POST /v1/audit/checkpoints): `body` is the
    # signed JSON, `request_key` the caller's idempotency key, so a retry returns the same checkpoint.
    Step("0002_audit_checkpoints", tables={"checkpoints": (
        {"id": "int", "at": "text", "actor": "text", "key_id": "text", "head_id": "int", "head_hash": "text",
         "entries": "int", "body": "text", "request_key": "text"}, ("id",), [("request_key",)], [])}),
    Step("0003_idem_requests_at", indexes=(("requests", ("at",), False),)),
    Step("0003_idem_business_keys",
         tables={"businesses": ({"key": "text", "id": "text", "enterprise": "text", "platform": "text", "tx": "text",
                                 "entry_id": "int"}, ("key",), [], [("entry_id",)])},
         columns={"applications": {"business_key": "text"}, "redemptions": {"invoice_key": "text"}},
         indexes=(("applications", ("business_key", "policy_id"), False), ("redemptions", ("invoice_key",), True)),
         python=_idem_fill_keys),
    Step("0003_idem_voucher_status", python=_idem_voucher_status),
    # An administrator's key may be limited to some policies: a JSON list of terms (policy ids,
    # province:NAME, city:NAME), resolved against the policy table when the key is used; NULL is unscoped.
    Step("0004_roles_key_scope", columns={"api_keys": {"scope": "text"}}),
    # Changes an enterprise submits to its own profile; eligibility facts wait here for an administrator.
    Step("0004_roles_enterprise_changes", tables={"enterprise_changes": (
        {"id": "text", "enterprise": "text", "changes": "text", "before": "text", "status": "text",
         "submitted_by": "text", "submitted_at": "text", "decided_by": "text", "decided_at": "text",
         "reason": "text", "entry_id": "int", "decided_entry": "int"}, ("id",), [],
        [("status",), ("enterprise",), ("entry_id",)])}),
    # A scoped administrator's subscription: the JSON list of policy ids it may hear of; NULL is everything.
    Step("api_0004_roles_webhook_scope", sql=("ALTER TABLE webhook_subscriptions ADD COLUMN scope TEXT",)),
]
"""The domain's steps after `0001_ledger`, in order. Append; never edit or reorder one that shipped."""


def current_tables() -> dict[str, dict[str, str]]:
    """Every table of the domain's schema after all steps: name → {column: type}."""
    tables = {name: dict(columns) for name, (columns, _, _, _) in FIRST_TABLES.items()}
    for step in STEPS:
        for name, (columns, _, _, _) in step.tables.items():
            tables[name] = dict(columns)
        for name, columns in step.columns.items():
            tables[name].update(columns)
    return tables


def create_table_sql(name: str, table: Table, dialect: str) -> list[str]:
    columns, pk, uniques, indexes = table
    types = {"int": "INTEGER" if dialect == "sqlite" else "BIGINT", "text": "TEXT"}
    cols = ", ".join(f"{c} {types[t]}" for c, t in columns.items())
    strict = " STRICT" if dialect == "sqlite" else ""
    out = [f"CREATE TABLE {name} ({cols}, PRIMARY KEY ({', '.join(pk)})){strict}"]
    out += [index_sql(name, cols_, True) for cols_ in uniques]
    out += [index_sql(name, cols_, False) for cols_ in indexes]
    return out


def index_sql(table: str, columns: tuple[str, ...], unique: bool) -> str:
    name = f"idx_{table}_{'_'.join(columns)}"
    return f"CREATE {'UNIQUE ' if unique else ''}INDEX {name} ON {table} ({', '.join(columns)})"


def step_sql(step: Step, dialect: str) -> list[str]:
    """The statements of a step's data part, in the dialect's types."""
    out: list[str] = []
    for name, table in step.tables.items():
        out += create_table_sql(name, table, dialect)
    int_type = "INTEGER" if dialect == "sqlite" else "BIGINT"
    for name, columns in step.columns.items():
        out += [f"ALTER TABLE {name} ADD COLUMN {c} {int_type if t == 'int' else 'TEXT'}" for c, t in columns.items()]
    out += [index_sql(t, cols, unique) for t, cols, unique in step.indexes]
    return out + list(step.sql)
