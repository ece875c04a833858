"""Quota and values the ledger holds, and the calculator run against them for one grant.

`history` reads what counts against each cap now; `parameters` the values an
administrator set where the source gives none; `_grant` runs the pure calculator for
one business under one policy and turns its refusal into the error the caller sees.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from voucher.businesses import claim_key
from voucher.calculator import Calculation
from voucher.enterprise import Enterprise
from voucher.errors import CapReached, Conflict, InputError, quote
from voucher.history import History
from voucher.money import parse_money, parse_rate
from voucher.policy import Policy, PolicyTable
from voucher.results import Grant
from voucher.states import Event, VoucherStatus
from voucher.store import Tx, from_fen
from voucher.transactions import Transaction


class NotEligible(Conflict):
    """The policy does not apply to this enterprise or business (the reason names the condition)."""

    code = "not_eligible"


REFUSAL_ERRORS = {"cap": CapReached, "claimed": Conflict, "once": Conflict}


class Quota:
    table: PolicyTable

    def quota_used(self, db: Tx, code: str, policies: list[Policy], business: str | None = None,
                years: Iterable[int] = ()) -> History:
        """What counts against each cap now: net grants (issued less returned) read from the budget postings.

        Reads only what the caps look at: this enterprise's grants, and all claimants'
        grants and award counts in each of `years` (the shared pools).
        """
        h = History()
        for p in policies:
            for row in db.rows("SELECT year, -SUM(amount) AS used FROM postings WHERE kind = 'budget' "
                               "AND policy_id = ? AND enterprise = ? GROUP BY year", (p.id, code)):
                used = from_fen(row["used"])
                h.granted_year[(p.id, row["year"])] += used
                h.granted_total[p.id] += used
            for row in db.rows("SELECT year, once_keys FROM vouchers WHERE policy_id = ? AND enterprise = ? "
                               "AND status <> ?", (p.id, code, VoucherStatus.VOIDED)):
                h.claims[p.id] += 1
                h.years[p.id].add(row["year"])
                h.once_keys.update((p.id, k) for k in json.loads(row["once_keys"] or "[]"))
            for year in years:
                used = db.value("SELECT -COALESCE(SUM(amount), 0) FROM postings WHERE kind = 'budget' "
                                "AND policy_id = ? AND year = ?", (p.id, year))
                h.pool_used[(p.id, year)] = from_fen(used)
                h.pool_awards[(p.id, year)] = db.value("SELECT COUNT(*) FROM vouchers WHERE policy_id = ? "
                                                       "AND year = ? AND status <> ?",
                                                       (p.id, year, VoucherStatus.VOIDED))
        if business:
            for row in db.rows("SELECT scope, policy_id FROM claims WHERE business IN (?, ?) ORDER BY scope",
                               (claim_key(code, business, False), claim_key(code, business, True))):
                kind, _, name = row["scope"].partition(":")
                h.businesses.setdefault(business, []).append(
                    (row["policy_id"], name if kind == "group" else None, name if kind == "excl" else None))
        return h

    # --- values the sources leave to an administrator ----------------------------------------

    def set_parameter(self, policy_id: str, name: str, value: object, *, actor: str, key: str | None = None) -> dict:
        """Set a value the source does not give (Hangzhou's voucher rate); recorded, and used by every grant after."""
        policy = self.table.get(policy_id)
        if name not in ("rate", "amount") or getattr(policy.formula, f"{name}_set_by") != "administrator":
            raise InputError("name", f"{policy_id} takes no {quote(name)} from an administrator: its source fixes it")
        number = parse_rate(value, "value") if name == "rate" else parse_money(value, "value", positive=True)

        def work(db: Tx) -> dict:
            entry = self.append(db, Event.PARAMETER_SET, actor=actor, policy_id=policy_id,
                                memo={"name": name, "value": str(number)})
            db.run("DELETE FROM parameters WHERE policy_id = ? AND name = ?", (policy_id, name))
            db.insert("parameters", {"policy_id": policy_id, "name": name, "value": str(number), "entry_id": entry})
            return {"policy_id": policy_id, "name": name, "value": str(number), "entry_id": entry}
        return self.idempotent(key, ["parameter", policy_id, name, str(number), actor], work)

    def parameters(self, db: Tx, override: dict | None = None) -> dict:
        """The administrator-set values in force, with any given for one call laid over them."""
        values: dict = {}
        for row in db.rows("SELECT policy_id, name, value FROM parameters"):
            values.setdefault(row["policy_id"], {})[row["name"]] = Decimal(row["value"])
        for policy_id, names in (override or {}).items():
            values.setdefault(policy_id, {}).update(names)
        return values

    def _calculation(self, db: Tx, table: PolicyTable, enterprise: Enterprise, t: Transaction,
                     parameters: dict | None, *, posted_on: date | None = None) -> Calculation:
        """The calculator for one business against the ledger's quota, issuing today.

        Per-year caps and pools count this year's grants, whatever the business's date;
        `posted_on` (default today) is when the business was put to the ledger, which its
        age is judged from.
        """
        today = self.today()
        return Calculation(table, enterprise, parameters=self.parameters(db, parameters), issue_on=today,
                           posted_on=posted_on or today,
                           history=self.quota_used(db, enterprise.credit_code, list(table), t.id, (today.year,)))

    def _grant(self, db: Tx, enterprise: Enterprise, policy: Policy, t: Transaction,
               parameters: dict | None, *, posted_on: date | None = None) -> Grant:
        """Run the calculator for one business under one policy against the ledger's quota, or refuse."""
        calc = self._calculation(db, self.table.subset((policy.id,)), enterprise, t, parameters, posted_on=posted_on)
        grants = calc.feed(t) + calc.finish()
        if grants and grants[0].amount > 0:
            return grants[0]
        result = calc.results[policy.id]
        count, refusal = next(iter(result.refusals.values()))
        error = REFUSAL_ERRORS.get(refusal.code, NotEligible)
        raise error(f"{policy.id}: {refusal.text}", field="policy_id", reason=refusal.code)

    def _happened(self, t: Transaction) -> None:
        """Refuse a business dated after today in China: the ledger grants for what has happened."""
        today = self.today()
        if t.date > today:
            raise InputError("transaction.date", f"{t.date} is after today ({today}, China time): a business is "
                             "posted once it has happened (an estimate takes future dates)")
