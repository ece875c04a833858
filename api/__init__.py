"""The voucher HTTP API: Flask + marshmallow (flask-smorest) over the calculator and the ledger.

    gunicorn -c gunicorn.conf.py              # serves create_app() on VOUCHER_BIND
    create_app({"DATABASE_URL": "sqlite:///voucher.db", "TESTING": True})

`create_app` imports Flask only when called. The webhook delivery worker is not web code:
it lives in `voucher.webhooks`, and its tables are steps of the ledger's schema.
"""

from __future__ import annotations


def create_app(config: dict | None = None):
    """Build the WSGI app. Config keys: DATABASE_URL, POLICY_DIR, MAX_CONTENT_LENGTH, CLOCK, TESTING."""
    from api.app import build_app

    return build_app(config)
