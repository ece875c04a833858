"""Changes an enterprise asks for in its own profile, and the administrator's decision on them.

Eligibility is decided on the facts of the profile (legal person, registration province,
local tax, roles, SME, data assets booked, recognitions, ...), so those facts come from an
administrator: an administrator registers an enterprise, and a change the enterprise
submits to any fact waits, as a row of `enterprise_changes`, until an administrator
approves it (or rejects it, with the reason). Only fields that decide nothing (`name`)
take effect when submitted. The submission and the decision are journal entries with
their actor, so who asserted and who accepted each fact stays on the chain.
"""

from __future__ import annotations

import json

from voucher.enterprise import Enterprise, validate_credit_code
from voucher.errors import Forbidden, InputError, NotFound, quote
from voucher.states import Event
from voucher.store import Tx, open_row

DESCRIPTIVE = frozenset({"name"})
"""Profile fields no eligibility condition reads: an enterprise's change to them takes effect at once.
Every other field (save the credit code, which is the key) is a fact and waits for an administrator."""

CHANGE_STATUSES = ("pending", "applied", "approved", "rejected", "superseded")


def require_admin(actor: str, what: str) -> None:
    """Facts come from an administrator: refuse any other actor (an enterprise's own key above all)."""
    if not isinstance(actor, str) or not actor.startswith("admin:"):
        raise Forbidden(f"only an administrator {what}; {actor} may not", field="actor")


