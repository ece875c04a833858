"""The API's own tables, added to the ledger's database through `voucher.store.EXTRA_MIGRATIONS`.

They live beside the ledger rather than in a second database so that a webhook
subscription, a key and the postings they concern share one backup, one URL and, for
the outbox, one transaction. Only TEXT and BIGINT columns, so the same statements run
on SQLite and PostgreSQL. Times that are compared are stored as epoch milliseconds
(BIGINT), because ISO strings in different offsets do not sort.

Importing this module registers the steps; any store opened afterwards applies them.
"""

from __future__ import annotations

from voucher import store

API_MIGRATIONS: list[tuple[str, list[str]]] = [
    ("api_0002_webhooks", [
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
    ]),
    # A scoped administrator's subscription: the JSON list of policy ids it may hear of; NULL is everything.
    ("api_0004_roles_webhook_scope", ["ALTER TABLE webhook_subscriptions ADD COLUMN scope TEXT"]),
]


def register() -> None:
    """Add the API's steps to the store's list once, whatever imports this module first."""
    known = {name for name, _ in store.EXTRA_MIGRATIONS}
    for name, statements in API_MIGRATIONS:
        if name not in known:
            store.EXTRA_MIGRATIONS.append((name, statements))


register()
