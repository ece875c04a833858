"""Voucher lifecycle up to issue, and its ends: apply, approve (issue), reject, expire, void.

Every step runs as one write transaction: the checks read what the ledger holds now
and the write follows with no other writer in between (see `store.py`), so caps,
pools and one-claim-per-business hold under any interleaving. A refused step raises
before anything is written, and the transaction rolls back.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from voucher.enterprise import Enterprise
from voucher.businesses import BusinessMismatch, claim_key, differences, first_answer, posted, record_business, \
    required_key
from voucher.errors import Conflict, Forbidden, InputError, NotFound, quote
from voucher.idempotency import Replay, prune
from voucher.journal import Posting
from voucher.money import plain
from voucher.policy import PolicyTable
from voucher.quota import NotEligible
from voucher.results import Grant
from voucher.states import VOUCHER_TRANSITIONS, Event
from voucher.store import Tx, from_fen, open_row, to_fen_int
from voucher.transactions import Transaction, as_sent, as_transaction, transaction_from_dict

__all__ = ["Lifecycle", "NotEligible"]


class Lifecycle:
    table: PolicyTable

    # --- apply, approve (issue), reject ------------------------------------------------------

    def apply(self, code: str, policy_id: str, transaction: Transaction | dict, *, actor: str,
              key: str | None = None, parameters: dict | None = None) -> dict:
        """申领: an enterprise asks for a policy's grant for one business; checked now, decided by approve.

        `transaction` is a parsed `Transaction` (the API's schema makes one) or its JSON form.
        """
        policy = self.table.get(policy_id)
        t = as_transaction(transaction)
        business = required_key(t.id, "transaction.id")

        def work(db: Tx) -> dict:
            self._happened(t)
            enterprise = self._enterprise(db, code)
            self._grant(db, enterprise, policy, t, parameters)  # refuses now what approval would refuse
            pending = db.one("SELECT id FROM applications WHERE business_key = ? AND policy_id = ? "
                             "AND status = 'applied'", (business, policy.id))
            if pending:
                raise Conflict(f"business {t.id} already has an open application {pending['id']}", field="transaction.id")
            entry = self.append(db, Event.APPLY, actor=actor, enterprise=enterprise.credit_code, policy_id=policy.id,
                                year=t.year, ref=t.id, memo=t.to_dict())
            app_id = f"A{entry}"
            db.insert("applications", {"id": app_id, "enterprise": enterprise.credit_code, "policy_id": policy.id,
                                       "business": t.id, "business_key": business,
                                       "tx": json.dumps(t.to_dict(), ensure_ascii=False),
                                       "status": "applied", "platform": t.platform, "actor": actor, "entry_id": entry})
            return self._application(db, app_id)
        return self.idempotent(key, ["apply", code, policy_id, as_sent(transaction), actor, str(parameters)], work)

    def approve(self, app_id: str, *, actor: str, key: str | None = None, parameters: dict | None = None) -> dict:
        """An administrator approves; the voucher is issued in the same transaction, for what the caps leave."""
        def work(db: Tx) -> dict:
            app = self._open_application(db, app_id)
            enterprise = self._enterprise(db, app["enterprise"])
            t = transaction_from_dict(json.loads(app["tx"]))
            policy = self.table.get(app["policy_id"])
            applied = db.value("SELECT day FROM entries WHERE id = ?", (int(app_id[1:]),))  # A{entry}: the apply
            grant = self._grant(db, enterprise, policy, t, parameters, posted_on=date.fromisoformat(applied))
            entry = self.append(db, Event.APPROVE, actor=actor, enterprise=enterprise.credit_code, policy_id=policy.id,
                                year=t.year, ref=app_id)
            voucher = self._issue(db, enterprise, grant, t, actor=actor, application=app_id)
            db.run("UPDATE applications SET status = 'approved', voucher_id = ?, entry_id = ? WHERE id = ?",
                   (voucher["id"], entry, app_id))
            return {"application": self._application(db, app_id), "voucher": voucher}
        return self.idempotent(key, ["approve", app_id, actor, str(parameters)], work)

    def reject(self, app_id: str, *, reason: str, actor: str, key: str | None = None) -> dict:
        if not reason:
            raise InputError("reason", "a rejection states its reason")

        def work(db: Tx) -> dict:
            app = self._open_application(db, app_id)
            entry = self.append(db, Event.REJECT, actor=actor, enterprise=app["enterprise"], policy_id=app["policy_id"],
                                ref=app_id, memo={"reason": reason})
            db.run("UPDATE applications SET status = 'rejected', reason = ?, entry_id = ? WHERE id = ?",
                   (reason, entry, app_id))
            return self._application(db, app_id)
        return self.idempotent(key, ["reject", app_id, reason, actor], work)

    def post_transaction(self, code: str, transaction: Transaction | dict, *, platform: str, actor: str,
                         key: str | None = None, parameters: dict | None = None) -> dict:
        """A platform posts a business; every voucher-issuing policy that grants for it issues now.

        Stacking is the calculator's: within a stacking group only the highest is issued.
        One business, one entry: a re-post of an id the ledger holds (compared by `normal_key`)
        returns the first answer and writes nothing, whatever idempotency key it carries;
        with other content it is refused, naming the fields that differ.
        """
        t = as_transaction(transaction)
        required_key(t.id, "transaction.id")
        if t.platform and t.platform != platform:
            raise Forbidden(f"transaction.platform {quote(t.platform)} is not the posting platform "
                            f"{quote(platform)}",
                            field="transaction.platform")
        t = t._replace(platform=platform)

        def work(db: Tx) -> dict | Replay:
            first = posted(db, t.id)
            if first:
                differ = differences(first, code, t.to_dict())
                if differ:
                    raise BusinessMismatch(t.id, differ)
                return Replay(first_answer(db, first, self.issued_view))
            self._happened(t)
            self._party(db, platform, onboarded=True)
            enterprise = self._enterprise(db, code)
            calc = self._calculation(db, self.table.issuing(t.kind), enterprise, t, parameters)
            grants = [g for g in calc.feed(t) if g.amount > 0]
            not_issued = [{"policy_id": r.policy.id, "reasons": r.reasons()} for r in calc.results.values()
                          if not r.grants]
            entry = self.append(db, Event.TRANSACTION_POST, actor=actor, enterprise=enterprise.credit_code, year=t.year,
                                ref=t.id, memo={**t.to_dict(), "not_issued": not_issued})
            record_business(db, entry)
            vouchers = [self._issue(db, enterprise, g, t, actor=actor, application=None) for g in grants]
            return {"transaction": t.to_dict(), "vouchers": vouchers, "not_issued": not_issued}
        return self.idempotent(key, ["post", code, as_sent(transaction), platform], work)

    def _issue(self, db: Tx, enterprise: Enterprise, grant: Grant, t: Transaction, *, actor: str,
               application: str | None) -> dict:
        p, amount = grant.policy, grant.amount
        code = enterprise.credit_code
        voucher_id = f"V{self.next_id(db)}"  # the id of the issue entry
        # A contract is one business whoever claims it (同一业务只能一方申领); a year's purchases
        # (a per-year policy) are the enterprise's own, so their key carries the enterprise.
        business = claim_key(code, t.id, per_year=p.formula.aggregate == "year")
        scopes = p.claim_scopes()  # none where the policy says one_claim_per_business = false
        # 自发放之日起计算: the grant's validity runs from the day the ledger issues it (`issue_on`).
        issued, expires = grant.issued_on or self.today(), grant.expires_on
        row = {"id": voucher_id, "enterprise": code, "policy_id": p.id, "policy_version": p.version,
               "kind": p.voucher.grant_kind, "business": t.id, "year": grant.year,
               "face": to_fen_int(amount), "issued_on": issued.isoformat(),
               "expires_on": expires.isoformat() if expires else None, "status": VOUCHER_TRANSITIONS[Event.ISSUE].to,
               "platform": t.platform,
               "once_keys": json.dumps(list(grant.once)), "application_id": application}
        # The memo carries every column of the voucher and its claims, so `audit verify` re-derives them.
        entry = self.append(db, Event.ISSUE, actor=actor, enterprise=code, policy_id=p.id, year=grant.year,
                            voucher_id=voucher_id, ref=t.id,
                            memo={"explanation": grant.explain(), "policy_version": p.version, "kind": row["kind"],
                                  "issued_on": row["issued_on"], "expires_on": row["expires_on"],
                                  "platform": t.platform, "once_keys": list(grant.once), "application_id": application,
                                  "claims": [[business, scope] for scope in scopes]},
                            postings=(Posting("budget", f"{p.id}:{grant.year}", -amount),
                                      Posting("voucher", voucher_id, amount)))
        for scope in scopes:
            if db.one("SELECT voucher_id FROM claims WHERE business = ? AND scope = ?", (business, scope)):
                raise Conflict(f"business {t.id} is already claimed ({scope})", field="transaction.id", reason="claimed")
            db.insert("claims", {"business": business, "scope": scope, "voucher_id": voucher_id, "policy_id": p.id})
        db.insert("vouchers", {**row, "entry_id": entry})
        voucher = self.voucher_view(db, voucher_id)
        self.emit(db, entry, "voucher.issued", [code, t.platform], voucher)
        return voucher

    def _open_application(self, db: Tx, app_id: str) -> dict:
        return open_row(db, "applications", app_id, what="application", field="application", status="applied")

    def _application(self, db: Tx, app_id: str) -> dict:
        app = db.one("SELECT id, enterprise, policy_id, business, status, voucher_id, reason FROM applications "
                     "WHERE id = ?", (app_id,))
        if not app:
            raise NotFound(f"no application {quote(app_id)}", field="application")
        return app

    # --- the ends: expire, void ------------------------------------------------------------

    def expire(self, on: date | None = None, *, actor: str = "system:expiry-sweep") -> dict:
        """逾期作废: every voucher whose last valid day is before `on` returns its unspent value to the budget.

        The sweep also lapses every checkout hold past its time, so held value a platform
        never committed returns to its voucher without waiting for the voucher's next use,
        and forgets idempotency keys older than the period they are kept for.
        """
        on = on or self.today()
        with self.store.write() as db:
            for row in db.rows("SELECT DISTINCT voucher_id FROM holds WHERE status = 'held' AND expires_at < ? "
                               "ORDER BY voucher_id", (self.now().isoformat(),)):
                self.lapse_holds(db, row["voucher_id"])
            due = db.rows("SELECT id FROM vouchers WHERE status IN (?, ?, ?) "
                          "AND expires_on IS NOT NULL AND expires_on < ? ORDER BY id",
                          (*sorted(VOUCHER_TRANSITIONS[Event.EXPIRE].needs), on.isoformat()))
            expired, returned = [], Decimal("0.00")
            for row in due:
                self.lapse_holds(db, row["id"], force=True)
                left = self._close_voucher(db, row["id"], Event.EXPIRE, actor, {"as_of": on.isoformat()})
                expired.append(row["id"])
                returned += left
            prune(db, self.now() - self.keep_keys)  # idempotency keys past their period, all of them
        return {"as_of": on.isoformat(), "expired": expired, "returned": plain(returned)}

    def void(self, voucher_id: str, *, reason: str, actor: str, key: str | None = None) -> dict:
        """作废: the unspent value returns to the budget; what was redeemed stays redeemed."""
        if not reason:
            raise InputError("reason", "voiding states its reason")

        def work(db: Tx) -> dict:
            v = self._voucher_row(db, voucher_id)
            if v["status"] not in VOUCHER_TRANSITIONS[Event.VOID].needs:
                raise Conflict(f"voucher {voucher_id} is already {v['status']}", field="voucher")
            self.lapse_holds(db, voucher_id, force=True)
            self._close_voucher(db, voucher_id, Event.VOID, actor, {"reason": reason})
            return self.voucher_view(db, voucher_id)
        return self.idempotent(key, ["void", voucher_id, reason, actor], work)

    def _close_voucher(self, db: Tx, voucher_id: str, event: Event, actor: str, memo: dict) -> Decimal:
        status = VOUCHER_TRANSITIONS[event].to
        v = self._voucher_row(db, voucher_id)
        left = self.balance(db, account=f"voucher:{voucher_id}")
        postings = (Posting("voucher", voucher_id, -left), Posting("budget", f"{v['policy_id']}:{v['year']}", left)) \
            if left else ()
        entry = self.append(db, event, actor=actor, enterprise=v["enterprise"], policy_id=v["policy_id"],
                            year=v["year"], voucher_id=voucher_id, memo={**memo, "returned": plain(left)},
                            postings=postings)
        db.run("UPDATE vouchers SET status = ?, entry_id = ? WHERE id = ?", (status, entry, voucher_id))
        if event == Event.VOID:  # a voided voucher no longer claims its business
            db.run("DELETE FROM claims WHERE voucher_id = ?", (voucher_id,))
        self.emit(db, entry, f"voucher.{status}", [v["enterprise"], v["platform"]],
                  {"voucher_id": voucher_id, "returned": plain(left), **memo})
        return left

    def _voucher_row(self, db: Tx, voucher_id: str) -> dict:
        row = db.one("SELECT * FROM vouchers WHERE id = ?", (voucher_id,))
        if not row:
            raise NotFound(f"no voucher {quote(voucher_id)}", field="voucher")
        return row

    def voucher_view(self, db: Tx, voucher_id: str) -> dict:
        v = self._voucher_row(db, voucher_id)
        return {"id": v["id"], "enterprise": v["enterprise"], "policy_id": v["policy_id"],
                "policy_version": v["policy_version"], "kind": v["kind"], "business": v["business"],
                "year": v["year"], "face": plain(from_fen(v["face"])),
                "available": plain(self.balance(db, account=f"voucher:{voucher_id}")),
                "held": plain(self.balance(db, account=f"hold:{voucher_id}")),
                "issued_on": v["issued_on"], "expires_on": v["expires_on"], "status": v["status"],
                "platform": v["platform"], "application_id": v["application_id"]}

    def issued_view(self, db: Tx, voucher_id: str) -> dict:
        """The voucher as the answer that issued it showed it: its whole face available, nothing held."""
        view = self.voucher_view(db, voucher_id)
        return {**view, "available": view["face"], "held": "0.00", "status": VOUCHER_TRANSITIONS[Event.ISSUE].to}
