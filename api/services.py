"""The services a request uses, found through the app: one place the views import them from.

The ledger is opened on first use in each process, never at import: gunicorn forks its
workers after loading the app, and a SQLite or PostgreSQL connection must not be shared
across a fork. A worker that finds itself in a new process opens its own. The views call
`ledger()`, `parameters()` and `policy_table()`; the app factory (`api/app.py`) makes one
`Services` per app and keeps it in `app.extensions["voucher"]`.
"""

from __future__ import annotations

import os
import threading

from flask import current_app

from voucher.ledger import Ledger, open_ledger
from voucher.policy import PolicyTable, load_policy_table


class Services:
    """The per-process ledger, opened lazily and reopened after a fork."""

    def __init__(self, config) -> None:
        self.config = config
        self.table = load_policy_table(config["POLICY_DIR"])  # fail at start, not on the first request
        self._ledger: Ledger | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def ledger(self) -> Ledger:
        if self._ledger is None or self._pid != os.getpid():
            with self._lock:
                if self._ledger is None or self._pid != os.getpid():
                    self._ledger = open_ledger(self.config["DATABASE_URL"], table=self.table,
                                               clock=self.config["CLOCK"])
                    self._pid = os.getpid()
        return self._ledger

    def close(self) -> None:
        if self._ledger is not None and self._pid == os.getpid():
            self._ledger.close()
        self._ledger = None


def ledger() -> Ledger:
    """The ledger of this process (inside a request or app context)."""
    return current_app.extensions["voucher"].ledger()


def parameters(extra: dict | None = None) -> dict | None:
    """The administrator-set values the ledger records, overlaid by a request's own (an estimate's what-if)."""
    book = ledger()
    with book.store.read() as db:
        return book.parameters(db, extra) or None


def policy_table() -> PolicyTable:
    """The policy table this process loaded at start."""
    return current_app.extensions["voucher"].table
