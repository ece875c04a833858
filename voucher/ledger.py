"""The voucher ledger: the journal plus the lifecycle, redemption and report operations on it.

    ledger = open_ledger("sqlite:///voucher.db")      # or postgresql://host/db
    ledger.register_enterprise(profile, actor="admin:li")
    ledger.apply(code, "guizhou-compute-voucher", transaction, actor=code)
    ledger.approve("A2", actor="admin:li")             # issues the voucher in the same transaction
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from voucher.changes import ProfileChanges
from voucher.journal import Journal
from voucher.lifecycle import Lifecycle
from voucher.parties import Parties
from voucher.quota import Quota
from voucher.policy import PolicyTable, load_policy_table
from voucher.redemption import Redemptions
from voucher.reports import Reports
from voucher.store import open_store


class Ledger(Lifecycle, Parties, ProfileChanges, Quota, Redemptions, Reports, Journal):
    """One ledger over one store, applying one policy table."""

    def __init__(self, store, table: PolicyTable, clock: Callable[[], datetime] | None = None) -> None:
        Journal.__init__(self, store, clock)
        self.table = table

    def close(self) -> None:
        self.store.close()


def open_ledger(url: str | None = None, *, table: PolicyTable | None = None,
                clock: Callable[[], datetime] | None = None) -> Ledger:
    """A ledger at a database URL ($VOUCHER_DATABASE_URL, else sqlite:///voucher.db)."""
    return Ledger(open_store(url), table or load_policy_table(), clock)