class ProfileChanges:

    def submit_enterprise_change(self, code: str, changes: dict, *, actor: str, key: str | None = None) -> dict:
        """An enterprise asks to change its profile. Returns the change: `applied` if it touches only
        descriptive fields, else `pending` until an administrator decides. A new submission supersedes
        the enterprise's earlier pending one."""
        code = validate_credit_code(code, "enterprise")
        if not isinstance(changes, dict) or not changes:
            raise InputError("changes", "name at least one field of the profile to change")
        if "credit_code" in changes:
            raise InputError("changes.credit_code", "is the enterprise's key and is not changed; an administrator "
                                                    "registers the new code")

        def work(db: Tx) -> dict:
            current = self._enterprise(db, code, active=False).to_dict()
            try:
                merged = Enterprise.from_dict({**current, **changes}).to_dict()
            except InputError as exc:
                raise InputError("changes." + exc.field.split(".", 1)[-1], exc.problem) from None
            diff = {f: merged[f] for f in sorted(changes) if merged[f] != current[f]}
            if not diff:
                raise InputError("changes", "changes nothing: the profile already says so")
            before = {f: current[f] for f in diff}
            status = "pending" if set(diff) - DESCRIPTIVE else "applied"
            change_id = f"C{self.next_id(db)}"
            superseded = [r["id"] for r in db.rows("SELECT id FROM enterprise_changes WHERE enterprise = ? AND "
                                                   "status = 'pending' ORDER BY entry_id", (code,))]
            entry = self.append(db, Event.ENTERPRISE_CHANGE, actor=actor, enterprise=code, ref=change_id,
                                memo={"changes": diff, "before": before, "status": status, "supersedes": superseded})
            now = self.now().isoformat()
            db.run("UPDATE enterprise_changes SET status = 'superseded', decided_at = ?, decided_entry = ? "
                   "WHERE enterprise = ? AND status = 'pending'", (now, entry, code))
            if status == "applied":
                self._store_profile(db, code, {**current, **diff}, entry)
            db.insert("enterprise_changes", {
                "id": change_id, "enterprise": code, "changes": _dumps(diff), "before": _dumps(before),
                "status": status, "submitted_by": actor, "submitted_at": now, "entry_id": entry})
            return self._change(db, change_id)
        return self.idempotent(key, ["enterprise.change", code, changes, actor], work)

    def approve_enterprise_change(self, change_id: str, *, actor: str, key: str | None = None) -> dict:
        """An administrator accepts the facts: they take effect now, over the profile as it is now."""
        require_admin(actor, "approves an enterprise's facts")

        def work(db: Tx) -> dict:
            row = self._open_change(db, change_id)
            changes = json.loads(row["changes"])
            current = self._enterprise(db, row["enterprise"], active=False).to_dict()
            entry = self.append(db, Event.ENTERPRISE_CHANGE_APPROVE, actor=actor, enterprise=row["enterprise"],
                                ref=change_id, memo={"changes": changes})
            self._store_profile(db, row["enterprise"], {**current, **changes}, entry)
            self._decide(db, change_id, "approved", actor, entry)
            return self._change(db, change_id)
        return self.idempotent(key, ["enterprise.change.approve", change_id, actor], work)

    def reject_enterprise_change(self, change_id: str, *, reason: str, actor: str, key: str | None = None) -> dict:
        """An administrator refuses the change, stating why; the profile stays as it is."""
        require_admin(actor, "rejects an enterprise's facts")
        if not isinstance(reason, str) or not reason.strip():
            raise InputError("reason", "a rejection states its reason")

        def work(db: Tx) -> dict:
            row = self._open_change(db, change_id)
            entry = self.append(db, Event.ENTERPRISE_CHANGE_REJECT, actor=actor, enterprise=row["enterprise"],
                                ref=change_id, memo={"reason": reason})
            self._decide(db, change_id, "rejected", actor, entry, reason)
            return self._change(db, change_id)
        return self.idempotent(key, ["enterprise.change.reject", change_id, reason, actor], work)

    def enterprise_changes(self, *, enterprise: str | None = None, status: str | None = None,
                           limit: int = 100) -> dict:
        """Changes in the order they were submitted (the pending ones, for an administrator's queue)."""
        if status is not None and status not in CHANGE_STATUSES:
            raise InputError("status", f"one of {', '.join(CHANGE_STATUSES)}")
        if not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise InputError("limit", "must be from 1 to 1000")
        where, params = [], []
        for column, value in (("enterprise", enterprise), ("status", status)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT id FROM enterprise_changes" + (" WHERE " + " AND ".join(where) if where else "")
        with self.store.read() as db:
            ids = [r["id"] for r in db.rows(sql + " ORDER BY entry_id LIMIT ?", (*params, limit))]
            return {"items": [self._change(db, i) for i in ids]}

    def enterprise_change(self, change_id: str) -> dict:
        with self.store.read() as db:
            return self._change(db, change_id)

    def enterprise_view(self, code: str) -> dict:
        """The profile in force, the enterprise's standing, and the change waiting for a decision, if any."""
        code = validate_credit_code(code, "credit_code")
        with self.store.read() as db:
            row = db.one("SELECT credit_code, profile, status FROM enterprises WHERE credit_code = ?", (code,))
            if not row:
                raise NotFound(f"enterprise {code} is not registered", field="credit_code")
            pending = db.one("SELECT id FROM enterprise_changes WHERE enterprise = ? AND status = 'pending'", (code,))
            return {"credit_code": code, "status": row["status"], "profile": json.loads(row["profile"]),
                    "pending_change": self._change(db, pending["id"]) if pending else None}

    # --- inside a transaction ------------------------------------------------------------------

    def _store_profile(self, db: Tx, code: str, profile: dict, entry: int) -> None:
        profile = Enterprise.from_dict(profile).to_dict()
        db.run("UPDATE enterprises SET profile = ?, entry_id = ? WHERE credit_code = ?",
               (json.dumps(profile, ensure_ascii=False), entry, code))

    def _open_change(self, db: Tx, change_id: str) -> dict:
        return open_row(db, "enterprise_changes", change_id, what="profile change", field="change", status="pending")

    def _decide(self, db: Tx, change_id: str, status: str, actor: str, entry: int, reason: str | None = None) -> None:
        db.run("UPDATE enterprise_changes SET status = ?, decided_by = ?, decided_at = ?, decided_entry = ?, "
               "reason = ? WHERE id = ?", (status, actor, self.now().isoformat(), entry, reason, change_id))

    def _change(self, db: Tx, change_id: str) -> dict:
        row = db.one("SELECT * FROM enterprise_changes WHERE id = ?", (change_id,))
        if not row:
            raise NotFound(f"no profile change {quote(change_id)}", field="change")
        return {"id": row["id"], "enterprise": row["enterprise"], "changes": json.loads(row["changes"]),
                "before": json.loads(row["before"]), "status": row["status"], "submitted_by": row["submitted_by"],
                "submitted_at": row["submitted_at"], "decided_by": row["decided_by"],
                "decided_at": row["decided_at"], "reason": row["reason"], "entry_id": row["entry_id"],
                "decided_entry": row["decided_entry"]}


def _dumps(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
